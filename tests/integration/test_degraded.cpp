// A client that starts while its log store (PostgreSQL) is down: it starts degraded, serves
// reads, refuses writes with log_unavailable, and reconnects by itself (migrating the schema),
// with and without background threads. A log the server refuses for good fails at once.
// Real servers: two Chroma instances and a PostgreSQL cluster of the test's own, which it stops
// (pg_ctl -m immediate) and starts again on the same port.
#include <catch2/catch.hpp>
#include <chromawal/chromawal.hpp>

#include "cluster.hpp"
#include "poll.hpp"
#include "servers.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace cw = chromawal;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

using chromawal_test::eventually;

using chromawal_test::cluster;
using chromawal_test::event_log;

struct small_batch {
    std::vector<float> embeddings;
    cw::record_set records;
};

small_batch make_batch(const std::string& prefix, int n) {
    small_batch b;
    for (int i = 0; i < n; ++i) {
        b.records.ids.push_back(prefix + "-" + std::to_string(i));
        b.records.documents.emplace_back("text of " + prefix + " " + std::to_string(i));
        for (int k = 0; k < 4; ++k) b.embeddings.push_back(static_cast<float>(i * 4 + k) / 9.0f);
    }
    b.records.embeddings = cw::embedding_view(b.embeddings, 4);
    return b;
}

// A PostgreSQL cluster that exists (initdb done) but is stopped, and two Chroma instances that
// already hold a collection with `records` records (written directly, not through a log).
struct down_log_cluster {
    cluster k{"dg"};
    chromawal_test::postgres_server pg;
    std::string name = chromawal_test::unique_name("degraded");

    explicit down_log_cluster(int records) {
        pg.start();
        pg.stop_immediate();
        const auto b = make_batch("pre", records);
        for (const auto* s : {&k.a, &k.b}) k.direct(*s).create_collection(name).add(b.records);
    }

    cw::client_config config(bool background) const {
        cw::client_config c = k.config(background);
        c.log_url = pg.uri();
        return c;
    }
};

// Retries one add until it is acknowledged (or `limit` passes); the time it took.
std::optional<steady::duration> add_until_acknowledged(const cw::collection& coll, const cw::record_set& records,
                                                       std::chrono::milliseconds limit) {
    const auto started = steady::now();
    bool ok = eventually(
        [&] {
            try {
                return coll.add(records).applied.size() == 2;
            } catch (const cw::log_unavailable&) {
                return false;
            }
        },
        limit);
    if (!ok) return std::nullopt;
    return steady::now() - started;
}

}  // namespace

TEST_CASE(
    "degraded start: the log is down at construction; reads work, writes raise log_unavailable, and "
    "writes work again on the same client once the log returns",
    "[degraded]") {
    down_log_cluster d(6);
    event_log events;
    cw::client_config c = d.config(true);
    c.on_event = events.hook();

    const auto constructed = steady::now();
    cw::client client(c);  // does not throw
    CHECK(steady::now() - constructed < 10s);
    CHECK(events.count(cw::event::kind::log_unavailable) == 1);
    const auto s = client.status();
    CHECK_FALSE(s.log.reachable);
    CHECK_FALSE(s.log.error_message.empty());
    CHECK(s.to_json().find("\"reachable\":false") != std::string::npos);

    // Reads are served by the healthy instances.
    auto coll = client.get_collection(d.name);
    CHECK(coll.count() == 6);
    cw::get_options g;
    g.ids = {"pre-3"};
    CHECK(coll.get(g).size() == 1);
    const auto names = client.list_collections();
    CHECK(std::find(names.begin(), names.end(), d.name) != names.end());

    // Writes fail fast, log nothing and apply nothing.
    const auto b = make_batch("w", 3);
    const auto started = steady::now();
    CHECK_THROWS_AS(coll.add(b.records), cw::log_unavailable);
    CHECK_THROWS_AS(client.create_collection(chromawal_test::unique_name("nolog")), cw::log_unavailable);
    CHECK(steady::now() - started < 5s);
    CHECK(d.k.direct(d.k.a).get_collection(d.name).count() == 6);
    CHECK(d.k.direct(d.k.b).get_collection(d.name).count() == 6);
    // Still unavailable: the event is not repeated for every failed call.
    CHECK(events.count(cw::event::kind::log_unavailable) == 1);

    // The log returns (a fresh cluster: the schema is created on reconnection).
    d.pg.start();
    const auto took = add_until_acknowledged(coll, b.records, 15s);
    REQUIRE(took.has_value());
    INFO("first acknowledged write " << std::chrono::duration<double>(*took).count() << " s after the log returned");
    CHECK(*took < 10s);
    REQUIRE(events.wait_for(cw::event::kind::log_recovered, 5s));
    CHECK(events.count(cw::event::kind::log_recovered) == 1);
    CHECK(events.count(cw::event::kind::log_unavailable) == 1);
    CHECK(client.status().log.reachable);
    CHECK(client.status().log.error_message.empty());
    REQUIRE(client.wait_until_synced(20s));
    CHECK(d.k.verify(d.name).identical());
    CHECK(d.k.direct(d.k.b).get_collection(d.name).count() == 9);
}

TEST_CASE("degraded start without background threads: the next call reconnects", "[degraded]") {
    down_log_cluster d(2);
    cw::client client(d.config(false));
    CHECK_FALSE(client.status().log.reachable);
    auto coll = client.collection_by_name(d.name);
    CHECK(coll.count() == 2);
    const auto b = make_batch("lazy", 2);
    CHECK_THROWS_AS(coll.add(b.records), cw::log_unavailable);

    d.pg.start();
    const auto took = add_until_acknowledged(coll, b.records, 15s);
    REQUIRE(took.has_value());
    CHECK(*took < 10s);
    CHECK(client.status().log.reachable);
    CHECK(client.wait_until_synced(20s));
    CHECK(d.k.verify(d.name).identical());
}

TEST_CASE("a log the server refuses for good fails construction at once with invalid_argument", "[degraded]") {
    // No Chroma needed: the log is checked first, and instances need not be up to start.
    const auto& pg = chromawal_test::shared_pg();
    const std::string base = "postgresql://postgres@127.0.0.1:" + std::to_string(pg.port());
    const auto refused = [&](const std::string& url) {
        cw::client_config c = chromawal_test::two_instance_config(url, chromawal_test::unique_schema("dr"),
                                                                  "http://127.0.0.1:9", "http://127.0.0.1:9", 1s);
        c.background_threads = false;
        const auto started = steady::now();
        try {
            cw::client client(c);
        } catch (const cw::invalid_argument& e) {
            INFO(e.what());
            const std::string what = e.what();
            CHECK((what.find("log_url") != std::string::npos || what.find("connection string") != std::string::npos));
            CHECK(steady::now() - started < 10s);
            return true;
        }
        return false;
    };
    CHECK(refused(base + "/no_such_database_here"));  // no such database
    CHECK(refused("postgresql://no_such_role_here@127.0.0.1:" + std::to_string(pg.port()) + "/chromawal"));
    CHECK(refused("host=127.0.0.1 port='unterminated"));     // cannot be parsed
    CHECK(refused(base + "/chromawal?sslmode=bogus-mode"));  // a setting libpq rejects
}

TEST_CASE("a log outage under a running client: log_unavailable and log_recovered once each", "[degraded][events]") {
    cluster k{"de"};
    chromawal_test::postgres_server pg;
    pg.start();
    event_log events;
    cw::client_config c = k.config(true);
    c.log_url = pg.uri();
    c.on_event = events.hook();
    cw::client client(c);
    auto coll = client.create_collection(chromawal_test::unique_name("outage"));
    CHECK(events.count(cw::event::kind::log_unavailable) == 0);

    pg.stop_immediate();
    for (int i = 0; i < 5; ++i) {
        const auto b = make_batch("o" + std::to_string(i), 1);
        CHECK_THROWS_AS(coll.add(b.records), cw::log_unavailable);
    }
    REQUIRE(events.wait_for(cw::event::kind::log_unavailable, 10s));
    CHECK_FALSE(client.status().log.reachable);

    pg.start();
    const auto b = make_batch("back", 2);
    REQUIRE(add_until_acknowledged(coll, b.records, 15s).has_value());
    REQUIRE(events.wait_for(cw::event::kind::log_recovered, 10s));
    INFO(events.dump());
    CHECK(events.count(cw::event::kind::log_unavailable) == 1);
    CHECK(events.count(cw::event::kind::log_recovered) == 1);
    CHECK(client.status().log.reachable);
}
