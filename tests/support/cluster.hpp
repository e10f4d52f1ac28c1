// Test support: two real Chroma servers and a replicated client configuration over them, with
// a log schema of its own in one PostgreSQL shared by the whole test process.
#pragma once

#include <chromawal/chromawal.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

#include "servers.hpp"

namespace chromawal_test {

/// One PostgreSQL per test process, started on first use.
inline postgres_server& shared_pg() {
    static postgres_server pg;
    static std::once_flag once;
    std::call_once(once, [] { pg.start(); });
    return pg;
}

/// A log schema name unique to this process and call.
inline std::string unique_schema(const std::string& prefix = "t") {
    static std::atomic<int> n{0};
    return prefix + std::to_string(::getpid()) + "_" + std::to_string(n++);
}

/// A replicated configuration over instances "a" (primary, at url_a) and "b" (at url_b), with
/// short connect timeouts and 100 ms health and sync intervals, so that failures are noticed
/// quickly.
inline chromawal::client_config two_instance_config(const std::string& log_url, const std::string& schema,
                                                    const std::string& url_a, const std::string& url_b,
                                                    std::chrono::milliseconds request_timeout) {
    using namespace std::chrono_literals;
    chromawal::client_config c;
    c.log_url = log_url;
    c.log_schema = schema;
    c.instances.resize(2);
    c.instances[0].name = "a";
    c.instances[0].role = chromawal::instance_role::primary;
    c.instances[0].connection.base_url = url_a;
    c.instances[1].name = "b";
    c.instances[1].connection.base_url = url_b;
    for (auto& i : c.instances) {
        i.connection.request_timeout = request_timeout;
        i.connection.connect_timeout = 1s;
    }
    c.health_interval = 100ms;
    c.sync_interval = 100ms;
    return c;
}

/// Chroma instances "a" (primary) and "b", started by the constructor; short timeouts and
/// intervals so that failures are noticed quickly.
struct cluster {
    chroma_server a{"chroma-a"};
    chroma_server b{"chroma-b"};
    std::string schema;

    explicit cluster(const std::string& schema_prefix = "t") : schema(unique_schema(schema_prefix)) {
        a.start();
        b.start();
    }

    chromawal::client_config config(bool background = true) const {
        auto c = two_instance_config(shared_pg().uri(), schema, a.url(), b.url(), std::chrono::seconds(2));
        c.background_threads = background;
        return c;
    }

    /// A single-server client straight to one instance (to look behind chromawal's back).
    chromawal::chroma_client direct(const chroma_server& s) const {
        chromawal::connection_options o;
        o.base_url = s.url();
        return chromawal::chroma_client(o);
    }

    chromawal::verify_report verify(const std::string& collection) const {
        return chromawal::verify_collection(direct(a), direct(b), collection);
    }
};

}  // namespace chromawal_test
