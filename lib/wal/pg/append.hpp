#pragma once
// PostgreSQL's side of group commit (../group_commit.hpp): one append transaction, and how
// its failures read to the caller of append().
//
// Owns: append_now (one statement, hence one transaction and one round trip: stmt
// append_one_lane for one lane, claiming the lane first when no lane holds the name; the
// append_rename function for a rename, which moves the name in the same transaction; the
// append_entries function for several lanes) and the in-doubt retry. append() is retried only
// when its connection broke, and the retry is safe because idempotency ids are unique: if the
// first attempt did commit, the retry finds its entries (same lane, op and payload) and returns
// their positions instead of appending twice. If the retry cannot run either, the first
// attempt's outcome is unknown: chromawal::outcome_unknown (unless the statement certainly never
// left: log_unavailable). Refused (nothing committed, so group commit redoes a combined round
// call by call): a duplicate idempotency id or any statement the server refused.
// Calls: the pool (acquire, run, drop_idle), the statements append_one_lane, append,
// append_rename, claim_lane, lookup_ids. Thread-safety: the backend holds no state but the
// shared pool; it may be called from any number of threads at once.

#include <memory>

#include "wal/group_commit.hpp"

namespace chromawal::wal::pg {

struct pool;

/// The append transaction of the store whose connections `shared` pools.
std::unique_ptr<append_backend> make_append_backend(std::shared_ptr<pool> shared);

}  // namespace chromawal::wal::pg
