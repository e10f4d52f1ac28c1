// Status building: chromawal::status_report from the log store's counts and lanes and each
// instance's health (the serialisation of status, to_json and to_prometheus, is status.cpp).
//
// Owns: nothing; build_status() is a pure read.
// May touch: context (log store, instances), instance_state (health), read only.
// Thread-safety: may be called from any thread at once.
#include "replication/status_builder.hpp"

#include "replication/log_identity.hpp"

#include <algorithm>
#include <utility>

namespace chromawal::detail {

chromawal::status_report build_status(context& ctx, bool sync_running) {
    chromawal::status_report s;
    s.sync_running = sync_running;
    const double now = now_epoch();
    try {
        const wal::log_counts c = ctx.store->counts();
        s.log.pending = c.pending;
        s.log.applied = c.applied;
        s.log.rejected = c.rejected;
        s.log.abandoned = c.abandoned;
        s.log.dead = c.dead;
        s.log.oldest_pending_age_seconds =
            c.oldest_pending_created_at > 0 ? std::max(0.0, now - c.oldest_pending_created_at) : 0;
    } catch (const log_unavailable& e) {
        s.log.reachable = false;
        s.log.error_message = e.what();
    }
    if (s.log.reachable) {
        try {
            const wal::log_identity id = ctx.store->identity();
            s.log.id = id.id;
            s.log.description = id.description;
        } catch (const log_unavailable&) {
        }
    }
    if (s.log.reachable && !ctx.store->reachable()) {
        // The counts came from a call that raced with the outage being noticed: the guard knows.
        s.log.reachable = false;
        s.log.error_message = ctx.store->last_error();
    }
    for (auto& inst : ctx.instances) {
        instance_status is;
        is.name = inst->name();
        is.url = inst->display_url();
        is.primary = inst->primary();
        const auto h = inst->health();
        is.healthy = h.healthy;
        is.last_error = h.last_error;
        is.success_rate = h.success_rate;
        is.latency_ms = h.latency_ms;
        // Read (never written) when not known yet, so that status shows another log's record
        // even before anything was written (the command has no sync thread).
        if (s.log.reachable && h.healthy && inst->claim() == instance_state::log_claim::unchecked)
            check_log_claim(ctx, *inst, false);
        switch (inst->claim()) {
            case instance_state::log_claim::ours:
                is.log_record = "this";
                break;
            case instance_state::log_claim::foreign:
                is.log_record = "other";
                break;
            case instance_state::log_claim::unchecked:
                is.log_record = "unchecked";
                break;
        }
        is.other_log = inst->foreign_log();
        if (s.log.reachable) {
            try {
                double oldest = 0;
                for (const auto& l : ctx.store->all_lanes(inst->name())) {
                    if (l.needs_repair()) is.needs_repair = true;
                    is.applied += l.applied;
                    is.lag_entries += std::max<std::int64_t>(0, l.head - l.applied);
                    if (l.head > l.applied && l.oldest_unapplied_created_at > 0 &&
                        (oldest == 0 || l.oldest_unapplied_created_at < oldest)) {
                        oldest = l.oldest_unapplied_created_at;
                    }
                }
                is.lag_seconds = oldest > 0 ? std::max(0.0, now - oldest) : 0;
            } catch (const log_unavailable&) {
            }
        }
        s.instances.push_back(std::move(is));
    }
    return s;
}

}  // namespace chromawal::detail
