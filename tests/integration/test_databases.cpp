// Tenants and databases through the log (client::create_database, delete_database, create_tenant,
// set_database): real servers, an instance killed and restarted to make it miss them, and both
// instances compared afterwards.
#include <catch2/catch.hpp>
#include <chromawal/chromawal.hpp>

#include "cluster.hpp"
#include "poll.hpp"
#include "servers.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

namespace cw = chromawal;
using namespace std::chrono_literals;

namespace {

using chromawal_test::cluster;
using chromawal_test::wait_health;

// A single-server client to one instance, in `tenant` / `database`.
cw::chroma_client direct_in(const chromawal_test::chroma_server& s, const std::string& database,
                            const std::string& tenant = "default_tenant") {
    cw::connection_options o;
    o.base_url = s.url();
    o.tenant = tenant;
    o.database = database;
    return cw::chroma_client(o);
}

bool has_database(const chromawal_test::chroma_server& s, const std::string& database,
                  const std::string& tenant = "default_tenant") {
    try {
        (void)direct_in(s, "default_database", tenant).get_database(database);
        return true;
    } catch (const cw::not_found&) {
        return false;
    }
}

struct rows {
    std::vector<float> embeddings;
    cw::record_set records;
    explicit rows(const std::string& prefix, int n) {
        for (int i = 0; i < n; ++i) {
            records.ids.push_back(prefix + std::to_string(i));
            for (int k = 0; k < 3; ++k) embeddings.push_back(static_cast<float>(i + k));
        }
        records.embeddings = cw::embedding_view(embeddings, 3);
    }
};

std::vector<std::string> names_of(const std::vector<cw::database_info>& ds) {
    std::vector<std::string> out;
    for (const auto& d : ds) out.push_back(d.name);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("databases: created, written and deleted through the log on every instance", "[replication][databases]") {
    cluster k;
    cw::client client(k.config());
    client.create_database("db-one");
    CHECK(has_database(k.a, "db-one"));
    CHECK(has_database(k.b, "db-one"));
    CHECK(client.get_database("db-one").name == "db-one");
    CHECK_THROWS_AS(client.create_database("db-one"), cw::already_exists);
    const auto listed = names_of(client.list_databases());
    CHECK(std::find(listed.begin(), listed.end(), "db-one") != listed.end());
    CHECK(std::find(listed.begin(), listed.end(), "chromawal_meta") == listed.end());

    client.set_database("db-one");
    CHECK(client.database() == "db-one");
    auto coll = client.create_collection("in-db-one");
    CHECK(coll.database() == "db-one");
    rows r("x", 7);
    CHECK(coll.add(r.records).applied.size() == 2);
    CHECK(coll.count() == 7);
    CHECK(direct_in(k.a, "db-one").get_collection("in-db-one").count() == 7);
    CHECK(direct_in(k.b, "db-one").get_collection("in-db-one").count() == 7);
    // Not in the configured database.
    CHECK_THROWS_AS(direct_in(k.a, "default_database").get_collection("in-db-one"), cw::not_found);

    client.set_database("default_database");
    CHECK(coll.count() == 7);  // the handle keeps its database
    client.delete_database("db-one");
    CHECK_FALSE(has_database(k.a, "db-one"));
    CHECK_FALSE(has_database(k.b, "db-one"));
    CHECK_THROWS_AS(client.delete_database("db-one"), cw::not_found);
    CHECK_THROWS_AS(client.get_database("db-one"), cw::not_found);
    CHECK_THROWS_AS(client.delete_database("chromawal_meta"), cw::invalid_argument);
    CHECK_THROWS_AS(client.create_database("x"), cw::server_rejected);  // too short: refused before logging
}

TEST_CASE("databases: an instance that was down gets the creation, the writes and the deletion in order",
          "[replication][databases]") {
    cluster k;
    cw::client client(k.config());
    client.create_database("db-kept");
    client.create_database("db-gone");
    cw::collection gone_coll = [&] {
        client.set_database("db-gone");
        auto c = client.create_collection("will-go");
        rows r("g", 5);
        c.add(r.records);
        return c;
    }();
    k.b.kill9();
    REQUIRE(wait_health(client, "b", false));
    // While b is away: a new database with a collection and records, more records in db-gone,
    // then db-gone deleted.
    client.create_database("db-new");
    client.set_database("db-new");
    auto fresh = client.create_collection("fresh");
    rows r1("n", 9);
    fresh.add(r1.records);
    rows r2("h", 4);
    gone_coll.add(r2.records);
    client.delete_database("db-gone");
    // Re-creating db-gone must wait until b has applied its deletion.
    CHECK_THROWS_AS(client.create_database("db-gone"), cw::no_instance_available);
    // A collection of the same name in the configured database is another collection.
    client.set_database("default_database");
    auto same_name = client.create_collection("fresh");
    rows r3("d", 2);
    same_name.add(r3.records);

    k.b.restart();
    REQUIRE(client.wait_until_synced(30s));
    CHECK(has_database(k.b, "db-kept"));
    CHECK(has_database(k.b, "db-new"));
    CHECK_FALSE(has_database(k.b, "db-gone"));
    CHECK(direct_in(k.b, "db-new").get_collection("fresh").count() == 9);
    CHECK(direct_in(k.b, "default_database").get_collection("fresh").count() == 2);
    const auto v = cw::verify_collection(direct_in(k.a, "db-new"), direct_in(k.b, "db-new"), "fresh");
    INFO(v.summary());
    CHECK(v.identical());
    // The writes to db-gone made while b was away were applied there before the deletion, not
    // stepped over.
    CHECK(client.dead_letters().empty());
    // Now every instance has applied the deletion: the database can be made again, empty.
    client.create_database("db-gone");
    CHECK(direct_in(k.a, "db-gone").list_collections().empty());
    CHECK(direct_in(k.b, "db-gone").list_collections().empty());
}

TEST_CASE("tenants: created through the log, databases in them", "[replication][databases]") {
    cluster k;
    cw::client client(k.config());
    const std::string tenant = "tenant-" + chromawal_test::unique_schema("x");
    k.b.kill9();
    REQUIRE(wait_health(client, "b", false));
    client.create_tenant(tenant);
    CHECK(client.get_tenant(tenant) == tenant);
    CHECK_THROWS_AS(client.create_tenant(tenant), cw::already_exists);
    client.create_database("db-in-tenant", tenant);
    client.set_tenant(tenant, "db-in-tenant");
    auto c = client.create_collection("tc-coll");
    rows r("t", 3);
    c.add(r.records);
    k.b.restart();
    REQUIRE(client.wait_until_synced(30s));
    CHECK(direct_in(k.b, "default_database").get_tenant(tenant) == tenant);
    CHECK(has_database(k.b, "db-in-tenant", tenant));
    CHECK(direct_in(k.b, "db-in-tenant", tenant).get_collection("tc-coll").count() == 3);
    CHECK_THROWS_AS(client.get_tenant("no-such-tenant"), cw::not_found);
}

TEST_CASE("reset: the servers' reset, only with every instance up and caught up", "[replication][databases]") {
    cluster k("t", true);
    cw::client client(k.config());
    client.create_database("db-reset");
    auto c = client.create_collection("before-reset");
    rows r("r", 4);
    c.add(r.records);
    k.b.kill9();
    REQUIRE(wait_health(client, "b", false));
    c.add(rows("s", 2).records);  // b misses it
    CHECK_THROWS_AS(client.reset(std::chrono::milliseconds(300)), cw::no_instance_available);
    CHECK(direct_in(k.a, "default_database").get_collection("before-reset").count() == 6);  // nothing reset
    k.b.restart();
    client.reset();  // waits until b is back and has applied what it missed
    for (const auto* s : {&k.a, &k.b}) {
        CHECK(direct_in(*s, "default_database").list_collections().empty());
        CHECK_FALSE(has_database(*s, "db-reset"));
    }
    // The log is recorded on the instances again and drives them.
    auto after = client.create_collection("after-reset");
    after.add(rows("t", 3).records);
    REQUIRE(client.wait_until_synced(30s));
    CHECK(direct_in(k.b, "default_database").get_collection("after-reset").count() == 3);
    CHECK(client.status().instances[1].log_record == "this");
}
