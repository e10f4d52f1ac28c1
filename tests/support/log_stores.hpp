// Test support: the two log stores, so that one test runs against each without being forked.
//
// - store_kind, fresh_store(kind): a fresh, empty log of that kind (a PostgreSQL schema of its
//   own in the process's shared PostgreSQL, or an SQLite file of its own in the process's
//   throwaway folder), opened as many times as a test needs (as several processes would);
// - log_store_under_test(): the store the replication tests use, from the environment variable
//   CHROMAWAL_TEST_LOG_STORE ("postgresql", the default, or "sqlite"); ctest runs the
//   replication, renames, torture and concurrency tests once with each (tests/CMakeLists.txt);
// - log_url_for(schema): the log URL of a cluster's log under that store.
#pragma once

#include <chromawal/error.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "cluster.hpp"
#include "wal/pg_log_store.hpp"
#include "wal/sqlite_log_store.hpp"

namespace chromawal_test {

/// One fresh log of one kind.
struct store_place {
    store_kind kind = store_kind::postgresql;
    std::string schema;  ///< PostgreSQL schema, or the SQLite file's stem
    std::string path;    ///< the SQLite file

    std::string describe() const {
        return std::string("store: ") + to_string(kind) + " " + (path.empty() ? schema : path);
    }

    /// A new store object on this log (as another process would open it), migrated.
    std::unique_ptr<chromawal::wal::log_store> open(std::size_t connections = 8, bool migrate = false) const {
        std::unique_ptr<chromawal::wal::log_store> s;
        if (kind == store_kind::sqlite) {
            s = std::make_unique<chromawal::wal::sqlite_log_store>(path);
        } else {
            s = std::make_unique<chromawal::wal::pg_log_store>(shared_pg().uri(), schema, connections);
        }
        if (migrate) s->migrate();
        return s;
    }
};

inline store_place fresh_store(store_kind kind) {
    static std::atomic<int> n{0};
    store_place p;
    p.kind = kind;
    p.schema = "cws_" + std::to_string(::getpid()) + "_" + std::to_string(n++);
    if (kind == store_kind::sqlite) p.path = sqlite_dir() + "/" + p.schema + ".db";
    return p;
}

/// A store object on the log of a cluster with this schema (log_url_for, the store under test),
/// as another process would open it.
inline std::unique_ptr<chromawal::wal::log_store> open_cluster_log(const std::string& schema) {
    store_place p;
    p.kind = log_store_under_test();
    p.schema = schema;
    if (p.kind == store_kind::sqlite) p.path = sqlite_dir() + "/" + schema + ".db";
    return p.open();
}

}  // namespace chromawal_test
