#pragma once
// The sync worker: the background sync thread (woken by the writer, the health monitor and
// every sync_interval; it also drives the log's reconnection after a degraded start or an
// outage), one sync pass (replays every lane a healthy instance is behind in, marks entries
// applied everywhere, raises the backlog alert over every instance's backlog and the
// needs-repair alert), wait_until_synced and the replay of dead letters. In a pass, a failing
// entry holds up only its lane on that instance (the lane backs off; the other lanes go on); a
// failing instance stops the pass on that instance. A lane waiting for a rename in another lane
// is tried again after the others in the same pass.
//
// Owns: the sync thread, its wake-up flag and condition variable, the pass mutex (one sync pass
// at a time in this process), the "sync running" flag and the backlog and needs-repair alert states.
// May touch: context (config, log store, instances, stop flag, emit), applier (apply_through,
// replay), retention (maybe_prune, from the sync thread).
// Used by: replicated_client (start/stop, sync_pass, wait_until_synced, replay_dead_letters),
// writer and health_monitor (wake).
//
// Thread-safety: wake(), sync_pass(), wait_until_synced() and replay_dead_letters() may be
// called from any thread; start(), request_stop(), join() and mark_stopped() only by the owner
// (replicated_client::start_background / stop_background).

#include "replication/applier.hpp"
#include "replication/context.hpp"
#include "replication/retention.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace chromawal::detail {

class sync_worker {
public:
    sync_worker(context& ctx, applier& apply, retention& retain) : ctx_(ctx), applier_(apply), retention_(retain) {}

    /// Starts the sync thread (and says so in status).
    void start();
    bool started() const noexcept { return thread_.joinable(); }
    /// Wakes the thread so that it sees context::stopping (set by the caller before).
    void request_stop();
    void join();
    /// Status stops showing the sync thread as running.
    void mark_stopped() noexcept { running_ = false; }
    bool running() const noexcept { return running_.load(); }

    /// Runs a sync pass soon (on the sync thread).
    void wake();
    void sync_pass();
    /// True when every instance is healthy, has applied every entry of every lane, and no
    /// instance has a dead letter outstanding (see client::wait_until_synced).
    bool wait_until_synced(std::chrono::milliseconds timeout);
    /// See client::replay_dead_letters.
    replay_result replay_dead_letters();

private:
    void loop();
    /// Replaces the instance's needs-repair set; emits instance_needs_repair for each collection
    /// newly in it (once until it has been repaired). Under pass_mutex_.
    void note_needs_repair(instance_state& inst, std::set<std::string> unrepaired);
    /// Whether some instance of this client has a dead-lettered entry. @throws log_unavailable.
    bool dead_letter_outstanding();

    context& ctx_;
    applier& applier_;
    retention& retention_;

    std::atomic<bool> running_{false};
    std::mutex wake_mutex_;
    std::condition_variable wake_cv_;
    bool wake_ = false;
    std::mutex pass_mutex_;  // one sync pass at a time in this process
    std::thread thread_;
    std::atomic<std::int64_t> backlog_alerted_{0};
    std::map<std::string, std::set<std::string>> repair_alerted_;  // per instance; under pass_mutex_
    // The last mark_applied of a pass (under pass_mutex_): for which instances, at which
    // applied_moves() sum, when. A pass marks again only when positions moved (at most once a
    // second) or the healthy set changed, and otherwise every mark_applied_every (another
    // process's applies).
    std::vector<std::string> marked_for_;
    std::uint64_t marked_moves_ = 0;
    std::chrono::steady_clock::time_point marked_at_{};
};

}  // namespace chromawal::detail
