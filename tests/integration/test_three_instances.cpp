// Three Chroma instances (a primary, b and c replicas) behind one log: one killed (kill -9)
// during a stream of writes and restarted, one hung (SIGSTOP: it accepts connections and never
// answers) and resumed; all three identical at the end. Reads and write_quorum with three: a
// quorum of 2 is met with one instance away and missed with two away (the entry stays pending
// and reaches every instance on recovery); reads fail over from a primary that is down.
#include <catch2/catch.hpp>
#include <chromawal/chromawal.hpp>

#include "cluster.hpp"
#include "poll.hpp"
#include "servers.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace cw = chromawal;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

using chromawal_test::eventually;
using chromawal_test::instance_healthy;

using chromawal_test::three_cluster;

struct small_batch {
    std::vector<float> embeddings;
    cw::record_set records;
};

small_batch make_batch(const std::string& prefix, int n) {
    small_batch b;
    for (int i = 0; i < n; ++i) {
        b.records.ids.push_back(prefix + "-" + std::to_string(i));
        b.records.documents.emplace_back("doc " + prefix + " " + std::to_string(i));
        b.records.metadatas.emplace_back(cw::metadata_map{{"i", i}});
        for (int k = 0; k < 4; ++k) b.embeddings.push_back(static_cast<float>(i * 4 + k) / 13.0f);
    }
    b.records.embeddings = cw::embedding_view(b.embeddings, 4);
    return b;
}

// Streams adds of two records each ("s<n>-0", "s<n>-1") until stopped; remembers the ids of
// acknowledged writes and the failures.
class stream_writer {
public:
    explicit stream_writer(cw::collection coll) : coll_(std::move(coll)), thread_([this] { run(); }) {}
    ~stream_writer() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    std::size_t acknowledged() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return acked_.size() / 2;
    }
    std::set<std::string> acknowledged_ids() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return acked_;
    }
    std::vector<std::string> failures() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return failures_;
    }

private:
    void run() {
        for (int n = 0; !stop_; ++n) {
            const auto b = make_batch("s" + std::to_string(n), 2);
            try {
                coll_.add(b.records);
                std::lock_guard<std::mutex> lock(mutex_);
                acked_.insert(b.records.ids.begin(), b.records.ids.end());
            } catch (const std::exception& e) {
                std::lock_guard<std::mutex> lock(mutex_);
                failures_.emplace_back(e.what());
            }
        }
    }

    cw::collection coll_;
    mutable std::mutex mutex_;
    std::set<std::string> acked_;
    std::vector<std::string> failures_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

std::set<std::string> stored_ids(const three_cluster& k, const chromawal_test::chroma_server& s,
                                 const std::string& name) {
    cw::get_options g;
    g.include = cw::include_fields::none;
    const auto r = k.direct(s).get_collection(name).get(g);
    return std::set<std::string>(r.ids.begin(), r.ids.end());
}

}  // namespace

TEST_CASE(
    "three instances: one killed and restarted, one hung and resumed, during a stream of writes; all three "
    "end identical",
    "[three]") {
    three_cluster k;
    cw::client_config c = k.config(2s);
    c.write_quorum = 2;
    cw::client client(c);
    const std::string name = chromawal_test::unique_name("three");
    auto coll = client.create_collection(name);

    stream_writer writer(coll);
    REQUIRE(eventually([&] { return writer.acknowledged() >= 10; }, 30s));

    // c crashes mid-stream: a and b still make the quorum of 2.
    k.c.kill9();
    REQUIRE(eventually([&] { return !instance_healthy(client, "c"); }, 15s));
    std::size_t mark = writer.acknowledged();
    REQUIRE(eventually([&] { return writer.acknowledged() >= mark + 10; }, 30s));
    k.c.restart();
    REQUIRE(eventually([&] { return instance_healthy(client, "c"); }, 30s));

    // b hangs: connections are accepted and never answered; a and c make the quorum.
    k.b.pause();
    mark = writer.acknowledged();
    REQUIRE(eventually([&] { return !instance_healthy(client, "b"); }, 30s));
    REQUIRE(eventually([&] { return writer.acknowledged() >= mark + 10; }, 60s));
    k.b.resume();
    REQUIRE(eventually([&] { return instance_healthy(client, "b"); }, 30s));
    mark = writer.acknowledged();
    REQUIRE(eventually([&] { return writer.acknowledged() >= mark + 5; }, 30s));
    writer.stop();

    INFO("failed writes: " << writer.failures().size());
    REQUIRE(client.wait_until_synced(60s));
    const auto acked = writer.acknowledged_ids();
    for (const auto* s : {&k.a, &k.b, &k.c}) {
        const auto ids = stored_ids(k, *s, name);
        for (const auto& id : acked) {
            if (ids.count(id) == 0) FAIL_CHECK("acknowledged " << id << " missing on " << s->url());
        }
    }
    const auto ab = k.verify(k.b, name);
    const auto ac = k.verify(k.c, name);
    INFO(ab.summary() << "\n" << ac.summary());
    CHECK(ab.identical());
    CHECK(ac.identical());
    const auto v = client.verify("b", "c", {{name}, {}});
    CHECK(v.identical());
}

TEST_CASE("three instances: write_quorum 2 is met with one away and missed with two away; reads fail over", "[three]") {
    three_cluster k;
    cw::client_config c = k.config(2s);
    c.write_quorum = 2;
    cw::client client(c);
    const std::string name = chromawal_test::unique_name("quorum3");
    auto coll = client.create_collection(name);
    coll.add(make_batch("all", 3).records);

    // One away: the quorum of 2 is met.
    k.c.kill9();
    REQUIRE(eventually([&] { return !instance_healthy(client, "c"); }, 15s));
    const auto one_away = coll.add(make_batch("one-away", 3).records);
    CHECK(one_away.applied.size() == 2);

    // Two away: applied on a only, quorum_not_reached; the entry stays pending.
    k.b.kill9();
    REQUIRE(eventually([&] { return !instance_healthy(client, "b"); }, 15s));
    std::int64_t position = 0;
    try {
        coll.add(make_batch("two-away", 3).records);
        FAIL("acknowledged with two of three instances away and write_quorum 2");
    } catch (const cw::quorum_not_reached& e) {
        CHECK(e.applied_count() == 1);
        position = e.position();
    }
    CHECK(position > 0);
    // Reads (read-your-writes) are served by a, the only instance with the last write.
    CHECK(coll.count() == 9);

    // Both return: the entry reaches them, and all three are identical.
    k.b.restart();
    k.c.restart();
    REQUIRE(client.wait_until_synced(60s));
    for (const auto* s : {&k.a, &k.b, &k.c}) CHECK(k.direct(*s).get_collection(name).count() == 9);
    CHECK(k.verify(k.b, name).identical());
    CHECK(k.verify(k.c, name).identical());
    CHECK(client.status().log.pending == 0);

    // The primary away: reads fail over to a replica (primary_preferred), with every write.
    k.a.kill9();
    REQUIRE(eventually([&] { return !instance_healthy(client, "a"); }, 15s));
    CHECK(coll.count() == 9);
    cw::get_options g;
    g.ids = {"two-away-2"};
    CHECK(coll.get(g).size() == 1);
    const auto more = coll.add(make_batch("primary-away", 2).records);
    CHECK(more.applied.size() == 2);
    k.a.restart();
    REQUIRE(client.wait_until_synced(60s));
    CHECK(k.verify(k.b, name).identical());
    CHECK(k.verify(k.c, name).identical());
}
