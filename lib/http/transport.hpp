#pragma once
// HTTP transport over libcurl: a pool of easy handles, each keeping its connection alive.
// Private: no curl type leaves lib/.

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chromawal::http {

enum class method { get, post, put, del };

struct response {
    long status = 0;
    std::string body;  // with spare capacity for the JSON parser's padding
    // The `chroma-trace-id` header of an error answer (status outside 2xx), for the exception
    // (chromadb's ChromaError.trace_id); not read for a success. Empty when absent.
    std::string trace_id;
};

struct transport_options {
    std::vector<std::pair<std::string, std::string>> headers;
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds request_timeout{30000};
    bool verify_tls = true;
    std::string ca_file;
    std::string user_agent;
};

/// Thread-safe: each request borrows an easy handle from the pool (creating one when all
/// are busy) and returns it, with its live connection, afterwards.
class transport {
public:
    explicit transport(transport_options options);
    ~transport();
    transport(const transport&) = delete;
    transport& operator=(const transport&) = delete;

    /// Performs one request. A JSON body is sent with Content-Type application/json.
    /// @throws chromawal::connection_error / chromawal::timeout_error on transport failure.
    response request(method m, const std::string& url, std::string_view body = {});

    /// Overrides the request timeout for one call (e.g. short heartbeats).
    response request(method m, const std::string& url, std::string_view body, std::chrono::milliseconds timeout);

private:
    struct handle;
    std::unique_ptr<handle> acquire();
    void release(std::unique_ptr<handle> h);

    transport_options options_;
    void* header_list_ = nullptr;  // curl_slist*, shared read-only by every handle
    std::mutex mutex_;
    std::vector<std::unique_ptr<handle>> idle_;
};

/// Percent-encodes a path segment (collection names, tenants, ids in URLs).
std::string encode_path_segment(std::string_view s);

}  // namespace chromawal::http
