#pragma once
// The connection pool of the PostgreSQL log store, shared by the store and its lane locks.
//
// Owns: libpq connections (`connection`: one PGconn, non-blocking, with its prepared-statement
// bits), connecting (keepalives, tcp_user_timeout and session settings), sending a statement and
// collecting its result under a client-side deadline, the pool (`pool`: at most
// max_connections, created on demand, idle ones reused, a caller waits when all are busy, up to
// about the statement timeout), the loan of a connection (`lease`), and the failure policy of
// one call (with_connection). Calls: libpq, the wire format, statements.hpp (to prepare them)
// and messages.hpp (every message passes safe_message(), i.e. chromawal::redact).
//
// Thread-safety: a pool may be shared by any number of threads (it is held by shared_ptr by the
// store and by every lane lock, which may outlive the store); its mutex guards `idle` and
// `open` only, never a network round trip. A `connection` belongs to one thread at a time: the
// one holding its lease (or the lane lock it was handed to).
//
// Failures: a statement's failure is a pg_failure; one that leaves the connection unusable or in
// an unknown state (broken()) discards it, with every idle one (after a server restart they are
// all dead). with_connection retries a read or idempotent write once on a new connection when a
// connection from the idle list turned out broken, and turns every pg_failure into
// chromawal::log_unavailable naming the operation, with libpq's message (secrets removed).
// Connecting gives up after connect_timeout; every statement has a server-side
// statement_timeout (30 s) and a client-side deadline a little longer, so a hung server or
// network never blocks a caller for ever. Keepalives and tcp_user_timeout are set unless the
// connection string sets them.

#include <libpq-fe.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "wal/pg/failure.hpp"
#include "wal/pg/statements.hpp"
#include "wal/pg/wire.hpp"

namespace chromawal::wal::pg {

using steady = std::chrono::steady_clock;

// Server-side limit of every statement, and the client-side deadline a little beyond it (a
// hung server never answers, so the server-side limit alone cannot help).
inline constexpr std::chrono::milliseconds statement_timeout = std::chrono::seconds(30);
inline constexpr std::chrono::milliseconds client_deadline = statement_timeout + std::chrono::seconds(5);
// Aborts a transaction left open by a crashed caller; ours are one statement long.
inline constexpr std::chrono::milliseconds idle_in_transaction_timeout = std::chrono::seconds(60);

/// The client-side deadline of a statement sent now.
inline steady::time_point statement_deadline() { return steady::now() + client_deadline; }

/// One libpq connection (non-blocking). Used by one thread at a time.
struct connection {
    explicit connection(PGconn* c) : conn(c) {}
    ~connection() {
        if (conn != nullptr) PQfinish(conn);
    }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    PGconn* conn;
    std::uint32_t prepared = 0;  ///< bit i: statement i is prepared on this connection
    bool broken = false;
    bool reused = false;  ///< came from the idle list (may have died while idle)
};

/// The pool, shared by the store and its lane locks.
struct pool : std::enable_shared_from_this<pool> {
    pool(std::string conninfo_, std::string schema_, std::size_t max_, std::chrono::milliseconds connect_timeout_);
    ~pool() = default;

    std::string conninfo;
    std::string schema;
    std::string quoted_schema;
    std::size_t max_connections;
    std::chrono::milliseconds connect_timeout;
    std::vector<std::string> secrets;  ///< passwords to strip from every message
    std::array<statement, stmt_count> statements;
    std::atomic<bool> record_history{false};  ///< apply history on (set_record_apply_history)
    /// Statements sent by run, exec_params and exec_simple on this pool's connections (lane
    /// locks' included; preparing one is not counted). For tests and measurements: one relaxed
    /// increment per statement.
    mutable std::atomic<std::uint64_t> statements_run{0};
    /// The same, summed over every pool of the process.
    static std::uint64_t statements_run_in_process() noexcept;
    void count_statement() const noexcept;

    std::mutex mutex;
    std::condition_variable available;
    std::vector<std::unique_ptr<connection>> idle;
    std::size_t open = 0;  ///< connections in use or idle

    /// `message` without secrets, on one line.
    std::string clean(const std::string& message) const;
    std::string conn_message(PGconn* c) const;
    [[noreturn]] void fail_broken(connection& c, const std::string& what) const;

    /// A new connection with the session settings applied. Throws pg_failure.
    std::unique_ptr<connection> connect() const;
    /// Collects the results of the command just sent. Throws pg_failure.
    result await(connection& c, steady::time_point deadline) const;
    /// Runs a prepared statement (preparing it on first use on this connection).
    result run(connection& c, stmt id, const params& p, steady::time_point deadline) const;
    /// Runs a one-off parameterised statement (unnamed, not kept).
    result exec_params(connection& c, const std::string& sql, const std::vector<Oid>& types, const params& p,
                       steady::time_point deadline) const;
    /// Runs a statement without parameters (DDL, transaction control).
    result exec_simple(connection& c, const std::string& sql, steady::time_point deadline) const;

    /// An idle connection that died while idle has a readable socket (EOF or a FATAL message).
    static bool still_alive(connection& c);
    /// A connection: an idle one (unless `fresh`), else a new one while under the limit, else
    /// waits for one to be returned. Throws pg_failure.
    std::unique_ptr<connection> acquire(bool fresh, steady::time_point deadline);
    /// Returns a connection to the pool, or closes it when broken or in an unknown state.
    void release(std::unique_ptr<connection> c) noexcept;
    /// After a connection broke: the idle ones are most likely dead too (a server restart).
    void drop_idle() noexcept;

    /// A connection on loan; returned to the pool by the destructor.
    class lease {
    public:
        lease(std::shared_ptr<pool> p, std::unique_ptr<connection> c) : pool_(std::move(p)), c_(std::move(c)) {}
        ~lease() {
            if (c_) pool_->release(std::move(c_));
        }
        lease(const lease&) = delete;
        lease& operator=(const lease&) = delete;
        connection& operator*() const { return *c_; }
        connection* operator->() const { return c_.get(); }
        std::unique_ptr<connection> take() { return std::move(c_); }

    private:
        std::shared_ptr<pool> pool_;
        std::unique_ptr<connection> c_;
    };

    /// Throws chromawal::log_unavailable: "PostgreSQL log store: <op> failed: <e.what()>".
    [[noreturn]] static void unavailable(const char* op, const std::exception& e);

    /// Runs `f` on a pooled connection. When a connection that came from the idle list turns
    /// out broken and `retry` is set (reads, idempotent writes), runs `f` once more on a fresh
    /// connection. Every pg_failure becomes chromawal::log_unavailable.
    template <class F>
    auto with_connection(const char* op, bool retry, F&& f) -> decltype(f(std::declval<connection&>())) {
        for (int attempt = 0;; ++attempt) {
            bool may_retry = false;
            try {
                lease l(shared_from_this(), acquire(attempt > 0, steady::now() + client_deadline));
                may_retry = retry && attempt == 0 && l->reused;
                try {
                    return f(*l);
                } catch (const pg_failure& e) {
                    if (e.broken()) {
                        l->broken = true;
                        drop_idle();
                    }
                    throw;
                }
            } catch (const pg_failure& e) {
                if (e.broken() && may_retry) continue;
                unavailable(op, e);
            }
        }
    }
};

}  // namespace chromawal::wal::pg
