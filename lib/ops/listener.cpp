// The metrics and health listener on civetweb (see listener.hpp).
#include "ops/listener.hpp"

#include <chromawal/error.hpp>

#include <civetweb.h>
#include <fmt/format.h>

#include <cstring>
#include <mutex>
#include <vector>

namespace chromawal::detail {

namespace {

std::once_flag library_once;

[[noreturn]] void bad_address(const std::string& address, const std::string& why) {
    throw invalid_argument(fmt::format("invalid configuration: metrics_address: {} ('{}')", why, address));
}

// "host:port" or "[v6]:port" -> civetweb's listening_ports syntax, checked here so that the
// error names the setting (civetweb's own message is generic).
std::string listening_ports(const std::string& address) {
    const std::size_t colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == address.size())
        bad_address(address, "expected host:port, e.g. 127.0.0.1:9464 (port 0 picks a free one)");
    const std::string host = address.substr(0, colon);
    const std::string port = address.substr(colon + 1);
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535)
        bad_address(address, "the port must be a number from 0 to 65535");
    if (host.front() == '[') {
        if (host.back() != ']' || host.size() < 3) bad_address(address, "expected [v6-address]:port");
        // civetweb writes an IPv6 listener as "[addr]:port" with a '+' prefix only for dual stack.
        return address;
    }
    if (host.find_first_not_of("0123456789.") != std::string::npos) {
        if (host != "localhost") bad_address(address, "expected a numeric IP address (or localhost) as host");
        return "127.0.0.1:" + port;
    }
    return address;
}

int serve(mg_connection* conn, void* data) {
    const auto* f = static_cast<const std::function<http_answer()>*>(data);
    const mg_request_info* req = mg_get_request_info(conn);
    http_answer a;
    if (req == nullptr ||
        (std::strcmp(req->request_method, "GET") != 0 && std::strcmp(req->request_method, "HEAD") != 0)) {
        a = {405, "text/plain; charset=utf-8", "only GET is served here\n"};
    } else {
        try {
            a = (*f)();
        } catch (const std::exception& e) {
            a = {500, "text/plain; charset=utf-8", std::string(e.what()) + "\n"};
        } catch (...) {
            a = {500, "text/plain; charset=utf-8", "internal error\n"};
        }
    }
    mg_response_header_start(conn, a.status);
    mg_response_header_add(conn, "Content-Type", a.content_type.c_str(), -1);
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    const std::string length = std::to_string(a.body.size());
    mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
    mg_response_header_send(conn);
    if (req != nullptr && std::strcmp(req->request_method, "HEAD") != 0) mg_write(conn, a.body.data(), a.body.size());
    return a.status;
}

// civetweb prints its own errors to stderr unless told otherwise; a library must not.
int quiet_log(const mg_connection*, const char*) { return 1; }

}  // namespace

struct metrics_listener::server {
    handlers h;
    mg_context* ctx = nullptr;
    std::string error;
};

metrics_listener::metrics_listener(const std::string& address, handlers h) : server_(std::make_unique<server>()) {
    std::call_once(library_once, [] { mg_init_library(0); });
    server_->h = std::move(h);
    const std::string ports = listening_ports(address);
    // Two workers: a scrape and a health check can be answered at once; nothing else is served.
    const char* options[] = {"listening_ports", ports.c_str(),       "num_threads", "2",    "request_timeout_ms",
                             "10000",           "enable_keep_alive", "no",          nullptr};
    mg_callbacks callbacks;
    std::memset(&callbacks, 0, sizeof callbacks);
    callbacks.log_message = quiet_log;
    mg_init_data init;
    std::memset(&init, 0, sizeof init);
    init.callbacks = &callbacks;
    init.configuration_options = options;
    char error_text[256] = {0};
    unsigned error_code = 0;
    mg_error_data error;
    std::memset(&error, 0, sizeof error);
    error.code = &error_code;
    error.text = error_text;
    error.text_buffer_size = sizeof error_text;
    server_->ctx = mg_start2(&init, &error);
    if (server_->ctx == nullptr) bad_address(address, fmt::format("cannot listen: {}", error_text));
    mg_set_request_handler(server_->ctx, "/metrics$", serve, &server_->h.metrics);
    mg_set_request_handler(server_->ctx, "/health$", serve, &server_->h.health);
    mg_set_request_handler(server_->ctx, "/status$", serve, &server_->h.status);
    mg_server_port bound[4];
    std::memset(bound, 0, sizeof bound);
    const int n = mg_get_server_ports(server_->ctx, 4, bound);
    if (n < 1) {
        mg_stop(server_->ctx);
        bad_address(address, "the listener has no port");
    }
    const std::string host = address.substr(0, address.rfind(':'));
    bound_ = fmt::format("{}:{}", host == "localhost" ? "127.0.0.1" : host, bound[0].port);
}

metrics_listener::~metrics_listener() {
    if (server_ && server_->ctx != nullptr) mg_stop(server_->ctx);
}

}  // namespace chromawal::detail
