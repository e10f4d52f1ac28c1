#include "tls_front.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

extern char** environ;

namespace chromawal_test {
namespace {

namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

std::string make_temp_dir() {
    const char* env = std::getenv("CHROMAWAL_TEST_TMP");
    const std::string base = (env && *env) ? env : "/tmp";
    std::error_code ec;
    fs::create_directories(base, ec);
    std::string tmpl = base + "/chromawal-tls-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp(" + tmpl + "): " + std::strerror(errno));
    return buf.data();
}

std::string find_program(const std::string& name) {
    std::vector<std::string> dirs;
    if (const char* path = std::getenv("PATH")) {
        std::stringstream ss(path);
        std::string d;
        while (std::getline(ss, d, ':'))
            if (!d.empty()) dirs.push_back(d);
    }
    for (const char* d : {"/usr/sbin", "/usr/bin", "/sbin", "/bin"}) dirs.emplace_back(d);
    for (const auto& d : dirs) {
        const std::string p = d + "/" + name;
        if (access(p.c_str(), X_OK) == 0) return p;
    }
    throw std::runtime_error("tls_front: `" + name + "` not found (run scripts/install-deps.sh)");
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// fork + execve with stdin from /dev/null, stdout and stderr appended to `log_path`. Only
// async-signal-safe calls in the child. When called from the main thread, the child gets
// SIGKILL if this process dies (so a crashed test leaves no nginx behind).
pid_t spawn(const std::vector<std::string>& args, const std::string& log_path) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const int out = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out < 0) throw std::runtime_error("open(" + log_path + "): " + std::strerror(errno));
    const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    const bool main_thread = syscall(SYS_gettid) == getpid();
    const pid_t parent = getpid();
    const pid_t pid = fork();
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
        dup2(out, 2);
        execve(argv[0], argv.data(), environ);
        _exit(127);
    }
    const int saved = errno;
    if (devnull >= 0) close(devnull);
    close(out);
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(saved));
    return pid;
}

int wait_status(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return status;
}

// Runs a program to completion; throws with its output on a non-zero exit.
void run(const std::vector<std::string>& args, const std::string& log_path) {
    const int status = wait_status(spawn(args, log_path));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::string cmd;
        for (const auto& a : args) cmd += " " + a;
        throw std::runtime_error("tls_front:" + cmd + " failed (status " + std::to_string(status) + "):\n" +
                                 read_file(log_path));
    }
}

int pick_free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        const int e = errno;
        close(fd);
        throw std::runtime_error(std::string("bind/getsockname: ") + std::strerror(e));
    }
    close(fd);
    return ntohs(a.sin_port);
}

bool accepts(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    return ok;
}

bool exited(pid_t pid) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    return r == pid || (r < 0 && errno == ECHILD);
}

}  // namespace

tls_front::tls_front(int backend_port) : backend_port_(backend_port), dir_(make_temp_dir()) {
    cert_path_ = dir_ + "/cert.pem";
    key_path_ = dir_ + "/key.pem";
    run({find_program("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2", "-subj",
         "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key_path_, "-out", cert_path_},
        dir_ + "/openssl.log");
}

tls_front::~tls_front() {
    try {
        stop();
    } catch (...) {
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

void tls_front::start() {
    if (running()) return;
    if (port_ == 0) port_ = pick_free_port();
    for (const char* sub : {"body", "proxy", "fastcgi", "uwsgi", "scgi"}) fs::create_directories(dir_ + "/" + sub);
    const std::string conf = dir_ + "/nginx.conf";
    {
        std::ofstream out(conf, std::ios::trunc);
        out << "daemon off;\n"
               "master_process off;\n"
               "worker_processes 1;\n"
               "pid "
            << dir_ << "/nginx.pid;\n"
            << "error_log " << dir_ << "/error.log info;\n"
            << "events { worker_connections 256; }\n"
               "http {\n"
               "  access_log "
            << dir_ << "/access.log;\n";
        for (const char* sub : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
            const std::string folder = std::string(sub) == "client_body" ? "body" : sub;
            out << "  " << sub << "_temp_path " << dir_ << "/" << folder << ";\n";
        }
        out << "  client_max_body_size 64m;\n"
               "  server {\n"
               "    listen 127.0.0.1:"
            << port_ << " ssl;\n"
            << "    ssl_certificate " << cert_path_ << ";\n"
            << "    ssl_certificate_key " << key_path_ << ";\n"
            << "    location / {\n"
               "      proxy_pass http://127.0.0.1:"
            << backend_port_ << ";\n"
            << "      proxy_http_version 1.1;\n"
               "      proxy_set_header Connection \"\";\n"
               "      proxy_read_timeout 60s;\n"
               "    }\n"
               "  }\n"
               "}\n";
    }
    const std::string log = dir_ + "/nginx.out";
    pid_ = spawn({find_program("nginx"), "-e", dir_ + "/error.log", "-p", dir_, "-c", conf}, log);
    const auto deadline = steady::now() + std::chrono::seconds(10);
    while (!accepts(port_)) {
        if (exited(pid_) || steady::now() >= deadline) {
            const std::string why = read_file(log) + read_file(dir_ + "/error.log");
            stop();
            throw std::runtime_error("tls_front: nginx did not start on port " + std::to_string(port_) + ":\n" + why);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

void tls_front::stop() {
    if (pid_ <= 0) return;
    if (!exited(pid_)) {
        kill(pid_, SIGTERM);
        const auto deadline = steady::now() + std::chrono::seconds(5);
        while (!exited(pid_)) {
            if (steady::now() >= deadline) {
                kill(pid_, SIGKILL);
                wait_status(pid_);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    pid_ = -1;
}

bool tls_front::running() const {
    if (pid_ <= 0) return false;
    if (exited(pid_)) {
        pid_ = -1;
        return false;
    }
    return true;
}

int tls_front::port() const { return port_; }
std::string tls_front::url() const { return "https://127.0.0.1:" + std::to_string(port_); }
const std::string& tls_front::cert_path() const { return cert_path_; }
const std::string& tls_front::dir() const { return dir_; }

}  // namespace chromawal_test
