// status serialisation (JSON, Prometheus text).
#include <chromawal/client.hpp>

#include "json/writer.hpp"

#include <fmt/format.h>

namespace chromawal {

std::string status_report::to_json() const {
    std::string out;
    json::writer w(out);
    w.begin_object();
    w.key("sync_running").boolean(sync_running);
    w.key("log").begin_object();
    w.key("reachable").boolean(log.reachable);
    if (!log.error_message.empty()) w.key("error").string(log.error_message);
    w.key("id").string(log.id);
    w.key("description").string(log.description);
    w.key("pending").integer(log.pending);
    w.key("applied").integer(log.applied);
    w.key("rejected").integer(log.rejected);
    w.key("abandoned").integer(log.abandoned);
    w.key("dead").integer(log.dead);
    w.key("oldest_pending_age_seconds").floating(log.oldest_pending_age_seconds);
    w.end_object();
    w.key("instances").begin_array();
    for (const auto& i : instances) {
        w.begin_object();
        w.key("name").string(i.name);
        w.key("url").string(i.url);
        w.key("primary").boolean(i.primary);
        w.key("healthy").boolean(i.healthy);
        w.key("last_error").string(i.last_error);
        w.key("success_rate").floating(i.success_rate);
        w.key("latency_ms").floating(i.latency_ms);
        w.key("applied").integer(i.applied);
        w.key("lag_entries").integer(i.lag_entries);
        w.key("lag_seconds").floating(i.lag_seconds);
        w.key("needs_repair").boolean(i.needs_repair);
        w.key("log_record").string(i.log_record);
        if (!i.other_log.empty()) w.key("other_log").string(i.other_log);
        w.end_object();
    }
    w.end_array();
    w.end_object();
    return out;
}

std::string status_report::to_prometheus() const {
    std::string out;
    auto line = [&out](const char* name, const std::string& labels, double v) {
        out += fmt::format("{}{} {}\n", name, labels.empty() ? "" : "{" + labels + "}", v);
    };
    out += "# TYPE chromawal_log_entries gauge\n";
    line("chromawal_log_entries", "state=\"pending\"", static_cast<double>(log.pending));
    line("chromawal_log_entries", "state=\"applied\"", static_cast<double>(log.applied));
    line("chromawal_log_entries", "state=\"rejected\"", static_cast<double>(log.rejected));
    line("chromawal_log_entries", "state=\"abandoned\"", static_cast<double>(log.abandoned));
    line("chromawal_log_entries", "state=\"dead\"", static_cast<double>(log.dead));
    out += "# TYPE chromawal_log_reachable gauge\n";
    line("chromawal_log_reachable", "", log.reachable ? 1 : 0);
    out += "# TYPE chromawal_log_oldest_pending_age_seconds gauge\n";
    line("chromawal_log_oldest_pending_age_seconds", "", log.oldest_pending_age_seconds);
    out += "# TYPE chromawal_sync_running gauge\n";
    line("chromawal_sync_running", "", sync_running ? 1 : 0);
    const char* metrics[][2] = {
        {"chromawal_instance_healthy", "gauge"},      {"chromawal_instance_lag_entries", "gauge"},
        {"chromawal_instance_lag_seconds", "gauge"},  {"chromawal_instance_applied_entries", "counter"},
        {"chromawal_instance_success_rate", "gauge"}, {"chromawal_instance_latency_ms", "gauge"},
        {"chromawal_instance_needs_repair", "gauge"}};
    for (const auto& m : metrics) {
        out += fmt::format("# TYPE {} {}\n", m[0], m[1]);
        for (const auto& i : instances) {
            const std::string labels = fmt::format("instance=\"{}\"", i.name);
            const std::string name = m[0];
            double v = 0;
            if (name == "chromawal_instance_healthy")
                v = i.healthy ? 1 : 0;
            else if (name == "chromawal_instance_lag_entries")
                v = static_cast<double>(i.lag_entries);
            else if (name == "chromawal_instance_lag_seconds")
                v = i.lag_seconds;
            else if (name == "chromawal_instance_applied_entries")
                v = static_cast<double>(i.applied);
            else if (name == "chromawal_instance_success_rate")
                v = i.success_rate;
            else if (name == "chromawal_instance_needs_repair")
                v = i.needs_repair ? 1 : 0;
            else
                v = i.latency_ms;
            line(m[0], labels, v);
        }
    }
    return out;
}

}  // namespace chromawal
