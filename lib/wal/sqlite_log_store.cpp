#include "wal/sqlite_log_store.hpp"

// The SQLite log store: its schema, its queries and its lane locks (copying a log: sqlite/log_rows.cpp;
// mark_applied, counts, prune, apply history: sqlite/upkeep.cpp). The connection handling is
// in sqlite/db.hpp, the cross-process lane locks in sqlite/lane_lock.hpp; group commit is the
// store-neutral ../group_commit.hpp.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include "chromawal/error.hpp"
#include "wal/group_commit.hpp"
#include "wal/sqlite/db.hpp"
#include "wal/sqlite/lane_lock.hpp"

namespace chromawal::wal {

using sqlite::connection;
using sqlite::failure;
using sqlite::now_seconds;
using sqlite::statement;

namespace {

constexpr int latest_schema_version = 1;
constexpr std::size_t max_error_text = 4096;

// Version 1. Times are seconds since the Unix epoch (REAL). entries keeps its rowid (payloads
// are large: a WITHOUT ROWID table would keep them in its index pages). The tables mirror the
// PostgreSQL store's (pg/migrations.hpp), so the two answer alike.
const char* const schema_v1[] = {
    R"sql(CREATE TABLE lanes (
    lane_id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    database TEXT NOT NULL,
    collection TEXT NOT NULL,
    first_name TEXT NOT NULL,
    holds_name INTEGER NOT NULL DEFAULT 1,
    next_position INTEGER NOT NULL DEFAULT 1 CHECK (next_position >= 1),
    pruned_through INTEGER NOT NULL DEFAULT 0,
    after_lane INTEGER,
    after_position INTEGER,
    created_at REAL NOT NULL
))sql",
    "CREATE UNIQUE INDEX lanes_current_name ON lanes (tenant, database, collection) WHERE holds_name",
    R"sql(CREATE TABLE entries (
    lane_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    idempotency_id TEXT NOT NULL,
    op INTEGER NOT NULL,
    payload BLOB NOT NULL,
    state INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    collection TEXT NOT NULL,
    after_lane INTEGER,
    after_position INTEGER,
    UNIQUE (lane_id, position)
))sql",
    "CREATE UNIQUE INDEX entries_idempotency_id ON entries (idempotency_id)",
    "CREATE INDEX entries_pending ON entries (lane_id, position) WHERE state = 0",
    R"sql(CREATE TABLE instance_positions (
    instance TEXT NOT NULL,
    lane_id INTEGER NOT NULL,
    applied_position INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    PRIMARY KEY (instance, lane_id)
) WITHOUT ROWID)sql",
    R"sql(CREATE TABLE dead_letters (
    instance TEXT NOT NULL,
    lane_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    error TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (instance, lane_id, position)
))sql",
    "CREATE INDEX dead_letters_entry ON dead_letters (lane_id, position)",
    R"sql(CREATE TABLE apply_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance TEXT NOT NULL,
    lane_id INTEGER NOT NULL,
    from_position INTEGER NOT NULL,
    to_position INTEGER NOT NULL,
    skipped INTEGER NOT NULL DEFAULT 0,
    at REAL NOT NULL
))sql",
    "CREATE INDEX apply_history_lane ON apply_history (instance, lane_id, id)",
    R"sql(CREATE TABLE name_releases (
    tenant TEXT NOT NULL,
    database TEXT NOT NULL,
    collection TEXT NOT NULL,
    lane_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (tenant, database, collection)
) WITHOUT ROWID)sql",
};

// The columns of an entry (e, joined with its lane l), in the order entry_from_row reads them.
constexpr const char* entry_columns =
    "e.position, e.idempotency_id, e.op, e.payload, e.state, e.attempts, COALESCE(e.last_error, ''), e.created_at, "
    "e.collection, COALESCE(e.after_lane, 0), COALESCE(e.after_position, 0)";

// Whether instance ?1 has applied what the lane (l) and the entry (e) depend on.
constexpr const char* entry_ready =
    "((l.after_lane IS NULL OR COALESCE((SELECT d.applied_position FROM instance_positions d "
    "   WHERE d.instance = ?1 AND d.lane_id = l.after_lane), 0) >= l.after_position) "
    "AND (e.after_lane IS NULL OR COALESCE((SELECT d.applied_position FROM instance_positions d "
    "   WHERE d.instance = ?1 AND d.lane_id = e.after_lane), 0) >= e.after_position))";

entry entry_from_row(const statement& s, std::int64_t lane_id, bool with_ready) {
    entry e;
    e.lane_id = lane_id;
    e.position = s.i64(0);
    e.idempotency_id = s.text(1);
    e.op = static_cast<op_kind>(s.i64(2));
    e.payload = s.text(3);
    e.state = static_cast<entry_state>(s.i64(4));
    e.attempts = static_cast<int>(s.i64(5));
    e.last_error = s.text(6);
    e.created_at = s.f64(7);
    e.collection = s.text(8);
    e.after_lane = s.i64(9);
    e.after_position = s.i64(10);
    if (with_ready) e.ready = s.i64(11) != 0;
    return e;
}

std::string truncate_utf8(std::string_view s, std::size_t max) {
    if (s.size() <= max) return std::string(s);
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return std::string(s.substr(0, n));
}

/// An idempotency id is already in the log: the append committed nothing.
class duplicate_append : public std::runtime_error {
public:
    duplicate_append() : std::runtime_error("an idempotency id is already in the log") {}
};

/// The lane holding the name, created when none does (inside a write transaction).
std::int64_t claim_lane(connection& c, const std::string& tenant, const std::string& database,
                        const std::string& collection) {
    {
        statement s(c,
                    "SELECT lane_id FROM lanes WHERE tenant = ?1 AND database = ?2 AND collection = ?3 AND holds_name");
        s.bind(1, tenant).bind(2, database).bind(3, collection);
        if (s.step()) return s.i64(0);
    }
    statement r(c,
                "SELECT lane_id, position FROM name_releases WHERE tenant = ?1 AND database = ?2 AND collection = ?3");
    r.bind(1, tenant).bind(2, database).bind(3, collection);
    const bool released = r.step();
    statement ins(
        c,
        "INSERT INTO lanes (tenant, database, collection, first_name, after_lane, after_position, created_at) "
        "VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6)");
    ins.bind(1, tenant).bind(2, database).bind(3, collection);
    if (released) {
        ins.bind(4, r.i64(0)).bind(5, r.i64(1));
    } else {
        ins.bind_null(4).bind_null(5);
    }
    ins.bind(6, now_seconds());
    ins.run();
    return sqlite3_last_insert_rowid(c.get());
}

/// Takes n positions of the lane; returns the first.
std::int64_t take_positions(connection& c, std::int64_t lane, std::int64_t n) {
    statement s(c,
                "UPDATE lanes SET next_position = next_position + ?2 WHERE lane_id = ?1 "
                "RETURNING next_position - ?2");
    s.bind(1, lane).bind(2, n);
    if (!s.step()) throw failure("append: the lane disappeared", SQLITE_INTERNAL);
    const std::int64_t first = s.i64(0);
    s.run();
    return first;
}

void insert_entry(connection& c, std::int64_t lane, std::int64_t position, const new_entry& e,
                  std::optional<std::pair<std::int64_t, std::int64_t>> after, double now) {
    statement s(c,
                "INSERT INTO entries (lane_id, position, idempotency_id, op, payload, collection, after_lane, "
                "after_position, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)");
    s.bind(1, lane).bind(2, position).bind(3, e.idempotency_id).bind(4, static_cast<std::int64_t>(e.op));
    s.bind_blob(5, e.payload).bind(6, e.lane.collection);
    if (after) {
        s.bind(7, after->first).bind(8, after->second);
    } else {
        s.bind_null(7).bind_null(8);
    }
    s.bind(9, now);
    try {
        s.run();
    } catch (const failure& f) {
        if (f.code() == SQLITE_CONSTRAINT_UNIQUE &&
            std::string_view(f.what()).find("idempotency_id") != std::string_view::npos) {
            throw duplicate_append();
        }
        throw;
    }
}

/// The append transaction's body (inside BEGIN IMMEDIATE).
std::vector<appended> append_in(connection& c, const std::vector<const new_entry*>& entries) {
    const double now = now_seconds();
    std::vector<appended> out(entries.size());
    if (!entries.front()->rename_to.empty()) {
        // A rename, alone: its entry goes to the lane holding the old name, which takes the new
        // one; a lane that held the new name gives it up, and the rename comes after its last
        // entry; the old name's release is recorded for the lane created next for it.
        const new_entry& e = *entries.front();
        const std::int64_t lane = claim_lane(c, e.lane.tenant, e.lane.database, e.lane.collection);
        const std::int64_t position = take_positions(c, lane, 1);
        std::optional<std::pair<std::int64_t, std::int64_t>> after;
        if (e.rename_to != e.lane.collection) {
            statement give(c,
                           "UPDATE lanes SET holds_name = 0 WHERE tenant = ?1 AND database = ?2 AND collection = ?3 "
                           "AND holds_name RETURNING lane_id, next_position - 1");
            give.bind(1, e.lane.tenant).bind(2, e.lane.database).bind(3, e.rename_to);
            if (give.step()) after = std::make_pair(give.i64(0), give.i64(1));
            give.run();
            statement move(c, "UPDATE lanes SET collection = ?2 WHERE lane_id = ?1");
            move.bind(1, lane).bind(2, e.rename_to).run();
            statement rel(c,
                          "INSERT INTO name_releases (tenant, database, collection, lane_id, position) "
                          "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (tenant, database, collection) "
                          "DO UPDATE SET lane_id = excluded.lane_id, position = excluded.position");
            rel.bind(1, e.lane.tenant)
                .bind(2, e.lane.database)
                .bind(3, e.lane.collection)
                .bind(4, lane)
                .bind(5, position);
            rel.run();
        }
        insert_entry(c, lane, position, e, after, now);
        out[0] = appended{lane, position};
        return out;
    }
    // Entries grouped by lane (in key order), each lane's positions taken at once.
    std::map<std::tuple<std::string, std::string, std::string>, std::vector<std::size_t>> by_lane;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& k = entries[i]->lane;
        by_lane[{k.tenant, k.database, k.collection}].push_back(i);
    }
    for (const auto& [key, idx] : by_lane) {
        const std::int64_t lane = claim_lane(c, std::get<0>(key), std::get<1>(key), std::get<2>(key));
        const std::int64_t first = take_positions(c, lane, static_cast<std::int64_t>(idx.size()));
        for (std::size_t j = 0; j < idx.size(); ++j) {
            const std::int64_t position = first + static_cast<std::int64_t>(j);
            insert_entry(c, lane, position, *entries[idx[j]], std::nullopt, now);
            out[idx[j]] = appended{lane, position};
        }
    }
    return out;
}

class sqlite_append final : public append_backend {
public:
    explicit sqlite_append(std::shared_ptr<sqlite::pool> p) : pool_(std::move(p)) {}

    std::vector<appended> append_now(const std::vector<const new_entry*>& entries) override {
        if (entries.size() > 1 &&
            std::any_of(entries.begin(), entries.end(), [](const new_entry* e) { return !e->rename_to.empty(); })) {
            throw chromawal::invalid_argument("SQLite log store: append refused: a rename must be appended alone");
        }
        return pool_->with("append", [&](connection& c) {
            c.exec("BEGIN IMMEDIATE");
            std::vector<appended> out;
            try {
                out = append_in(c, entries);
            } catch (...) {
                if (sqlite3_get_autocommit(c.get()) == 0 &&
                    sqlite3_exec(c.get(), "ROLLBACK", nullptr, nullptr, nullptr) != SQLITE_OK) {
                    c.broken = true;
                }
                throw;
            }
            try {
                c.exec("COMMIT");
            } catch (const failure& f) {
                // An I/O error while syncing the WAL: its frames may be on disk with their commit
                // mark. The outcome is unknown; the caller may retry with the same idempotency id.
                c.broken = true;
                if (f.primary() == SQLITE_IOERR) {
                    throw chromawal::outcome_unknown(std::string("SQLite log store (") + pool_->config().path +
                                                         "): the commit of an append failed: " + f.what(),
                                                     entries.front()->idempotency_id);
                }
                throw;
            }
            return out;
        });
    }

    bool refused(const std::exception_ptr& error) const override {
        try {
            std::rethrow_exception(error);
        } catch (const duplicate_append&) {
            return true;
        } catch (...) {
            return false;
        }
    }

    std::exception_ptr public_error(const std::exception_ptr& error) const override {
        try {
            std::rethrow_exception(error);
        } catch (const duplicate_append&) {
            return std::make_exception_ptr(chromawal::invalid_argument(
                "SQLite log store: append refused: an idempotency id is already in the log"));
        } catch (...) {
            return error;
        }
    }

private:
    std::shared_ptr<sqlite::pool> pool_;
};

/// The lane lock: a byte lock held for the lock's lifetime; each call uses a pooled connection.
class sqlite_lane_lock final : public lane_lock {
public:
    sqlite_lane_lock(std::shared_ptr<sqlite::pool> p, std::shared_ptr<std::atomic<bool>> history,
                     std::unique_ptr<sqlite::byte_lock> held, std::string instance, std::int64_t lane_id)
        : pool_(std::move(p)),
          history_(std::move(history)),
          held_(std::move(held)),
          instance_(std::move(instance)),
          lane_id_(lane_id) {}

    std::int64_t applied() override {
        return pool_->with("lane lock: applied", [&](connection& c) {
            statement s(c,
                        "SELECT COALESCE(p.applied_position, 0), l.pruned_through, "
                        "(l.after_lane IS NULL OR COALESCE((SELECT d.applied_position FROM instance_positions d "
                        "  WHERE d.instance = ?1 AND d.lane_id = l.after_lane), 0) >= l.after_position) "
                        "FROM lanes l LEFT JOIN instance_positions p ON p.lane_id = l.lane_id AND p.instance = ?1 "
                        "WHERE l.lane_id = ?2");
            s.bind(1, instance_).bind(2, lane_id_);
            const bool found = s.step();
            known_ = found ? s.i64(0) : 0;
            pruned_through_ = found ? s.i64(1) : 0;
            start_ready_ = !found || s.i64(2) != 0;
            return known_;
        });
    }

    std::int64_t pruned_through() const override { return pruned_through_; }
    bool start_ready() const override { return start_ready_; }

    std::vector<entry> read(std::size_t max_entries, std::size_t max_bytes) override {
        if (max_entries == 0) return {};
        return pool_->with("lane lock: read", [&](connection& c) {
            statement s(c, std::string("SELECT ") + entry_columns + ", " + entry_ready +
                               ", length(e.payload) FROM entries e JOIN lanes l ON l.lane_id = e.lane_id "
                               "WHERE e.lane_id = ?2 AND e.position > COALESCE((SELECT p.applied_position "
                               "FROM instance_positions p WHERE p.instance = ?1 AND p.lane_id = ?2), 0) "
                               "ORDER BY e.position LIMIT ?3");
            s.bind(1, instance_)
                .bind(2, lane_id_)
                .bind(3, static_cast<std::int64_t>(std::min<std::size_t>(max_entries, INT64_MAX)));
            std::vector<entry> out;
            std::size_t bytes = 0;
            while (s.step()) {
                bytes += static_cast<std::size_t>(s.i64(12));
                // Stop before max_bytes, but keep at least one entry.
                if (!out.empty() && bytes > max_bytes) break;
                out.push_back(entry_from_row(s, lane_id_, true));
            }
            return out;
        });
    }

    void advance(std::int64_t position) override { advance_to(position, false); }

    std::int64_t skip_to_head() override { return advance_to(-1, true); }

protected:
    void release() noexcept override { held_.reset(); }

private:
    /// Moves the applied position to `position` (-1: the head); never backwards. Returns it.
    std::int64_t advance_to(std::int64_t position, bool skipped) {
        bool beyond_head = false;
        const std::int64_t result = pool_->write("lane lock: advance", [&](connection& c) -> std::int64_t {
            std::int64_t head = 0;
            {
                statement h(c, "SELECT next_position - 1 FROM lanes WHERE lane_id = ?1");
                h.bind(1, lane_id_);
                if (h.step()) head = h.i64(0);
            }
            if (position < 0) position = head;
            if (position > head) {
                beyond_head = true;
                return 0;
            }
            std::int64_t current = 0;
            {
                statement p(c, "SELECT applied_position FROM instance_positions WHERE instance = ?1 AND lane_id = ?2");
                p.bind(1, instance_).bind(2, lane_id_);
                if (p.step()) current = p.i64(0);
            }
            if (position <= current) return current;
            const double now = now_seconds();
            statement up(c,
                         "INSERT INTO instance_positions (instance, lane_id, applied_position, updated_at) "
                         "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (instance, lane_id) DO UPDATE SET "
                         "applied_position = excluded.applied_position, updated_at = excluded.updated_at");
            up.bind(1, instance_).bind(2, lane_id_).bind(3, position).bind(4, now).run();
            if (history_->load(std::memory_order_relaxed)) {
                statement h(c,
                            "INSERT INTO apply_history (instance, lane_id, from_position, to_position, skipped, at) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
                h.bind(1, instance_).bind(2, lane_id_).bind(3, current).bind(4, position);
                h.bind(5, static_cast<std::int64_t>(skipped ? 1 : 0)).bind(6, now).run();
            }
            return position;
        });
        if (beyond_head) {
            throw chromawal::invalid_argument("SQLite log store: advance to position " + std::to_string(position) +
                                              " is beyond the head of lane " + std::to_string(lane_id_));
        }
        known_ = result;
        return result;
    }

    std::shared_ptr<sqlite::pool> pool_;
    std::shared_ptr<std::atomic<bool>> history_;
    std::unique_ptr<sqlite::byte_lock> held_;
    std::string instance_;
    std::int64_t lane_id_;
    std::int64_t known_ = -1;
    std::int64_t pruned_through_ = 0;
    bool start_ready_ = true;
};

std::vector<lane_progress> progress(sqlite::pool& pool, const char* op, std::string_view instance, bool behind) {
    return pool.with(op, [&](connection& c) {
        statement s(c,
                    "SELECT l.lane_id, l.tenant, l.database, l.collection, l.next_position - 1, "
                    "COALESCE(p.applied_position, 0), "
                    "COALESCE((SELECT e.created_at FROM entries e WHERE e.lane_id = l.lane_id "
                    "          AND e.position = COALESCE(p.applied_position, 0) + 1), 0), "
                    "l.pruned_through, l.holds_name "
                    "FROM lanes l LEFT JOIN instance_positions p ON p.lane_id = l.lane_id AND p.instance = ?1 "
                    "WHERE NOT ?2 OR l.next_position - 1 > COALESCE(p.applied_position, 0) ORDER BY l.lane_id");
        s.bind(1, instance).bind(2, static_cast<std::int64_t>(behind ? 1 : 0));
        std::vector<lane_progress> out;
        while (s.step()) {
            lane_progress lp;
            lp.lane_id = s.i64(0);
            lp.key.tenant = s.text(1);
            lp.key.database = s.text(2);
            lp.key.collection = s.text(3);
            lp.head = s.i64(4);
            lp.applied = s.i64(5);
            lp.oldest_unapplied_created_at = s.f64(6);
            lp.pruned_through = s.i64(7);
            lp.holds_name = s.i64(8) != 0;
            out.push_back(std::move(lp));
        }
        return out;
    });
}

/// "(?n, ?n+1, ...)" for `count` parameters from `first`.
std::string placeholders(int first, std::size_t count) {
    std::string out = "(";
    for (std::size_t i = 0; i < count; ++i) {
        if (i > 0) out += ", ";
        out += "?" + std::to_string(first + static_cast<int>(i));
    }
    return out + ")";
}

}  // namespace

// ---------------------------------------------------------------------------------------------

sqlite_log_store::sqlite_log_store(std::string path, std::chrono::milliseconds busy_timeout)
    : path_(std::move(path)), record_history_(std::make_shared<std::atomic<bool>>(false)) {
    if (path_.empty()) throw chromawal::invalid_argument("SQLite log store: the database path is empty");
    if (busy_timeout.count() <= 0) {
        throw chromawal::invalid_argument("SQLite log store: busy_timeout must be positive");
    }
    if (const std::string fs = sqlite::network_file_system(path_); !fs.empty()) {
        throw chromawal::invalid_argument("SQLite log store: " + path_ + " is on a network file system (" + fs +
                                          "), where SQLite's locks and WAL mode are not safe; put the log on a "
                                          "local disk, or use a PostgreSQL log for writers on several hosts");
    }
    pool_ = std::make_shared<sqlite::pool>(sqlite::settings{path_, busy_timeout});
    group_commit_ = std::make_unique<group_commit>(std::make_unique<sqlite_append>(pool_), "SQLite log store");
}

sqlite_log_store::~sqlite_log_store() = default;

void sqlite_log_store::migrate() {
    pool_->write("migrate", [&](connection& c) {
        c.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)");
        std::int64_t current = 0;
        {
            statement s(c, "SELECT COALESCE(max(version), 0) FROM schema_version");
            if (s.step()) current = s.i64(0);
        }
        if (current > latest_schema_version) {
            throw store_refused("SQLite log store (" + path_ + "): the log is at schema version " +
                                std::to_string(current) + ", newer than this library's " +
                                std::to_string(latest_schema_version));
        }
        if (current < 1) {
            for (const char* sql : schema_v1) c.exec(sql);
            // The log's id (see log_store::identity): a random UUID made once, with the schema
            // (a copy's target gets its source's, see import_rows).
            c.exec("CREATE TABLE log_identity (id TEXT PRIMARY KEY) WITHOUT ROWID");
            c.exec(
                "INSERT INTO log_identity (id) SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || "
                "substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || "
                "substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))");
            statement v(c, "INSERT INTO schema_version (version, applied_at) VALUES (1, ?1)");
            v.bind(1, now_seconds()).run();
        }
    });
}

log_identity sqlite_log_store::identity() {
    {
        std::lock_guard<std::mutex> lock(identity_mutex_);
        if (!identity_.id.empty()) return identity_;
    }
    log_identity out;
    out.id = pool_->with("identity", [&](connection& c) {
        statement s(c, "SELECT id FROM log_identity LIMIT 1");
        if (!s.step()) throw store_refused("SQLite log store (" + path_ + "): the log has no identity row");
        return s.text(0);
    });
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    out.description = fmt::format("sqlite://{}{}", host, path_);
    std::lock_guard<std::mutex> lock(identity_mutex_);
    identity_ = out;
    return out;
}

std::vector<appended> sqlite_log_store::append(const std::vector<new_entry>& entries) {
    return group_commit_->append(entries);
}

std::uint64_t sqlite_log_store::statements_prepared_in_process() {
    return sqlite::connection::statements_prepared_in_process();
}

std::int64_t sqlite_log_store::lane_id(const lane_key& key) {
    std::optional<std::int64_t> found = pool_->with("lane_id", [&](connection& c) -> std::optional<std::int64_t> {
        statement s(c,
                    "SELECT lane_id FROM lanes WHERE tenant = ?1 AND database = ?2 AND collection = ?3 AND holds_name");
        s.bind(1, key.tenant).bind(2, key.database).bind(3, key.collection);
        if (s.step()) return s.i64(0);
        return std::nullopt;
    });
    if (found) return *found;
    return pool_->write("lane_id",
                        [&](connection& c) { return claim_lane(c, key.tenant, key.database, key.collection); });
}

std::vector<lane_progress> sqlite_log_store::lanes_behind(std::string_view instance) {
    return progress(*pool_, "lanes_behind", instance, true);
}

std::vector<lane_progress> sqlite_log_store::all_lanes(std::string_view instance) {
    return progress(*pool_, "all_lanes", instance, false);
}

std::unique_ptr<lane_lock> sqlite_log_store::lock_lane(std::string_view instance, std::int64_t lane_id,
                                                       std::chrono::milliseconds wait) {
    auto held =
        sqlite::byte_lock::take(path_ + "-lanelocks", sqlite::lane_key(instance, lane_id),
                                std::chrono::steady_clock::now() + std::max(wait, std::chrono::milliseconds(0)));
    if (!held) return nullptr;
    return std::make_unique<sqlite_lane_lock>(pool_, record_history_, std::move(held), std::string(instance), lane_id);
}

void sqlite_log_store::set_state(std::int64_t lane_id, std::int64_t position, entry_state state,
                                 std::string_view error) {
    pool_->write("set_state", [&](connection& c) {
        statement s(c,
                    "UPDATE entries SET state = ?3, last_error = COALESCE(?4, last_error), updated_at = ?5 "
                    "WHERE lane_id = ?1 AND position = ?2");
        s.bind(1, lane_id).bind(2, position).bind(3, static_cast<std::int64_t>(state));
        if (error.empty()) {
            s.bind_null(4);
        } else {
            s.bind(4, truncate_utf8(error, max_error_text));
        }
        s.bind(5, now_seconds()).run();
    });
}

int sqlite_log_store::record_failure(std::int64_t lane_id, std::int64_t position, std::string_view error) {
    return pool_->write("record_failure", [&](connection& c) {
        statement s(c,
                    "UPDATE entries SET attempts = attempts + 1, last_error = ?3, updated_at = ?4 "
                    "WHERE lane_id = ?1 AND position = ?2 RETURNING attempts");
        s.bind(1, lane_id).bind(2, position).bind(3, truncate_utf8(error, max_error_text)).bind(4, now_seconds());
        int n = 0;
        if (s.step()) n = static_cast<int>(s.i64(0));
        s.run();
        return n;
    });
}

abandon_result sqlite_log_store::abandon_if_unapplied(std::int64_t lane_id, std::int64_t position,
                                                      const std::vector<std::string>& instances,
                                                      std::chrono::milliseconds wait) {
    // Every instance's lane lock, in one global order (no deadlock between two callers), with one
    // deadline for all of them.
    std::vector<std::uint64_t> keys;
    keys.reserve(instances.size());
    for (const auto& i : instances) keys.push_back(sqlite::lane_key(i, lane_id));
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    const auto deadline = std::chrono::steady_clock::now() + std::max(wait, std::chrono::milliseconds(1));
    std::vector<std::unique_ptr<sqlite::byte_lock>> held;
    for (std::uint64_t k : keys) {
        auto l = sqlite::byte_lock::take(path_ + "-lanelocks", k, deadline);
        if (!l) return abandon_result::undecided;
        held.push_back(std::move(l));
    }
    return pool_->write("abandon_if_unapplied", [&](connection& c) {
        if (!instances.empty()) {
            statement s(c,
                        "SELECT 1 FROM instance_positions WHERE lane_id = ?1 AND applied_position >= ?2 "
                        "AND instance IN " +
                            placeholders(3, instances.size()));
            s.bind(1, lane_id).bind(2, position);
            for (std::size_t i = 0; i < instances.size(); ++i) s.bind(3 + static_cast<int>(i), instances[i]);
            if (s.step()) return abandon_result::kept;
        }
        statement u(c,
                    "UPDATE entries SET state = 3, updated_at = ?3 "
                    "WHERE lane_id = ?1 AND position = ?2 AND state IN (0, 3)");
        u.bind(1, lane_id).bind(2, position).bind(3, now_seconds()).run();
        return c.changes() > 0 ? abandon_result::abandoned : abandon_result::kept;
    });
}

void sqlite_log_store::add_dead_letter(std::string_view instance, std::int64_t lane_id, std::int64_t position,
                                       std::string_view error) {
    pool_->write("add_dead_letter", [&](connection& c) {
        statement s(c,
                    "INSERT INTO dead_letters (instance, lane_id, position, error, at) VALUES (?1, ?2, ?3, ?4, ?5) "
                    "ON CONFLICT (instance, lane_id, position) DO UPDATE SET error = excluded.error, at = excluded.at");
        s.bind(1, instance).bind(2, lane_id).bind(3, position).bind(4, truncate_utf8(error, max_error_text));
        s.bind(5, now_seconds()).run();
    });
}

std::vector<dead_letter> sqlite_log_store::dead_letters(std::size_t limit) {
    if (limit == 0) return {};
    return pool_->with("dead_letters", [&](connection& c) {
        statement s(c,
                    "SELECT d.instance, d.lane_id, d.position, l.tenant, l.database, e.collection, e.op, d.error, d.at "
                    "FROM dead_letters d JOIN lanes l ON l.lane_id = d.lane_id "
                    "JOIN entries e ON e.lane_id = d.lane_id AND e.position = d.position "
                    "ORDER BY d.at, d.lane_id, d.position, d.instance LIMIT ?1");
        s.bind(1, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
        std::vector<dead_letter> out;
        while (s.step()) {
            dead_letter d;
            d.instance = s.text(0);
            d.lane_id = s.i64(1);
            d.position = s.i64(2);
            d.key.tenant = s.text(3);
            d.key.database = s.text(4);
            d.key.collection = s.text(5);
            d.op = static_cast<op_kind>(s.i64(6));
            d.error = s.text(7);
            d.at = s.f64(8);
            out.push_back(std::move(d));
        }
        return out;
    });
}

void sqlite_log_store::remove_dead_letter(std::string_view instance, std::int64_t lane_id, std::int64_t position) {
    pool_->write("remove_dead_letter", [&](connection& c) {
        statement d(c, "DELETE FROM dead_letters WHERE instance = ?1 AND lane_id = ?2 AND position = ?3");
        d.bind(1, instance).bind(2, lane_id).bind(3, position).run();
        if (c.changes() == 0) return;
        // The entry's last dead letter gone: a dead entry is pending again.
        statement u(c,
                    "UPDATE entries SET state = 0, updated_at = ?3 WHERE lane_id = ?1 AND position = ?2 "
                    "AND state = 4 AND NOT EXISTS (SELECT 1 FROM dead_letters x "
                    "WHERE x.lane_id = ?1 AND x.position = ?2)");
        u.bind(1, lane_id).bind(2, position).bind(3, now_seconds()).run();
    });
}

std::optional<found_entry> sqlite_log_store::find_entry(std::string_view idempotency_id) {
    return pool_->with("find_entry", [&](connection& c) -> std::optional<found_entry> {
        statement s(c, std::string("SELECT ") + entry_columns +
                           ", e.lane_id, l.tenant, l.database, l.collection "
                           "FROM entries e JOIN lanes l ON l.lane_id = e.lane_id WHERE e.idempotency_id = ?1");
        s.bind(1, idempotency_id);
        if (!s.step()) return std::nullopt;
        found_entry f;
        f.e = entry_from_row(s, s.i64(11), false);
        f.key.tenant = s.text(12);
        f.key.database = s.text(13);
        f.key.collection = s.text(14);
        return f;
    });
}

std::optional<entry> sqlite_log_store::read_entry(std::int64_t lane_id, std::int64_t position) {
    return pool_->with("read_entry", [&](connection& c) -> std::optional<entry> {
        statement s(c, std::string("SELECT ") + entry_columns +
                           " FROM entries e JOIN lanes l ON l.lane_id = e.lane_id "
                           "WHERE e.lane_id = ?1 AND e.position = ?2");
        s.bind(1, lane_id).bind(2, position);
        if (!s.step()) return std::nullopt;
        return entry_from_row(s, lane_id, false);
    });
}

}  // namespace chromawal::wal
