#pragma once
// Schema migrations of the PostgreSQL log store: the tables and functions, version by version.
//
// Owns: the DDL of every schema version (statements with the "S." schema placeholder, see
// in_schema) and latest_schema_version. Running them (under the migration lock, in one
// transaction, recording each version in schema_version) is pg_log_store::migrate().
// Calls: nothing. Thread-safety: constant data, built once on first use (thread-safe).
//
// Each version is applied once, in order, in the migrating transaction. Never edit a released
// version: add a new one (and bump latest_schema_version).

#include <vector>

namespace chromawal::wal::pg {

struct migration {
    int version;
    std::vector<const char*> statements;
};

/// Every version, in order.
const std::vector<migration>& migrations();

inline constexpr int latest_schema_version = 7;

}  // namespace chromawal::wal::pg
