// Test helpers for the torture and concurrency tests: child processes (spawn, wait with a
// deadline, SIGKILL), polling a file's line count, and the apply-history check.
#pragma once

#include <chromawal/client.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

// CHECK that also counts its failures, so that a test can keep its files for inspection only
// when something failed. The expression is evaluated twice: keep it free of side effects.
#define TORTURE_CHECK(failures, ...)                       \
    do {                                                   \
        if (!static_cast<bool>(__VA_ARGS__)) ++(failures); \
        CHECK(__VA_ARGS__);                                \
    } while (false)

namespace torture_test {

using namespace std::chrono_literals;

/// An integer from the environment, or `fallback` when unset or empty.
inline long long env_int(const char* name, long long fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::stoll(v) : fallback;
}

/// Removes a test's directory when nothing failed, else says where it is.
inline void remove_if_passed(const std::string& dir, int failures) {
    if (failures == 0) {
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    } else {
        std::cout << failures << " checks failed; files kept in " << dir << std::endl;
    }
}

inline std::string make_temp_dir(const std::string& prefix) {
    const char* base = std::getenv("CHROMAWAL_TEST_TMP");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
    return tmpl;
}

/// Starts argv[0] with stdout and stderr appended to `log_path`.
inline pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("posix_spawn failed for " + argv[0]);
    return pid;
}

/// The child's wait status once it has exited, or nullopt if it is still running at the deadline.
inline std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return status;
        if (r < 0) throw std::runtime_error("waitpid failed");
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(5ms);
    }
}

/// SIGKILL, then reap; returns the wait status.
inline int kill9(pid_t pid) {
    ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) throw std::runtime_error("waitpid failed");
    }
    return status;
}

inline std::string describe_status(int status) {
    if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "status " + std::to_string(status);
}

/// A child process that is reaped exactly once, whatever is asked of it.
class child {
public:
    child(const std::vector<std::string>& argv, const std::string& log_path) : pid_(spawn(argv, log_path)) {}
    ~child() {
        if (!status_) kill();
    }
    child(const child&) = delete;
    child& operator=(const child&) = delete;

    pid_t pid() const { return pid_; }
    /// The wait status once it has exited (reaps it), else nullopt.
    std::optional<int> status() {
        if (!status_) status_ = wait_exit(pid_, 0ms);
        return status_;
    }
    bool running() { return !status(); }
    /// Waits up to `limit` for it to exit on its own.
    std::optional<int> wait(std::chrono::milliseconds limit) {
        if (!status_) status_ = wait_exit(pid_, limit);
        return status_;
    }
    /// SIGKILL (if still running) and reap; the wait status.
    int kill() {
        if (!status_) status_ = kill9(pid_);
        return *status_;
    }

private:
    pid_t pid_;
    std::optional<int> status_;
};

/// The last `bytes` bytes of a file (for failure messages).
inline std::string tail(const std::string& path, std::size_t bytes = 3000) {
    std::ifstream in(path, std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

/// Counts the complete lines of a growing file, reading only what was appended since last time.
class line_counter {
public:
    explicit line_counter(std::string path) : path_(std::move(path)) {}

    std::size_t count() {
        const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return lines_;
        char buf[65536];
        while (true) {
            const ssize_t n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(offset_));
            if (n <= 0) break;
            for (ssize_t i = 0; i < n; ++i) lines_ += buf[i] == '\n' ? 1 : 0;
            offset_ += static_cast<std::size_t>(n);
        }
        ::close(fd);
        return lines_;
    }

    /// Polls until the file has at least `n` lines; false at the deadline, or as soon as
    /// `alive` (when given) says the writer is gone.
    template <typename Alive>
    bool wait_for(std::size_t n, std::chrono::milliseconds limit, Alive&& alive) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (count() < n) {
            if (std::chrono::steady_clock::now() >= deadline || !alive()) return count() >= n;
            std::this_thread::sleep_for(2ms);
        }
        return true;
    }

private:
    std::string path_;
    std::size_t offset_ = 0;
    std::size_t lines_ = 0;
};

/// One advance of an applied position: positions [first, last] applied by one request (or, when
/// `skipped`, stepped over because retention had pruned them).
struct applied_range {
    std::int64_t first = 0, last = 0;
    bool skipped = false;
};

/// client::apply_history's entries (from = the position before, to = the position after) as
/// inclusive ranges.
inline std::vector<applied_range> to_ranges(const std::vector<chromawal::apply_history_entry>& history) {
    std::vector<applied_range> out;
    for (const auto& e : history) out.push_back({e.from + 1, e.to, e.skipped});
    return out;
}

/// What check_history found in one instance's apply history of one collection.
struct history_check {
    std::string error;  ///< empty when the history is valid
    std::size_t ranges = 0;
    std::size_t overlaps = 0;  ///< ranges that start inside the previous one (re-applications)
    std::int64_t last = 0;     ///< the highest position reached
};

/// Checks an apply history (ranges in the order they were recorded): it starts at position 1,
/// has no gap, never goes back further than the start of the previous request (a re-application
/// repeats at most that one request), never applies a position a third time, never ends before
/// the previous range, and reaches `head` when head > 0.
inline history_check check_history(const std::vector<applied_range>& history, std::int64_t head) {
    history_check c;
    std::int64_t prev_first = 0, prev_last = 0;
    std::vector<int> applied;  // times each position was applied
    for (const auto& r : history) {
        const std::string where = "range " + std::to_string(c.ranges) + " [" + std::to_string(r.first) + ", " +
                                  std::to_string(r.last) + "] after [" + std::to_string(prev_first) + ", " +
                                  std::to_string(prev_last) + "]";
        ++c.ranges;
        if (r.first < 1 || r.last < r.first) return c.error = "empty or inverted " + where, c;
        if (c.ranges == 1 && r.first != 1) return c.error = "does not start at position 1: " + where, c;
        if (c.ranges > 1) {
            if (r.first > prev_last + 1) return c.error = "gap: " + where, c;
            if (r.first < prev_first) return c.error = "reordering: goes back before the previous request: " + where, c;
            if (r.last < prev_last) return c.error = "reordering: ends before the previous range: " + where, c;
            if (r.first <= prev_last) ++c.overlaps;
        }
        if (applied.size() < static_cast<std::size_t>(r.last) + 1) applied.resize(static_cast<std::size_t>(r.last) + 1);
        for (auto p = r.first; p <= r.last && !r.skipped; ++p) {
            if (++applied[static_cast<std::size_t>(p)] > 2) {
                return c.error = "position " + std::to_string(p) + " applied a third time: " + where, c;
            }
        }
        prev_first = r.first;
        prev_last = r.last;
        c.last = std::max(c.last, r.last);
    }
    if (c.ranges == 0) return c.error = "empty history", c;
    if (head > 0 && c.last < head) {
        return c.error = "history ends at " + std::to_string(c.last) + ", before the head " + std::to_string(head), c;
    }
    return c;
}

}  // namespace torture_test
