// chromawal: the command-line tool over chromawal::client.
//
//   chromawal status [--format text|json|prometheus]  counts by state, per-instance progress, dead letters
//   chromawal verify [--a N --b N] [COLL...]     compare two instances' stored records (exit 1: differ)
//   chromawal repair --source N --target N [COLL...]
//   chromawal replay                             retry dead-lettered entries
//   chromawal prune                              apply retention now
//   chromawal takeover --reason TEXT --yes       record this log on every instance (one log per instance set)
//   chromawal copy-log --to URL [--to-schema S]  copy the quiet log into another store (SQLite <-> PostgreSQL)
//
// Options are parsed by CLI11; the settings' flags are made from client_config::settings(), and
// their values, with the environment's (client_config::environment()), go through the library's
// configuration module: the command parses no setting of its own. Nothing it prints contains a
// password or a header value: every line passes chromawal::redact() with every secret of the
// environment, the command line and the configuration.
//
// Exit codes: 0 success (verify: identical), 1 verify found differences / replay or repair left
// work undone, 2 usage or runtime error (status: the log cannot be read).
//
// verify and repair show progress on stderr when it is a terminal (collections done, records
// compared per second, ETA), overwriting one line; otherwise they print no progress
// (--progress forces it, --quiet turns it off).
#include <chromawal/chromawal.hpp>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

namespace cw = chromawal;

namespace {

constexpr int exit_ok = 0;
constexpr int exit_differs = 1;
constexpr int exit_error = 2;

// ---------------------------------------------------------------------------------------------
// Secrets: everything printed passes through chromawal::redact with the secrets known so far
// (those of the environment and the command line before parsing, the configuration's after).

std::vector<std::string>& secrets() {
    static std::vector<std::string> s;
    return s;
}

void add_secrets(std::vector<std::string> found) {
    for (auto& f : found) {
        if (std::find(secrets().begin(), secrets().end(), f) == secrets().end()) secrets().push_back(std::move(f));
    }
}

/// The value of a "Name: value" header (every configured header value is a credential).
std::string header_value(const std::string& h) {
    const auto colon = h.find(':');
    if (colon == std::string::npos) return h;
    std::size_t start = colon + 1;
    while (start < h.size() && h[start] == ' ') ++start;
    return h.substr(start);
}

std::string scrub(const std::string& text) { return cw::redact(text, secrets()); }

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
    bool json = false;
    std::string format = "text";
    bool quiet = false;
    bool progress = false;
    std::string a, b, source, target, reason, to_url, to_schema;
    bool yes = false;
    std::optional<long long> wait_seconds, limit;
    /// Settings given as flags, by setting name (client_config::settings()).
    std::vector<std::pair<std::string, std::string>> settings;
};

const char* const status_details = R"(
Prints the log's entry counts by state (pending, applied, rejected, abandoned, dead) and the
age of the oldest pending entry; for each instance whether it answers a heartbeat now, its
applied position (entries, summed over collections), its lag in entries and seconds, and
whether it needs a verify-and-repair (it missed entries that retention already pruned); and
the dead-lettered entries (at most --limit, default 100) with their errors; the log's id, and any
instance recorded for another log (writes refused: see takeover).
--format json (or --json) prints one JSON object: {"status": ..., "reachable": {...},
"dead_letters": [...]}; --format prometheus prints the Prometheus text exposition, the same
as the metrics listener's GET /metrics (its counters are this command's own: zero).

Exit code: 0, or 2 when the log cannot be read.)";

const char* const verify_details = R"(
Compares every collection (or the named ones) on instances a and b (by default the first two
configured) by their stored records: ids, documents, metadata and embeddings, exactly.
On a terminal, progress goes to stderr: collections done, records compared per second, ETA
(--quiet: none; --progress: also when stderr is not a terminal).

Exit code: 0 identical, 1 something differs, 2 error.)";

const char* const repair_details = R"(
Makes the target identical to the source, for every collection or the named ones, by logging
the upserts and deletes it needs (audited and ordered like any write), then waits up to
--wait-seconds (default 60; 0: do not wait) until every instance has applied the log.
On a terminal, progress goes to stderr: collections done, records changed, ETA (--quiet:
none; --progress: also when stderr is not a terminal).

Exit code: 0 repaired (and applied), 1 logged but not applied everywhere within the wait,
2 error.)";

const char* const replay_details = R"(
Applies the dead-lettered entries to their instances again, each under its lane lock. One
that fails again stays a dead letter with its new error (listed); one whose lane stays busy
(a sync or a write holds it) is skipped and stays as it was.

Exit code: 0 when no dead letter remains, 1 when some still fail, 2 error.)";

const char* const prune_details = R"(
Deletes the log entries that every instance has applied and that are older than the
retention (--retention 3600, 90s, 15m, 24h or 7d; default 7d), in small batches. An instance
that missed pruned entries is reported by status as needing repair.

Exit code: 0, or 2 on error.)";

const char* const takeover_details = R"(
Records this client's log (--log-url, --log-schema) on every instance, replacing the record of
another log. Each instance records the one log that drives it; a client of another log refuses
to write to it (log_conflict), because two logs would apply writes in no common order. Take
the instances over only when the other log is retired (or the instances were restored for this
one), and consider verify / repair first. Audited: each instance keeps the previous log, the
time, the host and --reason. Needs --yes; every instance must be reachable.

Exit code: 0 taken over (or already this log's), 2 error (an instance not reached: run again).)";

const char* const copy_log_details = R"(
Copies the configured log (--log-url, --log-schema; with neither, the embedded SQLite default of
the instance set) into the empty log that --to names (and --to-schema, for PostgreSQL; default
the same schema), positions included, keeping the log's id: SQLite to PostgreSQL when a service
outgrows one host, or back. The source must be quiet: stop every client of it first (a change
during the copy is detected and fails it). Nothing in the source changes. Afterwards point
every client at the new log and do not use the old one again. A failed copy leaves the target
without an id (no client can use it): drop it and copy again. The instances are not contacted.

Exit code: 0 copied, 2 error (the target not empty, a store not reachable, the source changed).)";

const char* const general_details = R"(
Settings: each flag above has an environment variable (flags override the environment):
{}
Every chromawal::client_config setting is listed in docs/configuration.md.

Exit codes: 0 success, 1 differences found or work left undone, 2 error (usage, a setting,
the log or an instance unreachable).)";

/// The command line, on CLI11: the settings' flags come from client_config::settings(), so the
/// command, the library and the Python binding name each setting the same way.
class command_line {
public:
    command_line()
        : app_("Operates a set of Chroma servers used as one through chromawal's write-ahead log.", "chromawal") {
        app_.require_subcommand(0, 1);
        app_.fallthrough();  // settings may follow the command
        std::string variables;
        for (const auto& s : cw::client_config::settings()) {
            std::string flag = std::string("--") + s.name;
            std::replace(flag.begin(), flag.end(), '_', '-');
            std::string names = flag;
            // The flags of earlier versions stay valid.
            if (std::string_view(s.name) == "auth_header") names += ",--header";
            if (std::string_view(s.name) == "request_timeout") names += ",--timeout-ms";
            auto& values = flag_values_[s.name];
            std::string help = s.help;
            if (*s.default_value) help += std::string(" (default ") + s.default_value + ")";
            app_.add_option(names, values, help)
                ->type_name(s.value_name)
                ->expected(1)
                ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
                ->group("Settings");
            variables += fmt::format("  {:<26} {}\n", flag, s.env);
        }
        app_.footer(fmt::format(general_details, variables));

        auto* status = add("status", "counts by state, per-instance position and lag, dead letters", status_details);
        status->add_option("--format", o_.format, "text (a table, default), json or prometheus")
            ->check(CLI::IsMember({"text", "json", "prometheus"}));
        status->add_flag("--json", o_.json, "the same as --format json");
        status->add_option("--limit", o_.limit, "dead letters listed (default 100)")->check(CLI::NonNegativeNumber);

        auto* verify = add("verify", "compare two instances' stored records (exit 1 when they differ)", verify_details);
        verify->add_option("--a", o_.a, "the first instance (default: the first configured)");
        verify->add_option("--b", o_.b, "the second instance (default: the next configured)");
        verify->add_flag("--json", o_.json, "the reports as one JSON object on stdout");
        verify->add_flag("--quiet", o_.quiet, "no progress on stderr");
        verify->add_flag("--progress", o_.progress, "progress on stderr even when it is not a terminal");
        verify->add_option("collections", o_.positional, "collections to compare (default: all)");

        auto* repair = add("repair", "make one instance identical to another, through the log", repair_details);
        repair->add_option("--source", o_.source, "the instance to copy from")->required();
        repair->add_option("--target", o_.target, "the instance to repair")->required();
        repair->add_option("--wait-seconds", o_.wait_seconds, "how long to wait for every instance (default 60)")
            ->check(CLI::NonNegativeNumber);
        repair->add_flag("--quiet", o_.quiet, "no progress on stderr");
        repair->add_flag("--progress", o_.progress, "progress on stderr even when it is not a terminal");
        repair->add_option("collections", o_.positional, "collections to repair (default: all)");

        add("replay", "retry the dead-lettered entries", replay_details);
        add("prune", "apply retention: delete entries applied everywhere and older than the retention", prune_details);

        auto* takeover =
            add("takeover", "record this log on every instance, replacing another log's record", takeover_details);
        takeover->add_option("--reason", o_.reason, "why (recorded on every instance)")->required();
        takeover->add_flag("--yes", o_.yes, "confirm: clients of the other log will refuse to write");

        auto* copy = add("copy-log", "copy a quiet log into another store (SQLite <-> PostgreSQL)", copy_log_details);
        copy->add_option("--to", o_.to_url, "the target log: sqlite:///path.db, or a PostgreSQL URI")->required();
        copy->add_option("--to-schema", o_.to_schema, "the target's PostgreSQL schema (default: the source's)");
        copy->add_flag("--quiet", o_.quiet, "no progress on stderr");
    }

    /// @throws usage_error; CLI::CallForHelp and CLI::CallForAllHelp for --help.
    options parse(int argc, char** argv) {
        try {
            app_.parse(argc, argv);
        } catch (const CLI::CallForHelp&) {
            throw;
        } catch (const CLI::ParseError& e) {
            if (app_.get_subcommands().empty() && !app_.remaining().empty() && app_.remaining().front()[0] != '-')
                throw usage_error("unknown command '" + app_.remaining().front() + "'");
            throw usage_error(e.what());
        }
        const auto chosen = app_.get_subcommands();
        if (!chosen.empty()) o_.command = chosen.front()->get_name();
        for (const auto& s : cw::client_config::settings()) {
            for (const auto& v : flag_values_[s.name]) o_.settings.emplace_back(s.name, v);
        }
        return o_;
    }

    std::string help() const { return app_.help(); }
    std::string help(const std::string& command) {
        for (auto* sub : app_.get_subcommands({})) {
            if (sub->get_name() == command) return sub->help();
        }
        return app_.help();
    }
    const std::string& command() const { return o_.command; }

private:
    CLI::App* add(const char* name, const char* summary, const char* details) {
        CLI::App* sub = app_.add_subcommand(name, summary);
        sub->footer(std::string(details) + "\n\nSettings (--instances, --log-url, ...): see chromawal --help.");
        return sub;
    }

    CLI::App app_;
    options o_;
    std::map<std::string, std::vector<std::string>> flag_values_;
};

cw::client_config make_config(const options& o) {
    // The environment first, then the flags: a setting given as a flag replaces the
    // environment's (every --header replaces CHROMAWAL_AUTH_HEADER).
    std::vector<std::pair<std::string, std::string>> values;
    for (auto& [name, value] : cw::client_config::environment()) {
        const bool overridden =
            std::any_of(o.settings.begin(), o.settings.end(), [&, n = name](const auto& f) { return f.first == n; });
        if (!overridden) values.emplace_back(name, value);
    }
    values.insert(values.end(), o.settings.begin(), o.settings.end());
    if (std::none_of(values.begin(), values.end(), [](const auto& v) { return v.first == "instances"; }))
        throw usage_error("no instances: give --instances NAME=URL,... or set CHROMAWAL_INSTANCES");
    cw::client_config c = cw::client_config::from_settings(values);
    add_secrets(c.secrets());
    // A tool drives everything itself: no health monitor, no sync thread.
    c.background_threads = false;
    c.validate();
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
    const cw::status_report s = client.status();
    if (o.format == "prometheus") {
        print_out(s.to_prometheus());
        return s.log.reachable ? exit_ok : exit_error;
    }
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
    if (o.json || o.format == "json") {
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
                k ? "," : "", json_string(d.instance), json_string(d.collection_name), d.position,
                json_string(d.operation), json_string(d.error_message), d.age_seconds);
        }
        out += "]";
        if (!dead_error.empty()) out += ",\"dead_letters_error\":" + json_string(dead_error);
        out += "}\n";
        print_out(out);
        return s.log.reachable ? exit_ok : exit_error;
    }

    std::string out;
    out += fmt::format("log      {} (schema {}): {}\n", scrub(config.log_url), config.log_schema,
                       s.log.reachable ? "reachable" : "UNREACHABLE: " + s.log.error_message);
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
                           seconds(i.lag_seconds), i.needs_repair ? "YES" : "no", i.url, err.empty() ? "" : "  " + err);
    }
    if (!s.log.id.empty()) out += fmt::format("\nlog id   {} ({})\n", s.log.id, s.log.description);
    for (const auto& i : s.instances) {
        if (i.log_record != "other") continue;
        out += fmt::format("{} is recorded for ANOTHER log, {}: writes are refused (chromawal takeover --help)\n",
                           i.name, i.other_log);
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
        out += fmt::format("  {}  {}  position {}  {}  age {} s: {}\n", d.instance, d.collection_name, d.position,
                           d.operation, seconds(d.age_seconds), d.error_message);
    }
    if (!dead_error.empty()) out += "  (could not list them: " + dead_error + ")\n";
    print_out(out);
    return s.log.reachable ? exit_ok : exit_error;
}

std::string report_json(const cw::verify_report& r) {
    return fmt::format(
        "{{\"collection\":{},\"identical\":{},\"exists_a\":{},\"exists_b\":{},\"records_a\":{},\"records_b\":{},"
        "\"only_in_a\":{},\"only_in_b\":{},\"different\":{}}}",
        json_string(r.collection_name), r.identical(), r.exists_a, r.exists_b, r.records_a, r.records_b,
        json_strings(r.only_in_a), json_strings(r.only_in_b), json_strings(r.different));
}

std::string id_list(const std::vector<std::string>& ids) {
    std::string s;
    for (std::size_t i = 0; i < ids.size() && i < 20; ++i) s += (i ? " " : "") + ids[i];
    if (ids.size() > 20) s += fmt::format(" ... ({} listed)", ids.size());
    return s;
}

// Progress on stderr: one line, rewritten in place on a terminal. Shown when stderr is a
// terminal (or --progress), never with --quiet.
class progress_line {
public:
    explicit progress_line(const options& o)
        : on_(!o.quiet && (o.progress || ::isatty(STDERR_FILENO) == 1)),
          tty_(::isatty(STDERR_FILENO) == 1),
          started_(std::chrono::steady_clock::now()) {}
    bool on() const { return on_; }
    /// `done` of `total` collections, `records` so far (compared or changed, named by `what`).
    void update(std::size_t done, std::size_t total, std::size_t records, const char* what, const std::string& last) {
        if (!on_) return;
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
        const double rate = elapsed > 0 ? static_cast<double>(records) / elapsed : 0;
        std::string eta = "-";
        if (done > 0 && done < total)
            eta = fmt::format("{:.0f} s", elapsed / static_cast<double>(done) * static_cast<double>(total - done));
        else if (done >= total)
            eta = "done";
        const std::string line = fmt::format("{}/{} collections, {} records {} ({:.0f}/s), {:.1f} s, ETA {}: {}", done,
                                             total, records, what, rate, elapsed, eta, last);
        print_err(tty_ ? "\r\033[K" + line : line + "\n");
    }
    void finish() {
        if (on_ && tty_) print_err("\n");
    }

private:
    bool on_, tty_;
    std::chrono::steady_clock::time_point started_;
};

int cmd_verify(const options& o, const cw::client_config& config) {
    if (config.instances.size() < 2 && (o.a.empty() || o.b.empty())) throw usage_error("verify needs two instances");
    const std::string a = o.a.empty() ? config.instances[0].name : o.a;
    const std::string b = o.b.empty() ? config.instances[config.instances[0].name == a ? 1 : 0].name : o.b;
    require_instance(config, a, "--a");
    require_instance(config, b, "--b");
    if (a == b) throw usage_error("--a and --b name the same instance");
    cw::client client(config);
    cw::verify_options vo;
    vo.collections = o.positional;
    progress_line progress(o);
    std::size_t compared = 0;
    if (progress.on()) {
        vo.progress = [&](const cw::verify_report& done, std::size_t index, std::size_t total) {
            compared += done.records_a + done.records_b;
            progress.update(std::min(index + 1, total), total, compared, "compared", done.summary());
        };
    }
    const cw::verify_result result = client.verify(a, b, vo);
    progress.finish();
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

// Every collection on either instance (for repair's progress: the repair itself lists them too).
std::vector<std::string> collection_names(const cw::client_config& c, const std::string& a, const std::string& b) {
    std::vector<std::string> names;
    for (const auto& i : c.instances) {
        if (i.name != a && i.name != b) continue;
        cw::connection_options conn = i.connection;
        conn.tenant = c.tenant;
        conn.database = c.database;
        for (const auto& coll : cw::chroma_client(conn).list_collections()) names.push_back(coll.name());
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
}

int cmd_repair(const options& o, const cw::client_config& config) {
    if (o.source.empty() || o.target.empty()) throw usage_error("repair needs --source NAME and --target NAME");
    require_instance(config, o.source, "--source");
    require_instance(config, o.target, "--target");
    if (o.source == o.target) throw usage_error("--source and --target name the same instance");
    cw::client client(config);
    progress_line progress(o);
    cw::repair_result r;
    if (!progress.on()) {
        r = client.repair(o.source, o.target, o.positional);
    } else {
        // One collection at a time, to show progress (a repair is per collection anyway).
        std::vector<std::string> names = o.positional;
        if (names.empty()) names = collection_names(config, o.source, o.target);
        std::size_t changed = 0;
        for (std::size_t k = 0; k < names.size(); ++k) {
            cw::repair_result one = client.repair(o.source, o.target, {names[k]});
            changed += one.upserted + one.deleted;
            r.collections.insert(r.collections.end(), one.collections.begin(), one.collections.end());
            r.upserted += one.upserted;
            r.deleted += one.deleted;
            r.receipts.insert(r.receipts.end(), one.receipts.begin(), one.receipts.end());
            progress.update(k + 1, names.size(), changed, "changed", names[k]);
        }
        progress.finish();
    }
    std::string out;
    if (r.collections.empty()) {
        out += fmt::format("{} already identical to {}: nothing to repair\n", o.target, o.source);
    } else {
        out += fmt::format("repaired {} from {}: {} collections, {} records upserted, {} deleted, {} log entries\n",
                           o.target, o.source, r.collections.size(), r.upserted, r.deleted, r.receipts.size());
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
    const cw::replay_result r = client.replay_dead_letters();
    const auto left = client.dead_letters(100);
    std::string out = fmt::format("replayed {} of {} dead-lettered entries ({} failed again, {} skipped: lane busy)\n",
                                  r.replayed, before, r.failed, r.skipped);
    for (const auto& d : left) {
        out += fmt::format("  still failing: {}  {}  position {}  {}: {}\n", d.instance, d.collection_name, d.position,
                           d.operation, d.error_message);
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

int cmd_takeover(const options& o, const cw::client_config& config) {
    if (!o.yes) throw usage_error("takeover changes which log drives the instances: add --yes to confirm");
    if (o.reason.empty()) throw usage_error("takeover: --reason must not be empty");
    cw::client client(config);
    std::string out = fmt::format("this log: {} ({})\n", client.log_id(), client.log_description());
    for (const auto& step : client.take_over_instances(o.reason)) {
        if (!step.changed) {
            out += fmt::format("  {}: already recorded for this log\n", step.instance);
        } else {
            out += fmt::format("  {}: taken over from {}\n", step.instance,
                               step.previous_log.empty() ? std::string("no record") : step.previous_log);
        }
    }
    print_out(out);
    return exit_ok;
}

int cmd_copy_log(const options& o, const cw::client_config& config) {
    cw::client_config to = config;
    to.log_url = o.to_url;
    if (!o.to_schema.empty()) to.log_schema = o.to_schema;
    const bool show = !o.quiet && ::isatty(STDERR_FILENO) != 0;
    const auto r = cw::copy_log(config, to, [&](std::int64_t n) {
        if (show) print_err(fmt::format("\r{} entries copied", n));
    });
    if (show) print_err("\n");
    print_out(fmt::format(
        "copied log {}\n  from {}\n  to   {}\n  {} lanes, {} entries, {} applied positions, {} dead letters\n"
        "Point every client at the new log and do not use the old one again.\n",
        r.log_id, r.from, r.to, r.lanes, r.entries, r.applied_positions, r.dead_letters));
    return exit_ok;
}

int run(int argc, char** argv) {
    // Secrets of the environment and the command line are known before anything is printed.
    for (const auto& [name, value] : cw::client_config::environment()) {
        add_secrets(cw::secrets_in(value));
        if (name == "auth_header") add_secrets({header_value(value)});
    }
    for (int i = 1; i < argc; ++i) {
        add_secrets(cw::secrets_in(argv[i]));
        const std::string_view arg = argv[i];
        if ((arg == "--header" || arg == "--auth-header") && i + 1 < argc) add_secrets({header_value(argv[i + 1])});
        for (const char* prefix : {"--header=", "--auth-header="}) {
            if (arg.rfind(prefix, 0) == 0) add_secrets({header_value(std::string(arg.substr(std::strlen(prefix))))});
        }
    }
    command_line cli;
    options o;
    try {
        try {
            o = cli.parse(argc, argv);
        } catch (const CLI::CallForHelp&) {
            print_out(cli.help(cli.command()));
            return exit_ok;
        }
        if (o.command.empty()) {  // no command at all: usage on stderr
            print_err(cli.help());
            return exit_error;
        }
        const cw::client_config config = make_config(o);
        if (o.command == "status") return cmd_status(o, config);
        if (o.command == "verify") return cmd_verify(o, config);
        if (o.command == "repair") return cmd_repair(o, config);
        if (o.command == "replay") return cmd_replay(o, config);
        if (o.command == "takeover") return cmd_takeover(o, config);
        if (o.command == "copy-log") return cmd_copy_log(o, config);
        return cmd_prune(o, config);
    } catch (const usage_error& e) {
        print_err(fmt::format("chromawal: {}\n(chromawal {}--help for usage)\n", e.what(),
                              o.command.empty() ? "" : o.command + " "));
        return exit_error;
    } catch (const cw::invalid_argument& e) {  // a setting's value
        print_err(fmt::format("chromawal: {}\n(chromawal --help for usage)\n", e.what()));
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
