// Moving a log between stores (chromawal::copy_log, `chromawal copy-log`): a log written through
// real Chroma servers, with a rename, a delete, an instance left behind and a dead letter, is
// copied from SQLite to PostgreSQL and back; every row is the same in the copy, the copy keeps
// the log's id (so the instances recorded for it accept it), the instance left behind catches up
// from its copied position, and writes go on at the next positions.
#include <catch2/catch.hpp>
#include <chromawal/chromawal.hpp>

#include "cluster.hpp"
#include "log_stores.hpp"
#include "poll.hpp"
#include "servers.hpp"

#include <chrono>
#include <string>
#include <tuple>
#include <vector>

namespace cw = chromawal;
namespace wal = chromawal::wal;
using namespace std::chrono_literals;
using chromawal_test::cluster;
using chromawal_test::store_kind;

namespace {

struct small_batch {
    std::vector<float> embeddings;
    cw::record_set records;
};

small_batch make_batch(const std::string& prefix, int n) {
    small_batch b;
    for (int i = 0; i < n; ++i) {
        b.records.ids.push_back(prefix + "-" + std::to_string(i));
        b.records.documents.emplace_back("text " + prefix + " " + std::to_string(i));
        for (int k = 0; k < 4; ++k) b.embeddings.push_back(static_cast<float>(i * 4 + k) / 7.0f);
    }
    b.records.embeddings = cw::embedding_view(b.embeddings, 4);
    return b;
}

std::vector<wal::entry_row> all_entries(wal::log_store& s) {
    std::vector<wal::entry_row> out;
    std::int64_t lane = 0, position = 0;
    for (;;) {
        auto batch = s.export_entries(lane, position, 3, 1 << 20);  // small pages: paging is tested too
        if (batch.empty()) return out;
        lane = batch.back().lane_id;
        position = batch.back().position;
        out.insert(out.end(), batch.begin(), batch.end());
    }
}

/// Every copied row of two logs is the same (times to the microsecond).
void check_same_rows(wal::log_store& x, wal::log_store& y) {
    const auto a = x.export_rows();
    const auto b = y.export_rows();
    REQUIRE(a.lanes.size() == b.lanes.size());
    for (std::size_t i = 0; i < a.lanes.size(); ++i) {
        const auto& l = a.lanes[i];
        const auto& m = b.lanes[i];
        CHECK(std::tie(l.lane_id, l.key.tenant, l.key.database, l.key.collection, l.first_name, l.holds_name,
                       l.next_position, l.pruned_through, l.after_lane, l.after_position) ==
              std::tie(m.lane_id, m.key.tenant, m.key.database, m.key.collection, m.first_name, m.holds_name,
                       m.next_position, m.pruned_through, m.after_lane, m.after_position));
        CHECK(l.created_at == Approx(m.created_at).margin(1e-3));
    }
    REQUIRE(a.name_releases.size() == b.name_releases.size());
    for (std::size_t i = 0; i < a.name_releases.size(); ++i) {
        CHECK(a.name_releases[i].key == b.name_releases[i].key);
        CHECK(a.name_releases[i].lane_id == b.name_releases[i].lane_id);
        CHECK(a.name_releases[i].position == b.name_releases[i].position);
    }
    REQUIRE(a.positions.size() == b.positions.size());
    for (std::size_t i = 0; i < a.positions.size(); ++i) {
        CHECK(std::tie(a.positions[i].instance, a.positions[i].lane_id, a.positions[i].applied_position) ==
              std::tie(b.positions[i].instance, b.positions[i].lane_id, b.positions[i].applied_position));
    }
    REQUIRE(a.dead_letters.size() == b.dead_letters.size());
    for (std::size_t i = 0; i < a.dead_letters.size(); ++i) {
        CHECK(std::tie(a.dead_letters[i].instance, a.dead_letters[i].lane_id, a.dead_letters[i].position,
                       a.dead_letters[i].error) == std::tie(b.dead_letters[i].instance, b.dead_letters[i].lane_id,
                                                            b.dead_letters[i].position, b.dead_letters[i].error));
    }
    const auto ea = all_entries(x);
    const auto eb = all_entries(y);
    REQUIRE(ea.size() == eb.size());
    for (std::size_t i = 0; i < ea.size(); ++i) {
        const auto& e = ea[i];
        const auto& f = eb[i];
        CHECK(std::tie(e.lane_id, e.position, e.idempotency_id, e.op, e.state, e.attempts, e.has_error, e.last_error,
                       e.collection, e.after_lane, e.after_position) ==
              std::tie(f.lane_id, f.position, f.idempotency_id, f.op, f.state, f.attempts, f.has_error, f.last_error,
                       f.collection, f.after_lane, f.after_position));
        CHECK(e.payload == f.payload);
        CHECK(e.created_at == Approx(f.created_at).margin(1e-3));
    }
}

}  // namespace

TEST_CASE("copy_log moves a log from SQLite to PostgreSQL and back, positions and id included", "[log_copy]") {
    cluster k{"lc"};
    const auto source = chromawal_test::fresh_store(store_kind::sqlite);
    cw::client_config from = k.config();
    from.log_url = "sqlite://" + source.path;

    std::string log_id;
    std::int64_t docs_next = 0;
    {
        cw::client c(from);
        log_id = c.log_id();
        auto docs = c.create_collection("docs");
        auto b1 = make_batch("d", 5);
        CHECK(docs.add(b1.records).applied.size() == 2);
        auto old = c.create_collection("old");
        auto b2 = make_batch("o", 3);
        old.add(b2.records);
        cw::modify_options rename;
        rename.name = "renamed";
        old.modify(rename);
        cw::delete_options del;
        del.ids = {"d-0"};
        docs.delete_records(del);
        // Instance b misses the last writes: its applied positions stay behind in the copy.
        k.b.kill9();
        REQUIRE(chromawal_test::wait_health(c, "b", false));
        auto b3 = make_batch("late", 4);
        const auto late = docs.add(b3.records);
        CHECK(late.applied == std::vector<std::string>{"a"});
        docs_next = late.position + 1;
    }
    {
        // A dead letter of a retired instance: dead letters are copied too.
        auto store = source.open();
        const auto lanes = store->export_rows().lanes;
        REQUIRE_FALSE(lanes.empty());
        store->add_dead_letter("retired", lanes.front().lane_id, 1, "test: a dead letter");
    }

    const auto target = chromawal_test::fresh_store(store_kind::postgresql);
    cw::client_config to = from;
    to.log_url = chromawal_test::shared_pg().uri();
    to.log_schema = target.schema;
    std::vector<std::int64_t> progress;
    const auto report = cw::copy_log(from, to, [&](std::int64_t n) { progress.push_back(n); });
    CHECK(report.log_id == log_id);
    CHECK(report.from.find("sqlite://") == 0);
    CHECK(report.to.find("postgresql://") == 0);
    CHECK(report.lanes == 2);
    CHECK(report.entries == 7);  // 2 creations, 2 adds to docs, 1 to old, the rename, the delete
    CHECK(report.dead_letters == 1);
    CHECK(report.applied_positions == 4);  // a and b in two lanes
    REQUIRE_FALSE(progress.empty());
    CHECK(progress.back() == report.entries);
    {
        auto x = source.open();
        auto y = target.open();
        check_same_rows(*x, *y);
        CHECK(y->identity().id == log_id);
    }

    // Again into the copy, onto itself, or into another log that is not empty: refused.
    CHECK_THROWS_WITH(cw::copy_log(from, to), Catch::Contains("already holds this log"));
    CHECK_THROWS_WITH(cw::copy_log(from, from), Catch::Contains("already holds this log"));
    {
        const auto busy = chromawal_test::fresh_store(store_kind::sqlite);
        cw::client_config busy_config = from;
        busy_config.log_url = "sqlite://" + busy.path;
        auto store = busy.open(8, true);
        wal::new_entry e;
        e.lane = {"default_tenant", "default_database", "x"};
        e.idempotency_id = "busy-1";
        e.op = wal::op_kind::create_collection;
        e.payload = "{}";
        store->append({e});
        CHECK_THROWS_WITH(cw::copy_log(from, busy_config), Catch::Contains("is not empty"));
    }

    // A client of the copy: the same log for the instances (no log_conflict), b catches up from
    // its copied position, and writes go on at the next positions.
    k.b.restart();
    {
        cw::client c(to);
        CHECK(c.log_id() == log_id);
        auto docs = c.get_collection("docs");
        auto b4 = make_batch("after", 2);
        const auto r = docs.add(b4.records);
        CHECK(r.position == docs_next);
        const bool caught_up = chromawal_test::eventually(
            [&] {
                const auto s = c.status();
                for (const auto& i : s.instances) {
                    if (!i.healthy || i.lag_entries != 0) return false;
                }
                return true;
            },
            30s);
        REQUIRE(caught_up);
        CHECK(k.verify("docs").identical());
        CHECK(k.verify("renamed").identical());
        CHECK(k.direct(k.b).get_collection("docs").count() == 5 - 1 + 4 + 2);
    }

    // And back, from PostgreSQL into a new SQLite file.
    const auto back = chromawal_test::fresh_store(store_kind::sqlite);
    cw::client_config to_sqlite = from;
    to_sqlite.log_url = "sqlite://" + back.path;
    const auto again = cw::copy_log(to, to_sqlite);
    CHECK(again.log_id == log_id);
    CHECK(again.entries == 8);
    auto y = target.open();
    auto z = back.open();
    check_same_rows(*y, *z);
}
