// status serialisation (JSON; Prometheus text is ops/exposition.cpp, shared with the listener).
#include <chromawal/client.hpp>

#include "json/writer.hpp"
#include "ops/exposition.hpp"

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

std::string status_report::to_prometheus() const { return detail::prometheus_exposition(*this); }

}  // namespace chromawal
