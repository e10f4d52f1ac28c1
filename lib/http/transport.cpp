#include "http/transport.hpp"

#include <chromawal/error.hpp>
#include <chromawal/redact.hpp>

#include <curl/curl.h>
#include <fmt/format.h>

#include <mutex>

namespace chromawal::http {

namespace {

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::size_t on_write(char* data, std::size_t size, std::size_t count, void* user) {
    auto* out = static_cast<std::string*>(user);
    out->append(data, size * count);
    return size * count;
}

// Spare room after the body so that simdjson can parse it in place.
constexpr std::size_t parse_padding = 64;

}  // namespace

struct transport::handle {
    CURL* curl = nullptr;
    char error[CURL_ERROR_SIZE] = {};
    handle() : curl(curl_easy_init()) {}
    ~handle() {
        if (curl) curl_easy_cleanup(curl);
    }
};

transport::transport(transport_options options) : options_(std::move(options)) {
    global_init();
    curl_slist* list = nullptr;
    list = curl_slist_append(list, "Content-Type: application/json");
    list = curl_slist_append(list, "Accept: application/json");
    list = curl_slist_append(list, "Expect:");  // no 100-continue round trip on large bodies
    for (const auto& [name, value] : options_.headers) {
        list = curl_slist_append(list, fmt::format("{}: {}", name, value).c_str());
    }
    header_list_ = list;
}

transport::~transport() {
    idle_.clear();
    curl_slist_free_all(static_cast<curl_slist*>(header_list_));
}

std::unique_ptr<transport::handle> transport::acquire() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!idle_.empty()) {
            auto h = std::move(idle_.back());
            idle_.pop_back();
            return h;
        }
    }
    auto h = std::make_unique<handle>();
    if (!h->curl) throw connection_error("could not create an HTTP handle (out of memory?)", false);
    CURL* c = h->curl;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(header_list_));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_write);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->error);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
    if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
    if (!options_.user_agent.empty()) curl_easy_setopt(c, CURLOPT_USERAGENT, options_.user_agent.c_str());
    // Only http and https: a base URL can never make the library read files or speak other protocols.
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    return h;
}

void transport::release(std::unique_ptr<handle> h) {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.push_back(std::move(h));
}

namespace {

// False only when the failed transfer certainly sent no byte of the request: it failed before
// a connection stood (name resolution, connect, TLS handshake), or libcurl counted no request
// bytes. Anything else may have reached the server (and a write may have been applied).
bool request_may_have_been_sent(CURL* c, CURLcode rc) {
    switch (rc) {
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
            return false;
        default:
            break;
    }
    long request_bytes = 0;
    if (curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &request_bytes) == CURLE_OK && request_bytes == 0) return false;
    return true;
}

// The last response's `chroma-trace-id` header, read only for an error answer (libcurl's header
// API, 7.84 and later; empty with an older libcurl).
std::string trace_id_of(CURL* c) {
#if LIBCURL_VERSION_NUM >= 0x075400
    curl_header* h = nullptr;
    if (curl_easy_header(c, "chroma-trace-id", 0, CURLH_HEADER, -1, &h) == CURLHE_OK && h != nullptr && h->value)
        return h->value;
#else
    (void)c;
#endif
    return {};
}

}  // namespace

response transport::request(method m, const std::string& url, std::string_view body) {
    return request(m, url, body, options_.request_timeout);
}

response transport::request(method m, const std::string& url, std::string_view body,
                            std::chrono::milliseconds timeout) {
    auto h = acquire();
    CURL* c = h->curl;
    response r;
    r.body.reserve(1024);
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    switch (m) {
        case method::get:
            curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, nullptr);
            break;
        case method::post:
        case method::put:
        case method::del:
            curl_easy_setopt(c, CURLOPT_POST, 1L);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
                             m == method::post  ? nullptr
                             : m == method::put ? "PUT"
                                                : "DELETE");
            break;
    }
    h->error[0] = '\0';
    const CURLcode rc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, nullptr);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, nullptr);
    if (rc != CURLE_OK) {
        // The handle's connection state is unknown after a failure: drop the handle.
        const char* detail = h->error[0] ? h->error : curl_easy_strerror(rc);
        const std::string shown = chromawal::redact(url);  // never repeat a password
        const bool sent = request_may_have_been_sent(c, rc);
        if (rc == CURLE_OPERATION_TIMEDOUT) {
            throw timeout_error(fmt::format("no answer from {} within {} ms: {}", shown, timeout.count(), detail),
                                sent);
        }
        throw connection_error(fmt::format("request to {} failed: {}", shown, detail), sent);
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    if (r.status < 200 || r.status >= 300) r.trace_id = trace_id_of(c);
    release(std::move(h));
    if (r.body.capacity() < r.body.size() + parse_padding) r.body.reserve(r.body.size() + parse_padding);
    return r;
}

std::string encode_path_segment(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (unsigned char ch : s) {
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
            ch == '_' || ch == '.' || ch == '~') {
            out.push_back(static_cast<char>(ch));
        } else {
            out.push_back('%');
            out.push_back(hex[ch >> 4]);
            out.push_back(hex[ch & 15]);
        }
    }
    return out;
}

}  // namespace chromawal::http
