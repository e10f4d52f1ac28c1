#pragma once
// Choosing and opening the log store from the configuration: the log URL's scheme picks the
// store, and with no log configured the embedded default is chosen.
//
// Owns: the URL forms (sqlite:///abs/path.db, sqlite:relative/path.db, anything else a
// PostgreSQL URI or conninfo), the rule for the default (no log_url, no CHROMAWAL_LOG_URL, no
// libpq PG* variable: an SQLite file in the user's state directory, named after the instance
// set) and creating that directory (mode 0700). Calls: the stores' constructors, getenv, mkdir.
// Thread-safety: reads the environment (not synchronised with setenv(), as for any getenv).

#include <chromawal/client.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "wal/log_store.hpp"

namespace chromawal::wal {

struct opened_store {
    std::unique_ptr<log_store> store;
    /// Set when the embedded default was chosen: a sentence saying so, with the file's path.
    std::string default_note;
};

/// The SQLite path in a log URL, or nullopt-like empty when the URL is not an SQLite one.
/// @throws chromawal::invalid_argument for "sqlite:" with no path, or "sqlite://host/...".
std::string sqlite_path(const std::string& url);

/// Where the default log of this instance set lives: $XDG_STATE_HOME/chromawal/ (or
/// ~/.local/state/chromawal/), "log-<16 hex digits>.db" from a hash of the sorted instance URLs.
/// @throws chromawal::invalid_argument when neither XDG_STATE_HOME nor HOME is set.
std::string default_sqlite_path(const std::vector<std::string>& instance_urls);

/// Whether a libpq connection variable (PGHOST, PGDATABASE, ...) is set.
bool libpq_environment();

/// Opens the store the configuration names (see the header comment).
/// @param pg_connections the PostgreSQL store's pool size.
/// @throws chromawal::invalid_argument for a bad URL or a path on a network file system, or when
///         the default's directory cannot be created.
opened_store open_log_store(const client_config& config, std::size_t pg_connections);

}  // namespace chromawal::wal
