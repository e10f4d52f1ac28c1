#include "wal/pg_log_store.hpp"

// The PostgreSQL log store: its constructor and its queries, each one or a few statements of
// pg/statements.hpp on a pooled connection. The parts are in pg/: wire format, keys,
// statements, migrations, pool, lane lock, append (with ../group_commit), secrets.

#include <fmt/format.h>
#include <libpq-fe.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chromawal/error.hpp"
#include "wal/group_commit.hpp"
#include "wal/pg/append.hpp"
#include "wal/pg/failure.hpp"
#include "wal/pg/keys.hpp"
#include "wal/pg/lane_lock.hpp"
#include "wal/pg/messages.hpp"
#include "wal/pg/migrations.hpp"
#include "wal/pg/pool.hpp"
#include "wal/pg/statements.hpp"
#include "wal/pg/wire.hpp"

namespace chromawal::wal {

using pg::clamp_size;
using pg::col_bool;
using pg::col_bytes;
using pg::col_f64;
using pg::col_i16;
using pg::col_i32;
using pg::col_i64;
using pg::connection;
using pg::entry_from_row;
using pg::params;
using pg::pg_failure;
using pg::pool;
using pg::result;
using pg::statement_deadline;
using pg::stmt;
using pg::truncate_utf8;

namespace {

constexpr std::int64_t mark_applied_batch = 10000;
constexpr std::int64_t history_prune_batch = 5000;
constexpr std::size_t max_error_text = 4096;

}  // namespace

// ---------------------------------------------------------------------------------------------

pg_log_store::pg_log_store(std::string conninfo, std::string schema, std::size_t max_connections,
                           std::chrono::milliseconds connect_timeout) {
    if (!pg::valid_schema(schema)) {
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
    group_commit_ = std::make_unique<group_commit>(pg::make_append_backend(pool_), "PostgreSQL log store");
}

pg_log_store::~pg_log_store() = default;

void pg_log_store::migrate() {
    pool_->with_connection("migrate", true, [&](connection& c) {
        pool& p = *pool_;
        auto deadline = statement_deadline();
        p.exec_simple(c, "BEGIN", deadline);
        params lock;
        lock.i32(pg::migrate_lock_key).i32(pg::fnv1a32(p.schema));
        p.exec_params(c, "SELECT pg_advisory_xact_lock($1, $2)", {pg::oid_int4, pg::oid_int4}, lock, deadline);

        // Check before creating: IF NOT EXISTS would still need the CREATE privilege.
        params ns;
        ns.text(p.schema);
        result r = p.exec_params(c, "SELECT 1 FROM pg_namespace WHERE nspname = $1", {pg::oid_text}, ns, deadline);
        if (PQntuples(r.get()) == 0) p.exec_simple(c, "CREATE SCHEMA " + p.quoted_schema, deadline);
        params reg;
        reg.text(p.quoted_schema + ".schema_version");
        r = p.exec_params(c, "SELECT to_regclass($1) IS NOT NULL", {pg::oid_text}, reg, deadline);
        if (PQntuples(r.get()) != 1 || !col_bool(r.get(), 0, 0)) {
            p.exec_simple(c,
                          pg::in_schema("CREATE TABLE S.schema_version (version integer PRIMARY KEY, "
                                        "applied_at timestamptz NOT NULL DEFAULT now())",
                                        p.quoted_schema),
                          deadline);
        }
        r = p.exec_params(c, pg::in_schema("SELECT COALESCE(max(version), 0) FROM S.schema_version", p.quoted_schema),
                          {}, params(), deadline);
        int current = col_i32(r.get(), 0, 0);
        if (current > pg::latest_schema_version) {
            throw pg_failure("schema " + p.quoted_schema + " is at version " + std::to_string(current) +
                                 ", newer than this library's " + std::to_string(pg::latest_schema_version),
                             false);
        }
        for (const auto& m : pg::migrations()) {
            if (m.version <= current) continue;
            for (const char* sql : m.statements) p.exec_simple(c, pg::in_schema(sql, p.quoted_schema), deadline);
            params v;
            v.i32(m.version);
            p.exec_params(c, pg::in_schema("INSERT INTO S.schema_version (version) VALUES ($1)", p.quoted_schema),
                          {pg::oid_int4}, v, deadline);
        }
        p.exec_simple(c, "COMMIT", deadline);
    });
}

log_identity pg_log_store::identity() {
    {
        std::lock_guard<std::mutex> lock(identity_mutex_);
        if (!identity_.id.empty()) return identity_;
    }
    log_identity out = pool_->with_connection("identity", true, [&](connection& c) {
        result r = pool_->exec_params(c, pg::in_schema("SELECT id FROM S.log_identity LIMIT 1", pool_->quoted_schema),
                                      {}, params(), statement_deadline());
        if (PQntuples(r.get()) != 1) throw pg_failure("the log has no identity row (schema not migrated)", false);
        log_identity id;
        id.id = col_bytes(r.get(), 0, 0);
        const char* host = PQhost(c.conn);
        const char* port = PQport(c.conn);
        const char* db = PQdb(c.conn);
        id.description = fmt::format("postgresql://{}:{}/{}, schema {}", host != nullptr ? host : "",
                                     port != nullptr ? port : "", db != nullptr ? db : "", pool_->schema);
        return id;
    });
    std::lock_guard<std::mutex> lock(identity_mutex_);
    identity_ = out;
    return out;
}

// Copying (wal/log_copy.hpp). Plain SQL: it runs once per move, not per write.
log_rows pg_log_store::export_rows() {
    return pool_->with_connection("export_rows", true, [&](connection& c) {
        pool& p = *pool_;
        const std::string& q = p.quoted_schema;
        log_rows out;
        // One snapshot for all four reads.
        p.exec_simple(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", statement_deadline());
        try {
            result r = p.exec_params(
                c,
                pg::in_schema("SELECT lane_id, tenant, database, collection, first_name, holds_name, next_position, "
                              "pruned_through, COALESCE(after_lane, 0), COALESCE(after_position, 0), "
                              "extract(epoch FROM created_at)::float8 FROM S.lanes ORDER BY lane_id",
                              q),
                {}, params(), statement_deadline());
            for (int i = 0; i < PQntuples(r.get()); ++i) {
                lane_row l;
                l.lane_id = col_i64(r.get(), i, 0);
                l.key = {col_bytes(r.get(), i, 1), col_bytes(r.get(), i, 2), col_bytes(r.get(), i, 3)};
                l.first_name = col_bytes(r.get(), i, 4);
                l.holds_name = col_bool(r.get(), i, 5);
                l.next_position = col_i64(r.get(), i, 6);
                l.pruned_through = col_i64(r.get(), i, 7);
                l.after_lane = col_i64(r.get(), i, 8);
                l.after_position = col_i64(r.get(), i, 9);
                l.created_at = col_f64(r.get(), i, 10);
                out.lanes.push_back(std::move(l));
            }
            r = p.exec_params(
                c,
                pg::in_schema("SELECT tenant, database, collection, lane_id, position FROM S.name_releases "
                              "ORDER BY tenant, database, collection",
                              q),
                {}, params(), statement_deadline());
            for (int i = 0; i < PQntuples(r.get()); ++i) {
                name_release_row n;
                n.key = {col_bytes(r.get(), i, 0), col_bytes(r.get(), i, 1), col_bytes(r.get(), i, 2)};
                n.lane_id = col_i64(r.get(), i, 3);
                n.position = col_i64(r.get(), i, 4);
                out.name_releases.push_back(std::move(n));
            }
            r = p.exec_params(c,
                              pg::in_schema("SELECT instance, lane_id, applied_position, "
                                            "extract(epoch FROM updated_at)::float8 FROM S.instance_positions "
                                            "ORDER BY instance, lane_id",
                                            q),
                              {}, params(), statement_deadline());
            for (int i = 0; i < PQntuples(r.get()); ++i) {
                position_row w;
                w.instance = col_bytes(r.get(), i, 0);
                w.lane_id = col_i64(r.get(), i, 1);
                w.applied_position = col_i64(r.get(), i, 2);
                w.updated_at = col_f64(r.get(), i, 3);
                out.positions.push_back(std::move(w));
            }
            r = p.exec_params(c,
                              pg::in_schema("SELECT instance, lane_id, position, error, extract(epoch FROM at)::float8 "
                                            "FROM S.dead_letters ORDER BY instance, lane_id, position",
                                            q),
                              {}, params(), statement_deadline());
            for (int i = 0; i < PQntuples(r.get()); ++i) {
                dead_letter_row d;
                d.instance = col_bytes(r.get(), i, 0);
                d.lane_id = col_i64(r.get(), i, 1);
                d.position = col_i64(r.get(), i, 2);
                d.error = col_bytes(r.get(), i, 3);
                d.at = col_f64(r.get(), i, 4);
                out.dead_letters.push_back(std::move(d));
            }
        } catch (...) {
            try {
                p.exec_simple(c, "ROLLBACK", statement_deadline());
            } catch (...) {
            }
            throw;
        }
        p.exec_simple(c, "COMMIT", statement_deadline());
        return out;
    });
}

std::vector<entry_row> pg_log_store::export_entries(std::int64_t after_lane, std::int64_t after_position,
                                                    std::size_t max_entries, std::size_t max_bytes) {
    return pool_->with_connection("export_entries", true, [&](connection& c) {
        params p;
        p.i64(after_lane).i64(after_position).i64(clamp_size(std::max<std::size_t>(max_entries, 1)));
        result r = pool_->exec_params(
            c,
            pg::in_schema("SELECT e.lane_id, e.position, e.idempotency_id, e.op, e.payload, e.state, e.attempts, "
                          "e.last_error, e.last_error IS NOT NULL, COALESCE(e.collection, l.first_name), "
                          "COALESCE(e.after_lane, 0), COALESCE(e.after_position, 0), "
                          "extract(epoch FROM e.created_at)::float8, extract(epoch FROM e.updated_at)::float8 "
                          "FROM S.entries e JOIN S.lanes l ON l.lane_id = e.lane_id "
                          "WHERE (e.lane_id, e.position) > ($1, $2) ORDER BY e.lane_id, e.position LIMIT $3",
                          pool_->quoted_schema),
            {pg::oid_int8, pg::oid_int8, pg::oid_int8}, p, statement_deadline());
        std::vector<entry_row> out;
        std::size_t bytes = 0;
        for (int i = 0; i < PQntuples(r.get()) && (out.empty() || bytes < max_bytes); ++i) {
            entry_row e;
            e.lane_id = col_i64(r.get(), i, 0);
            e.position = col_i64(r.get(), i, 1);
            e.idempotency_id = col_bytes(r.get(), i, 2);
            e.op = col_i16(r.get(), i, 3);
            e.payload = col_bytes(r.get(), i, 4);
            e.state = col_i16(r.get(), i, 5);
            e.attempts = col_i32(r.get(), i, 6);
            e.last_error = col_bytes(r.get(), i, 7);
            e.has_error = col_bool(r.get(), i, 8);
            e.collection = col_bytes(r.get(), i, 9);
            e.after_lane = col_i64(r.get(), i, 10);
            e.after_position = col_i64(r.get(), i, 11);
            e.created_at = col_f64(r.get(), i, 12);
            e.updated_at = col_f64(r.get(), i, 13);
            bytes += e.payload.size();
            out.push_back(std::move(e));
        }
        return out;
    });
}

void pg_log_store::import_rows(const log_rows& rows, import_step step, const std::string& log_id) {
    pool_->with_connection("import_rows", false, [&](connection& c) {
        pool& p = *pool_;
        const std::string& q = p.quoted_schema;
        auto sql = [&](const char* text) { return pg::in_schema(text, q); };
        p.exec_simple(c, "BEGIN", statement_deadline());
        try {
            if (step == import_step::begin) {
                result r = p.exec_params(c,
                                         sql("SELECT (SELECT count(*) FROM S.lanes) + (SELECT count(*) FROM S.entries) "
                                             "+ (SELECT count(*) FROM S.instance_positions)"),
                                         {}, params(), statement_deadline());
                if (col_i64(r.get(), 0, 0) != 0) {
                    throw chromawal::invalid_argument("the target log (schema " + q +
                                                      ") is not empty: copy into a new, empty log");
                }
                // Until finish: a half-done copy is no usable log.
                p.exec_simple(c, sql("DELETE FROM S.log_identity"), statement_deadline());
                for (const auto& l : rows.lanes) {
                    params a;
                    a.i64(l.lane_id).text(l.key.tenant).text(l.key.database).text(l.key.collection).text(l.first_name);
                    a.boolean(l.holds_name).i64(l.next_position).i64(l.pruned_through).i64(l.after_lane);
                    a.i64(l.after_position).f64(l.created_at);
                    p.exec_params(c,
                                  sql("INSERT INTO S.lanes (lane_id, tenant, database, collection, first_name, "
                                      "holds_name, next_position, pruned_through, after_lane, after_position, "
                                      "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULLIF($9, 0), "
                                      "NULLIF($10, 0), to_timestamp($11))"),
                                  {pg::oid_int8, pg::oid_text, pg::oid_text, pg::oid_text, pg::oid_text, pg::oid_bool,
                                   pg::oid_int8, pg::oid_int8, pg::oid_int8, pg::oid_int8, pg::oid_float8},
                                  a, statement_deadline());
                }
                p.exec_simple(c,
                              sql("SELECT setval(pg_get_serial_sequence('S.lanes', 'lane_id'), "
                                  "GREATEST((SELECT max(lane_id) FROM S.lanes), 1))"),
                              statement_deadline());
                for (const auto& n : rows.name_releases) {
                    params a;
                    a.text(n.key.tenant).text(n.key.database).text(n.key.collection).i64(n.lane_id).i64(n.position);
                    p.exec_params(c,
                                  sql("INSERT INTO S.name_releases (tenant, database, collection, lane_id, position) "
                                      "VALUES ($1, $2, $3, $4, $5)"),
                                  {pg::oid_text, pg::oid_text, pg::oid_text, pg::oid_int8, pg::oid_int8}, a,
                                  statement_deadline());
                }
            } else if (step == import_step::entries) {
                for (const auto& e : rows.entries) {
                    params a;
                    a.i64(e.lane_id).i64(e.position).text(e.idempotency_id).i16(e.op).bytes(e.payload).i16(e.state);
                    a.i32(e.attempts);
                    if (e.has_error) {
                        a.text(e.last_error);
                    } else {
                        a.null();
                    }
                    a.text(e.collection).i64(e.after_lane).i64(e.after_position).f64(e.created_at).f64(e.updated_at);
                    p.exec_params(c,
                                  sql("INSERT INTO S.entries (lane_id, position, idempotency_id, op, payload, state, "
                                      "attempts, last_error, collection, after_lane, after_position, created_at, "
                                      "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULLIF($10, 0), "
                                      "NULLIF($11, 0), to_timestamp($12), to_timestamp($13))"),
                                  {pg::oid_int8, pg::oid_int8, pg::oid_text, pg::oid_int2, pg::oid_bytea, pg::oid_int2,
                                   pg::oid_int4, pg::oid_text, pg::oid_text, pg::oid_int8, pg::oid_int8, pg::oid_float8,
                                   pg::oid_float8},
                                  a, statement_deadline());
                }
            } else {
                for (const auto& w : rows.positions) {
                    params a;
                    a.text(w.instance).i64(w.lane_id).i64(w.applied_position).f64(w.updated_at);
                    p.exec_params(c,
                                  sql("INSERT INTO S.instance_positions (instance, lane_id, applied_position, "
                                      "updated_at) VALUES ($1, $2, $3, to_timestamp($4))"),
                                  {pg::oid_text, pg::oid_int8, pg::oid_int8, pg::oid_float8}, a, statement_deadline());
                }
                for (const auto& d : rows.dead_letters) {
                    params a;
                    a.text(d.instance).i64(d.lane_id).i64(d.position).text(d.error).f64(d.at);
                    p.exec_params(c,
                                  sql("INSERT INTO S.dead_letters (instance, lane_id, position, error, at) "
                                      "VALUES ($1, $2, $3, $4, to_timestamp($5))"),
                                  {pg::oid_text, pg::oid_int8, pg::oid_int8, pg::oid_text, pg::oid_float8}, a,
                                  statement_deadline());
                }
                params a;
                a.text(log_id);
                p.exec_params(c, sql("INSERT INTO S.log_identity (id) VALUES ($1)"), {pg::oid_text}, a,
                              statement_deadline());
            }
        } catch (...) {
            try {
                p.exec_simple(c, "ROLLBACK", statement_deadline());
            } catch (...) {
            }
            throw;
        }
        p.exec_simple(c, "COMMIT", statement_deadline());
    });
    if (step == import_step::finish) {
        std::lock_guard<std::mutex> lock(identity_mutex_);
        identity_ = {};
    }
}

std::vector<appended> pg_log_store::append(const std::vector<new_entry>& entries) {
    return group_commit_->append(entries);
}

std::size_t pg_log_store::queued_appends() const { return group_commit_->queued(); }

std::uint64_t pg_log_store::statements_run() const { return pool_->statements_run.load(std::memory_order_relaxed); }

std::uint64_t pg_log_store::statements_run_in_process() { return pg::pool::statements_run_in_process(); }

std::int64_t pg_log_store::lane_id(const lane_key& key) {
    return pool_->with_connection("lane_id", true, [&](connection& c) {
        params p;
        p.text(key.tenant).text(key.database).text(key.collection);
        // Creating a lane takes the name's lock (see claim_lane): concurrent callers get one lane.
        result r = pool_->run(c, stmt::claim_lane, p, statement_deadline());
        if (PQntuples(r.get()) != 1) throw pg_failure("the lane could neither be found nor created", false);
        return col_i64(r.get(), 0, 0);
    });
}

namespace {

lane_progress progress_row(const PGresult* r, int i) {
    lane_progress lp;
    lp.lane_id = col_i64(r, i, 0);
    lp.key.tenant = col_bytes(r, i, 1);
    lp.key.database = col_bytes(r, i, 2);
    lp.key.collection = col_bytes(r, i, 3);
    lp.head = col_i64(r, i, 4);
    lp.applied = col_i64(r, i, 5);
    lp.oldest_unapplied_created_at = col_f64(r, i, 6);
    lp.pruned_through = col_i64(r, i, 7);
    lp.holds_name = col_bool(r, i, 8);
    return lp;
}

std::vector<lane_progress> progress_rows(const PGresult* r) {
    std::vector<lane_progress> out;
    int rows = PQntuples(r);
    out.reserve(static_cast<std::size_t>(rows));
    for (int i = 0; i < rows; ++i) out.push_back(progress_row(r, i));
    return out;
}

}  // namespace

std::vector<std::vector<lane_progress>> pg_log_store::lanes_behind(const std::vector<std::string>& instances) {
    return pool_->with_connection("lanes_behind", true, [&](connection& c) {
        std::vector<std::vector<lane_progress>> out(instances.size());
        if (instances.empty()) return out;
        params p;
        p.text_array(instances);
        result res = pool_->run(c, stmt::progress_many, p, statement_deadline());
        const PGresult* r = res.get();
        for (int i = 0, rows = PQntuples(r); i < rows; ++i) {
            const std::int64_t n = col_i64(r, i, 9);
            if (n < 1 || n > static_cast<std::int64_t>(instances.size()))
                throw pg_failure("lanes_behind: an instance index out of range", false);
            out[static_cast<std::size_t>(n - 1)].push_back(progress_row(r, i));
        }
        return out;
    });
}

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

abandon_result pg_log_store::abandon_if_unapplied(std::int64_t lane_id, std::int64_t position,
                                                  const std::vector<std::string>& instances,
                                                  std::chrono::milliseconds wait) {
    std::vector<std::int32_t> keys;
    keys.reserve(instances.size());
    for (const auto& i : instances) keys.push_back(pg::instance_lock_key(pool_->schema, i));
    std::sort(keys.begin(), keys.end());  // one global order: no deadlock between two callers
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    const auto wait_ms = static_cast<std::int32_t>(std::clamp<std::int64_t>(wait.count(), 1, 3'600'000));
    // Not retried: the first attempt may still be waiting for a lock on the server, and its
    // outcome is the caller's to report as unknown.
    return pool_->with_connection("abandon_if_unapplied", false, [&](connection& c) {
        params p;
        p.array(pg::oid_int4, keys,
                [](std::string& s, std::int32_t k) { pg::put_u32(s, static_cast<std::uint32_t>(k)); });
        p.i32(pg::lane_lock_key(lane_id)).i64(lane_id).i64(position).text_array(instances).i32(wait_ms);
        result r = pool_->run(c, stmt::abandon, p, statement_deadline());
        if (PQntuples(r.get()) != 1) throw pg_failure("abandon_unless_applied returned no row", false);
        switch (col_i16(r.get(), 0, 0)) {
            case 0:
                return abandon_result::abandoned;
            case 1:
                return abandon_result::kept;
            default:
                return abandon_result::undecided;
        }
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

std::optional<found_entry> pg_log_store::find_entry(std::string_view idempotency_id) {
    return pool_->with_connection("find_entry", true, [&](connection& c) -> std::optional<found_entry> {
        params p;
        p.text(idempotency_id);
        result r = pool_->run(c, stmt::find_entry, p, statement_deadline());
        if (PQntuples(r.get()) == 0) return std::nullopt;
        found_entry f;
        f.e = entry_from_row(r.get(), 0, col_i64(r.get(), 0, 11), false);
        f.key.tenant = col_bytes(r.get(), 0, 12);
        f.key.database = col_bytes(r.get(), 0, 13);
        f.key.collection = col_bytes(r.get(), 0, 14);
        return f;
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
        const int rows = PQntuples(r.get());
        std::vector<std::int64_t> out;
        out.reserve(static_cast<std::size_t>(rows));
        for (int i = 0; i < rows; ++i) out.push_back(col_i64(r.get(), i, 0));
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
