#pragma once
// SQLite connections for the embedded log store: opening a file with the store's settings, a
// small pool, prepared statements and the mapping of SQLite's errors to the log's exceptions.
// Private: no sqlite3 type leaves lib/wal/sqlite/ and sqlite_log_store.cpp.
//
// Owns: `connection` (one sqlite3 handle opened in multi-thread mode: used by one thread at a
// time), `statement` (a prepared statement that finalizes itself), `pool` (idle connections
// reused, new ones opened on demand, no upper bound beyond the callers' own concurrency), and
// `failure` (an SQLite error with its code, turned into log_unavailable, store_unreachable or
// store_refused by `raise`). Calls: the SQLite C API and the file system (statfs, access).
// Thread-safety: a pool may be used from any thread (one mutex over the idle list); a
// connection or statement by one thread at a time.
//
// Settings of every connection: WAL journal mode (readers never block the one writer),
// synchronous=FULL (a committed transaction survives power loss: the WAL is synced on every
// commit), a busy timeout (a writer waits that long for another process's write transaction),
// foreign keys off (the store keeps its own references), auto_vacuum=INCREMENTAL (set before
// the first table exists; prune() then gives freed pages back with incremental_vacuum).

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chromawal::wal::sqlite {

/// An SQLite error: the operation, SQLite's message and its (extended) result code.
class failure : public std::runtime_error {
public:
    failure(const std::string& what, int code) : std::runtime_error(what), code_(code) {}
    int code() const noexcept { return code_; }
    int primary() const noexcept { return code_ & 0xff; }

private:
    int code_;
};

/// A prepared statement; binds by 1-based index, reads columns by 0-based index.
class connection;

/// One statement of a connection's cache.
struct cached_statement {
    sqlite3_stmt* st = nullptr;
    bool in_use = false;  ///< a `statement` holds it now
};

/// A prepared statement, taken from its connection's cache (prepared once per connection and
/// SQL text, then reset and reused) unless that statement is in use by another object. Reset
/// (and its bindings cleared) when destroyed, so no read transaction outlives it.
class statement {
public:
    statement(connection& c, std::string_view sql);
    ~statement();
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;

    statement& bind(int i, std::int64_t v);
    statement& bind(int i, double v);
    statement& bind(int i, std::string_view text);
    statement& bind_blob(int i, std::string_view bytes);
    statement& bind_null(int i);

    /// Steps once: true when a row is ready, false when done. Throws failure.
    bool step();
    /// Steps to the end (a statement that returns no rows, or whose rows do not matter).
    void run();

    std::int64_t i64(int col) const;
    double f64(int col) const;
    std::string text(int col) const;
    bool is_null(int col) const;

private:
    sqlite3* db_;
    sqlite3_stmt* st_ = nullptr;
    /// The cache entry st_ belongs to (handed back, not finalized); nullptr: finalized.
    cached_statement* cached_ = nullptr;
};

struct settings {
    std::string path;  ///< the database file (absolute or relative to the working directory)
    std::chrono::milliseconds busy_timeout{std::chrono::seconds(10)};
};

class connection {
public:
    explicit connection(const settings& s);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    sqlite3* get() const noexcept { return db_; }
    /// Runs statements with no parameters and no rows (PRAGMA, BEGIN, COMMIT, DDL).
    void exec(const char* sql);
    /// Rows changed by the last statement.
    std::int64_t changes() const;
    /// Set when a statement failed in a way that leaves the handle unusable.
    bool broken = false;

    /// Statements prepared so far by every connection of the process (cache misses); for tests.
    static std::uint64_t statements_prepared_in_process() noexcept;

private:
    friend class statement;
    // At most this many distinct statements are kept per connection (the store has fewer; SQL
    // built at run time would otherwise grow the cache without bound).
    static constexpr std::size_t max_cached = 96;

    sqlite3* db_ = nullptr;
    std::unordered_map<std::string, cached_statement> cache_;
};

/// Throws the log's exception for `e` during `op`: store_unreachable for a database locked
/// beyond the busy timeout, store_refused for a file that cannot be opened or written (read-only,
/// no such directory, not a database), log_unavailable otherwise (a full disk, an I/O error).
[[noreturn]] void raise(const char* op, const std::string& path, const failure& e);

/// Whether `path`'s file system is a network one (NFS, SMB/CIFS, ...), whose locks SQLite's WAL
/// mode cannot rely on; names it when so (empty otherwise). Looks at the nearest existing
/// ancestor of `path`.
std::string network_file_system(const std::string& path);

class pool {
public:
    explicit pool(settings s) : settings_(std::move(s)) {}
    const settings& config() const noexcept { return settings_; }

    std::unique_ptr<connection> acquire();
    void release(std::unique_ptr<connection> c);

    /// Runs f(connection&) on a pooled connection; an SQLite failure becomes the log's exception
    /// (see raise) naming `op`.
    template <class F>
    auto with(const char* op, F&& f) -> decltype(f(std::declval<connection&>())) {
        std::unique_ptr<connection> c;
        try {
            c = acquire();
        } catch (const failure& e) {
            raise(op, settings_.path, e);
        }
        struct giver {
            pool& p;
            std::unique_ptr<connection>& c;
            ~giver() {
                if (c) p.release(std::move(c));
            }
        } give{*this, c};
        try {
            return f(*c);
        } catch (const failure& e) {
            raise(op, settings_.path, e);
        }
    }

    /// Like with(), inside BEGIN IMMEDIATE ... COMMIT (rolled back when f throws): a write
    /// transaction that holds SQLite's one write lock from its first statement, so it never has
    /// to upgrade a read snapshot (which would fail at once instead of waiting).
    template <class F>
    auto write(const char* op, F&& f) -> decltype(f(std::declval<connection&>())) {
        return with(op, [&](connection& c) {
            c.exec("BEGIN IMMEDIATE");
            try {
                if constexpr (std::is_void_v<decltype(f(c))>) {
                    f(c);
                    c.exec("COMMIT");
                } else {
                    auto r = f(c);
                    c.exec("COMMIT");
                    return r;
                }
            } catch (...) {
                rollback(c);
                throw;
            }
        });
    }

private:
    static void rollback(connection& c) noexcept;
    settings settings_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<connection>> idle_;
};

/// Seconds since the Unix epoch, now.
double now_seconds();

}  // namespace chromawal::wal::sqlite
