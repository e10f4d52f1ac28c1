// chromawal: the command-line tool over chromawal::client.
//
//   chromawal status [--json]                    counts by state, per-instance progress, dead letters
//   chromawal verify [--a N --b N] [COLL...]     compare two instances' stored records (exit 1: differ)
//   chromawal repair --source N --target N [COLL...]
//   chromawal replay                             retry dead-lettered entries
//   chromawal prune                              apply retention now
//
// Settings come from flags or from the environment (client_config::from_env). Nothing it prints
// contains a password or a header value: every line goes through a scrubber that knows the
// configured secrets, and the log URL is only ever printed redacted.
//
// Exit codes: 0 success (verify: identical), 1 verify found differences / replay or repair left
// work undone, 2 usage or runtime error.
#include <chromawal/chromawal.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cw = chromawal;

namespace {

constexpr int exit_ok = 0;
constexpr int exit_differs = 1;
constexpr int exit_error = 2;

// ---------------------------------------------------------------------------------------------
// Secrets: redaction of connection strings and a scrubber for everything printed.

// "postgresql://user:pass@host/db?password=x" -> "postgresql://user:***@host/db?password=***";
// "host=h password=x user=u" -> "host=h password=*** user=u".
std::string redact_connection_string(const std::string& s) {
    std::string out = s;
    const auto scheme = out.find("://");
    if (scheme != std::string::npos) {
        const std::size_t start = scheme + 3;
        const std::size_t end = out.find_first_of("/?#", start);
        const std::size_t at = out.rfind('@', end == std::string::npos ? std::string::npos : end);
        if (at != std::string::npos && at >= start) {
            const std::size_t colon = out.find(':', start);
            if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
        }
    }
    // key=value forms (conninfo, and URI query parameters).
    for (std::size_t pos = 0; (pos = out.find("password", pos)) != std::string::npos;) {
        std::size_t p = pos + 8;
        while (p < out.size() && out[p] == ' ') ++p;
        if (p >= out.size() || out[p] != '=') {
            pos += 8;
            continue;
        }
        ++p;
        while (p < out.size() && out[p] == ' ') ++p;
        std::size_t end = p;
        if (end < out.size() && out[end] == '\'') {
            ++end;
            while (end < out.size() && out[end] != '\'') end += (out[end] == '\\' && end + 1 < out.size()) ? 2 : 1;
            if (end < out.size()) ++end;
        } else {
            while (end < out.size() && out[end] != ' ' && out[end] != '&') ++end;
        }
        out.replace(p, end - p, "***");
        pos = p + 3;
    }
    return out;
}

// The password in a libpq conninfo or URI, if any (for scrubbing).
std::string password_of(const std::string& s) {
    const auto scheme = s.find("://");
    if (scheme != std::string::npos) {
        const std::size_t start = scheme + 3;
        const std::size_t end = s.find_first_of("/?#", start);
        const std::size_t at = s.rfind('@', end == std::string::npos ? std::string::npos : end);
        if (at != std::string::npos && at >= start) {
            const std::size_t colon = s.find(':', start);
            if (colon != std::string::npos && colon < at) return s.substr(colon + 1, at - colon - 1);
        }
    }
    const auto key = s.find("password");
    if (key == std::string::npos) return {};
    std::size_t p = s.find('=', key);
    if (p == std::string::npos) return {};
    ++p;
    while (p < s.size() && s[p] == ' ') ++p;
    std::size_t end = p;
    if (p < s.size() && s[p] == '\'') {
        ++p;
        end = s.find('\'', p);
        if (end == std::string::npos) end = s.size();
    } else {
        while (end < s.size() && s[end] != ' ' && s[end] != '&') ++end;
    }
    return s.substr(p, end - p);
}

// Everything printed passes through scrub(): known secret strings become "***".
std::vector<std::string>& secrets() {
    static std::vector<std::string> s;
    return s;
}

void add_secret(const std::string& s) {
    // Very short strings would mangle ordinary output; they are covered by the pattern-based
    // redaction of connection strings instead.
    if (s.size() >= 3 && std::find(secrets().begin(), secrets().end(), s) == secrets().end()) secrets().push_back(s);
}

std::string scrub(std::string text) {
    for (const auto& secret : secrets()) {
        for (std::size_t pos = 0; (pos = text.find(secret, pos)) != std::string::npos;) {
            text.replace(pos, secret.size(), "***");
            pos += 3;
        }
    }
    return text;
}

void print_out(const std::string& s) {
    const std::string clean = scrub(s);
    std::fwrite(clean.data(), 1, clean.size(), stdout);
}

void print_err(const std::string& s) {
    const std::string clean = scrub(s);
    std::fwrite(clean.data(), 1, clean.size(), stderr);
    std::fflush(stderr);
}

// ---------------------------------------------------------------------------------------------
// JSON output (the tool's own objects; the library serialises its status itself).

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (const char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

std::string json_strings(const std::vector<std::string>& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + json_string(v[i]);
    return out + "]";
}

// ---------------------------------------------------------------------------------------------
// Command line.

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct options {
    std::string command;
    std::vector<std::string> positional;
    bool help = false;
    bool json = false;
    bool quiet = false;
    std::optional<std::string> instances, log_url, log_schema, tenant, database, a, b, source, target;
    std::vector<std::string> headers;
    std::optional<long long> timeout_ms, wait_seconds, limit;
    std::optional<std::chrono::seconds> retention;
};

const char* const general_help = R"(Usage: chromawal [OPTIONS] COMMAND [ARGS]

Operates a set of Chroma servers used as one through chromawal's write-ahead log.

Commands:
  status    counts of log entries by state, per-instance applied position and lag,
            needs-repair flags, dead-lettered entries with their errors
  verify    compare the stored records of two instances (exit 1 when anything differs)
  repair    make one instance identical to another, through the log
  replay    retry the dead-lettered entries
  prune     apply retention: delete entries applied everywhere and older than the retention

Settings (flags override the environment):
  --instances NAME=URL,...   CHROMAWAL_INSTANCES (the first is the primary)
  --log-url URL              CHROMAWAL_LOG_URL: PostgreSQL URI or conninfo (never printed)
  --log-schema NAME          CHROMAWAL_LOG_SCHEMA (default chromawal)
  --tenant NAME              CHROMAWAL_TENANT
  --database NAME            CHROMAWAL_DATABASE
  --header "Name: value"     CHROMAWAL_AUTH_HEADER; sent to every instance, never printed
                             (repeatable)
  --timeout-ms N             CHROMAWAL_REQUEST_TIMEOUT_MS: per request
  --retention DURATION       retention for prune: 3600, 90s, 15m, 24h, 7d (default 7d)
  -h, --help                 this help; "chromawal COMMAND --help" for a command's

Exit codes: 0 success, 1 differences found or work left undone, 2 error.
)";

const char* const status_help = R"(Usage: chromawal status [--json] [--limit N] [SETTINGS]

Prints the log's entry counts by state (pending, applied, rejected, abandoned, dead) and the
age of the oldest pending entry; for each instance whether it answers a heartbeat now, its
applied position (entries, summed over collections), its lag in entries and seconds, and
whether it needs a verify-and-repair (it missed entries that retention already pruned); and
the dead-lettered entries (at most --limit, default 100) with their errors.

  --json       one JSON object: {"status": ..., "reachable": {...}, "dead_letters": [...]}
  --limit N    dead letters listed (default 100)

Exit code: 0, or 2 when the log cannot be read.
)";

const char* const verify_help =
    R"(Usage: chromawal verify [--a NAME] [--b NAME] [--json] [--quiet] [COLLECTION...] [SETTINGS]

Compares every collection (or the named ones) on instances a and b (by default the first two
configured) by their stored records: ids, documents, metadata and embeddings, exactly.
Progress goes to stderr, one line per collection (--quiet: none).

  --a NAME, --b NAME   the instances to compare
  --json               the reports as one JSON object on stdout

Exit code: 0 identical, 1 something differs, 2 error.
)";

const char* const repair_help =
    R"(Usage: chromawal repair --source NAME --target NAME [--wait-seconds N] [COLLECTION...] [SETTINGS]

Makes the target identical to the source, for every collection or the named ones, by logging
the upserts and deletes it needs (audited and ordered like any write), then waits up to
--wait-seconds (default 60; 0: do not wait) until every instance has applied the log.

Exit code: 0 repaired (and applied), 1 logged but not applied everywhere within the wait,
2 error.
)";

const char* const replay_help = R"(Usage: chromawal replay [SETTINGS]

Applies the dead-lettered entries to their instances again.

Exit code: 0 when no dead letter remains, 1 when some still fail, 2 error.
)";

const char* const prune_help = R"(Usage: chromawal prune [--retention DURATION] [SETTINGS]

Deletes the log entries that every instance has applied and that are older than the
retention (--retention 3600, 90s, 15m, 24h or 7d; default 7d), in small batches. An instance
that missed pruned entries is reported by status as needing repair.

Exit code: 0, or 2 on error.
)";

const char* help_for(const std::string& command) {
    if (command == "status") return status_help;
    if (command == "verify") return verify_help;
    if (command == "repair") return repair_help;
    if (command == "replay") return replay_help;
    if (command == "prune") return prune_help;
    return general_help;
}

long long parse_int(const std::string& flag, const std::string& v, long long min) {
    char* end = nullptr;
    errno = 0;
    const long long x = std::strtoll(v.c_str(), &end, 10);
    if (errno || end == v.c_str() || *end || x < min) {
        throw usage_error(fmt::format("{}: expected an integer >= {}, got '{}'", flag, min, v));
    }
    return x;
}

// "90" or "90s", "15m", "24h", "7d".
std::chrono::seconds parse_duration(const std::string& flag, std::string v) {
    long long unit = 1;
    if (!v.empty() && std::string("smhd").find(v.back()) != std::string::npos) {
        unit = v.back() == 's' ? 1 : v.back() == 'm' ? 60 : v.back() == 'h' ? 3600 : 86400;
        v.pop_back();
    }
    try {
        return std::chrono::seconds(parse_int(flag, v, 0) * unit);
    } catch (const usage_error&) {
        throw usage_error(flag + ": expected a duration like 3600, 90s, 15m, 24h or 7d");
    }
}

options parse(int argc, char** argv) {
    options o;
    std::vector<std::string> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string arg = args[i];
        if (arg == "--") {
            for (++i; i < args.size(); ++i) o.positional.push_back(args[i]);
            break;
        }
        if (arg == "-h" || arg == "--help") {
            o.help = true;
            continue;
        }
        if (arg.size() < 2 || arg[0] != '-') {
            if (o.command.empty()) {
                o.command = arg;
            } else {
                o.positional.push_back(arg);
            }
            continue;
        }
        std::optional<std::string> inline_value;
        if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            inline_value = arg.substr(eq + 1);
            arg.erase(eq);
        }
        if (arg == "--json" || arg == "--quiet") {
            if (inline_value) throw usage_error(arg + " takes no value");
            (arg == "--json" ? o.json : o.quiet) = true;
            continue;
        }
        auto value = [&]() -> std::string {
            if (inline_value) return *inline_value;
            if (i + 1 >= args.size()) throw usage_error(arg + ": missing value");
            return args[++i];
        };
        if (arg == "--instances") {
            o.instances = value();
        } else if (arg == "--log-url") {
            o.log_url = value();
            add_secret(password_of(*o.log_url));
        } else if (arg == "--log-schema") {
            o.log_schema = value();
        } else if (arg == "--tenant") {
            o.tenant = value();
        } else if (arg == "--database") {
            o.database = value();
        } else if (arg == "--header") {
            o.headers.push_back(value());
        } else if (arg == "--timeout-ms") {
            o.timeout_ms = parse_int(arg, value(), 1);
        } else if (arg == "--retention") {
            o.retention = parse_duration(arg, value());
        } else if (arg == "--wait-seconds") {
            o.wait_seconds = parse_int(arg, value(), 0);
        } else if (arg == "--limit") {
            o.limit = parse_int(arg, value(), 0);
        } else if (arg == "--a") {
            o.a = value();
        } else if (arg == "--b") {
            o.b = value();
        } else if (arg == "--source") {
            o.source = value();
        } else if (arg == "--target") {
            o.target = value();
        } else {
            throw usage_error("unknown option " + arg);
        }
    }
    return o;
}

std::pair<std::string, std::string> split_header(const std::string& h) {
    const auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0) throw usage_error("--header: expected \"Name: value\"");
    std::size_t v = colon + 1;
    while (v < h.size() && h[v] == ' ') ++v;
    return {h.substr(0, colon), h.substr(v)};
}

// The passwords of the URLs in "name=url,name=url".
void add_instance_secrets(const std::string& list) {
    for (std::size_t start = 0; start <= list.size();) {
        const auto comma = list.find(',', start);
        add_secret(password_of(list.substr(start, comma == std::string::npos ? comma : comma - start)));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
}

// Learns the secrets of the environment's settings before anything can be printed.
void note_environment_secrets() {
    if (const char* v = std::getenv("CHROMAWAL_LOG_URL")) add_secret(password_of(v));
    if (const char* v = std::getenv("CHROMAWAL_AUTH_HEADER")) {
        const std::string h(v);
        const auto colon = h.find(':');
        if (colon != std::string::npos) {
            std::size_t start = colon + 1;
            while (start < h.size() && h[start] == ' ') ++start;
            add_secret(h.substr(start));
        }
    }
    if (const char* v = std::getenv("CHROMAWAL_INSTANCES")) add_instance_secrets(v);
}

cw::client_config make_config(const options& o) {
    // The instance list of a flag goes through from_env's parser, so that both forms accept the
    // same syntax and every other CHROMAWAL_* variable still applies.
    if (o.instances) {
        add_instance_secrets(*o.instances);
        ::setenv("CHROMAWAL_INSTANCES", o.instances->c_str(), 1);
    }
    if (o.timeout_ms) ::setenv("CHROMAWAL_REQUEST_TIMEOUT_MS", std::to_string(*o.timeout_ms).c_str(), 1);
    if (!std::getenv("CHROMAWAL_INSTANCES") || !*std::getenv("CHROMAWAL_INSTANCES")) {
        throw usage_error("no instances: give --instances NAME=URL,... or set CHROMAWAL_INSTANCES");
    }
    cw::client_config c = cw::client_config::from_env();
    for (auto& i : c.instances) add_secret(password_of(i.connection.base_url));
    if (o.log_url) c.log_url = *o.log_url;
    if (const char* s = std::getenv("CHROMAWAL_LOG_SCHEMA"); s && *s) c.log_schema = s;
    if (o.log_schema) c.log_schema = *o.log_schema;
    if (o.tenant) c.tenant = *o.tenant;
    if (o.database) c.database = *o.database;
    for (const auto& h : o.headers) {
        auto header = split_header(h);
        add_secret(header.second);
        for (auto& i : c.instances) i.connection.headers.push_back(header);
    }
    if (o.retention) c.retention = *o.retention;
    // A tool drives everything itself: no health monitor, no sync thread.
    c.background_threads = false;
    return c;
}

std::string instance_names(const cw::client_config& c) {
    std::string s;
    for (const auto& i : c.instances) s += (s.empty() ? "" : ", ") + i.name;
    return s;
}

void require_instance(const cw::client_config& c, const std::string& name, const char* flag) {
    for (const auto& i : c.instances) {
        if (i.name == name) return;
    }
    throw usage_error(fmt::format("{}: no instance named '{}' (configured: {})", flag, name, instance_names(c)));
}

// ---------------------------------------------------------------------------------------------
// Commands.

// Whether each instance answers a heartbeat now (the tool runs no health monitor).
std::map<std::string, std::string> probe_instances(const cw::client_config& c) {
    std::map<std::string, std::string> errors;  // name -> "" when reachable
    for (const auto& i : c.instances) {
        cw::connection_options conn = i.connection;
        conn.tenant = c.tenant;
        conn.database = c.database;
        conn.connect_timeout = std::min(conn.connect_timeout, std::chrono::milliseconds(2000));
        conn.request_timeout = std::min(conn.request_timeout, std::chrono::milliseconds(5000));
        try {
            cw::chroma_client(conn).heartbeat();
            errors[i.name] = "";
        } catch (const std::exception& e) {
            errors[i.name] = e.what();
            if (errors[i.name].empty()) errors[i.name] = "unreachable";
        }
    }
    return errors;
}

std::string seconds(double s) { return fmt::format("{:.1f}", s); }

int cmd_status(const options& o, const cw::client_config& config) {
    cw::client client(config);
    const cw::status s = client.status();
    const auto reach = probe_instances(config);
    std::vector<cw::dead_letter_info> dead;
    std::string dead_error;
    if (s.log.reachable) {
        try {
            dead = client.dead_letters(static_cast<std::size_t>(o.limit.value_or(100)));
        } catch (const cw::error& e) {
            dead_error = e.what();
        }
    }
    if (o.json) {
        std::string out = "{\"status\":" + s.to_json() + ",\"reachable\":{";
        bool first = true;
        for (const auto& [name, err] : reach) {
            out += (first ? "" : ",") + json_string(name) + ":" + (err.empty() ? "true" : "false");
            first = false;
        }
        out += "},\"needs_repair\":{";
        first = true;
        for (const auto& i : s.instances) {
            out += (first ? "" : ",") + json_string(i.name) + ":" + (i.needs_repair ? "true" : "false");
            first = false;
        }
        out += "},\"dead_letters\":[";
        for (std::size_t k = 0; k < dead.size(); ++k) {
            const auto& d = dead[k];
            out += fmt::format(
                "{}{{\"instance\":{},\"collection\":{},\"position\":{},\"operation\":{},\"error\":{},\"age_seconds\":{}"
                "}}",
                k ? "," : "", json_string(d.instance), json_string(d.collection), d.position, json_string(d.operation),
                json_string(d.error), d.age_seconds);
        }
        out += "]";
        if (!dead_error.empty()) out += ",\"dead_letters_error\":" + json_string(dead_error);
        out += "}\n";
        print_out(out);
        return s.log.reachable ? exit_ok : exit_error;
    }

    std::string out;
    out += fmt::format("log      {} (schema {}): {}\n", redact_connection_string(config.log_url), config.log_schema,
                       s.log.reachable ? "reachable" : "UNREACHABLE: " + s.log.error);
    if (s.log.reachable) {
        out += fmt::format("entries  pending {}  applied {}  rejected {}  abandoned {}  dead {}", s.log.pending,
                           s.log.applied, s.log.rejected, s.log.abandoned, s.log.dead);
        out += s.log.pending ? fmt::format("  (oldest pending {} s)\n", seconds(s.log.oldest_pending_age_seconds))
                             : std::string("\n");
    }
    std::size_t width = 8;
    for (const auto& i : s.instances) width = std::max(width, i.name.size());
    out += fmt::format("\n{:<{}}  {:<7}  {:<9}  {:>9}  {:>9}  {:>8}  {:<12}  {}\n", "instance", width, "role",
                       "reachable", "applied", "lag", "lag_s", "needs_repair", "url / error");
    for (const auto& i : s.instances) {
        const auto it = reach.find(i.name);
        const std::string err = it == reach.end() ? "" : it->second;
        out += fmt::format("{:<{}}  {:<7}  {:<9}  {:>9}  {:>9}  {:>8}  {:<12}  {}{}\n", i.name, width,
                           i.primary ? "primary" : "replica", err.empty() ? "yes" : "NO", i.applied, i.lag_entries,
                           seconds(i.lag_seconds), i.needs_repair ? "YES" : "no", redact_connection_string(i.url),
                           err.empty() ? "" : "  " + err);
    }
    for (const auto& i : s.instances) {
        if (!i.needs_repair) continue;
        std::string source = "SOURCE";
        for (const auto& other : s.instances) {
            if (other.name != i.name && !other.needs_repair) {
                source = other.name;
                break;
            }
        }
        out += fmt::format(
            "\n{} missed entries that retention already pruned; to bring it back:\n"
            "  chromawal repair --source {} --target {}\n",
            i.name, source, i.name);
    }
    out += fmt::format("\ndead letters: {}{}\n", dead.size(),
                       dead.size() == static_cast<std::size_t>(o.limit.value_or(100)) ? " (or more)" : "");
    for (const auto& d : dead) {
        out += fmt::format("  {}  {}  position {}  {}  age {} s: {}\n", d.instance, d.collection, d.position,
                           d.operation, seconds(d.age_seconds), d.error);
    }
    if (!dead_error.empty()) out += "  (could not list them: " + dead_error + ")\n";
    print_out(out);
    return s.log.reachable ? exit_ok : exit_error;
}

std::string report_json(const cw::verify_report& r) {
    return fmt::format(
        "{{\"collection\":{},\"identical\":{},\"exists_a\":{},\"exists_b\":{},\"records_a\":{},\"records_b\":{},"
        "\"only_in_a\":{},\"only_in_b\":{},\"different\":{}}}",
        json_string(r.collection), r.identical(), r.exists_a, r.exists_b, r.records_a, r.records_b,
        json_strings(r.only_in_a), json_strings(r.only_in_b), json_strings(r.different));
}

std::string id_list(const std::vector<std::string>& ids) {
    std::string s;
    for (std::size_t i = 0; i < ids.size() && i < 20; ++i) s += (i ? " " : "") + ids[i];
    if (ids.size() > 20) s += fmt::format(" ... ({} listed)", ids.size());
    return s;
}

int cmd_verify(const options& o, const cw::client_config& config) {
    if (config.instances.size() < 2 && (!o.a || !o.b)) throw usage_error("verify needs two instances");
    const std::string a = o.a.value_or(config.instances[0].name);
    const std::string b = o.b.value_or(config.instances[config.instances[0].name == a ? 1 : 0].name);
    require_instance(config, a, "--a");
    require_instance(config, b, "--b");
    if (a == b) throw usage_error("--a and --b name the same instance");
    cw::client client(config);
    cw::verify_options vo;
    vo.collections = o.positional;
    const auto started = std::chrono::steady_clock::now();
    if (!o.quiet) {
        vo.progress = [started](const cw::verify_report& done, std::size_t index, std::size_t total) {
            const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            print_err(fmt::format("[{}/{} {:.1f} s] {}\n", std::min(index + 1, total), total, elapsed, done.summary()));
        };
    }
    const cw::verify_result result = client.verify(a, b, vo);
    std::size_t differing = 0;
    for (const auto& r : result.collections) differing += r.identical() ? 0 : 1;
    if (o.json) {
        std::string out = fmt::format("{{\"a\":{},\"b\":{},\"identical\":{},\"collections\":[", json_string(a),
                                      json_string(b), result.identical());
        for (std::size_t i = 0; i < result.collections.size(); ++i) {
            out += (i ? "," : "") + report_json(result.collections[i]);
        }
        print_out(out + "]}\n");
    } else {
        std::string out;
        for (const auto& r : result.collections) {
            out += r.summary() + "\n";
            if (!r.only_in_a.empty()) out += fmt::format("  only in {}: {}\n", a, id_list(r.only_in_a));
            if (!r.only_in_b.empty()) out += fmt::format("  only in {}: {}\n", b, id_list(r.only_in_b));
            if (!r.different.empty()) out += fmt::format("  different: {}\n", id_list(r.different));
        }
        if (result.identical()) {
            out += fmt::format("{} and {} are identical ({} collections)\n", a, b, result.collections.size());
        } else {
            out +=
                fmt::format("{} and {} DIFFER in {} of {} collections\n", a, b, differing, result.collections.size());
        }
        print_out(out);
    }
    return result.identical() ? exit_ok : exit_differs;
}

int cmd_repair(const options& o, const cw::client_config& config) {
    if (!o.source || !o.target) throw usage_error("repair needs --source NAME and --target NAME");
    require_instance(config, *o.source, "--source");
    require_instance(config, *o.target, "--target");
    if (*o.source == *o.target) throw usage_error("--source and --target name the same instance");
    cw::client client(config);
    const cw::repair_result r = client.repair(*o.source, *o.target, o.positional);
    std::string out;
    if (r.collections.empty()) {
        out += fmt::format("{} already identical to {}: nothing to repair\n", *o.target, *o.source);
    } else {
        out += fmt::format("repaired {} from {}: {} collections, {} records upserted, {} deleted, {} log entries\n",
                           *o.target, *o.source, r.collections.size(), r.upserted, r.deleted, r.receipts.size());
        for (const auto& c : r.collections) out += "  " + c + "\n";
    }
    const long long wait = o.wait_seconds.value_or(60);
    int code = exit_ok;
    if (wait > 0) {
        if (client.wait_until_synced(std::chrono::seconds(wait))) {
            out += "every instance has applied the log\n";
        } else {
            out += fmt::format("not every instance has applied the log after {} s (see chromawal status)\n", wait);
            code = exit_differs;
        }
    }
    print_out(out);
    return code;
}

int cmd_replay(const options&, const cw::client_config& config) {
    cw::client client(config);
    const std::size_t before = client.dead_letters(100000).size();
    const std::size_t ok = client.replay_dead_letters();
    const auto left = client.dead_letters(100);
    std::string out = fmt::format("replayed {} of {} dead-lettered entries\n", ok, before);
    for (const auto& d : left) {
        out += fmt::format("  still failing: {}  {}  position {}  {}: {}\n", d.instance, d.collection, d.position,
                           d.operation, d.error);
    }
    print_out(out);
    return left.empty() ? exit_ok : exit_differs;
}

int cmd_prune(const options&, const cw::client_config& config) {
    cw::client client(config);
    const std::int64_t n = client.prune();
    print_out(fmt::format("pruned {} entries (retention {} s)\n", n, config.retention.count()));
    return exit_ok;
}

int run(int argc, char** argv) {
    note_environment_secrets();
    options o;
    try {
        o = parse(argc, argv);
        if (o.help || o.command.empty() || o.command == "help") {
            const std::string topic = o.command == "help" && !o.positional.empty() ? o.positional[0] : o.command;
            if (!o.help && o.command.empty()) {  // no command at all: usage on stderr
                print_err(help_for(topic));
                return exit_error;
            }
            print_out(help_for(topic));
            return exit_ok;
        }
        if (o.command != "status" && o.command != "verify" && o.command != "repair" && o.command != "replay" &&
            o.command != "prune") {
            throw usage_error("unknown command '" + o.command + "'");
        }
        if (!o.positional.empty() && o.command != "verify" && o.command != "repair") {
            throw usage_error(o.command + " takes no arguments");
        }
        const cw::client_config config = make_config(o);
        if (o.command == "status") return cmd_status(o, config);
        if (o.command == "verify") return cmd_verify(o, config);
        if (o.command == "repair") return cmd_repair(o, config);
        if (o.command == "replay") return cmd_replay(o, config);
        return cmd_prune(o, config);
    } catch (const usage_error& e) {
        print_err(fmt::format("chromawal: {}\n(chromawal {}--help for usage)\n", e.what(),
                              o.command.empty() ? "" : o.command + " "));
        return exit_error;
    } catch (const std::exception& e) {
        print_err(fmt::format("chromawal {}: error: {}\n", o.command, e.what()));
        return exit_error;
    }
}

}  // namespace

int main(int argc, char** argv) {
    const int code = run(argc, argv);
    std::fflush(stdout);
    return code;
}
