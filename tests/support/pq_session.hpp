// Test support: a raw libpq session, for tests that look at (or interfere with) the log's
// tables from the outside, as another application sharing the database would.
//
// Header-only, so that only the targets that use it need libpq. Not thread-safe: one session
// per thread. Every failure throws std::runtime_error with the server's message.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace chromawal_test {

class pq_session {
public:
    explicit pq_session(const std::string& conninfo) : c_(PQconnectdb(conninfo.c_str())) {
        if (PQstatus(c_) != CONNECTION_OK) {
            const std::string message = c_ ? PQerrorMessage(c_) : "out of memory";
            PQfinish(c_);
            throw std::runtime_error("pq_session: could not connect: " + message);
        }
    }
    ~pq_session() { PQfinish(c_); }
    pq_session(const pq_session&) = delete;
    pq_session& operator=(const pq_session&) = delete;

    /// Runs one or more statements; returns the first column of the first row of the last
    /// one's result ("" when it has none). Throws on error.
    std::string exec(const std::string& sql) {
        std::unique_ptr<PGresult, decltype(&PQclear)> r(run(sql), &PQclear);
        return PQntuples(r.get()) > 0 && PQnfields(r.get()) > 0 ? PQgetvalue(r.get(), 0, 0) : "";
    }

    /// Every row of the result, each as its columns' text (NULL as "").
    std::vector<std::vector<std::string>> rows(const std::string& sql) {
        std::unique_ptr<PGresult, decltype(&PQclear)> r(run(sql), &PQclear);
        std::vector<std::vector<std::string>> out;
        for (int i = 0; i < PQntuples(r.get()); ++i) {
            std::vector<std::string> row;
            for (int j = 0; j < PQnfields(r.get()); ++j) row.emplace_back(PQgetvalue(r.get(), i, j));
            out.push_back(std::move(row));
        }
        return out;
    }

    /// The first column of every row.
    std::vector<std::string> column(const std::string& sql) {
        std::vector<std::string> out;
        for (auto& row : rows(sql)) out.push_back(row.empty() ? std::string() : std::move(row[0]));
        return out;
    }

    /// The first column of the first row; throws when there is no row.
    std::string value(const std::string& sql) {
        auto c = column(sql);
        if (c.empty()) throw std::runtime_error("pq_session: no row from: " + sql);
        return c.front();
    }

    long long integer(const std::string& sql) { return std::stoll(value(sql)); }

    /// Idle, in a transaction, in a failed transaction, ...
    PGTransactionStatusType transaction_status() const { return PQtransactionStatus(c_); }
    int backend_pid() const { return PQbackendPID(c_); }
    /// The connection itself, for a test that drives libpq directly.
    PGconn* get() const { return c_; }

private:
    PGresult* run(const std::string& sql) {
        PGresult* r = PQexec(c_, sql.c_str());
        const ExecStatusType st = PQresultStatus(r);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            const std::string message = PQresultErrorMessage(r);
            PQclear(r);
            throw std::runtime_error("pq_session: `" + sql + "` failed: " + message);
        }
        return r;
    }

    PGconn* c_;
};

}  // namespace chromawal_test
