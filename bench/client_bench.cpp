// chromawal_client_bench: the client-side cost of chromawal against one Chroma server.
//
// Adds N records (DIM-dim float32 embeddings, a document and four metadata keys each) in
// batches, then runs Q nearest-neighbour queries (n_results 10, Chroma's default include),
// and prints, per phase, the wall time, the throughput and this process's own CPU time
// (getrusage RUSAGE_SELF, user + sys, all threads). bench/js/client_bench.mjs runs the same
// workload, with the same data, through the official JavaScript client; see
// docs/benchmarks.md and bench/run_client_bench.sh.
//
// The data is generated before the clock starts, with a xorshift32 generator that the JS
// side implements identically, so both clients send the same records and queries. Every
// embedding value is k / 2^23 - 1 for an integer k < 2^24, exactly representable in float32,
// so both send bit-identical vectors.
//
// Output (one line per phase, machine-readable; "records" counts queries in the query phase):
//   RESULT client=chromawal phase=add records=10000 wall_s=... records_per_s=... cpu_s=... cpu_us_per_record=...
//   RESULT client=chromawal phase=query records=200 ...
//   CHECK client=chromawal count=10000 hits=2000 data=<the generators' final states, hex>
// (equal data= on both sides means both generated the same data; the top hit of a query is
// not compared, as Chroma's HNSW search is approximate and differs between runs).

#include <chromawal/chromawal.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

// --- deterministic data (must match bench/js/client_bench.mjs) ---------------------------

constexpr std::uint32_t record_seed = 0x9E3779B9u;
constexpr std::uint32_t query_seed = 0x85EBCA6Bu;
constexpr std::uint32_t topics = 16;

class xorshift32 {
public:
    explicit xorshift32(std::uint32_t seed) : s_(seed ? seed : 1u) {}
    [[nodiscard]] std::uint32_t state() const { return s_; }
    std::uint32_t next() {
        s_ ^= s_ << 13;
        s_ ^= s_ >> 17;
        s_ ^= s_ << 5;
        return s_;
    }
    /// A value in [-1, 1): (next() >> 8) / 2^23 - 1, exact in float32 and in double.
    float signed_unit() { return static_cast<float>(static_cast<double>(next() >> 8) / 8388608.0 - 1.0); }
    /// A value in [0, 1): (next() >> 8) / 2^24.
    double unit() { return static_cast<double>(next() >> 8) / 16777216.0; }

private:
    std::uint32_t s_;
};

struct options {
    std::string url = "http://127.0.0.1:8000";
    std::size_t records = 10000;
    std::size_t dim = 384;
    std::size_t batch = 100;
    std::size_t queries = 200;
    std::string collection = "chromawal_bench";
    long server_pid = 0;  // optional: also report this process's CPU time (the server's)
};

[[noreturn]] void usage(const char* argv0, int code) {
    std::fprintf(code ? stderr : stdout,
                 "usage: %s [--url http://127.0.0.1:8000] [--records 10000] [--dim 384] [--batch 100]\n"
                 "          [--queries 200] [--collection chromawal_bench] [--server-pid PID]\n",
                 argv0);
    std::exit(code);
}

std::size_t parse_size(const char* argv0, const char* flag, const char* text) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(text, &end, 10);
    if (end == text || *end != '\0' || v == 0) {
        std::fprintf(stderr, "%s: %s needs a positive integer, got '%s'\n", argv0, flag, text);
        usage(argv0, 2);
    }
    return static_cast<std::size_t>(v);
}

options parse_args(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const char* a = argv[i];
        if (!std::strcmp(a, "-h") || !std::strcmp(a, "--help")) usage(argv[0], 0);
        if (i + 1 >= argc) {
            std::fprintf(stderr, "%s: unknown argument or missing value: %s\n", argv[0], a);
            usage(argv[0], 2);
        }
        const char* v = argv[++i];
        if (!std::strcmp(a, "--url"))
            o.url = v;
        else if (!std::strcmp(a, "--records"))
            o.records = parse_size(argv[0], a, v);
        else if (!std::strcmp(a, "--dim"))
            o.dim = parse_size(argv[0], a, v);
        else if (!std::strcmp(a, "--batch"))
            o.batch = parse_size(argv[0], a, v);
        else if (!std::strcmp(a, "--queries"))
            o.queries = parse_size(argv[0], a, v);
        else if (!std::strcmp(a, "--collection"))
            o.collection = v;
        else if (!std::strcmp(a, "--server-pid"))
            o.server_pid = static_cast<long>(parse_size(argv[0], a, v));
        else {
            std::fprintf(stderr, "%s: unknown argument: %s\n", argv[0], a);
            usage(argv[0], 2);
        }
    }
    return o;
}

// --- measurement -------------------------------------------------------------------------

double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
    return tv(ru.ru_utime) + tv(ru.ru_stime);
}

// User + system CPU seconds of another process (all its threads), from /proc/PID/stat;
// negative when unreadable. Resolution: one clock tick (usually 10 ms).
double process_cpu_seconds(long pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    if (close == std::string::npos) return -1;
    // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
    const char* p = stat.c_str() + close + 1;
    unsigned long long utime = 0, stime = 0;
    if (std::sscanf(p, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) return -1;
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// Waits until the server is idle: under 0.1 of a core in every 200 ms window for a second in
/// a row (Chroma goes on indexing after add has returned), at most 90 s. No wait without a pid.
void wait_idle(long pid) {
    if (pid <= 0) return;
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    auto quiet_since = t0;
    double c0 = process_cpu_seconds(pid);
    for (;;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        const double c1 = process_cpu_seconds(pid);
        if (c0 < 0 || c1 < 0) return;
        if ((c1 - c0) / 0.2 >= 0.1) quiet_since = clock::now();
        c0 = c1;
        const auto now = clock::now();
        if (now - quiet_since >= std::chrono::seconds(1)) return;
        if (now - t0 > std::chrono::seconds(90)) {
            std::fprintf(stderr, "client_bench: server still busy after 90 s; measuring anyway\n");
            return;
        }
    }
}

struct phase_timer {
    long server_pid;
    std::chrono::steady_clock::time_point wall0 = std::chrono::steady_clock::now();
    double cpu0 = cpu_seconds();
    double server0 = server_pid ? process_cpu_seconds(server_pid) : -1;

    explicit phase_timer(long pid) : server_pid(pid) {}

    void report(const char* phase, std::size_t n) const {
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
        const double cpu = cpu_seconds() - cpu0;
        const double server1 = server_pid ? process_cpu_seconds(server_pid) : -1;
        const auto per = static_cast<double>(n);
        std::printf(
            "RESULT client=chromawal phase=%s records=%zu wall_s=%.6f records_per_s=%.2f cpu_s=%.6f "
            "cpu_us_per_record=%.3f",
            phase, n, wall, per / wall, cpu, cpu * 1e6 / per);
        if (server0 >= 0 && server1 >= 0) {
            std::printf(" server_cpu_s=%.2f server_cpu_us_per_record=%.1f", server1 - server0,
                        (server1 - server0) * 1e6 / per);
        }
        std::printf("\n");
        std::fflush(stdout);
    }
};

int run(const options& o) {
    // Everything the client is given is built before the clock starts, as in the JS bench.
    xorshift32 rng(record_seed);
    std::vector<float> embeddings(o.records * o.dim);
    std::vector<chromawal::record_set> batches;
    batches.reserve((o.records + o.batch - 1) / o.batch);
    for (std::size_t first = 0; first < o.records; first += o.batch) {
        const std::size_t n = std::min(o.batch, o.records - first);
        chromawal::record_set rs;
        rs.ids.reserve(n);
        rs.documents.reserve(n);
        rs.metadatas.reserve(n);
        for (std::size_t i = first; i < first + n; ++i) {
            float* row = embeddings.data() + i * o.dim;
            for (std::size_t d = 0; d < o.dim; ++d) row[d] = rng.signed_unit();
            const double score = rng.unit();
            const std::uint32_t topic = rng.next() % topics;
            rs.ids.push_back("id-" + std::to_string(i));
            rs.documents.emplace_back("document " + std::to_string(i) + " about topic " + std::to_string(topic));
            chromawal::metadata_map m;
            m.emplace("source", "bench");
            m.emplace("index", static_cast<std::int64_t>(i));
            m.emplace("score", score);
            m.emplace("topic", "t" + std::to_string(topic));
            rs.metadatas.emplace_back(std::move(m));
        }
        rs.embeddings = chromawal::embedding_view(embeddings.data() + first * o.dim, n, o.dim);
        batches.push_back(std::move(rs));
    }

    xorshift32 qrng(query_seed);
    std::vector<float> query_values(o.queries * o.dim);
    for (float& v : query_values) v = qrng.signed_unit();
    std::vector<chromawal::query_options> queries(o.queries);
    for (std::size_t q = 0; q < o.queries; ++q) {
        queries[q].query_embeddings = chromawal::embedding_view(query_values.data() + q * o.dim, 1, o.dim);
        queries[q].n_results = 10;
    }

    chromawal::connection_options copts;
    copts.base_url = o.url;
    chromawal::chroma_client client(copts);
    try {
        client.delete_collection(o.collection);  // left over from an interrupted run
    } catch (const chromawal::not_found&) {
    }
    chromawal::chroma_collection collection = client.create_collection(o.collection);

    wait_idle(o.server_pid);
    {
        phase_timer t(o.server_pid);
        for (const auto& rs : batches) collection.add(rs);
        t.report("add", o.records);
    }

    const std::size_t count = collection.count();

    std::size_t hits = 0;
    wait_idle(o.server_pid);
    {
        phase_timer t(o.server_pid);
        for (std::size_t q = 0; q < o.queries; ++q) {
            chromawal::query_result r = collection.query(queries[q]);
            if (r.size() == 1) {
                hits += r[0].size();
            }
        }
        t.report("query", o.queries);
    }

    client.delete_collection(o.collection);
    std::printf("CHECK client=chromawal count=%zu hits=%zu data=%08x%08x\n", count, hits,
                static_cast<unsigned>(rng.state()), static_cast<unsigned>(qrng.state()));
    if (count != o.records || hits != o.queries * std::min<std::size_t>(10, o.records)) {
        std::fprintf(stderr, "chromawal_client_bench: unexpected count %zu or hits %zu\n", count, hits);
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse_args(argc, argv);
    try {
        return run(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chromawal_client_bench: %s\n", e.what());
        return 1;
    }
}
