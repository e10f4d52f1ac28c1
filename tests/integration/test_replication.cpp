// Replication against real servers: two Chroma instances and PostgreSQL that the tests start,
// kill -9 and restart. Every scenario ends by comparing both instances' stored records.
#include <catch2/catch.hpp>
#include <chromawal/chromawal.hpp>

#include "cluster.hpp"
#include "poll.hpp"
#include "servers.hpp"
#include "wal/pg_log_store.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

namespace cw = chromawal;
using namespace std::chrono_literals;

namespace {

using chromawal_test::wait_health;

using chromawal_test::cluster;
using chromawal_test::shared_pg;
using chromawal_test::unique_schema;

struct batch_data {
    std::vector<float> embeddings;
    cw::record_set records;
};

// `n` records "prefix-0".."prefix-(n-1)" of dimension 4 with a document_id metadata value.
std::unique_ptr<batch_data> make_batch(const std::string& prefix, int n, const std::string& document_id = "d0",
                                       float scale = 1.0f) {
    auto b = std::make_unique<batch_data>();
    for (int i = 0; i < n; ++i) {
        b->records.ids.push_back(prefix + "-" + std::to_string(i));
        b->records.documents.emplace_back("text of " + prefix + " " + std::to_string(i));
        b->records.metadatas.emplace_back(cw::metadata_map{{"document_id", document_id}, {"i", i}, {"w", 0.5 * i}});
        for (int k = 0; k < 4; ++k) b->embeddings.push_back(scale * static_cast<float>(i * 4 + k) / 7.0f);
    }
    b->records.embeddings = cw::embedding_view(b->embeddings, 4);
    return b;
}

std::size_t direct_count(const cw::chroma_client& c, const std::string& name) { return c.get_collection(name).count(); }

}  // namespace

TEST_CASE("writes go to both instances and both hold identical records", "[replication]") {
    cluster k;
    cw::client client(k.config());
    auto coll = client.create_collection("basic-coll");
    auto b1 = make_batch("x", 20);
    const auto receipt = coll.add(b1->records);
    CHECK(receipt.position == 2);  // 1 is the collection's creation
    CHECK(receipt.applied.size() == 2);
    CHECK_FALSE(receipt.queued);
    CHECK(coll.count() == 20);
    CHECK(direct_count(k.direct(k.a), "basic-coll") == 20);
    CHECK(direct_count(k.direct(k.b), "basic-coll") == 20);
    REQUIRE(client.wait_until_synced(10s));
    const auto v = k.verify("basic-coll");
    INFO(v.summary());
    CHECK(v.identical());
    CHECK(v.records_a == 20);
    const auto s = client.status();
    CHECK(s.log.pending + s.log.applied >= 2);
    CHECK(s.sync_running);
}

TEST_CASE("replica down: writes continue and it catches up in order after its restart", "[replication]") {
    cluster k;
    cw::client client(k.config());
    auto coll = client.create_collection("replica-down");
    auto b1 = make_batch("r", 10);
    coll.add(b1->records);
    k.b.kill9();
    for (int i = 0; i < 5; ++i) {
        auto bi = make_batch("during" + std::to_string(i), 10);
        const auto r = coll.add(bi->records);
        CHECK(std::find(r.applied.begin(), r.applied.end(), "a") != r.applied.end());
    }
    CHECK(coll.count() == 60);
    REQUIRE(wait_health(client, "b", false));
    const auto down = client.status();
    CHECK(down.instances[1].lag_entries >= 1);
    k.b.restart();
    REQUIRE(client.wait_until_synced(20s));
    const auto v = k.verify("replica-down");
    INFO(v.summary());
    CHECK(v.identical());
    CHECK(v.records_b == 60);
}

TEST_CASE("primary down: writes continue on the replica and the primary catches up", "[replication]") {
    cluster k;
    cw::client client(k.config());
    auto coll = client.create_collection("primary-down");
    auto b1 = make_batch("p", 10);
    coll.add(b1->records);
    k.a.kill9();
    auto b2 = make_batch("q", 10);
    const auto r = coll.upsert(b2->records);
    REQUIRE(r.applied == std::vector<std::string>{"b"});
    CHECK(coll.count() == 20);  // read fails over to the replica
    k.a.restart();
    REQUIRE(client.wait_until_synced(20s));
    const auto v = k.verify("primary-down");
    INFO(v.summary());
    CHECK(v.identical());
    CHECK(v.records_a == 20);
}

TEST_CASE("both down: the write fails clearly and is abandoned; with queueing it is applied on recovery",
          "[replication]") {
    cluster k;
    cw::client client(k.config());
    auto coll = client.create_collection("both-down");
    auto b1 = make_batch("ok", 5);
    coll.add(b1->records);
    k.a.kill9();
    k.b.kill9();
    auto lost = make_batch("lost", 5);
    try {
        coll.add(lost->records);
        FAIL("expected no_instance_available");
    } catch (const cw::no_instance_available& e) {
        CHECK_FALSE(e.queued());
        CHECK(std::string(e.what()).find("abandoned") != std::string::npos);
    }
    CHECK(client.status().log.abandoned == 1);

    cw::client_config qc = k.config();
    qc.queue_when_unavailable = true;
    cw::client queued_client(qc);
    auto qcoll = queued_client.collection_by_name("both-down");
    auto kept = make_batch("kept", 5);
    const auto receipt = qcoll.add(kept->records);
    CHECK(receipt.queued);
    CHECK(receipt.applied.empty());

    k.a.restart();
    k.b.restart();
    REQUIRE(queued_client.wait_until_synced(20s));
    REQUIRE(client.wait_until_synced(20s));
    const auto v = k.verify("both-down");
    INFO(v.summary());
    CHECK(v.identical());
    CHECK(v.records_a == 10);  // "ok" and "kept", never "lost"
    auto got = k.direct(k.a).get_collection("both-down").get();
    CHECK(std::find(got.ids.begin(), got.ids.end(), "lost-0") == got.ids.end());
    CHECK(std::find(got.ids.begin(), got.ids.end(), "kept-0") != got.ids.end());
}

TEST_CASE("a process that exits with entries pending: a new client on the same log finishes the sync",
          "[replication]") {
    cluster k;
    {
        cw::client first(k.config());
        auto coll = first.create_collection("handover");
        k.b.kill9();
        for (int i = 0; i < 4; ++i) {
            auto bi = make_batch("h" + std::to_string(i), 10);
            coll.add(bi->records);
        }
    }  // the first process is gone; b missed 4 entries
    k.b.restart();
    cw::client second(k.config());
    REQUIRE(second.wait_until_synced(20s));
    const auto v = k.verify("handover");
    INFO(v.summary());
    CHECK(v.identical());
    CHECK(v.records_b == 40);
}

TEST_CASE("collections created, deleted and re-created during an outage converge", "[replication]") {
    cluster k;
    cw::client client(k.config());
    auto keep = client.create_collection("outage-keep");
    auto gone = client.create_collection("outage-gone");
    auto b0 = make_batch("g", 5);
    gone.add(b0->records);
    k.b.kill9();
    REQUIRE(wait_health(client, "b", false));
    client.delete_collection("outage-gone");
    auto again = client.create_collection("outage-gone", {cw::metadata_map{{"v", 2}}, "", ""});
    auto b1 = make_batch("new", 3);
    again.add(b1->records);
    auto fresh = client.create_collection("outage-new");
    auto b2 = make_batch("n", 4);
    fresh.add(b2->records);
    auto b3 = make_batch("k", 2);
    keep.add(b3->records);
    k.b.restart();
    REQUIRE(client.wait_until_synced(20s));
    for (const char* name : {"outage-keep", "outage-gone", "outage-new"}) {
        const auto v = k.verify(name);
        INFO(v.summary());
        CHECK(v.identical());
        CHECK(v.exists_b);
    }
    CHECK(k.verify("outage-gone").records_b == 3);
    const auto meta = k.direct(k.b).get_collection("outage-gone").info().metadata;
    REQUIRE(meta.has_value());
    CHECK(meta->at("v") == cw::metadata_value(2));
}

TEST_CASE("add, upsert, update and deletes by ids and where, interleaved during an outage", "[replication]") {
    cluster k;
    cw::client client(k.config());
    auto coll = client.create_collection("mixed-ops");
    auto base = make_batch("m", 30, "docA");
    coll.add(base->records);
    k.a.kill9();  // the primary this time
    auto more = make_batch("m2", 10, "docB");
    coll.add(more->records);

    auto ups = make_batch("m", 5, "docA", 2.0f);  // m-0..m-4 change, embeddings too
    coll.upsert(ups->records);

    cw::record_set upd;
    upd.ids = {"m-10", "m-11"};
    upd.metadatas = {cw::metadata_map{{"w", nullptr}, {"flag", true}}, std::nullopt};
    upd.documents = {std::nullopt, std::string("rewritten")};
    coll.update(upd);

    cw::delete_options by_ids;
    by_ids.ids = {"m-20", "m-21", "nonexistent"};
    coll.delete_records(by_ids);
    cw::delete_options by_where;
    by_where.where = cw::where_filter::gte("i", 25) && cw::where_filter::eq("document_id", "docA");
    coll.delete_records(by_where);
    // The same id added again after its delete: order matters.
    cw::record_set readd;
    std::vector<float> e = {9, 9, 9, 9};
    readd.ids = {"m-20"};
    readd.embeddings = cw::embedding_view(e, 4);
    readd.documents = {std::string("back")};
    coll.add(readd);

    k.a.restart();
    REQUIRE(client.wait_until_synced(20s));
    const auto v = k.verify("mixed-ops");
    INFO(v.summary());
    CHECK(v.identical());
    // 30 + 10 - 2 (ids) - 5 (m-25..m-29) + 1 (m-20 again)
    CHECK(v.records_a == 34);
    auto got = k.direct(k.a).get_collection("mixed-ops");
    cw::get_options g;
    g.ids = {"m-11", "m-10", "m-20"};
    const auto r = got.get(g);
    for (std::size_t i = 0; i < r.size(); ++i) {
        if (r.ids[i] == "m-11") CHECK(r.documents[i] == std::optional<std::string>("rewritten"));
        if (r.ids[i] == "m-20") CHECK(r.documents[i] == std::optional<std::string>("back"));
        if (r.ids[i] == "m-10") {
            REQUIRE(r.metadatas[i].has_value());
            CHECK(r.metadatas[i]->count("w") == 0);
            CHECK(r.metadatas[i]->at("flag") == cw::metadata_value(true));
        }
    }
}

TEST_CASE("deleting a whole document during an outage removes all its chunks on both instances", "[replication]") {
    cluster k;
    cw::client client(k.config());
    auto coll = client.create_collection("doc-delete");
    auto d1 = make_batch("d1", 12, "doc-1");
    auto d2 = make_batch("d2", 7, "doc-2");
    coll.add(d1->records);
    coll.add(d2->records);
    k.b.kill9();
    const auto r = coll.delete_document("doc-1");
    CHECK(r.applied == std::vector<std::string>{"a"});
    k.b.restart();
    REQUIRE(client.wait_until_synced(20s));
    const auto v = k.verify("doc-delete");
    INFO(v.summary());
    CHECK(v.identical());
    CHECK(v.records_b == 7);
}

TEST_CASE("a delete's receipt carries the first instance's count; a queued one has none", "[replication]") {
    cluster k;
    cw::client_config c = k.config();
    c.queue_when_unavailable = true;
    cw::client client(c);
    auto coll = client.create_collection("delete-count");
    auto d1 = make_batch("d1", 6, "doc-1");
    auto d2 = make_batch("d2", 4, "doc-2");
    CHECK_FALSE(coll.add(d1->records).deleted);  // not a delete: no count
    coll.add(d2->records);
    // Logged as the filter (each instance removes its own matches), counted by the server.
    cw::delete_options by_where;
    by_where.where = cw::where_filter::eq("document_id", "doc-1") && cw::where_filter::gte("i", 2);
    const auto r = coll.delete_records(by_where);
    CHECK(r.applied.size() == 2);
    CHECK(r.deleted == std::optional<std::size_t>(4));  // d1-2 .. d1-5
    CHECK(coll.delete_records(by_where).deleted == std::optional<std::size_t>(0));
    cw::delete_options capped;
    capped.where = cw::where_filter::eq("document_id", "none");
    capped.limit = 2;
    CHECK(coll.delete_records(capped).deleted == std::optional<std::size_t>(0));  // nothing matches, nothing logged
    // The primary away: the replica's answer.
    k.a.kill9();
    REQUIRE(wait_health(client, "a", false));
    CHECK(coll.delete_document("doc-2").deleted == std::optional<std::size_t>(4));
    // No instance: queued, and no server has counted.
    k.b.kill9();
    REQUIRE(wait_health(client, "b", false));
    const auto q = coll.delete_document("doc-1");
    CHECK(q.queued);
    CHECK_FALSE(q.deleted);
    k.a.restart();
    k.b.restart();
    REQUIRE(client.wait_until_synced(20s));
    const auto v = k.verify("delete-count");
    INFO(v.summary());
    CHECK(v.identical());
    CHECK(v.records_a == 0);
}

TEST_CASE("a hung instance does not stall writes beyond the request timeout", "[replication]") {
    cluster k;
    cw::client client(k.config());  // request timeout 2 s
    auto coll = client.create_collection("hung");
    k.b.pause();  // accepts connections, never answers
    for (int i = 0; i < 4; ++i) {
        auto bi = make_batch("h" + std::to_string(i), 5);
        const auto started = std::chrono::steady_clock::now();
        const auto r = coll.add(bi->records);
        const auto took = std::chrono::steady_clock::now() - started;
        // One request timeout plus the log's commit; twice the timeout is the bug this guards.
        INFO("write " << i << " took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
        CHECK(took < 3500ms);
        CHECK(std::find(r.applied.begin(), r.applied.end(), "a") != r.applied.end());
    }
    k.b.resume();
    REQUIRE(wait_health(client, "b", true));
    REQUIRE(client.wait_until_synced(20s));
    const auto v = k.verify("hung");
    INFO(v.summary());
    CHECK(v.identical());
    CHECK(v.records_b == 20);
}

TEST_CASE("a write sent to an instance that never answered is pending, never abandoned, and waits one timeout",
          "[replication]") {
    cluster k;
    cw::client client(k.config());  // request timeout 2 s, down after 2 failures
    auto coll = client.create_collection("in-doubt");
    auto first = make_batch("first", 3);
    coll.add(first->records);
    k.b.kill9();
    REQUIRE(wait_health(client, "b", false));
    k.a.pause();  // a takes the requests in and answers (and applies them) only once resumed

    std::vector<std::string> pending, abandoned;
    for (int i = 0; i < 3; ++i) {
        const std::string prefix = "w" + std::to_string(i);
        auto bi = make_batch(prefix, 4);
        const auto started = std::chrono::steady_clock::now();
        try {
            coll.add(bi->records);
            FAIL("expected no_instance_available");
        } catch (const cw::no_instance_available& e) {
            INFO(e.what());
            if (e.queued()) {
                CHECK(std::string(e.what()).find("pending") != std::string::npos);
                pending.push_back(prefix);
            } else {
                // Only once a is marked down, so that nothing was sent to it.
                CHECK(std::string(e.what()).find("reached no instance") != std::string::npos);
                abandoned.push_back(prefix);
            }
        }
        const auto took = std::chrono::steady_clock::now() - started;
        CHECK(took < 3500ms);  // one request timeout plus the log's commit, never two
    }
    // The first write was sent to a, which may apply it when it resumes: never abandoned.
    REQUIRE_FALSE(pending.empty());
    CHECK(pending.front() == "w0");

    k.a.resume();
    k.b.restart();
    REQUIRE(wait_health(client, "a", true, 20s));
    REQUIRE(wait_health(client, "b", true, 20s));
    REQUIRE(client.wait_until_synced(30s));
    const auto v = k.verify("in-doubt");
    INFO(v.summary());
    CHECK(v.identical());
    CHECK(v.records_a == 3 + 4 * pending.size());
    auto got = k.direct(k.b).get_collection("in-doubt").get();
    auto has = [&](const std::string& id) { return std::find(got.ids.begin(), got.ids.end(), id) != got.ids.end(); };
    for (const auto& p : pending) CHECK(has(p + "-0"));
    for (const auto& p : abandoned) CHECK_FALSE(has(p + "-0"));
}

TEST_CASE("a delete with a limit removes the same records on every instance", "[replication]") {
    cluster k;
    cw::client client(k.config());
    auto coll = client.create_collection("limited-delete");
    // The same records on both instances, stored in opposite orders behind chromawal's back, so
    // that "the first 3 matches" differ between them.
    const auto one = make_batch("ld", 10, "doc");
    auto direct_a = k.direct(k.a).get_collection("limited-delete");
    auto direct_b = k.direct(k.b).get_collection("limited-delete");
    for (int i = 0; i < 10; ++i) {
        cw::record_set ra, rb;
        const std::size_t ia = static_cast<std::size_t>(i), ib = static_cast<std::size_t>(9 - i);
        for (auto [rs, idx] : {std::pair{&ra, ia}, std::pair{&rb, ib}}) {
            rs->ids = {one->records.ids[idx]};
            rs->metadatas = {one->records.metadatas[idx]};
            rs->documents = {one->records.documents[idx]};
        }
        std::vector<float> ea(one->embeddings.begin() + static_cast<std::ptrdiff_t>(ia * 4),
                              one->embeddings.begin() + static_cast<std::ptrdiff_t>(ia * 4 + 4));
        std::vector<float> eb(one->embeddings.begin() + static_cast<std::ptrdiff_t>(ib * 4),
                              one->embeddings.begin() + static_cast<std::ptrdiff_t>(ib * 4 + 4));
        ra.embeddings = cw::embedding_view(ea, 4);
        rb.embeddings = cw::embedding_view(eb, 4);
        direct_a.add(ra);
        direct_b.add(rb);
    }
    REQUIRE(k.verify("limited-delete").identical());

    cw::delete_options capped;
    capped.where = cw::where_filter::eq("document_id", "doc");
    capped.limit = 3;
    const auto r = coll.delete_records(capped);
    CHECK(r.position > 0);
    CHECK(r.applied.size() == 2);
    const auto v = k.verify("limited-delete");
    INFO(v.summary());
    CHECK(v.identical());
    CHECK(v.records_a == 7);

    // Replayed to an instance that was down: the same 3 more, not another pick.
    k.b.kill9();
    coll.delete_records(capped);
    k.b.restart();
    REQUIRE(client.wait_until_synced(20s));
    const auto v2 = k.verify("limited-delete");
    INFO(v2.summary());
    CHECK(v2.identical());
    CHECK(v2.records_b == 4);

    // Nothing matches: nothing is logged.
    capped.where = cw::where_filter::eq("document_id", "none");
    CHECK(coll.delete_records(capped).position == 0);
}

TEST_CASE("a write every instance rejects is marked rejected and never replayed", "[replication]") {
    cluster k;
    cw::client client(k.config());
    auto coll = client.create_collection("rejects");
    auto ok = make_batch("ok", 3);
    coll.add(ok->records);
    std::vector<float> e3 = {1, 2, 3};
    cw::record_set bad;
    bad.ids = {"bad"};
    bad.embeddings = cw::embedding_view(e3, 3);  // the collection has dimension 4
    try {
        coll.add(bad);
        FAIL("expected write_rejected");
    } catch (const cw::write_rejected& e) {
        CHECK(e.status() == 400);
        CHECK(e.error_name() == "InvalidArgumentError");
        CHECK(e.trace_id().size() == 32);  // the refusing instance's chroma-trace-id header
    }
    CHECK(client.status().log.rejected == 1);
    auto later = make_batch("later", 2);
    coll.add(later->records);  // the lane is not blocked by the rejected entry
    REQUIRE(client.wait_until_synced(10s));
    const auto v = k.verify("rejects");
    CHECK(v.identical());
    CHECK(v.records_a == 5);
}

TEST_CASE("invalid input is refused before anything is logged", "[replication]") {
    cluster k;
    cw::client client(k.config());
    auto coll = client.create_collection("invalid-input");
    const auto before = client.status().log;
    cw::record_set dup;
    std::vector<float> e = {1, 2, 3, 4, 5, 6, 7, 8};
    dup.ids = {"same", "same"};
    dup.embeddings = cw::embedding_view(e, 4);
    CHECK_THROWS_AS(coll.add(dup), cw::invalid_argument);
    const auto after = client.status().log;
    CHECK(after.pending + after.applied == before.pending + before.applied);
}

TEST_CASE("log store unreachable: the write fails fast and nothing is applied", "[replication][postgresql]") {
    chromawal_test::postgres_server own_pg;
    own_pg.start();
    cluster k;
    cw::client_config c = k.config();
    c.log_url = own_pg.uri();
    cw::client client(c);
    auto coll = client.create_collection("no-log");
    own_pg.stop_immediate();
    auto b = make_batch("nl", 5);
    const auto started = std::chrono::steady_clock::now();
    CHECK_THROWS_AS(coll.add(b->records), cw::log_unavailable);
    CHECK(std::chrono::steady_clock::now() - started < 10s);
    CHECK(direct_count(k.direct(k.a), "no-log") == 0);
    CHECK(direct_count(k.direct(k.b), "no-log") == 0);
    CHECK(coll.count() == 0);  // reads keep working
    own_pg.start();
    const auto r = coll.add(b->records);  // no manual step
    CHECK(r.applied.size() == 2);
}

TEST_CASE("a live write to two instances costs at most 5 log statements", "[replication][postgresql]") {
    // append (1) and, per instance, taking the lane lock with the applied position (1) and the
    // last advance with the unlock (1). Without background threads nothing else uses the log.
    cluster k;
    cw::client_config c = k.config(false);
    c.log_url = shared_pg().uri();
    cw::client client(c);
    auto coll = client.create_collection("statement-count");
    for (int warm = 0; warm < 2; ++warm) {  // connections made, statements prepared, UUIDs known
        auto b = make_batch("warm" + std::to_string(warm), 3);
        REQUIRE(coll.add(b->records).applied.size() == 2);
    }
    for (int round = 0; round < 3; ++round) {
        auto b = make_batch("counted" + std::to_string(round), 3);
        const auto before = cw::wal::pg_log_store::statements_run_in_process();
        const auto receipt = coll.add(b->records);
        const auto used = cw::wal::pg_log_store::statements_run_in_process() - before;
        INFO("round " << round << ": " << used << " statements");
        CHECK(receipt.applied.size() == 2);
        CHECK(used <= 5);
    }
    REQUIRE(client.wait_until_synced(10s));
    const auto v = k.verify("statement-count");
    INFO(v.summary());
    CHECK(v.identical());
    CHECK(v.records_a == 15);
}

TEST_CASE("read-your-writes: an instance without this client's last write is not read", "[replication]") {
    cluster k;
    cw::client_config c = k.config(false);  // no sync thread: b stays behind
    c.read_policy = cw::read_mode::replica_ratio;
    c.replica_read_ratio = 1.0;  // prefer the replica for every read
    cw::client client(c);
    auto coll = client.create_collection("ryw");
    k.b.kill9();
    auto b1 = make_batch("w", 8);
    const auto r = coll.add(b1->records);
    REQUIRE(r.applied == std::vector<std::string>{"a"});
    k.b.restart();
    for (int i = 0; i < 10; ++i) CHECK(coll.count() == 8);  // never the replica's 0
    CHECK(coll.count(cw::read_options{true}) == 0);         // a stale read may go to the replica
    client.sync_now();
    CHECK(coll.count(cw::read_options{true}) == 8);
    CHECK(k.verify("ryw").identical());
}

TEST_CASE("status serialises to JSON and Prometheus without secrets", "[replication][postgresql]") {
    cluster k;
    cw::client_config c = k.config();
    const std::string uri = shared_pg().uri();  // postgresql://postgres@127.0.0.1:PORT/chromawal
    c.log_url = "postgresql://postgres:SeCrEtPw@" + uri.substr(uri.find('@') + 1);
    for (auto& i : c.instances) i.connection.headers = {{"Authorization", "Bearer TokEn123"}};
    cw::client client(c);
    auto coll = client.create_collection("status-coll");
    auto b = make_batch("s", 3);
    coll.add(b->records);
    const auto s = client.status();
    const std::string json = s.to_json();
    const std::string prom = s.to_prometheus();
    CHECK(json.find("\"instances\"") != std::string::npos);
    CHECK(json.find("SeCrEtPw") == std::string::npos);
    CHECK(json.find("TokEn123") == std::string::npos);
    CHECK(prom.find("chromawal_instance_up{chroma_instance=\"a\"} 1") != std::string::npos);
    CHECK(prom.find("SeCrEtPw") == std::string::npos);
    REQUIRE(s.instances.size() == 2);
    CHECK(s.instances[0].primary);
}

TEST_CASE("read policies: primary_only fails without the primary; others fail over", "[replication]") {
    cluster k;
    cw::client_config c = k.config();
    c.read_policy = cw::read_mode::primary_only;
    cw::client primary_only(c);
    auto coll = primary_only.create_collection("policies");
    auto b = make_batch("p", 4);
    coll.add(b->records);
    CHECK(coll.count() == 4);

    cw::client_config n = k.config();
    n.read_policy = cw::read_mode::nearest;
    cw::client nearest(n);
    CHECK(nearest.get_collection("policies").count(cw::read_options{true}) == 4);

    k.a.kill9();
    REQUIRE(wait_health(primary_only, "a", false));
    CHECK_THROWS_AS(coll.count(), cw::no_instance_available);
    REQUIRE(wait_health(nearest, "a", false));
    CHECK(nearest.get_collection("policies").count(cw::read_options{true}) == 4);
}

TEST_CASE("two clients sharing one log write concurrently through an outage and converge", "[replication]") {
    cluster k;
    cw::client one(k.config());
    cw::client two(k.config());
    one.create_collection("shared-log");
    auto c1 = one.get_collection("shared-log");
    auto c2 = two.get_collection("shared-log");
    std::atomic<int> written{0};
    auto writer = [&written](cw::collection c, const std::string& who) {
        for (int n = 0; n < 40; ++n) {
            // Overlapping ids: both writers upsert the same ten ids, in log order.
            auto b = make_batch("same", 10, who, static_cast<float>(n + 1));
            try {
                c.upsert(b->records);
            } catch (const cw::error&) {
                // a write may fail while an instance goes away; what is logged must converge
            }
            ++written;
        }
    };
    auto wait_written = [&written](int n) {
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (written < n && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    };
    std::thread t1(writer, c1, "one"), t2(writer, c2, "two");
    wait_written(15);  // the outage starts mid-stream
    k.b.kill9();
    wait_written(45);  // and lasts for about 30 writes
    k.b.restart();
    t1.join();
    t2.join();
    REQUIRE(one.wait_until_synced(30s));
    REQUIRE(two.wait_until_synced(30s));
    const auto v = k.verify("shared-log");
    INFO(v.summary());
    CHECK(v.identical());
    CHECK(v.records_a == 10);
}

TEST_CASE("after wait_until_synced nothing is pending, even without background threads", "[replication]") {
    cluster k;
    cw::client client(k.config(false));
    auto coll = client.create_collection("marked-applied");
    auto b = make_batch("ma", 3);
    coll.add(b->records);
    REQUIRE(client.wait_until_synced(10s));
    const auto s = client.status();
    CHECK(s.log.pending == 0);
    CHECK(s.log.applied == 2);
}

TEST_CASE("a collection handle is shared between threads; a rename reaches every copy", "[replication]") {
    cluster k;
    cw::client client(k.config());
    const std::string base = "rename-" + std::to_string(::getpid());
    const auto handle = client.create_collection(base + "-v1");
    const auto copy = handle;  // copies share the name
    auto b0 = make_batch("r", 3);
    handle.add(b0->records);

    // Readers and writers on the same handle while another thread renames it (TSan checks the
    // name's guard in the sanitizer build).
    std::atomic<bool> stop{false};
    std::atomic<int> reads{0};
    std::atomic<bool> torn{false};
    std::thread reader([&] {
        while (!stop.load()) {
            const std::string n = copy.name();
            if (n != base + "-v1" && n != base + "-v2") torn = true;
            ++reads;
        }
    });
    cw::modify_options m;
    m.name = base + "-v2";
    const auto receipt = handle.modify(m);
    CHECK(receipt.position > 0);
    // Poll until the reader has seen the handle at least once more after the rename.
    const int seen = reads.load();
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (reads.load() == seen && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    stop = true;
    reader.join();
    CHECK(reads.load() > seen);
    CHECK_FALSE(torn.load());

    CHECK(handle.name() == base + "-v2");
    CHECK(copy.name() == base + "-v2");
    auto b1 = make_batch("s", 2);
    copy.add(b1->records);  // through the copy, under the new name
    REQUIRE(client.wait_until_synced(20s));
    CHECK(handle.count() == 5);
    const auto v = k.verify(base + "-v2");
    INFO(v.summary());
    CHECK(v.identical());
    CHECK(v.records_b == 5);
}
