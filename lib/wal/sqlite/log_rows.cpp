#include "wal/sqlite_log_store.hpp"

// The SQLite log store's side of moving a log between stores (wal/log_copy.hpp): its rows out
// and in. The rest of the store is in ../sqlite_log_store.cpp.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "chromawal/error.hpp"
#include "wal/sqlite/db.hpp"

namespace chromawal::wal {

using sqlite::connection;
using sqlite::statement;

// Plain SQL: it runs once per move, not per write.
log_rows sqlite_log_store::export_rows() {
    return pool_->with("export_rows", [&](connection& c) {
        log_rows out;
        c.exec("BEGIN");  // one snapshot for all four reads
        try {
            statement l(c,
                        "SELECT lane_id, tenant, database, collection, first_name, holds_name, next_position, "
                        "pruned_through, COALESCE(after_lane, 0), COALESCE(after_position, 0), created_at "
                        "FROM lanes ORDER BY lane_id");
            while (l.step()) {
                lane_row r;
                r.lane_id = l.i64(0);
                r.key = {l.text(1), l.text(2), l.text(3)};
                r.first_name = l.text(4);
                r.holds_name = l.i64(5) != 0;
                r.next_position = l.i64(6);
                r.pruned_through = l.i64(7);
                r.after_lane = l.i64(8);
                r.after_position = l.i64(9);
                r.created_at = l.f64(10);
                out.lanes.push_back(std::move(r));
            }
            statement n(c,
                        "SELECT tenant, database, collection, lane_id, position FROM name_releases "
                        "ORDER BY tenant, database, collection");
            while (n.step()) out.name_releases.push_back({{n.text(0), n.text(1), n.text(2)}, n.i64(3), n.i64(4)});
            statement w(c,
                        "SELECT instance, lane_id, applied_position, updated_at FROM instance_positions "
                        "ORDER BY instance, lane_id");
            while (w.step()) out.positions.push_back({w.text(0), w.i64(1), w.i64(2), w.f64(3)});
            statement d(c,
                        "SELECT instance, lane_id, position, error, at FROM dead_letters "
                        "ORDER BY instance, lane_id, position");
            while (d.step()) out.dead_letters.push_back({d.text(0), d.i64(1), d.i64(2), d.text(3), d.f64(4)});
        } catch (...) {
            c.exec("ROLLBACK");
            throw;
        }
        c.exec("COMMIT");
        return out;
    });
}

std::vector<entry_row> sqlite_log_store::export_entries(std::int64_t after_lane, std::int64_t after_position,
                                                        std::size_t max_entries, std::size_t max_bytes) {
    return pool_->with("export_entries", [&](connection& c) {
        statement s(c,
                    "SELECT lane_id, position, idempotency_id, op, payload, state, attempts, COALESCE(last_error, ''), "
                    "last_error IS NOT NULL, collection, COALESCE(after_lane, 0), COALESCE(after_position, 0), "
                    "created_at, updated_at FROM entries WHERE (lane_id, position) > (?1, ?2) "
                    "ORDER BY lane_id, position LIMIT ?3");
        s.bind(1, after_lane).bind(2, after_position);
        s.bind(3, static_cast<std::int64_t>(std::min<std::size_t>(std::max<std::size_t>(max_entries, 1), 1u << 30)));
        std::vector<entry_row> out;
        std::size_t bytes = 0;
        while ((out.empty() || bytes < max_bytes) && s.step()) {
            entry_row e;
            e.lane_id = s.i64(0);
            e.position = s.i64(1);
            e.idempotency_id = s.text(2);
            e.op = static_cast<std::int16_t>(s.i64(3));
            e.payload = s.text(4);
            e.state = static_cast<std::int16_t>(s.i64(5));
            e.attempts = static_cast<std::int32_t>(s.i64(6));
            e.last_error = s.text(7);
            e.has_error = s.i64(8) != 0;
            e.collection = s.text(9);
            e.after_lane = s.i64(10);
            e.after_position = s.i64(11);
            e.created_at = s.f64(12);
            e.updated_at = s.f64(13);
            bytes += e.payload.size();
            out.push_back(std::move(e));
        }
        return out;
    });
}

void sqlite_log_store::import_rows(const log_rows& rows, import_step step, const std::string& log_id) {
    pool_->write("import_rows", [&](connection& c) {
        if (step == import_step::begin) {
            statement n(c,
                        "SELECT (SELECT count(*) FROM lanes) + (SELECT count(*) FROM entries) + "
                        "(SELECT count(*) FROM instance_positions)");
            if (n.step() && n.i64(0) != 0) {
                throw chromawal::invalid_argument("the target log (" + path_ +
                                                  ") is not empty: copy into a new, empty log");
            }
            c.exec("DELETE FROM log_identity");  // until finish: a half-done copy is no usable log
            for (const auto& l : rows.lanes) {
                statement s(c,
                            "INSERT INTO lanes (lane_id, tenant, database, collection, first_name, holds_name, "
                            "next_position, pruned_through, after_lane, after_position, created_at) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULLIF(?9, 0), NULLIF(?10, 0), ?11)");
                s.bind(1, l.lane_id).bind(2, l.key.tenant).bind(3, l.key.database).bind(4, l.key.collection);
                s.bind(5, l.first_name).bind(6, static_cast<std::int64_t>(l.holds_name ? 1 : 0));
                s.bind(7, l.next_position).bind(8, l.pruned_through).bind(9, l.after_lane).bind(10, l.after_position);
                s.bind(11, l.created_at).run();
            }
            for (const auto& r : rows.name_releases) {
                statement s(c,
                            "INSERT INTO name_releases (tenant, database, collection, lane_id, position) "
                            "VALUES (?1, ?2, ?3, ?4, ?5)");
                s.bind(1, r.key.tenant).bind(2, r.key.database).bind(3, r.key.collection);
                s.bind(4, r.lane_id).bind(5, r.position).run();
            }
        } else if (step == import_step::entries) {
            for (const auto& e : rows.entries) {
                statement s(c,
                            "INSERT INTO entries (lane_id, position, idempotency_id, op, payload, state, attempts, "
                            "last_error, collection, after_lane, after_position, created_at, updated_at) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULLIF(?10, 0), NULLIF(?11, 0), ?12, ?13)");
                s.bind(1, e.lane_id).bind(2, e.position).bind(3, e.idempotency_id);
                s.bind(4, static_cast<std::int64_t>(e.op)).bind_blob(5, e.payload);
                s.bind(6, static_cast<std::int64_t>(e.state)).bind(7, static_cast<std::int64_t>(e.attempts));
                if (e.has_error) {
                    s.bind(8, e.last_error);
                } else {
                    s.bind_null(8);
                }
                s.bind(9, e.collection).bind(10, e.after_lane).bind(11, e.after_position);
                s.bind(12, e.created_at).bind(13, e.updated_at).run();
            }
        } else {
            for (const auto& w : rows.positions) {
                statement s(c,
                            "INSERT INTO instance_positions (instance, lane_id, applied_position, updated_at) "
                            "VALUES (?1, ?2, ?3, ?4)");
                s.bind(1, w.instance).bind(2, w.lane_id).bind(3, w.applied_position).bind(4, w.updated_at).run();
            }
            for (const auto& d : rows.dead_letters) {
                statement s(c,
                            "INSERT INTO dead_letters (instance, lane_id, position, error, at) "
                            "VALUES (?1, ?2, ?3, ?4, ?5)");
                s.bind(1, d.instance).bind(2, d.lane_id).bind(3, d.position).bind(4, d.error).bind(5, d.at).run();
            }
            c.exec("DELETE FROM log_identity");
            statement s(c, "INSERT INTO log_identity (id) VALUES (?1)");
            s.bind(1, log_id).run();
        }
    });
    if (step == import_step::finish) {
        std::lock_guard<std::mutex> lock(identity_mutex_);
        identity_ = {};
    }
}

}  // namespace chromawal::wal
