#pragma once
// The applier: brings one instance up to a position in one lane, under the lane lock (the
// in-process lane mutex of instance_state, then the log's lane lock), merging consecutive
// record entries into one request and dead-lettering entries an instance keeps rejecting.
//
// Owns: no state of its own (the lane mutexes and known positions live in instance_state, the
// lane locks and positions in the log).
// May touch: context (config, log store, emit), instance_state, the instance's
// chroma_connection, wal/payload (decoding, merging, splitting record payloads) and
// chroma/protocol (decoding responses and log payloads).
// Used by: writer (live writes), sync_worker (sync passes, dead-letter replay), repairer.
//
// Thread-safety: every member function may be called from any thread at once; the lane locks
// serialise appliers of one lane and instance.

#include "replication/context.hpp"
#include "wal/log_store.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace chromawal::detail {

/// What one attempt to bring an instance up to a position achieved.
/// needs_repair: the instance missed entries of the lane that retention pruned; it must not
/// replay the rest (only repair() brings it back).
enum class apply_outcome { applied, failed, rejected, busy, behind, needs_repair };

struct apply_result {
    apply_outcome outcome = apply_outcome::failed;
    std::string error;
    int status = 0;
    std::string error_name;
    std::string server_message;
    /// A request was sent and no definite answer came back (no answer in time, the connection
    /// broke mid-way, a 5xx): the instance may have applied it. Such a write is never abandoned.
    bool maybe_applied = false;
};

class applier {
public:
    explicit applier(context& ctx) : ctx_(ctx) {}

    /// Brings `inst` up to `target` in one lane. `fresh`: the entry just appended (no need to
    /// read it back); `live`: a write's own apply (trusts known positions, catches up at most a
    /// short backlog, reports rejections to the caller instead of recording them).
    /// `deadline`: a live write's apply never outlasts one request timeout in total (lock waits
    /// included), so a hung instance cannot stall a writer longer than that.
    apply_result apply_through(
        instance_state& inst, std::int64_t lane_id, const wal::lane_key& key, std::int64_t target,
        const wal::entry* fresh, bool live,
        std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());

    /// Applies entries from the front of `batch` (at least one) and returns how many it consumed.
    /// The caller holds the lane lock (or replays a dead letter, which is idempotent).
    std::size_t apply_front(instance_state& inst, const wal::lane_key& key, const std::vector<wal::entry>& batch,
                            std::chrono::steady_clock::time_point deadline);

private:
    void apply_single(instance_state& inst, const wal::lane_key& key, const wal::entry& e,
                      std::chrono::steady_clock::time_point deadline);

    context& ctx_;
};

}  // namespace chromawal::detail
