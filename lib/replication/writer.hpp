#pragma once
// The write path: validates a write, appends it to the log, applies it to every healthy
// instance in parallel (through the applier) and turns the outcomes into a receipt or the
// documented error (rejected, abandoned, queued, quorum not reached).
//
// Owns: no state of its own.
// May touch: context (config, log store, instances), applier (apply_through), sync_worker
// (wake), written_positions (note), api/validate, chroma/protocol and wal/payload (encoding).
// Used by: replicated_client (the public writes) and repairer (repair entries go through the
// log like any write).
//
// Thread-safety: any number of threads may write at once; each write runs its other instances'
// applies on std::async threads and joins them before it returns, except with ack_after_quorum,
// where the appliers of instances that had not finished when the quorum was reached run on and
// are joined by a later write or the destructor.

#include <chromawal/client.hpp>

#include "replication/applier.hpp"
#include "replication/context.hpp"
#include "replication/sync_worker.hpp"
#include "replication/written_positions.hpp"
#include "wal/log_store.hpp"

#include <atomic>
#include <future>
#include <mutex>
#include <string>
#include <vector>

namespace chromawal::detail {

class writer {
public:
    writer(context& ctx, applier& apply, sync_worker& sync, written_positions& written)
        : ctx_(ctx), applier_(apply), sync_(sync), written_(written) {}
    /// Waits for the appliers still running for writes already answered (ack_after_quorum),
    /// each bounded by its write's request timeout.
    ~writer();
    writer(const writer&) = delete;
    writer& operator=(const writer&) = delete;

    write_receipt write_records(const wal::lane_key& key, wal::op_kind op, const record_set& records,
                                const write_options& options = {});
    write_receipt write_delete(const wal::lane_key& key, const delete_options& selector,
                               const write_options& options = {});
    write_receipt write_create(const wal::lane_key& key, const collection_options& options);
    /// get_or_create: logs a creation only when it could change something (see
    /// already_everywhere); otherwise returns an empty receipt and logs nothing.
    write_receipt write_get_or_create(const wal::lane_key& key, const collection_options& options);
    write_receipt write_delete_collection(const wal::lane_key& key);
    write_receipt write_modify(const wal::lane_key& key, const modify_options& changes);
    /// Tenants and databases, through the log: `op` is create_tenant (key: database_lane(t, "")),
    /// create_database or delete_database (key: database_lane(t, d)).
    write_receipt write_database_op(const wal::lane_key& key, wal::op_kind op);

private:
    /// `rename_to`: for a modify that renames, the new name (the lane moves to it).
    write_receipt write_entry(const wal::lane_key& key, wal::op_kind op, std::string payload,
                              const std::string& idempotency_key = {}, const std::string& rename_to = {});
    // Applies a logged entry to the healthy instances and turns the results into the outcome.
    // `trust_copy`: the appliers may use `e` as it is instead of reading it back from the log.
    write_receipt apply_logged(const wal::lane_key& key, const wal::entry& e, bool trust_copy);
    // A write whose idempotency key is already in the log: the first write's outcome.
    write_receipt repeat(const wal::lane_key& key, const wal::new_entry& ne, const wal::found_entry& found);
    // Keeps the appliers of an answered write until they finish (ack_after_quorum).
    void keep_in_background(std::vector<std::future<void>> appliers);
    delete_options choose_limited_delete(const wal::lane_key& key, const delete_options& selector);
    // Every instance is healthy, has applied every entry of the collection's lane, and holds the
    // collection with the requested metadata: a logged get-or-create would change nothing.
    bool already_everywhere(const wal::lane_key& key, const collection_options& options);

    context& ctx_;
    applier& applier_;
    sync_worker& sync_;
    written_positions& written_;
    // Alert state: write_abandoned / quorum_not_reached are emitted once, then again only after
    // a write was applied somewhere / reached the quorum.
    std::atomic<bool> abandon_alerted_{false};
    std::atomic<bool> quorum_alerted_{false};
    // Appliers still running for writes that returned at the quorum (finished ones are dropped
    // at the next such write).
    std::mutex background_mutex_;
    std::vector<std::future<void>> background_;
};

}  // namespace chromawal::detail
