// The chromawal command (tools/chromawal.cpp), run as a real process against real servers:
// status, verify (exit codes 0/1/2), repair, replay, prune, settings from flags and from the
// environment, and no password or header value in anything it prints.
#include <catch2/catch.hpp>
#include <chromawal/chromawal.hpp>

#include "servers.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#ifndef CHROMAWAL_TOOL_PATH
#error "CHROMAWAL_TOOL_PATH must be the path of the chromawal executable"
#endif

extern char** environ;

namespace cw = chromawal;
using namespace std::chrono_literals;

namespace {

const std::string password = "SeCrEt";
const std::string header_value = "TOPSECRET-HDR-7731";
const std::string url_password = "InStPaSs";

struct tool_run {
    int code = -1;
    std::string out, err;
    [[nodiscard]] std::string all() const { return out + err; }
};

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Everything the command printed in this process, to check for secrets at the end of each test.
std::string& printed() {
    static std::string s;
    return s;
}

// Runs the command with `args`, in an environment without the caller's CHROMAWAL_* variables
// plus `env`; stdout and stderr captured separately. Fails the test after 120 s.
tool_run run_tool(const std::vector<std::string>& args,
                  const std::vector<std::pair<std::string, std::string>>& env = {}) {
    static std::atomic<int> n{0};
    const char* tmp = std::getenv("CHROMAWAL_TEST_TMP");
    const std::string base = std::string(tmp && *tmp ? tmp : "/tmp") + "/chromawal-tool-" + std::to_string(::getpid()) +
                             "-" + std::to_string(n++);
    const std::string out_path = base + ".out", err_path = base + ".err";

    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
        if (std::strncmp(*e, "CHROMAWAL_", 10) != 0 || std::strncmp(*e, "CHROMAWAL_TEST_TMP=", 19) == 0) {
            env_strings.emplace_back(*e);
        }
    }
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_strings{CHROMAWAL_TOOL_PATH};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    REQUIRE(rc == 0);

    tool_run r;
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            FAIL("chromawal did not finish within 120 s");
        }
        std::this_thread::sleep_for(10ms);
    }
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    ::unlink(out_path.c_str());
    ::unlink(err_path.c_str());
    printed() += r.out + r.err;
    return r;
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// The number after `prefix` in `text` (e.g. "pruned 12 entries" -> 12), or -1.
long long number_after(const std::string& text, const std::string& prefix) {
    const auto p = text.find(prefix);
    if (p == std::string::npos) return -1;
    return std::atoll(text.c_str() + p + prefix.size());
}

chromawal_test::postgres_server& tools_pg() {
    static chromawal_test::postgres_server pg;
    static std::once_flag once;
    std::call_once(once, [] { pg.start(); });
    return pg;
}

// Two Chroma servers shared by the tests of this file (each test uses its own log schema and
// collection names).
struct tool_cluster {
    chromawal_test::chroma_server a{"tool-a"};
    chromawal_test::chroma_server b{"tool-b"};
    tool_cluster() {
        a.start();
        b.start();
    }
};

tool_cluster& cluster() {
    static tool_cluster c;
    return c;
}

struct fixture {
    std::string schema = "tools_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++);
    tool_cluster& k = cluster();

    // The servers are shared by the file's tests and each test has a log of its own: one log
    // per instance set is enforced, so each test's log takes the instances over first (the
    // takeover command itself is tested below).
    fixture() { cw::client(config()).take_over_instances("test_tools: a log per test on shared servers"); }

    static std::atomic<int>& counter() {
        static std::atomic<int> n{0};
        return n;
    }

    // The log URL with a password: trust authentication accepts any.
    std::string secret_log_url() const {
        return "postgresql://postgres:" + password + "@127.0.0.1:" + std::to_string(tools_pg().port()) + "/chromawal";
    }
    std::string instances() const { return "a=" + k.a.url() + ",b=" + k.b.url(); }
    std::vector<std::string> flags() const {
        return {"--instances",  instances(), "--log-url", secret_log_url(),
                "--log-schema", schema,      "--header",  "X-Chroma-Token: " + header_value};
    }
    std::vector<std::string> with_flags(std::vector<std::string> args) const {
        const auto f = flags();
        args.insert(args.end(), f.begin(), f.end());
        return args;
    }

    cw::client_config config(bool background = false) const {
        cw::client_config c;
        c.log_url = tools_pg().uri();
        c.log_schema = schema;
        c.instances.resize(2);
        c.instances[0].name = "a";
        c.instances[0].role = cw::instance_role::primary;
        c.instances[0].connection.base_url = k.a.url();
        c.instances[1].name = "b";
        c.instances[1].connection.base_url = k.b.url();
        c.health_interval = 100ms;
        c.sync_interval = 100ms;
        c.background_threads = background;
        return c;
    }

    cw::chroma_client direct(const chromawal_test::chroma_server& s) const {
        cw::connection_options o;
        o.base_url = s.url();
        return cw::chroma_client(o);
    }
};

struct batch {
    std::vector<float> embeddings;
    cw::record_set records;
};

std::unique_ptr<batch> make_batch(const std::string& prefix, int n) {
    auto b = std::make_unique<batch>();
    for (int i = 0; i < n; ++i) {
        b->records.ids.push_back(prefix + "-" + std::to_string(i));
        b->records.documents.emplace_back("text " + prefix + " " + std::to_string(i));
        b->records.metadatas.emplace_back(cw::metadata_map{{"i", i}});
        for (int d = 0; d < 4; ++d) b->embeddings.push_back(static_cast<float>(i * 4 + d) / 9.0f);
    }
    b->records.embeddings = cw::embedding_view(b->embeddings, 4);
    return b;
}

void check_no_secret(const std::string& text) {
    INFO(text);
    CHECK_FALSE(contains(text, password));
    CHECK_FALSE(contains(text, header_value));
    CHECK_FALSE(contains(text, url_password));
}

}  // namespace

TEST_CASE("chromawal: help for every command, usage errors exit 2", "[tools]") {
    const auto help = run_tool({"--help"});
    CHECK(help.code == 0);
    for (const char* command : {"status", "verify", "repair", "replay", "prune", "takeover", "copy-log"}) {
        INFO(command);
        CHECK(contains(help.out, command));
        const auto h = run_tool({command, "--help"});
        CHECK(h.code == 0);
        CHECK(contains(h.out, std::string("Usage: chromawal ") + command));
    }
    const auto none = run_tool({});
    CHECK(none.code == 2);
    CHECK(contains(none.err, "Usage: chromawal"));
    const auto unknown = run_tool({"frobnicate"});
    CHECK(unknown.code == 2);
    CHECK(contains(unknown.err, "unknown command"));
    const auto bad_option = run_tool({"status", "--no-such-option"});
    CHECK(bad_option.code == 2);
    CHECK(contains(bad_option.err, "--no-such-option"));
    const auto no_instances = run_tool({"status"});
    CHECK(no_instances.code == 2);
    CHECK(contains(no_instances.err, "CHROMAWAL_INSTANCES"));
    // Every setting of the library is a flag, named as in client_config::settings(), with its
    // variable: the command parses nothing of its own.
    for (const auto& s : cw::client_config::settings()) {
        std::string flag = std::string("--") + s.name;
        std::replace(flag.begin(), flag.end(), '_', '-');
        INFO(flag);
        CHECK(contains(help.out, flag));
        CHECK(contains(help.out, s.env));
    }
    // A bad value is refused by the library's parser, naming the setting; a secret is not repeated.
    const auto bad_value = run_tool({"status", "--instances", "a=http://127.0.0.1:1", "--write-quorum", "two"});
    CHECK(bad_value.code == 2);
    CHECK(contains(bad_value.err, "write_quorum"));
    const auto bad_header =
        run_tool({"status", "--instances", "a=http://127.0.0.1:1", "--header", "no-colon-hunter2-secret"});
    CHECK(bad_header.code == 2);
    CHECK(contains(bad_header.err, "auth_header"));
    CHECK_FALSE(contains(bad_header.all(), "hunter2"));
}

TEST_CASE("chromawal status, verify and repair against real servers; exit codes 0, 1, 2", "[tools]") {
    printed().clear();
    fixture f;
    const std::string coll_name = chromawal_test::unique_name("tool-v");
    {
        cw::client client(f.config());
        auto coll = client.create_collection(coll_name);
        auto b1 = make_batch("r", 12);
        coll.add(b1->records);
        REQUIRE(client.wait_until_synced(20s));
        client.sync_now();  // a pass that finds everything applied marks the entries so
    }

    SECTION("status, text and JSON, from flags and from the environment") {
        const auto text = run_tool(f.with_flags({"status"}));
        INFO(text.all());
        CHECK(text.code == 0);
        CHECK(contains(text.out, "postgres:***@127.0.0.1"));  // the log, redacted
        CHECK(contains(text.out, "pending 0"));
        CHECK(contains(text.out, "applied 2  rejected"));  // creation + add
        CHECK(contains(text.out, "primary"));
        CHECK(contains(text.out, "dead letters: 0"));
        CHECK(contains(text.out, f.k.b.url()));

        const auto json = run_tool(f.with_flags({"status", "--json"}));
        INFO(json.all());
        CHECK(json.code == 0);
        CHECK(json.out.rfind("{\"status\":{", 0) == 0);
        CHECK(contains(json.out, "\"instances\":["));
        CHECK(contains(json.out, "\"reachable\":{\"a\":true,\"b\":true}"));
        CHECK(contains(json.out, "\"dead_letters\":[]"));
        const auto json_format = run_tool(f.with_flags({"status", "--format", "json"}));
        CHECK(json_format.code == 0);
        CHECK(json_format.out.rfind("{\"status\":{", 0) == 0);

        // The same exposition as the library's (and the metrics listener's): HELP and TYPE lines.
        const auto prom = run_tool(f.with_flags({"status", "--format", "prometheus"}));
        INFO(prom.all());
        CHECK(prom.code == 0);
        CHECK(contains(prom.out, "# HELP chromawal_instance_up "));
        CHECK(contains(prom.out, "# TYPE chromawal_writes_total counter\n"));
        CHECK(contains(prom.out, "chromawal_log_entries{state=\"applied\"} 2\n"));
        CHECK(contains(prom.out, "chromawal_instance_up{chroma_instance=\"b\"} "));
        CHECK_FALSE(contains(prom.out, password));
        CHECK(run_tool(f.with_flags({"status", "--format", "yaml"})).code == 2);

        const auto env = run_tool({"status"}, {{"CHROMAWAL_INSTANCES", f.instances()},
                                               {"CHROMAWAL_LOG_URL", f.secret_log_url()},
                                               {"CHROMAWAL_LOG_SCHEMA", f.schema},
                                               {"CHROMAWAL_AUTH_HEADER", "X-Chroma-Token: " + header_value}});
        INFO(env.all());
        CHECK(env.code == 0);
        CHECK(contains(env.out, "applied 2  rejected"));

        // User information in an instance URL.
        std::string with_user = "a=" + f.k.a.url() + ",b=" + f.k.b.url();
        with_user.replace(with_user.find("://") + 3, 0, "user:" + url_password + "@");
        const auto userinfo =
            run_tool({"status", "--instances", with_user, "--log-url", f.secret_log_url(), "--log-schema", f.schema});
        INFO(userinfo.all());
        CHECK(userinfo.code == 0);
        CHECK(contains(userinfo.out, "applied 2  rejected"));

        // A conninfo with a password, and an instance down.
        f.k.b.kill9();
        const auto conninfo = run_tool({"status", "--instances", f.instances(), "--log-schema", f.schema, "--log-url",
                                        "host=127.0.0.1 port=" + std::to_string(tools_pg().port()) +
                                            " dbname=chromawal user=postgres password=" + password});
        f.k.b.restart();
        INFO(conninfo.all());
        CHECK(conninfo.code == 0);
        CHECK(contains(conninfo.out, "password=***"));
        CHECK(contains(conninfo.out, "NO"));  // b does not answer
    }

    SECTION("verify: 0 when identical, 1 after a change made directly on one instance; repair fixes it") {
        const auto same = run_tool(f.with_flags({"verify", coll_name}));
        INFO(same.all());
        CHECK(same.code == 0);
        CHECK(contains(same.out, "identical"));
        CHECK_FALSE(contains(same.err, coll_name));  // no progress: stderr is not a terminal here
        const auto shown = run_tool(f.with_flags({"verify", "--progress", coll_name}));
        INFO(shown.all());
        CHECK(shown.code == 0);
        CHECK(contains(shown.err, "1/1 collections"));  // forced progress: collections done, rate, ETA
        CHECK(contains(shown.err, "records compared"));
        CHECK(contains(shown.err, "ETA"));

        // Diverge b behind chromawal's back: change one record, delete one, add one.
        auto direct_b = f.direct(f.k.b).get_collection(coll_name);
        auto changed = make_batch("r", 1);
        changed->records.documents[0] = std::string("changed behind the log");
        direct_b.update(changed->records);
        cw::delete_options d;
        d.ids = {"r-5"};
        direct_b.delete_records(d);
        auto extra = make_batch("extra", 1);
        direct_b.add(extra->records);

        const auto differs = run_tool(f.with_flags({"verify", coll_name}));
        INFO(differs.all());
        CHECK(differs.code == 1);
        CHECK(contains(differs.out, "DIFFER"));
        CHECK(contains(differs.out, "r-0"));
        CHECK(contains(differs.out, "r-5"));
        CHECK(contains(differs.out, "extra-0"));
        const auto differs_json = run_tool(f.with_flags({"verify", "--json", "--a", "b", "--b", "a", coll_name}));
        INFO(differs_json.all());
        CHECK(differs_json.code == 1);
        CHECK(contains(differs_json.out, "\"identical\":false"));
        CHECK(contains(differs_json.out, "\"only_in_a\":[\"extra-0\"]"));  // a is b here
        // Every collection when none is named.
        CHECK(run_tool(f.with_flags({"verify", "--quiet"})).code == 1);

        const auto repaired = run_tool(f.with_flags({"repair", "--source", "a", "--target", "b", coll_name}));
        INFO(repaired.all());
        CHECK(repaired.code == 0);
        CHECK(contains(repaired.out, "repaired b from a"));
        const auto after = run_tool(f.with_flags({"verify", coll_name}));
        INFO(after.all());
        CHECK(after.code == 0);
        const auto nothing = run_tool(f.with_flags({"repair", "--source", "a", "--target", "b", coll_name}));
        CHECK(nothing.code == 0);
        CHECK(contains(nothing.out, "nothing to repair"));
        cw::get_options g;
        g.ids = {"r-5", "extra-0"};
        CHECK(f.direct(f.k.b).get_collection(coll_name).get(g).ids == std::vector<std::string>{"r-5"});
    }

    SECTION("errors exit 2 and say why") {
        const auto unknown = run_tool(f.with_flags({"verify", "--a", "nope"}));
        CHECK(unknown.code == 2);
        CHECK(contains(unknown.err, "no instance named 'nope'"));
        const auto repair_usage = run_tool(f.with_flags({"repair", "--source", "a"}));
        CHECK(repair_usage.code == 2);
        const auto no_log = run_tool({"status", "--instances", f.instances(), "--log-url",
                                      "postgresql://postgres:" + password + "@127.0.0.1:1/chromawal"});
        INFO(no_log.all());
        CHECK(no_log.code == 2);
        // The client starts degraded: status says the log is unreachable, and why.
        CHECK(contains(no_log.out, "UNREACHABLE"));
        CHECK(contains(no_log.out, "Connection refused"));
    }
    check_no_secret(printed());
}

TEST_CASE("chromawal replay retries dead letters; status lists them with their errors", "[tools]") {
    printed().clear();
    fixture f;
    const std::string coll_name = chromawal_test::unique_name("tool-dead");
    cw::client_config config = f.config(true);
    config.max_attempts = 2;
    cw::client client(config);
    auto coll = client.create_collection(coll_name);
    auto first = make_batch("first", 5);
    coll.add(first->records);
    REQUIRE(client.wait_until_synced(20s));
    // b loses the collection behind chromawal's back: the next add fails there until it is
    // dead-lettered.
    f.direct(f.k.b).delete_collection(coll_name);
    auto second = make_batch("second", 5);
    const auto receipt = coll.add(second->records);
    CHECK(receipt.applied == std::vector<std::string>{"a"});
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (client.dead_letters().empty() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(50ms);
    }
    REQUIRE(client.dead_letters().size() == 1);

    const auto status = run_tool(f.with_flags({"status"}));
    INFO(status.all());
    CHECK(status.code == 0);
    CHECK(contains(status.out, "dead letters: 1"));
    CHECK(contains(status.out, coll_name));
    CHECK(contains(status.out, "position " + std::to_string(receipt.position)));
    const auto json = run_tool(f.with_flags({"status", "--json"}));
    CHECK(contains(json.out, "\"dead_letters\":[{\"instance\":\"b\",\"collection\":\"" + coll_name + "\""));
    CHECK(contains(json.out, "\"error\":\""));

    // Still failing while the collection is missing: exit 1.
    const auto failing = run_tool(f.with_flags({"replay"}));
    INFO(failing.all());
    CHECK(failing.code == 1);
    CHECK(contains(failing.out, "replayed 0 of 1"));

    f.direct(f.k.b).create_collection(coll_name);
    const auto replayed = run_tool(f.with_flags({"replay"}));
    INFO(replayed.all());
    CHECK(replayed.code == 0);
    CHECK(contains(replayed.out, "replayed 1 of 1"));
    CHECK(client.dead_letters().empty());
    CHECK(f.direct(f.k.b).get_collection(coll_name).count() == 5);  // the replayed add only

    // The first batch is still missing on b: verify says so, repair brings it back.
    CHECK(run_tool(f.with_flags({"verify", coll_name})).code == 1);
    CHECK(run_tool(f.with_flags({"repair", "--source", "a", "--target", "b", coll_name})).code == 0);
    CHECK(run_tool(f.with_flags({"verify", coll_name})).code == 0);
    check_no_secret(printed());
}

TEST_CASE("chromawal prune applies retention", "[tools]") {
    printed().clear();
    fixture f;
    const std::string coll_name = chromawal_test::unique_name("tool-prune");
    cw::client client(f.config());
    auto coll = client.create_collection(coll_name);
    for (int i = 0; i < 6; ++i) {
        auto bi = make_batch("p" + std::to_string(i), 3);
        coll.add(bi->records);
    }
    REQUIRE(client.wait_until_synced(20s));
    client.sync_now();
    const auto before = client.status().log;
    REQUIRE(before.applied == 7);

    const auto kept = run_tool(f.with_flags({"prune"}));  // the default retention: a week
    INFO(kept.all());
    CHECK(kept.code == 0);
    CHECK(number_after(kept.out, "pruned ") == 0);

    const auto pruned = run_tool(f.with_flags({"prune", "--retention", "0s"}));
    INFO(pruned.all());
    CHECK(pruned.code == 0);
    const long long n = number_after(pruned.out, "pruned ");
    CHECK(n >= 1);
    CHECK(client.status().log.applied == before.applied - n);
    CHECK(number_after(run_tool(f.with_flags({"prune", "--retention", "0"})).out, "pruned ") == 0);

    // Pruning removes log entries only: the records stay, and the instances agree.
    CHECK(coll.count() == 18);
    CHECK(run_tool(f.with_flags({"verify", coll_name})).code == 0);
    CHECK(run_tool(f.with_flags({"prune", "--retention", "soon"})).code == 2);
    check_no_secret(printed());
}

TEST_CASE("chromawal takeover records this log on every instance; the old log's clients then refuse writes",
          "[tools]") {
    fixture old_log;  // its log drives the instances now
    const std::string old_id = cw::client(old_log.config()).log_id();
    fixture new_log;  // takes them over in its constructor: hand them back to old_log
    cw::client(old_log.config()).take_over_instances("test: back to the old log");
    cw::client refused(new_log.config());
    CHECK_THROWS_AS(refused.create_collection(chromawal_test::unique_name("tk")), cw::log_conflict);

    const auto unconfirmed = run_tool(new_log.with_flags({"takeover", "--reason", "moved the log"}));
    CHECK(unconfirmed.code == 2);
    CHECK(contains(unconfirmed.err, "--yes"));
    CHECK(run_tool(new_log.with_flags({"takeover", "--yes"})).code == 2);  // --reason is required

    const auto done = run_tool(new_log.with_flags({"takeover", "--reason", "moved the log", "--yes"}));
    INFO(done.all());
    CHECK(done.code == 0);
    CHECK(contains(done.out, "a: taken over from " + old_id));
    CHECK(contains(done.out, "b: taken over from " + old_id));
    const auto again = run_tool(new_log.with_flags({"takeover", "--reason", "moved the log", "--yes"}));
    CHECK(contains(again.out, "a: already recorded for this log"));

    cw::client accepted(new_log.config());
    CHECK_NOTHROW(accepted.create_collection(chromawal_test::unique_name("tk")));
    cw::client old_client(old_log.config());
    CHECK_THROWS_AS(old_client.create_collection(chromawal_test::unique_name("tk")), cw::log_conflict);
    const auto status = run_tool(old_log.with_flags({"status", "--json"}));
    CHECK(contains(status.out, "\"log_record\":\"other\""));
    check_no_secret(printed());
}

TEST_CASE("chromawal copy-log copies the quiet log into an empty one; a log that is not empty exits 2", "[tools]") {
    fixture f;
    std::string id;
    {
        cw::client c(f.config());
        id = c.log_id();
        auto coll = c.create_collection(chromawal_test::unique_name("cp"));
        coll.add(make_batch("cp", 3)->records);
    }
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("chromawal-copy-" + std::to_string(::getpid()) + "-" + f.schema + ".db"))
                                 .string();
    const auto done = run_tool(f.with_flags({"copy-log", "--to", "sqlite://" + path}));
    INFO(done.all());
    CHECK(done.code == 0);
    CHECK(contains(done.out, "copied log " + id));
    CHECK(contains(done.out, "to   sqlite://"));
    CHECK(contains(done.out, "1 lanes, 2 entries"));
    check_no_secret(done.all());
    const auto again = run_tool(f.with_flags({"copy-log", "--to", "sqlite://" + path}));
    CHECK(again.code == 2);
    CHECK(contains(again.err, "already holds this log"));
    CHECK(run_tool(f.with_flags({"copy-log"})).code == 2);  // --to is required

    // The copy is the same log: the instances recorded for it accept its client.
    cw::client_config moved = f.config();
    moved.log_url = "sqlite://" + path;
    {
        cw::client c(moved);
        CHECK(c.log_id() == id);
        CHECK_NOTHROW(c.create_collection(chromawal_test::unique_name("cp")));
    }
    for (const char* suffix : {"", "-wal", "-shm", "-lanelocks"}) std::filesystem::remove(path + suffix);
}
