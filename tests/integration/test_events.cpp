// Alert events (client_config::on_event), each made to happen against real servers (two Chroma
// instances, PostgreSQL) and waited for with a deadline: backlog of an instance that is down,
// instance needs repair, write abandoned, quorum not reached, entry dead-lettered. Each is
// emitted once per transition, not once per failing call or sync pass. (log_unavailable and
// log_recovered: test_degraded.cpp.)
#include <catch2/catch.hpp>
#include <chromawal/chromawal.hpp>

#include "cluster.hpp"
#include "poll.hpp"
#include "servers.hpp"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace cw = chromawal;
using namespace std::chrono_literals;
using kind = chromawal::event::kind;

namespace {

using chromawal_test::wait_health;

using chromawal_test::cluster;
using chromawal_test::event_log;

struct small_batch {
    std::vector<float> embeddings;
    cw::record_set records;
};

small_batch make_batch(const std::string& prefix, int n, int dimension = 4) {
    small_batch b;
    for (int i = 0; i < n; ++i) {
        b.records.ids.push_back(prefix + "-" + std::to_string(i));
        for (int k = 0; k < dimension; ++k) b.embeddings.push_back(static_cast<float>(i * dimension + k) / 11.0f);
    }
    b.records.embeddings = cw::embedding_view(b.embeddings, static_cast<std::size_t>(dimension));
    return b;
}

}  // namespace

TEST_CASE("events: the backlog of an instance that is down fires backlog_over_threshold, once", "[events]") {
    cluster k{"ev"};
    event_log events;
    cw::client_config c = k.config();
    c.backlog_alert_threshold = 3;
    c.on_event = events.hook();
    cw::client client(c);
    auto coll = client.create_collection(chromawal_test::unique_name("backlog"));
    k.b.kill9();
    REQUIRE(wait_health(client, "b", false));
    for (int i = 0; i < 5; ++i) coll.add(make_batch("bl" + std::to_string(i), 2).records);
    REQUIRE(events.wait_for(kind::backlog_over_threshold, 10s));
    client.sync_now();
    client.sync_now();
    CHECK(events.count(kind::backlog_over_threshold) == 1);

    k.b.restart();
    REQUIRE(client.wait_until_synced(30s));
    CHECK(events.count(kind::backlog_over_threshold) == 1);
}

TEST_CASE("events: an instance that missed pruned entries fires instance_needs_repair, once, while still down",
          "[events]") {
    cluster k{"ev"};
    event_log events;
    cw::client_config c = k.config();
    c.retention = 0s;
    c.prune_interval = 0ms;  // only explicit prune() calls
    c.on_event = events.hook();
    cw::client client(c);
    const std::string name = chromawal_test::unique_name("repair");
    auto coll = client.create_collection(name);
    coll.add(make_batch("one", 3).records);
    k.b.kill9();
    REQUIRE(wait_health(client, "b", false));
    coll.add(make_batch("two", 3).records);
    REQUIRE([&] {
        const auto deadline = std::chrono::steady_clock::now() + 15s;
        while (client.status().log.pending != 0) {
            if (std::chrono::steady_clock::now() >= deadline) return false;
            std::this_thread::sleep_for(20ms);
        }
        return true;
    }());
    REQUIRE(client.prune() > 0);
    REQUIRE(events.wait_for(kind::instance_needs_repair, 10s, 1, "b"));
    client.sync_now();
    client.sync_now();
    CHECK(events.count(kind::instance_needs_repair) == 1);

    k.b.restart();
    REQUIRE(wait_health(client, "b", true));
    client.repair("a", "b", {name});
    REQUIRE(client.wait_until_synced(30s));
    CHECK(events.count(kind::instance_needs_repair) == 1);
}

TEST_CASE("events: writes that reach no instance fire write_abandoned once until a write is applied", "[events]") {
    cluster k{"ev"};
    event_log events;
    cw::client_config c = k.config();
    c.on_event = events.hook();
    cw::client client(c);
    auto coll = client.create_collection(chromawal_test::unique_name("abandon"));
    k.a.kill9();
    k.b.kill9();
    REQUIRE(wait_health(client, "a", false));
    REQUIRE(wait_health(client, "b", false));
    for (int i = 0; i < 3; ++i) {
        try {
            coll.add(make_batch("ab" + std::to_string(i), 1).records);
            FAIL("a write with every instance down was acknowledged");
        } catch (const cw::no_instance_available& e) {
            CHECK_FALSE(e.queued());
        }
    }
    REQUIRE(events.wait_for(kind::write_abandoned, 5s));
    CHECK(events.count(kind::write_abandoned) == 1);

    // After a write that was applied somewhere, the next abandoned one is reported again.
    k.a.restart();
    REQUIRE(wait_health(client, "a", true));
    coll.add(make_batch("applied", 1).records);
    k.a.kill9();
    REQUIRE(wait_health(client, "a", false));
    CHECK_THROWS_AS(coll.add(make_batch("ab-again", 1).records), cw::no_instance_available);
    REQUIRE(events.wait_for(kind::write_abandoned, 5s, 2));
    CHECK(events.count(kind::write_abandoned) == 2);
}

TEST_CASE("events: writes below the write quorum fire quorum_not_reached once until the quorum is met", "[events]") {
    cluster k{"ev"};
    event_log events;
    cw::client_config c = k.config();
    c.write_quorum = 2;
    c.on_event = events.hook();
    cw::client client(c);
    auto coll = client.create_collection(chromawal_test::unique_name("quorum"));
    k.b.kill9();
    REQUIRE(wait_health(client, "b", false));
    for (int i = 0; i < 3; ++i) {
        CHECK_THROWS_AS(coll.add(make_batch("q" + std::to_string(i), 1).records), cw::quorum_not_reached);
    }
    REQUIRE(events.wait_for(kind::quorum_not_reached, 5s));
    CHECK(events.count(kind::quorum_not_reached) == 1);

    k.b.restart();
    REQUIRE(wait_health(client, "b", true));
    REQUIRE(client.wait_until_synced(30s));
    CHECK(coll.add(make_batch("full", 1).records).applied.size() == 2);
    CHECK(events.count(kind::quorum_not_reached) == 1);
    CHECK(k.verify(coll.name()).identical());
}

TEST_CASE("events: an entry one instance keeps rejecting fires entry_dead_lettered once", "[events]") {
    cluster k{"ev"};
    event_log events;
    cw::client_config c = k.config();
    c.max_attempts = 2;
    c.on_event = events.hook();
    cw::client client(c);
    const std::string name = chromawal_test::unique_name("deadletter");
    auto coll = client.create_collection(name);
    // Behind chromawal's back, b's copy gets dimension 8: b will reject every dimension-4 add.
    k.direct(k.b).get_collection(name).add(make_batch("poison", 1, 8).records);
    const auto r = coll.add(make_batch("dim4", 2).records);
    CHECK(r.applied == std::vector<std::string>{"a"});
    REQUIRE(events.wait_for(kind::entry_dead_lettered, 20s, 1, "b"));
    client.sync_now();
    client.sync_now();
    CHECK(events.count(kind::entry_dead_lettered) == 1);
    CHECK(client.dead_letters().size() == 1);
}
