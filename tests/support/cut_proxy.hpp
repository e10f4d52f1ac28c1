// Test support, a FAKE for a network fault a real server cannot make on demand: a TCP proxy on a
// free loopback port in front of a real server (PostgreSQL), which can lose the answer to one
// request. Armed with a marker, it forwards the client's bytes that carry the marker, and when
// the server answers them it drops that answer, closes both sides of the connection and refuses
// every new connection (accepts and closes it at once) until pass(). So the server has done the
// work (e.g. committed an append) and the client cannot find out: an outcome in doubt.
//
// POSIX sockets and threads, standard library only. One thread accepts; one thread relays each
// connection. The destructor stops and joins them all. Methods are thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace chromawal_test {

class cut_proxy {
public:
    /// Listens on 127.0.0.1 (a free port) and forwards to 127.0.0.1:backend_port.
    /// @throws std::runtime_error when it cannot listen.
    explicit cut_proxy(int backend_port);
    ~cut_proxy();
    cut_proxy(const cut_proxy&) = delete;
    cut_proxy& operator=(const cut_proxy&) = delete;

    int port() const { return port_; }
    /// Loses the answer to the next client bytes that contain `marker` (see the file comment).
    void cut_on_answer_to(std::string marker);
    /// Forwards everything and accepts connections again.
    void pass();
    /// The answer was dropped (since the last cut_on_answer_to).
    bool cut_happened() const { return cut_.load(); }
    /// New connections are being refused.
    bool refusing() const { return refusing_.load(); }

private:
    void accept_loop();
    void relay(int client);
    std::string marker() const;

    int backend_port_;
    int listen_fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> refusing_{false};
    std::atomic<bool> cut_{false};
    mutable std::mutex mutex_;
    std::string marker_;
    std::vector<std::thread> relays_;
    std::thread acceptor_;
};

}  // namespace chromawal_test
