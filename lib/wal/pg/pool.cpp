#include "wal/pg/pool.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "chromawal/error.hpp"
#include "wal/log_store.hpp"
#include "wal/pg/messages.hpp"

namespace chromawal::wal::pg {
namespace {

using namespace std::chrono_literals;

/// Waits until the connection's socket is ready; false when the deadline passed first.
bool wait_socket(PGconn* conn, bool for_read, bool for_write, steady::time_point deadline) {
    int fd = PQsocket(conn);
    if (fd < 0) return true;  // the next libpq call reports the error
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()).count();
        if (left <= 0) return false;
        pollfd p{};
        p.fd = fd;
        p.events = static_cast<short>((for_read ? POLLIN : 0) | (for_write ? POLLOUT : 0));
        int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 60000)));
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) return true;  // let libpq find out what is wrong
    }
}

bool connection_level(const std::string& sqlstate) {
    // 08: connection exception; 57P01..03: shutdown, crash, cannot connect now.
    return sqlstate.empty() || sqlstate.compare(0, 2, "08") == 0 || sqlstate == "57P01" || sqlstate == "57P02" ||
           sqlstate == "57P03";
}

void noop_notice_processor(void*, const char*) {}

std::atomic<std::uint64_t> process_statements{0};

/// The SQLSTATE of a failed connection attempt when it can never succeed as configured ("28000":
/// authentication, authorization; "3D000": no such database; "22023": a setting libpq itself
/// rejects, such as an invalid sslmode), else empty (an outage). libpq
/// keeps a connection failure's SQLSTATE to itself, so this reads its message, which the server
/// writes in its lc_messages: in another language it reads as an outage (the client then starts
/// degraded and reports the message in status and events instead of failing at once).
std::string refusal_state(PGconn* c, const std::string& message) {
    if (c != nullptr && PQconnectionNeedsPassword(c) != 0) return "28000";
    const auto has = [&](const char* s) { return message.find(s) != std::string::npos; };
    // libpq's own checks of the settings ("invalid sslmode value", "invalid port number").
    if (has("invalid ") && (has(" value") || has("port number"))) return "22023";
    if (has("database \"") && has("does not exist")) return "3D000";
    if (has("authentication failed") || has("pg_hba.conf") || has("no password supplied") ||
        (has("role \"") && has("does not exist")) || has("permission denied for database")) {
        return "28000";
    }
    return {};
}

}  // namespace

pool::pool(std::string conninfo_, std::string schema_, std::size_t max_, std::chrono::milliseconds connect_timeout_)
    : conninfo(std::move(conninfo_)),
      schema(std::move(schema_)),
      max_connections(max_),
      connect_timeout(connect_timeout_) {
    quoted_schema = "\"" + schema + "\"";
    statements = make_statements(quoted_schema);
}

void pool::count_statement() const noexcept {
    statements_run.fetch_add(1, std::memory_order_relaxed);
    process_statements.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t pool::statements_run_in_process() noexcept { return process_statements.load(std::memory_order_relaxed); }

std::string pool::clean(const std::string& message) const { return safe_message(message, secrets); }

std::string pool::conn_message(PGconn* c) const {
    std::string m = clean(c != nullptr ? PQerrorMessage(c) : "out of memory");
    return m.empty() ? std::string("connection failed") : m;
}

void pool::fail_broken(connection& c, const std::string& what) const {
    c.broken = true;
    throw pg_failure(what + ": " + conn_message(c.conn), true);
}

std::unique_ptr<connection> pool::connect() const {
    const std::string keepalive_ms = std::to_string(statement_timeout.count());
    const std::string connect_s = std::to_string(std::max<long long>(2, (connect_timeout.count() + 999) / 1000));
    // Defaults before the caller's string (which may override them), forced settings after.
    std::vector<const char*> keys = {"connect_timeout",          "keepalives",       "keepalives_idle",
                                     "keepalives_interval",      "keepalives_count", "tcp_user_timeout",
                                     "fallback_application_name"};
    std::vector<const char*> values = {connect_s.c_str(), "1", "30", "10", "3", keepalive_ms.c_str(), "chromawal"};
    if (!conninfo.empty()) {
        keys.push_back("dbname");
        values.push_back(conninfo.c_str());
    }
    keys.push_back("client_encoding");
    values.push_back("UTF8");
    keys.push_back(nullptr);
    values.push_back(nullptr);

    auto deadline = steady::now() + connect_timeout;
    auto c = std::make_unique<connection>(PQconnectStartParams(keys.data(), values.data(), 1));
    if (c->conn == nullptr) throw pg_failure("could not connect: out of memory", true);
    const auto connect_failed = [&] {
        const std::string m = conn_message(c->conn);
        throw pg_failure("could not connect: " + m, true, refusal_state(c->conn, m));
    };
    if (PQstatus(c->conn) == CONNECTION_BAD) connect_failed();
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED) connect_failed();
        bool for_read = st == PGRES_POLLING_READING;
        if (!wait_socket(c->conn, for_read, !for_read, deadline)) {
            throw pg_failure("could not connect within " + std::to_string(connect_timeout.count()) + " ms", true);
        }
        st = PQconnectPoll(c->conn);
    }
    PQsetNoticeProcessor(c->conn, noop_notice_processor, nullptr);
    if (PQsetnonblocking(c->conn, 1) != 0) fail_broken(*c, "could not connect");

    // Session settings: bounded statements; durable commits even if the server's default
    // is synchronous_commit = off (a stronger setting such as remote_apply is kept).
    params p;
    p.text(std::to_string(statement_timeout.count())).text(std::to_string(idle_in_transaction_timeout.count()));
    exec_params(*c,
                "SELECT set_config('statement_timeout', $1, false), "
                "set_config('idle_in_transaction_session_timeout', $2, false), "
                "CASE WHEN current_setting('synchronous_commit') = 'off' "
                "THEN set_config('synchronous_commit', 'on', false) END",
                {oid_text, oid_text}, p, steady::now() + client_deadline);
    return c;
}

result pool::await(connection& c, steady::time_point deadline) const {
    PGconn* pc = c.conn;
    for (;;) {
        int f = PQflush(pc);
        if (f == 0) break;
        if (f < 0) fail_broken(c, "could not send the statement");
        if (!wait_socket(pc, true, true, deadline)) {
            c.broken = true;
            throw pg_failure("no answer within " + std::to_string(client_deadline.count() / 1000) + " s", true);
        }
        if (PQconsumeInput(pc) == 0) fail_broken(c, "could not send the statement");
    }
    result last;
    result error;
    for (;;) {
        while (PQisBusy(pc) != 0) {
            if (!wait_socket(pc, true, false, deadline)) {
                c.broken = true;
                throw pg_failure("no answer within " + std::to_string(client_deadline.count() / 1000) + " s", true);
            }
            if (PQconsumeInput(pc) == 0) fail_broken(c, "connection lost");
        }
        result r(PQgetResult(pc));
        if (!r) break;
        ExecStatusType st = PQresultStatus(r.get());
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
            fail_broken(c, "unexpected COPY state");
        }
        if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR) {
            if (!error) error = std::move(r);
        } else {
            last = std::move(r);
        }
    }
    if (error) {
        const char* state = PQresultErrorField(error.get(), PG_DIAG_SQLSTATE);
        const char* primary = PQresultErrorField(error.get(), PG_DIAG_MESSAGE_PRIMARY);
        const char* constraint = PQresultErrorField(error.get(), PG_DIAG_CONSTRAINT_NAME);
        std::string sqlstate = state != nullptr ? state : "";
        bool broken = PQstatus(pc) != CONNECTION_OK || connection_level(sqlstate);
        std::string msg = primary != nullptr ? clean(primary) : conn_message(pc);
        if (!sqlstate.empty()) msg += " (SQLSTATE " + sqlstate + ")";
        if (sqlstate == "42P01" || sqlstate == "42883" || sqlstate == "3F000") msg += "; has migrate() been run?";
        if (broken) c.broken = true;
        throw pg_failure(msg, broken, sqlstate, constraint != nullptr ? constraint : "");
    }
    if (PQstatus(pc) != CONNECTION_OK) fail_broken(c, "connection lost");
    if (!last) fail_broken(c, "no result");
    return last;
}

result pool::run(connection& c, stmt id, const params& p, steady::time_point deadline) const {
    const auto index = static_cast<std::size_t>(id);
    const statement& s = statements[index];
    if (p.size() != static_cast<int>(s.types.size())) throw std::logic_error("pg_log_store: parameter count");
    const std::uint32_t bit = 1u << index;
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
    p.bind(values, lengths, formats);
    try {
        if ((c.prepared & bit) == 0) {
            if (PQsendPrepare(c.conn, s.name.c_str(), s.sql.c_str(), static_cast<int>(s.types.size()),
                              s.types.data()) == 0) {
                fail_broken(c, "could not send the statement");
            }
            await(c, deadline);
            c.prepared |= bit;
        }
        count_statement();
        if (PQsendQueryPrepared(c.conn, s.name.c_str(), p.size(), values.data(), lengths.data(), formats.data(), 1) ==
            0) {
            fail_broken(c, "could not send the statement");
        }
    } catch (const pg_failure& e) {
        throw e.before_sending();  // preparing it failed, or libpq would not take it
    }
    return await(c, deadline);
}

result pool::exec_params(connection& c, const std::string& sql, const std::vector<Oid>& types, const params& p,
                         steady::time_point deadline) const {
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
    p.bind(values, lengths, formats);
    count_statement();
    if (PQsendQueryParams(c.conn, sql.c_str(), p.size(), types.data(), values.data(), lengths.data(), formats.data(),
                          1) == 0) {
        fail_broken(c, "could not send the statement");
    }
    return await(c, deadline);
}

result pool::exec_simple(connection& c, const std::string& sql, steady::time_point deadline) const {
    count_statement();
    if (PQsendQuery(c.conn, sql.c_str()) == 0) fail_broken(c, "could not send the statement");
    return await(c, deadline);
}

bool pool::still_alive(connection& c) {
    if (PQstatus(c.conn) != CONNECTION_OK) return false;
    int fd = PQsocket(c.conn);
    if (fd < 0) return false;
    pollfd p{};
    p.fd = fd;
    p.events = POLLIN;
    if (::poll(&p, 1, 0) > 0) {
        if (PQconsumeInput(c.conn) == 0) return false;
        if (PQstatus(c.conn) != CONNECTION_OK || PQisBusy(c.conn) != 0) return false;
    }
    return PQtransactionStatus(c.conn) == PQTRANS_IDLE;
}

std::unique_ptr<connection> pool::acquire(bool fresh, steady::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
        if (fresh && !idle.empty()) {
            std::vector<std::unique_ptr<connection>> stale;
            stale.swap(idle);
            open -= stale.size();
            lock.unlock();
            stale.clear();  // closes them
            lock.lock();
            continue;
        }
        if (!idle.empty()) {
            std::unique_ptr<connection> c = std::move(idle.back());
            idle.pop_back();
            lock.unlock();
            if (still_alive(*c)) {
                c->reused = true;
                return c;
            }
            c.reset();
            lock.lock();
            --open;
            available.notify_one();
            continue;
        }
        if (open < max_connections) {
            ++open;
            lock.unlock();
            try {
                return connect();
            } catch (...) {
                lock.lock();
                --open;
                available.notify_one();
                throw;
            }
        }
        if (available.wait_until(lock, deadline) == std::cv_status::timeout && idle.empty() &&
            open >= max_connections) {
            throw pg_failure("all " + std::to_string(max_connections) + " connections stayed busy", false);
        }
    }
}

void pool::release(std::unique_ptr<connection> c) noexcept {
    if (!c) return;
    if (!c->broken && PQstatus(c->conn) == CONNECTION_OK) {
        PGTransactionStatusType ts = PQtransactionStatus(c->conn);
        if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
            try {
                exec_simple(*c, "ROLLBACK", steady::now() + 5s);
            } catch (...) {
                c->broken = true;
            }
            ts = PQtransactionStatus(c->conn);
        }
        if (ts != PQTRANS_IDLE) c->broken = true;
    } else {
        c->broken = true;
    }
    std::unique_lock<std::mutex> lock(mutex);
    if (c->broken) {
        --open;
        lock.unlock();
        c.reset();
        lock.lock();
    } else {
        c->reused = false;
        idle.push_back(std::move(c));
    }
    available.notify_one();
}

void pool::drop_idle() noexcept {
    std::vector<std::unique_ptr<connection>> stale;
    {
        std::lock_guard<std::mutex> lock(mutex);
        stale.swap(idle);
        open -= stale.size();
    }
    available.notify_all();
}

void pool::unavailable(const char* op, const std::exception& e) {
    const std::string message = std::string("PostgreSQL log store: ") + op + " failed: " + e.what();
    if (const auto* f = dynamic_cast<const pg_failure*>(&e)) {
        if (f->refused()) throw store_refused(message);
        if (f->broken()) throw store_unreachable(message);
    }
    throw chromawal::log_unavailable(message);
}

}  // namespace chromawal::wal::pg
