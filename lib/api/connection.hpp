#pragma once
// The shared state of a chroma_client and its collections: one server's base URLs, the HTTP
// transport, and the cached pre-flight answer. Private; the replication layer uses it to send
// logged request bodies as they are.

#include <chromawal/chroma_client.hpp>
#include <chromawal/version.hpp>

#include "api/validate.hpp"
#include "chroma/protocol.hpp"
#include "http/transport.hpp"
#include "json/reader.hpp"

#include <fmt/format.h>

#include <mutex>
#include <optional>
#include <string>

namespace chromawal::detail {

using http::method;

// Chroma refuses bodies over 40 MiB; requests are cut well below that.
inline constexpr std::size_t max_request_bytes = 16u << 20;

inline std::string normalise_base_url(std::string url) {
    auto starts = [&url](std::string_view p) { return url.compare(0, p.size(), p) == 0; };
    if (!starts("http://") && !starts("https://")) {
        throw invalid_argument(fmt::format("Expected base_url to start with http:// or https://, got '{}'",
                                           url.substr(0, url.find('@') == std::string::npos ? 60 : 0)));
    }
    const std::size_t host_start = url.find("//") + 2;
    if (host_start >= url.size() || url[host_start] == '/' || url[host_start] == ':') {
        throw invalid_argument("Expected base_url to name a host, e.g. http://127.0.0.1:8000");
    }
    if (url.find_first_of(" \t\r\n") != std::string::npos)
        throw invalid_argument("Expected base_url without whitespace");
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
}

/// Shared state of a chroma_client and its collections.
class chroma_connection {
public:
    explicit chroma_connection(connection_options o)
        : options(std::move(o)),
          base(normalise_base_url(options.base_url) + "/api/v2"),
          transport(make_transport(options)) {
        for (const auto& [name, value] : options.headers) {
            // A CR or LF would start another header on the wire (header injection).
            const bool bad_name =
                name.empty() || name.find_first_of(std::string_view(":\r\n\0", 4)) != std::string::npos;
            if (bad_name || value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
                throw invalid_argument(
                    fmt::format("Expected header '{}' to have a non-empty name without ':' and no "
                                "CR, LF or NUL in its name or value",
                                bad_name ? std::string("(invalid name)") : name));
            }
        }
        validate_name(options.tenant, "tenant");
        validate_name(options.database, "database");
        tenant_base = base + "/tenants/" + http::encode_path_segment(options.tenant);
        collections_base = tenant_base + "/databases/" + http::encode_path_segment(options.database) + "/collections";
    }

    static http::transport_options make_transport(const connection_options& o) {
        http::transport_options t;
        t.headers = o.headers;
        t.connect_timeout = o.connect_timeout;
        t.request_timeout = o.request_timeout;
        t.verify_tls = o.verify_tls;
        t.ca_file = o.ca_file;
        t.user_agent = std::string("chromawal/") + CHROMAWAL_VERSION_STRING;
        return t;
    }

    /// One request; a non-2xx status becomes the matching exception, named with `what`.
    /// `timeout` overrides the request timeout for this call (0: the configured one).
    http::response call(method m, const std::string& url, std::string_view body, const std::string& what,
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) {
        http::response r =
            timeout.count() > 0 ? transport.request(m, url, body, timeout) : transport.request(m, url, body);
        if (r.status >= 200 && r.status < 300) return r;
        const chroma::error_body e = chroma::decode_error(r.body);
        const int status = static_cast<int>(r.status);
        if (status == 404) throw not_found(status, e.name, e.message, what, std::move(r.trace_id));
        if (status == 409) throw already_exists(status, e.name, e.message, what, std::move(r.trace_id));
        if (status >= 400 && status < 500)
            throw server_rejected(status, e.name, e.message, what, std::move(r.trace_id));
        throw server_error(status, e.name, e.message, what, std::move(r.trace_id));
    }

    /// Runs a response decoder, turning a malformed answer into chromawal::error.
    template <typename F>
    static auto decode(F&& f, const std::string& what) -> decltype(f()) {
        try {
            return f();
        } catch (const json::decode_error& e) {
            throw error(fmt::format("{}: unexpected answer from the server: {}", what, e.what()));
        }
    }

    /// The server's pre-flight checks, fetched once. `timeout` as for call(). The request is made
    /// without holding the lock: a caller with a deadline never waits for another's request.
    preflight_info get_preflight(std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) {
        {
            std::lock_guard<std::mutex> lock(preflight_mutex);
            if (preflight) return *preflight;
        }
        auto r = call(method::get, base + "/pre-flight-checks", {}, "pre-flight checks", timeout);
        const preflight_info fetched = decode([&] { return chroma::decode_preflight(r.body); }, "pre-flight checks");
        std::lock_guard<std::mutex> lock(preflight_mutex);
        if (!preflight) preflight = fetched;
        return *preflight;
    }

    std::string collection_url(const std::string& id) const {
        return collections_base + "/" + http::encode_path_segment(id);
    }

    connection_options options;
    std::string base;              // .../api/v2
    std::string tenant_base;       // .../tenants/{t}
    std::string collections_base;  // .../tenants/{t}/databases/{d}/collections
    http::transport transport;
    std::mutex preflight_mutex;
    std::optional<preflight_info> preflight;
};

/// Access to the private constructors of the public handles (for the replication layer).
struct handle_access {
    static chroma_client client(std::shared_ptr<chroma_connection> c) { return chroma_client(std::move(c)); }
    static chroma_collection collection(std::shared_ptr<chroma_connection> c, collection_info info) {
        return chroma_collection(std::move(c), std::move(info));
    }
    static const std::shared_ptr<chroma_connection>& connection(const chroma_client& c) { return c.conn_; }
};

}  // namespace chromawal::detail
