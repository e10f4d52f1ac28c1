#include "servers.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

extern char** environ;

namespace chromawal_test {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

std::string source_dir() {
    if (const char* env = std::getenv("CHROMAWAL_SOURCE_DIR"); env && *env) return env;
#ifdef CHROMAWAL_SOURCE_DIR
    return CHROMAWAL_SOURCE_DIR;
#else
    throw std::runtime_error(
        "chromawal_test: CHROMAWAL_SOURCE_DIR is neither a compile definition nor set in the environment");
#endif
}

std::string script(const char* name) { return source_dir() + "/scripts/" + name; }

std::string tmp_base() {
    const char* env = std::getenv("CHROMAWAL_TEST_TMP");
    return (env && *env) ? env : "/tmp";
}

std::string make_temp_dir(const std::string& tag) {
    std::string base = tmp_base();
    std::error_code ec;
    fs::create_directories(base, ec);
    std::string tmpl = base + "/chromawal-" + tag + "-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp(" + tmpl + "): " + std::strerror(errno));
    // Readable and traversable by other users (the postgres user must enter it).
    chmod(buf.data(), 0755);
    return buf.data();
}

void remove_tree(const std::string& dir) {
    if (dir.empty()) return;
    std::error_code ec;
    fs::remove_all(dir, ec);
}

std::string find_bash() {
    for (const char* p : {"/bin/bash", "/usr/bin/bash"})
        if (access(p, X_OK) == 0) return p;
    if (const char* path = std::getenv("PATH")) {
        std::stringstream ss(path);
        std::string d;
        while (std::getline(ss, d, ':'))
            if (!d.empty() && access((d + "/bash").c_str(), X_OK) == 0) return d + "/bash";
    }
    throw std::runtime_error("chromawal_test: bash not found");
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string tail_of(const std::string& path, std::size_t lines = 30) {
    std::string s = read_file(path);
    std::size_t pos = s.size(), n = 0;
    while (pos > 0) {
        std::size_t nl = s.rfind('\n', pos - 1);
        if (nl == std::string::npos) {
            pos = 0;
            break;
        }
        if (nl + 1 < s.size() && ++n > lines) {
            pos = nl + 1;
            break;
        }
        pos = nl;
    }
    return s.substr(pos);
}

// fork + execve of `bash args...` with stdin from /dev/null and stdout/stderr
// to out_path/err_path (appended; err_path empty = same as stdout). Between
// fork and exec only async-signal-safe calls. If the caller is the main
// thread, the child (and the server it exec's into) gets SIGKILL when this
// process dies, so a crashed test does not leak servers.
pid_t spawn_bash(const std::vector<std::string>& args, const std::string& out_path, const std::string& err_path = "") {
    const std::string bash = find_bash();
    std::vector<std::string> all;
    all.push_back("bash");
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out < 0) throw std::runtime_error("open(" + out_path + "): " + std::strerror(errno));
    int err = out;
    if (!err_path.empty()) {
        err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (err < 0) {
            close(out);
            throw std::runtime_error("open(" + err_path + "): " + std::strerror(errno));
        }
    }
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    const bool main_thread = syscall(SYS_gettid) == getpid();
    const pid_t parent = getpid();
    long max_fd = sysconf(_SC_OPEN_MAX);
    if (max_fd < 0 || max_fd > 65536) max_fd = 65536;

    pid_t pid = fork();
    if (pid == 0) {
        if (main_thread) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) _exit(127);
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        struct sigaction dfl;
        std::memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD}) sigaction(s, &dfl, nullptr);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(out, 1);
        dup2(err, 2);
#ifdef SYS_close_range
        if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
#endif
            for (long fd = 3; fd < max_fd; ++fd) close(static_cast<int>(fd));
        execve(bash.c_str(), argv.data(), environ);
        _exit(127);
    }
    int saved = errno;
    if (devnull >= 0) close(devnull);
    if (err != out) close(err);
    close(out);
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(saved));
    return pid;
}

// Non-blocking reap. Returns true if pid has exited (and is reaped).
bool reaped(pid_t pid) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno == ECHILD) return true;  // not ours / already reaped
    return false;
}

void reap_blocking(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

// Wait up to `ms` for pid to exit; true if it did (and was reaped).
bool wait_exit(pid_t pid, int ms) {
    auto deadline = clock_type::now() + std::chrono::milliseconds(ms);
    while (true) {
        if (reaped(pid)) return true;
        if (clock_type::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

// Runs `bash script args...` to completion; returns stdout (trimmed); throws
// with stderr on a non-zero exit.
std::string run_script(const std::vector<std::string>& args, const std::string& work_dir) {
    const std::string out_path = work_dir + "/.script-out";
    const std::string err_path = work_dir + "/.script-err";
    { std::ofstream(out_path, std::ios::trunc); }
    pid_t pid = spawn_bash(args, out_path, err_path);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
    }
    std::string out = read_file(out_path), err = read_file(err_path);
    std::remove(out_path.c_str());
    std::remove(err_path.c_str());
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::string cmd;
        for (auto& a : args) cmd += " " + a;
        throw std::runtime_error("chromawal_test: `bash" + cmd + "` failed (status " + std::to_string(status) + "):\n" +
                                 err);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

int pick_free_port() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        int e = errno;
        close(fd);
        throw std::runtime_error(std::string("bind/getsockname: ") + std::strerror(e));
    }
    close(fd);
    return ntohs(a.sin_port);
}

// `chroma.sh install` once per process, outside any start-up deadline.
void ensure_chroma_installed(const std::string& work_dir) {
    static std::mutex mu;
    static bool done = false;
    std::lock_guard<std::mutex> lock(mu);
    if (done) return;
    run_script({script("chroma.sh"), "install"}, work_dir);
    done = true;
}

}  // namespace

// ---------------------------------------------------------------------------

bool chroma_heartbeat(int port, int timeout_ms) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return false;
    auto deadline = clock_type::now() + std::chrono::milliseconds(timeout_ms);
    auto left_ms = [&] {
        auto d = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
        return d < 0 ? 0 : static_cast<int>(d);
    };
    auto wait_for = [&](short ev) {
        pollfd p{fd, ev, 0};
        int r;
        do r = poll(&p, 1, left_ms());
        while (r < 0 && errno == EINTR);
        return r > 0;
    };
    bool ok = false;
    do {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<uint16_t>(port));
        if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            if (errno != EINPROGRESS || !wait_for(POLLOUT)) break;
            int err = 0;
            socklen_t len = sizeof err;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) break;
        }
        std::string req = "GET /api/v2/heartbeat HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                          "\r\nConnection: close\r\n\r\n";
        std::size_t sent = 0;
        while (sent < req.size()) {
            ssize_t n = send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
            if (n > 0) {
                sent += static_cast<std::size_t>(n);
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EINTR) && wait_for(POLLOUT)) continue;
            break;
        }
        if (sent < req.size()) break;
        std::string resp;
        char buf[512];
        while (resp.find("\r\n") == std::string::npos) {
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n > 0) {
                resp.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EINTR) && wait_for(POLLIN)) continue;
            break;
        }
        // "HTTP/1.1 200 OK"
        auto sp = resp.find(' ');
        ok = sp != std::string::npos && resp.compare(sp + 1, 3, "200") == 0;
    } while (false);
    close(fd);
    return ok;
}

// ---------------------------------------------------------------------------

chroma_server::chroma_server(std::string name) : name_(std::move(name)) {
    if (name_.empty()) name_ = "chroma";
    tmp_dir_ = make_temp_dir(name_);
    data_dir_ = tmp_dir_ + "/data";
    log_path_ = tmp_dir_ + "/" + name_ + ".log";
    fs::create_directories(data_dir_);
}

chroma_server::~chroma_server() {
    try {
        kill9();
    } catch (...) {
    }
    remove_tree(tmp_dir_);
}

void chroma_server::start() {
    if (running()) return;
    ensure_chroma_installed(tmp_dir_);
    if (port_ == 0) port_ = pick_free_port();
    {
        std::ofstream log(log_path_, std::ios::app);
        log << "\n=== chromawal_test: starting chroma on port " << port_ << " ===\n";
    }
    std::vector<std::string> args{script("chroma.sh"), "run",    "--port",   std::to_string(port_), "--path",
                                  data_dir_,           "--host", "127.0.0.1"};
    if (allow_reset_) args.emplace_back("--allow-reset");
    pid_ = spawn_bash(args, log_path_);
    auto deadline = clock_type::now() + std::chrono::seconds(60);
    while (true) {
        if (chroma_heartbeat(port_, 1000)) return;
        if (reaped(pid_)) {
            pid_t dead = pid_;
            pid_ = -1;
            throw std::runtime_error("chroma server (pid " + std::to_string(dead) + ", port " + std::to_string(port_) +
                                     ") exited during start-up; log " + log_path_ + ":\n" + tail_of(log_path_));
        }
        if (clock_type::now() >= deadline) {
            kill9();
            throw std::runtime_error("chroma server did not answer on port " + std::to_string(port_) +
                                     " within 60 s; log " + log_path_ + ":\n" + tail_of(log_path_));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

void chroma_server::kill9() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    reap_blocking(pid_);
    pid_ = -1;
}

void chroma_server::stop() {
    if (!running()) return;
    kill(pid_, SIGCONT);
    kill(pid_, SIGTERM);
    if (!wait_exit(pid_, 5000)) kill9();
    pid_ = -1;
}

void chroma_server::restart() {
    kill9();
    start();
}

void chroma_server::pause() {
    if (!running()) return;
    kill(pid_, SIGSTOP);
    // SIGSTOP takes effect asynchronously: wait (with a deadline) until every thread of the
    // server is stopped, so that no request is answered after pause() returns.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
        bool all_stopped = true;
        if (DIR* d = opendir(("/proc/" + std::to_string(pid_) + "/task").c_str())) {
            while (dirent* e = readdir(d)) {
                if (e->d_name[0] == '.') continue;
                std::ifstream stat("/proc/" + std::to_string(pid_) + "/task/" + e->d_name + "/stat");
                std::string line;
                std::getline(stat, line);
                const auto close = line.rfind(')');
                if (close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'T' &&
                    line[close + 2] != 't') {
                    all_stopped = false;
                }
            }
            closedir(d);
        }
        if (all_stopped) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

void chroma_server::resume() {
    if (running()) kill(pid_, SIGCONT);
}

bool chroma_server::running() const {
    if (pid_ <= 0) return false;
    if (reaped(pid_)) {
        pid_ = -1;
        return false;
    }
    return true;
}

int chroma_server::port() const { return port_; }
pid_t chroma_server::pid() const { return running() ? pid_ : -1; }
std::string chroma_server::url() const { return "http://127.0.0.1:" + std::to_string(port_); }
const std::string& chroma_server::data_dir() const { return data_dir_; }
const std::string& chroma_server::log_path() const { return log_path_; }

// ---------------------------------------------------------------------------

postgres_server::postgres_server() {
    tmp_dir_ = make_temp_dir("pg");
    dir_ = tmp_dir_ + "/cluster";
}

postgres_server::~postgres_server() {
    try {
        stop_immediate();
    } catch (...) {
    }
    remove_tree(tmp_dir_);
}

void postgres_server::start() {
    std::string uri = run_script({script("postgres.sh"), "start", dir_}, tmp_dir_);
    std::ifstream in(dir_ + "/port");
    int p = 0;
    if (!(in >> p) || p <= 0)
        throw std::runtime_error("postgres.sh start did not record a port in " + dir_ + "/port (said: " + uri + ")");
    port_ = p;
}

void postgres_server::stop_immediate() {
    if (port_ == 0) return;
    run_script({script("postgres.sh"), "stop", dir_, "immediate"}, tmp_dir_);
}

void postgres_server::stop_fast() {
    if (port_ == 0) return;
    run_script({script("postgres.sh"), "stop", dir_, "fast"}, tmp_dir_);
}

void postgres_server::restart() {
    stop_fast();
    start();
}

std::string postgres_server::uri() const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/chromawal";
}
int postgres_server::port() const { return port_; }
const std::string& postgres_server::dir() const { return dir_; }

// ---------------------------------------------------------------------------

chroma_server& shared_chroma() {
    static chroma_server server("shared-chroma");
    static std::mutex mu;
    std::lock_guard<std::mutex> lock(mu);
    if (!server.running()) server.start();  // first use, or restart after a crash
    return server;
}

std::string unique_name(const std::string& prefix) {
    static std::atomic<unsigned> counter{0};
    static std::mutex mu;
    static std::mt19937_64 rng{std::random_device{}() ^
                               static_cast<unsigned long long>(clock_type::now().time_since_epoch().count())};
    unsigned long long r;
    {
        std::lock_guard<std::mutex> lock(mu);
        r = rng();
    }
    char rnd[8];
    std::snprintf(rnd, sizeof rnd, "%06llx", r & 0xffffffULL);
    std::string suffix = "-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + "-" + rnd;

    std::string p;
    for (char c : prefix) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == '-';
        if (!ok) c = '_';
        if (c == '.' && !p.empty() && p.back() == '.') c = '_';  // no ".."
        p += c;
    }
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
    if (p.empty() || !alnum(p.front())) p.insert(p.begin(), 'c');
    if (p.size() + suffix.size() > 63) p.resize(63 - suffix.size());
    return p + suffix;
}

}  // namespace chromawal_test
