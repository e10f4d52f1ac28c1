#include "wal/pg_log_store.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chromawal/error.hpp"
#include "wal/pg/failure.hpp"
#include "wal/pg/keys.hpp"
#include "wal/pg/lane_lock.hpp"
#include "wal/pg/migrations.hpp"
#include "wal/pg/pool.hpp"
#include "wal/pg/secrets.hpp"
#include "wal/pg/statements.hpp"
#include "wal/pg/wire.hpp"

namespace chromawal::wal {
namespace {

using namespace pg;  // NOLINT: the parts of this store (temporary, while splitting)
using namespace std::chrono_literals;

constexpr std::int64_t mark_applied_batch = 10000;
constexpr std::int64_t history_prune_batch = 5000;
constexpr std::size_t max_error_text = 4096;

}  // namespace

namespace {

using pool_t = pg::pool;

bool same_key(const lane_key& k, const PGresult* r, int row) {
    return k.tenant == col_bytes(r, row, 3) && k.database == col_bytes(r, row, 4) &&
           k.collection == col_bytes(r, row, 5);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

pg_log_store::pg_log_store(std::string conninfo, std::string schema, std::size_t max_connections,
                           std::chrono::milliseconds connect_timeout) {
    if (!valid_schema(schema)) {
        throw chromawal::invalid_argument(
            "PostgreSQL log store: schema name must match [a-z_][a-z0-9_]* "
            "(at most 63 characters)");
    }
    if (max_connections == 0) throw chromawal::invalid_argument("PostgreSQL log store: max_connections must be > 0");
    if (connect_timeout.count() <= 0) {
        throw chromawal::invalid_argument("PostgreSQL log store: connect_timeout must be positive");
    }
    std::vector<std::string> secrets;
    if (!conninfo.empty()) {
        char* err = nullptr;
        PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
        if (opts == nullptr) {
            // libpq's message may quote a piece of the string (a password): never pass it on.
            if (err != nullptr) PQfreemem(err);
            throw chromawal::invalid_argument(
                "PostgreSQL log store: the connection string could not be parsed (it is not repeated here)");
        }
        for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
            if (o->val != nullptr && std::strcmp(o->keyword, "password") == 0 && *o->val != '\0') {
                secrets.emplace_back(o->val);
            }
        }
        PQconninfoFree(opts);
    }
    if (const char* env = std::getenv("PGPASSWORD"); env != nullptr && *env != '\0') secrets.emplace_back(env);
    pool_ = std::make_shared<pool>(std::move(conninfo), std::move(schema), max_connections, connect_timeout);
    pool_->secrets = std::move(secrets);
}

pg_log_store::~pg_log_store() = default;

void pg_log_store::migrate() {
    pool_->with_connection("migrate", true, [&](connection& c) {
        pool& p = *pool_;
        auto deadline = statement_deadline();
        p.exec_simple(c, "BEGIN", deadline);
        params lock;
        lock.i32(migrate_lock_key).i32(fnv1a32(p.schema));
        p.exec_params(c, "SELECT pg_advisory_xact_lock($1, $2)", {oid_int4, oid_int4}, lock, deadline);

        // Check before creating: IF NOT EXISTS would still need the CREATE privilege.
        params ns;
        ns.text(p.schema);
        result r = p.exec_params(c, "SELECT 1 FROM pg_namespace WHERE nspname = $1", {oid_text}, ns, deadline);
        if (PQntuples(r.get()) == 0) p.exec_simple(c, "CREATE SCHEMA " + p.quoted_schema, deadline);
        params reg;
        reg.text(p.quoted_schema + ".schema_version");
        r = p.exec_params(c, "SELECT to_regclass($1) IS NOT NULL", {oid_text}, reg, deadline);
        if (PQntuples(r.get()) != 1 || !col_bool(r.get(), 0, 0)) {
            p.exec_simple(c,
                          in_schema("CREATE TABLE S.schema_version (version integer PRIMARY KEY, "
                                    "applied_at timestamptz NOT NULL DEFAULT now())",
                                    p.quoted_schema),
                          deadline);
        }
        r = p.exec_params(c, in_schema("SELECT COALESCE(max(version), 0) FROM S.schema_version", p.quoted_schema), {},
                          params(), deadline);
        int current = col_i32(r.get(), 0, 0);
        if (current > latest_schema_version) {
            throw pg_failure("schema " + p.quoted_schema + " is at version " + std::to_string(current) +
                                 ", newer than this library's " + std::to_string(latest_schema_version),
                             false);
        }
        for (const auto& m : migrations()) {
            if (m.version <= current) continue;
            for (const char* sql : m.statements) p.exec_simple(c, in_schema(sql, p.quoted_schema), deadline);
            params v;
            v.i32(m.version);
            p.exec_params(c, in_schema("INSERT INTO S.schema_version (version) VALUES ($1)", p.quoted_schema),
                          {oid_int4}, v, deadline);
        }
        p.exec_simple(c, "COMMIT", deadline);
    });
}

namespace {

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
std::vector<appended> append_now(const std::shared_ptr<pool_t>& pool, const std::vector<const new_entry*>& entries) {
    const std::size_t n = entries.size();
    const lane_key& first_lane = entries.front()->lane;
    const bool one_lane =
        std::all_of(entries.begin(), entries.end(), [&](const new_entry* e) { return e->lane == first_lane; });

    std::vector<std::string_view> ids;
    ids.reserve(n);
    for (const auto* e : entries) ids.emplace_back(e->idempotency_id);
    params p;
    if (one_lane) {
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
    p.array(oid_int2, entries, [](std::string& s, const new_entry* e) {
        put_u16(s, static_cast<std::uint16_t>(static_cast<std::int16_t>(e->op)));
    });
    p.array(oid_bytea, entries, [](std::string& s, const new_entry* e) { s += e->payload; });

    // One statement, hence one transaction and one round trip (two when a lane is new).
    auto run_statement = [&](connection& c) {
        std::vector<appended> out(n);
        if (one_lane) {
            result r = pool->run(c, stmt::append_one_lane, p, statement_deadline());
            if (PQntuples(r.get()) == 0) {
                // A new lane: create it (nothing was written), then append again.
                params k;
                k.text(first_lane.tenant).text(first_lane.database).text(first_lane.collection);
                pool->run(c, stmt::lane_insert, k, statement_deadline());
                r = pool->run(c, stmt::append_one_lane, p, statement_deadline());
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
        result r = pool->run(c, stmt::append, p, statement_deadline());
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
    {
        std::unique_ptr<connection> c;
        try {
            c = pool->acquire(false, statement_deadline());
        } catch (const pg_failure& e) {
            pool_t::unavailable("append", e);  // could not connect: nothing was sent
        }
        pool_t::lease l(pool, std::move(c));
        try {
            return run_append(*l);
        } catch (const pg_failure& e) {
            if (is_duplicate(e)) throw duplicate_append();
            if (!e.broken()) throw;  // the server refused it: rolled back
            l->broken = true;
            pool->drop_idle();
            first_failure = e.what();
        }
    }

    // The connection broke while the statement was on its way or running: it may or may not
    // have committed. Retry once on a fresh connection. If the first attempt committed, the retry
    // hits the unique idempotency ids (after the first attempt's lane locks are gone) and we
    // return what the first attempt wrote; otherwise the retry is the one append.
    try {
        pool_t::lease l(pool, pool->acquire(true, statement_deadline()));
        try {
            return run_append(*l);
        } catch (const pg_failure& e) {
            if (e.broken()) {
                l->broken = true;
                pool->drop_idle();
                throw;
            }
            if (!is_duplicate(e)) throw;
        }
        params q;
        q.text_array(ids);
        result r = pool->run(*l, stmt::lookup_ids, q, statement_deadline());
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
        throw chromawal::log_unavailable("PostgreSQL log store: append failed: " + first_failure +
                                         "; retry failed: " + e.what() +
                                         " (if the first attempt reached the server, the entries' idempotency ids "
                                         "show whether it committed)");
    }
}

/// The exception the caller of append() sees for the one being handled.
std::exception_ptr public_append_error() {
    try {
        throw;
    } catch (const duplicate_append&) {
        return std::make_exception_ptr(chromawal::invalid_argument(
            "PostgreSQL log store: append refused: an idempotency id is already in the log"));
    } catch (const unexpected_append_result& e) {
        return std::make_exception_ptr(chromawal::error(
            std::string("PostgreSQL log store: append: unexpected answer (the entries may be committed): ") +
            e.what()));
    } catch (const pg_failure& e) {
        return std::make_exception_ptr(
            chromawal::log_unavailable(std::string("PostgreSQL log store: append failed: ") + e.what()));
    } catch (...) {
        return std::current_exception();
    }
}

std::vector<const new_entry*> pointers(const std::vector<new_entry>& entries) {
    std::vector<const new_entry*> out;
    out.reserve(entries.size());
    for (const auto& e : entries) out.push_back(&e);
    return out;
}

}  // namespace

// Appends of one lane serialise on the lane's row lock until they commit, so concurrent
// single-lane appends from several threads would each pay a whole commit in turn. Instead,
// calls that arrive while an append of their lane is running queue up, and the first of them
// then appends the whole queue in one transaction (group commit): each call still gets
// consecutive positions, in one transaction, durable on return. If such a combined append is
// refused (a duplicate id), its calls are appended one by one, so only the offender fails.
struct pg_log_store::append_request {
    const std::vector<new_entry>* entries = nullptr;
    std::vector<appended> out;
    std::exception_ptr error;
    bool done = false;
    bool lead = false;
    std::condition_variable wake;
};

std::vector<appended> pg_log_store::append(const std::vector<new_entry>& entries) {
    if (entries.empty()) return {};
    const lane_key& lane = entries.front().lane;
    const bool one_lane =
        std::all_of(entries.begin(), entries.end(), [&](const new_entry& e) { return e.lane == lane; });
    if (!one_lane) {
        try {
            return append_now(pool_, pointers(entries));
        } catch (...) {
            std::rethrow_exception(public_append_error());
        }
    }

    std::string key = lane.tenant;
    key += '\0';
    key += lane.database;
    key += '\0';
    key += lane.collection;
    append_request self;
    self.entries = &entries;

    std::unique_lock<std::mutex> lock(append_mutex_);
    auto it = append_queues_.find(key);
    if (it == append_queues_.end()) {
        it = append_queues_.emplace(key, std::deque<append_request*>()).first;
    } else {
        it->second.push_back(&self);
        self.wake.wait(lock, [&] { return self.done || self.lead; });
        if (self.done) {
            if (self.error) std::rethrow_exception(self.error);
            return std::move(self.out);
        }
        it = append_queues_.find(key);  // still there: a lane's queue lives while it has a leader
    }

    // Leader: this call and whatever queued behind the previous round, within limits.
    constexpr std::size_t max_round_entries = 5000;
    constexpr std::size_t max_round_bytes = 8u << 20;
    std::deque<append_request*>& waiting = it->second;
    std::vector<append_request*> round;
    // However this ends, the calls of the round learn their outcome and the next waiting call
    // leads the next round (or the lane's queue goes).
    struct hand_over {
        pg_log_store& store;
        const std::string& key;
        std::deque<append_request*>& waiting;
        std::vector<append_request*>& round;
        append_request& self;
        ~hand_over() {
            std::lock_guard<std::mutex> guard(store.append_mutex_);
            for (auto* r : round) {
                if (r == &self) continue;
                if (!r->error && r->out.size() != r->entries->size()) {
                    r->error = std::make_exception_ptr(chromawal::error("PostgreSQL log store: append failed"));
                }
                r->done = true;
                r->wake.notify_one();
            }
            if (waiting.empty()) {
                store.append_queues_.erase(key);
            } else {
                append_request* next = waiting.front();
                waiting.pop_front();
                next->lead = true;
                next->wake.notify_one();
            }
        }
    };
    round.reserve(waiting.size() + 1);
    round.push_back(&self);
    std::size_t round_entries = entries.size();
    std::size_t round_bytes = 0;
    for (const auto& e : entries) round_bytes += e.payload.size();
    while (!waiting.empty()) {
        std::size_t bytes = 0;
        for (const auto& e : *waiting.front()->entries) bytes += e.payload.size();
        if (round_entries + waiting.front()->entries->size() > max_round_entries ||
            round_bytes + bytes > max_round_bytes) {
            break;
        }
        round_entries += waiting.front()->entries->size();
        round_bytes += bytes;
        round.push_back(waiting.front());
        waiting.pop_front();
    }
    lock.unlock();
    {
        hand_over done{*this, key, waiting, round, self};
        auto run_alone = [&](append_request& r) {
            try {
                r.out = append_now(pool_, pointers(*r.entries));
            } catch (...) {
                r.error = public_append_error();
            }
        };
        if (round.size() == 1) {
            run_alone(self);
        } else {
            try {
                std::vector<const new_entry*> all;
                all.reserve(round_entries);
                for (auto* r : round) {
                    for (const auto& e : *r->entries) all.push_back(&e);
                }
                bool refused = false;
                std::vector<appended> out;
                try {
                    out = append_now(pool_, all);
                } catch (const duplicate_append&) {
                    refused = true;
                } catch (const pg_failure&) {
                    refused = true;  // the server refused the statement: nothing was committed
                }
                if (refused) {
                    // Find out which call it was: each on its own.
                    for (auto* r : round) run_alone(*r);
                } else {
                    std::size_t at = 0;
                    for (auto* r : round) {
                        r->out.assign(out.begin() + static_cast<std::ptrdiff_t>(at),
                                      out.begin() + static_cast<std::ptrdiff_t>(at + r->entries->size()));
                        at += r->entries->size();
                    }
                }
            } catch (...) {
                auto error = public_append_error();  // e.g. the store is away: the same for every call
                for (auto* r : round) {
                    if (r->out.size() != r->entries->size()) r->error = error;
                }
            }
        }
    }
    if (self.error) std::rethrow_exception(self.error);
    return std::move(self.out);
}

std::int64_t pg_log_store::lane_id(const lane_key& key) {
    return pool_->with_connection("lane_id", true, [&](connection& c) {
        params p;
        p.text(key.tenant).text(key.database).text(key.collection);
        for (int attempt = 0; attempt < 3; ++attempt) {
            result r = pool_->run(c, stmt::lane_find, p, statement_deadline());
            if (PQntuples(r.get()) == 1) return col_i64(r.get(), 0, 0);
            r = pool_->run(c, stmt::lane_insert, p, statement_deadline());
            if (PQntuples(r.get()) == 1) return col_i64(r.get(), 0, 0);
            // Lost a race with a creator that committed after our statement's snapshot: look again.
        }
        throw pg_failure("the lane could neither be found nor created", false);
    });
}

namespace {

std::vector<lane_progress> progress_rows(const PGresult* r) {
    std::vector<lane_progress> out;
    int rows = PQntuples(r);
    out.reserve(static_cast<std::size_t>(rows));
    for (int i = 0; i < rows; ++i) {
        lane_progress lp;
        lp.lane_id = col_i64(r, i, 0);
        lp.key.tenant = col_bytes(r, i, 1);
        lp.key.database = col_bytes(r, i, 2);
        lp.key.collection = col_bytes(r, i, 3);
        lp.head = col_i64(r, i, 4);
        lp.applied = col_i64(r, i, 5);
        lp.oldest_unapplied_created_at = col_f64(r, i, 6);
        lp.pruned_through = col_i64(r, i, 7);
        out.push_back(std::move(lp));
    }
    return out;
}

}  // namespace

std::vector<lane_progress> pg_log_store::lanes_behind(std::string_view instance) {
    return pool_->with_connection("lanes_behind", true, [&](connection& c) {
        params p;
        p.text(instance).boolean(true);
        return progress_rows(pool_->run(c, stmt::progress, p, statement_deadline()).get());
    });
}

std::vector<lane_progress> pg_log_store::all_lanes(std::string_view instance) {
    return pool_->with_connection("all_lanes", true, [&](connection& c) {
        params p;
        p.text(instance).boolean(false);
        return progress_rows(pool_->run(c, stmt::progress, p, statement_deadline()).get());
    });
}

std::unique_ptr<lane_lock> pg_log_store::lock_lane(std::string_view instance, std::int64_t lane_id,
                                                   std::chrono::milliseconds wait) {
    return pg::take_lane_lock(pool_, instance, lane_id, wait);
}

void pg_log_store::set_state(std::int64_t lane_id, std::int64_t position, entry_state state, std::string_view error) {
    pool_->with_connection("set_state", true, [&](connection& c) {
        params p;
        p.i64(lane_id).i64(position).i16(static_cast<std::int16_t>(state));
        if (error.empty()) {
            p.null();
        } else {
            p.text(truncate_utf8(error, max_error_text));
        }
        pool_->run(c, stmt::set_state, p, statement_deadline());
    });
}

int pg_log_store::record_failure(std::int64_t lane_id, std::int64_t position, std::string_view error) {
    // Not retried: it counts.
    return pool_->with_connection("record_failure", false, [&](connection& c) {
        params p;
        p.i64(lane_id).i64(position).text(truncate_utf8(error, max_error_text));
        result r = pool_->run(c, stmt::record_failure, p, statement_deadline());
        return PQntuples(r.get()) == 1 ? static_cast<int>(col_i32(r.get(), 0, 0)) : 0;
    });
}

bool pg_log_store::abandon_if_unapplied(std::int64_t lane_id, std::int64_t position,
                                        const std::vector<std::string>& instances) {
    std::vector<std::int32_t> keys;
    keys.reserve(instances.size());
    for (const auto& i : instances) keys.push_back(instance_lock_key(pool_->schema, i));
    std::sort(keys.begin(), keys.end());  // one global order: no deadlock between two callers
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    // Not retried: a lost answer would leave the outcome unknown to the caller anyway, and a
    // retry returns true for an entry the first attempt abandoned.
    return pool_->with_connection("abandon_if_unapplied", false, [&](connection& c) {
        params p;
        p.array(oid_int4, keys, [](std::string& s, std::int32_t k) { put_u32(s, static_cast<std::uint32_t>(k)); });
        p.i32(lane_lock_key(lane_id)).i64(lane_id).i64(position).text_array(instances);
        result r = pool_->run(c, stmt::abandon, p, statement_deadline());
        return PQntuples(r.get()) == 1 && col_bool(r.get(), 0, 0);
    });
}

void pg_log_store::add_dead_letter(std::string_view instance, std::int64_t lane_id, std::int64_t position,
                                   std::string_view error) {
    pool_->with_connection("add_dead_letter", true, [&](connection& c) {
        params p;
        p.text(instance).i64(lane_id).i64(position).text(truncate_utf8(error, max_error_text));
        pool_->run(c, stmt::add_dead, p, statement_deadline());
    });
}

std::vector<dead_letter> pg_log_store::dead_letters(std::size_t limit) {
    if (limit == 0) return {};
    return pool_->with_connection("dead_letters", true, [&](connection& c) {
        params p;
        p.i64(clamp_size(limit));
        result r = pool_->run(c, stmt::list_dead, p, statement_deadline());
        std::vector<dead_letter> out;
        int rows = PQntuples(r.get());
        out.reserve(static_cast<std::size_t>(rows));
        for (int i = 0; i < rows; ++i) {
            dead_letter d;
            d.instance = col_bytes(r.get(), i, 0);
            d.lane_id = col_i64(r.get(), i, 1);
            d.position = col_i64(r.get(), i, 2);
            d.key.tenant = col_bytes(r.get(), i, 3);
            d.key.database = col_bytes(r.get(), i, 4);
            d.key.collection = col_bytes(r.get(), i, 5);
            d.op = static_cast<op_kind>(col_i16(r.get(), i, 6));
            d.error = col_bytes(r.get(), i, 7);
            d.at = col_f64(r.get(), i, 8);
            out.push_back(std::move(d));
        }
        return out;
    });
}

void pg_log_store::remove_dead_letter(std::string_view instance, std::int64_t lane_id, std::int64_t position) {
    pool_->with_connection("remove_dead_letter", true, [&](connection& c) {
        params p;
        p.text(instance).i64(lane_id).i64(position);
        pool_->run(c, stmt::remove_dead, p, statement_deadline());
    });
}

std::optional<entry> pg_log_store::read_entry(std::int64_t lane_id, std::int64_t position) {
    return pool_->with_connection("read_entry", true, [&](connection& c) -> std::optional<entry> {
        params p;
        p.i64(lane_id).i64(position);
        result r = pool_->run(c, stmt::read_entry, p, statement_deadline());
        if (PQntuples(r.get()) == 0) return std::nullopt;
        return entry_from_row(r.get(), 0, lane_id);
    });
}

std::int64_t pg_log_store::mark_applied(const std::vector<std::string>& instances) {
    if (instances.empty()) return 0;
    std::int64_t total = 0;
    for (;;) {
        // One short transaction per batch: no long row locks, no huge WAL record.
        std::int64_t n = pool_->with_connection("mark_applied", true, [&](connection& c) {
            params p;
            p.text_array(instances).i64(mark_applied_batch);
            result r = pool_->run(c, stmt::mark_applied, p, statement_deadline());
            const char* tuples = PQcmdTuples(r.get());
            return tuples != nullptr && *tuples != '\0' ? std::strtoll(tuples, nullptr, 10) : 0LL;
        });
        total += n;
        if (n < mark_applied_batch) return total;
    }
}

log_counts pg_log_store::counts() {
    return pool_->with_connection("counts", true, [&](connection& c) {
        result r = pool_->run(c, stmt::counts, params(), statement_deadline());
        log_counts out;
        if (PQntuples(r.get()) == 1) {
            out.pending = col_i64(r.get(), 0, 0);
            out.applied = col_i64(r.get(), 0, 1);
            out.rejected = col_i64(r.get(), 0, 2);
            out.abandoned = col_i64(r.get(), 0, 3);
            out.dead = col_i64(r.get(), 0, 4);
            out.oldest_pending_created_at = col_f64(r.get(), 0, 5);
        }
        return out;
    });
}

std::int64_t pg_log_store::prune(std::chrono::milliseconds older_than, std::size_t batch_size) {
    const std::int64_t age_ms = std::max<std::int64_t>(0, older_than.count());
    const std::int64_t batch = std::max<std::int64_t>(1, clamp_size(batch_size));
    std::vector<std::int64_t> lanes = pool_->with_connection("prune", true, [&](connection& c) {
        params p;
        p.i64(age_ms);
        result r = pool_->run(c, stmt::prune_lanes, p, statement_deadline());
        std::vector<std::int64_t> out;
        for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(col_i64(r.get(), i, 0));
        return out;
    });
    std::int64_t total = 0;
    for (std::int64_t lane : lanes) {
        for (;;) {
            // One short transaction per batch; retried on a dead idle connection (deleting
            // again what is already gone is harmless).
            std::int64_t n = pool_->with_connection("prune", true, [&](connection& c) {
                params p;
                p.i64(lane).i64(age_ms).i64(batch);
                result r = pool_->run(c, stmt::prune_lane, p, statement_deadline());
                return PQntuples(r.get()) == 1 ? col_i64(r.get(), 0, 0) : std::int64_t{0};
            });
            total += n;
            if (n < batch) break;
        }
    }
    for (;;) {
        auto [deleted, seen] = pool_->with_connection("prune", true, [&](connection& c) {
            params p;
            p.i64(age_ms).i64(history_prune_batch);
            result r = pool_->run(c, stmt::prune_history, p, statement_deadline());
            return PQntuples(r.get()) == 1 ? std::make_pair(col_i64(r.get(), 0, 0), col_i64(r.get(), 0, 1))
                                           : std::make_pair(std::int64_t{0}, std::int64_t{0});
        });
        // Rows are in time order: stop at the first batch that kept a row (or was short).
        if (deleted < seen || seen < history_prune_batch) break;
    }
    return total;
}

void pg_log_store::set_record_apply_history(bool on) { pool_->record_history.store(on); }

std::vector<apply_step> pg_log_store::apply_history(std::string_view instance, std::int64_t lane_id) {
    return pool_->with_connection("apply_history", true, [&](connection& c) {
        params p;
        p.text(instance).i64(lane_id);
        result r = pool_->run(c, stmt::history, p, statement_deadline());
        std::vector<apply_step> out;
        const int rows = PQntuples(r.get());
        out.reserve(static_cast<std::size_t>(rows));
        for (int i = 0; i < rows; ++i) {
            apply_step a;
            a.from = col_i64(r.get(), i, 0);
            a.to = col_i64(r.get(), i, 1);
            a.skipped = col_bool(r.get(), i, 2);
            a.at = col_f64(r.get(), i, 3);
            out.push_back(a);
        }
        return out;
    });
}

}  // namespace chromawal::wal
