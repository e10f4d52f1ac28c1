// Test support: two (cluster) or three (three_cluster) real Chroma servers and a replicated
// client configuration over them, with a log of its own: a schema in one PostgreSQL shared by the
// whole test process, or, with CHROMAWAL_TEST_LOG_STORE=sqlite, an SQLite file in a throwaway
// folder of the process (log_store_under_test); and event_log, which records a client's events
// for tests to wait on.
#pragma once

#include <chromawal/chromawal.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "servers.hpp"

namespace chromawal_test {

/// One PostgreSQL per test process, started on first use.
inline postgres_server& shared_pg() {
    static postgres_server pg;
    static std::once_flag once;
    std::call_once(once, [] { pg.start(); });
    return pg;
}

enum class store_kind { postgresql, sqlite };

inline const char* to_string(store_kind k) { return k == store_kind::sqlite ? "sqlite" : "postgresql"; }

/// A folder for this process's SQLite logs, removed at exit.
inline const std::string& sqlite_dir() {
    struct folder {
        std::string path;
        folder() {
            std::string tmpl = (std::filesystem::temp_directory_path() / "chromawal-sqlite-XXXXXX").string();
            if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
            path = tmpl;
        }
        ~folder() {
            std::error_code ec;
            std::filesystem::remove_all(path, ec);
        }
    };
    static folder f;
    return f.path;
}

/// The store the replication tests run on (CHROMAWAL_TEST_LOG_STORE).
inline store_kind log_store_under_test() {
    const char* v = std::getenv("CHROMAWAL_TEST_LOG_STORE");
    if (v == nullptr || *v == '\0' || std::string(v) == "postgresql") return store_kind::postgresql;
    if (std::string(v) == "sqlite") return store_kind::sqlite;
    throw std::runtime_error(std::string("CHROMAWAL_TEST_LOG_STORE must be postgresql or sqlite, not ") + v);
}

/// A log of `kind` named after `schema` (a schema, or a file in sqlite_dir()).
inline std::string log_url_for(store_kind kind, const std::string& schema) {
    if (kind == store_kind::sqlite) return "sqlite://" + sqlite_dir() + "/" + schema + ".db";
    return shared_pg().uri();
}

/// A log schema name unique to this process and call.
inline std::string unique_schema(const std::string& prefix = "t") {
    static std::atomic<int> n{0};
    return prefix + std::to_string(::getpid()) + "_" + std::to_string(n++);
}

/// A replicated configuration over instances named "a", "b", "c", ... (the first the primary) at
/// `urls`, with short connect timeouts and 100 ms health and sync intervals, so that failures
/// are noticed quickly.
inline chromawal::client_config instance_set_config(const std::string& log_url, const std::string& schema,
                                                    const std::vector<std::string>& urls,
                                                    std::chrono::milliseconds request_timeout) {
    using namespace std::chrono_literals;
    chromawal::client_config c;
    c.log_url = log_url;
    c.log_schema = schema;
    c.instances.resize(urls.size());
    for (std::size_t k = 0; k < urls.size(); ++k) {
        auto& i = c.instances[k];
        i.name = std::string(1, static_cast<char>('a' + k));
        i.role = k == 0 ? chromawal::instance_role::primary : chromawal::instance_role::replica;
        i.connection.base_url = urls[k];
        i.connection.request_timeout = request_timeout;
        i.connection.connect_timeout = 1s;
    }
    c.health_interval = 100ms;
    c.sync_interval = 100ms;
    return c;
}

/// instance_set_config over instances "a" (primary, at url_a) and "b" (at url_b).
inline chromawal::client_config two_instance_config(const std::string& log_url, const std::string& schema,
                                                    const std::string& url_a, const std::string& url_b,
                                                    std::chrono::milliseconds request_timeout) {
    return instance_set_config(log_url, schema, {url_a, url_b}, request_timeout);
}

/// A single-server client straight to one instance (to look behind chromawal's back).
inline chromawal::chroma_client direct_client(const chroma_server& s) {
    chromawal::connection_options o;
    o.base_url = s.url();
    return chromawal::chroma_client(o);
}

/// Records a client's events (client_config::on_event = log.hook()) for tests to count and wait
/// on. Must outlive the client.
class event_log {
public:
    std::function<void(const chromawal::event&)> hook() {
        return [this](const chromawal::event& e) {
            std::lock_guard<std::mutex> lock(mutex_);
            events_.push_back(e);
        };
    }

    /// Events of `kind` so far (of `instance`, when not empty).
    std::size_t count(chromawal::event::kind kind, const std::string& instance = {}) const {
        std::lock_guard<std::mutex> lock(mutex_);
        std::size_t n = 0;
        for (const auto& e : events_) {
            if (e.type == kind && (instance.empty() || e.instance == instance)) ++n;
        }
        return n;
    }

    /// Polls every 10 ms until at least `n` events of `kind` arrived or `limit` passed.
    bool wait_for(chromawal::event::kind kind, std::chrono::milliseconds limit, std::size_t n = 1,
                  const std::string& instance = {}) const {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (count(kind, instance) < n) {
            if (std::chrono::steady_clock::now() >= deadline) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return true;
    }

    /// Every event so far, as "kind instance: message" lines (for failure messages).
    std::string dump() const {
        std::lock_guard<std::mutex> lock(mutex_);
        std::string out;
        for (const auto& e : events_)
            out += std::string(chromawal::to_string(e.type)) + " " + e.instance + ": " + e.message + "\n";
        return out;
    }

private:
    mutable std::mutex mutex_;
    std::vector<chromawal::event> events_;
};

/// Chroma instances "a" (primary) and "b", started by the constructor; short timeouts and
/// intervals so that failures are noticed quickly.
struct cluster {
    chroma_server a{"chroma-a"};
    chroma_server b{"chroma-b"};
    std::string schema;

    /// `allow_reset`: both servers run with Chroma's allow_reset (client::reset()).
    explicit cluster(const std::string& schema_prefix = "t", bool allow_reset = false)
        : schema(unique_schema(schema_prefix)) {
        a.allow_reset(allow_reset);
        b.allow_reset(allow_reset);
        a.start();
        b.start();
    }

    chromawal::client_config config(bool background = true) const {
        auto c = two_instance_config(log_url_for(log_store_under_test(), schema), schema, a.url(), b.url(),
                                     std::chrono::seconds(2));
        c.background_threads = background;
        return c;
    }

    /// A single-server client straight to one instance (to look behind chromawal's back).
    chromawal::chroma_client direct(const chroma_server& s) const { return direct_client(s); }

    chromawal::verify_report verify(const std::string& collection) const {
        return chromawal::verify_collection(direct(a), direct(b), collection);
    }
};

/// Three Chroma instances: "a" (primary), "b" and "c", started by the constructor; the same
/// short timeouts and intervals as cluster.
struct three_cluster {
    chroma_server a{"chroma-a"};
    chroma_server b{"chroma-b"};
    chroma_server c{"chroma-c"};
    std::string schema;

    explicit three_cluster(const std::string& schema_prefix = "t3") : schema(unique_schema(schema_prefix)) {
        a.start();
        b.start();
        c.start();
    }

    chromawal::client_config config(std::chrono::milliseconds request_timeout = std::chrono::seconds(2)) const {
        return instance_set_config(log_url_for(log_store_under_test(), schema), schema, {a.url(), b.url(), c.url()},
                                   request_timeout);
    }

    chromawal::chroma_client direct(const chroma_server& s) const { return direct_client(s); }

    /// Compares `other` with a (stored records, not query results).
    chromawal::verify_report verify(const chroma_server& other, const std::string& collection) const {
        return chromawal::verify_collection(direct(a), direct(other), collection);
    }
};

}  // namespace chromawal_test
