// Test and bench support: CPU time of server processes read from /proc, and a wait until they
// are idle. Used by the benchmarks under bench/, which must not start a measurement while a
// server is still busy with the previous one's work (Chroma indexes after add has returned).
//
// Header-only, Linux only (/proc/PID/stat). Resolution: one clock tick (usually 10 ms).
// Thread-safe (no shared state).
#pragma once
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace chromawal_test {

struct proc_stat {
    long ppid = 0;
    unsigned long long utime = 0, stime = 0, cutime = 0, cstime = 0;
};

/// Fields of /proc/PID/stat; false when the process is gone. (POSIX read, not iostreams:
/// reading the file of a process that has just exited fails with ESRCH, which libstdc++'s
/// filebuf turns into an exception.)
inline bool read_proc_stat(long pid, proc_stat& out) {
    const std::string path = "/proc/" + std::to_string(pid) + "/stat";
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char buf[1024];
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return false;
    buf[n] = '\0';
    const char* close = std::strrchr(buf, ')');
    if (close == nullptr) return false;
    // After "pid (comm) ": state (3), ppid (4), ..., utime (14), stime (15), cutime (16), cstime (17).
    long long cu = 0, cs = 0;
    if (std::sscanf(close + 1, " %*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld", &out.ppid,
                    &out.utime, &out.stime, &cu, &cs) != 5) {
        return false;
    }
    out.cutime = static_cast<unsigned long long>(std::max(0LL, cu));
    out.cstime = static_cast<unsigned long long>(std::max(0LL, cs));
    return true;
}

/// CPU seconds (user + sys) of a process and all its live descendants (PostgreSQL's postmaster
/// and its backends, say), plus what its reaped children used. 0 when the process is gone.
inline double tree_cpu_seconds(long root) {
    if (root <= 0) return 0;
    std::map<long, std::vector<long>> children;
    std::map<long, proc_stat> stats;
    if (DIR* d = opendir("/proc")) {
        while (dirent* e = readdir(d)) {
            if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
            const long pid = std::strtol(e->d_name, nullptr, 10);
            proc_stat s;
            if (read_proc_stat(pid, s)) {
                stats[pid] = s;
                children[s.ppid].push_back(pid);
            }
        }
        closedir(d);
    }
    unsigned long long ticks = 0;
    std::vector<long> todo{root};
    while (!todo.empty()) {
        const long p = todo.back();
        todo.pop_back();
        auto it = stats.find(p);
        if (it == stats.end()) continue;
        ticks += it->second.utime + it->second.stime + it->second.cutime + it->second.cstime;
        for (long c : children[p]) todo.push_back(c);
    }
    return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// Waits until the process trees of `roots` together use under `cores` of a core in every
/// 200 ms window for `quiet` seconds in a row, giving up after `limit` seconds (and saying
/// so on stdout). Returns the seconds waited. Polls /proc: no fixed sleep.
inline double wait_idle(const std::vector<long>& roots, double cores = 0.1, double quiet = 1.0, double limit = 90) {
    using clock = std::chrono::steady_clock;
    auto total = [&roots] {
        double sum = 0;
        for (long p : roots) sum += tree_cpu_seconds(p);
        return sum;
    };
    auto seconds = [](clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); };
    const auto t0 = clock::now();
    auto quiet_since = t0;
    double c0 = total();
    for (;;) {
        const auto w0 = clock::now();
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        const double c1 = total();
        if ((c1 - c0) / seconds(w0) >= cores) quiet_since = clock::now();
        c0 = c1;
        if (seconds(quiet_since) >= quiet) return seconds(t0);
        if (seconds(t0) > limit) {
            std::printf("  (servers still busy after %.0f s; going on)\n", limit);
            std::fflush(stdout);
            return seconds(t0);
        }
    }
}

}  // namespace chromawal_test
