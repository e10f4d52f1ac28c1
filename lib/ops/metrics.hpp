#pragma once
// The process's counters and latency histograms for operators: writes by outcome, applies by
// instance and outcome, webhook posts by outcome, the log's append latency and each instance's
// apply latency. Read by status() into chromawal::process_metrics, which the one Prometheus
// exposition (ops/exposition.hpp) renders.
//
// Owns: atomics only, fixed at construction (one slot per instance and outcome).
// May touch: nothing else.
// Thread-safety: every member may be called from any thread at once; recording is a few
// relaxed atomic increments (no lock), so a scrape never waits for a writer nor a writer for
// a scrape. A snapshot is not one atomic cut (a write counted while it is read may show in one
// family and not yet in another), as with any Prometheus client library.

#include <chromawal/client.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace chromawal::detail {

/// The outcomes a write is counted under (the label values of chromawal_writes_total).
enum class write_outcome : std::size_t {
    ok,
    queued,
    invalid,
    log_unavailable,
    outcome_unknown,
    rejected,
    no_instance,
    quorum_not_reached,
    other_error,
    count_
};
const char* to_string(write_outcome o) noexcept;

/// The outcomes an apply is counted under (chromawal_applies_total): those of apply_outcome.
inline constexpr std::size_t apply_outcome_count = 8;

/// The outcomes of a webhook post (chromawal_alerts_total).
enum class alert_outcome : std::size_t { sent, failed, dropped, duplicate, count_ };
const char* to_string(alert_outcome o) noexcept;

/// A histogram with fixed bounds (seconds), recorded with atomics.
class atomic_histogram {
public:
    static constexpr std::array<double, 14> bounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,    0.25,  0.5,    1,     2.5,  5,     10};
    void observe(std::chrono::steady_clock::duration d) noexcept;
    latency_histogram snapshot(const std::string& instance) const;

private:
    std::array<std::atomic<std::uint64_t>, bounds.size()> buckets_{};  // not cumulative
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::uint64_t> sum_ns_{0};
};

class metrics_registry {
public:
    explicit metrics_registry(std::vector<std::string> instance_names);

    void count_write(write_outcome o) noexcept;
    /// `instance`: index in the configuration; `outcome`: static_cast of apply_outcome.
    void count_apply(std::size_t instance, std::size_t outcome, std::chrono::steady_clock::duration took) noexcept;
    void count_alert(alert_outcome o) noexcept;
    void observe_append(std::chrono::steady_clock::duration d) noexcept { append_.observe(d); }

    process_metrics snapshot() const;

private:
    struct per_instance {
        std::array<std::atomic<std::uint64_t>, apply_outcome_count> applies{};
        atomic_histogram latency;
    };
    std::vector<std::string> names_;
    std::vector<std::unique_ptr<per_instance>> instances_;
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(write_outcome::count_)> writes_{};
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(alert_outcome::count_)> alerts_{};
    atomic_histogram append_;
};

}  // namespace chromawal::detail
