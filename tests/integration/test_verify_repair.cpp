// Verify, repair, retention and apply history against real servers: two Chroma instances and
// PostgreSQL that the tests start, change behind the library's back, kill -9 and restart.
#include <catch2/catch.hpp>
#include <chromawal/chromawal.hpp>

#include "api/verify_detail.hpp"
#include "cluster.hpp"
#include "pq_session.hpp"
#include "servers.hpp"
#include "wal/pg_log_store.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cw = chromawal;
using namespace std::chrono_literals;

namespace {

using chromawal_test::cluster;
using chromawal_test::shared_pg;
using chromawal_test::unique_schema;

struct batch_data {
    std::vector<float> embeddings;
    cw::record_set records;
};

// `n` records "prefix-0".."prefix-(n-1)" of dimension 4.
std::unique_ptr<batch_data> make_batch(const std::string& prefix, int n, float scale = 1.0f) {
    auto b = std::make_unique<batch_data>();
    for (int i = 0; i < n; ++i) {
        b->records.ids.push_back(prefix + "-" + std::to_string(i));
        b->records.documents.emplace_back("text of " + prefix + " " + std::to_string(i));
        b->records.metadatas.emplace_back(cw::metadata_map{{"document_id", prefix}, {"i", i}, {"w", 0.5 * i}});
        for (int k = 0; k < 4; ++k) b->embeddings.push_back(scale * static_cast<float>(i * 4 + k) / 7.0f);
    }
    b->records.embeddings = cw::embedding_view(b->embeddings, 4);
    return b;
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (done()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return done();
}

bool wait_health(cw::client& c, const std::string& name, bool healthy) {
    return wait_for([&] {
        for (const auto& i : c.status().instances) {
            if (i.name == name && i.healthy == healthy) return true;
        }
        return false;
    });
}

const cw::instance_status& instance(const cw::status_report& s, const std::string& name) {
    for (const auto& i : s.instances) {
        if (i.name == name) return i;
    }
    FAIL("no instance " << name);
    throw std::logic_error("unreachable");
}

std::int64_t logged(const cw::status_report& s) {
    return s.log.pending + s.log.applied + s.log.rejected + s.log.abandoned + s.log.dead;
}

template <typename T>
std::vector<T> sorted(std::vector<T> v) {
    std::sort(v.begin(), v.end());
    return v;
}

// Every recorded advance starts where the previous one ended and moves forward; the first
// starts at 0 and the last ends at `head`.
void check_history(const std::vector<cw::apply_history_entry>& h, std::int64_t head, const std::string& who) {
    INFO("apply history of " << who);
    REQUIRE_FALSE(h.empty());
    CHECK(h.front().from == 0);
    for (std::size_t k = 0; k < h.size(); ++k) {
        INFO("step " << k << ": " << h[k].from << " -> " << h[k].to);
        CHECK(h[k].to > h[k].from);
        if (k > 0) CHECK(h[k].from == h[k - 1].to);  // no gap, no repeat, no reordering
    }
    CHECK(h.back().to == head);
}

/// A plain libpq connection for looking behind the store's back (throws on a failed statement).
using raw_conn = chromawal_test::pq_session;

}  // namespace

TEST_CASE("verify finds each kind of difference by digest and repair removes them through the log", "[verify_repair]") {
    cluster k{"vr"};
    cw::client client(k.config());
    auto coll = client.create_collection("diffs");
    auto base = make_batch("r", 12);
    coll.add(base->records);
    // A record without a document and one without metadata.
    std::vector<float> e = {1, 2, 3, 4, 5, 6, 7, 8};
    cw::record_set bare;
    bare.ids = {"nodoc", "nometa"};
    bare.embeddings = cw::embedding_view(e, 4);
    bare.documents = {std::nullopt, std::string("has a document")};
    bare.metadatas = {cw::metadata_map{{"k", 1}}, std::nullopt};
    coll.add(bare);
    REQUIRE(client.wait_until_synced(10s));

    cw::verify_options only;
    only.collections = {"diffs"};
    std::vector<std::size_t> progress;
    only.progress = [&](const cw::verify_report& r, std::size_t index, std::size_t total) {
        CHECK(r.collection_name == "diffs");
        CHECK(total == 1);
        progress.push_back(index);
    };
    const auto same = client.verify("a", "b", only);
    REQUIRE(same.collections.size() == 1);
    CHECK(same.identical());
    CHECK(progress == std::vector<std::size_t>{0});
    CHECK(same.collections[0].digest_a.size() == 32);
    CHECK(same.collections[0].digest_a == same.collections[0].digest_b);
    CHECK_FALSE(same.collections[0].compared_ids);  // equal digests were enough
    CHECK(same.collections[0].records_a == 14);

    // Behind the library's back, on b only.
    auto on_b = k.direct(k.b).get_collection("diffs");
    cw::delete_options gone;
    gone.ids = {"r-0"};
    on_b.delete_records(gone);  // missing on b
    auto extra = make_batch("extra", 1);
    on_b.add(extra->records);  // only on b
    cw::record_set changes;
    changes.ids = {"r-1", "r-2", "r-3", "nodoc", "nometa"};
    changes.documents = {std::string("changed"), std::nullopt, std::nullopt, std::string("now has one"), std::nullopt};
    changes.metadatas = {std::nullopt, cw::metadata_map{{"w", nullptr}}, cw::metadata_map{{"added", true}},
                         std::nullopt, cw::metadata_map{{"k", 2}}};
    on_b.update(changes);  // document, a key removed, a key added, a document b alone has, metadata b alone has
    std::vector<float> moved = {9, 9, 9, 9};
    cw::record_set emb;
    emb.ids = {"r-4"};
    emb.embeddings = cw::embedding_view(moved, 4);
    on_b.update(emb);  // embedding

    const auto diff = client.verify("a", "b", only);
    REQUIRE(diff.collections.size() == 1);
    const auto& r = diff.collections[0];
    INFO(r.summary());
    CHECK_FALSE(diff.identical());
    CHECK(r.digest_a != r.digest_b);
    CHECK(r.compared_ids);
    CHECK(r.only_in_a == std::vector<std::string>{"r-0"});
    CHECK(r.only_in_b == std::vector<std::string>{"extra-0"});
    CHECK(sorted(r.different) == std::vector<std::string>{"nodoc", "nometa", "r-1", "r-2", "r-3", "r-4"});
    // The same answer from the exact comparison alone.
    const auto exact = cw::verify_collection(k.direct(k.a), k.direct(k.b), "diffs");
    CHECK(sorted(exact.different) == sorted(r.different));
    CHECK(exact.digest_a == r.digest_a);
    CHECK(exact.digest_b == r.digest_b);

    const auto before = client.status();
    const auto repaired = client.repair("a", "b", {"diffs"});
    CHECK(repaired.collections == std::vector<std::string>{"diffs"});
    CHECK(repaired.upserted == 7);  // r-0 and the six different ones
    CHECK(repaired.deleted == 2);   // extra-0, and nodoc before it is added back without a document
    REQUIRE_FALSE(repaired.receipts.empty());
    for (const auto& receipt : repaired.receipts) CHECK(receipt.applied.size() == 2);
    // Audited: every repair entry is in the log.
    const auto after = client.status();
    CHECK(logged(after) - logged(before) == static_cast<std::int64_t>(repaired.receipts.size()));

    const auto again = client.verify("a", "b", only);
    INFO(again.collections[0].summary());
    CHECK(again.identical());
    CHECK(again.collections[0].digest_a == r.digest_a);  // a was not changed by the repair
    const auto nodoc =
        on_b.get(cw::get_options{std::vector<std::string>{"nodoc"}, {}, {}, {}, 0, cw::include_fields::documents});
    REQUIRE(nodoc.size() == 1);
    CHECK_FALSE(nodoc.documents[0].has_value());
    CHECK(client.repair("a", "b", {"diffs"}).collections.empty());  // nothing left to do
    CHECK_THROWS_AS(client.verify("a", "nope"), cw::invalid_argument);
    CHECK_THROWS_AS(client.repair("a", "a"), cw::invalid_argument);
}

TEST_CASE("repair of every collection creates, deletes and copies whole collections", "[verify_repair]") {
    cluster k{"vr"};
    cw::client client(k.config());
    auto logged_coll = client.create_collection("through-log");
    auto b1 = make_batch("t", 5);
    logged_coll.add(b1->records);
    // Created behind the library's back: one on the source only, one on the target only.
    cw::collection_options opts;
    opts.metadata = cw::metadata_map{{"owner", "test"}};
    opts.space = "cosine";
    auto src_only = k.direct(k.a).create_collection("source-only", opts);
    auto big = make_batch("s", 1200);  // more than one repair batch
    src_only.add(big->records);
    auto tgt_only = k.direct(k.b).create_collection("target-only");
    auto b2 = make_batch("x", 3);
    tgt_only.add(b2->records);
    REQUIRE(client.wait_until_synced(10s));

    const auto diff = client.verify("a", "b");
    CHECK_FALSE(diff.identical());
    std::vector<std::string> names;
    for (const auto& c : diff.collections) names.push_back(c.collection_name);
    CHECK(names == std::vector<std::string>{"source-only", "target-only", "through-log"});

    const auto r = client.repair("a", "b");
    CHECK(r.collections == std::vector<std::string>{"source-only", "target-only"});
    CHECK(r.upserted == 1200);
    CHECK(r.deleted == 3);
    const auto v = client.verify("a", "b");
    for (const auto& c : v.collections) INFO(c.summary());
    CHECK(v.identical());
    CHECK(v.collections.size() == 2);  // target-only is gone from both
    const auto info = k.direct(k.b).get_collection("source-only").info();
    REQUIRE(info.metadata.has_value());
    CHECK(info.metadata->at("owner") == cw::metadata_value("test"));
    CHECK(info.configuration_json.find("cosine") != std::string::npos);

    // The sync thread applies retention on its own, at most once per interval.
    cw::client_config pc = k.config();
    pc.retention = 0s;
    pc.prune_interval = 100ms;
    cw::client pruning(pc);
    // Two sync threads mark and prune here; a loaded machine needs more than the default 10 s.
    cw::status_report last;
    const bool pruned = wait_for(
        [&] {
            last = pruning.status();
            return last.log.pending == 0 && last.log.applied == 0;
        },
        30s);
    INFO(last.to_json());
    REQUIRE(pruned);
    CHECK(logged(pruning.status()) == 0);
    CHECK_FALSE(instance(pruning.status(), "b").needs_repair);
}

TEST_CASE("an instance away longer than the retention needs a repair, and repair brings it back", "[verify_repair]") {
    cluster k{"vr"};
    cw::client_config c = k.config();
    c.retention = 0s;
    c.prune_interval = 0ms;  // only explicit prune() calls
    c.record_apply_history = true;
    cw::client client(c);
    auto coll = client.create_collection("away");
    auto b1 = make_batch("one", 10);
    coll.add(b1->records);
    k.b.kill9();
    REQUIRE(wait_health(client, "b", false));
    auto b2 = make_batch("two", 10);
    auto b3 = make_batch("three", 10);
    coll.add(b2->records);
    coll.add(b3->records);
    // Applied on every healthy instance: the sync thread marks them so, and retention may go.
    REQUIRE(wait_for([&] { return client.status().log.pending == 0; }));
    CHECK(client.prune() == 4);  // creation and three adds
    CHECK(logged(client.status()) == 0);

    k.b.restart();
    REQUIRE(wait_health(client, "b", true));
    client.sync_now();
    auto s = client.status();
    CHECK(instance(s, "b").needs_repair);
    CHECK_FALSE(instance(s, "a").needs_repair);
    CHECK(s.to_json().find("\"needs_repair\":true") != std::string::npos);
    CHECK(s.to_prometheus().find("chromawal_instance_needs_repair{chroma_instance=\"b\"} 1") != std::string::npos);
    CHECK_FALSE(client.wait_until_synced(500ms));
    CHECK(k.direct(k.b).get_collection("away").count() == 10);  // not replayed on a wrong base

    {
        // Reads avoid it, even for a client without writes of its own (no read-your-writes bound).
        cw::client_config rc = k.config(false);
        rc.read_policy = cw::read_mode::replica_ratio;
        rc.replica_read_ratio = 1.0;
        cw::client reader(rc);
        reader.sync_now();
        for (int i = 0; i < 5; ++i) CHECK(reader.get_collection("away").count() == 30);
        CHECK(reader.get_collection("away").count(cw::read_options{true}) >= 10);
    }  // gone before the repair: it does not record apply history

    auto b4 = make_batch("four", 10);
    const auto w = coll.add(b4->records);
    CHECK(w.applied == std::vector<std::string>{"a"});

    const auto r = client.repair("a", "b");
    CHECK(r.collections == std::vector<std::string>{"away"});
    CHECK(r.upserted == 30);
    const auto v = client.verify("a", "b");
    INFO(v.collections.at(0).summary());
    CHECK(v.identical());
    CHECK_FALSE(instance(client.status(), "b").needs_repair);
    REQUIRE(client.wait_until_synced(20s));
    // b's history: applied 1..2, then moved past the pruned entries by the repair.
    const auto h = client.apply_history("b", "away");
    REQUIRE(h.size() >= 2);
    CHECK(std::any_of(h.begin(), h.end(), [](const auto& x) { return x.skipped; }));
    for (std::size_t i = 1; i < h.size(); ++i) CHECK(h[i].from == h[i - 1].to);
}

TEST_CASE("dead letters are listed, and a repair supersedes them", "[verify_repair]") {
    cluster k{"vr"};
    cw::client_config c = k.config();
    c.max_attempts = 2;
    cw::client client(c);
    auto coll = client.create_collection("dead");
    auto b1 = make_batch("d", 5);
    coll.add(b1->records);
    k.direct(k.b).delete_collection("dead");  // b answers 404 for this collection from now on
    auto b2 = make_batch("e", 5);
    CHECK(coll.add(b2->records).applied == std::vector<std::string>{"a"});
    // The dead letter is recorded, then the entry's state (two statements): wait for both.
    REQUIRE(wait_for([&] { return !client.dead_letters().empty() && client.status().log.dead == 1; }, 20s));
    const auto dl = client.dead_letters();
    REQUIRE(dl.size() == 1);
    CHECK(dl[0].instance == "b");
    CHECK(dl[0].collection_name == "dead");
    CHECK(dl[0].position == 3);
    CHECK(dl[0].operation == "add");
    CHECK_FALSE(dl[0].error_message.empty());
    CHECK(dl[0].age_seconds >= 0);
    CHECK(client.status().log.dead == 1);

    const auto r = client.repair("a", "b", {"dead"});
    CHECK(r.upserted == 10);
    CHECK(client.verify("a", "b", {{"dead"}, {}}).identical());
    CHECK(client.dead_letters().empty());
    REQUIRE(client.wait_until_synced(10s));
    REQUIRE(wait_for([&] { return client.status().log.dead == 0 && client.status().log.pending == 0; }));
}

TEST_CASE("apply history has no gap, repeat or reordering under a kill -9 of one instance", "[verify_repair]") {
    cluster k{"vr"};
    cw::client_config c = k.config();
    c.record_apply_history = true;
    cw::client client(c);
    auto coll = client.create_collection("history");
    std::atomic<int> written{0};
    auto writer = [&](int who) {
        for (int n = 0; n < 25; ++n) {
            auto b = make_batch("w" + std::to_string(who) + "-" + std::to_string(n), 3);
            try {
                coll.upsert(b->records);
            } catch (const cw::error&) {
                // an instance going away mid-write; what is logged must still converge
            }
            ++written;
        }
    };
    std::thread t1(writer, 1), t2(writer, 2);
    REQUIRE(wait_for([&] { return written >= 12; }, 30s));
    k.b.kill9();
    REQUIRE(wait_for([&] { return written >= 30; }, 30s));
    k.b.restart();
    t1.join();
    t2.join();
    REQUIRE(client.wait_until_synced(30s));
    const auto v = client.verify("a", "b");
    CHECK(v.identical());
    const auto s = client.status();
    for (const auto& i : s.instances) CHECK(i.lag_entries == 0);
    const std::int64_t head = instance(s, "a").applied;  // one lane: its head
    CHECK(head == logged(s));
    check_history(client.apply_history("a", "history"), head, "a");
    check_history(client.apply_history("b", "history"), head, "b");
    CHECK(client.apply_history("b", "no-such-collection").empty());
}

TEST_CASE("prune removes only what it may, in batches, and records how far each lane went", "[verify_repair]") {
    using chromawal::wal::entry_state;
    chromawal::wal::pg_log_store store(shared_pg().uri(), unique_schema("vr"));
    store.migrate();
    const chromawal::wal::lane_key k{"t", "d", "prune"};
    std::vector<chromawal::wal::new_entry> ten;
    static std::atomic<int> ids{0};
    for (int i = 0; i < 10; ++i) {
        ten.push_back(
            {k, "p-" + std::to_string(::getpid()) + "-" + std::to_string(ids++), chromawal::wal::op_kind::add, "x"});
    }
    const auto out = store.append(ten);
    const std::int64_t lane = out[0].lane_id;
    // 1 applied, 2 rejected, 3 abandoned, 4 dead-lettered on b, 5 applied, 6 pending, 7..10 applied.
    for (std::int64_t p : {1, 5, 7, 8, 9, 10}) store.set_state(lane, p, entry_state::applied);
    store.set_state(lane, 2, entry_state::rejected);
    store.set_state(lane, 3, entry_state::abandoned);
    store.set_state(lane, 4, entry_state::dead);
    store.add_dead_letter("b", lane, 4, "kept failing");
    store.set_record_apply_history(true);
    store.lock_lane("a", lane, 1s)->advance(10);

    CHECK(store.prune(std::chrono::hours(1), 5000) == 0);  // too young
    CHECK(store.prune(0ms, 5000) == 3);                    // stops at the dead-lettered entry
    auto lanes = store.all_lanes("b");
    REQUIRE(lanes.size() == 1);
    CHECK(lanes[0].pruned_through == 3);
    CHECK(lanes[0].needs_repair());  // b applied nothing, and 1..3 are gone
    CHECK_FALSE(store.all_lanes("a")[0].needs_repair());
    CHECK(store.read_entry(lane, 4).has_value());

    store.remove_dead_letter("b", lane, 4);  // replayed: the entry is pending again
    CHECK(store.read_entry(lane, 4)->state == entry_state::pending);
    CHECK(store.prune(0ms, 5000) == 0);  // a pending entry stays, and all after it
    store.set_state(lane, 4, entry_state::applied);
    CHECK(store.prune(0ms, 1) == 2);  // 4 and 5, one per batch; 6 is pending
    CHECK(store.all_lanes("a")[0].pruned_through == 5);
    store.set_state(lane, 6, entry_state::applied);
    CHECK(store.prune(0ms, 2) == 5);  // the rest, in batches of two
    CHECK(store.all_lanes("a")[0].pruned_through == 10);
    const auto c = store.counts();
    CHECK(c.pending + c.applied + c.rejected + c.abandoned + c.dead == 0);
    CHECK(store.apply_history("a", lane).empty());  // history older than the retention goes too
}

TEST_CASE("a version-1 log schema is upgraded in place", "[verify_repair]") {
    const std::string schema = unique_schema("vr");
    const chromawal::wal::lane_key k{"t", "d", "upgrade"};
    std::int64_t lane = 0;
    {
        chromawal::wal::pg_log_store store(shared_pg().uri(), schema);
        store.migrate();
        lane = store
                   .append({{k, "u-1-" + schema, chromawal::wal::op_kind::add, "one"},
                            {k, "u-2-" + schema, chromawal::wal::op_kind::add, "two"}})[0]
                   .lane_id;
        store.lock_lane("a", lane, 1s)->advance(1);
    }
    raw_conn raw(shared_pg().uri());
    // Back to exactly the version-1 layout, data kept (the entries then carry no name: their
    // lane's).
    raw.exec("DROP FUNCTION " + schema + ".append_rename(text, text, text, text, smallint, bytea, text)");
    raw.exec("DROP FUNCTION " + schema + ".claim_lane(text, text, text)");
    raw.exec("DROP FUNCTION " + schema + ".name_lock_key(text, text, text)");
    raw.exec("DROP TABLE " + schema + ".name_releases");
    raw.exec("DROP INDEX " + schema + ".lanes_current_name");
    raw.exec("ALTER TABLE " + schema +
             ".lanes DROP COLUMN holds_name, DROP COLUMN first_name, DROP COLUMN after_lane, "
             "DROP COLUMN after_position, ADD CONSTRAINT lanes_key UNIQUE (tenant, database, collection)");
    raw.exec("ALTER TABLE " + schema +
             ".entries DROP COLUMN collection, DROP COLUMN after_lane, DROP COLUMN after_position");
    raw.exec("ALTER TABLE " + schema + ".entries ALTER COLUMN payload SET STORAGE EXTENDED");
    raw.exec("DROP TABLE " + schema + ".apply_history");
    raw.exec("ALTER TABLE " + schema + ".lanes DROP COLUMN pruned_through");
    raw.exec("DROP FUNCTION " + schema + ".abandon_unless_applied");
    raw.exec("DROP TABLE " + schema + ".log_identity");
    raw.exec("DROP FUNCTION " + schema + ".lock_lane_applied");
    raw.exec("DROP PROCEDURE " + schema + ".advance_release");
    raw.exec("ALTER TABLE " + schema + ".instance_positions DROP COLUMN durable_lsn");
    raw.exec("DELETE FROM " + schema + ".schema_version WHERE version > 1");
    CHECK(raw.exec("SELECT max(version) FROM " + schema + ".schema_version") == "1");

    chromawal::wal::pg_log_store store(shared_pg().uri(), schema);
    store.migrate();
    CHECK(raw.exec("SELECT max(version) FROM " + schema + ".schema_version") == "7");
    CHECK(store.identity().id.size() == 36);  // version 6 gave the log its id
    // An entry written before version 5 addresses its lane's (only) name; the name stays mapped.
    const auto old_entry = store.read_entry(lane, 2);
    REQUIRE(old_entry);
    CHECK(old_entry->collection == "upgrade");
    CHECK(store.lane_id(k) == lane);
    CHECK(store.append({{k, "u-3-" + schema, chromawal::wal::op_kind::add, "three"}})[0].lane_id == lane);
    CHECK(raw.exec("SELECT attstorage FROM pg_attribute WHERE attrelid = '" + schema +
                   ".entries'::regclass AND attname = 'payload'") == "e");
    auto lanes = store.all_lanes("a");
    REQUIRE(lanes.size() == 1);
    CHECK(lanes[0].applied == 1);
    CHECK(lanes[0].head == 3);
    CHECK(lanes[0].pruned_through == 0);
    store.set_record_apply_history(true);
    store.lock_lane("a", lane, 1s)->advance(3);
    const auto h = store.apply_history("a", lane);
    REQUIRE(h.size() == 1);
    CHECK(h[0].from == 1);
    CHECK(h[0].to == 3);
    CHECK(store.mark_applied({"a"}) == 3);
    CHECK(store.prune(0ms, 100) == 3);
    CHECK(store.all_lanes("a")[0].pruned_through == 3);
}

TEST_CASE("record digests are order-independent and see types, nulls and float bits", "[verify_repair]") {
    namespace d = chromawal::detail;
    auto make = [](std::vector<std::string> ids, std::vector<std::optional<std::string>> docs,
                   std::vector<std::optional<cw::metadata_map>> metas, std::vector<float> emb) {
        cw::get_result r;
        r.ids = std::move(ids);
        r.documents = std::move(docs);
        r.metadatas = std::move(metas);
        r.embeddings = cw::embedding_matrix(std::move(emb), 2);
        return r;
    };
    auto digest = [](const cw::get_result& r) {
        cw::collection_digest out;
        out.exists = true;
        std::string scratch;
        for (std::size_t i = 0; i < r.size(); ++i) d::add_to_digest(out, d::record_hash(r, i, scratch));
        return out;
    };
    const auto base =
        make({"x", "y", "z"}, {std::string("dx"), std::nullopt, std::string("")},
             {cw::metadata_map{{"k", 1}, {"f", 0.0}}, std::nullopt, cw::metadata_map{{"s", "v"}}}, {1, 2, 3, 4, 5, 6});
    const auto reordered =
        make({"z", "x", "y"}, {std::string(""), std::string("dx"), std::nullopt},
             {cw::metadata_map{{"s", "v"}}, cw::metadata_map{{"f", -0.0}, {"k", 1}}, std::nullopt}, {5, 6, 1, 2, 3, 4});
    CHECK(digest(base) == digest(reordered));  // order, key order and -0.0 do not matter
    CHECK(digest(base).records == 3);
    CHECK(digest(base).hex().size() == 32);
    auto changed = base;
    changed.metadatas[0] = cw::metadata_map{{"k", 1.0}, {"f", 0.0}};  // an integer became a float
    CHECK(digest(changed) != digest(base));
    changed = base;
    changed.documents[2] = std::nullopt;  // "" and no document differ
    CHECK(digest(changed) != digest(base));
    changed = base;
    changed.metadatas[1] = cw::metadata_map{};  // no metadata and an empty map differ
    CHECK(digest(changed) != digest(base));
    changed = base;
    changed.embeddings.values()[5] = std::nextafter(6.0f, 7.0f);  // one float bit
    CHECK(digest(changed) != digest(base));
    changed = base;
    std::swap(changed.ids[0], changed.ids[1]);  // the same contents under other ids
    CHECK(digest(changed) != digest(base));
}
