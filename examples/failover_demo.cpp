// The failover demo: two real Chroma servers, started here, and the write-ahead log: by default
// the embedded SQLite log that a client uses when no log is configured; with --postgres, a real
// PostgreSQL started here.
//
// It writes through chromawal, kills one instance with SIGKILL, keeps writing, restarts it,
// prints the status while the sync thread catches it up, then does the same to the primary,
// and ends by comparing both instances' stored records. The client runs the metrics listener
// (client_config::metrics_address, a free port): the demo prints its address and the answer
// of GET /health while chroma-b is down.
//
//   failover_demo [--postgres]   (needs scripts/chroma.sh, and scripts/postgres.sh for --postgres)
//
// Without --postgres it sets no log_url: the client resolves its default, an SQLite file named after
// the instance set in $XDG_STATE_HOME/chromawal/ (and says so with a log_default event). The demo
// points XDG_STATE_HOME at a folder of its own, removed at the end, and clears CHROMAWAL_LOG_URL and
// libpq's PG* variables so that nothing from the environment picks another log.

#include <chromawal/chromawal.hpp>

#include "servers.hpp"

#include <curl/curl.h>

#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

constexpr std::size_t dim = 64;
constexpr std::size_t batch = 50;

std::size_t append_body(char* data, std::size_t size, std::size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
}

/// "HTTP 200 {...}" of a GET (the listener's /health).
std::string http_get(const std::string& url) {
    std::string body;
    long status = 0;
    CURL* c = curl_easy_init();
    if (c == nullptr) return "(no curl handle)";
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &append_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    const CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) return std::string("failed: ") + curl_easy_strerror(rc);
    while (!body.empty() && body.back() == '\n') body.pop_back();
    return "HTTP " + std::to_string(status) + " " + body;
}

chromawal::write_receipt write_batch(const chromawal::collection& c, int b) {
    static std::mt19937 rng(42);
    std::uniform_real_distribution<float> u(-1, 1);
    std::vector<float> embeddings(batch * dim);
    for (auto& x : embeddings) x = u(rng);
    chromawal::record_set r;
    for (std::size_t i = 0; i < batch; ++i) {
        const std::string id = "doc" + std::to_string(b) + "-chunk" + std::to_string(i);
        r.ids.push_back(id);
        r.documents.emplace_back("chunk " + std::to_string(i) + " of document " + std::to_string(b));
        r.metadatas.emplace_back(
            chromawal::metadata_map{{"document_id", "doc" + std::to_string(b)}, {"chunk", static_cast<int>(i)}});
    }
    r.embeddings = chromawal::embedding_view(embeddings, dim);
    return c.add(r);
}

void print_receipt(int b, const chromawal::write_receipt& r) {
    std::string where;
    for (const auto& n : r.applied) where += (where.empty() ? "" : ", ") + n;
    std::printf("  batch %2d -> log position %3lld, applied on: %s\n", b, static_cast<long long>(r.position),
                where.empty() ? "(none yet)" : where.c_str());
}

void print_status(const chromawal::client& c) {
    const auto s = c.status();
    for (const auto& i : s.instances) {
        std::printf("    %-8s %-5s applied %4lld  lag %4lld entries %6.2f s%s%s\n", i.name.c_str(),
                    i.healthy ? "up" : "DOWN", static_cast<long long>(i.applied), static_cast<long long>(i.lag_entries),
                    i.lag_seconds, i.last_error.empty() || i.healthy ? "" : "  last error: ",
                    i.healthy ? "" : i.last_error.substr(0, 60).c_str());
    }
    std::printf("    log: %lld pending, %lld applied on every healthy instance\n",
                static_cast<long long>(s.log.pending), static_cast<long long>(s.log.applied));
}

bool wait_caught_up(chromawal::client& c, const char* who, std::chrono::seconds limit) {
    const auto start = clock_type::now();
    while (clock_type::now() - start < limit) {
        const auto s = c.status();
        bool done = true;
        for (const auto& i : s.instances) done = done && i.healthy && i.lag_entries == 0;
        print_status(c);
        if (done) {
            std::printf("  %s caught up %.2f s after its restart\n", who,
                        std::chrono::duration<double>(clock_type::now() - start).count());
            return true;
        }
        std::this_thread::sleep_for(200ms);
    }
    return false;
}

/// A folder of the demo's own for $XDG_STATE_HOME, removed at the end.
struct state_home {
    std::string path;
    state_home() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "chromawal-demo-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path = tmpl;
        ::setenv("XDG_STATE_HOME", path.c_str(), 1);
        ::unsetenv("CHROMAWAL_LOG_URL");
        for (const char* v : {"PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSERVICE",
                              "PGSERVICEFILE", "PGPASSFILE", "PGOPTIONS", "PGSSLMODE"}) {
            ::unsetenv(v);
        }
    }
    ~state_home() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    state_home(const state_home&) = delete;
    state_home& operator=(const state_home&) = delete;
};

}  // namespace

int main(int argc, char** argv) {
    bool use_postgres = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--postgres") == 0) {
            use_postgres = true;
        } else {
            std::fprintf(stderr, "usage: failover_demo [--postgres]\n  unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    try {
        std::unique_ptr<chromawal_test::postgres_server> pg;
        std::unique_ptr<state_home> home;
        if (use_postgres) {
            std::puts("starting PostgreSQL and two Chroma servers...");
            pg = std::make_unique<chromawal_test::postgres_server>();
            pg->start();
        } else {
            std::puts(
                "starting two Chroma servers (the log: the embedded SQLite default; --postgres for PostgreSQL)...");
            home = std::make_unique<state_home>();
        }
        chromawal_test::chroma_server a("chroma-a"), b("chroma-b");
        a.start();
        b.start();
        const std::string log_place =
            pg ? "PostgreSQL on port " + std::to_string(pg->port()) : std::string("SQLite, no log configured");
        std::printf("  log: %s; chroma-a on %s (primary); chroma-b on %s\n", log_place.c_str(), a.url().c_str(),
                    b.url().c_str());

        chromawal::client_config cfg;
        if (pg) cfg.log_url = pg->uri();  // otherwise none: the embedded default
        cfg.instances = {{"chroma-a", {}, chromawal::instance_role::primary},
                         {"chroma-b", {}, chromawal::instance_role::replica}};
        cfg.instances[0].connection.base_url = a.url();
        cfg.instances[1].connection.base_url = b.url();
        for (auto& i : cfg.instances) i.connection.request_timeout = 2s;
        cfg.health_interval = 200ms;
        cfg.sync_interval = 200ms;
        cfg.on_event = [](const chromawal::event& e) {
            const std::size_t width = e.type == chromawal::event::kind::log_default ? 200 : 80;
            std::printf("  [event] %s: %s %s\n", chromawal::to_string(e.type), e.instance.c_str(),
                        e.message.substr(0, width).c_str());
        };
        cfg.metrics_address = "127.0.0.1:0";  // a free port
        chromawal::client client(cfg);
        std::printf("  metrics listener: http://%s/metrics (and /health, /status)\n", client.metrics_address().c_str());
        auto docs = client.get_or_create_collection("failover-demo");

        std::puts("\n1. writing with both instances up");
        int n = 0;
        for (; n < 3; ++n) print_receipt(n, write_batch(docs, n));

        std::puts("\n2. kill -9 chroma-b (replica); writes go on");
        b.kill9();
        for (; n < 8; ++n) print_receipt(n, write_batch(docs, n));
        print_status(client);
        const auto noticed = clock_type::now() + 10s;
        while (clock_type::now() < noticed) {
            const auto s = client.status();
            if (!s.instances[1].healthy) break;
            std::this_thread::sleep_for(50ms);
        }
        std::printf("  GET /health while chroma-b is down: %s\n",
                    http_get("http://" + client.metrics_address() + "/health").c_str());

        std::puts("\n3. restart chroma-b; the sync thread replays what it missed, in order");
        b.restart();
        if (!wait_caught_up(client, "chroma-b", 30s)) throw std::runtime_error("chroma-b did not catch up");

        std::puts("\n4. kill -9 chroma-a (the primary); writes go on to chroma-b");
        a.kill9();
        for (; n < 12; ++n) print_receipt(n, write_batch(docs, n));
        docs.delete_document("doc1");  // a whole document (all its chunks), during the outage
        std::puts("  deleted every chunk of doc1 (logged as a where-delete)");
        print_status(client);

        std::puts("\n5. restart chroma-a");
        a.restart();
        if (!wait_caught_up(client, "chroma-a", 30s)) throw std::runtime_error("chroma-a did not catch up");

        std::puts("\n6. comparing the stored records of both instances");
        chromawal::connection_options oa, ob;
        oa.base_url = a.url();
        ob.base_url = b.url();
        const auto report =
            chromawal::verify_collection(chromawal::chroma_client(oa), chromawal::chroma_client(ob), "failover-demo");
        std::printf("  %s\n", report.summary().c_str());
        std::printf("  count through chromawal: %zu records\n", docs.count());
        return report.identical() && report.records_a == (12 - 1) * batch ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "failover_demo failed: %s\n", e.what());
        return 1;
    }
}
