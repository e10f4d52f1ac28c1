#include "wal/sqlite/lane_lock.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

#include "chromawal/error.hpp"

namespace chromawal::wal::sqlite {

namespace {

bool try_lock(int fd, std::uint64_t key) {
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = static_cast<off_t>(key);
    fl.l_len = 1;
    fl.l_pid = 0;  // required for OFD locks
    for (;;) {
        if (::fcntl(fd, F_OFD_SETLK, &fl) == 0) return true;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EACCES) return false;
        throw chromawal::log_unavailable(std::string("SQLite log store: a lane lock could not be taken: ") +
                                         std::strerror(errno));
    }
}

}  // namespace

byte_lock::~byte_lock() { ::close(fd_); }  // closing the description releases its locks

std::unique_ptr<byte_lock> byte_lock::take(const std::string& file, std::uint64_t key,
                                           std::chrono::steady_clock::time_point deadline) {
    const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        throw chromawal::log_unavailable("SQLite log store: the lane lock file " + file +
                                         " could not be opened: " + std::strerror(errno));
    }
    std::unique_ptr<byte_lock> held(new byte_lock(fd));
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
        if (try_lock(fd, key)) return held;
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) return nullptr;
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
        pause = std::min(pause * 2, std::chrono::milliseconds(20));
    }
}

std::uint64_t lane_key(std::string_view instance, std::int64_t lane_id) {
    // FNV-1a over the instance name and the lane id; kept below 2^62 so it is a valid offset.
    std::uint64_t h = 14695981039346656037ULL;
    auto mix = [&](unsigned char c) {
        h ^= c;
        h *= 1099511628211ULL;
    };
    for (char c : instance) mix(static_cast<unsigned char>(c));
    mix(0);
    for (int i = 0; i < 8; ++i) mix(static_cast<unsigned char>(static_cast<std::uint64_t>(lane_id) >> (8 * i)));
    return h & ((1ULL << 62) - 1);
}

}  // namespace chromawal::wal::sqlite
