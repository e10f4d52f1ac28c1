#include "wal/pg/statements.hpp"

#include <cctype>
#include <utility>

#include "wal/pg/wire.hpp"

namespace chromawal::wal::pg {

std::string in_schema(std::string_view sql, const std::string& quoted) {
    std::string out;
    out.reserve(sql.size() + 64);
    for (std::size_t i = 0; i < sql.size(); ++i) {
        bool word_start = i == 0 || !(std::isalnum(static_cast<unsigned char>(sql[i - 1])) || sql[i - 1] == '_');
        if (word_start && sql[i] == 'S' && i + 1 < sql.size() && sql[i + 1] == '.') {
            out += quoted;
            out += '.';
            ++i;
        } else {
            out += sql[i];
        }
    }
    return out;
}

namespace {

// A lane's progress on an instance (l, with the instance's position row p), in the order
// progress_row (pg_log_store.cpp) reads them.
constexpr const char* progress_columns =
    "l.lane_id, l.tenant, l.database, l.collection, l.next_position - 1, COALESCE(p.applied_position, 0), "
    "COALESCE((SELECT extract(epoch FROM e.created_at)::float8 FROM S.entries e "
    "          WHERE e.lane_id = l.lane_id AND e.position = COALESCE(p.applied_position, 0) + 1), 0), "
    "l.pruned_through, l.holds_name";

// The columns of an entry (e, joined with its lane l), in the order entry_from_row reads them.
// An entry written before schema version 5 has no name of its own: its lane's first name.
constexpr const char* entry_columns =
    "e.position, e.idempotency_id, e.op, e.payload, e.state, e.attempts, COALESCE(e.last_error, ''), "
    "extract(epoch FROM e.created_at)::float8, COALESCE(e.collection, l.first_name), COALESCE(e.after_lane, 0), "
    "COALESCE(e.after_position, 0)";

// Whether instance $1 has applied (after_lane, after_position) of the lane (l) and of the entry (e).
constexpr const char* entry_ready =
    "(l.after_lane IS NULL OR COALESCE((SELECT d.applied_position FROM S.instance_positions d "
    "   WHERE d.instance = $1 AND d.lane_id = l.after_lane), 0) >= l.after_position) "
    "AND (e.after_lane IS NULL OR COALESCE((SELECT d.applied_position FROM S.instance_positions d "
    "   WHERE d.instance = $1 AND d.lane_id = e.after_lane), 0) >= e.after_position)";

}  // namespace

std::array<statement, stmt_count> make_statements(const std::string& quoted) {
    std::array<statement, stmt_count> s;
    auto def = [&](stmt id, const std::string& sql, std::vector<Oid> types) {
        auto& st = s[static_cast<std::size_t>(id)];
        st.name = "chromawal_" + std::to_string(static_cast<int>(id));
        st.sql = in_schema(sql, quoted);
        st.types = std::move(types);
    };
    // The common case, every entry in one lane, in one plain statement (no PL/pgSQL): the
    // UPDATE takes the lane's positions and its row lock, held until commit. No row when no
    // lane holds the name (yet, or any more: a rename that committed while this waited for the
    // row lock moved it; PostgreSQL re-checks the WHERE on the row it waited for).
    def(stmt::append_one_lane,
        "WITH lane AS ("
        "  UPDATE S.lanes SET next_position = next_position + cardinality($4::text[]) "
        "  WHERE tenant = $1 AND database = $2 AND collection = $3 AND holds_name "
        "  RETURNING lane_id, next_position - cardinality($4::text[]) AS first_position) "
        "INSERT INTO S.entries (lane_id, position, idempotency_id, op, payload, collection) "
        "SELECT lane.lane_id, lane.first_position + u.i - 1, u.idempotency_id, u.op, u.payload, $3 "
        "FROM lane, unnest($4::text[], $5::int2[], $6::bytea[]) WITH ORDINALITY AS u(idempotency_id, op, payload, i) "
        "RETURNING lane_id, position",
        {oid_text, oid_text, oid_text, oid_text_array, oid_int2_array, oid_bytea_array});
    def(stmt::append,
        "SELECT out_ord, out_lane_id, out_position FROM S.append_entries($1, $2, $3, $4, $5, $6) ORDER BY out_ord",
        {oid_text_array, oid_text_array, oid_text_array, oid_text_array, oid_int2_array, oid_bytea_array});
    def(stmt::append_rename, "SELECT out_lane_id, out_position FROM S.append_rename($1, $2, $3, $4, $5, $6, $7)",
        {oid_text, oid_text, oid_text, oid_text, oid_int2, oid_bytea, oid_text});
    def(stmt::lookup_ids,
        "SELECT e.idempotency_id, e.lane_id, e.position, l.tenant, l.database, COALESCE(e.collection, l.first_name), "
        "e.op, e.payload "
        "FROM S.entries e JOIN S.lanes l ON l.lane_id = e.lane_id WHERE e.idempotency_id = ANY($1)",
        {oid_text_array});
    // The lane that holds the name, created when none does (see the migrations).
    def(stmt::claim_lane, "SELECT S.claim_lane($1, $2, $3)", {oid_text, oid_text, oid_text});
    def(stmt::progress,
        std::string("SELECT ") + progress_columns +
            " FROM S.lanes l LEFT JOIN S.instance_positions p ON p.lane_id = l.lane_id AND p.instance = $1 "
            "WHERE NOT $2 OR l.next_position - 1 > COALESCE(p.applied_position, 0) ORDER BY l.lane_id",
        {oid_text, oid_bool});
    // The lanes behind of several instances in one round trip (the sync thread's pass): the
    // columns of progress, then the instance's index in $1 (from 1).
    def(stmt::progress_many,
        std::string("SELECT ") + progress_columns +
            ", i.n FROM unnest($1::text[]) WITH ORDINALITY AS i(instance, n) CROSS JOIN S.lanes l "
            "LEFT JOIN S.instance_positions p ON p.lane_id = l.lane_id AND p.instance = i.instance "
            "WHERE l.next_position - 1 > COALESCE(p.applied_position, 0) ORDER BY i.n, l.lane_id",
        {oid_text_array});
    def(stmt::unlock, "SELECT pg_advisory_unlock($1, $2)", {oid_int4, oid_int4});
    // The applied position and, in the same round trip, how far the lane has been pruned and
    // whether the lane's start (after_lane, after_position) is applied on the instance.
    def(stmt::applied,
        "SELECT COALESCE(p.applied_position, 0), l.pruned_through, "
        "l.after_lane IS NULL OR COALESCE((SELECT d.applied_position FROM S.instance_positions d "
        "  WHERE d.instance = $1 AND d.lane_id = l.after_lane), 0) >= l.after_position "
        "FROM S.lanes l "
        "LEFT JOIN S.instance_positions p ON p.lane_id = l.lane_id AND p.instance = $1 WHERE l.lane_id = $2",
        {oid_text, oid_int8});
    // The running byte total stops the batch before max_bytes, but keeps at least one entry.
    // With each entry, whether what it depends on is applied on the instance (entry_ready).
    def(stmt::read,
        std::string("SELECT ") + entry_columns + ", " + entry_ready +
            " FROM (SELECT x.*, sum(octet_length(x.payload)) OVER w AS running_bytes, row_number() OVER w AS n "
            "      FROM S.entries x WHERE x.lane_id = $2 AND x.position > COALESCE("
            "          (SELECT p.applied_position FROM S.instance_positions p "
            "           WHERE p.instance = $1 AND p.lane_id = $2), 0) "
            "      WINDOW w AS (ORDER BY x.position ROWS UNBOUNDED PRECEDING) "
            "      ORDER BY x.position LIMIT $3) e JOIN S.lanes l ON l.lane_id = e.lane_id "
            "WHERE e.n = 1 OR e.running_bytes <= $4 ORDER BY e.position",
        {oid_text, oid_int8, oid_int8, oid_int8});
    // Never backwards (the WHERE of DO UPDATE) and never beyond the head (the WHERE of SELECT).
    // With $5, the advance ($4 -> $3; $6: skipped) goes into the apply history in the same
    // statement, hence the same transaction.
    def(stmt::advance,
        "WITH up AS ("
        "  INSERT INTO S.instance_positions AS p (instance, lane_id, applied_position, updated_at) "
        "  SELECT $1, l.lane_id, $3, now() FROM S.lanes l WHERE l.lane_id = $2 AND $3 < l.next_position "
        "  ON CONFLICT (instance, lane_id) DO UPDATE SET applied_position = EXCLUDED.applied_position, "
        "  updated_at = EXCLUDED.updated_at WHERE p.applied_position < EXCLUDED.applied_position "
        "  RETURNING 1), "
        "history AS ("
        "  INSERT INTO S.apply_history (instance, lane_id, from_position, to_position, skipped) "
        "  SELECT $1, $2, $4, $3, $6 FROM up WHERE $5) "
        "SELECT 1 FROM up",
        {oid_text, oid_int8, oid_int8, oid_int8, oid_bool, oid_bool});
    def(stmt::head, "SELECT next_position - 1 FROM S.lanes WHERE lane_id = $1", {oid_int8});
    def(stmt::set_state,
        "UPDATE S.entries SET state = $3, last_error = COALESCE($4, last_error), updated_at = now() "
        "WHERE lane_id = $1 AND position = $2",
        {oid_int8, oid_int8, oid_int2, oid_text});
    def(stmt::record_failure,
        "UPDATE S.entries SET attempts = attempts + 1, last_error = $3, updated_at = now() "
        "WHERE lane_id = $1 AND position = $2 RETURNING attempts",
        {oid_int8, oid_int8, oid_text});
    def(stmt::abandon, "SELECT S.abandon_unless_applied($1, $2, $3, $4, $5, $6)",
        {oid_int4_array, oid_int4, oid_int8, oid_int8, oid_text_array, oid_int4});
    def(stmt::add_dead,
        "INSERT INTO S.dead_letters (instance, lane_id, position, error, at) VALUES ($1, $2, $3, $4, now()) "
        "ON CONFLICT (instance, lane_id, position) DO UPDATE SET error = EXCLUDED.error, at = EXCLUDED.at",
        {oid_text, oid_int8, oid_int8, oid_text});
    def(stmt::list_dead,
        "SELECT d.instance, d.lane_id, d.position, l.tenant, l.database, COALESCE(e.collection, l.first_name), e.op, "
        "d.error, "
        "extract(epoch FROM d.at)::float8 "
        "FROM S.dead_letters d JOIN S.lanes l ON l.lane_id = d.lane_id "
        "JOIN S.entries e ON e.lane_id = d.lane_id AND e.position = d.position "
        "ORDER BY d.at, d.lane_id, d.position, d.instance LIMIT $1",
        {oid_int8});
    // The entry's last dead letter gone: a dead entry is pending again (then marked applied and
    // pruned like any other). The snapshot still sees the deleted row: other instances only.
    def(stmt::remove_dead,
        "WITH d AS (DELETE FROM S.dead_letters WHERE instance = $1 AND lane_id = $2 AND position = $3 "
        "           RETURNING lane_id, position) "
        "UPDATE S.entries e SET state = 0, updated_at = now() FROM d "
        "WHERE e.lane_id = d.lane_id AND e.position = d.position AND e.state = 4 "
        "AND NOT EXISTS (SELECT 1 FROM S.dead_letters x "
        "                WHERE x.lane_id = d.lane_id AND x.position = d.position AND x.instance <> $1)",
        {oid_text, oid_int8, oid_int8});
    def(stmt::read_entry,
        std::string("SELECT ") + entry_columns +
            " FROM S.entries e JOIN S.lanes l ON l.lane_id = e.lane_id WHERE e.lane_id = $1 AND e.position = $2",
        {oid_int8, oid_int8});
    // entry_columns, then the lane (entries and lanes both have created_at: spelled out).
    def(stmt::find_entry,
        std::string("SELECT ") + entry_columns +
            ", e.lane_id, l.tenant, l.database, l.collection "
            "FROM S.entries e JOIN S.lanes l ON l.lane_id = e.lane_id WHERE e.idempotency_id = $1",
        {oid_text});
    // An instance without a row counts as 0; SKIP LOCKED keeps clear of rows being updated.
    def(stmt::mark_applied,
        "WITH upto AS ("
        "  SELECT l.lane_id, min(COALESCE(p.applied_position, 0)) AS position "
        "  FROM S.lanes l CROSS JOIN unnest($1::text[]) AS i(instance) "
        "  LEFT JOIN S.instance_positions p ON p.lane_id = l.lane_id AND p.instance = i.instance "
        "  GROUP BY l.lane_id), "
        "batch AS ("
        "  SELECT e.lane_id, e.position FROM S.entries e JOIN upto u ON u.lane_id = e.lane_id "
        "  WHERE e.state = 0 AND e.position <= u.position LIMIT $2 FOR UPDATE OF e SKIP LOCKED) "
        "UPDATE S.entries e SET state = 1, updated_at = now() FROM batch b "
        "WHERE e.lane_id = b.lane_id AND e.position = b.position AND e.state = 0",
        {oid_text_array, oid_int8});
    def(stmt::counts,
        "SELECT count(*) FILTER (WHERE state = 0), count(*) FILTER (WHERE state = 1), "
        "count(*) FILTER (WHERE state = 2), count(*) FILTER (WHERE state = 3), count(*) FILTER (WHERE state = 4), "
        "COALESCE(extract(epoch FROM min(created_at) FILTER (WHERE state = 0))::float8, 0) FROM S.entries",
        {});
    // Retention. $1 (or $2): the age in milliseconds. Lanes whose first entry may go: one index
    // probe per lane.
    def(stmt::prune_lanes,
        "SELECT l.lane_id FROM S.lanes l CROSS JOIN LATERAL ("
        "  SELECT e.state, e.created_at FROM S.entries e WHERE e.lane_id = l.lane_id ORDER BY e.position LIMIT 1) f "
        "WHERE f.state IN (1, 2, 3) AND f.created_at < now() - ($1::float8 / 1000) * interval '1 second' "
        "ORDER BY l.lane_id",
        {oid_int8});
    // One batch of one lane: the first $3 entries; those before the first that must stay
    // (pending, dead, dead-lettered somewhere, or too young) are deleted, and the lane's
    // pruned_through moves to the last of them. The DELETE re-checks the state of rows that
    // changed meanwhile.
    def(stmt::prune_lane,
        "WITH cand AS ("
        "  SELECT e.position, (e.state IN (1, 2, 3) "
        "         AND e.created_at < now() - ($2::float8 / 1000) * interval '1 second' "
        "         AND NOT EXISTS (SELECT 1 FROM S.dead_letters d "
        "                         WHERE d.lane_id = e.lane_id AND d.position = e.position)) AS ok "
        "  FROM S.entries e WHERE e.lane_id = $1 ORDER BY e.position LIMIT $3), "
        "stop AS (SELECT min(position) AS position FROM cand WHERE NOT ok), "
        "del AS ("
        "  DELETE FROM S.entries e WHERE e.lane_id = $1 AND e.state IN (1, 2, 3) AND e.position IN ("
        "    SELECT c.position FROM cand c "
        "    WHERE c.ok AND c.position < COALESCE((SELECT position FROM stop), 9223372036854775807)) "
        "  RETURNING e.position), "
        "mark AS ("
        "  UPDATE S.lanes l SET pruned_through = GREATEST(l.pruned_through, t.top) "
        "  FROM (SELECT max(position) AS top FROM del) t WHERE l.lane_id = $1 AND t.top IS NOT NULL) "
        "SELECT count(*) FROM del",
        {oid_int8, oid_int8, oid_int8});
    // The oldest $2 history rows, those older than the retention.
    def(stmt::prune_history,
        "WITH cand AS (SELECT id, at FROM S.apply_history ORDER BY id LIMIT $2), "
        "del AS (DELETE FROM S.apply_history h WHERE h.id IN ("
        "  SELECT id FROM cand WHERE at < now() - ($1::float8 / 1000) * interval '1 second') RETURNING 1) "
        "SELECT (SELECT count(*) FROM del), (SELECT count(*) FROM cand)",
        {oid_int8, oid_int8});
    def(stmt::history,
        "SELECT from_position, to_position, skipped, extract(epoch FROM at)::float8 FROM S.apply_history "
        "WHERE instance = $1 AND lane_id = $2 ORDER BY id",
        {oid_text, oid_int8});
    // Taking a lane lock and, once taken, reading what stmt::applied reads (schema version 7:
    // the read is a statement after the lock, with a snapshot from after it). $3: the wait in
    // ms, 0 to only try. One row: locked, applied_position, pruned_through, start_ready.
    def(stmt::lock_applied, "SELECT * FROM S.lock_lane_applied($1, $2, $3, $4, $5)",
        {oid_int4, oid_int4, oid_int4, oid_text, oid_int8});
    // stmt::advance ($1..$6 as there), committed, then the lane lock ($7, $8) let go. A CALL that
    // commits inside: only outside a transaction block. One row: advanced, head, released.
    def(stmt::advance_release, "CALL S.advance_release($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, NULL)",
        {oid_text, oid_int8, oid_int8, oid_int8, oid_bool, oid_bool, oid_int4, oid_int4});
    return s;
}

entry entry_from_row(const PGresult* r, int row, std::int64_t lane_id, bool with_ready) {
    entry e;
    e.lane_id = lane_id;
    e.position = col_i64(r, row, 0);
    e.idempotency_id = col_bytes(r, row, 1);
    e.op = static_cast<op_kind>(col_i16(r, row, 2));
    e.payload = col_bytes(r, row, 3);
    e.state = static_cast<entry_state>(col_i16(r, row, 4));
    e.attempts = col_i32(r, row, 5);
    e.last_error = col_bytes(r, row, 6);
    e.created_at = col_f64(r, row, 7);
    e.collection = col_bytes(r, row, 8);
    e.after_lane = col_i64(r, row, 9);
    e.after_position = col_i64(r, row, 10);
    if (with_ready) e.ready = col_bool(r, row, 11);
    return e;
}

}  // namespace chromawal::wal::pg
