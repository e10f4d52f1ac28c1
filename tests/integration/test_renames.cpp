// A collection's lane follows it across renames, and a failing entry is not a failing instance:
// renames during an outage (also a rename cycle), an entry dead-lettered on one instance while
// its other lanes go on, and wait_until_synced() while a dead letter stands. Against real
// servers: two Chroma instances and PostgreSQL that the tests start, kill -9 and restart.
#include <catch2/catch.hpp>
#include <chromawal/chromawal.hpp>

#include "cluster.hpp"
#include "poll.hpp"
#include "servers.hpp"

#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace cw = chromawal;
using namespace std::chrono_literals;

namespace {

using chromawal_test::eventually;
using chromawal_test::wait_health;

// Both instances hold identical records of `name`, asked now. Right after a kill -9 and
// restart, Chroma may answer a read with a 500 ("Error creating hnsw segment reader: Nothing
// found on disk") for a moment: that is "not yet", for a poll.
bool identical_now(const chromawal_test::cluster& k, const std::string& name) {
    try {
        return k.verify(name).identical();
    } catch (const cw::server_error&) {
        return false;
    }
}

using chromawal_test::cluster;

struct batch_data {
    std::vector<float> embeddings;
    cw::record_set records;
};

// `n` records "prefix-0".."prefix-(n-1)" of dimension 4.
std::unique_ptr<batch_data> make_batch(const std::string& prefix, int n) {
    auto b = std::make_unique<batch_data>();
    for (int i = 0; i < n; ++i) {
        b->records.ids.push_back(prefix + "-" + std::to_string(i));
        b->records.documents.emplace_back("text of " + prefix + " " + std::to_string(i));
        b->records.metadatas.emplace_back(cw::metadata_map{{"i", i}});
        for (int k = 0; k < 4; ++k) b->embeddings.push_back(static_cast<float>(i * 4 + k) / 7.0f);
    }
    b->records.embeddings = cw::embedding_view(b->embeddings, 4);
    return b;
}

std::string unique_name(const std::string& base) { return base + "-" + std::to_string(::getpid()); }

void check_identical(const cluster& k, const std::string& name, std::size_t records) {
    const auto v = k.verify(name);
    INFO(name << ": " << v.summary());
    CHECK(v.identical());
    CHECK(v.exists_a);
    CHECK(v.exists_b);
    CHECK(v.records_b == records);
}

}  // namespace

TEST_CASE("a rename while an instance is down, then writes to the new name, converge", "[replication][renames]") {
    cluster k;
    cw::client client(k.config());
    const std::string old_name = unique_name("ren");
    const std::string new_name = unique_name("ren-v2");
    // The new name was in use before (and deleted): its old lane is older than the renamed
    // collection's, so lane order alone cannot put the rename first.
    client.create_collection(new_name);
    client.delete_collection(new_name);
    auto coll = client.create_collection(old_name);
    auto b0 = make_batch("r0", 5);
    coll.add(b0->records);

    k.b.kill9();
    REQUIRE(wait_health(client, "b", false));
    cw::modify_options m;
    m.name = new_name;
    coll.modify(m);
    auto b1 = make_batch("r1", 4);
    coll.add(b1->records);  // the handle carries the new name
    auto b2 = make_batch("r2", 3);
    client.get_collection(new_name).upsert(b2->records);
    k.b.restart();

    REQUIRE(client.wait_until_synced(30s));
    check_identical(k, new_name, 12);
    CHECK_FALSE(k.verify(old_name).exists_b);
    CHECK(client.dead_letters().empty());
    const auto s = client.status();
    CHECK(s.log.pending == 0);
    CHECK(s.log.dead == 0);
}

TEST_CASE("a rename cycle during an outage, with writes to an unrelated collection, converges",
          "[replication][renames]") {
    cluster k;
    cw::client client(k.config());
    const std::string idx = unique_name("idx");
    const std::string idx_v2 = unique_name("idx_v2");
    const std::string other = unique_name("unrelated");
    {
        // The previous generation, every instance up: built as idx_v2, then renamed to idx. So
        // the name idx_v2 has a history (and, before lanes followed renames, a lane) older than
        // the collection renamed back to it below.
        auto built = client.create_collection(idx_v2);
        auto f = make_batch("f", 2);
        built.add(f->records);
        cw::modify_options m;
        m.name = idx;
        built.modify(m);
    }
    auto old_idx = client.get_collection(idx);
    auto unrelated = client.create_collection(other);
    auto b0 = make_batch("a0", 6);
    old_idx.add(b0->records);

    k.b.kill9();
    REQUIRE(wait_health(client, "b", false));
    cw::modify_options m;
    m.name = idx_v2;
    old_idx.modify(m);                             // idx -> idx_v2
    auto new_idx = client.create_collection(idx);  // a new idx
    auto b1 = make_batch("n1", 4);
    new_idx.add(b1->records);
    auto b2 = make_batch("v2", 3);
    old_idx.add(b2->records);  // to idx_v2
    auto b3 = make_batch("u", 7);
    unrelated.add(b3->records);
    auto b4 = make_batch("n2", 2);
    client.get_collection(idx).upsert(b4->records);
    k.b.restart();

    REQUIRE(client.wait_until_synced(30s));
    check_identical(k, idx, 6);
    check_identical(k, idx_v2, 11);
    check_identical(k, other, 7);
    CHECK(client.dead_letters().empty());
    CHECK(client.status().log.pending == 0);
}

TEST_CASE("an entry failing on one instance does not stop its other lanes; synced waits for its dead letter",
          "[replication][renames]") {
    cluster k;
    const std::string bad = unique_name("dl-bad");
    const std::string good = unique_name("dl-good");
    {
        cw::client_config c = k.config();
        c.max_attempts = 1000;  // keeps failing, never dead-lettered in this phase
        cw::client client(c);
        auto bad_coll = client.create_collection(bad);  // the older lane: first in a sync pass
        auto good_coll = client.create_collection(good);
        auto b0 = make_batch("b0", 3);
        bad_coll.add(b0->records);
        k.direct(k.b).delete_collection(bad);  // behind chromawal's back: b now fails its writes

        k.b.kill9();
        REQUIRE(wait_health(client, "b", false));
        auto b1 = make_batch("b1", 2);
        bad_coll.add(b1->records);
        for (int i = 0; i < 3; ++i) {
            auto g = make_batch("g" + std::to_string(i), 5);
            good_coll.add(g->records);
        }
        k.b.restart();
        REQUIRE(wait_health(client, "b", true));
        // The other lane reaches b while the bad entry keeps failing there.
        CHECK(eventually([&] { return identical_now(k, good); }, 15s));
        check_identical(k, good, 15);
        CHECK(client.dead_letters().empty());
        CHECK_FALSE(client.wait_until_synced(500ms));  // b has not applied the bad entry
        CHECK(wait_health(client, "b", true, 1s));     // a failing entry is not a failing instance
    }
    cw::client_config c = k.config();
    c.max_attempts = 2;
    cw::client client(c);
    REQUIRE(eventually([&] { return !client.dead_letters().empty(); }, 20s));
    const auto dead = client.dead_letters();
    REQUIRE(dead.size() == 1);
    CHECK(dead[0].instance == "b");
    CHECK(dead[0].collection_name == bad);
    // Every lane is caught up (the dead entry is stepped over), yet b differs: not synced.
    CHECK_FALSE(client.wait_until_synced(2s));
    auto more = make_batch("g9", 2);
    client.get_collection(good).add(more->records);
    CHECK(eventually([&] { return identical_now(k, good); }, 15s));

    const auto repaired = client.repair("a", "b", {bad});
    CHECK_FALSE(repaired.receipts.empty());
    CHECK(client.dead_letters().empty());
    REQUIRE(client.wait_until_synced(20s));
    check_identical(k, bad, 5);
    check_identical(k, good, 17);
}

TEST_CASE("a rename onto an existing collection is refused before it is logged, with the server's error",
          "[replication][renames]") {
    cluster k;
    cw::client client(k.config());
    const std::string x = unique_name("taken-x");
    const std::string y = unique_name("taken-y");
    client.create_collection(x);
    auto coll = client.create_collection(y);
    // What the server answers the same rename (the official client raises it as InternalError).
    cw::modify_options onto_x;
    onto_x.name = x;
    auto direct = k.direct(k.a).get_collection(y);
    std::optional<cw::server_error> theirs;
    try {
        direct.modify(onto_x);
    } catch (const cw::server_error& e) {
        theirs = e;
    }
    REQUIRE(theirs);
    const auto before = client.status().log;
    try {
        coll.modify(onto_x);
        FAIL("expected server_error");
    } catch (const cw::server_error& e) {
        CHECK(e.status() == theirs->status());
        CHECK(e.error_name() == theirs->error_name());
        CHECK(e.server_message() == theirs->server_message());
    }
    const auto after = client.status().log;
    CHECK(after.pending + after.applied + after.rejected == before.pending + before.applied + before.rejected);
    CHECK(coll.name() == y);
    // Nothing blocks the lane: later writes go through everywhere.
    auto b = make_batch("after", 3);
    CHECK(coll.add(b->records).applied.size() == 2);
    REQUIRE(client.wait_until_synced(20s));
    check_identical(k, y, 3);
    check_identical(k, x, 0);
}

TEST_CASE("a logged rename that the servers refuse (the name taken) is rejected everywhere and blocks nothing",
          "[replication][renames]") {
    cluster k;
    const std::string x = unique_name("late-x");
    const std::string y = unique_name("late-y");
    cw::client_config c = k.config();
    c.queue_when_unavailable = true;
    cw::client client(c);
    client.create_collection(x);
    auto coll = client.create_collection(y);
    // Every instance away: the writer cannot check the name, so the rename is logged (queued).
    k.a.kill9();
    k.b.kill9();
    REQUIRE(wait_health(client, "a", false));
    REQUIRE(wait_health(client, "b", false));
    cw::modify_options onto_x;
    onto_x.name = x;
    CHECK(coll.modify(onto_x).queued);
    auto b = make_batch("queued", 2);
    auto same = client.collection_by_name(y);  // the servers keep the name y
    CHECK(same.add(b->records).queued);
    k.a.restart();
    k.b.restart();
    // Each server refuses the rename: rejected for every instance and stepped over (no dead
    // letter, so synced), and the write after it is applied.
    REQUIRE(client.wait_until_synced(30s));
    CHECK(client.status().log.rejected == 1);
    CHECK(client.dead_letters().empty());
    check_identical(k, y, 2);
    check_identical(k, x, 0);
}

TEST_CASE("a rename refused on one instance only (changed outside the log) is a dead letter there at once",
          "[replication][renames]") {
    cluster k;
    cw::client client(k.config());
    const std::string y = unique_name("split-y");
    const std::string z = unique_name("split-z");
    auto coll = client.create_collection(y);
    (void)k.direct(k.b).create_collection(z);  // behind chromawal's back, on b only
    cw::modify_options onto_z;
    onto_z.name = z;
    const auto r = coll.modify(onto_z);  // a is asked first and has no z: logged
    CHECK(r.applied == std::vector<std::string>{"a"});
    // b refuses it while a applied it: b differs, a dead letter at once (no retries).
    REQUIRE(eventually([&] { return !client.dead_letters().empty(); }, 15s));
    const auto dead = client.dead_letters();
    REQUIRE(dead.size() == 1);
    CHECK(dead[0].instance == "b");
    CHECK(client.status().log.rejected == 0);
    CHECK_FALSE(client.wait_until_synced(1s));
}
