// The Prometheus text exposition (see exposition.hpp).
#include "ops/exposition.hpp"

#include <fmt/format.h>

#include <cmath>
#include <functional>

namespace chromawal::detail {

std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

namespace {

class exposition {
public:
    explicit exposition(std::string& out) : out_(out) {}

    void family(const char* name, const char* type, const char* help) {
        out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    }
    void sample(std::string_view name, const std::string& labels, double v) {
        out_ += name;
        if (!labels.empty()) {
            out_ += '{';
            out_ += labels;
            out_ += '}';
        }
        out_ += ' ';
        out_ += number(v);
        out_ += '\n';
    }
    void histogram(const char* name, const std::string& labels, const latency_histogram& h) {
        const std::string sep = labels.empty() ? "" : labels + ",";
        for (std::size_t i = 0; i < h.upper_bounds_seconds.size() && i < h.cumulative_counts.size(); ++i) {
            sample(fmt::format("{}_bucket", name), fmt::format("{}le=\"{}\"", sep, number(h.upper_bounds_seconds[i])),
                   static_cast<double>(h.cumulative_counts[i]));
        }
        sample(fmt::format("{}_bucket", name), sep + "le=\"+Inf\"", static_cast<double>(h.count));
        sample(fmt::format("{}_sum", name), labels, h.sum_seconds);
        sample(fmt::format("{}_count", name), labels, static_cast<double>(h.count));
    }

private:
    static std::string number(double v) {
        if (std::isnan(v)) return "NaN";
        if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
        return fmt::format("{}", v);
    }
    std::string& out_;
};

// Not "instance": Prometheus gives every scraped series an `instance` label of its own (the
// target), and would rename ours to exported_instance.
std::string instance_label(const std::string& name) {
    return fmt::format("chroma_instance=\"{}\"", escape_label_value(name));
}

}  // namespace

std::string prometheus_exposition(const status_report& s) {
    std::string out;
    exposition e(out);

    e.family("chromawal_log_reachable", "gauge", "1 when the write-ahead log (PostgreSQL) is reachable, else 0.");
    e.sample("chromawal_log_reachable", {}, s.log.reachable ? 1 : 0);
    e.family("chromawal_log_entries", "gauge",
             "Entries in the log by state (pending, applied, rejected, abandoned, dead); 0 while the log is "
             "unreachable.");
    const std::pair<const char*, std::int64_t> states[] = {{"pending", s.log.pending},
                                                           {"applied", s.log.applied},
                                                           {"rejected", s.log.rejected},
                                                           {"abandoned", s.log.abandoned},
                                                           {"dead", s.log.dead}};
    for (const auto& [state, n] : states) {
        e.sample("chromawal_log_entries", fmt::format("state=\"{}\"", state), static_cast<double>(n));
    }
    e.family("chromawal_dead_letters", "gauge",
             "Entries some instance kept failing and stepped over (dead letters), waiting for replay or repair.");
    e.sample("chromawal_dead_letters", {}, static_cast<double>(s.log.dead));
    e.family("chromawal_log_oldest_pending_age_seconds", "gauge", "Age of the oldest pending entry of the log.");
    e.sample("chromawal_log_oldest_pending_age_seconds", {}, s.log.oldest_pending_age_seconds);
    e.family("chromawal_sync_running", "gauge", "1 when this client's sync thread runs.");
    e.sample("chromawal_sync_running", {}, s.sync_running ? 1 : 0);

    struct per_instance {
        const char* name;
        const char* help;
        std::function<double(const instance_status&)> value;
    };
    const per_instance gauges[] = {
        {"chromawal_instance_up", "1 when the instance is marked healthy (heartbeats and requests), else 0.",
         [](const instance_status& i) { return i.healthy ? 1.0 : 0.0; }},
        {"chromawal_instance_primary", "1 for the primary instance.",
         [](const instance_status& i) { return i.primary ? 1.0 : 0.0; }},
        {"chromawal_instance_lag_entries", "Entries logged that the instance has not applied yet (all collections).",
         [](const instance_status& i) { return static_cast<double>(i.lag_entries); }},
        {"chromawal_instance_lag_seconds", "Age of the oldest entry the instance has not applied (0 when caught up).",
         [](const instance_status& i) { return i.lag_seconds; }},
        {"chromawal_instance_applied_position", "The instance's applied positions, summed over the log's lanes.",
         [](const instance_status& i) { return static_cast<double>(i.applied); }},
        {"chromawal_instance_success_ratio", "Share of recent requests to the instance that succeeded (0..1).",
         [](const instance_status& i) { return i.success_rate; }},
        {"chromawal_instance_latency_seconds", "Recent average latency of requests to the instance.",
         [](const instance_status& i) { return i.latency_ms / 1000.0; }},
        {"chromawal_instance_needs_repair", "1 when the instance missed pruned entries: only repair can catch it up.",
         [](const instance_status& i) { return i.needs_repair ? 1.0 : 0.0; }},
    };
    for (const auto& g : gauges) {
        e.family(g.name, "gauge", g.help);
        for (const auto& i : s.instances) e.sample(g.name, instance_label(i.name), g.value(i));
    }

    const auto& m = s.metrics;
    e.family("chromawal_writes_total", "counter",
             "Writes through this client by outcome (ok, queued, invalid, log_unavailable, outcome_unknown, "
             "rejected, no_instance, quorum_not_reached, error).");
    for (const auto& w : m.writes) {
        e.sample("chromawal_writes_total", fmt::format("outcome=\"{}\"", escape_label_value(w.outcome)),
                 static_cast<double>(w.count));
    }
    e.family("chromawal_applies_total", "counter",
             "Attempts to bring an instance up to a position in a collection's lane, by instance and outcome.");
    for (const auto& a : m.applies) {
        e.sample("chromawal_applies_total",
                 fmt::format("{},outcome=\"{}\"", instance_label(a.instance), escape_label_value(a.outcome)),
                 static_cast<double>(a.count));
    }
    e.family("chromawal_alerts_total", "counter",
             "Events for the alert webhook by outcome (sent, failed after retries, dropped: queue full, duplicate).");
    for (const auto& a : m.alerts) {
        e.sample("chromawal_alerts_total", fmt::format("outcome=\"{}\"", escape_label_value(a.outcome)),
                 static_cast<double>(a.count));
    }
    e.family("chromawal_log_append_duration_seconds", "histogram",
             "Time to append one write to the log (commit included).");
    e.histogram("chromawal_log_append_duration_seconds", {}, m.log_append);
    e.family("chromawal_apply_duration_seconds", "histogram",
             "Time to bring one instance up to a position (lane lock waits included), successful applies only.");
    for (const auto& h : m.apply) e.histogram("chromawal_apply_duration_seconds", instance_label(h.instance), h);
    return out;
}

}  // namespace chromawal::detail
