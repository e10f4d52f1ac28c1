// status serialisation (JSON, Prometheus text) and client_config::from_env.
#include <chromawal/client.hpp>

#include "json/writer.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>

namespace chromawal {

std::string status::to_json() const {
    std::string out;
    json::writer w(out);
    w.begin_object();
    w.key("sync_running").boolean(sync_running);
    w.key("log").begin_object();
    w.key("reachable").boolean(log.reachable);
    if (!log.error.empty()) w.key("error").string(log.error);
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
        w.end_object();
    }
    w.end_array();
    w.end_object();
    return out;
}

std::string status::to_prometheus() const {
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

namespace {

const char* env(const char* name) {
    const char* v = std::getenv(name);
    return v && *v ? v : nullptr;
}

long long env_int(const char* name, long long min, long long max, long long fallback) {
    const char* v = env(name);
    if (!v) return fallback;
    char* end = nullptr;
    errno = 0;
    const long long x = std::strtoll(v, &end, 10);
    if (errno || end == v || *end || x < min || x > max) {
        throw invalid_argument(
            fmt::format("invalid configuration: {}: expected an integer in [{}, {}], got '{}'", name, min, max, v));
    }
    return x;
}

}  // namespace

client_config client_config::from_env() {
    client_config c;
    const char* instances = env("CHROMAWAL_INSTANCES");
    if (!instances) {
        throw invalid_argument("invalid configuration: CHROMAWAL_INSTANCES: not set (expected \"name=url,name=url\")");
    }
    std::string all(instances);
    std::size_t start = 0;
    while (start <= all.size()) {
        const std::size_t comma = all.find(',', start);
        const std::string item = all.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        start = comma == std::string::npos ? all.size() + 1 : comma + 1;
        if (item.empty()) continue;
        const std::size_t eq = item.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
            throw invalid_argument(fmt::format(
                "invalid configuration: CHROMAWAL_INSTANCES: expected name=url, got '{}'", item.substr(0, 40)));
        }
        instance_config ic;
        ic.name = item.substr(0, eq);
        ic.connection.base_url = item.substr(eq + 1);
        ic.role = c.instances.empty() ? instance_config::role::primary : instance_config::role::replica;
        c.instances.push_back(std::move(ic));
    }
    if (const char* v = env("CHROMAWAL_LOG_URL")) c.log_url = v;
    if (const char* v = env("CHROMAWAL_TENANT")) c.tenant = v;
    if (const char* v = env("CHROMAWAL_DATABASE")) c.database = v;
    c.write_quorum = static_cast<std::size_t>(env_int("CHROMAWAL_WRITE_QUORUM", 1, 64, 1));
    if (const char* v = env("CHROMAWAL_READ_POLICY")) {
        const std::string p(v);
        if (p == "primary_only")
            c.read_policy = read_policy::primary_only;
        else if (p == "primary_preferred")
            c.read_policy = read_policy::primary_preferred;
        else if (p == "replica_ratio")
            c.read_policy = read_policy::replica_ratio;
        else if (p == "nearest")
            c.read_policy = read_policy::nearest;
        else {
            throw invalid_argument(
                fmt::format("invalid configuration: CHROMAWAL_READ_POLICY: expected primary_only, "
                            "primary_preferred, replica_ratio or nearest, got '{}'",
                            p));
        }
    }
    if (const char* v = env("CHROMAWAL_READ_REPLICA_RATIO")) {
        char* end = nullptr;
        const double r = std::strtod(v, &end);
        if (end == v || *end || r < 0 || r > 1) {
            throw invalid_argument(fmt::format(
                "invalid configuration: CHROMAWAL_READ_REPLICA_RATIO: expected a number in [0, 1], got '{}'", v));
        }
        c.replica_read_ratio = r;
        if (!env("CHROMAWAL_READ_POLICY")) c.read_policy = read_policy::replica_ratio;
    }
    c.sync_interval =
        std::chrono::milliseconds(env_int("CHROMAWAL_SYNC_INTERVAL_MS", 1, 3600000, c.sync_interval.count()));
    c.health_interval =
        std::chrono::milliseconds(env_int("CHROMAWAL_HEALTH_INTERVAL_MS", 1, 3600000, c.health_interval.count()));
    const auto timeout = std::chrono::milliseconds(env_int("CHROMAWAL_REQUEST_TIMEOUT_MS", 1, 3600000, 30000));
    c.retention =
        std::chrono::seconds(env_int("CHROMAWAL_RETENTION_SECONDS", 0, 100LL * 365 * 24 * 3600, c.retention.count()));
    if (const char* v = env("CHROMAWAL_QUEUE_WHEN_UNAVAILABLE")) {
        const std::string q(v);
        if (q == "true" || q == "1" || q == "yes")
            c.queue_when_unavailable = true;
        else if (q == "false" || q == "0" || q == "no")
            c.queue_when_unavailable = false;
        else {
            throw invalid_argument(fmt::format(
                "invalid configuration: CHROMAWAL_QUEUE_WHEN_UNAVAILABLE: expected true or false, got '{}'", q));
        }
    }
    std::pair<std::string, std::string> header;
    if (const char* v = env("CHROMAWAL_AUTH_HEADER")) {
        const std::string h(v);
        const std::size_t colon = h.find(':');
        if (colon == std::string::npos || colon == 0) {
            throw invalid_argument("invalid configuration: CHROMAWAL_AUTH_HEADER: expected \"Header-Name: value\"");
        }
        std::size_t value_start = colon + 1;
        while (value_start < h.size() && h[value_start] == ' ') ++value_start;
        header = {h.substr(0, colon), h.substr(value_start)};
    }
    for (auto& ic : c.instances) {
        ic.connection.request_timeout = timeout;
        if (!header.first.empty()) ic.connection.headers.push_back(header);
    }
    return c;
}

}  // namespace chromawal
