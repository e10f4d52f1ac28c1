// chromawal_ops_bench: what the metrics listener costs (docs/operations.md, "Metrics and health
// listener"). Starts its own PostgreSQL and two Chroma servers (tests/support), a replicated
// client with metrics_address on a free port, and prints:
//   RESULT phase=scrape scrapes=N wall_s=... scrapes_per_s=... ms_per_scrape=... bytes=...
//     (back-to-back GET /metrics over a new connection each, as Prometheus does)
//   RESULT phase=writes scraper=none|1/s|10/s writes=N wall_s=... writes_per_s=... p50_ms=... p99_ms=...
//     (one writer adding 10-record batches for --seconds, without a scraper, with one scraping
//     every second, and with one scraping ten times a second; in --rounds slices of
//     seconds/rounds each, the order of the three rotating each round, the servers idle
//     (under 0.1 of a core for a second) before each slice; one RESULT line per slice with
//     round=R, then one for all of them)
// Figures, not a test: run it on a quiet machine (bench/ops_bench --seconds 20).
#include <chromawal/chromawal.hpp>

#include "proc_cpu.hpp"
#include "servers.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace cw = chromawal;
using clock_type = std::chrono::steady_clock;

namespace {

std::size_t sink(char*, std::size_t size, std::size_t n, void* total) {
    *static_cast<std::size_t*>(total) += size * n;
    return size * n;
}

/// One GET over a new connection; the body's size (0 on failure).
std::size_t scrape(const std::string& url) {
    std::size_t bytes = 0;
    CURL* c = curl_easy_init();
    if (!c) return 0;
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &bytes);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    const bool ok = curl_easy_perform(c) == CURLE_OK;
    curl_easy_cleanup(c);
    return ok ? bytes : 0;
}

struct batch {
    std::vector<float> embeddings;
    cw::record_set records;
};

batch make_batch(std::size_t serial) {
    batch b;
    for (std::size_t i = 0; i < 10; ++i) {
        b.records.ids.push_back("w" + std::to_string(serial) + "-" + std::to_string(i));
        for (std::size_t k = 0; k < 16; ++k) b.embeddings.push_back(static_cast<float>((serial + i + k) % 97) / 97.0f);
    }
    b.records.embeddings = cw::embedding_view(b.embeddings, 16);
    return b;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 10;
    std::size_t scrapes = 200;
    std::size_t rounds = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
        if (!std::strcmp(argv[i], "--rounds"))
            rounds = std::max<std::size_t>(1, std::strtoul(argv[i + 1], nullptr, 10));
        if (!std::strcmp(argv[i], "--scrapes")) scrapes = static_cast<std::size_t>(std::atol(argv[i + 1]));
    }
    try {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        chromawal_test::postgres_server pg;
        chromawal_test::chroma_server a{"chroma-a"};
        chromawal_test::chroma_server b{"chroma-b"};
        pg.start();
        a.start();
        b.start();
        cw::client_config c;
        c.log_url = pg.uri();
        c.log_schema = "ops_bench";
        c.instances.resize(2);
        c.instances[0].name = "a";
        c.instances[0].role = cw::instance_role::primary;
        c.instances[0].connection.base_url = a.url();
        c.instances[1].name = "b";
        c.instances[1].connection.base_url = b.url();
        c.metrics_address = "127.0.0.1:0";
        cw::client client(c);
        auto coll = client.get_or_create_collection("ops_bench");
        coll.add(make_batch(0).records);
        const std::string url = "http://" + client.metrics_address() + "/metrics";

        long postmaster = 0;
        std::ifstream(pg.dir() + "/data/postmaster.pid") >> postmaster;
        const std::vector<long> servers{a.pid(), b.pid(), postmaster};
        chromawal_test::wait_idle(servers);
        std::size_t bytes = 0;
        const auto s0 = clock_type::now();
        for (std::size_t i = 0; i < scrapes; ++i) bytes = scrape(url);
        const double wall = std::chrono::duration<double>(clock_type::now() - s0).count();
        std::printf("RESULT phase=scrape scrapes=%zu wall_s=%.3f scrapes_per_s=%.1f ms_per_scrape=%.2f bytes=%zu\n",
                    scrapes, wall, static_cast<double>(scrapes) / wall, wall * 1000 / static_cast<double>(scrapes),
                    bytes);

        const std::vector<double> intervals{0.0, 1.0, 0.1};
        auto name = [](double interval) { return interval == 0 ? "none" : interval == 1.0 ? "1/s" : "10/s"; };
        std::map<double, std::vector<double>> all_ms;
        std::map<double, double> all_wall;
        std::size_t serial = 1;
        for (std::size_t round = 0; round < rounds; ++round) {
            for (std::size_t k = 0; k < intervals.size(); ++k) {
                const double interval = intervals[(round + k) % intervals.size()];
                chromawal_test::wait_idle(servers);
                std::atomic<bool> stop{false};
                std::thread scraper;
                if (interval > 0) {
                    scraper = std::thread([&] {
                        while (!stop) {
                            scrape(url);
                            std::this_thread::sleep_for(std::chrono::duration<double>(interval));
                        }
                    });
                }
                std::vector<double> ms;
                const auto w0 = clock_type::now();
                while (std::chrono::duration<double>(clock_type::now() - w0).count() <
                       seconds / static_cast<double>(rounds)) {
                    const batch bt = make_batch(serial++);
                    const auto t0 = clock_type::now();
                    coll.add(bt.records);
                    ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
                }
                const double w = std::chrono::duration<double>(clock_type::now() - w0).count();
                stop = true;
                if (scraper.joinable()) scraper.join();
                std::printf(
                    "RESULT phase=writes scraper=%s round=%zu writes=%zu wall_s=%.3f writes_per_s=%.1f p50_ms=%.2f "
                    "p99_ms=%.2f\n",
                    name(interval), round + 1, ms.size(), w, static_cast<double>(ms.size()) / w, percentile(ms, 0.5),
                    percentile(ms, 0.99));
                std::fflush(stdout);
                all_ms[interval].insert(all_ms[interval].end(), ms.begin(), ms.end());
                all_wall[interval] += w;
            }
        }
        for (const double interval : intervals) {
            auto& ms = all_ms[interval];
            std::printf(
                "RESULT phase=writes scraper=%s writes=%zu wall_s=%.3f writes_per_s=%.1f p50_ms=%.2f p99_ms=%.2f\n",
                name(interval), ms.size(), all_wall[interval], static_cast<double>(ms.size()) / all_wall[interval],
                percentile(ms, 0.5), percentile(ms, 0.99));
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ops_bench: %s\n", e.what());
        return 1;
    }
}
