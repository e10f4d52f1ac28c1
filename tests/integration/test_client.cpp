// Integration tests of the client-level calls (server information, collections, databases,
// tenants) and of sharing one client between threads, against a real Chroma server.
#include <catch2/catch.hpp>
#include <chromawal/chromawal.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "servers.hpp"

namespace cw = chromawal;

namespace {

cw::chroma_client shared_client(const std::string& tenant = "default_tenant",
                                const std::string& database = "default_database") {
    cw::connection_options o;
    o.base_url = chromawal_test::shared_chroma().url();
    o.tenant = tenant;
    o.database = database;
    return cw::chroma_client(o);
}

// Deletes the named collection when the test ends, pass or fail. `name` may be changed
// (after a rename) so that the current name is the one deleted.
struct collection_cleanup {
    collection_cleanup(cw::chroma_client c, std::string n) : client(std::move(c)), name(std::move(n)) {}
    ~collection_cleanup() {
        try {
            client.delete_collection(name);
        } catch (...) {
        }
    }
    collection_cleanup(const collection_cleanup&) = delete;
    collection_cleanup& operator=(const collection_cleanup&) = delete;

    cw::chroma_client client;
    std::string name;
};

struct database_cleanup {
    database_cleanup(cw::chroma_client c, std::string n) : client(std::move(c)), name(std::move(n)) {}
    ~database_cleanup() {
        try {
            client.delete_database(name);
        } catch (...) {
        }
    }
    database_cleanup(const database_cleanup&) = delete;
    database_cleanup& operator=(const database_cleanup&) = delete;

    cw::chroma_client client;
    std::string name;
};

std::set<std::string> names_of(const std::vector<cw::chroma_collection>& v) {
    std::set<std::string> out;
    for (const auto& c : v) out.insert(c.name());
    return out;
}

void add_points(const cw::chroma_collection& c, const std::vector<std::string>& ids, float base) {
    std::vector<float> flat;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        flat.push_back(base + static_cast<float>(i));
        flat.push_back(1.0f);
    }
    cw::record_set r;
    r.ids = ids;
    r.embeddings = cw::embedding_view(flat, 2);
    c.add(r);
}

}  // namespace

TEST_CASE("heartbeat, version, preflight and identity", "[integration][client]") {
    const cw::chroma_client client = shared_client();
    const std::int64_t first = client.heartbeat();
    CHECK(first > 0);
    CHECK(client.heartbeat() >= first);
    CHECK(client.version() == "1.0.0");

    const cw::preflight_info pf = client.preflight();
    CHECK(pf.max_batch_size > 0);
    CHECK(pf.supports_base64_encoding);
    CHECK(client.max_batch_size() == pf.max_batch_size);

    const cw::user_identity id = client.identity();
    CHECK(id.tenant == "default_tenant");
    CHECK(std::find(id.databases.begin(), id.databases.end(), "default_database") != id.databases.end());

    // A copy shares the connection state and answers the same.
    const cw::chroma_client copy = client;  // NOLINT(performance-unnecessary-copy-initialization)
    CHECK(copy.max_batch_size() == pf.max_batch_size);
    CHECK(copy.options().base_url == client.options().base_url);

    // A trailing '/' and a host name instead of the address both reach the same server.
    cw::connection_options o;
    o.base_url = "http://localhost:" + std::to_string(chromawal_test::shared_chroma().port()) + "//";
    const cw::chroma_client by_host(o);
    CHECK(by_host.version() == "1.0.0");
    CHECK(by_host.count_collections() == client.count_collections());
}

TEST_CASE("reset is the server's, refused unless the server allows it", "[integration][client]") {
    // The shared server runs without allow_reset: it refuses, and nothing is deleted.
    const cw::chroma_client shared = shared_client();
    const std::size_t before = shared.count_collections();
    CHECK_THROWS_AS(shared.reset(), cw::server_rejected);
    CHECK(shared.count_collections() == before);

    chromawal_test::chroma_server server("reset");
    server.allow_reset(true);
    server.start();
    cw::connection_options o;
    o.base_url = server.url();
    const cw::chroma_client client(o);
    client.create_collection("doomed-a");
    client.create_collection("doomed-b");
    REQUIRE(client.count_collections() == 2);
    CHECK(client.reset());
    CHECK(client.count_collections() == 0);
}

TEST_CASE("create, get, get_or_create, get by id, count and delete collections", "[integration][client]") {
    const cw::chroma_client client = shared_client();
    const std::string name = chromawal_test::unique_name("it-life");
    collection_cleanup cleanup{client, name};
    const std::size_t before = client.count_collections();

    const cw::metadata_map meta{{"owner", "tests"}, {"n", 3}, {"ratio", 0.5}, {"flag", true}};
    cw::collection_options opts;
    opts.metadata = meta;
    const cw::chroma_collection created = client.create_collection(name, opts);
    CHECK(created.name() == name);
    CHECK_FALSE(created.id().empty());
    CHECK(created.info().tenant == "default_tenant");
    CHECK(created.info().database == "default_database");
    CHECK(created.info().metadata == meta);
    CHECK_FALSE(created.info().dimension.has_value());
    CHECK(created.info().configuration_json.find("hnsw") != std::string::npos);
    // chromadb's model fields: a new collection is at version 0 and log position 0, and Chroma
    // 1.x describes it with a schema ({"defaults": ..., "keys": ...}).
    CHECK(created.info().version == 0);
    CHECK(created.info().log_position == 0);
    CHECK(created.info().schema_json.rfind("{", 0) == 0);
    CHECK(created.info().schema_json.find("\"#embedding\"") != std::string::npos);
    CHECK(client.count_collections() == before + 1);

    const cw::chroma_collection by_name = client.get_collection(name);
    CHECK(by_name.id() == created.id());
    CHECK(by_name.info().metadata == meta);

    // get_or_create returns the existing collection and ignores the options.
    cw::collection_options other;
    other.metadata = cw::metadata_map{{"owner", "someone else"}};
    const cw::chroma_collection existing = client.get_or_create_collection(name, other);
    CHECK(existing.id() == created.id());
    CHECK(existing.info().metadata == meta);
    CHECK(client.count_collections() == before + 1);

    const cw::chroma_collection by_id = client.get_collection_by_id(created.id());
    CHECK(by_id.name() == name);
    CHECK(by_id.info().metadata == meta);

    // The dimension is fixed by the first add and reported afterwards.
    add_points(created, {"a", "b"}, 0.0f);
    CHECK(client.get_collection(name).info().dimension == 2);
    CHECK(by_id.count() == 2);  // any handle to the collection sees the records

    client.delete_collection(name);
    CHECK(client.count_collections() == before);
    CHECK_THROWS_AS(client.get_collection(name), cw::not_found);
    CHECK_THROWS_AS(client.get_collection_by_id(created.id()), cw::not_found);

    // get_or_create of a missing name creates it, with a new id.
    const cw::chroma_collection recreated = client.get_or_create_collection(name, other);
    CHECK(recreated.id() != created.id());
    CHECK(recreated.info().metadata == other.metadata);
    CHECK(recreated.count() == 0);
    CHECK(client.count_collections() == before + 1);
}

TEST_CASE("list_collections with limit and offset", "[integration][client]") {
    const cw::chroma_client client = shared_client();
    std::deque<collection_cleanup> cleanups;
    std::set<std::string> mine;
    for (int i = 0; i < 3; ++i) {
        const std::string name = chromawal_test::unique_name("it-list");
        cleanups.emplace_back(client, name);
        client.create_collection(name);
        mine.insert(name);
    }

    const std::vector<cw::chroma_collection> all = client.list_collections();
    CHECK(all.size() == client.count_collections());
    const std::set<std::string> all_names = names_of(all);
    CHECK(all_names.size() == all.size());
    for (const auto& n : mine) CHECK(all_names.count(n) == 1);
    for (const auto& c : all) CHECK_FALSE(c.id().empty());

    CHECK(client.list_collections(1).size() == 1);
    CHECK(client.list_collections(0).empty());
    CHECK(client.list_collections(std::nullopt, all.size()).empty());
    CHECK(client.list_collections(std::nullopt, all.size() - 1).size() == 1);

    // Pages of two cover the whole list exactly once, in the same order.
    std::vector<std::string> paged;
    for (std::size_t offset = 0; offset < all.size() + 2; offset += 2) {
        for (const auto& c : client.list_collections(2, offset)) paged.push_back(c.name());
    }
    std::vector<std::string> expected;
    for (const auto& c : all) expected.push_back(c.name());
    CHECK(paged == expected);
}

TEST_CASE("modify renames and replaces metadata and configuration", "[integration][client]") {
    const cw::chroma_client client = shared_client();
    const std::string old_name = chromawal_test::unique_name("it-mod");
    collection_cleanup cleanup{client, old_name};
    cw::collection_options opts;
    opts.metadata = cw::metadata_map{{"a", 1}, {"b", "x"}};
    cw::chroma_collection c = client.create_collection(old_name, opts);
    add_points(c, {"p1", "p2", "p3"}, 0.0f);

    const std::string new_name = chromawal_test::unique_name("it-mod-renamed");
    cw::modify_options change;
    change.name = new_name;
    change.metadata = cw::metadata_map{{"c", true}, {"ключ", "значение"}};
    c.modify(change);
    cleanup.name = new_name;
    CHECK(c.name() == new_name);
    CHECK(c.info().metadata == change.metadata);

    const cw::chroma_collection fetched = client.get_collection(new_name);
    CHECK(fetched.id() == c.id());
    CHECK(fetched.info().metadata == change.metadata);  // replaced, not merged
    CHECK(fetched.count() == 3);
    CHECK_THROWS_AS(client.get_collection(old_name), cw::not_found);

    cw::modify_options only_meta;
    only_meta.metadata = cw::metadata_map{{"d", 2.5}};
    c.modify(only_meta);
    CHECK(c.name() == new_name);
    CHECK(client.get_collection(new_name).info().metadata == only_meta.metadata);

    cw::modify_options config;
    config.configuration_json = R"({"hnsw": {"ef_search": 123}})";
    c.modify(config);
    const std::string cfg = client.get_collection(new_name).info().configuration_json;
    CAPTURE(cfg);
    CHECK(cfg.find("\"ef_search\":123") != std::string::npos);
    CHECK(c.count() == 3);
}

TEST_CASE("collection options: distance space and raw configuration", "[integration][client]") {
    const cw::chroma_client client = shared_client();
    const std::vector<float> points{1.0f, 0.0f, 0.0f, 1.0f, 2.0f, 0.0f};
    const std::vector<float> q{3.0f, 0.0f};

    auto check = [&](const cw::collection_options& opts, const std::string& space, float d_near, float d_ortho) {
        const std::string name = chromawal_test::unique_name("it-space");
        collection_cleanup cleanup{client, name};
        const cw::chroma_collection c = client.create_collection(name, opts);
        CAPTURE(space, c.info().configuration_json);
        CHECK(c.info().configuration_json.find("\"space\":\"" + space + "\"") != std::string::npos);
        cw::record_set r;
        r.ids = {"x", "y", "x2"};
        r.embeddings = cw::embedding_view(points, 2);
        c.add(r);
        cw::query_options o;
        o.query_embeddings = cw::embedding_view(q, 2);
        o.n_results = 3;
        o.ids = {"x", "y"};
        const cw::query_result res = c.query(o);
        REQUIRE(res[0].ids == std::vector<std::string>{"x", "y"});
        CHECK(res[0].distances.at(0) == Approx(d_near).margin(1e-4));
        CHECK(res[0].distances.at(1) == Approx(d_ortho).margin(1e-4));
    };

    cw::collection_options cosine;
    cosine.space = "cosine";
    check(cosine, "cosine", 0.0f, 1.0f);  // 1 - cos
    cw::collection_options ip;
    ip.configuration_json = R"({"hnsw": {"space": "ip", "ef_search": 50}})";
    check(ip, "ip", -2.0f, 1.0f);  // 1 - dot
    check({}, "l2", 4.0f, 10.0f);  // squared Euclidean, the default
}

TEST_CASE("databases and tenants: create, get, list, delete; collections stay in their database",
          "[integration][client]") {
    const cw::chroma_client client = shared_client();
    const std::string db = chromawal_test::unique_name("it-db");
    database_cleanup db_cleanup{client, db};

    client.create_database(db);
    const cw::database_info info = client.get_database(db);
    CHECK(info.name == db);
    CHECK(info.tenant == "default_tenant");
    CHECK_FALSE(info.id.empty());
    CHECK_THROWS_AS(client.create_database(db), cw::already_exists);

    const std::vector<cw::database_info> dbs = client.list_databases();
    CHECK(std::count_if(dbs.begin(), dbs.end(), [&](const cw::database_info& d) { return d.name == db; }) == 1);
    CHECK(std::count_if(dbs.begin(), dbs.end(), [](const auto& d) { return d.name == "default_database"; }) == 1);
    REQUIRE(dbs.size() >= 2);
    CHECK(client.list_databases(1).size() == 1);
    CHECK(client.list_databases(std::nullopt, dbs.size() - 1).size() == 1);
    CHECK(client.list_databases(std::nullopt, dbs.size()).empty());

    // A collection created through a client of that database is invisible in the default one.
    {
        const cw::chroma_client in_db = shared_client("default_tenant", db);
        const std::string name = chromawal_test::unique_name("it-db-coll");
        collection_cleanup cleanup{in_db, name};
        const cw::chroma_collection c = in_db.create_collection(name);
        CHECK(c.info().database == db);
        add_points(c, {"z"}, 0.0f);
        CHECK(in_db.count_collections() == 1);
        CHECK(names_of(in_db.list_collections()) == std::set<std::string>{name});
        CHECK(names_of(client.list_collections()).count(name) == 0);
        CHECK_THROWS_AS(client.get_collection(name), cw::not_found);
        CHECK(in_db.get_collection(name).count() == 1);
    }

    client.delete_database(db);
    CHECK_THROWS_AS(client.get_database(db), cw::not_found);
    const std::vector<cw::database_info> after = client.list_databases();
    CHECK(std::none_of(after.begin(), after.end(), [&](const cw::database_info& d) { return d.name == db; }));

    // Tenants.
    const std::string tenant = chromawal_test::unique_name("it-tenant");
    client.create_tenant(tenant);
    CHECK(client.get_tenant(tenant) == tenant);
    CHECK_THROWS_AS(client.create_tenant(tenant), cw::already_exists);
    CHECK_THROWS_AS(client.get_tenant(chromawal_test::unique_name("it-no-tenant")), cw::not_found);

    // A database and a collection inside the new tenant.
    const cw::chroma_client tenant_client = shared_client(tenant, "default_database");
    const std::string tdb = chromawal_test::unique_name("it-tdb");
    tenant_client.create_database(tdb);
    database_cleanup tdb_cleanup{tenant_client, tdb};
    CHECK(tenant_client.get_database(tdb).tenant == tenant);
    const cw::chroma_client tenant_db_client = shared_client(tenant, tdb);
    const std::string tname = chromawal_test::unique_name("it-tcoll");
    collection_cleanup tcleanup{tenant_db_client, tname};
    const cw::chroma_collection tc = tenant_db_client.create_collection(tname);
    CHECK(tc.info().tenant == tenant);
    CHECK(tc.info().database == tdb);
    CHECK(names_of(client.list_collections()).count(tname) == 0);
}

TEST_CASE("one client shared by 8 threads: concurrent adds, gets and queries all land",
          "[integration][client][threads]") {
    const cw::chroma_client client = shared_client();
    constexpr int threads = 8;
    constexpr int batches = 5;
    constexpr int per_batch = 10;

    const std::string shared_name = chromawal_test::unique_name("it-mt-shared");
    collection_cleanup shared_cleanup{client, shared_name};
    const cw::chroma_collection shared = client.create_collection(shared_name);

    std::vector<std::string> own_names;
    std::deque<collection_cleanup> cleanups;
    for (int t = 0; t < threads; ++t) {
        own_names.push_back(chromawal_test::unique_name("it-mt-" + std::to_string(t)));
        cleanups.emplace_back(client, own_names.back());
    }

    std::mutex failures_mutex;
    std::vector<std::string> failures;
    auto fail = [&](const std::string& what) {
        std::lock_guard<std::mutex> lock(failures_mutex);
        failures.push_back(what);
    };

    std::atomic<int> ready{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            try {
                ++ready;
                while (ready.load() < threads) std::this_thread::yield();  // start together
                const cw::chroma_collection own = client.get_or_create_collection(own_names[t]);
                for (int b = 0; b < batches; ++b) {
                    std::vector<std::string> ids;
                    std::vector<float> flat;
                    std::vector<std::optional<std::string>> docs;
                    for (int i = 0; i < per_batch; ++i) {
                        const int n = b * per_batch + i;
                        ids.push_back("t" + std::to_string(t) + "-" + std::to_string(n));
                        flat.push_back(static_cast<float>(t));
                        flat.push_back(static_cast<float>(n));
                        docs.emplace_back("doc " + ids.back());
                    }
                    cw::record_set r;
                    r.ids = ids;
                    r.embeddings = cw::embedding_view(flat, 2);
                    r.documents = docs;
                    own.add(r);
                    shared.add(r);

                    cw::get_options g;
                    g.ids = ids;
                    const cw::get_result got = own.get(g);
                    if (got.size() != ids.size())
                        fail("thread " + std::to_string(t) + ": get after add missed records");
                    for (std::size_t k = 0; k < got.size(); ++k) {
                        if (got.documents[k] != "doc " + got.ids[k])
                            fail("thread " + std::to_string(t) + ": wrong doc");
                    }
                    cw::query_options q;
                    q.query_embeddings = cw::embedding_view(flat.data(), 1, 2);
                    q.n_results = 1;
                    const cw::query_result hit = shared.query(q);
                    if (hit.size() != 1 || hit[0].ids != std::vector<std::string>{ids[0]}) {
                        fail("thread " + std::to_string(t) + ": query did not find its own record");
                    }
                }
                if (own.count() != static_cast<std::size_t>(batches * per_batch)) {
                    fail("thread " + std::to_string(t) + ": wrong count");
                }
            } catch (const std::exception& e) {
                fail("thread " + std::to_string(t) + ": " + e.what());
            }
        });
    }
    for (auto& w : workers) w.join();

    for (const auto& f : failures) FAIL_CHECK(f);
    CHECK(failures.empty());
    CHECK(shared.count() == static_cast<std::size_t>(threads * batches * per_batch));
    const cw::get_result all = shared.get();
    std::set<std::string> ids(all.ids.begin(), all.ids.end());
    CHECK(ids.size() == static_cast<std::size_t>(threads * batches * per_batch));
    for (int t = 0; t < threads; ++t) {
        CAPTURE(t);
        CHECK(ids.count("t" + std::to_string(t) + "-0") == 1);
        CHECK(ids.count("t" + std::to_string(t) + "-" + std::to_string(batches * per_batch - 1)) == 1);
        CHECK(client.get_collection(own_names[t]).count() == static_cast<std::size_t>(batches * per_batch));
    }
}
