// sync_worker: see sync_worker.hpp for what it owns, what it touches and its thread-safety.
#include "replication/sync_worker.hpp"

#include "replication/log_identity.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace chromawal::detail {

namespace {

using clock = std::chrono::steady_clock;

// Marking entries applied everywhere (an UPDATE) is what status' pending count and retention go
// by: after this process moved a position, at most once a second; without that, every 10 s
// (applies of other processes sharing the log).
constexpr std::chrono::seconds mark_applied_min_gap{1};
constexpr std::chrono::seconds mark_applied_every{10};

}  // namespace

void sync_worker::start() {
    running_ = true;
    thread_ = std::thread([this] { loop(); });
}

void sync_worker::request_stop() {
    {
        std::lock_guard<std::mutex> lock(wake_mutex_);
        wake_ = true;
    }
    wake_cv_.notify_all();
}

void sync_worker::join() {
    if (thread_.joinable()) thread_.join();
}

void sync_worker::wake() {
    {
        std::lock_guard<std::mutex> lock(wake_mutex_);
        wake_ = true;
    }
    wake_cv_.notify_one();
}

void sync_worker::loop() {
    while (!ctx_.stopping) {
        {
            std::unique_lock<std::mutex> lock(wake_mutex_);
            wake_cv_.wait_for(lock, ctx_.config.sync_interval, [this] { return wake_ || ctx_.stopping.load(); });
            wake_ = false;
        }
        if (ctx_.stopping) break;
        // After a degraded start or during an outage: reconnect (with backoff), migrate.
        ctx_.store->reconnect_if_due();
        if (!ctx_.store->ready()) continue;
        try {
            sync_pass();
        } catch (const std::exception&) {
            // The log store is away: try again on the next wake-up.
        }
        if (ctx_.stopping) break;
        retention_.maybe_prune();
    }
}

void sync_worker::sync_pass() {
    std::lock_guard<std::mutex> pass(pass_mutex_);
    recheck_claims_if_due(ctx_);
    bool all_caught_up = true;
    std::int64_t backlog = 0;
    std::vector<std::string> healthy;
    // Every instance's lanes behind, in one round trip (an idle client runs this twice a second).
    std::vector<std::vector<wal::lane_progress>> behind = ctx_.store->lanes_behind(ctx_.instance_names);
    for (std::size_t k = 0; k < ctx_.instances.size(); ++k) {
        instance_state& inst = *ctx_.instances[k];
        if (ctx_.stopping) return;
        // Every instance's backlog counts for the alert, and a repair it needs is reported, even
        // while it is down or backing off (that is when operators need to hear of it).
        const bool is_healthy = inst.healthy();
        const std::vector<wal::lane_progress>& lanes = behind.at(k);
        std::set<std::string> unrepaired;
        for (const auto& lane : lanes) {
            backlog += lane.head - lane.applied;
            if (lane.needs_repair() && lane.holds_name && lane.key.tenant == ctx_.config.tenant &&
                lane.key.database == ctx_.config.database)
                unrepaired.insert(lane.key.collection);
        }
        note_needs_repair(inst, std::move(unrepaired));
        // Recorded for another log (or not read yet): nothing of this log is applied there.
        if (!is_healthy || inst.claim() != instance_state::log_claim::ours) {
            if (is_healthy) all_caught_up = false;
            continue;
        }
        healthy.push_back(inst.name());
        if (!inst.may_sync_now(clock::now())) {
            all_caught_up = false;
            continue;
        }
        bool failed = false;
        // A lane waiting for another one (a rename there comes first) is tried again after the
        // others, as long as a round gets further.
        std::vector<const wal::lane_progress*> todo;
        todo.reserve(lanes.size());
        for (const auto& lane : lanes) todo.push_back(&lane);
        for (int round = 0; !todo.empty() && !failed; ++round) {
            std::vector<const wal::lane_progress*> waiting;
            bool progressed = false;
            for (const auto* lane : todo) {
                if (ctx_.stopping) return;
                // Left for repair() (status says so). It does not stop the other lanes from being
                // marked applied: mark_applied goes by each lane's lowest position.
                if (lane->needs_repair()) continue;
                if (!inst.may_sync_lane(lane->lane_id, clock::now())) {
                    all_caught_up = false;  // an entry of it failed here lately: backing off
                    continue;
                }
                const std::int64_t before = inst.known_applied(lane->lane_id);
                auto r = applier_.apply_through(inst, lane->lane_id, lane->key, lane->head, nullptr, false);
                if (inst.known_applied(lane->lane_id) > before) progressed = true;
                switch (r.outcome) {
                    case apply_outcome::applied:
                        inst.lane_succeeded(lane->lane_id);
                        progressed = true;
                        break;
                    case apply_outcome::needs_repair:
                        break;
                    case apply_outcome::busy:
                        all_caught_up = false;
                        break;
                    case apply_outcome::waiting:
                        waiting.push_back(lane);
                        break;
                    case apply_outcome::entry_failed:
                        // One entry failed on this instance: this lane backs off; the others go on.
                        all_caught_up = false;
                        inst.lane_failed(lane->lane_id, clock::now());
                        break;
                    default:
                        // The instance (or the log) failed: stop its pass and back off.
                        failed = true;
                        break;
                }
                if (failed) break;
            }
            if (waiting.empty()) break;
            if (!progressed || round >= 16) {
                all_caught_up = false;  // what they wait for is held up elsewhere
                break;
            }
            todo = std::move(waiting);
        }
        if (failed) {
            all_caught_up = false;
            inst.sync_failed(clock::now());
        } else {
            inst.sync_succeeded();
        }
    }
    if (backlog > ctx_.config.backlog_alert_threshold && backlog_alerted_.exchange(backlog) == 0) {
        ctx_.emit(event::kind::backlog_over_threshold, {}, fmt::format("{} entries waiting to be applied", backlog));
    } else if (backlog <= ctx_.config.backlog_alert_threshold / 2) {
        // Re-armed only well under the threshold: a backlog near it moves by the writes in
        // flight (appended, not yet applied anywhere), which would otherwise fire it again and again.
        backlog_alerted_ = 0;
    }
    // "Applied everywhere" means on every instance that is healthy now: an instance that is
    // away does not hold the log back for ever. It replays what it missed when it returns,
    // unless retention pruned those entries first; then it needs a repair.
    if (all_caught_up && !healthy.empty()) {
        std::uint64_t moves = 0;
        for (const auto& i : ctx_.instances) moves += i->applied_moves();
        const auto now = clock::now();
        const bool due = healthy != marked_for_ || now - marked_at_ >= mark_applied_every ||
                         (moves != marked_moves_ && now - marked_at_ >= mark_applied_min_gap);
        if (due) {
            ctx_.store->mark_applied(healthy);
            marked_for_ = healthy;
            marked_moves_ = moves;
            marked_at_ = now;
        }
    }
}

void sync_worker::note_needs_repair(instance_state& inst, std::set<std::string> unrepaired) {
    std::set<std::string>& alerted = repair_alerted_[inst.name()];
    for (const auto& c : unrepaired) {
        if (alerted.count(c) != 0) continue;
        ctx_.emit(event::kind::instance_needs_repair, inst.name(),
                  fmt::format("collection '{}': {} missed entries that retention pruned; only repair() makes it "
                              "identical again",
                              c, inst.name()));
    }
    alerted = unrepaired;
    inst.set_needs_repair(std::move(unrepaired));
}

bool sync_worker::dead_letter_outstanding() {
    // A dead letter is an entry an instance stepped over: that instance differs from the others.
    constexpr std::size_t limit = 10000;
    for (const auto& d : ctx_.store->dead_letters(limit)) {
        if (std::find(ctx_.instance_names.begin(), ctx_.instance_names.end(), d.instance) != ctx_.instance_names.end())
            return true;
    }
    return false;
}

bool sync_worker::wait_until_synced(std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    while (true) {
        bool synced = true;
        try {
            for (auto& inst : ctx_.instances) {
                if (!inst->healthy() || inst->claim() != instance_state::log_claim::ours ||
                    !ctx_.store->lanes_behind(inst->name()).empty())
                    synced = false;
            }
            if (synced && dead_letter_outstanding()) synced = false;
        } catch (const log_unavailable&) {
            synced = false;
        }
        if (synced) {
            // Every instance has everything: say so in the log too, so that status() shows no
            // pending entries even without a background sync pass.
            try {
                ctx_.store->mark_applied(ctx_.instance_names);
            } catch (const log_unavailable&) {
            }
            return true;
        }
        if (clock::now() >= deadline) return false;
        if (ctx_.config.background_threads) {
            wake();
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        } else {
            try {
                sync_pass();
            } catch (const log_unavailable&) {
            }
        }
    }
}

replay_result sync_worker::replay_dead_letters() {
    replay_result out;
    for (const auto& d : ctx_.store->dead_letters(1000)) {
        auto it = std::find_if(ctx_.instances.begin(), ctx_.instances.end(),
                               [&](const auto& i) { return i->name() == d.instance; });
        if (it == ctx_.instances.end()) continue;  // another client's instance
        auto e = ctx_.store->read_entry(d.lane_id, d.position);
        if (!e) continue;  // dead-lettered entries are never pruned; gone only if removed meanwhile
        std::string why;
        switch (applier_.replay(**it, d.key, *e, why)) {
            case applier::replay_outcome::replayed:
                ++out.replayed;
                break;
            case applier::replay_outcome::failed:
                ++out.failed;
                break;
            case applier::replay_outcome::busy:
                ++out.skipped;
                break;
        }
    }
    return out;
}

}  // namespace chromawal::detail
