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
// Record writes and deletes go through a queue per collection (write_queue.cpp): the writes
// waiting there when the log is free are appended together (one transaction) and applied
// together (one request per instance where they merge: group apply), in call order; each
// caller still gets its own receipt or error. An asynchronous write (submit_*) returns a
// future at once; at most client_config::max_in_flight_writes writes per collection are in
// flight (a further submit waits). Each group is applied to every instance by pool threads
// (group_apply.cpp), in group order per instance, so one instance may be a group ahead of
// another.
//
// Thread-safety: any number of threads may write at once. With ack_after_quorum, a write
// returns once the quorum applied it; its other appliers run on (pool threads), and the
// destructor waits for them.

#include <chromawal/client.hpp>

#include "replication/applier.hpp"
#include "replication/context.hpp"
#include "replication/sync_worker.hpp"
#include "replication/worker_pool.hpp"
#include "replication/written_positions.hpp"
#include "wal/log_store.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace chromawal::detail {

/// The outcome a write's exception counts as (chromawal_writes_total).
write_outcome classify_write(const std::exception_ptr& e);
/// The entry an append made of `ne` (at `where`), as the appliers take it without reading it back.
wal::entry logged_entry(wal::new_entry ne, const wal::appended& where, const std::string& collection, double now);
/// A new entry id (a random UUID).
std::string new_entry_id();
/// "add on collection 'c'", "create_database 'd' (tenant 't')" (for messages).
std::string describe_write(wal::op_kind op, const wal::lane_key& key);

class writer {
public:
    writer(context& ctx, applier& apply, sync_worker& sync, written_positions& written)
        : ctx_(ctx), applier_(apply), sync_(sync), written_(written) {}
    /// Waits for the writes in flight and the appliers still running for writes already
    /// answered (ack_after_quorum), each bounded by its request timeout.
    ~writer();
    writer(const writer&) = delete;
    writer& operator=(const writer&) = delete;

    write_receipt write_records(const wal::lane_key& key, wal::op_kind op, const record_set& records,
                                const write_options& options = {});
    write_receipt write_delete(const wal::lane_key& key, const delete_options& selector,
                               const write_options& options = {});
    /// Asynchronous writes: validated now (invalid_argument: nothing logged), then queued; the
    /// future holds the receipt or the write's error. Waits while the collection has
    /// max_in_flight_writes writes in flight. A delete with a limit is done before returning
    /// (its records are chosen first) and returns a ready future.
    std::future<write_receipt> submit_records(const wal::lane_key& key, wal::op_kind op, const record_set& records,
                                              const write_options& options = {});
    std::future<write_receipt> submit_delete(const wal::lane_key& key, const delete_options& selector,
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
    // ---- the queue of one collection (write_queue.cpp) ----
    // A write waiting to be appended (or being applied).
    struct queued_write {
        wal::new_entry ne;
        bool keyed = false;  // the caller's idempotency key: appended alone (a retry finds it)
        std::size_t records = 0;
        bool count = false;     // an asynchronous write: counted when answered
        std::uint64_t seq = 0;  // its place in the queue's call order
        std::promise<write_receipt> promise;
    };
    struct lane_queue {
        std::mutex m;
        std::condition_variable cv;                         // in_flight dropped, appending ended, a turn passed
        std::deque<std::shared_ptr<queued_write>> waiting;  // submitted, not yet appended
        std::size_t in_flight = 0;                          // queued writes not yet answered
        bool appending = false;                             // a leader (or a write outside the queue) appends
        std::uint64_t submitted = 0;                        // writes ever queued (the last one's seq)
        std::size_t direct_pending = 0;                     // writes outside the queue waiting for the append turn
        std::uint64_t next_group = 0;                       // the number of the next group appended
        std::size_t applying = 0;                           // groups appended by a leader, not yet answered
        // Per instance (ctx.instances order): the group whose turn it is there. A group is
        // applied to an instance only after every earlier group of this queue was.
        std::vector<std::uint64_t> turn;
        std::vector<std::set<std::uint64_t>> done;  // per instance: later groups already finished there
    };
    std::shared_ptr<lane_queue> queue_for(const wal::lane_key& key);
    // Queues a write; `lead_here`: when no leader runs, this thread appends (a synchronous write
    // waits anyway), else a pool thread does.
    std::future<write_receipt> enqueue(const wal::lane_key& key, std::shared_ptr<queued_write> w, bool lead_here);
    // Appends what is waiting, group by group, and hands each group to apply_group on a pool
    // thread; returns once `own` (if any) is appended and handed over, or nothing waits.
    void lead(const wal::lane_key& key, const std::shared_ptr<lane_queue>& q, const queued_write* own);
    // Appends one group (the caller leads the queue) and returns the task that applies it and
    // answers each write (empty when every write was answered here: not appended, a repeat).
    std::function<void()> append_group(const wal::lane_key& key, const std::shared_ptr<lane_queue>& q,
                                       std::vector<std::shared_ptr<queued_write>> group);
    // Answers a queued write (and frees its place in the window).
    void answer(lane_queue& q, queued_write& w, write_receipt receipt, std::exception_ptr error);
    std::shared_ptr<queued_write> record_write(const wal::lane_key& key, wal::op_kind op, const record_set& records,
                                               const write_options& options);
    std::shared_ptr<queued_write> delete_write(const wal::lane_key& key, const delete_options& selector,
                                               const write_options& options);
    // The front of the queue's waiting writes, up to seq `upto`, that go in one group.
    static std::vector<std::shared_ptr<queued_write>> take_group(lane_queue& q, std::size_t max_records,
                                                                 std::uint64_t upto);
    // Takes the append turn of a write outside the queue (collection operations, keyed
    // repeats, limited deletes), once the writes queued before it are appended (by this
    // thread if need be); a leader yields to it after its current group.
    void begin_direct(const wal::lane_key& key, const std::shared_ptr<lane_queue>& q);
    // Ends it: the group number of what it appended (if anything), and starts a leader for
    // writes that queued meanwhile.
    std::uint64_t end_direct(const wal::lane_key& key, const std::shared_ptr<lane_queue>& q, bool appended);

    // ---- applying a group (group_apply.cpp) ----
    // One write's outcome: its receipt, or the exception it ends with.
    struct outcome {
        write_receipt receipt;
        std::exception_ptr error;
    };
    // Applies logged entries (consecutive positions of one lane, one group of `q`) to the
    // healthy instances and turns the results into each entry's outcome. `trust_copy`: the
    // appliers may use the entries as they are instead of reading them back from the log.
    std::vector<outcome> apply_group(const wal::lane_key& key, const std::shared_ptr<lane_queue>& q,
                                     std::uint64_t group, std::vector<wal::entry> entries, bool trust_copy);
    // Group `group` is done on the instance (index into ctx.instances): the next may go there.
    void pass_turn(lane_queue& q, std::size_t instance, std::uint64_t group);
    // Applies entries appended while holding the append turn of `q` as the next group, outside
    // the queue (direct writes, repeats): the group's number is taken now.
    write_receipt apply_direct(const wal::lane_key& key, const std::shared_ptr<lane_queue>& q, std::uint64_t group,
                               wal::entry e, bool trust_copy);

    /// `rename_to`: for a modify that renames, the new name (the lane moves to it).
    write_receipt write_entry(const wal::lane_key& key, wal::op_kind op, std::string payload,
                              const std::string& idempotency_key = {}, const std::string& rename_to = {});
    // A write whose idempotency key is already in the log: the first write's outcome (applied
    // as a group of its own, in the queue's order: the caller holds the append turn of `q`).
    write_receipt repeat(const wal::lane_key& key, const std::shared_ptr<lane_queue>& q, const wal::new_entry& ne,
                         const wal::found_entry& found);
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
    std::mutex queues_mutex_;
    std::unordered_map<std::string, std::shared_ptr<lane_queue>> queues_;  // by wal::map_key
    // Last: destroyed first, after every task (leaders, groups, appliers) has finished.
    worker_pool pool_;
};

}  // namespace chromawal::detail
