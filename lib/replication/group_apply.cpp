// writer, applying one group of logged entries to every healthy instance and deciding each
// write's outcome. See writer.hpp; docs/design.md, "Group apply".
#include "replication/writer.hpp"

#include "replication/log_identity.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace chromawal::detail {

namespace {

using clock = std::chrono::steady_clock;

}  // namespace

std::string describe_write(wal::op_kind op, const wal::lane_key& key) {
    if (wal::is_collection_lane(key)) return fmt::format("{} on collection '{}'", wal::to_string(op), key.collection);
    if (key.database.empty()) return fmt::format("{} '{}'", wal::to_string(op), key.tenant);
    return fmt::format("{} '{}' (tenant '{}')", wal::to_string(op), key.database, key.tenant);
}

void writer::pass_turn(lane_queue& q, std::size_t instance, std::uint64_t group) {
    std::lock_guard<std::mutex> lock(q.m);
    auto& done = q.done.at(instance);
    done.insert(group);
    while (!done.empty() && *done.begin() == q.turn[instance]) {
        done.erase(done.begin());
        ++q.turn[instance];
    }
    q.cv.notify_all();
}

std::vector<writer::outcome> writer::apply_group(const wal::lane_key& key, const std::shared_ptr<lane_queue>& q,
                                                 std::uint64_t group, std::vector<wal::entry> entries,
                                                 bool trust_copy) {
    const std::size_t n = entries.size();
    const std::int64_t lane_id = entries.front().lane_id;
    const std::int64_t first = entries.front().position;
    const std::int64_t last = entries.back().position;

    // What the appliers report; shared with them, since with ack_after_quorum some outlive this call.
    struct fan_out {
        explicit fan_out(std::vector<wal::entry> e) : fresh(std::move(e)) {}
        fresh_entries fresh;
        std::mutex m;
        std::condition_variable cv;
        std::vector<apply_result> results;
        std::vector<std::int64_t> reached;  // the instance's applied position after its applier
        std::vector<bool> finished;
        std::vector<bool> passed;  // the instance's turn was passed on to the next group
        std::size_t running = 0;
        bool answered = false;  // the callers have their outcomes: a failing applier wakes the sync
    };
    auto state = std::make_shared<fan_out>(std::move(entries));
    const std::vector<wal::entry>& es = state->fresh.entries();

    std::vector<std::size_t> targets;  // indexes into ctx_.instances
    for (std::size_t k = 0; k < ctx_.instances.size(); ++k) {
        if (writable(ctx_, *ctx_.instances[k])) {
            targets.push_back(k);
        } else {
            pass_turn(*q, k, group);  // nothing to apply there: the next group may go
        }
    }
    const std::size_t t = targets.size();
    state->results.resize(t);
    state->reached.assign(t, 0);
    state->finished.assign(t, false);
    state->passed.assign(t, false);
    // Passes an instance's turn once (the appliers and this coordinator may both get there).
    auto pass = [this, state, q, group, targets](std::size_t slot) {
        {
            std::lock_guard<std::mutex> lock(state->m);
            if (state->passed[slot]) return;
            state->passed[slot] = true;
        }
        pass_turn(*q, targets[slot], group);
    };
    const auto started = clock::now();
    const bool early = ctx_.config.ack_after_quorum && ctx_.config.write_quorum < t;

    // One applier: waits for the instance's turn (unless it holds it: a further round), applies
    // through the last entry, reports; passes the turn unless the coordinator must decide on an
    // entry of this group the instance rejected.
    auto run = [this, state, q, key, group, lane_id, first, last, trust_copy, pass](std::size_t slot, std::size_t k,
                                                                                    bool holds_turn) {
        instance_state& inst = *ctx_.instances[k];
        if (!holds_turn) {
            std::unique_lock<std::mutex> lock(q->m);
            q->cv.wait(lock, [&] { return q->turn[k] == group; });
        }
        apply_result r;
        try {
            r = applier_.apply_through(inst, lane_id, key, last, trust_copy ? &state->fresh : nullptr, true,
                                       clock::now() + inst.conn().options.request_timeout);
        } catch (const std::exception& e) {
            // Never leave the caller waiting for a result that will not come.
            r.outcome = apply_outcome::failed;
            r.error = e.what();
            r.maybe_applied = true;
        }
        const bool ok = r.outcome == apply_outcome::applied;
        const bool decide = r.outcome == apply_outcome::rejected && r.stopped_at >= first && r.stopped_at <= last;
        bool answered;
        {
            std::lock_guard<std::mutex> lock(state->m);
            state->results[slot] = std::move(r);
            state->reached[slot] = inst.known_applied(lane_id);
            state->finished[slot] = true;
            --state->running;
            answered = state->answered;
        }
        state->cv.notify_all();
        if (!decide || answered) pass(slot);
        // Finished after the callers were answered without it: the sync thread takes over.
        if (answered && !ok) sync_.wake();
    };
    auto start = [&](const std::vector<std::size_t>& slots, bool holds_turn) {
        {
            std::lock_guard<std::mutex> lock(state->m);
            for (std::size_t s : slots) {
                state->finished[s] = false;
                ++state->running;
            }
        }
        // Without ack_after_quorum this thread waits for all of them anyway: it runs the first.
        for (std::size_t i = early ? 0 : 1; i < slots.size(); ++i)
            pool_.run([run, s = slots[i], k = targets[slots[i]], holds_turn] { run(s, k, holds_turn); });
        if (!early && !slots.empty()) run(slots.front(), targets[slots.front()], holds_turn);
    };
    // Applied on instance slot s (its applier finished): entry j is at or below where it got.
    std::vector<bool> rejected(n, false);  // decided: every instance that got to it rejected it
    std::vector<const apply_result*> rejection(n, nullptr);
    std::vector<apply_result> rejections;  // kept for the messages
    rejections.reserve(n);
    auto applied_on = [&](std::size_t s, std::size_t j) {
        return state->finished[s] && !rejected[j] && state->reached[s] >= es[j].position;
    };

    std::vector<std::size_t> all(t);
    for (std::size_t s = 0; s < t; ++s) all[s] = s;
    start(all, false);
    std::vector<apply_result> results;
    std::vector<bool> finished;
    std::vector<std::int64_t> reached;
    bool all_done = false;
    for (;;) {
        std::unique_lock<std::mutex> lock(state->m);
        state->cv.wait(lock, [&] {
            if (state->running == 0) return true;
            if (!early) return false;
            std::size_t quorum = 0;  // instances that applied the whole group
            for (std::size_t s = 0; s < t; ++s)
                if (state->finished[s] && state->reached[s] >= last) ++quorum;
            return quorum >= ctx_.config.write_quorum;
        });
        all_done = state->running == 0;
        if (!all_done) {
            // At the quorum: answer now. Appliers still running pass their own turns; those that
            // stopped at a rejection of this group pass theirs here (no round follows).
            state->answered = true;
            results = state->results;
            finished = state->finished;
            reached = state->reached;
            lock.unlock();
            for (std::size_t s = 0; s < t; ++s) {
                if (finished[s] && results[s].outcome == apply_outcome::rejected && results[s].stopped_at >= first &&
                    results[s].stopped_at <= last)
                    pass(s);
            }
            break;
        }
        lock.unlock();
        // Every applier finished. An entry of this group that instances rejected, and that none
        // applied or will apply (waiting), is rejected for good: the appliers that stopped at
        // it step over it in a further round, so that the writes after it still go.
        std::vector<std::size_t> again;
        for (std::size_t j = 0; j < n && again.empty(); ++j) {
            if (rejected[j]) continue;
            std::vector<std::size_t> stopped;
            bool applied = false, waiting = false;
            for (std::size_t s = 0; s < t; ++s) {
                const apply_result& r = state->results[s];
                if (applied_on(s, j)) applied = true;
                if (r.outcome == apply_outcome::waiting && state->reached[s] < es[j].position) waiting = true;
                if (r.outcome == apply_outcome::rejected && r.stopped_at == es[j].position) stopped.push_back(s);
            }
            if (stopped.empty()) continue;
            if (applied || waiting) {
                // Another instance has it: the ones that refused it leave this lane to the sync
                // thread (it retries and dead-letters there).
                for (std::size_t s : stopped) pass(s);
                continue;
            }
            rejections.push_back(state->results[stopped.front()]);
            rejection[j] = &rejections.back();
            rejected[j] = true;
            try {
                ctx_.store->set_state(lane_id, es[j].position, wal::entry_state::rejected, rejection[j]->error);
            } catch (const log_unavailable&) {
                // Not recorded: the entry stays pending; the sync thread meets the refusal again.
            }
            sync_.wake();  // lets lagging instances step over it
            state->fresh.set_rejected(j);
            if (es[j].position < last) {
                again = stopped;  // no applier runs now: the entries may change
            } else {
                for (std::size_t s : stopped) pass(s);
            }
        }
        if (again.empty()) {
            std::lock_guard<std::mutex> relock(state->m);
            state->answered = true;
            results = state->results;
            finished = state->finished;
            reached = state->reached;
            break;
        }
        start(again, true);
    }

    // Each write's outcome, from what every instance that finished reports.
    bool behind = t < ctx_.instances.size();
    for (std::size_t s = 0; s < t; ++s)
        if (finished[s] && reached[s] < last) behind = true;
    if (behind) sync_.wake();

    std::vector<outcome> out(n);
    for (std::size_t j = 0; j < n; ++j) {
        const wal::entry& e = es[j];
        write_receipt& receipt = out[j].receipt;
        receipt.position = e.position;
        receipt.entry_id = e.idempotency_id;
        const std::string what = describe_write(e.op, key);
        bool waiting = false;
        const apply_result* maybe = nullptr;  // a request sent with no definite answer, from this entry on
        for (std::size_t s = 0; s < t; ++s) {
            if (!finished[s]) continue;  // still applying in the background: not in the receipt
            if (!rejected[j] && reached[s] >= e.position) {
                receipt.applied.push_back(ctx_.instances[targets[s]]->name());
                for (const auto& d : results[s].deleted)
                    if (d.first == e.position && !receipt.deleted) receipt.deleted = d.second;
                continue;
            }
            const apply_result& r = results[s];
            if (r.outcome == apply_outcome::waiting) waiting = true;
            if (r.maybe_applied && (r.stopped_at == 0 || r.stopped_at <= e.position) && !maybe) maybe = &r;
        }
        try {
            if (receipt.applied.empty() && !waiting) {
                if (rejected[j]) {
                    const apply_result& r = *rejection[j];
                    if (r.status == 404) throw not_found(r.status, r.error_name, r.server_message, what, r.trace_id);
                    throw write_rejected(r.status, r.error_name, r.server_message, what, r.trace_id);
                }
                if (ctx_.config.queue_when_unavailable) {
                    receipt.queued = true;
                    receipt.applied.clear();
                    written_.note(wal::map_key(key), lane_id, e.position);
                    continue;
                }
                auto pending = [&](const std::string& why) {
                    written_.note(wal::map_key(key), lane_id, e.position);
                    return no_instance_available(fmt::format("{}: no instance confirmed applying it ({}); the log "
                                                             "entry at position {} stays pending and will be "
                                                             "applied on recovery",
                                                             what, why, e.position),
                                                 true, e.position);
                };
                // Only a write that reached no instance may be abandoned: one that was sent and
                // got no answer may have been applied, and an abandoned entry is never replayed.
                if (maybe) throw pending(maybe->error + "; it may have been applied there");
                // Bounded by what is left of the write's request timeout.
                auto until = started;
                for (auto& i : ctx_.instances) until = std::max(until, started + i->conn().options.request_timeout);
                const auto wait = std::max(std::chrono::milliseconds(10),
                                           std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now()));
                wal::abandon_result decided;
                try {
                    // Bounded: an applier holding a lane lock (the sync thread, another process)
                    // may be applying it right now.
                    decided = ctx_.store->abandon_if_unapplied(lane_id, e.position, ctx_.instance_names, wait);
                } catch (const log_unavailable& failure) {
                    // The decision may or may not have been committed: abandoned, or pending.
                    throw outcome_unknown(fmt::format("{}: no instance could apply it, and the log store went away "
                                                      "while abandoning the entry at position {} ({}); it is either "
                                                      "abandoned or pending",
                                                      what, e.position, failure.what()),
                                          e.idempotency_id, e.position);
                }
                if (decided == wal::abandon_result::undecided)
                    throw pending("another applier holds the lane and may be applying it");
                if (decided == wal::abandon_result::abandoned) {
                    std::string why;
                    for (std::size_t s = 0; s < t; ++s)
                        if (finished[s] && !results[s].error.empty())
                            why += (why.empty() ? "" : "; ") + results[s].error;
                    if (why.empty()) why = "every instance is marked down";
                    std::string message = fmt::format(
                        "{}: it reached no instance ({}); the log entry at position {} is abandoned and will not be "
                        "applied",
                        what, why, e.position);
                    if (!abandon_alerted_.exchange(true)) ctx_.emit(event::kind::write_abandoned, {}, message);
                    throw no_instance_available(message, false, e.position);
                }
                // Someone (another process's sync) applied it in the meantime: it stands.
            }
            written_.note(wal::map_key(key), lane_id, e.position);
            if (!receipt.applied.empty()) abandon_alerted_ = false;
            if (receipt.applied.size() < ctx_.config.write_quorum) {
                std::string message = fmt::format(
                    "{}: applied to {} of the {} instances the write quorum asks for; the log entry at "
                    "position {} stays pending and will be applied on recovery",
                    what, receipt.applied.size(), ctx_.config.write_quorum, e.position);
                if (!quorum_alerted_.exchange(true)) ctx_.emit(event::kind::quorum_not_reached, {}, message);
                throw quorum_not_reached(message, e.position, receipt.applied.size());
            }
            quorum_alerted_ = false;
        } catch (...) {
            out[j].error = std::current_exception();
        }
    }
    return out;
}

}  // namespace chromawal::detail
