// Integration tests of failures against real Chroma servers: what the server rejects, what
// the library rejects before sending anything, and transport failures (refused connections,
// a hung server, a crash and restart).
#include <catch2/catch.hpp>
#include <chromawal/chromawal.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "servers.hpp"

namespace cw = chromawal;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

cw::chroma_client make_client(const std::string& url, std::chrono::milliseconds request_timeout = 30000ms,
                              std::chrono::milliseconds connect_timeout = 5000ms) {
    cw::connection_options o;
    o.base_url = url;
    o.request_timeout = request_timeout;
    o.connect_timeout = connect_timeout;
    return cw::chroma_client(o);
}

cw::chroma_client shared_client() { return make_client(chromawal_test::shared_chroma().url()); }

// Deletes the named collection when the test ends, pass or fail.
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

// Runs `f` and returns the exception of exactly the dynamic type family E it threw (nullopt
// when it did not throw). Any other exception propagates and fails the test.
template <typename E, typename F>
std::optional<E> thrown(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e;
    }
    return std::nullopt;
}

// The most derived chromawal exception class name of what `f` throws ("" if nothing).
template <typename F>
std::string error_kind(F&& f) {
    try {
        f();
    } catch (const cw::not_found&) {
        return "not_found";
    } catch (const cw::already_exists&) {
        return "already_exists";
    } catch (const cw::server_rejected&) {
        return "server_rejected";
    } catch (const cw::server_error&) {
        return "server_error";
    } catch (const cw::timeout_error&) {
        return "timeout_error";
    } catch (const cw::connection_error&) {
        return "connection_error";
    } catch (const cw::invalid_argument&) {
        return "invalid_argument";
    } catch (const cw::error& e) {
        return std::string("error: ") + e.what();
    }
    return "";
}

double seconds_since(steady::time_point t0) { return std::chrono::duration<double>(steady::now() - t0).count(); }

// A loopback port that refuses connections: bound, so that nobody else takes it, but not
// listening, so the kernel answers every connection attempt with a reset.
class refusing_port {
public:
    refusing_port() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        socklen_t len = sizeof a;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
        port_ = ntohs(a.sin_port);
    }
    ~refusing_port() { ::close(fd_); }
    refusing_port(const refusing_port&) = delete;
    refusing_port& operator=(const refusing_port&) = delete;
    int port() const { return port_; }

private:
    int fd_ = -1;
    int port_ = 0;
};

// SIGSTOP takes effect asynchronously: chroma_server::pause() can return while some of the
// server's threads still run (and answer one more request). True once every thread of `pid`
// is stopped, read from /proc.
bool all_threads_stopped(pid_t pid) {
    std::error_code ec;
    bool any = false;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
        std::ifstream in(task.path() / "stat");
        std::string stat;
        std::getline(in, stat);
        const std::size_t paren = stat.rfind(')');  // "tid (comm) S ...": the state follows the name
        if (paren == std::string::npos || paren + 2 >= stat.size()) return false;
        const char state = stat[paren + 2];
        if (state != 'T' && state != 't') return false;
        any = true;
    }
    return any && !ec;
}

cw::record_set points(const std::vector<std::string>& ids, const std::vector<float>& flat, std::size_t dim) {
    cw::record_set r;
    r.ids = ids;
    r.embeddings = cw::embedding_view(flat, dim);
    return r;
}

}  // namespace

TEST_CASE("duplicate names -> already_exists (collections, databases, tenants)", "[integration][errors]") {
    const cw::chroma_client client = shared_client();
    const std::string name = chromawal_test::unique_name("it-dup");
    collection_cleanup cleanup{client, name};
    const cw::chroma_collection first = client.create_collection(name);

    const auto e = thrown<cw::already_exists>([&] { (void)client.create_collection(name); });
    REQUIRE(e);
    CHECK(e->status() == 409);
    CHECK(std::string(e->what()).find(name) != std::string::npos);
    CHECK_FALSE(e->retryable());
    // get_or_create of the same name is not an error, and nothing was replaced.
    CHECK(client.get_or_create_collection(name).id() == first.id());
    CHECK(client.get_collection(name).id() == first.id());

    const std::string db = chromawal_test::unique_name("it-dup-db");
    client.create_database(db);
    CHECK(error_kind([&] { client.create_database(db); }) == "already_exists");
    client.delete_database(db);

    const std::string tenant = chromawal_test::unique_name("it-dup-tenant");
    client.create_tenant(tenant);
    CHECK(error_kind([&] { client.create_tenant(tenant); }) == "already_exists");
}

TEST_CASE("missing collections, databases and tenants -> not_found", "[integration][errors]") {
    const cw::chroma_client client = shared_client();
    const std::string missing = chromawal_test::unique_name("it-missing");

    const auto e = thrown<cw::not_found>([&] { (void)client.get_collection(missing); });
    REQUIRE(e);
    CHECK(e->status() == 404);
    CHECK(e->error_name() == "NotFoundError");
    CHECK(e->server_message().find(missing) != std::string::npos);
    CHECK(std::string(e->what()).find(missing) != std::string::npos);
    // The answer's chroma-trace-id header (32 hex digits; zeros when the server traces nothing).
    CHECK(e->trace_id().size() == 32);
    CHECK(e->trace_id().find_first_not_of("0123456789abcdef") == std::string::npos);

    CHECK(error_kind([&] { (void)client.get_collection_by_id("3f2a9c1e-8b7d-4e6f-a5c4-1d2e3f4a5b6c"); }) ==
          "not_found");
    CHECK(error_kind([&] { client.delete_collection(missing); }) == "not_found");
    CHECK(error_kind([&] { (void)client.get_database(missing); }) == "not_found");
    CHECK(error_kind([&] { (void)client.get_tenant(missing); }) == "not_found");
    CHECK(error_kind([&] { client.delete_database(missing); }) == "not_found");

    // A malformed id is a bad request, not a missing collection.
    const auto bad = thrown<cw::server_rejected>([&] { (void)client.get_collection_by_id("not-a-uuid"); });
    REQUIRE(bad);
    CHECK(bad->status() == 400);
    CHECK(error_kind([&] { (void)client.get_collection_by_id("not-a-uuid"); }) == "server_rejected");
}

TEST_CASE("every operation on a deleted collection -> not_found", "[integration][errors]") {
    const cw::chroma_client client = shared_client();
    const std::string name = chromawal_test::unique_name("it-gone");
    cw::chroma_collection c = client.create_collection(name);
    const std::vector<float> flat{1.0f, 2.0f};
    c.add(points({"a"}, flat, 2));
    client.delete_collection(name);

    cw::record_set docs_only;
    docs_only.ids = {"a"};
    docs_only.documents = {std::string("x")};
    cw::query_options q;
    q.query_embeddings = cw::embedding_view(flat, 2);
    cw::delete_options d;
    d.ids = {"a"};
    cw::modify_options m;
    m.metadata = cw::metadata_map{{"k", 1}};

    CHECK(error_kind([&] { c.add(points({"b"}, flat, 2)); }) == "not_found");
    CHECK(error_kind([&] { c.upsert(points({"a"}, flat, 2)); }) == "not_found");
    CHECK(error_kind([&] { c.update(docs_only); }) == "not_found");
    CHECK(error_kind([&] { (void)c.delete_records(d); }) == "not_found");
    CHECK(error_kind([&] { (void)c.get(); }) == "not_found");
    CHECK(error_kind([&] { (void)c.query(q); }) == "not_found");
    CHECK(error_kind([&] { (void)c.count(); }) == "not_found");
    CHECK(error_kind([&] { (void)c.peek(); }) == "not_found");
    CHECK(error_kind([&] { c.modify(m); }) == "not_found");
    CHECK(c.name() == name);  // a failed modify leaves the handle as it was

    // A new collection with the same name is a different collection: the old handle stays dead.
    collection_cleanup cleanup{client, name};
    const cw::chroma_collection again = client.create_collection(name);
    CHECK(again.id() != c.id());
    CHECK(error_kind([&] { (void)c.count(); }) == "not_found");
    CHECK(again.count() == 0);
}

TEST_CASE("dimension mismatch -> server_rejected 400 InvalidArgumentError", "[integration][errors]") {
    const cw::chroma_client client = shared_client();
    const std::string name = chromawal_test::unique_name("it-dim");
    collection_cleanup cleanup{client, name};
    const cw::chroma_collection c = client.create_collection(name);
    const std::vector<float> three{1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
    c.add(points({"a", "b"}, three, 3));

    const std::vector<float> two{1.0f, 2.0f};
    const auto e = thrown<cw::server_rejected>([&] { c.add(points({"c"}, two, 2)); });
    REQUIRE(e);
    CHECK(e->status() == 400);
    CHECK(e->error_name() == "InvalidArgumentError");
    CHECK(e->server_message().find("dimension") != std::string::npos);
    CHECK(std::string(e->what()).find(name) != std::string::npos);
    CHECK_FALSE(e->retryable());
    CHECK(error_kind([&] { c.add(points({"c"}, two, 2)); }) == "server_rejected");  // not a subclass

    CHECK(error_kind([&] { c.upsert(points({"a"}, two, 2)); }) == "server_rejected");
    CHECK(error_kind([&] { c.update(points({"a"}, two, 2)); }) == "server_rejected");
    cw::query_options q;
    q.query_embeddings = cw::embedding_view(two, 2);
    const auto qe = thrown<cw::server_rejected>([&] { (void)c.query(q); });
    REQUIRE(qe);
    CHECK(qe->status() == 400);
    CHECK(qe->error_name() == "InvalidArgumentError");

    CHECK(c.count() == 2);
    cw::get_options g;
    g.include = cw::include_fields::embeddings;
    g.ids = {"a"};
    CHECK(c.get(g).embeddings.row_vector(0) == std::vector<float>{1.0f, 2.0f, 3.0f});
}

TEST_CASE("filters the server rejects -> server_rejected, and nothing is deleted", "[integration][errors]") {
    const cw::chroma_client client = shared_client();
    const std::string name = chromawal_test::unique_name("it-badfilter");
    collection_cleanup cleanup{client, name};
    const cw::chroma_collection c = client.create_collection(name);
    const std::vector<float> flat{1.0f, 0.0f, 2.0f, 0.0f};
    cw::record_set r = points({"a", "b"}, flat, 2);
    r.documents = {std::string("alpha"), std::string("beta")};
    r.metadatas = {cw::metadata_map{{"i", 1}}, cw::metadata_map{{"i", 2}}};
    c.add(r);

    const std::vector<cw::where_filter> bad_where{cw::where_filter::raw(R"({"i": {"$bogus": 1}})"),
                                                  cw::where_filter::raw(R"({"i": {"$gt": "text"}})"),
                                                  cw::where_filter::raw(R"({"$nand": [{"i": 1}, {"i": 2}]})")};
    for (const cw::where_filter& w : bad_where) {
        CAPTURE(w.json());
        cw::get_options g;
        g.where = w;
        const auto e = thrown<cw::server_rejected>([&] { (void)c.get(g); });
        REQUIRE(e);
        CHECK(e->status() == 400);
        CHECK(error_kind([&] { (void)c.get(g); }) == "server_rejected");

        cw::query_options q;
        q.query_embeddings = cw::embedding_view(flat.data(), 1, 2);
        q.where = w;
        CHECK(error_kind([&] { (void)c.query(q); }) == "server_rejected");

        cw::delete_options d;
        d.where = w;
        CHECK(error_kind([&] { (void)c.delete_records(d); }) == "server_rejected");
    }

    const std::vector<cw::document_filter> bad_doc{cw::document_filter::raw(R"({"$bogus": "x"})"),
                                                   cw::document_filter::regex("(unclosed")};
    for (const cw::document_filter& wd : bad_doc) {
        CAPTURE(wd.json());
        cw::get_options g;
        g.where_document = wd;
        const auto e = thrown<cw::server_rejected>([&] { (void)c.get(g); });
        REQUIRE(e);
        CHECK(e->status() == 400);
        cw::delete_options d;
        d.where_document = wd;
        CHECK(error_kind([&] { (void)c.delete_records(d); }) == "server_rejected");
    }
    CHECK(c.count() == 2);
}

TEST_CASE("configuration the server rejects -> server_rejected", "[integration][errors]") {
    const cw::chroma_client client = shared_client();
    const std::string name = chromawal_test::unique_name("it-badcfg");
    collection_cleanup cleanup{client, name};

    cw::collection_options bad_space;
    bad_space.configuration_json = R"({"hnsw": {"space": "euclid"}})";
    const auto e = thrown<cw::server_rejected>([&] { (void)client.create_collection(name, bad_space); });
    REQUIRE(e);
    CHECK(e->status() >= 400);
    CHECK(e->status() < 500);
    CHECK(error_kind([&] { (void)client.create_collection(name, bad_space); }) == "server_rejected");
    CHECK(error_kind([&] { (void)client.get_collection(name); }) == "not_found");

    cw::collection_options ok;
    ok.space = "cosine";
    cw::chroma_collection c = client.create_collection(name, ok);
    cw::modify_options change_space;  // the distance function cannot change after creation
    change_space.configuration_json = R"({"hnsw": {"space": "l2"}})";
    CHECK(error_kind([&] { c.modify(change_space); }) == "server_rejected");
    CHECK(client.get_collection(name).info().configuration_json.find("\"space\":\"cosine\"") != std::string::npos);
}

TEST_CASE("invalid input -> invalid_argument before any request is sent", "[integration][errors]") {
    const cw::chroma_client client = shared_client();
    const std::string name = chromawal_test::unique_name("it-invalid");
    collection_cleanup cleanup{client, name};
    const cw::chroma_collection live = client.create_collection(name);
    const std::vector<float> two_rows{1.0f, 2.0f, 3.0f, 4.0f};
    live.add(points({"x", "y"}, two_rows, 2));

    // A handle whose collection is gone: any request would answer not_found, so getting
    // invalid_argument from it proves that nothing was sent.
    const std::string ghost_name = chromawal_test::unique_name("it-ghost");
    const cw::chroma_collection ghost = client.create_collection(ghost_name);
    client.delete_collection(ghost_name);

    const float nan = std::numeric_limits<float>::quiet_NaN();
    const std::vector<float> with_nan{1.0f, nan};
    const std::vector<float> three_values{1.0f, 2.0f, 3.0f};
    const std::vector<float> one_row{1.0f, 2.0f};

    using op = std::function<void(const cw::chroma_collection&)>;
    const std::vector<std::pair<std::string, op>> cases{
        {"add with duplicate ids",
         [&](const auto& c) {
             c.add(points({"d", "d"}, two_rows, 2));
         }},
        {"upsert with duplicate ids",
         [&](const auto& c) {
             c.upsert(points({"x", "x"}, two_rows, 2));
         }},
        {"add with no ids", [&](const auto& c) { c.add(points({}, two_rows, 2)); }},
        {"add with an empty id",
         [&](const auto& c) {
             c.add(points({"ok", ""}, two_rows, 2));
         }},
        {"add without embeddings",
         [&](const auto& c) {
             cw::record_set r;
             r.ids = {"n"};
             r.documents = {std::string("doc")};
             c.add(r);
         }},
        {"add with fewer embeddings than ids",
         [&](const auto& c) {
             c.add(points({"p", "q"}, one_row, 2));
         }},
        {"add with values not a multiple of dim", [&](const auto& c) { c.add(points({"p"}, three_values, 2)); }},
        {"add with NaN", [&](const auto& c) { c.add(points({"p"}, with_nan, 2)); }},
        {"add with fewer documents than ids",
         [&](const auto& c) {
             cw::record_set r = points({"p", "q"}, two_rows, 2);
             r.documents = {std::string("one")};
             c.add(r);
         }},
        {"add with empty metadata",
         [&](const auto& c) {
             cw::record_set r = points({"p"}, one_row, 2);
             r.metadatas = {cw::metadata_map{}};
             c.add(r);
         }},
        {"add with a null metadata value",
         [&](const auto& c) {
             cw::record_set r = points({"p"}, one_row, 2);
             r.metadatas = {cw::metadata_map{{"k", nullptr}}};
             c.add(r);
         }},
        {"add with a '$' metadata key",
         [&](const auto& c) {
             cw::record_set r = points({"p"}, one_row, 2);
             r.metadatas = {cw::metadata_map{{"$k", 1}}};
             c.add(r);
         }},
        {"add with invalid UTF-8 in a document",
         [&](const auto& c) {
             cw::record_set r = points({"p"}, one_row, 2);
             r.documents = {std::string("bad \xff byte")};
             c.add(r);
         }},
        {"update with nothing to change",
         [&](const auto& c) {
             cw::record_set r;
             r.ids = {"x"};
             c.update(r);
         }},
        {"get with include distances",
         [&](const auto& c) {
             cw::get_options g;
             g.include = cw::include_fields::distances;
             (void)c.get(g);
         }},
        {"query with n_results 0",
         [&](const auto& c) {
             cw::query_options q;
             q.query_embeddings = cw::embedding_view(one_row, 2);
             q.n_results = 0;
             (void)c.query(q);
         }},
        {"query without embeddings", [&](const auto& c) { (void)c.query(cw::query_options{}); }},
        {"query with NaN",
         [&](const auto& c) {
             cw::query_options q;
             q.query_embeddings = cw::embedding_view(with_nan, 2);
             (void)c.query(q);
         }},
        {"delete with no selector", [&](const auto& c) { (void)c.delete_records(cw::delete_options{}); }},
        {"delete with a limit but only ids",
         [&](const auto& c) {
             cw::delete_options d;
             d.ids = {"x"};
             d.limit = 1;
             (void)c.delete_records(d);
         }},
    };
    for (const auto& [what, f] : cases) {
        CAPTURE(what);
        CHECK(error_kind([&] { f(live); }) == "invalid_argument");
        CHECK(error_kind([&] { f(ghost); }) == "invalid_argument");
    }
    CHECK(live.count() == 2);
    cw::get_options g;
    g.ids = {"x", "y"};
    g.include = cw::include_fields::embeddings;
    CHECK(live.get(g).embeddings.values() == two_rows);

    // Client-level checks: bad names and options, before any request.
    const std::string fresh = chromawal_test::unique_name("it-invalid-opts");
    cw::collection_options empty_meta;
    empty_meta.metadata = cw::metadata_map{};
    cw::collection_options array_meta;  // the server would panic on this (see the notes)
    array_meta.metadata = cw::metadata_map{{"tags", cw::metadata_value::array_string{"a"}}};
    cw::collection_options bad_space;
    bad_space.space = "euclid";
    cw::collection_options both;
    both.space = "l2";
    both.configuration_json = R"({"hnsw": {"space": "l2"}})";
    cw::collection_options not_json;
    not_json.configuration_json = "{hnsw";
    for (const auto* o : {&empty_meta, &array_meta, &bad_space, &both, &not_json}) {
        CHECK(error_kind([&] { (void)client.create_collection(fresh, *o); }) == "invalid_argument");
        CHECK(error_kind([&] { (void)client.get_or_create_collection(fresh, *o); }) == "invalid_argument");
    }
    for (const std::string& bad_name :
         std::vector<std::string>{"ab", "-leading-dash", "trailing.", "has space", std::string(513, 'a')}) {
        CAPTURE(bad_name);
        CHECK(error_kind([&] { (void)client.create_collection(bad_name); }) == "invalid_argument");
    }
    CHECK(error_kind([&] { (void)client.get_collection(fresh); }) == "not_found");  // nothing was created

    cw::chroma_collection live_copy = live;
    cw::modify_options rename;
    rename.name = "x";
    CHECK(error_kind([&] { live_copy.modify(rename); }) == "invalid_argument");
    cw::modify_options empty;
    empty.metadata = cw::metadata_map{};
    CHECK(error_kind([&] { live_copy.modify(empty); }) == "invalid_argument");
    CHECK(live_copy.name() == name);

    // Malformed connection options fail at construction.
    cw::connection_options o;
    for (const std::string url : {"localhost:8000", "ftp://127.0.0.1:8000", "http://", "http://host with space"}) {
        CAPTURE(url);
        o.base_url = url;
        CHECK(error_kind([&] { cw::chroma_client c(o); }) == "invalid_argument");
    }
    o.base_url = chromawal_test::shared_chroma().url();
    o.tenant = "";
    CHECK(error_kind([&] { cw::chroma_client c(o); }) == "invalid_argument");
    o.tenant = "default_tenant";
    o.database = "";
    CHECK(error_kind([&] { cw::chroma_client c(o); }) == "invalid_argument");
}

TEST_CASE("renaming onto an existing name fails and leaves both collections", "[integration][errors]") {
    const cw::chroma_client client = shared_client();
    const std::string a = chromawal_test::unique_name("it-ren-a");
    const std::string b = chromawal_test::unique_name("it-ren-b");
    collection_cleanup ca{client, a};
    collection_cleanup cb{client, b};
    cw::chroma_collection first = client.create_collection(a);
    const cw::chroma_collection second = client.create_collection(b);
    cw::modify_options m;
    m.name = b;
    // Chroma answers 500 InternalError (a UNIQUE constraint), which the library reports as such.
    const auto e = thrown<cw::server_error>([&] { first.modify(m); });
    REQUIRE(e);
    CHECK(e->status() == 500);
    CHECK(e->retryable());
    CHECK(e->trace_id().size() == 32);  // a 5xx keeps the header too
    CHECK(first.name() == a);
    CHECK(client.get_collection(a).id() == first.id());
    CHECK(client.get_collection(b).id() == second.id());
}

TEST_CASE("connection refused -> connection_error, quickly", "[integration][errors][transport]") {
    const refusing_port port;
    const cw::chroma_client client = make_client("http://127.0.0.1:" + std::to_string(port.port()));

    const auto t0 = steady::now();
    const auto e = thrown<cw::connection_error>([&] { (void)client.heartbeat(); });
    const double elapsed = seconds_since(t0);
    REQUIRE(e);
    CHECK(e->retryable());
    CHECK_FALSE(e->request_sent());  // refused: certainly never reached a server
    CHECK(std::string(e->what()).find(std::to_string(port.port())) != std::string::npos);
    CHECK(elapsed < 2.0);
    CHECK(error_kind([&] { (void)client.heartbeat(); }) == "connection_error");  // not a timeout
    CHECK(error_kind([&] { (void)client.version(); }) == "connection_error");
    CHECK(error_kind([&] { (void)client.preflight(); }) == "connection_error");
    CHECK(error_kind([&] { (void)client.create_collection("it-refused"); }) == "connection_error");
    CHECK(error_kind([&] { (void)client.list_collections(); }) == "connection_error");
    CHECK(seconds_since(t0) < 5.0);
}

TEST_CASE("a hung server -> timeout_error within about the request timeout; after resume it works again",
          "[integration][errors][transport][dedicated]") {
    chromawal_test::chroma_server server("it-hung");
    server.start();
    const auto request_timeout = 1000ms;
    const cw::chroma_client client = make_client(server.url(), request_timeout, 1000ms);
    const std::string name = chromawal_test::unique_name("it-hung");
    const cw::chroma_collection c = client.create_collection(name);
    const std::vector<float> flat{1.0f, 2.0f};
    c.add(points({"a"}, flat, 2));
    REQUIRE(client.heartbeat() > 0);

    server.pause();
    struct resume_on_exit {
        chromawal_test::chroma_server& s;
        ~resume_on_exit() { s.resume(); }
    } resume_guard{server};
    const auto stop_deadline = steady::now() + 5s;
    while (!all_threads_stopped(server.pid()) && steady::now() < stop_deadline) std::this_thread::yield();
    REQUIRE(all_threads_stopped(server.pid()));

    auto expect_timeout = [&](const char* what, const std::function<void()>& f) {
        CAPTURE(what);
        const auto t0 = steady::now();
        const auto e = thrown<cw::timeout_error>(f);
        const double elapsed = seconds_since(t0);
        CAPTURE(elapsed);
        REQUIRE(e);
        CHECK(e->retryable());
        CHECK(e->request_sent());  // sent, no answer: a write may have been applied
        CHECK(elapsed >= 0.9);
        CHECK(elapsed < 5.0);
    };
    // On a kept-alive connection, on a new connection (the kernel still accepts it), and a write.
    expect_timeout("heartbeat", [&] { (void)client.heartbeat(); });
    const cw::chroma_client fresh = make_client(server.url(), request_timeout, 1000ms);
    expect_timeout("get_collection on a new client", [&] { (void)fresh.get_collection(name); });
    expect_timeout("add", [&] { c.add(points({"b"}, flat, 2)); });

    server.resume();
    // The server works through the requests that queued up while it was stopped; poll until
    // it answers within the timeout again.
    const auto deadline = steady::now() + 20s;
    bool answered = false;
    while (!answered && steady::now() < deadline) {
        try {
            answered = client.heartbeat() > 0;
        } catch (const cw::timeout_error&) {
        }
    }
    REQUIRE(answered);
    CHECK(client.get_collection(name).id() == c.id());
    CHECK(fresh.get_collection(name).id() == c.id());
    const std::vector<float> more{5.0f, 6.0f};
    c.add(points({"c"}, more, 2));
    cw::get_options g;
    g.ids = {"a", "c"};
    CHECK(c.get(g).size() == 2);  // "b" may or may not have been applied: the outcome is unknown
}

TEST_CASE("kill -9 and restart: data survives and the same client reconnects",
          "[integration][errors][transport][dedicated]") {
    chromawal_test::chroma_server server("it-restart");
    server.start();
    const cw::chroma_client client = make_client(server.url(), 10000ms, 2000ms);
    const std::string name = chromawal_test::unique_name("it-restart");
    const cw::chroma_collection c = client.create_collection(name);

    // A dedicated server: array metadata is safe here (upstream #7594 needs a deleted collection).
    std::vector<float> flat;
    cw::record_set r;
    for (int i = 0; i < 20; ++i) {
        r.ids.push_back("k" + std::to_string(i));
        flat.push_back(static_cast<float>(i) + 0.1f);
        flat.push_back(-static_cast<float>(i) / 3.0f);
        r.documents.emplace_back("document ✓ " + std::to_string(i));
        r.metadatas.emplace_back(cw::metadata_map{{"i", i}, {"tags", cw::metadata_value::array_string{"t", "ü"}}});
    }
    r.embeddings = cw::embedding_view(flat, 2);
    c.add(r);
    REQUIRE(c.count() == 20);
    cw::get_options all;
    all.include = cw::include_fields::documents | cw::include_fields::metadatas | cw::include_fields::embeddings;
    const cw::get_result before = c.get(all);
    REQUIRE(before.size() == 20);

    auto check_data = [&] {
        const cw::get_result after = c.get(all);
        REQUIRE(after.size() == before.size());
        CHECK(after.ids == before.ids);
        CHECK(after.documents == before.documents);
        CHECK(after.metadatas == before.metadatas);
        CHECK(after.embeddings.values() == before.embeddings.values());
        cw::query_options q;
        q.query_embeddings = cw::embedding_view(flat.data() + 2 * 7, 1, 2);
        q.n_results = 2;
        CHECK(c.query(q)[0].ids.at(0) == "k7");
    };

    SECTION("restart while the client is idle: the next call reconnects transparently") {
        const int port = server.port();
        server.kill9();
        server.restart();
        REQUIRE(server.port() == port);
        CHECK(client.heartbeat() > 0);  // the pooled connection died with the server; no error surfaces
        CHECK(client.get_collection(name).id() == c.id());
        CHECK(c.count() == 20);
        check_data();
    }

    SECTION("a server killed while a request waits for its answer: connection_error, not a timeout") {
        server.pause();
        std::atomic<bool> started{false};
        std::string kind;
        double elapsed = 0;
        std::thread caller([&] {
            const auto t0 = steady::now();
            started = true;
            kind = error_kind([&] { (void)c.count(); });
            elapsed = seconds_since(t0);
        });
        while (!started) std::this_thread::yield();
        server.kill9();  // whether the request was sent already or not, it cannot be answered
        caller.join();
        CHECK(kind == "connection_error");
        CHECK(elapsed < 5.0);  // well before the 10 s request timeout

        server.restart();
        CHECK(c.count() == 20);
        check_data();
    }

    SECTION("calls while down fail fast with connection_error; after restart they succeed") {
        server.kill9();
        const auto t0 = steady::now();
        CHECK(error_kind([&] { (void)client.heartbeat(); }) == "connection_error");
        const std::vector<float> one{9.0f, 9.0f};
        CHECK(error_kind([&] { c.add(points({"while-down"}, one, 2)); }) == "connection_error");
        CHECK(error_kind([&] { (void)c.count(); }) == "connection_error");
        CHECK(seconds_since(t0) < 5.0);

        server.restart();
        CHECK(client.heartbeat() > 0);
        CHECK(c.count() == 20);
        check_data();
        c.add(points({"after"}, one, 2));
        CHECK(c.count() == 21);
        cw::get_options g;
        g.where = cw::where_filter::contains("tags", "ü");
        g.include = cw::include_fields::none;
        CHECK(c.get(g).size() == 20);
    }
}
