// Coalesced and asynchronous writes against real servers (two Chroma instances, the log of
// CHROMAWAL_TEST_LOG_STORE): writes queued together are appended together and merged into one
// request per instance, in call order, each with its own receipt or error.
#include <catch2/catch.hpp>
#include <chromawal/chromawal.hpp>

#include "cluster.hpp"
#include "poll.hpp"
#include "servers.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace cw = chromawal;
using namespace std::chrono_literals;

namespace {

using chromawal_test::cluster;
using chromawal_test::wait_health;

struct batch_data {
    std::vector<float> embeddings;
    cw::record_set records;
};

// `n` records "prefix-0".."prefix-(n-1)" of dimension `dim`, metadata {"v": value}.
batch_data make_batch(const std::string& prefix, int n, int value = 0, std::size_t dim = 4) {
    batch_data b;
    for (int i = 0; i < n; ++i) {
        b.records.ids.push_back(prefix + "-" + std::to_string(i));
        b.records.documents.emplace_back("text of " + prefix + " " + std::to_string(i));
        b.records.metadatas.emplace_back(cw::metadata_map{{"v", value}});
        for (std::size_t k = 0; k < dim; ++k) b.embeddings.push_back(static_cast<float>(i + value) + 0.25f * k);
    }
    b.records.embeddings = cw::embedding_view(b.embeddings, dim);
    return b;
}

std::uint64_t appends(cw::client& c) { return c.status().metrics.log_append.count; }

std::int64_t metadata_v(const cw::chroma_client& direct, const std::string& collection, const std::string& id) {
    cw::get_options g;
    g.ids = std::vector<std::string>{id};
    g.include = cw::include_fields::metadatas;
    const auto r = direct.get_collection(collection).get(g);
    REQUIRE(r.metadatas.size() == 1);
    REQUIRE(r.metadatas[0]);
    return r.metadatas[0]->at("v").get<std::int64_t>();
}

}  // namespace

TEST_CASE("asynchronous writes of one thread are coalesced and applied in call order, each with its receipt",
          "[replication][groups]") {
    cluster k;
    cw::client client(k.config());
    auto coll = client.create_collection("async-order");
    const std::uint64_t before = appends(client);
    constexpr int writes = 30;
    std::vector<batch_data> data;
    data.reserve(writes);
    for (int i = 0; i < writes; ++i) data.push_back(make_batch("r", 5, i));  // the same ids, new values
    std::vector<std::future<cw::write_receipt>> pending;
    for (int i = 0; i < writes; ++i) pending.push_back(coll.upsert_async(data[i].records));
    std::int64_t last = 0;
    for (auto& f : pending) {
        const cw::write_receipt r = f.get();
        CHECK(r.position > last);  // logged in call order
        last = r.position;
        CHECK(r.applied.size() == 2);
        CHECK_FALSE(r.queued);
    }
    // The last upsert wins everywhere: applied in call order on both instances.
    CHECK(metadata_v(k.direct(k.a), "async-order", "r-3") == writes - 1);
    CHECK(metadata_v(k.direct(k.b), "async-order", "r-3") == writes - 1);
    // Queued together, appended together: fewer log appends than writes.
    const std::uint64_t used = appends(client) - before;
    INFO("appends: " << used);
    CHECK(used < static_cast<std::uint64_t>(writes));
    REQUIRE(client.wait_until_synced(10s));
    CHECK(k.verify("async-order").identical());
}

TEST_CASE("a write the servers refuse fails alone among writes queued with it", "[replication][groups]") {
    cluster k;
    cw::client client(k.config());
    auto coll = client.create_collection("group-reject");
    coll.add(make_batch("first", 2).records);  // the collection's dimension is 4
    std::vector<batch_data> data;
    constexpr int writes = 21, bad_at = 10;
    data.reserve(writes);
    for (int i = 0; i < writes; ++i) {
        // Valid for the client; the servers refuse a dimension of 3 (InvalidArgumentError).
        data.push_back(make_batch("g" + std::to_string(i), 3, i, i == bad_at ? 3 : 4));
    }
    std::vector<std::future<cw::write_receipt>> pending;
    for (int i = 0; i < writes; ++i) pending.push_back(coll.add_async(data[i].records));
    for (int i = 0; i < writes; ++i) {
        if (i == bad_at) {
            try {
                pending[i].get();
                FAIL("expected write_rejected");
            } catch (const cw::write_rejected& e) {
                CHECK(e.status() == 400);
            }
            continue;
        }
        const cw::write_receipt r = pending[i].get();
        CHECK(r.applied.size() == 2);
    }
    CHECK(client.status().log.rejected == 1);
    REQUIRE(client.wait_until_synced(10s));
    const auto v = k.verify("group-reject");
    INFO(v.summary());
    CHECK(v.identical());
    CHECK(v.records_a == 2 + 3 * (writes - 1));
}

TEST_CASE("eight threads writing small batches to one collection share appends and converge", "[replication][groups]") {
    cluster k;
    cw::client client(k.config());
    auto coll = client.create_collection("group-threads");
    const std::uint64_t before = appends(client);
    constexpr int threads = 8, per_thread = 12;
    std::vector<std::thread> workers;
    std::atomic<int> applied_both{0};
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                auto b = make_batch("t" + std::to_string(t) + "-" + std::to_string(i), 10, i);
                if (coll.add(b.records).applied.size() == 2) ++applied_both;
            }
        });
    }
    for (auto& w : workers) w.join();
    CHECK(applied_both == threads * per_thread);
    CHECK(coll.count() == threads * per_thread * 10);
    const std::uint64_t used = appends(client) - before;
    INFO("appends: " << used);
    // At most two groups are being applied at once, so the others' writes wait and share the
    // next group (about a third of the writes per group; half is the bound checked).
    CHECK(used <= static_cast<std::uint64_t>(threads * per_thread / 2));
    REQUIRE(client.wait_until_synced(10s));
    CHECK(k.verify("group-threads").identical());
}

TEST_CASE("asynchronous writes while an instance is down: applied on the other, caught up after its restart",
          "[replication][groups]") {
    cluster k;
    cw::client client(k.config());
    auto coll = client.create_collection("async-outage");
    k.b.kill9();
    REQUIRE(wait_health(client, "b", false));
    std::vector<batch_data> data;
    for (int i = 0; i < 12; ++i) data.push_back(make_batch("o" + std::to_string(i), 4, i));
    std::vector<std::future<cw::write_receipt>> pending;
    for (auto& d : data) pending.push_back(coll.add_async(d.records));
    for (auto& f : pending) {
        const cw::write_receipt r = f.get();
        REQUIRE(r.applied.size() == 1);
        CHECK(r.applied.front() == "a");
    }
    k.b.restart();
    REQUIRE(wait_health(client, "b", true));
    REQUIRE(client.wait_until_synced(20s));
    const auto v = k.verify("async-outage");
    INFO(v.summary());
    CHECK(v.identical());
    CHECK(v.records_b == 48);
}

TEST_CASE("asynchronous writes refuse invalid input at the call and keep the window", "[replication][groups]") {
    cluster k;
    cw::client_config c = k.config();
    c.max_in_flight_writes = 2;
    cw::client client(c);
    auto coll = client.create_collection("async-invalid");
    cw::record_set dup;
    std::vector<float> e = {1, 2, 3, 4, 5, 6, 7, 8};
    dup.ids = {"same", "same"};
    dup.embeddings = cw::embedding_view(e, 4);
    CHECK_THROWS_AS(coll.add_async(dup), cw::invalid_argument);
    cw::delete_options none;
    CHECK_THROWS_AS(coll.delete_async(none), cw::invalid_argument);
    // A window of 2 lets every write through in turn.
    std::vector<batch_data> data;
    for (int i = 0; i < 6; ++i) data.push_back(make_batch("w" + std::to_string(i), 2, i));
    std::vector<std::future<cw::write_receipt>> pending;
    for (auto& d : data) pending.push_back(coll.add_async(d.records));
    cw::delete_options gone;
    gone.ids = std::vector<std::string>{"w0-0", "w0-1"};
    pending.push_back(coll.delete_async(gone));
    for (auto& f : pending) CHECK(f.get().applied.size() == 2);
    CHECK(pending.size() == 7);
    CHECK(coll.count() == 10);
}

TEST_CASE("a group of more writes than a live write catches up is applied by the writes themselves",
          "[replication][groups]") {
    cluster k;
    cw::client_config c = k.config();
    c.max_in_flight_writes = 256;
    cw::client client(c);
    auto coll = client.create_collection("group-large");
    constexpr int writes = 150;  // more than the 64 entries a live write catches up
    std::vector<batch_data> data;
    data.reserve(writes);
    for (int i = 0; i < writes; ++i) data.push_back(make_batch("l" + std::to_string(i), 2, i));
    std::vector<std::future<cw::write_receipt>> pending;
    for (auto& d : data) pending.push_back(coll.add_async(d.records));
    int both = 0;
    for (auto& f : pending) both += f.get().applied.size() == 2 ? 1 : 0;
    CHECK(both == writes);
    CHECK(k.direct(k.a).get_collection("group-large").count() == 2 * writes);
    CHECK(k.direct(k.b).get_collection("group-large").count() == 2 * writes);
}

TEST_CASE("a collection operation gets its turn while writers keep the queue busy", "[replication][groups]") {
    cluster k;
    cw::client client(k.config());
    auto coll = client.create_collection("group-turn");
    std::atomic<bool> stop{false};
    std::atomic<int> written{0};
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) {
        writers.emplace_back([&, t] {
            for (int i = 0; !stop; ++i) {
                auto b = make_batch("w" + std::to_string(t) + "-" + std::to_string(i), 5, i);
                coll.add(b.records);
                ++written;
            }
        });
    }
    REQUIRE(chromawal_test::eventually([&] { return written > 20; }, 60s));
    // Never paused by the writers, it must still go (before, it waited for an empty queue).
    cw::modify_options m;
    m.metadata = cw::metadata_map{{"phase", "two"}};
    auto done = std::async(std::launch::async, [&] { return coll.modify(m); });
    const bool in_time = done.wait_for(60s) == std::future_status::ready;
    stop = true;
    for (auto& w : writers) w.join();
    REQUIRE(in_time);
    CHECK(done.get().applied.size() == 2);
    REQUIRE(client.wait_until_synced(20s));
    const auto v = k.verify("group-turn");
    INFO(v.summary());
    CHECK(v.identical());
    CHECK(v.records_a == static_cast<std::size_t>(written) * 5);
}
