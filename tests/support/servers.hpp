// Test support: real Chroma and PostgreSQL servers as child processes.
//
// Both wrap the repo's scripts (scripts/chroma.sh, scripts/postgres.sh), found
// through the compile definition CHROMAWAL_SOURCE_DIR (a string literal; the
// environment variable of the same name overrides it at run time).
// Temporary directories go under $CHROMAWAL_TEST_TMP, else /tmp.
//
// POSIX, C++17, standard library only. Safe to use from a multithreaded test
// process: children are started with fork + async-signal-safe calls + execve.
#pragma once

#include <sys/types.h>

#include <string>

namespace chromawal_test {

// A real Chroma 1.x server ("chroma run") on 127.0.0.1.
//
// Layout: a fresh mkdtemp directory T; data in T/data, log in T/<name>.log.
// The recorded pid() is the node process serving Chroma itself (the script
// exec's), so kill9() is a real crash of the server.
// Chroma ignores SIGTERM: stop() therefore always ends with SIGKILL after 5 s.
class chroma_server {
public:
    explicit chroma_server(std::string name = "chroma");
    ~chroma_server();  // SIGKILL if running, then removes T
    chroma_server(const chroma_server&) = delete;
    chroma_server& operator=(const chroma_server&) = delete;

    // Picks a free port the first time, installs Chroma if needed (outside the
    // deadline), spawns the server and waits for GET /api/v2/heartbeat (60 s).
    // Throws std::runtime_error with the log tail on failure. No-op if running.
    void start();
    void allow_reset(bool on) { allow_reset_ = on; }  // before start(): the server's allow_reset
    void kill9();                                     // SIGKILL (works on a paused server too) + reap
    void stop();                                      // SIGCONT, SIGTERM, 5 s grace, SIGKILL; reap
    void restart();                                   // kill9() if running, then start() on the same port and data dir
    void pause();   // SIGSTOP: a real hang (connections are accepted, nothing answers)
    void resume();  // SIGCONT

    bool running() const;     // the child has not exited (a paused server is running)
    int port() const;         // 0 before the first start()
    pid_t pid() const;        // -1 when not running
    std::string url() const;  // "http://127.0.0.1:PORT"
    const std::string& data_dir() const;
    const std::string& log_path() const;

private:
    std::string name_;
    std::string tmp_dir_;
    std::string data_dir_;
    std::string log_path_;
    int port_ = 0;
    mutable pid_t pid_ = -1;
    bool allow_reset_ = false;
};

// A throwaway PostgreSQL cluster (scripts/postgres.sh) in a temp directory,
// database "chromawal", superuser "postgres", trust auth on 127.0.0.1.
class postgres_server {
public:
    postgres_server();
    ~postgres_server();  // stop immediate + remove the directory
    postgres_server(const postgres_server&) = delete;
    postgres_server& operator=(const postgres_server&) = delete;

    void start();           // creates the cluster the first time; same port afterwards
    void stop_immediate();  // crash-like stop (pg_ctl -m immediate)
    void stop_fast();       // clean stop (pg_ctl -m fast)
    void restart();         // stop_fast() + start()

    std::string uri() const;  // "postgresql://postgres@127.0.0.1:PORT/chromawal"
    int port() const;         // 0 before the first start()
    const std::string& dir() const;

private:
    std::string tmp_dir_;
    std::string dir_;
    int port_ = 0;
};

// One Chroma server per test process, started lazily on first use (thread
// safe), killed and removed at exit.
chroma_server& shared_chroma();

// A name unique across processes and calls, valid as a Chroma collection name:
// [a-zA-Z0-9._-], 3..63 chars, starting and ending with an alphanumeric.
std::string unique_name(const std::string& prefix);

// True if GET http://127.0.0.1:port/api/v2/heartbeat answers 200 within timeout_ms.
bool chroma_heartbeat(int port, int timeout_ms = 1000);

}  // namespace chromawal_test
