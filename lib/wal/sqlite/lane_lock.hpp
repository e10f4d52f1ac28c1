#pragma once
// Lane locks of the SQLite log store: the exclusive right to apply one lane to one instance,
// across the threads of a process and across the processes of one host.
//
// Owns: `byte_lock` (an open-file-description lock, F_OFD_SETLK, on one byte of a side file
// "<database>-lanelocks", at an offset hashed from (instance, lane)), and the waiting for it.
// Such a lock belongs to the open file description, not to the process: two threads of one
// process exclude each other like two processes do, and the kernel releases it when the
// descriptor is closed, including when its process dies (kill -9): no stale lock, no owner pid
// to check. Calls: open/fcntl/close only. Thread-safety: one byte_lock per holder; take() may
// be called from any number of threads at once.
//
// Waiting: F_OFD_SETLKW has no timeout, so a bounded wait retries F_OFD_SETLK with a backoff
// from 1 ms to 20 ms until the deadline. Two keys that hash alike only share a lock (a false
// wait), never break exclusion.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace chromawal::wal::sqlite {

class byte_lock {
public:
    ~byte_lock();
    byte_lock(const byte_lock&) = delete;
    byte_lock& operator=(const byte_lock&) = delete;

    /// Waits up to `wait` for the lock of `key` in `file`; nullptr when another holder kept it.
    /// @throws chromawal::log_unavailable when the side file cannot be opened or locked.
    static std::unique_ptr<byte_lock> take(const std::string& file, std::uint64_t key,
                                           std::chrono::steady_clock::time_point deadline);

private:
    explicit byte_lock(int fd) : fd_(fd) {}
    int fd_;
};

/// The offset of (instance, lane)'s byte in the side file.
std::uint64_t lane_key(std::string_view instance, std::int64_t lane_id);

}  // namespace chromawal::wal::sqlite
