#pragma once
// Moving a log between stores (SQLite and PostgreSQL, either way): chromawal::copy_log, and the
// `chromawal copy-log` command over it. docs/operations.md ("Moving a log to another store").

#include <chromawal/client.hpp>
#include <chromawal/export.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace chromawal {

/// What copy_log copied.
struct CHROMAWAL_API log_copy_report {
    std::string log_id;  ///< the log's id, the same in both stores (the copy is the same log, moved)
    std::string from;    ///< the source's description (never a password)
    std::string to;      ///< the target's description
    std::int64_t lanes = 0;
    std::int64_t entries = 0;
    std::int64_t applied_positions = 0;  ///< (instance, lane) rows
    std::int64_t dead_letters = 0;
};

/// Copies the quiet log that `from` names (its log_url and log_schema; with no log configured,
/// the embedded default of its instance set) into the empty log that `to` names (created when
/// missing), positions included: entries keep their lanes, positions, states and idempotency ids,
/// each instance keeps its applied positions, dead letters stay dead letters, and the log keeps
/// its id, so the instances recorded for it accept the new store (docs/design.md, "One log per
/// instance set"). The apply history is not copied. Afterwards point every client at the target
/// and never use the source again.
///
/// The source must be quiet: no client of it running (writers, sync threads, prune). A change
/// of its lanes during the copy (an append, a rename, a prune) is detected and fails the copy.
/// A copy that fails leaves the target without an id, which no client can use: drop it (the
/// schema, or the file) before copying again. Nothing in the source is changed.
/// @param progress called after each batch with the number of entries copied so far.
/// @throws chromawal::invalid_argument when the target is not empty or is the source itself.
/// @throws chromawal::log_unavailable when either store cannot be reached, or the source changed.
CHROMAWAL_API log_copy_report copy_log(const client_config& from, const client_config& to,
                                       const std::function<void(std::int64_t)>& progress = {});

}  // namespace chromawal
