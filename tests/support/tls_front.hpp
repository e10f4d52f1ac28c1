// Test support: a TLS front (nginx from Debian) with a self-signed certificate, proxying to a
// plain-HTTP backend on 127.0.0.1.
//
// Layout: a fresh mkdtemp directory T under $CHROMAWAL_TEST_TMP (else /tmp) holds the key and
// certificate (openssl req -x509, CN and subjectAltName IP:127.0.0.1), nginx.conf, the pid,
// error and access logs and nginx's temp folders. nginx runs in the foreground
// (`daemon off; master_process off;`, so as root it does not switch users) as a child of the
// test process, on a free loopback port; it gets SIGKILL when a test process that started it
// from its main thread dies.
//
// POSIX, C++17, standard library only; `nginx` and `openssl` must be on PATH or in /usr/sbin
// (scripts/install-deps.sh installs both). Not thread-safe: one owner.
#pragma once

#include <sys/types.h>

#include <string>

namespace chromawal_test {

class tls_front {
public:
    /// Generates the certificate; does not start nginx yet.
    /// @throws std::runtime_error when openssl fails (with its output).
    explicit tls_front(int backend_port);
    ~tls_front();  // stop() + removes T
    tls_front(const tls_front&) = delete;
    tls_front& operator=(const tls_front&) = delete;

    /// Starts nginx on a free loopback port and waits (10 s) until it accepts connections.
    /// @throws std::runtime_error with the error log's tail on failure. No-op if running.
    void start();
    /// SIGTERM, 5 s grace, SIGKILL; reaps. No-op if not running.
    void stop();

    bool running() const;
    int port() const;         // 0 before start()
    std::string url() const;  // "https://127.0.0.1:PORT"
    /// The self-signed certificate (PEM): the CA file a client must trust.
    const std::string& cert_path() const;
    const std::string& dir() const;

private:
    int backend_port_;
    std::string dir_;
    std::string cert_path_;
    std::string key_path_;
    int port_ = 0;
    mutable pid_t pid_ = -1;
};

}  // namespace chromawal_test
