// Replication configuration: validation names the bad setting; from_env reads every variable.
#include <catch2/catch.hpp>
#include <chromawal/chroma_client.hpp>
#include <chromawal/client.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

namespace cw = chromawal;

namespace {

cw::client_config two_instances() {
    cw::client_config c;
    c.log_url = "postgresql://nobody@127.0.0.1:1/none";  // never reached: validation comes first
    c.instances.resize(2);
    c.instances[0].name = "a";
    c.instances[0].connection.base_url = "http://127.0.0.1:1";
    c.instances[1].name = "b";
    c.instances[1].connection.base_url = "http://127.0.0.1:2";
    return c;
}

// Sets environment variables for one test and removes them afterwards.
struct env_guard {
    std::vector<std::string> names;
    void set(const std::string& name, const std::string& value) {
        ::setenv(name.c_str(), value.c_str(), 1);
        names.push_back(name);
    }
    ~env_guard() {
        for (const auto& n : names) ::unsetenv(n.c_str());
    }
};

}  // namespace

TEST_CASE("a bad configuration is refused with the setting's name", "[config]") {
    auto expect = [](cw::client_config c, const std::string& setting) {
        CHECK_THROWS_WITH(cw::client(std::move(c)), Catch::Contains(setting));
    };
    {
        auto c = two_instances();
        c.instances.clear();
        expect(c, "instances");
    }
    {
        auto c = two_instances();
        c.instances[1].name = "a";
        expect(c, "instances[1].name");
    }
    {
        auto c = two_instances();
        c.instances[0].name = "bad name";
        expect(c, "instances[0].name");
    }
    {
        auto c = two_instances();
        c.instances[1].connection.base_url = "ftp://x";
        expect(c, "instances[1].connection.base_url");
    }
    {
        auto c = two_instances();
        c.write_quorum = 3;
        expect(c, "write_quorum");
    }
    {
        auto c = two_instances();
        c.write_quorum = 0;
        expect(c, "write_quorum");
    }
    {
        auto c = two_instances();
        c.replica_read_ratio = 1.5;
        expect(c, "replica_read_ratio");
    }
    {
        auto c = two_instances();
        c.sync_interval = std::chrono::milliseconds(0);
        expect(c, "sync_interval");
    }
    {
        auto c = two_instances();
        c.instances[0].role = cw::instance_role::primary;
        c.instances[1].role = cw::instance_role::primary;
        expect(c, "at most one instance may be the primary");
    }
    CHECK_THROWS_AS(cw::client(cw::client_config{}), cw::invalid_argument);
}

TEST_CASE("from_env reads instances, log URL, quorum, read policy, timeouts and an auth header", "[config]") {
    env_guard env;
    env.set("CHROMAWAL_INSTANCES", "primary=http://10.0.0.1:8000,replica=https://r.example:8443/chroma");
    env.set("CHROMAWAL_LOG_URL", "postgresql://u@db/log");
    env.set("CHROMAWAL_WRITE_QUORUM", "2");
    env.set("CHROMAWAL_READ_REPLICA_RATIO", "0.8");
    env.set("CHROMAWAL_SYNC_INTERVAL_MS", "250");
    env.set("CHROMAWAL_REQUEST_TIMEOUT_MS", "1500");
    env.set("CHROMAWAL_QUEUE_WHEN_UNAVAILABLE", "true");
    env.set("CHROMAWAL_AUTH_HEADER", "X-Chroma-Token: abc");
    const auto c = cw::client_config::from_env();
    REQUIRE(c.instances.size() == 2);
    CHECK(c.instances[0].name == "primary");
    CHECK(c.instances[0].role == cw::instance_role::primary);
    CHECK(c.instances[1].role == cw::instance_role::replica);
    CHECK(c.instances[1].connection.base_url == "https://r.example:8443/chroma");
    CHECK(c.log_url == "postgresql://u@db/log");
    CHECK(c.write_quorum == 2);
    CHECK(c.read_policy == cw::read_mode::replica_ratio);  // like the old READ_REPLICA_RATIO
    CHECK(c.replica_read_ratio == Approx(0.8));
    CHECK(c.sync_interval == std::chrono::milliseconds(250));
    CHECK(c.instances[1].connection.request_timeout == std::chrono::milliseconds(1500));
    CHECK(c.queue_when_unavailable);
    REQUIRE(c.instances[0].connection.headers.size() == 1);
    CHECK(c.instances[0].connection.headers[0] == std::make_pair(std::string("X-Chroma-Token"), std::string("abc")));
}

TEST_CASE("from_env names the variable that is wrong", "[config]") {
    SECTION("missing instances") {
        CHECK_THROWS_WITH(cw::client_config::from_env(), Catch::Contains("CHROMAWAL_INSTANCES"));
    }
    SECTION("malformed instance") {
        env_guard env;
        env.set("CHROMAWAL_INSTANCES", "just-a-url");
        CHECK_THROWS_WITH(cw::client_config::from_env(), Catch::Contains("CHROMAWAL_INSTANCES"));
    }
    SECTION("bad numbers and words") {
        env_guard env;
        env.set("CHROMAWAL_INSTANCES", "a=http://x:1");
        for (auto [name, value] : {std::pair<const char*, const char*>{"CHROMAWAL_WRITE_QUORUM", "two"},
                                   {"CHROMAWAL_READ_POLICY", "random"},
                                   {"CHROMAWAL_READ_REPLICA_RATIO", "2"},
                                   {"CHROMAWAL_SYNC_INTERVAL_MS", "-5"},
                                   {"CHROMAWAL_QUEUE_WHEN_UNAVAILABLE", "maybe"},
                                   {"CHROMAWAL_AUTH_HEADER", "no-colon"}}) {
            env_guard one;
            one.set(name, value);
            CHECK_THROWS_WITH(cw::client_config::from_env(), Catch::Contains(name));
        }
    }
}

TEST_CASE("header names and values with CR, LF or NUL are refused (no header injection)", "[config]") {
    for (const auto& h : {std::pair<std::string, std::string>{"X-Token", "abc\r\nX-Evil: 1"},
                          {"X-Token", std::string("a\0b", 3)},
                          {"X-Bad\nName", "v"},
                          {"", "v"},
                          {"X:Colon", "v"}}) {
        cw::connection_options o;
        o.headers = {h};
        CHECK_THROWS_AS(cw::chroma_client(o), cw::invalid_argument);
    }
    cw::connection_options ok;
    ok.headers = {{"Authorization", "Bearer abc: def"}};
    CHECK_NOTHROW(cw::chroma_client(ok));
}

TEST_CASE("validate() checks a configuration without constructing a client", "[config]") {
    auto c = two_instances();
    CHECK_NOTHROW(c.validate());
    c.log_schema = "Bad-Schema";
    CHECK_THROWS_WITH(c.validate(), Catch::Contains("log_schema"));
    c = two_instances();
    c.max_attempts = 0;
    CHECK_THROWS_WITH(c.validate(), Catch::Contains("max_attempts"));
}

TEST_CASE("every setting is named once, with its variable, and settable from text", "[config]") {
    const auto& all = cw::client_config::settings();
    REQUIRE(all.size() >= 15);
    std::set<std::string> names, envs;
    for (const auto& s : all) {
        CHECK(names.insert(s.name).second);
        CHECK(envs.insert(s.env).second);
        CHECK(std::string(s.env).rfind("CHROMAWAL_", 0) == 0);
        CHECK_FALSE(std::string(s.help).empty());
    }
    CHECK(names.count("log_schema") == 1);  // once read only by the command

    const auto c = cw::client_config::from_settings({{"request_timeout", "2s"},  // applied after instances
                                                     {"instances", "a=http://h1:1,b=http://h2:2"},
                                                     {"log_schema", "other_log"},
                                                     {"retention", "36h"},
                                                     {"sync_interval", "0.25s"},
                                                     {"queue_when_unavailable", "on"},
                                                     {"read_policy", "nearest"},
                                                     {"write_quorum", "1"},
                                                     {"write_quorum", "2"}});
    REQUIRE(c.instances.size() == 2);
    CHECK(c.instances[1].connection.request_timeout == std::chrono::milliseconds(2000));
    CHECK(c.log_schema == "other_log");
    CHECK(c.retention == std::chrono::hours(36));
    CHECK(c.sync_interval == std::chrono::milliseconds(250));
    CHECK(c.queue_when_unavailable);
    CHECK(c.read_policy == cw::read_mode::nearest);
    CHECK(c.write_quorum == 2);  // the last value wins
    CHECK_NOTHROW(c.validate());

    cw::client_config d;
    d.set("read_policy", "primary_only");
    CHECK(d.read_policy == cw::read_mode::primary_only);
    CHECK(std::string(cw::to_string(d.read_policy)) == "primary_only");
    CHECK_THROWS_WITH(d.set("no_such_setting", "1"), Catch::Contains("no_such_setting") && Catch::Contains("log_url"));
    CHECK_THROWS_WITH(d.set("retention", "forever"), Catch::Contains("retention") && Catch::Contains("7d"));
}

TEST_CASE("ack_after_quorum and the health hysteresis are settings with documented defaults", "[config]") {
    const cw::client_config defaults;
    CHECK_FALSE(defaults.ack_after_quorum);  // by default a write waits for every healthy instance
    CHECK(defaults.up_after_successes == 3);
    CHECK(defaults.min_down_time == std::chrono::milliseconds(1000));
    for (const auto& s : cw::client_config::settings()) {
        INFO(s.name);
        if (std::string(s.name) == "ack_after_quorum") CHECK(std::string(s.default_value) == "false");
        if (std::string(s.name) == "up_after_successes") CHECK(std::string(s.default_value) == "3");
        if (std::string(s.name) == "min_down_time") CHECK(std::string(s.default_value) == "1000");
    }
    const auto c = cw::client_config::from_settings({{"instances", "a=http://h1:1,b=http://h2:2"},
                                                     {"ack_after_quorum", "true"},
                                                     {"min_down_time", "2.5s"},
                                                     {"up_after_successes", "5"}});
    CHECK(c.ack_after_quorum);
    CHECK(c.min_down_time == std::chrono::milliseconds(2500));
    CHECK(c.up_after_successes == 5);
    CHECK_NOTHROW(c.validate());
    cw::client_config off;
    off.set("min_down_time", "0");  // no floor
    CHECK(off.min_down_time == std::chrono::milliseconds(0));
    CHECK_THROWS_WITH(off.set("min_down_time", "-1"), Catch::Contains("min_down_time"));
    CHECK_THROWS_WITH(off.set("ack_after_quorum", "maybe"), Catch::Contains("ack_after_quorum"));
}

TEST_CASE("from_env reads CHROMAWAL_LOG_SCHEMA like every other variable", "[config]") {
    env_guard env;
    env.set("CHROMAWAL_INSTANCES", "a=http://x:1");
    env.set("CHROMAWAL_LOG_SCHEMA", "tenant_two");
    env.set("CHROMAWAL_RETENTION_SECONDS", "3600");
    CHECK(cw::client_config::from_env().log_schema == "tenant_two");
    CHECK(cw::client_config::from_env().retention == std::chrono::hours(1));
}

TEST_CASE("configuration errors and secrets() never repeat a secret", "[config]") {
    const std::string password = "pw-s3cret-value";
    CHECK_THROWS_WITH(cw::client_config::from_settings({{"instances", "http://u:" + password + "@h:1"}}),
                      !Catch::Contains(password) && Catch::Contains("instances"));
    CHECK_THROWS_WITH(cw::client_config::from_settings({{"instances", "a=http://h:1"}, {"auth_header", password}}),
                      !Catch::Contains(password) && Catch::Contains("auth_header"));
    auto c = cw::client_config::from_settings({{"instances", "a=http://u:p4ss@h:1,b=http://h:2"},
                                               {"log_url", "postgresql://chromawal:" + password + "@db/log"},
                                               {"auth_header", "Authorization: Bearer tok-123"}});
    const auto secrets = c.secrets();
    for (const std::string& s : {password, std::string("p4ss"), std::string("Bearer tok-123")}) {
        CHECK(std::find(secrets.begin(), secrets.end(), s) != secrets.end());
    }
}

TEST_CASE("docs/configuration.md lists every setting and its variable", "[config]") {
    std::ifstream in(std::string(CHROMAWAL_SOURCE_DIR) + "/docs/configuration.md");
    REQUIRE(in.good());
    const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const auto& s : cw::client_config::settings()) {
        INFO(s.name);
        CHECK(doc.find(std::string("| `") + s.name + "` | `" + s.env + "` |") != std::string::npos);
    }
}
