// The process's counters and histograms (see metrics.hpp).
#include "ops/metrics.hpp"

#include <algorithm>

namespace chromawal::detail {

namespace {
// The label values of apply_outcome, in its order (replication/applier.hpp).
constexpr std::array<const char*, apply_outcome_count> apply_outcome_names = {
    "applied", "failed", "entry_failed", "rejected", "busy", "behind", "waiting", "needs_repair"};
}  // namespace

const char* to_string(write_outcome o) noexcept {
    switch (o) {
        case write_outcome::ok:
            return "ok";
        case write_outcome::queued:
            return "queued";
        case write_outcome::invalid:
            return "invalid";
        case write_outcome::log_unavailable:
            return "log_unavailable";
        case write_outcome::outcome_unknown:
            return "outcome_unknown";
        case write_outcome::rejected:
            return "rejected";
        case write_outcome::no_instance:
            return "no_instance";
        case write_outcome::quorum_not_reached:
            return "quorum_not_reached";
        case write_outcome::other_error:
        case write_outcome::count_:
            break;
    }
    return "error";
}

const char* to_string(alert_outcome o) noexcept {
    switch (o) {
        case alert_outcome::sent:
            return "sent";
        case alert_outcome::failed:
            return "failed";
        case alert_outcome::dropped:
            return "dropped";
        case alert_outcome::duplicate:
        case alert_outcome::count_:
            break;
    }
    return "duplicate";
}

void atomic_histogram::observe(std::chrono::steady_clock::duration d) noexcept {
    const double s = std::chrono::duration<double>(d).count();
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        if (s <= bounds[i]) {
            buckets_[i].fetch_add(1, std::memory_order_relaxed);
            break;
        }
    }
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    sum_ns_.fetch_add(ns > 0 ? static_cast<std::uint64_t>(ns) : 0, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
}

latency_histogram atomic_histogram::snapshot(const std::string& instance) const {
    latency_histogram h;
    h.instance = instance;
    // The total first: cumulative bucket counts read after it can only be larger, so they are
    // clamped to keep the +Inf bucket the largest, as the format requires.
    h.count = count_.load(std::memory_order_relaxed);
    h.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
    std::uint64_t running = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        running += buckets_[i].load(std::memory_order_relaxed);
        h.upper_bounds_seconds.push_back(bounds[i]);
        h.cumulative_counts.push_back(std::min(running, h.count));
    }
    return h;
}

metrics_registry::metrics_registry(std::vector<std::string> instance_names) : names_(std::move(instance_names)) {
    for (std::size_t i = 0; i < names_.size(); ++i) instances_.push_back(std::make_unique<per_instance>());
}

void metrics_registry::count_write(write_outcome o) noexcept {
    writes_[static_cast<std::size_t>(o)].fetch_add(1, std::memory_order_relaxed);
}

void metrics_registry::count_apply(std::size_t instance, std::size_t outcome,
                                   std::chrono::steady_clock::duration took) noexcept {
    if (instance >= instances_.size() || outcome >= apply_outcome_count) return;
    instances_[instance]->applies[outcome].fetch_add(1, std::memory_order_relaxed);
    if (outcome == 0) instances_[instance]->latency.observe(took);  // applied
}

void metrics_registry::count_alert(alert_outcome o) noexcept {
    alerts_[static_cast<std::size_t>(o)].fetch_add(1, std::memory_order_relaxed);
}

process_metrics metrics_registry::snapshot() const {
    process_metrics m;
    for (std::size_t o = 0; o < writes_.size(); ++o) {
        m.writes.push_back({{}, to_string(static_cast<write_outcome>(o)), writes_[o].load(std::memory_order_relaxed)});
    }
    for (std::size_t o = 0; o < alerts_.size(); ++o) {
        m.alerts.push_back({{}, to_string(static_cast<alert_outcome>(o)), alerts_[o].load(std::memory_order_relaxed)});
    }
    for (std::size_t i = 0; i < instances_.size(); ++i) {
        for (std::size_t o = 0; o < apply_outcome_count; ++o) {
            m.applies.push_back(
                {names_[i], apply_outcome_names[o], instances_[i]->applies[o].load(std::memory_order_relaxed)});
        }
        m.apply.push_back(instances_[i]->latency.snapshot(names_[i]));
    }
    m.log_append = append_.snapshot({});
    return m;
}

}  // namespace chromawal::detail
