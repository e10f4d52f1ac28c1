// One log per instance set (docs/design.md): two logs (two PostgreSQL schemas or two SQLite
// files, per the store under test, each a log with its own id) driving the same real Chroma instances. The first log to
// write records its id on every instance; a client of another log refuses to write, naming both logs, and logs nothing,
// until take_over_instances records its own (audited on each instance).
#include <catch2/catch.hpp>
#include <chromawal/chromawal.hpp>

#include "cluster.hpp"
#include "log_stores.hpp"
#include "servers.hpp"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace cw = chromawal;
using namespace std::chrono_literals;
using chromawal_test::cluster;
using chromawal_test::event_log;

namespace {

struct small_batch {
    std::vector<float> embeddings;
    cw::record_set records;
};

small_batch make_batch(const std::string& prefix, int n) {
    small_batch b;
    for (int i = 0; i < n; ++i) {
        b.records.ids.push_back(prefix + "-" + std::to_string(i));
        for (int k = 0; k < 4; ++k) b.embeddings.push_back(static_cast<float>(i * 4 + k) / 7.0f);
    }
    b.records.embeddings = cw::embedding_view(b.embeddings, 4);
    return b;
}

/// The log record on one instance (the one collection of the reserved database).
cw::metadata_map record_on(const chromawal_test::chroma_server& s) {
    cw::connection_options o;
    o.base_url = s.url();
    o.database = "chromawal_meta";
    auto colls = cw::chroma_client(o).list_collections();
    REQUIRE(colls.size() == 1);
    REQUIRE(colls[0].info().metadata);
    return *colls[0].info().metadata;
}

std::string text(const cw::metadata_map& m, const char* key) {
    auto it = m.find(key);
    if (it == m.end() || it->second.get_if<std::string>() == nullptr) return {};
    return it->second.get<std::string>();
}

/// The configuration of the cluster's instances with another log of the store under test.
cw::client_config with_other_log(cw::client_config c, const std::string& name) {
    const std::string schema = chromawal_test::unique_schema(name);
    c.log_url = chromawal_test::log_url_for(chromawal_test::log_store_under_test(), schema);
    c.log_schema = schema;
    return c;
}

std::string log_url_prefix() {
    return chromawal_test::log_store_under_test() == chromawal_test::store_kind::sqlite ? "sqlite://" : "postgresql://";
}

}  // namespace

TEST_CASE("two logs: a second log is refused on instances recorded for the first, until a takeover",
          "[two_logs][replication]") {
    cluster k{"tl"};
    cw::client first(k.config());
    const std::string first_id = first.log_id();
    REQUIRE_FALSE(first_id.empty());
    auto docs = first.create_collection("docs");
    auto b1 = make_batch("d", 3);
    CHECK(docs.add(b1.records).applied.size() == 2);
    for (const auto* s : {&k.a, &k.b}) {
        const auto rec = record_on(*s);
        CHECK(text(rec, "log_id") == first_id);
        CHECK(text(rec, "database") == "default_database");
        CHECK(text(rec, "log").find(log_url_prefix()) == 0);
    }
    for (const auto& i : first.status().instances) CHECK(i.log_record == "this");
    CHECK(first.status().log.id == first_id);
    // The reserved database is not in the client's database's listing.
    CHECK(k.direct(k.a).list_collections().size() == 1);

    // Another log (its own schema: its own id) on the same instances.
    event_log events;
    cw::client_config other_config = with_other_log(k.config(), "tl_other");
    other_config.on_event = events.hook();
    cw::client second(other_config);
    const std::string second_id = second.log_id();
    REQUIRE(second_id != first_id);
    try {
        second.create_collection("notes");
        FAIL("a write through the second log was accepted");
    } catch (const cw::log_conflict& e) {
        const std::string m = e.what();
        CHECK(m.find(first_id) != std::string::npos);
        CHECK(m.find(second_id) != std::string::npos);
        CHECK(m.find("nothing was logged") != std::string::npos);
    }
    CHECK_THROWS_AS(second.get_or_create_collection("docs").add(b1.records), cw::log_conflict);
    const auto st = second.status();
    CHECK(st.log.pending + st.log.applied + st.log.abandoned + st.log.rejected == 0);  // nothing logged
    CHECK(st.instances.at(0).log_record == "other");
    CHECK(st.instances.at(0).other_log.find(first_id) != std::string::npos);
    CHECK(events.count(cw::event::kind::log_conflict) >= 1);
    CHECK(k.direct(k.a).list_collections().size() == 1);  // nothing reached the instances
    CHECK(k.direct(k.b).list_collections().size() == 1);
    // Reads still work through the second client.
    CHECK(second.get_collection("docs").count() == 3);

    // The takeover: explicit, with a reason that is recorded.
    CHECK_THROWS_AS(second.take_over_instances(""), cw::invalid_argument);
    const auto steps = second.take_over_instances("log A retired for the test");
    REQUIRE(steps.size() == 2);
    for (const auto& step : steps) {
        CHECK(step.changed);
        CHECK(step.previous_log.find(first_id) != std::string::npos);
    }
    CHECK(events.count(cw::event::kind::instances_taken_over) == 2);
    for (const auto* s : {&k.a, &k.b}) {
        const auto rec = record_on(*s);
        CHECK(text(rec, "log_id") == second_id);
        CHECK(text(rec, "previous_log_id") == first_id);
        CHECK(text(rec, "takeover_reason") == "log A retired for the test");
        CHECK_FALSE(text(rec, "taken_over_at").empty());
        CHECK_FALSE(text(rec, "taken_over_by").empty());
    }
    auto notes = second.create_collection("notes");
    auto b2 = make_batch("n", 2);
    CHECK(notes.add(b2.records).applied.size() == 2);
    // A second takeover changes nothing.
    for (const auto& step : second.take_over_instances("again")) CHECK_FALSE(step.changed);

    // Now a client of the first log is the one refused.
    cw::client first_again(k.config());
    CHECK_THROWS_AS(first_again.get_collection("docs").add(make_batch("x", 1).records), cw::log_conflict);
    CHECK(k.direct(k.a).get_collection("docs").count() == 3);
}

TEST_CASE("two logs: clients of two logs racing to write first to a fresh instance set cannot split it",
          "[two_logs][replication]") {
    cluster k{"tr"};
    cw::client_config ca = k.config();
    cw::client_config cb = with_other_log(k.config(), "tr_other");
    cw::client a(ca);
    cw::client b(cb);
    std::atomic<int> ready{0};
    std::atomic<int> accepted{0}, refused{0};
    auto writer = [&](cw::client& c, const std::string& name) {
        ++ready;
        while (ready.load() < 2) std::this_thread::yield();
        try {
            c.create_collection(name);
            ++accepted;
        } catch (const cw::log_conflict&) {
            ++refused;
        }
    };
    std::thread ta(writer, std::ref(a), "from-a");
    std::thread tb(writer, std::ref(b), "from-b");
    ta.join();
    tb.join();
    CHECK(accepted.load() == 1);
    CHECK(refused.load() == 1);
    // Both instances name the same log, the winner's.
    const std::string winner = accepted.load() == 1 && k.direct(k.a).list_collections().size() == 1 &&
                                       k.direct(k.a).list_collections()[0].info().name == "from-a"
                                   ? a.log_id()
                                   : b.log_id();
    CHECK(text(record_on(k.a), "log_id") == winner);
    CHECK(text(record_on(k.b), "log_id") == winner);
}
