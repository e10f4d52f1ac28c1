#pragma once
// The SQL of the PostgreSQL log store: every prepared statement the store and its lane locks run.
//
// Owns: the `stmt` enum (one per statement; its index is also the bit of "prepared on this
// connection" in the pool), each statement's text and parameter types (make_statements), the
// "S." schema placeholder (in_schema, shared with the migrations) and the decoding of an
// entries row in the shape of `entry_columns` (entry_from_row). The tables and functions these
// statements use are created by migrations.hpp. Calls: the wire format helpers only (no
// connection). Thread-safety: pure functions; the pool builds the statements once and only
// reads them afterwards.

#include <libpq-fe.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "wal/log_store.hpp"

namespace chromawal::wal::pg {

enum class stmt : int {
    append_one_lane,
    append,
    append_rename,
    lookup_ids,
    claim_lane,
    progress,
    progress_many,
    unlock,
    applied,
    read,
    advance,
    head,
    set_state,
    record_failure,
    abandon,
    add_dead,
    list_dead,
    remove_dead,
    read_entry,
    find_entry,
    mark_applied,
    counts,
    prune_lanes,
    prune_lane,
    prune_history,
    history,
    lock_applied,
    advance_release,
    count_  // number of statements
};
inline constexpr std::size_t stmt_count = static_cast<std::size_t>(stmt::count_);
static_assert(stmt_count <= 32, "prepared-statement bit set is 32 bits wide");

struct statement {
    std::string name;
    std::string sql;
    std::vector<Oid> types;
};

/// Replaces every "S." (at the start of a word) with the quoted schema and a dot.
std::string in_schema(std::string_view sql, const std::string& quoted);

/// Every statement, its schema references resolved to `quoted` (the schema name in quotes).
std::array<statement, stmt_count> make_statements(const std::string& quoted);

/// An entry from a row whose columns are `entry_columns` (stmt::read and stmt::read_entry),
/// followed by `entry_ready` when `with_ready` (stmt::read); otherwise the entry counts as ready.
entry entry_from_row(const PGresult* r, int row, std::int64_t lane_id, bool with_ready = false);

}  // namespace chromawal::wal::pg
