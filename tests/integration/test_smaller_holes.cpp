// The smaller holes of issue 9 item 9, against real servers: replaying dead letters under the
// lane lock with an outcome per dead letter; get_or_create_collection appending nothing when
// nothing would change; record entries split and merged by size as well as by record count.
#include <catch2/catch.hpp>
#include <chromawal/chromawal.hpp>

#include "cluster.hpp"
#include "log_stores.hpp"
#include "servers.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace cw = chromawal;
using namespace std::chrono_literals;

namespace {

using chromawal_test::cluster;

struct batch_data {
    std::vector<float> embeddings;
    cw::record_set records;
};

// `n` records "prefix-0".. of dimension `dim`, each with a document of `doc_bytes` bytes.
std::unique_ptr<batch_data> make_batch(const std::string& prefix, int n, std::size_t dim = 4,
                                       std::size_t doc_bytes = 16) {
    auto b = std::make_unique<batch_data>();
    for (int i = 0; i < n; ++i) {
        b->records.ids.push_back(prefix + "-" + std::to_string(i));
        std::string doc = prefix + " " + std::to_string(i) + " ";
        doc.resize(std::max(doc_bytes, doc.size()), static_cast<char>('a' + i % 26));
        b->records.documents.emplace_back(std::move(doc));
        for (std::size_t k = 0; k < dim; ++k)
            b->embeddings.push_back(static_cast<float>((i * 131 + static_cast<int>(k) * 7) % 1000) / 997.0f);
    }
    b->records.embeddings = cw::embedding_view(b->embeddings, dim);
    return b;
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

bool wait_health(cw::client& c, const std::string& name, bool healthy) {
    return wait_until(
        [&] {
            for (const auto& i : c.status().instances) {
                if (i.name == name && i.healthy == healthy) return true;
            }
            return false;
        },
        10s);
}

// Every entry in the log, whatever its state.
std::int64_t log_entries(const cw::client& c) {
    const auto l = c.status().log;
    return l.pending + l.applied + l.rejected + l.abandoned + l.dead;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("replay_dead_letters waits for the lane lock and reports what failed again", "[replication]") {
    cluster k;
    cw::client_config config = k.config();
    config.max_attempts = 2;
    cw::client client(config);
    auto coll = client.create_collection("dead");
    auto first = make_batch("first", 5);
    coll.add(first->records);
    REQUIRE(client.wait_until_synced(20s));
    // b loses the collection behind chromawal's back: the next add fails there until it is
    // dead-lettered.
    k.direct(k.b).delete_collection("dead");
    auto second = make_batch("second", 5);
    CHECK(coll.add(second->records).applied == std::vector<std::string>{"a"});
    REQUIRE(wait_until([&] { return client.dead_letters().size() == 1; }, 30s));
    const std::string first_error = client.dead_letters().at(0).error_message;
    CHECK(contains(first_error, "does not exist"));

    // Re-created on b with another dimension: the replay fails again, for another reason, and
    // the dead letter says so.
    {
        auto wrong = k.direct(k.b).create_collection("dead");
        auto three = make_batch("three", 1, 3);
        wrong.add(three->records);
    }
    const cw::replay_result failed = client.replay_dead_letters();
    CHECK(failed.replayed == 0);
    CHECK(failed.failed == 1);
    CHECK(failed.skipped == 0);
    CHECK_FALSE(failed.complete());
    REQUIRE(client.dead_letters().size() == 1);
    const std::string new_error = client.dead_letters().at(0).error_message;
    INFO(new_error);
    CHECK(new_error != first_error);
    CHECK(contains(new_error, "dimension"));

    k.direct(k.b).delete_collection("dead");
    k.direct(k.b).create_collection("dead");
    {
        // Another holder of b's lane lock (as another process applying that lane would be):
        // the replay waits at most b's request timeout, then leaves the dead letter as it was.
        auto opened = chromawal_test::open_cluster_log(k.schema);
        cw::wal::log_store& store = *opened;
        const std::int64_t lane = store.lane_id({config.tenant, config.database, "dead"});
        auto held = store.lock_lane("b", lane, 1s);
        REQUIRE(held != nullptr);
        const auto started = std::chrono::steady_clock::now();
        const cw::replay_result busy = client.replay_dead_letters();
        CHECK(busy.skipped == 1);
        CHECK(busy.replayed == 0);
        CHECK(busy.failed == 0);
        CHECK(std::chrono::steady_clock::now() - started < 10s);
        CHECK(k.direct(k.b).get_collection("dead").count() == 0);  // nothing applied under another's lock
        CHECK(client.dead_letters().size() == 1);
    }
    const cw::replay_result done = client.replay_dead_letters();
    CHECK(done.replayed == 1);
    CHECK(done.failed == 0);
    CHECK(done.complete());
    CHECK(client.dead_letters().empty());
    CHECK(k.direct(k.b).get_collection("dead").count() == 5);  // the replayed add only
}

TEST_CASE("get_or_create_collection appends nothing when every instance has the collection", "[replication]") {
    cluster k;
    cw::client client(k.config());
    client.get_or_create_collection("ingest");
    REQUIRE(client.wait_until_synced(20s));
    CHECK(log_entries(client) == 1);
    // An ingestion service: get_or_create before every batch. Only the batches are logged.
    for (int i = 0; i < 5; ++i) {
        auto c = client.get_or_create_collection("ingest");
        auto b = make_batch("batch" + std::to_string(i), 3);
        c.add(b->records);
    }
    CHECK(log_entries(client) == 6);

    // With metadata: the same metadata changes nothing; other metadata is logged.
    cw::collection_options meta;
    meta.metadata = cw::metadata_map{{"team", "search"}};
    client.get_or_create_collection("with-meta", meta);
    const std::int64_t with_meta = log_entries(client);
    client.get_or_create_collection("with-meta", meta);
    client.get_or_create_collection("with-meta");
    CHECK(log_entries(client) == with_meta);
    cw::collection_options other;
    other.metadata = cw::metadata_map{{"team", "ads"}};
    client.get_or_create_collection("with-meta", other);
    CHECK(log_entries(client) == with_meta + 1);

    // Deleted on b behind chromawal's back: the next call is logged, and b has it again.
    k.direct(k.b).delete_collection("ingest");
    const std::int64_t before_missing = log_entries(client);
    client.get_or_create_collection("ingest");
    CHECK(log_entries(client) == before_missing + 1);
    CHECK_NOTHROW(k.direct(k.b).get_collection("ingest"));

    // b is down when the collection is created: the creation is logged, and b gets it when it
    // returns. Calls while it is away are logged too (it may lack the collection).
    k.b.kill9();
    REQUIRE(wait_health(client, "b", false));
    const std::int64_t before_outage = log_entries(client);
    client.get_or_create_collection("late");
    client.get_or_create_collection("late");
    CHECK(log_entries(client) == before_outage + 2);
    k.b.restart();
    REQUIRE(client.wait_until_synced(30s));
    CHECK_NOTHROW(k.direct(k.b).get_collection("late"));
    const std::int64_t synced = log_entries(client);
    for (int i = 0; i < 3; ++i) client.get_or_create_collection("late");
    CHECK(log_entries(client) == synced);
}

TEST_CASE("an entry larger than one request is split by size and arrives complete everywhere", "[replication]") {
    cluster k;
    cw::client_config config = k.config();
    // A write's requests all draw on one request_timeout: 48 MiB take longer than the usual 2 s
    // here (sanitizers, a shared machine).
    for (auto& i : config.instances) i.connection.request_timeout = 60s;
    cw::client client(config);
    auto coll = client.create_collection("big");
    // 24 documents of 2 MiB: 48 MiB in one add, above Chroma's 40 MiB body limit, though far
    // below its batch size in records.
    auto big = make_batch("big", 24, 4, 2u << 20);
    cw::write_receipt r;
    REQUIRE_NOTHROW(r = coll.add(big->records));
    CHECK(r.applied.size() == 2);
    REQUIRE(client.wait_until_synced(30s));
    for (const auto* s : {&k.a, &k.b}) {
        auto c = k.direct(*s).get_collection("big");
        CHECK(c.count() == 24);
        cw::get_options o;
        o.ids = {"big-23"};
        o.include = cw::include_fields::documents;
        const auto got = c.get(o);
        REQUIRE(got.documents.size() == 1);
        CHECK(got.documents.at(0) == big->records.documents.at(23));
    }
    const auto v = k.verify("big");
    INFO(v.summary());
    CHECK(v.identical());
}

TEST_CASE("consecutive entries merged for a replay stay within the request size", "[replication]") {
    cluster k;
    cw::client_config config = k.config();
    for (auto& i : config.instances) {
        i.connection.use_base64 = false;  // embeddings as JSON numbers
        // 5.5 MB requests: the cluster's short timeout (made for failure tests) is too tight
        // for them on a loaded 2-core machine.
        i.connection.request_timeout = std::chrono::seconds(30);
    }
    cw::client client(config);
    auto coll = client.create_collection("merged");
    k.b.kill9();
    REQUIRE(wait_health(client, "b", false));
    // Ten adds of 2 MiB of float32 each (about 5.5 MiB as JSON numbers): b replays them from
    // one read of the log (under its 24 MiB), and merged into one request they would be about
    // 55 MB, which Chroma refuses.
    constexpr int entries = 10;
    std::vector<std::unique_ptr<batch_data>> batches;
    for (int e = 0; e < entries; ++e) {
        batches.push_back(make_batch("m" + std::to_string(e), 512, 1024));
        coll.add(batches.back()->records);
    }
    k.b.restart();
    REQUIRE(client.wait_until_synced(60s));
    CHECK(client.dead_letters().empty());
    CHECK(k.direct(k.b).get_collection("merged").count() == 512 * entries);
    const auto v = k.verify("merged");
    INFO(v.summary());
    CHECK(v.identical());
}
