// See cut_proxy.hpp: a FAKE that loses the answer to one request, for in-doubt tests.
#include "cut_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <stdexcept>
#include <string_view>

namespace chromawal_test {

namespace {

bool write_all(int fd, const char* data, std::size_t n) {
    while (n > 0) {
        const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        data += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

int connect_loopback(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

}  // namespace

cut_proxy::cut_proxy(int backend_port) : backend_port_(backend_port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw std::runtime_error("cut_proxy: socket() failed");
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = 0;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 64) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        ::close(listen_fd_);
        throw std::runtime_error("cut_proxy: cannot listen on a loopback port");
    }
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

cut_proxy::~cut_proxy() {
    stopping_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    std::vector<std::thread> relays;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        relays.swap(relays_);
    }
    for (auto& t : relays) t.join();
    ::close(listen_fd_);
}

void cut_proxy::cut_on_answer_to(std::string marker) {
    std::lock_guard<std::mutex> lock(mutex_);
    marker_ = std::move(marker);
    cut_ = false;
}

void cut_proxy::pass() {
    std::lock_guard<std::mutex> lock(mutex_);
    marker_.clear();
    refusing_ = false;
}

std::string cut_proxy::marker() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return marker_;
}

void cut_proxy::accept_loop() {
    while (!stopping_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) continue;
        if (refusing_) {
            ::close(client);  // "the server is gone"
            continue;
        }
        std::lock_guard<std::mutex> lock(mutex_);
        relays_.emplace_back([this, client] { relay(client); });
    }
}

void cut_proxy::relay(int client) {
    const int server = connect_loopback(backend_port_);
    if (server < 0) {
        ::close(client);
        return;
    }
    bool armed = false;  // this connection carried the marker: lose the next answer
    std::array<char, 64 * 1024> buf{};
    while (!stopping_) {
        std::array<pollfd, 2> p{pollfd{client, POLLIN, 0}, pollfd{server, POLLIN, 0}};
        if (::poll(p.data(), p.size(), 50) <= 0) continue;
        if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            const ssize_t n = ::recv(client, buf.data(), buf.size(), 0);
            if (n <= 0) break;
            const std::string m = marker();
            if (!m.empty() &&
                std::string_view(buf.data(), static_cast<std::size_t>(n)).find(m) != std::string_view::npos)
                armed = true;
            if (!write_all(server, buf.data(), static_cast<std::size_t>(n))) break;
        }
        if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            const ssize_t n = ::recv(server, buf.data(), buf.size(), 0);
            if (n <= 0) break;
            if (armed) {
                refusing_ = true;
                cut_ = true;
                break;  // the answer is lost; both sides are closed below
            }
            if (!write_all(client, buf.data(), static_cast<std::size_t>(n))) break;
        }
    }
    ::shutdown(client, SHUT_RDWR);
    ::close(client);
    ::close(server);
}

}  // namespace chromawal_test
