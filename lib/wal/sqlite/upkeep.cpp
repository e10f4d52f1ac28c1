#include "wal/sqlite_log_store.hpp"

// The SQLite log store's upkeep: marking entries applied everywhere, counts, retention's prune
// and the apply history. The rest of the store is in ../sqlite_log_store.cpp.

#include <algorithm>
#include <atomic>
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
using sqlite::now_seconds;
using sqlite::statement;

namespace {
constexpr std::int64_t mark_applied_batch = 10000;
constexpr std::int64_t history_prune_batch = 5000;
}  // namespace

std::int64_t sqlite_log_store::mark_applied(const std::vector<std::string>& instances) {
    if (instances.empty()) return 0;
    std::string values;
    for (std::size_t i = 0; i < instances.size(); ++i) {
        values += i == 0 ? "VALUES (?" : ", (?";
        values += std::to_string(i + 3) + ")";
    }
    const std::string update =
        "WITH i(instance) AS (" + values +
        "), upto AS (SELECT l.lane_id AS lane_id, min(COALESCE(p.applied_position, 0)) AS position "
        "  FROM lanes l CROSS JOIN i LEFT JOIN instance_positions p "
        "  ON p.lane_id = l.lane_id AND p.instance = i.instance GROUP BY l.lane_id) "
        "UPDATE entries SET state = 1, updated_at = ?2 WHERE rowid IN ("
        "  SELECT e.rowid FROM entries e JOIN upto u ON u.lane_id = e.lane_id "
        "  WHERE e.state = 0 AND e.position <= u.position LIMIT ?1)";
    std::int64_t total = 0;
    for (;;) {
        const std::int64_t n = pool_->write("mark_applied", [&](connection& c) {
            statement s(c, update);
            s.bind(1, mark_applied_batch).bind(2, now_seconds());
            for (std::size_t i = 0; i < instances.size(); ++i) s.bind(3 + static_cast<int>(i), instances[i]);
            s.run();
            return c.changes();
        });
        total += n;
        if (n < mark_applied_batch) return total;
    }
}

log_counts sqlite_log_store::counts() {
    return pool_->with("counts", [&](connection& c) {
        statement s(c,
                    "SELECT COALESCE(sum(state = 0), 0), COALESCE(sum(state = 1), 0), COALESCE(sum(state = 2), 0), "
                    "COALESCE(sum(state = 3), 0), COALESCE(sum(state = 4), 0), "
                    "COALESCE(min(CASE WHEN state = 0 THEN created_at END), 0) FROM entries");
        log_counts out;
        if (s.step()) {
            out.pending = s.i64(0);
            out.applied = s.i64(1);
            out.rejected = s.i64(2);
            out.abandoned = s.i64(3);
            out.dead = s.i64(4);
            out.oldest_pending_created_at = s.f64(5);
        }
        return out;
    });
}

std::int64_t sqlite_log_store::prune(std::chrono::milliseconds older_than, std::size_t batch_size) {
    const double cutoff = now_seconds() - static_cast<double>(std::max<std::int64_t>(0, older_than.count())) / 1000.0;
    const auto batch = static_cast<std::int64_t>(std::clamp<std::size_t>(batch_size, 1, 1'000'000));
    // Lanes whose first entry may go.
    std::vector<std::int64_t> lanes = pool_->with("prune", [&](connection& c) {
        statement s(c,
                    "SELECT l.lane_id FROM lanes l JOIN entries f ON f.lane_id = l.lane_id AND f.position = "
                    "  (SELECT min(x.position) FROM entries x WHERE x.lane_id = l.lane_id) "
                    "WHERE f.state IN (1, 2, 3) AND f.created_at < ?1 ORDER BY l.lane_id");
        s.bind(1, cutoff);
        std::vector<std::int64_t> out;
        while (s.step()) out.push_back(s.i64(0));
        return out;
    });
    std::int64_t total = 0;
    for (std::int64_t lane : lanes) {
        for (;;) {
            // One short write transaction per batch: the first `batch` entries, deleted up to the
            // first that must stay; the lane's pruned_through moves to the last deleted.
            const std::int64_t n = pool_->write("prune", [&](connection& c) -> std::int64_t {
                std::int64_t top = 0;
                std::int64_t count = 0;
                {
                    statement s(c,
                                "SELECT e.position, e.state IN (1, 2, 3) AND e.created_at < ?3 AND NOT EXISTS "
                                "(SELECT 1 FROM dead_letters d WHERE d.lane_id = e.lane_id AND d.position = "
                                "e.position) FROM entries e WHERE e.lane_id = ?1 ORDER BY e.position LIMIT ?2");
                    s.bind(1, lane).bind(2, batch).bind(3, cutoff);
                    while (s.step()) {
                        if (s.i64(1) == 0) break;
                        top = s.i64(0);
                        ++count;
                    }
                }
                if (count == 0) return 0;
                statement d(c, "DELETE FROM entries WHERE lane_id = ?1 AND position <= ?2");
                d.bind(1, lane).bind(2, top).run();
                statement m(c, "UPDATE lanes SET pruned_through = max(pruned_through, ?2) WHERE lane_id = ?1");
                m.bind(1, lane).bind(2, top).run();
                return count;
            });
            total += n;
            if (n < batch) break;
        }
    }
    for (;;) {
        const std::int64_t n = pool_->write("prune", [&](connection& c) {
            statement s(c,
                        "DELETE FROM apply_history WHERE id IN "
                        "(SELECT id FROM apply_history WHERE at < ?1 ORDER BY id LIMIT ?2)");
            s.bind(1, cutoff).bind(2, history_prune_batch).run();
            return c.changes();
        });
        if (n < history_prune_batch) break;
    }
    // Give the freed pages back to the file system (the file is in auto_vacuum=INCREMENTAL).
    pool_->with("prune", [&](connection& c) { c.exec("PRAGMA incremental_vacuum"); });
    return total;
}

void sqlite_log_store::set_record_apply_history(bool on) { record_history_->store(on); }

std::vector<apply_step> sqlite_log_store::apply_history(std::string_view instance, std::int64_t lane_id) {
    return pool_->with("apply_history", [&](connection& c) {
        statement s(c,
                    "SELECT from_position, to_position, skipped, at FROM apply_history "
                    "WHERE instance = ?1 AND lane_id = ?2 ORDER BY id");
        s.bind(1, instance).bind(2, lane_id);
        std::vector<apply_step> out;
        while (s.step()) {
            apply_step a;
            a.from = s.i64(0);
            a.to = s.i64(1);
            a.skipped = s.i64(2) != 0;
            a.at = s.f64(3);
            out.push_back(a);
        }
        return out;
    });
}

}  // namespace chromawal::wal
