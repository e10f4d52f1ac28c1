// Secrets (auth headers, the log's password, credentials in a base URL) never reach the log's
// tables, the status output, exception messages, events or anything the process prints; and
// TLS: a front with a self-signed certificate (nginx from Debian, started by the test) is
// refused by default and accepted with its certificate as the CA file.
#include <catch2/catch.hpp>
#include <chromawal/chromawal.hpp>

#include "cluster.hpp"
#include "poll.hpp"
#include "pq_session.hpp"
#include "servers.hpp"
#include "tls_front.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace cw = chromawal;
using namespace std::chrono_literals;

namespace {

using chromawal_test::eventually;

const std::string token = "tok-SECRET-7f3a";         // Authorization: Bearer ...
const std::string chroma_token = "xct-SECRET-42d0";  // X-Chroma-Token: ...
const std::string password = "pw-SECRET-91c2";       // in the log's connection string
const std::string url_password = "url-SECRET-55e1";  // user:password@ in a base URL

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string hex(const std::string& s) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

// Which secrets occur in `text` (as text, or hex-encoded as in a bytea column's text form).
std::vector<std::string> secrets_in(const std::string& text) {
    std::vector<std::string> found;
    for (const auto* s : {&token, &chroma_token, &password, &url_password}) {
        if (text.find(*s) != std::string::npos || lower(text).find(hex(*s)) != std::string::npos) found.push_back(*s);
    }
    return found;
}

// Everything written to file descriptor 2 (libcurl, libpq and the library itself would print
// there) while alive; restores it on destruction.
class stderr_capture {
public:
    stderr_capture() {
        std::fflush(stderr);
        char name[] = "/tmp/chromawal-stderr-XXXXXX";
        fd_ = mkstemp(name);
        path_ = name;
        saved_ = dup(2);
        dup2(fd_, 2);
    }
    ~stderr_capture() { restore(); }
    std::string finish() {
        restore();
        std::ifstream in(path_, std::ios::binary);
        std::ostringstream ss;
        ss << in.rdbuf();
        std::remove(path_.c_str());
        return ss.str();
    }

private:
    void restore() {
        if (saved_ < 0) return;
        std::fflush(stderr);
        dup2(saved_, 2);
        close(saved_);
        close(fd_);
        saved_ = -1;
    }
    int fd_ = -1;
    int saved_ = -1;
    std::string path_;
};

// A one-request HTTP server on 127.0.0.1: records the request head, answers a heartbeat.
// Proves that the headers are really sent (so that "not found anywhere else" means something).
class header_catcher {
public:
    header_catcher() {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
        REQUIRE(listen(fd_, 4) == 0);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~header_catcher() {
        shutdown(fd_, SHUT_RDWR);
        if (thread_.joinable()) thread_.join();
        close(fd_);
    }
    int port() const { return port_; }
    std::string request() {
        if (thread_.joinable()) thread_.join();
        return request_;
    }

private:
    void serve() {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 10000) <= 0) return;
        const int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        char buf[4096];
        while (request_.find("\r\n\r\n") == std::string::npos) {
            const ssize_t n = recv(c, buf, sizeof buf, 0);
            if (n <= 0) break;
            request_.append(buf, static_cast<std::size_t>(n));
        }
        const std::string body = "{\"nanosecond heartbeat\":1}";
        const std::string resp =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            "Content-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body;
        (void)send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
        close(c);
    }
    int fd_ = -1;
    int port_ = 0;
    std::string request_;
    std::thread thread_;
};

// A loopback port nothing listens on (bound, then released).
int free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

std::unique_ptr<std::vector<float>> embeddings_for(int rows, int dim, float base) {
    auto e = std::make_unique<std::vector<float>>();
    for (int i = 0; i < rows * dim; ++i) e->push_back(base + static_cast<float>(i) / 8.0f);
    return e;
}

cw::record_set records(const std::string& prefix, int rows, int dim, const std::vector<float>& embeddings) {
    cw::record_set rs;
    for (int i = 0; i < rows; ++i) {
        rs.ids.push_back(prefix + "-" + std::to_string(i));
        rs.documents.emplace_back("document " + std::to_string(i));
        rs.metadatas.emplace_back(cw::metadata_map{{"i", i}});
    }
    rs.embeddings = cw::embedding_view(embeddings, static_cast<std::size_t>(dim));
    return rs;
}

std::string with_userinfo(const std::string& url) {
    // http://127.0.0.1:PORT -> http://cwuser:SECRET@127.0.0.1:PORT
    return "http://cwuser:" + url_password + "@" + url.substr(std::string("http://").size());
}

}  // namespace

TEST_CASE("the auth headers are sent to the server", "[secrets]") {
    header_catcher server;
    cw::connection_options o;
    o.base_url = "http://127.0.0.1:" + std::to_string(server.port());
    o.headers = {{"Authorization", "Bearer " + token}, {"X-Chroma-Token", chroma_token}};
    cw::chroma_client c(o);
    CHECK(c.heartbeat() == 1);
    const std::string head = server.request();
    CHECK(head.find("Authorization: Bearer " + token + "\r\n") != std::string::npos);
    CHECK(head.find("X-Chroma-Token: " + chroma_token + "\r\n") != std::string::npos);
}

TEST_CASE("secrets never reach the log, status, exception messages, events or stderr", "[secrets]") {
    chromawal_test::postgres_server pg;
    pg.start();
    chromawal_test::chroma_server a{"secret-a"};
    chromawal_test::chroma_server b{"secret-b"};
    a.start();
    b.start();
    const std::string log_url =
        "postgresql://postgres:" + password + "@127.0.0.1:" + std::to_string(pg.port()) + "/chromawal";
    const std::string schema = "secrets_" + std::to_string(::getpid());

    std::mutex events_mutex;
    std::vector<std::string> events;
    cw::client_config c;
    c.log_url = log_url;
    c.log_schema = schema;
    c.instances.resize(2);
    c.instances[0].name = "a";
    c.instances[0].role = cw::instance_role::primary;
    c.instances[0].connection.base_url = a.url();
    c.instances[1].name = "b";
    c.instances[1].connection.base_url = b.url();
    for (auto& i : c.instances) {
        i.connection.headers = {{"Authorization", "Bearer " + token}, {"X-Chroma-Token", chroma_token}};
        i.connection.request_timeout = 2s;
        i.connection.connect_timeout = 1s;
    }
    c.health_interval = 100ms;
    c.sync_interval = 100ms;
    c.on_event = [&](const cw::event& e) {
        std::lock_guard<std::mutex> lock(events_mutex);
        events.push_back(e.instance + ": " + e.message);
    };

    std::vector<std::string> messages;  // what() of every exception the library threw
    std::vector<std::string> outputs;   // status JSON and Prometheus text
    auto record_status = [&](cw::client& client) {
        const auto s = client.status();
        outputs.push_back(s.to_json());
        outputs.push_back(s.to_prometheus());
        return s;
    };
    auto expect_error = [&](const std::function<void()>& f) {
        try {
            f();
        } catch (const cw::error& e) {
            messages.emplace_back(e.what());
            return;
        }
        FAIL("expected a chromawal::error");
    };

    stderr_capture captured;
    {
        cw::client client(c);
        auto coll = client.create_collection("secrets");
        auto e4 = embeddings_for(5, 4, 0);
        CHECK(coll.add(records("ok", 5, 4, *e4)).applied.size() == 2);
        record_status(client);

        // Rejected by every instance (dimension 3 in a collection of dimension 4): the entry
        // keeps the server's error in the log.
        auto e3 = embeddings_for(2, 3, 1);
        expect_error([&] { coll.add(records("bad-dim", 2, 3, *e3)); });

        // An instance down: its errors go to status, events and the log's bookkeeping.
        a.kill9();
        auto e4b = embeddings_for(3, 4, 2);
        CHECK(coll.add(records("one-down", 3, 4, *e4b)).applied == std::vector<std::string>{"b"});
        REQUIRE(eventually([&] { return !client.status().instances[0].healthy; }, 10s));
        const auto one_down = record_status(client);
        CHECK_FALSE(one_down.instances[0].last_error.empty());

        // Both down: the write fails.
        b.kill9();
        REQUIRE(eventually([&] { return !client.status().instances[1].healthy; }, 10s));
        auto e4c = embeddings_for(2, 4, 3);
        expect_error([&] { coll.add(records("both-down", 2, 4, *e4c)); });
        expect_error([&] { (void)coll.count(); });
        record_status(client);

        // The log down: the write fails, status says so; a new client starts degraded, and its
        // status, events and errors hold no secret either.
        pg.stop_immediate();
        expect_error([&] { coll.add(records("log-down", 2, 4, *e4c)); });
        const auto log_down = record_status(client);
        CHECK_FALSE(log_down.log.reachable);
        CHECK_FALSE(log_down.log.error_message.empty());
        {
            cw::client another(c);
            CHECK_FALSE(record_status(another).log.reachable);
            expect_error([&] { another.collection_by_name("secrets").add(records("degraded", 2, 4, *e4c)); });
        }
        pg.start();

        // A connection string libpq refuses, password included.
        cw::client_config bad = c;
        bad.log_url = log_url + "?sslmode=bogus-mode";
        expect_error([&] { cw::client refused(bad); });

        // A single-server client against a dead server, with the same headers and URL.
        cw::connection_options direct = c.instances[0].connection;
        expect_error([&] { (void)cw::chroma_client(direct).heartbeat(); });
        expect_error([&] { (void)cw::chroma_client(direct).get_collection("secrets"); });

        a.restart();
        b.restart();
        REQUIRE(client.wait_until_synced(30s));
        const auto back = record_status(client);
        CHECK(back.log.rejected == 1);
        CHECK(back.log.abandoned == 1);
    }
    const std::string printed = captured.finish();

    // The log's tables, every column of every row, as another application would read them.
    chromawal_test::pq_session db(pg.uri());
    std::string dump;
    const auto tables = db.column("SELECT table_name FROM information_schema.tables WHERE table_schema = '" + schema +
                                  "' ORDER BY table_name");
    CHECK(tables.size() >= 4);  // lanes, entries, instance_positions, dead_letters (+ schema_version)
    for (const auto& t : tables) {
        for (const auto& row : db.column("SELECT t::text FROM \"" + schema + "\".\"" + t + "\" t")) dump += row + "\n";
    }
    // The entry the instances rejected keeps their error text: the dump is not empty of errors.
    CHECK(db.integer("SELECT count(*) FROM \"" + schema + "\".entries WHERE last_error <> ''") >= 1);
    // Sessions the library opened name themselves, without the connection string.
    for (const auto& row : db.column("SELECT coalesce(application_name, '') || ' ' || coalesce(query, '') FROM "
                                     "pg_stat_activity WHERE datname = 'chromawal'"))
        dump += row + "\n";

    std::string all_messages, all_events, all_outputs;
    for (const auto& m : messages) all_messages += m + "\n";
    {
        std::lock_guard<std::mutex> lock(events_mutex);
        for (const auto& e : events) all_events += e + "\n";
    }
    for (const auto& o : outputs) all_outputs += o + "\n";

    // Something was said in each place (so that the checks below can fail).
    CHECK(messages.size() >= 8);
    CHECK_FALSE(all_events.empty());
    CHECK(all_outputs.find("last_error") != std::string::npos);

    const struct {
        const char* where;
        const std::string& text;
    } sinks[] = {{"log tables", dump},
                 {"status JSON / Prometheus", all_outputs},
                 {"exception messages", all_messages},
                 {"events (on_event)", all_events},
                 {"stderr (the library has no log sink of its own)", printed}};
    for (const auto& sink : sinks) {
        INFO(sink.where << ":\n" << sink.text);
        CHECK(secrets_in(sink.text).empty());
    }
}

// The library already hides user:password@ in status().instances[].url; the same URL must not
// come back through error texts (transport errors name the URL they failed on).
TEST_CASE("credentials in a base URL never reach exception messages, status or events", "[secrets]") {
    chromawal_test::postgres_server pg;
    pg.start();
    chromawal_test::chroma_server b{"url-secret-b"};
    b.start();
    // Instance a is a URL with credentials where no server listens.
    const std::string a_url = with_userinfo("http://127.0.0.1:" + std::to_string(free_port()));

    std::mutex events_mutex;
    std::string events;
    cw::client_config c;
    c.log_url = pg.uri();
    c.log_schema = "url_secrets_" + std::to_string(::getpid());
    c.instances.resize(2);
    c.instances[0].name = "a";
    c.instances[0].role = cw::instance_role::primary;
    c.instances[0].connection.base_url = a_url;
    c.instances[1].name = "b";
    c.instances[1].connection.base_url = b.url();
    for (auto& i : c.instances) i.connection.connect_timeout = 1s;
    c.health_interval = 100ms;
    c.sync_interval = 100ms;
    c.on_event = [&](const cw::event& e) {
        std::lock_guard<std::mutex> lock(events_mutex);
        events += e.instance + ": " + e.message + "\n";
    };

    std::string messages, outputs;
    {
        cw::client client(c);
        auto coll = client.create_collection("url-secrets");
        auto e = embeddings_for(2, 4, 0);
        CHECK(coll.add(records("u", 2, 4, *e)).applied == std::vector<std::string>{"b"});
        REQUIRE(eventually([&] { return !client.status().instances[0].healthy; }, 10s));
        const auto s = client.status();
        CHECK(s.instances[0].url.find(url_password) == std::string::npos);  // already redacted
        CHECK_FALSE(s.instances[0].last_error.empty());
        outputs = s.to_json() + "\n" + s.to_prometheus();
    }
    cw::connection_options direct;
    direct.base_url = a_url;
    direct.connect_timeout = 1s;
    try {
        (void)cw::chroma_client(direct).heartbeat();
        FAIL("expected connection_error");
    } catch (const cw::connection_error& e) {
        messages += std::string(e.what()) + "\n";
    }
    {
        std::lock_guard<std::mutex> lock(events_mutex);
        CHECK_FALSE(events.empty());
        INFO("events:\n" << events);
        CHECK(events.find(url_password) == std::string::npos);
    }
    INFO("status:\n" << outputs);
    CHECK(outputs.find(url_password) == std::string::npos);
    INFO("exception messages:\n" << messages);
    CHECK(messages.find(url_password) == std::string::npos);
}

TEST_CASE("TLS: a self-signed front is refused by default and accepted with its certificate as CA file", "[tls]") {
    chromawal_test::chroma_server& backend = chromawal_test::shared_chroma();
    chromawal_test::tls_front front(backend.port());
    front.start();

    cw::connection_options o;
    o.base_url = front.url();
    o.connect_timeout = 2s;
    o.request_timeout = 10s;

    // Default: certificate checks on, the system's CAs: refused, and the message says why.
    {
        cw::chroma_client c(o);
        try {
            (void)c.heartbeat();
            FAIL("expected connection_error");
        } catch (const cw::connection_error& e) {
            INFO(e.what());
            CHECK(lower(e.what()).find("certificate") != std::string::npos);
        }
        CHECK_THROWS_AS(c.list_collections(), cw::connection_error);
    }
    // Another self-signed certificate as the CA file: still refused.
    {
        chromawal_test::tls_front stranger(backend.port());
        cw::connection_options wrong = o;
        wrong.ca_file = stranger.cert_path();
        CHECK_THROWS_AS(cw::chroma_client(wrong).heartbeat(), cw::connection_error);
    }
    // The right CA file but a host name the certificate does not name: refused (host check on).
    {
        cw::connection_options other_name = o;
        other_name.ca_file = front.cert_path();
        other_name.base_url = "https://localhost:" + std::to_string(front.port());
        try {
            (void)cw::chroma_client(other_name).heartbeat();
            FAIL("expected connection_error");
        } catch (const cw::connection_error& e) {
            INFO(e.what());
            CHECK(lower(e.what()).find("localhost") != std::string::npos);
        }
    }

    // With the certificate as CA file: accepted, and a real round trip through the front.
    o.ca_file = front.cert_path();
    cw::chroma_client c(o);
    CHECK(c.heartbeat() > 0);
    const std::string name = chromawal_test::unique_name("tls");
    auto coll = c.create_collection(name);
    auto e = embeddings_for(3, 4, 0.5f);
    coll.add(records("t", 3, 4, *e));
    cw::get_options g;
    g.include = cw::include_fields::documents | cw::include_fields::embeddings | cw::include_fields::metadatas;
    const auto got = coll.get(g);
    REQUIRE(got.size() == 3);
    for (std::size_t i = 0; i < got.size(); ++i) {
        const int k = std::stoi(got.ids[i].substr(2));
        CHECK(got.documents[i] == std::optional<std::string>("document " + std::to_string(k)));
        CHECK(got.embeddings.row_vector(i) == std::vector<float>(e->begin() + 4 * k, e->begin() + 4 * k + 4));
    }
    // It is the real server behind the front.
    cw::connection_options plain;
    plain.base_url = backend.url();
    CHECK(cw::chroma_client(plain).get_collection(name).count() == 3);

    // Switched off explicitly: accepted without the CA file.
    cw::connection_options insecure = o;
    insecure.ca_file.clear();
    insecure.verify_tls = false;
    CHECK(cw::chroma_client(insecure).heartbeat() > 0);
}

TEST_CASE("TLS: the replicated client honours each instance's CA file", "[tls]") {
    chromawal_test::postgres_server pg;
    pg.start();
    chromawal_test::chroma_server a{"tls-a"};
    chromawal_test::chroma_server b{"tls-b"};
    a.start();
    b.start();
    chromawal_test::tls_front front(a.port());
    front.start();

    cw::client_config c =
        chromawal_test::two_instance_config(pg.uri(), "tls_" + std::to_string(::getpid()), front.url(), b.url(), 5s);

    auto e = embeddings_for(4, 4, 0);
    {
        // Without the CA file the TLS instance is unusable (and status says why); b carries on.
        cw::client client(c);
        auto coll = client.create_collection("over-tls");
        CHECK(coll.add(records("x", 4, 4, *e)).applied == std::vector<std::string>{"b"});
        REQUIRE(eventually([&] { return !client.status().instances[0].healthy; }, 10s));
        CHECK(lower(client.status().instances[0].last_error).find("certificate") != std::string::npos);
    }
    c.instances[0].connection.ca_file = front.cert_path();
    cw::client client(c);
    REQUIRE(client.wait_until_synced(30s));
    auto coll = client.get_collection("over-tls");
    auto e2 = embeddings_for(2, 4, 9);
    CHECK(coll.add(records("y", 2, 4, *e2)).applied.size() == 2);
    cw::connection_options da, db;
    da.base_url = a.url();
    db.base_url = b.url();
    const auto v = cw::verify_collection(cw::chroma_client(da), cw::chroma_client(db), "over-tls");
    INFO(v.summary());
    CHECK(v.identical());
    CHECK(v.records_a == 6);
}
