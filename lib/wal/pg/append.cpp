#include "wal/pg/append.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chromawal/error.hpp"
#include "wal/pg/failure.hpp"
#include "wal/pg/pool.hpp"
#include "wal/pg/statements.hpp"
#include "wal/pg/wire.hpp"

namespace chromawal::wal::pg {
namespace {

bool same_key(const lane_key& k, const PGresult* r, int row) {
    return k.tenant == col_bytes(r, row, 3) && k.database == col_bytes(r, row, 4) &&
           k.collection == col_bytes(r, row, 5);
}

/// The append statement ran, but its answer made no sense: the entries may be committed.
class unexpected_append_result : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// An idempotency id is already in the log (from another append): nothing was committed.
class duplicate_append : public std::runtime_error {
public:
    duplicate_append() : std::runtime_error("an idempotency id is already in the log") {}
};

bool is_duplicate(const pg_failure& e) {
    return e.sqlstate() == "23505" && e.constraint() == "entries_idempotency_id_key";
}

/// One append transaction for `entries`. Throws duplicate_append, pg_failure (the server
/// refused the statement: nothing committed) or chromawal::log_unavailable.
std::vector<appended> append_now(const std::shared_ptr<pool>& shared, const std::vector<const new_entry*>& entries) {
    const std::size_t n = entries.size();
    const lane_key& first_lane = entries.front()->lane;
    const bool one_lane =
        std::all_of(entries.begin(), entries.end(), [&](const new_entry* e) { return e->lane == first_lane; });
    const bool rename = !entries.front()->rename_to.empty();
    if (std::any_of(entries.begin(), entries.end(), [](const new_entry* e) { return !e->rename_to.empty(); }) &&
        n != 1) {
        throw chromawal::invalid_argument("PostgreSQL log store: append refused: a rename must be appended alone");
    }

    std::vector<std::string_view> ids;
    ids.reserve(n);
    for (const auto* e : entries) ids.emplace_back(e->idempotency_id);
    params p;
    if (rename) {
        const new_entry& e = *entries.front();
        p.text(e.lane.tenant).text(e.lane.database).text(e.lane.collection).text(e.idempotency_id);
        p.i16(static_cast<std::int16_t>(e.op)).bytes(e.payload).text(e.rename_to);
    } else if (one_lane) {
        p.text(first_lane.tenant).text(first_lane.database).text(first_lane.collection).text_array(ids);
    } else {
        std::vector<std::string_view> tenants, databases, collections;
        tenants.reserve(n);
        databases.reserve(n);
        collections.reserve(n);
        for (const auto* e : entries) {
            tenants.emplace_back(e->lane.tenant);
            databases.emplace_back(e->lane.database);
            collections.emplace_back(e->lane.collection);
        }
        p.text_array(tenants).text_array(databases).text_array(collections).text_array(ids);
    }
    if (!rename) {
        p.array(oid_int2, entries, [](std::string& s, const new_entry* e) {
            put_u16(s, static_cast<std::uint16_t>(static_cast<std::int16_t>(e->op)));
        });
        p.array(oid_bytea, entries, [](std::string& s, const new_entry* e) { s += e->payload; });
    }

    // One statement, hence one transaction and one round trip (more when a lane is new).
    auto run_statement = [&](connection& c) {
        std::vector<appended> out(n);
        if (rename) {
            result r = shared->run(c, stmt::append_rename, p, statement_deadline());
            if (PQntuples(r.get()) != 1) throw pg_failure("append_rename returned no row", false);
            out[0] = appended{col_i64(r.get(), 0, 0), col_i64(r.get(), 0, 1)};
            return out;
        }
        if (one_lane) {
            result r = shared->run(c, stmt::append_one_lane, p, statement_deadline());
            // No lane holds the name: claim one (nothing was written), then append again. A
            // rename that commits in between can move the name once more: a few tries.
            for (int attempt = 0; attempt < 3 && PQntuples(r.get()) == 0; ++attempt) {
                params k;
                k.text(first_lane.tenant).text(first_lane.database).text(first_lane.collection);
                shared->run(c, stmt::claim_lane, k, statement_deadline());
                r = shared->run(c, stmt::append_one_lane, p, statement_deadline());
            }
            if (PQntuples(r.get()) != static_cast<int>(n)) {
                throw pg_failure("append wrote " + std::to_string(PQntuples(r.get())) + " rows for " +
                                     std::to_string(n) + " entries",
                                 false);
            }
            const std::int64_t lane = col_i64(r.get(), 0, 0);
            std::int64_t first = std::numeric_limits<std::int64_t>::max();
            for (int i = 0; i < static_cast<int>(n); ++i) first = std::min(first, col_i64(r.get(), i, 1));
            // The statement numbers the entries first, first + 1, ... in the order given.
            for (std::size_t i = 0; i < n; ++i) out[i] = appended{lane, first + static_cast<std::int64_t>(i)};
            return out;
        }
        result r = shared->run(c, stmt::append, p, statement_deadline());
        if (PQntuples(r.get()) != static_cast<int>(n)) {
            throw pg_failure("append_entries returned " + std::to_string(PQntuples(r.get())) + " rows for " +
                                 std::to_string(n) + " entries",
                             false);
        }
        for (int i = 0; i < static_cast<int>(n); ++i) {
            auto ord = col_i32(r.get(), i, 0);
            if (ord < 1 || ord > static_cast<int>(n)) throw pg_failure("append_entries: bad ordinal", false);
            out[static_cast<std::size_t>(ord - 1)] = appended{col_i64(r.get(), i, 1), col_i64(r.get(), i, 2)};
        }
        return out;
    };

    // A result that cannot be read comes after the commit: never "refused".
    auto run_append = [&](connection& c) {
        try {
            return run_statement(c);
        } catch (const pg_failure& e) {
            if (e.sqlstate().empty() && !e.broken()) throw unexpected_append_result(e.what());
            throw;
        }
    };

    std::string first_failure;
    bool maybe_committed = false;
    {
        std::unique_ptr<connection> c;
        try {
            c = shared->acquire(false, statement_deadline());
        } catch (const pg_failure& e) {
            pool::unavailable("append", e);  // could not connect: nothing was sent
        }
        pool::lease l(shared, std::move(c));
        try {
            return run_append(*l);
        } catch (const pg_failure& e) {
            if (is_duplicate(e)) throw duplicate_append();
            if (!e.broken()) throw;  // the server refused it: rolled back
            l->broken = true;
            shared->drop_idle();
            first_failure = e.what();
            maybe_committed = e.statement_sent();
        }
    }

    // The connection broke while the statement was on its way or running: it may or may not
    // have committed. Retry once on a fresh connection. If the first attempt committed, the retry
    // hits the unique idempotency ids (after the first attempt's lane locks are gone) and we
    // return what the first attempt wrote; otherwise the retry is the one append.
    try {
        pool::lease l(shared, shared->acquire(true, statement_deadline()));
        try {
            return run_append(*l);
        } catch (const pg_failure& e) {
            if (e.broken()) {
                l->broken = true;
                shared->drop_idle();
                throw;
            }
            if (!is_duplicate(e)) throw;
        }
        params q;
        q.text_array(ids);
        result r = shared->run(*l, stmt::lookup_ids, q, statement_deadline());
        std::vector<appended> out(n);
        std::size_t matched = 0;
        int rows = PQntuples(r.get());
        for (std::size_t i = 0; i < n; ++i) {
            for (int row = 0; row < rows; ++row) {
                if (col_bytes(r.get(), row, 0) != entries[i]->idempotency_id) continue;
                if (same_key(entries[i]->lane, r.get(), row) &&
                    col_i16(r.get(), row, 6) == static_cast<std::int16_t>(entries[i]->op) &&
                    col_bytes(r.get(), row, 7) == entries[i]->payload) {
                    out[i] = appended{col_i64(r.get(), row, 1), col_i64(r.get(), row, 2)};
                    ++matched;
                }
                break;
            }
        }
        if (matched != n) throw duplicate_append();
        return out;
    } catch (const pg_failure& e) {
        if (!maybe_committed) {
            throw chromawal::log_unavailable("PostgreSQL log store: append failed: " + first_failure +
                                             "; retry failed: " + e.what());
        }
        // The first attempt may have committed, and the store cannot be asked: in doubt.
        throw chromawal::outcome_unknown("PostgreSQL log store: the connection broke during the append (" +
                                             first_failure +
                                             ") and the store could not be asked whether it "
                                             "committed (" +
                                             e.what() + ")",
                                         entries.front()->idempotency_id);
    }
}

/// The exception the caller of append() sees for `error`.
std::exception_ptr public_append_error(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const duplicate_append&) {
        return std::make_exception_ptr(chromawal::invalid_argument(
            "PostgreSQL log store: append refused: an idempotency id is already in the log"));
    } catch (const unexpected_append_result& e) {
        return std::make_exception_ptr(chromawal::outcome_unknown(
            std::string("PostgreSQL log store: append: unexpected answer (the entries may be committed): ") + e.what(),
            {}));
    } catch (const pg_failure& e) {
        return std::make_exception_ptr(
            chromawal::log_unavailable(std::string("PostgreSQL log store: append failed: ") + e.what()));
    } catch (...) {
        return error;
    }
}

class pg_append final : public append_backend {
public:
    explicit pg_append(std::shared_ptr<pool> shared) : pool_(std::move(shared)) {}

    std::vector<appended> append_now(const std::vector<const new_entry*>& entries) override {
        return pg::append_now(pool_, entries);
    }

    bool refused(const std::exception_ptr& error) const override {
        try {
            std::rethrow_exception(error);
        } catch (const duplicate_append&) {
            return true;
        } catch (const pg_failure&) {
            return true;  // the server refused the statement: nothing was committed
        } catch (...) {
            return false;
        }
    }

    std::exception_ptr public_error(const std::exception_ptr& error) const override {
        return public_append_error(error);
    }

private:
    std::shared_ptr<pool> pool_;
};

}  // namespace

std::unique_ptr<append_backend> make_append_backend(std::shared_ptr<pool> shared) {
    return std::make_unique<pg_append>(std::move(shared));
}

}  // namespace chromawal::wal::pg
