// The configuration module: every setting of client_config named once (the table below), parsed
// from text (the environment, the command's flags, the Python binding's keywords) and
// validated. Owns: the CHROMAWAL_* environment variables (this is the only file that reads
// them), setting names, value syntax and the validation rules with their messages.
// May call: the standard library, fmt, chromawal::redact. Thread-safety: the table is
// immutable; from_env() reads the environment (not synchronised with setenv(), as for any
// getenv caller).
#include <chromawal/client.hpp>
#include <chromawal/error.hpp>
#include <chromawal/redact.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>

namespace chromawal {
namespace {

[[noreturn]] void bad(std::string_view label, const std::string& why) {
    throw invalid_argument(fmt::format("invalid configuration: {}: {}", label, why));
}

/// A value repeated in a message: short, one line, secrets hidden.
std::string shown(std::string_view v) {
    std::string s = redact(v.substr(0, 60));
    for (char& c : s) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    return v.size() > 60 ? s + "..." : s;
}

std::string trimmed(std::string_view v) {
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
    return std::string(v);
}

long long parse_int(std::string_view label, std::string_view text, long long min, long long max) {
    const std::string v = trimmed(text);
    char* end = nullptr;
    errno = 0;
    const long long x = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || errno || *end || x < min || x > max)
        bad(label, fmt::format("expected an integer in [{}, {}], got '{}'", min, max, shown(text)));
    return x;
}

double parse_ratio(std::string_view label, std::string_view text) {
    const std::string v = trimmed(text);
    char* end = nullptr;
    const double r = std::strtod(v.c_str(), &end);
    if (v.empty() || *end || !(r >= 0 && r <= 1))
        bad(label, fmt::format("expected a number in [0, 1], got '{}'", shown(text)));
    return r;
}

bool parse_bool(std::string_view label, std::string_view text) {
    std::string v = trimmed(text);
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
    if (v == "false" || v == "0" || v == "no" || v == "off") return false;
    bad(label, fmt::format("expected true or false, got '{}'", shown(text)));
}

/// A duration: a number (decimals allowed) in `unit_ms` milliseconds, or with a unit
/// ms, s, m, h or d. Returned in milliseconds, within [min_ms, max_ms].
long long parse_duration_ms(std::string_view label, std::string_view text, double unit_ms, long long min_ms,
                            long long max_ms, const char* unit_name) {
    std::string v = trimmed(text);
    double unit = unit_ms;
    auto strip = [&](std::string_view suffix, double ms) {
        if (v.size() > suffix.size() && v.compare(v.size() - suffix.size(), suffix.size(), suffix) == 0) {
            v.resize(v.size() - suffix.size());
            unit = ms;
            return true;
        }
        return false;
    };
    strip("ms", 1) || strip("s", 1e3) || strip("m", 60e3) || strip("h", 3600e3) || strip("d", 86400e3);
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    const double ms = x * unit;
    if (v.empty() || *end || !std::isfinite(ms) || ms < static_cast<double>(min_ms) ||
        ms > static_cast<double>(max_ms)) {
        bad(label, fmt::format("expected a duration (a number of {}, or with a unit: 500ms, 90s, 15m, 24h, 7d) "
                               "from {} ms to {} ms, got '{}'",
                               unit_name, min_ms, max_ms, shown(text)));
    }
    return std::llround(ms);
}

std::vector<instance_config> parse_instances(std::string_view label, std::string_view all) {
    std::vector<instance_config> out;
    std::size_t start = 0;
    while (start <= all.size()) {
        const std::size_t comma = all.find(',', start);
        const std::string item =
            trimmed(all.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
        start = comma == std::string_view::npos ? all.size() + 1 : comma + 1;
        if (item.empty()) continue;
        const std::size_t eq = item.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
            bad(label, fmt::format("expected name=url, got '{}'", shown(item)));
        instance_config ic;
        ic.name = item.substr(0, eq);
        ic.connection.base_url = item.substr(eq + 1);
        ic.role = out.empty() ? instance_role::primary : instance_role::replica;
        out.push_back(std::move(ic));
    }
    if (out.empty()) bad(label, "expected \"name=url,name=url\" (the first is the primary), got nothing");
    return out;
}

std::pair<std::string, std::string> parse_header(std::string_view label, std::string_view h) {
    const std::size_t colon = h.find(':');
    // Never repeat the value: it is a credential.
    if (colon == std::string_view::npos || colon == 0) bad(label, "expected \"Header-Name: value\"");
    std::string name = trimmed(h.substr(0, colon));
    if (name.empty()) bad(label, "expected \"Header-Name: value\"");
    return {std::move(name), trimmed(h.substr(colon + 1))};
}

read_mode parse_read_policy(std::string_view label, std::string_view text) {
    const std::string v = trimmed(text);
    for (auto p :
         {read_mode::primary_only, read_mode::primary_preferred, read_mode::replica_ratio, read_mode::nearest}) {
        if (v == to_string(p)) return p;
    }
    bad(label,
        fmt::format("expected primary_only, primary_preferred, replica_ratio or nearest, got '{}'", shown(text)));
}

constexpr long long hour_ms = 3600LL * 1000;
constexpr long long century_ms = 100LL * 365 * 24 * hour_ms;

using setter = void (*)(client_config&, std::string_view label, std::string_view value);

struct setting_row {
    setting_info info;
    setter set;
};

// Every setting, once. The order is the order of application in from_settings(): instances
// first, because request_timeout and auth_header apply to every configured instance.
const std::vector<setting_row>& table() {
    static const std::vector<setting_row> rows = {
        {{"instances", "CHROMAWAL_INSTANCES", "NAME=URL,...", "the Chroma servers; the first is the primary", "", false,
          false},
         [](client_config& c, std::string_view l, std::string_view v) { c.instances = parse_instances(l, v); }},
        {{"log_url", "CHROMAWAL_LOG_URL", "URL",
          "the log: sqlite:///path.db, or a PostgreSQL URI or conninfo (empty: PG* variables, else an SQLite file in "
          "the user's state directory); never printed",
          "", true, false},
         [](client_config& c, std::string_view, std::string_view v) { c.log_url = std::string(v); }},
        {{"log_schema", "CHROMAWAL_LOG_SCHEMA", "NAME", "the PostgreSQL schema holding the log's tables", "chromawal",
          false, false},
         [](client_config& c, std::string_view, std::string_view v) { c.log_schema = trimmed(v); }},
        {{"tenant", "CHROMAWAL_TENANT", "NAME", "the Chroma tenant", "default_tenant", false, false},
         [](client_config& c, std::string_view, std::string_view v) { c.tenant = trimmed(v); }},
        {{"database", "CHROMAWAL_DATABASE", "NAME", "the Chroma database", "default_database", false, false},
         [](client_config& c, std::string_view, std::string_view v) { c.database = trimmed(v); }},
        {{"write_quorum", "CHROMAWAL_WRITE_QUORUM", "N", "a write returns once applied to this many instances", "1",
          false, false},
         [](client_config& c, std::string_view l, std::string_view v) {
             c.write_quorum = static_cast<std::size_t>(parse_int(l, v, 1, 64));
         }},
        {{"ack_after_quorum", "CHROMAWAL_ACK_AFTER_QUORUM", "BOOL",
          "return once write_quorum instances applied a write; the others finish in the background, in order", "false",
          false, false},
         [](client_config& c, std::string_view l, std::string_view v) { c.ack_after_quorum = parse_bool(l, v); }},
        {{"max_in_flight_writes", "CHROMAWAL_MAX_IN_FLIGHT_WRITES", "N",
          "writes of one collection in flight at once (the window of asynchronous writes)", "8", false, false},
         [](client_config& c, std::string_view l, std::string_view v) {
             c.max_in_flight_writes = static_cast<std::size_t>(parse_int(l, v, 1, 1024));
         }},
        {{"read_policy", "CHROMAWAL_READ_POLICY", "POLICY",
          "where reads go: primary_only, primary_preferred, replica_ratio or nearest", "primary_preferred", false,
          false},
         [](client_config& c, std::string_view l, std::string_view v) { c.read_policy = parse_read_policy(l, v); }},
        {{"replica_read_ratio", "CHROMAWAL_READ_REPLICA_RATIO", "RATIO",
          "share of reads sent to replicas with replica_ratio (0..1); alone, it selects replica_ratio", "0.8", false,
          false},
         [](client_config& c, std::string_view l, std::string_view v) { c.replica_read_ratio = parse_ratio(l, v); }},
        {{"request_timeout", "CHROMAWAL_REQUEST_TIMEOUT_MS", "DURATION",
          "time allowed for one request to an instance (a number: milliseconds)", "30000", false, false},
         [](client_config& c, std::string_view l, std::string_view v) {
             const std::chrono::milliseconds t(parse_duration_ms(l, v, 1, 1, hour_ms, "milliseconds"));
             for (auto& i : c.instances) i.connection.request_timeout = t;
         }},
        {{"auth_header", "CHROMAWAL_AUTH_HEADER", "\"NAME: VALUE\"",
          "a header sent to every instance (for authentication); repeatable; never printed", "", true, true},
         [](client_config& c, std::string_view l, std::string_view v) {
             const auto header = parse_header(l, v);
             for (auto& i : c.instances) i.connection.headers.push_back(header);
         }},
        {{"sync_interval", "CHROMAWAL_SYNC_INTERVAL_MS", "DURATION",
          "the sync thread's wake-up interval (a number: milliseconds)", "500", false, false},
         [](client_config& c, std::string_view l, std::string_view v) {
             c.sync_interval = std::chrono::milliseconds(parse_duration_ms(l, v, 1, 1, hour_ms, "milliseconds"));
         }},
        {{"health_interval", "CHROMAWAL_HEALTH_INTERVAL_MS", "DURATION",
          "the health monitor's heartbeat period (a number: milliseconds)", "1000", false, false},
         [](client_config& c, std::string_view l, std::string_view v) {
             c.health_interval = std::chrono::milliseconds(parse_duration_ms(l, v, 1, 1, hour_ms, "milliseconds"));
         }},
        {{"down_after_failures", "CHROMAWAL_DOWN_AFTER_FAILURES", "N",
          "consecutive failures that mark an instance down", "2", false, false},
         [](client_config& c, std::string_view l, std::string_view v) {
             c.down_after_failures = static_cast<int>(parse_int(l, v, 1, 1000));
         }},
        {{"up_after_successes", "CHROMAWAL_UP_AFTER_SUCCESSES", "N",
          "consecutive heartbeats that mark an instance up again", "3", false, false},
         [](client_config& c, std::string_view l, std::string_view v) {
             c.up_after_successes = static_cast<int>(parse_int(l, v, 1, 1000));
         }},
        {{"min_down_time", "CHROMAWAL_MIN_DOWN_TIME_MS", "DURATION",
          "least time an instance stays down, doubled while it flaps (up to 32x); 0: none (a number: milliseconds)",
          "1000", false, false},
         [](client_config& c, std::string_view l, std::string_view v) {
             c.min_down_time = std::chrono::milliseconds(parse_duration_ms(l, v, 1, 0, hour_ms, "milliseconds"));
         }},
        {{"max_attempts", "CHROMAWAL_MAX_ATTEMPTS", "N",
          "attempts at one entry on one instance before it is dead-lettered", "8", false, false},
         [](client_config& c, std::string_view l, std::string_view v) {
             c.max_attempts = static_cast<int>(parse_int(l, v, 1, 1000000));
         }},
        {{"queue_when_unavailable", "CHROMAWAL_QUEUE_WHEN_UNAVAILABLE", "BOOL",
          "keep a write no instance could apply pending instead of abandoning it", "false", false, false},
         [](client_config& c, std::string_view l, std::string_view v) { c.queue_when_unavailable = parse_bool(l, v); }},
        {{"retention", "CHROMAWAL_RETENTION_SECONDS", "DURATION",
          "age after which entries applied everywhere are pruned (a number: seconds)", "7d", false, false},
         [](client_config& c, std::string_view l, std::string_view v) {
             c.retention = std::chrono::seconds(parse_duration_ms(l, v, 1e3, 0, century_ms, "seconds") / 1000);
         }},
        {{"prune_interval", "CHROMAWAL_PRUNE_INTERVAL_MS", "DURATION",
          "how often the sync thread applies retention; 0: only on prune() (a number: milliseconds)", "5m", false,
          false},
         [](client_config& c, std::string_view l, std::string_view v) {
             c.prune_interval = std::chrono::milliseconds(parse_duration_ms(l, v, 1, 0, century_ms, "milliseconds"));
         }},
        {{"record_apply_history", "CHROMAWAL_RECORD_APPLY_HISTORY", "BOOL",
          "record every advance of an applied position (audits and tests)", "false", false, false},
         [](client_config& c, std::string_view l, std::string_view v) { c.record_apply_history = parse_bool(l, v); }},
        {{"backlog_alert_threshold", "CHROMAWAL_BACKLOG_ALERT_THRESHOLD", "N",
          "entries behind, summed over every instance (down ones too), that raise backlog_over_threshold", "10000",
          false, false},
         [](client_config& c, std::string_view l, std::string_view v) {
             c.backlog_alert_threshold = parse_int(l, v, 1, 1LL << 62);
         }},
        {{"metrics_address", "CHROMAWAL_METRICS_ADDRESS", "HOST:PORT",
          "serve /metrics, /health and /status here (port 0: a free one); empty: no listener", "", false, false},
         [](client_config& c, std::string_view, std::string_view v) { c.metrics_address = trimmed(v); }},
        {{"alert_webhook_url", "CHROMAWAL_ALERT_WEBHOOK_URL", "URL",
          "POST every event here as JSON with a Slack-compatible text field; never printed", "", true, false},
         [](client_config& c, std::string_view, std::string_view v) { c.alert_webhook_url = trimmed(v); }},
    };
    return rows;
}

const setting_row* find(std::string_view name) {
    for (const auto& r : table()) {
        if (name == r.info.name) return &r;
    }
    return nullptr;
}

[[noreturn]] void unknown_setting(std::string_view name) {
    std::string known;
    for (const auto& r : table()) known += (known.empty() ? "" : ", ") + std::string(r.info.name);
    bad(name, fmt::format("no such setting (known: {})", known));
}

void apply(client_config& c, const std::vector<std::pair<std::string, std::string>>& values, bool from_environment) {
    // Table order, so that instances come before what applies to each instance; for one name,
    // the last value wins, or every value counts for a repeatable setting (auth_header).
    for (const auto& [name, value] : values) {
        if (!find(name)) unknown_setting(name);
    }
    bool policy_given = false, ratio_given = false;
    for (const auto& r : table()) {
        const std::pair<std::string, std::string>* last = nullptr;
        for (const auto& v : values) {
            if (v.first != r.info.name) continue;
            last = &v;
            if (r.info.repeatable) r.set(c, from_environment ? r.info.env : r.info.name, v.second);
        }
        if (!last) continue;
        if (!r.info.repeatable) r.set(c, from_environment ? r.info.env : r.info.name, last->second);
        policy_given |= last->first == "read_policy";
        ratio_given |= last->first == "replica_read_ratio";
    }
    // Like the old proxy's READ_REPLICA_RATIO: a ratio alone means ratio routing.
    if (ratio_given && !policy_given) c.read_policy = read_mode::replica_ratio;
}

bool valid_schema(const std::string& s) {
    if (s.empty() || s.size() > 63) return false;
    if (!(std::islower(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
    return std::all_of(s.begin(), s.end(), [](char ch) {
        return std::islower(static_cast<unsigned char>(ch)) || std::isdigit(static_cast<unsigned char>(ch)) ||
               ch == '_';
    });
}

}  // namespace

const char* to_string(read_mode p) noexcept {
    switch (p) {
        case read_mode::primary_only:
            return "primary_only";
        case read_mode::primary_preferred:
            return "primary_preferred";
        case read_mode::replica_ratio:
            return "replica_ratio";
        case read_mode::nearest:
            return "nearest";
    }
    return "primary_preferred";
}

const char* to_string(event::kind k) noexcept {
    switch (k) {
        case event::kind::instance_down:
            return "instance_down";
        case event::kind::instance_up:
            return "instance_up";
        case event::kind::entry_dead_lettered:
            return "entry_dead_lettered";
        case event::kind::backlog_over_threshold:
            return "backlog_over_threshold";
        case event::kind::log_unavailable:
            return "log_unavailable";
        case event::kind::log_recovered:
            return "log_recovered";
        case event::kind::instance_needs_repair:
            return "instance_needs_repair";
        case event::kind::write_abandoned:
            return "write_abandoned";
        case event::kind::quorum_not_reached:
            return "quorum_not_reached";
        case event::kind::log_conflict:
            return "log_conflict";
        case event::kind::instances_taken_over:
            return "instances_taken_over";
        case event::kind::log_default:
            return "log_default";
    }
    return "unknown";
}

const std::vector<setting_info>& client_config::settings() {
    static const std::vector<setting_info> infos = [] {
        std::vector<setting_info> v;
        for (const auto& r : table()) v.push_back(r.info);
        return v;
    }();
    return infos;
}

void client_config::set(std::string_view name, std::string_view value) {
    const setting_row* r = find(name);
    if (!r) unknown_setting(name);
    r->set(*this, r->info.name, value);
}

std::vector<std::pair<std::string, std::string>> client_config::environment() {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& r : table()) {
        const char* v = std::getenv(r.info.env);
        if (v != nullptr && *v != '\0') out.emplace_back(r.info.name, v);
    }
    return out;
}

client_config client_config::from_settings(const std::vector<std::pair<std::string, std::string>>& values) {
    client_config c;
    apply(c, values, false);
    return c;
}

client_config client_config::from_env() {
    const auto values = environment();
    if (std::none_of(values.begin(), values.end(), [](const auto& v) { return v.first == "instances"; }))
        bad("CHROMAWAL_INSTANCES", "not set (expected \"name=url,name=url\")");
    client_config c;
    apply(c, values, true);
    return c;
}

void client_config::validate() const {
    const client_config& c = *this;
    if (c.instances.empty()) bad("instances", "at least one Chroma instance is needed");
    std::set<std::string> names;
    int primaries = 0;
    for (std::size_t i = 0; i < c.instances.size(); ++i) {
        const auto& inst = c.instances[i];
        const std::string where = fmt::format("instances[{}]", i);
        if (inst.name.empty()) bad(where + ".name", "must not be empty");
        for (char ch : inst.name) {
            if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.'))
                bad(where + ".name",
                    fmt::format("'{}' may use only letters, digits, '-', '_' and '.'", shown(inst.name)));
        }
        if (!names.insert(inst.name).second) bad(where + ".name", fmt::format("'{}' is used twice", inst.name));
        if (inst.connection.base_url.rfind("http://", 0) != 0 && inst.connection.base_url.rfind("https://", 0) != 0)
            bad(where + ".connection.base_url", "must start with http:// or https://");
        if (inst.role == instance_role::primary) ++primaries;
    }
    if (primaries > 1) bad("instances", "at most one instance may be the primary");
    if (c.write_quorum < 1 || c.write_quorum > c.instances.size()) {
        bad("write_quorum", fmt::format("must be between 1 and the number of instances ({}), got {}",
                                        c.instances.size(), c.write_quorum));
    }
    if (!valid_schema(c.log_schema)) bad("log_schema", "must match [a-z_][a-z0-9_]* (at most 63 characters)");
    if (c.replica_read_ratio < 0 || c.replica_read_ratio > 1) bad("replica_read_ratio", "must be between 0 and 1");
    if (c.sync_interval.count() <= 0) bad("sync_interval", "must be positive");
    if (c.health_interval.count() <= 0) bad("health_interval", "must be positive");
    if (c.down_after_failures < 1) bad("down_after_failures", "must be at least 1");
    if (c.up_after_successes < 1) bad("up_after_successes", "must be at least 1");
    if (c.min_down_time.count() < 0) bad("min_down_time", "must not be negative (zero: no floor)");
    if (c.max_attempts < 1) bad("max_attempts", "must be at least 1");
    if (c.retention.count() < 0) bad("retention", "must not be negative");
    if (c.prune_interval.count() < 0) bad("prune_interval", "must not be negative (zero: no automatic pruning)");
    if (c.tenant.empty()) bad("tenant", "must not be empty");
    if (c.database.empty()) bad("database", "must not be empty");
    if (!c.metrics_address.empty() && c.metrics_address.find(':') == std::string::npos)
        bad("metrics_address",
            fmt::format("expected host:port, e.g. 127.0.0.1:9464, got '{}'", shown(c.metrics_address)));
    // Never repeat the URL: the whole of it is a credential (Slack's incoming webhooks).
    if (!c.alert_webhook_url.empty() && c.alert_webhook_url.rfind("http://", 0) != 0 &&
        c.alert_webhook_url.rfind("https://", 0) != 0)
        bad("alert_webhook_url", "must start with http:// or https://");
}

std::vector<std::string> client_config::secrets() const {
    std::vector<std::string> out = secrets_in(log_url);
    auto add = [&](std::string s) {
        if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
    };
    add(alert_webhook_url);  // the whole URL: a Slack webhook's path is its credential
    for (const auto& i : instances) {
        for (auto& s : secrets_in(i.connection.base_url)) add(std::move(s));
        for (const auto& h : i.connection.headers) add(h.second);  // every header value is a credential
    }
    return out;
}

}  // namespace chromawal
