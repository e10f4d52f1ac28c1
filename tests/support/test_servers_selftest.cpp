// Self-test of the server fixtures (tests/support/servers.hpp) against real
// Chroma and PostgreSQL servers. Catch2 v2; main is provided elsewhere.
#include <curl/curl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <catch2/catch.hpp>

#include <cctype>
#include <string>

#include "servers.hpp"

namespace {

size_t collect(char* data, size_t size, size_t n, void* user) {
    static_cast<std::string*>(user)->append(data, size * n);
    return size * n;
}

// Minimal HTTP call; returns the status code (0 on transport error).
long http(const std::string& method, const std::string& url, const std::string& body, std::string* out) {
    CURL* c = curl_easy_init();
    REQUIRE(c != nullptr);
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (!body.empty()) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return code;
}

const char* kCollections = "/api/v2/tenants/default_tenant/databases/default_database/collections";

bool pg_select_1(const std::string& uri) {
    PGconn* conn = PQconnectdb((uri + "?connect_timeout=5").c_str());
    bool ok = false;
    if (PQstatus(conn) == CONNECTION_OK) {
        PGresult* r = PQexec(conn, "select 1");
        ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && std::string(PQgetvalue(r, 0, 0)) == "1";
        PQclear(r);
    }
    PQfinish(conn);
    return ok;
}

}  // namespace

TEST_CASE("chroma_server: start, kill -9, restart keeps data", "[servers][chroma]") {
    chromawal_test::chroma_server s("selftest");
    s.start();
    REQUIRE(s.running());
    REQUIRE(s.port() > 0);
    REQUIRE(s.pid() > 0);
    CHECK(s.url() == "http://127.0.0.1:" + std::to_string(s.port()));
    CHECK(chromawal_test::chroma_heartbeat(s.port()));

    std::string body;
    REQUIRE(http("GET", s.url() + "/api/v2/heartbeat", "", &body) == 200);
    CHECK(body.find("heartbeat") != std::string::npos);

    const std::string name = chromawal_test::unique_name("x-selftest");
    body.clear();
    REQUIRE(http("POST", s.url() + kCollections, "{\"name\":\"" + name + "\"}", &body) == 200);
    CHECK(body.find(name) != std::string::npos);

    const int port = s.port();
    const pid_t pid = s.pid();
    s.kill9();
    CHECK_FALSE(s.running());
    CHECK(s.pid() == -1);
    CHECK(::kill(pid, 0) != 0);  // the real server is gone, not just a wrapper
    CHECK_FALSE(chromawal_test::chroma_heartbeat(port, 500));

    s.restart();
    CHECK(s.port() == port);
    CHECK(s.pid() != pid);
    CHECK(chromawal_test::chroma_heartbeat(s.port()));
    body.clear();
    CHECK(http("GET", s.url() + kCollections + "/" + name, "", &body) == 200);
    CHECK(body.find(name) != std::string::npos);
}

TEST_CASE("chroma_server: pause is a real hang, resume recovers", "[servers][chroma]") {
    auto& s = chromawal_test::shared_chroma();
    REQUIRE(s.running());
    REQUIRE(chromawal_test::chroma_heartbeat(s.port()));
    s.pause();
    CHECK(s.running());
    CHECK_FALSE(chromawal_test::chroma_heartbeat(s.port(), 500));
    s.resume();
    CHECK(chromawal_test::chroma_heartbeat(s.port(), 5000));
    CHECK(&chromawal_test::shared_chroma() == &s);
}

TEST_CASE("unique_name: valid Chroma collection names", "[servers]") {
    const std::string prefixes[] = {
        "", "a", "..weird prefix/with*chars..", std::string(100, 'x'), "ok.name_with-dash", "-x."};
    for (const std::string& prefix : prefixes) {
        const std::string n = chromawal_test::unique_name(prefix);
        CHECK(n.size() >= 3);
        CHECK(n.size() <= 63);
        CHECK(n.find("..") == std::string::npos);
        CHECK(n.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
              std::string::npos);
        CHECK(std::isalnum(static_cast<unsigned char>(n.front())));
        CHECK(std::isalnum(static_cast<unsigned char>(n.back())));
    }
    CHECK(chromawal_test::unique_name("p") != chromawal_test::unique_name("p"));
}

TEST_CASE("postgres_server: start, stop immediate, restart", "[servers][postgres]") {
    chromawal_test::postgres_server pg;
    pg.start();
    REQUIRE(pg.port() > 0);
    CHECK(pg.uri() == "postgresql://postgres@127.0.0.1:" + std::to_string(pg.port()) + "/chromawal");
    CHECK(pg_select_1(pg.uri()));

    const int port = pg.port();
    pg.stop_immediate();
    CHECK_FALSE(pg_select_1(pg.uri()));

    pg.start();
    CHECK(pg.port() == port);
    CHECK(pg_select_1(pg.uri()));

    pg.restart();
    CHECK(pg.port() == port);
    CHECK(pg_select_1(pg.uri()));
}
