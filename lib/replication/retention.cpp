// retention: see retention.hpp for what it owns, what it touches and its thread-safety.
#include "replication/retention.hpp"

#include <algorithm>
#include <string>

namespace chromawal::detail {

namespace {

using clock = std::chrono::steady_clock;

// Entries deleted per retention statement: short transactions, no long-held locks.
constexpr std::size_t prune_batch = 5000;

}  // namespace

std::int64_t retention::prune() {
    // Entries every configured instance has applied may be marked so now (a tool calls this
    // without running sync passes).
    ctx_.store->mark_applied(ctx_.instance_names);
    return ctx_.store->prune(std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.config.retention), prune_batch);
}

void retention::maybe_prune() {
    if (ctx_.config.prune_interval.count() <= 0) return;
    {
        std::lock_guard<std::mutex> lock(prune_mutex_);
        const auto now = clock::now();
        if (now < next_prune_) return;
        next_prune_ = now + ctx_.config.prune_interval;
    }
    try {
        ctx_.store->prune(std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.config.retention), prune_batch);
    } catch (const std::exception&) {
        // The log store is away: the next interval tries again.
    }
}

std::vector<dead_letter_info> retention::dead_letters(std::size_t limit) {
    const double now = now_epoch();
    std::vector<dead_letter_info> out;
    for (const auto& d : ctx_.store->dead_letters(limit)) {
        dead_letter_info i;
        i.instance = d.instance;
        i.collection_name = d.key.collection;
        i.position = d.position;
        i.operation = wal::to_string(d.op);
        i.error_message = d.error;
        i.age_seconds = d.at > 0 ? std::max(0.0, now - d.at) : 0;
        out.push_back(std::move(i));
    }
    return out;
}

std::vector<apply_history_entry> retention::apply_history(std::string_view instance, std::string_view collection) {
    instance_state& inst = ctx_.instance_named(instance, "apply_history");
    const wal::lane_key key = ctx_.key_for(std::string(collection));
    std::vector<apply_history_entry> out;
    for (const auto& l : ctx_.store->all_lanes(inst.name())) {
        if (!l.holds_name || !(l.key == key)) continue;  // the lane holding the name now
        for (const auto& step : ctx_.store->apply_history(inst.name(), l.lane_id)) {
            out.push_back(apply_history_entry{step.from, step.to, step.skipped, step.at});
        }
    }
    return out;
}

}  // namespace chromawal::detail
