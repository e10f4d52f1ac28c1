#pragma once
// The opt-in metrics and health listener (client_config::metrics_address): a small embedded
// HTTP server (civetweb, a C library, so no type of it leaves this file's .cpp) serving
// GET /metrics, /health and /status from callbacks that replicated_client supplies.
//
// Owns: the civetweb context (its listening socket and its two worker threads).
// May touch: civetweb, and the callbacks it was given.
// Thread-safety: the callbacks are called from civetweb's worker threads, possibly two at once;
// construction and destruction from one thread. The destructor stops the server and waits for
// requests in progress, so the callbacks must stay valid until then.

#include <functional>
#include <memory>
#include <string>

namespace chromawal::detail {

/// One answer of a handler.
struct http_answer {
    int status = 200;
    std::string content_type;
    std::string body;
};

class metrics_listener {
public:
    struct handlers {
        std::function<http_answer()> metrics, health, status;
    };
    /// Starts listening on `address` ("host:port", "[v6]:port"; port 0 picks a free one).
    /// @throws invalid_argument naming metrics_address when the address is malformed or cannot
    ///         be bound (in use, not a local address).
    metrics_listener(const std::string& address, handlers h);
    ~metrics_listener();
    metrics_listener(const metrics_listener&) = delete;
    metrics_listener& operator=(const metrics_listener&) = delete;

    /// The bound address, "host:port" with the real port.
    const std::string& address() const noexcept { return bound_; }

private:
    struct server;
    std::unique_ptr<server> server_;
    std::string bound_;
};

}  // namespace chromawal::detail
