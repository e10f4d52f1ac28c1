#pragma once
// One log per instance set (docs/design.md, "One log per instance set"): each instance records
// which write-ahead log drives it, and a client whose log differs refuses to write until an
// operator takes the instances over.
//
// The record: a collection in the reserved database `chromawal_meta` of the client's tenant
// (ordinary listing of the client's database does not show it), one per database the log
// writes to, named "log-" + 16 hex digits of the database name's hash, with metadata: log_id,
// log (the log's description), database, recorded_at, recorded_by (host), and after a
// takeover previous_log_id, previous_log, taken_over_at, taken_over_by, takeover_reason.
//
// When it is read: before the first write that would reach an instance whose record is
// unchecked (at start, after the instance was down, after the log came back), and again by the
// sync thread every recheck_interval (every foreign_recheck_interval while it names another
// log, so that a takeover by another process of this log is seen soon). An instance with no
// record gets this log's (the first client that writes through a log records it); two clients
// of different logs racing to record it: the create that loses reads the winner's.
//
// May touch: the context (store identity, instances' claims, events) and a chroma_client per
// instance for the reserved database. Thread-safety: every function may be called from any
// thread; checks of one instance are serialised by its claim_check_mutex.

#include <chromawal/client.hpp>

#include "replication/context.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace chromawal::detail {

inline constexpr const char* meta_database = "chromawal_meta";
inline constexpr std::chrono::seconds recheck_interval{30};
inline constexpr std::chrono::seconds foreign_recheck_interval{2};

/// The record's collection name for `database`.
std::string log_record_name(const std::string& database);

/// Reads the instance's record and sets its claim. When there is none, writes this log's if
/// `may_record`, else leaves it unchecked. Also unchecked when the instance or the log cannot
/// be reached. Never throws.
///
/// Instances are checked in configuration order, and none is recorded for this log once
/// another is found recorded for another log: so two logs' clients racing to record a fresh
/// instance set cannot split it (the first to record the first instance gets them all).
void check_log_claim(context& ctx, instance_state& inst, bool may_record) noexcept;

/// True when writes may be applied to the instance now: healthy and recorded for this log
/// (checked first when unchecked).
bool writable(context& ctx, instance_state& inst);

/// Before a write is logged: checks every healthy instance whose claim is unchecked, then
/// @throws log_conflict naming both logs when an instance is recorded for another log.
void refuse_if_other_log(context& ctx);

/// For the sync thread: checks healthy instances whose claim is unchecked or due for a recheck.
void recheck_claims_if_due(context& ctx) noexcept;

/// client::take_over_instances.
std::vector<takeover_step> take_over_instances(context& ctx, const std::string& reason);

}  // namespace chromawal::detail
