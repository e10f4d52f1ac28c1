// chromawal_replication_bench: what replication through the write-ahead log costs, through
// each log store (PostgreSQL and SQLite), measured as ratios within one run (the machines here
// are small, shared and noisy).
//
// It starts its own PostgreSQL and two Chroma servers (tests/support: chroma_server,
// postgres_server), makes a folder of its own for the SQLite logs (removed at the end) and runs
// four parts, each with the stores of --stores (default: postgresql,sqlite):
//
//   1. add throughput, each variant on a fresh collection, in rotating order over --rounds
//      rounds: direct-one (chroma_client to instance a), naive-two (chroma_client adds to a and
//      b on two threads per batch, no log) and chromawal-two once per store (chromawal::client
//      with both instances, default configuration, log_url the store's). Ratios per store
//      chromawal/direct and chromawal/naive, and sqlite/postgresql.
//   2. catch-up, once per store: kill -9 instance b, write --backlog records through chromawal
//      (applied to a), restart b, time from the restarted server answering until
//      client.status() shows lag 0 for it (polled every 10 ms) -> catch-up records/s, compared
//      with direct-one records/s; and sqlite/postgresql.
//   3. convergence after a short outage (through the first store of --stores): kill b, write
//      --small-backlog batches, restart b, time until lag 0 (polled every 10 ms); --repeats
//      times, with the default health_interval / sync_interval and with health_interval = 200 ms.
//   4. raw log appends per second: wal::pg_log_store and wal::sqlite_log_store (private
//      headers) with 1, 4 and 16 threads appending single entries of ~200 bytes for
//      --append-seconds each, all threads on one lane (one collection) and on one lane per
//      thread; sqlite/postgresql per configuration.
//
// The clients of the two stores write to different Chroma databases (default_database and
// bench_sqlite): each instance records the one log that drives a database (docs/design.md,
// "One log per instance set"), so two logs cannot share one.
//
// Between measured phases it waits until the servers are idle (Chroma keeps indexing after an
// add has returned), so that one variant's left-over work does not land on the next.
// Output: human-readable tables, machine-readable RESULT lines, and a summary against the
// goals (the sqlite/postgresql ratios are informational). Exit status 1 on an error or a wrong
// record count (never for a missed goal).
// See docs/benchmarks.md ("Replication") and bench/run_replication_bench.sh.

#include <chromawal/chromawal.hpp>

#include "servers.hpp"
#include "wal/pg_log_store.hpp"
#include "wal/sqlite_log_store.hpp"

#include <dirent.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

double since(steady::time_point t0) { return std::chrono::duration<double>(steady::now() - t0).count(); }

// --- options -----------------------------------------------------------------------------

struct options {
    std::size_t records = 10000;
    std::size_t dim = 384;
    std::size_t batch = 100;
    std::size_t rounds = 3;
    std::size_t backlog = 10000;
    std::size_t small_backlog = 20;  // batches
    std::size_t repeats = 3;
    double append_seconds = 5;
    std::vector<std::size_t> append_threads{1, 4, 16};
    std::string parts = "1234";
    std::vector<std::string> stores{"postgresql", "sqlite"};
};

[[noreturn]] void usage(const char* argv0, int code) {
    std::fprintf(code ? stderr : stdout,
                 "usage: %s [--records 10000] [--dim 384] [--batch 100] [--rounds 3] [--backlog 10000]\n"
                 "          [--small-backlog 20] [--repeats 3] [--append-seconds 5] [--append-threads 1,4,16]\n"
                 "          [--parts 1234] [--stores postgresql,sqlite]\n"
                 "  --parts: which parts to run (1 add throughput, 2 catch-up, 3 convergence, 4 log appends);\n"
                 "           part 2 compares with part 1's direct-one figure\n"
                 "  --stores: the log stores of parts 1, 2 and 4 (part 3 uses the first); PostgreSQL is\n"
                 "           started whatever the list\n",
                 argv0);
    std::exit(code);
}

std::size_t parse_size(const char* argv0, const char* flag, const std::string& text) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v == 0) {
        std::fprintf(stderr, "%s: %s needs a positive integer, got '%s'\n", argv0, flag, text.c_str());
        usage(argv0, 2);
    }
    return static_cast<std::size_t>(v);
}

options parse_args(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-h" || a == "--help") usage(argv[0], 0);
        if (i + 1 >= argc) {
            std::fprintf(stderr, "%s: unknown argument or missing value: %s\n", argv[0], a.c_str());
            usage(argv[0], 2);
        }
        const std::string v = argv[++i];
        if (a == "--records")
            o.records = parse_size(argv[0], a.c_str(), v);
        else if (a == "--dim")
            o.dim = parse_size(argv[0], a.c_str(), v);
        else if (a == "--batch")
            o.batch = parse_size(argv[0], a.c_str(), v);
        else if (a == "--rounds")
            o.rounds = parse_size(argv[0], a.c_str(), v);
        else if (a == "--backlog")
            o.backlog = parse_size(argv[0], a.c_str(), v);
        else if (a == "--small-backlog")
            o.small_backlog = parse_size(argv[0], a.c_str(), v);
        else if (a == "--repeats")
            o.repeats = parse_size(argv[0], a.c_str(), v);
        else if (a == "--append-seconds")
            o.append_seconds = static_cast<double>(parse_size(argv[0], a.c_str(), v));
        else if (a == "--append-threads") {
            o.append_threads.clear();
            std::stringstream ss(v);
            std::string item;
            while (std::getline(ss, item, ',')) o.append_threads.push_back(parse_size(argv[0], a.c_str(), item));
        } else if (a == "--parts") {
            o.parts = v;
        } else if (a == "--stores") {
            o.stores.clear();
            std::stringstream ss(v);
            std::string item;
            while (std::getline(ss, item, ',')) {
                if (item != "postgresql" && item != "sqlite") {
                    std::fprintf(stderr, "%s: --stores takes postgresql and sqlite, got '%s'\n", argv[0], item.c_str());
                    usage(argv[0], 2);
                }
                if (std::find(o.stores.begin(), o.stores.end(), item) == o.stores.end()) o.stores.push_back(item);
            }
            if (o.stores.empty()) usage(argv[0], 2);
        } else {
            std::fprintf(stderr, "%s: unknown argument: %s\n", argv[0], a.c_str());
            usage(argv[0], 2);
        }
    }
    return o;
}

// --- CPU accounting ------------------------------------------------------------------------

double self_cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
    return tv(ru.ru_utime) + tv(ru.ru_stime);
}

struct proc_stat {
    long ppid = 0;
    unsigned long long utime = 0, stime = 0, cutime = 0, cstime = 0;
};

bool read_proc_stat(long pid, proc_stat& out) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    if (close == std::string::npos) return false;
    // After "pid (comm) ": state (3), ppid (4), ..., utime (14), stime (15), cutime (16), cstime (17).
    long long cu = 0, cs = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld",
                    &out.ppid, &out.utime, &out.stime, &cu, &cs) != 5) {
        return false;
    }
    out.cutime = static_cast<unsigned long long>(std::max(0LL, cu));
    out.cstime = static_cast<unsigned long long>(std::max(0LL, cs));
    return true;
}

/// CPU seconds (user + sys) of a process and all its live descendants, plus what its reaped
/// children used. Resolution: one clock tick (10 ms). 0 when the process is gone.
double tree_cpu_seconds(long root) {
    if (root <= 0) return 0;
    std::map<long, std::vector<long>> children;
    std::map<long, proc_stat> stats;
    if (DIR* d = opendir("/proc")) {
        while (dirent* e = readdir(d)) {
            if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
            const long pid = std::strtol(e->d_name, nullptr, 10);
            proc_stat s;
            if (read_proc_stat(pid, s)) {
                stats[pid] = s;
                children[s.ppid].push_back(pid);
            }
        }
        closedir(d);
    }
    unsigned long long ticks = 0;
    std::vector<long> todo{root};
    while (!todo.empty()) {
        const long p = todo.back();
        todo.pop_back();
        auto it = stats.find(p);
        if (it == stats.end()) continue;
        ticks += it->second.utime + it->second.stime + it->second.cutime + it->second.cstime;
        for (long c : children[p]) todo.push_back(c);
    }
    return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long postmaster_pid(const chromawal_test::postgres_server& pg) {
    std::ifstream in(pg.dir() + "/data/postmaster.pid");
    long pid = 0;
    in >> pid;
    return pid;
}

/// The processes whose CPU time is reported: this client, chroma-a, chroma-b, PostgreSQL.
/// Non-idle CPU seconds of the whole machine, all cores (/proc/stat): what our four processes
/// did not use of it is other load, which shows how disturbed a measurement was.
double machine_busy_seconds() {
    std::ifstream in("/proc/stat");
    std::string cpu;
    unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
    return static_cast<double>(user + nice + system + irq + softirq + steal) /
           static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct cpu_sample {
    double self = 0, a = 0, b = 0, pg = 0;
    double machine = 0;  ///< non-idle CPU of the whole machine
    double ours() const { return self + a + b + pg; }
};

/// A folder of this program's, for the SQLite logs: under $CHROMAWAL_TEST_TMP (where the run
/// script's private folder is), else $TMPDIR, else /tmp; removed with everything in it.
struct scratch_folder {
    std::string path;
    scratch_folder() {
        const char* base = std::getenv("CHROMAWAL_TEST_TMP");
        if (base == nullptr || *base == '\0') base = std::getenv("TMPDIR");
        std::string tmpl =
            std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/chromawal-bench-sqlite-XXXXXX";
        if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + tmpl);
        path = tmpl;
    }
    ~scratch_folder() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    scratch_folder(const scratch_folder&) = delete;
    scratch_folder& operator=(const scratch_folder&) = delete;
};

struct servers {
    scratch_folder sqlite;  ///< the SQLite logs (parts 1-3: client.db; part 4: appends.db)
    chromawal_test::postgres_server pg;
    chromawal_test::chroma_server a{"chroma-a"};
    chromawal_test::chroma_server b{"chroma-b"};

    cpu_sample sample() const {
        return {self_cpu_seconds(), tree_cpu_seconds(a.pid()), tree_cpu_seconds(b.pid()),
                tree_cpu_seconds(postmaster_pid(pg)), machine_busy_seconds()};
    }
    /// Waits until the servers are idle: under 0.1 of a core together over 300 ms (Chroma goes
    /// on indexing after add has returned), at most `limit`. Returns the seconds waited.
    double settle(double limit = 60) const {
        const auto t0 = steady::now();
        for (;;) {
            const cpu_sample s0 = sample();
            std::this_thread::sleep_for(300ms);
            const cpu_sample s1 = sample();
            const double busy = (s1.a - s0.a) + (s1.b - s0.b) + (s1.pg - s0.pg);
            if (busy / 0.3 < 0.10) return since(t0);
            if (since(t0) > limit) {
                std::printf("  (servers still busy after %.0f s; going on)\n", limit);
                return since(t0);
            }
        }
    }
};

// --- data ----------------------------------------------------------------------------------

// The same generator, record shape and seeds as bench/client_bench.cpp.
class xorshift32 {
public:
    explicit xorshift32(std::uint32_t seed) : s_(seed ? seed : 1u) {}
    std::uint32_t next() {
        s_ ^= s_ << 13;
        s_ ^= s_ >> 17;
        s_ ^= s_ << 5;
        return s_;
    }
    float signed_unit() { return static_cast<float>(static_cast<double>(next() >> 8) / 8388608.0 - 1.0); }
    double unit() { return static_cast<double>(next() >> 8) / 16777216.0; }

private:
    std::uint32_t s_;
};

/// Embeddings for `rows` records, generated once; batches of any ids reuse them.
struct dataset {
    std::size_t dim = 0;
    std::size_t batch = 0;
    std::size_t rows = 0;
    std::vector<float> embeddings;
    std::vector<double> scores;
    std::vector<std::uint32_t> topics;

    dataset(std::size_t rows_, std::size_t dim_, std::size_t batch_) : dim(dim_), batch(batch_) {
        rows = ((rows_ + batch - 1) / batch) * batch;
        embeddings.resize(rows * dim);
        scores.resize(rows);
        topics.resize(rows);
        xorshift32 rng(0x9E3779B9u);
        for (std::size_t i = 0; i < rows; ++i) {
            for (std::size_t d = 0; d < dim; ++d) embeddings[i * dim + d] = rng.signed_unit();
            scores[i] = rng.unit();
            topics[i] = rng.next() % 16;
        }
    }

    /// `count` record sets of `batch` records, ids "<prefix>-<n>" for n from first * batch.
    /// Built before any clock starts: they are what a caller hands to the library.
    std::vector<chromawal::record_set> batches(const std::string& prefix, std::size_t first, std::size_t count) const {
        std::vector<chromawal::record_set> out;
        out.reserve(count);
        const std::size_t slots = rows / batch;
        for (std::size_t b = first; b < first + count; ++b) {
            const std::size_t row0 = (b % slots) * batch;
            chromawal::record_set rs;
            rs.ids.reserve(batch);
            rs.documents.reserve(batch);
            rs.metadatas.reserve(batch);
            for (std::size_t k = 0; k < batch; ++k) {
                const std::size_t n = b * batch + k;
                const std::size_t row = row0 + k;
                rs.ids.push_back(prefix + "-" + std::to_string(n));
                rs.documents.emplace_back("document " + std::to_string(n) + " about topic " +
                                          std::to_string(topics[row]));
                chromawal::metadata_map m;
                m.emplace("source", "bench");
                m.emplace("index", static_cast<std::int64_t>(n));
                m.emplace("score", scores[row]);
                m.emplace("topic", "t" + std::to_string(topics[row]));
                rs.metadatas.emplace_back(std::move(m));
            }
            rs.embeddings = chromawal::embedding_view(embeddings.data() + row0 * dim, batch, dim);
            out.push_back(std::move(rs));
        }
        return out;
    }
};

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double percentile(std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(i, sorted.size() - 1)];
}

chromawal::connection_options conn(const std::string& url, const std::string& database = "default_database") {
    chromawal::connection_options o;
    o.base_url = url;
    o.database = database;
    return o;
}

/// The Chroma database of each store's clients: an instance records the one log that drives a
/// database, so the two logs cannot share one (see the top of this file).
std::string database_for(const std::string& store) { return store == "sqlite" ? "bench_sqlite" : "default_database"; }

chromawal::client_config replicated_config(const servers& s, const std::string& store) {
    chromawal::client_config cfg;
    cfg.log_url = store == "sqlite" ? "sqlite://" + s.sqlite.path + "/client.db" : s.pg.uri();
    cfg.database = database_for(store);
    cfg.instances = {{"chroma-a", conn(s.a.url()), chromawal::instance_role::primary},
                     {"chroma-b", conn(s.b.url()), chromawal::instance_role::replica}};
    return cfg;  // everything else at its default
}

void check_count(const std::string& what, std::size_t got, std::size_t want) {
    if (got != want) {
        throw std::runtime_error(what + ": " + std::to_string(got) + " records, expected " + std::to_string(want));
    }
}

// --- part 1: add throughput ----------------------------------------------------------------

struct phase_result {
    std::string variant;
    std::string store = "none";  ///< the log store of a chromawal variant, "none" for the others
    double wall = 0;
    cpu_sample cpu;  // CPU seconds used during the phase
    std::size_t records = 0;
    double rps() const { return static_cast<double>(records) / wall; }
    /// Cores used by other processes on the machine during the phase, on average.
    double other_cores() const { return std::max(0.0, cpu.machine - cpu.ours()) / wall; }
    /// The variant and its store, as the tables show it ("chromawal-two sqlite").
    std::string label() const { return store == "none" ? variant : variant + " " + store; }
};

struct phase_timer {
    const servers& s;
    steady::time_point t0 = steady::now();
    cpu_sample c0;
    explicit phase_timer(const servers& s_) : s(s_), c0(s_.sample()) { t0 = steady::now(); }
    phase_result done(std::string variant, std::size_t records, std::string store = "none") const {
        phase_result r;
        r.wall = since(t0);
        const cpu_sample c1 = s.sample();
        r.cpu = {c1.self - c0.self, c1.a - c0.a, c1.b - c0.b, c1.pg - c0.pg, c1.machine - c0.machine};
        r.variant = std::move(variant);
        r.store = std::move(store);
        r.records = records;
        return r;
    }
};

void print_phase(const phase_result& r, std::size_t round) {
    const double n = static_cast<double>(r.records);
    std::printf("  %-24s %9.1f %8.2f %11.1f %11.1f %11.1f %11.1f %11.2f\n", r.label().c_str(), r.rps(), r.wall,
                r.cpu.self * 1e6 / n, r.cpu.a * 1e6 / n, r.cpu.b * 1e6 / n, r.cpu.pg * 1e6 / n, r.other_cores());
    std::printf(
        "RESULT part=add variant=%s store=%s round=%zu records=%zu wall_s=%.3f records_per_s=%.1f "
        "client_cpu_s=%.3f chroma_a_cpu_s=%.2f chroma_b_cpu_s=%.2f pg_cpu_s=%.2f other_load_cores=%.2f\n",
        r.variant.c_str(), r.store.c_str(), round, r.records, r.wall, r.rps(), r.cpu.self, r.cpu.a, r.cpu.b, r.cpu.pg,
        r.other_cores());
    std::fflush(stdout);
}

/// Each store's chromawal::client (one per store, for the whole run: parts 1 and 2).
using store_clients = std::vector<std::pair<std::string, chromawal::client*>>;

struct part1_result {
    // Medians, records/s; chromawal-two by store.
    double direct = 0, naive = 0;
    std::map<std::string, double> replicated;
    // Medians of the CPU time of all four processes (client, both Chroma, PostgreSQL) per
    // record: unlike records/s, hardly touched by other load on the machine.
    double direct_cpu_us = 0, naive_cpu_us = 0;
    std::map<std::string, double> replicated_cpu_us;
};

part1_result run_part1(servers& s, const options& o, const dataset& data, const store_clients& clients) {
    std::printf(
        "\n== 1. add throughput: %zu records x %zu dims, batches of %zu, a fresh collection per variant;"
        " %zu rounds in rotating order\n",
        o.records, o.dim, o.batch, o.rounds);
    std::printf(
        "  (us columns: microseconds of CPU per record during the phase, per process; an SQLite log's\n"
        "   work is in the client's column; other load: cores busy with other processes on the machine\n"
        "   during the phase, on average)\n");
    const std::size_t nb = (o.records + o.batch - 1) / o.batch;
    const auto batches = data.batches("id", 0, nb);
    const std::size_t n = nb * o.batch;
    chromawal::chroma_client ca(conn(s.a.url())), cb(conn(s.b.url()));
    std::map<std::string, std::vector<double>> rps, cpu_us;  // by label()

    auto direct = [&](std::size_t r) {
        const std::string name = "direct_r" + std::to_string(r);
        auto c = ca.create_collection(name);
        phase_timer t(s);
        for (const auto& rs : batches) c.add(rs);
        auto res = t.done("direct-one", n);
        check_count(name + " on chroma-a", c.count(), n);
        ca.delete_collection(name);
        return res;
    };
    auto naive = [&](std::size_t r) {
        const std::string name = "naive_r" + std::to_string(r);
        auto c1 = ca.create_collection(name);
        auto c2 = cb.create_collection(name);
        phase_timer t(s);
        for (const auto& rs : batches) {
            // Two adds on two threads per batch, as chromawal does (it, too, starts a thread
            // per write for the second instance).
            auto other = std::async(std::launch::async, [&] { c2.add(rs); });
            c1.add(rs);
            other.get();
        }
        auto res = t.done("naive-two", n);
        check_count(name + " on chroma-a", c1.count(), n);
        check_count(name + " on chroma-b", c2.count(), n);
        ca.delete_collection(name);
        cb.delete_collection(name);
        return res;
    };
    auto replicated = [&](std::size_t r, const std::string& store, chromawal::client& client) {
        const std::string name = "chromawal_r" + std::to_string(r);
        auto c = client.create_collection(name);
        std::size_t on_both = 0;
        phase_timer t(s);
        for (const auto& rs : batches) on_both += c.add(rs).applied.size() == 2 ? 1 : 0;
        auto res = t.done("chromawal-two", n, store);
        if (on_both != batches.size()) {
            std::printf("  note: %zu of %zu writes were applied to both instances before returning\n", on_both,
                        batches.size());
        }
        const std::string db = database_for(store);
        check_count(name + " on chroma-a", chromawal::chroma_client(conn(s.a.url(), db)).get_collection(name).count(),
                    n);
        check_count(name + " on chroma-b", chromawal::chroma_client(conn(s.b.url(), db)).get_collection(name).count(),
                    n);
        client.delete_collection(name);
        return res;
    };
    std::vector<std::function<phase_result(std::size_t)>> variants{direct, naive};
    for (const auto& [store, client] : clients) {
        variants.emplace_back(
            [&replicated, store = store, client = client](std::size_t r) { return replicated(r, store, *client); });
    }

    std::printf("  %-24s %9s %8s %11s %11s %11s %11s %11s\n", "variant (log)", "records/s", "wall s", "client us",
                "chroma-a us", "chroma-b us", "postgres us", "other load");
    for (std::size_t r = 0; r < o.rounds; ++r) {
        std::printf(" round %zu\n", r + 1);
        for (std::size_t k = 0; k < variants.size(); ++k) {
            s.settle();
            auto res = variants[(r + k) % variants.size()](r);
            print_phase(res, r + 1);
            rps[res.label()].push_back(res.rps());
            cpu_us[res.label()].push_back((res.cpu.self + res.cpu.a + res.cpu.b + res.cpu.pg) * 1e6 /
                                          static_cast<double>(res.records));
        }
    }
    part1_result out;
    out.direct = median(rps["direct-one"]);
    out.naive = median(rps["naive-two"]);
    out.direct_cpu_us = median(cpu_us["direct-one"]);
    out.naive_cpu_us = median(cpu_us["naive-two"]);
    std::printf(" medians over %zu rounds: direct-one %.1f, naive-two %.1f records/s\n", o.rounds, out.direct,
                out.naive);
    std::printf(" CPU per record, all four processes (medians): direct-one %.0f us, naive-two %.0f us\n",
                out.direct_cpu_us, out.naive_cpu_us);
    for (const auto& [store, client] : clients) {
        const std::string label = "chromawal-two " + store;
        const double rep = median(rps[label]), rep_cpu = median(cpu_us[label]);
        out.replicated[store] = rep;
        out.replicated_cpu_us[store] = rep_cpu;
        std::printf(" %s: %.1f records/s, %.0f us CPU per record (medians)\n", label.c_str(), rep, rep_cpu);
        std::printf(
            "   chromawal/direct = %.3f (goal >= 0.9)   chromawal/naive = %.3f (the log's own cost; goal ~1)"
            "   naive/chromawal CPU = %.3f\n",
            rep / out.direct, rep / out.naive, out.naive_cpu_us / rep_cpu);
        std::printf(
            "RESULT part=add summary store=%s direct_cpu_us_per_record=%.1f naive_cpu_us_per_record=%.1f "
            "chromawal_cpu_us_per_record=%.1f\n",
            store.c_str(), out.direct_cpu_us, out.naive_cpu_us, rep_cpu);
        std::printf(
            "RESULT part=add summary store=%s direct_rps=%.1f naive_rps=%.1f chromawal_rps=%.1f "
            "chromawal_over_direct=%.3f chromawal_over_naive=%.3f\n",
            store.c_str(), out.direct, out.naive, rep, rep / out.direct, rep / out.naive);
    }
    std::printf("   naive/direct = %.3f\n", out.naive / out.direct);
    if (out.replicated.count("sqlite") && out.replicated.count("postgresql")) {
        const double r = out.replicated["sqlite"] / out.replicated["postgresql"];
        const double c = out.replicated_cpu_us["sqlite"] / out.replicated_cpu_us["postgresql"];
        std::printf(" sqlite/postgresql: records/s %.3f, CPU per record %.3f\n", r, c);
        std::printf("RESULT part=add summary sqlite_over_postgresql=%.3f sqlite_cpu_over_postgresql_cpu=%.3f\n", r, c);
    }
    std::fflush(stdout);
    return out;
}

// --- parts 2 and 3: recovery -----------------------------------------------------------------

struct recovery {
    double boot = 0;        ///< restart() until the server answered its heartbeat (not the library's time)
    double healthy = -1;    ///< from then until status() showed it healthy
    double converged = -1;  ///< from then until status() showed it healthy with lag 0
    std::size_t polls = 0;
    double status_ms_mean = 0, status_ms_max = 0;
    /// (seconds since the server answered, entries still behind) at every change of the lag.
    std::vector<std::pair<double, std::int64_t>> progress;
    std::string progress_text() const {
        std::string out;
        char buf[64];
        for (const auto& [t, lag] : progress) {
            std::snprintf(buf, sizeof buf, "%s%.2fs:%lld", out.empty() ? "" : " ", t, static_cast<long long>(lag));
            out += buf;
        }
        return out;
    }
};

const chromawal::instance_status* find_instance(const chromawal::status_report& st, const std::string& name) {
    for (const auto& i : st.instances) {
        if (i.name == name) return &i;
    }
    return nullptr;
}

/// Restarts b and polls client.status() every 10 ms until b is healthy with lag 0.
recovery restart_and_wait(servers& s, chromawal::client& client, double limit_s = 300) {
    recovery r;
    const auto boot0 = steady::now();
    s.b.restart();
    r.boot = since(boot0);
    const auto t0 = steady::now();
    double status_total = 0;
    for (;;) {
        const auto p0 = steady::now();
        const chromawal::status_report st = client.status();
        const double ms = since(p0) * 1e3;
        status_total += ms;
        r.status_ms_max = std::max(r.status_ms_max, ms);
        ++r.polls;
        const auto* b = find_instance(st, "chroma-b");
        if (b && (r.progress.empty() || r.progress.back().second != b->lag_entries)) {
            r.progress.emplace_back(since(t0), b->lag_entries);
        }
        if (b && b->healthy && r.healthy < 0) r.healthy = since(t0);
        if (b && b->healthy && b->lag_entries == 0 && st.log.reachable) {
            r.converged = since(t0);
            break;
        }
        if (since(t0) > limit_s) throw std::runtime_error("chroma-b did not catch up within the time limit");
        std::this_thread::sleep_until(p0 + 10ms);
    }
    r.status_ms_mean = status_total / static_cast<double>(r.polls);
    return r;
}

/// Kills b and waits until the client has marked it down (so no write below waits on it).
void kill_b(servers& s, chromawal::client& client) {
    s.b.kill9();
    const auto t0 = steady::now();
    while (since(t0) < 30) {
        const auto st = client.status();
        const auto* b = find_instance(st, "chroma-b");
        if (b && !b->healthy) return;
        std::this_thread::sleep_for(10ms);
    }
    throw std::runtime_error("chroma-b was not marked down within 30 s of kill -9");
}

struct part2_result {
    std::string store;
    double catch_up_rps = 0;
    double catch_up_rps_from_healthy = 0;
    double write_one_rps = 0;
    double adjacent_direct_rps = 0;
};

part2_result run_part2(servers& s, const options& o, const dataset& data, const std::string& store,
                       chromawal::client& client, double direct_rps) {
    const std::size_t nb = (o.backlog + o.batch - 1) / o.batch;
    const std::size_t n = nb * o.batch;
    std::printf(" log %s\n", store.c_str());
    const auto batches = data.batches("catchup", 0, nb);
    const std::string name = "chromawal_catchup_" + store;
    auto c = client.create_collection(name);
    s.settle();
    kill_b(s, client);
    std::printf(
        "  chroma-b killed (-9) and marked down; writing the backlog through chromawal (applied to chroma-a)\n");
    phase_timer t(s);
    std::size_t on_a = 0;
    for (const auto& rs : batches) on_a += c.add(rs).applied.size() == 1 ? 1 : 0;
    const auto w = t.done("chromawal-one", n);
    std::printf("  writes with one instance up: %.1f records/s (%zu of %zu applied to chroma-a alone)\n", w.rps(), on_a,
                batches.size());
    std::printf(
        "RESULT part=catchup phase=write_one_up store=%s records=%zu wall_s=%.3f records_per_s=%.1f "
        "client_cpu_s=%.3f chroma_a_cpu_s=%.2f pg_cpu_s=%.2f\n",
        store.c_str(), n, w.wall, w.rps(), w.cpu.self, w.cpu.a, w.cpu.pg);
    s.settle();
    const cpu_sample c0 = s.sample();
    const recovery r = restart_and_wait(s, client);
    const cpu_sample c1 = s.sample();
    chromawal::chroma_client cb(conn(s.b.url(), database_for(store)));
    check_count(name + " on chroma-b after catch-up", cb.get_collection(name).count(), n);

    // The same records ingested directly by the same server right after, for a reference taken
    // under the same conditions (the machine's load drifts within a run).
    s.settle();
    double adjacent_rps = 0;
    {
        const std::string ref = "direct_ref_b_" + store;
        auto d = cb.create_collection(ref);
        phase_timer rt(s);
        for (const auto& rs : batches) d.add(rs);
        adjacent_rps = rt.done("direct-one-b", n).rps();
        check_count(ref + " on chroma-b", d.count(), n);
        cb.delete_collection(ref);
    }

    part2_result out;
    out.store = store;
    out.adjacent_direct_rps = adjacent_rps;
    out.write_one_rps = w.rps();
    out.catch_up_rps = static_cast<double>(n) / r.converged;
    out.catch_up_rps_from_healthy = static_cast<double>(n) / (r.converged - r.healthy);
    std::printf("  chroma-b restarted: its server took %.2f s to answer (not counted); from then:\n", r.boot);
    std::printf("    marked healthy after %.3f s (health_interval %lld ms), lag 0 after %.3f s\n", r.healthy,
                static_cast<long long>(chromawal::client_config{}.health_interval.count()), r.converged);
    std::printf("    catch-up %.1f records/s (%.1f counted from healthy); direct-one ingest %.1f records/s\n",
                out.catch_up_rps, out.catch_up_rps_from_healthy, direct_rps);
    std::printf("    catch-up/direct = %.3f (goal >= 0.8); from healthy: %.3f\n", out.catch_up_rps / direct_rps,
                out.catch_up_rps_from_healthy / direct_rps);
    std::printf(
        "    reference taken right after: direct-one ingest of the same records into chroma-b %.1f records/s;"
        " catch-up/that = %.3f\n",
        adjacent_rps, out.catch_up_rps / adjacent_rps);
    std::printf(
        "    CPU during catch-up: client %.2f s, chroma-b %.2f s, postgres %.2f s; %zu status() polls, "
        "%.1f ms mean, %.1f ms max each\n",
        c1.self - c0.self, c1.b - c0.b, c1.pg - c0.pg, r.polls, r.status_ms_mean, r.status_ms_max);
    std::printf("    progress (seconds since the server answered: entries behind): %s\n", r.progress_text().c_str());
    std::printf(
        "RESULT part=catchup store=%s records=%zu boot_s=%.3f healthy_s=%.3f converged_s=%.3f catch_up_rps=%.1f "
        "catch_up_rps_from_healthy=%.1f direct_rps=%.1f ratio=%.3f adjacent_direct_rps=%.1f adjacent_ratio=%.3f "
        "status_ms_mean=%.2f\n",
        store.c_str(), n, r.boot, r.healthy, r.converged, out.catch_up_rps, out.catch_up_rps_from_healthy, direct_rps,
        out.catch_up_rps / direct_rps, adjacent_rps, out.catch_up_rps / adjacent_rps, r.status_ms_mean);
    std::fflush(stdout);
    client.delete_collection(name);
    return out;
}

struct part3_result {
    std::string label;
    double median_converged = 0;
};

part3_result run_part3_config(servers& s, const options& o, const dataset& data, const std::string& label,
                              chromawal::client_config cfg) {
    std::printf(" %s: health_interval %lld ms, sync_interval %lld ms\n", label.c_str(),
                static_cast<long long>(cfg.health_interval.count()), static_cast<long long>(cfg.sync_interval.count()));
    chromawal::client client(cfg);
    const std::string name = "chromawal_converge_" + label;
    auto c = client.create_collection(name);
    std::vector<double> times;
    for (std::size_t rep = 0; rep < o.repeats; ++rep) {
        const auto batches = data.batches("c", rep * o.small_backlog, o.small_backlog);
        s.settle();
        kill_b(s, client);
        for (const auto& rs : batches) c.add(rs);
        s.settle();
        const recovery r = restart_and_wait(s, client);
        times.push_back(r.converged);
        std::printf(
            "  repeat %zu: server answered after %.2f s (not counted); then healthy after %.3f s, "
            "lag 0 after %.3f s\n",
            rep + 1, r.boot, r.healthy, r.converged);
        std::printf(
            "RESULT part=converge config=%s repeat=%zu entries=%zu boot_s=%.3f healthy_s=%.3f converged_s=%.3f\n",
            label.c_str(), rep + 1, o.small_backlog, r.boot, r.healthy, r.converged);
        std::fflush(stdout);
    }
    chromawal::chroma_client cb(conn(s.b.url(), cfg.database));
    check_count(name + " on chroma-b", cb.get_collection(name).count(), o.repeats * o.small_backlog * o.batch);
    client.delete_collection(name);
    part3_result out{label, median(times)};
    std::printf("  median: %.3f s (goal <= 2 s)\n", out.median_converged);
    std::printf("RESULT part=converge config=%s median_converged_s=%.3f\n", label.c_str(), out.median_converged);
    return out;
}

// --- part 4: raw log appends -----------------------------------------------------------------

struct append_result {
    std::string store;
    std::size_t threads = 0;
    bool shared_lane = true;
    std::size_t appends = 0;
    double wall = 0;
    double other_cpu = 0;  ///< CPU seconds other processes used meanwhile
    std::vector<double> latencies_ms;
    std::vector<double> slice_rates;
    double per_second() const { return wall > 0 ? static_cast<double>(appends) / wall : 0; }
};

/// One slice: `threads` threads append single entries for `seconds`; adds to `acc`.
void run_appends(const servers& s, append_result& acc, double seconds, int run) {
    namespace wal = chromawal::wal;
    const std::size_t threads = acc.threads;
    std::unique_ptr<wal::log_store> opened;
    if (acc.store == "sqlite") {
        opened = std::make_unique<wal::sqlite_log_store>(s.sqlite.path + "/appends.db");
    } else {
        opened = std::make_unique<wal::pg_log_store>(s.pg.uri(), "bench_appends", threads + 1);
    }
    wal::log_store& store = *opened;
    store.migrate();
    // The heads of the lanes say how many entries were really appended: a check on the count.
    auto total_head = [&store] {
        std::int64_t sum = 0;
        for (const auto& l : store.all_lanes("bench")) sum += l.head;
        return sum;
    };
    const std::int64_t head0 = total_head();
    const std::string payload(200, '\x5a');
    std::atomic<std::size_t> ready{0};
    std::atomic<bool> go{false}, stop{false};
    std::vector<std::vector<double>> latencies(threads);
    std::vector<std::thread> pool;
    std::exception_ptr failure;
    std::mutex failure_mutex;
    for (std::size_t t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            try {
                wal::new_entry e;
                e.lane = {"default_tenant", "default_database",
                          acc.shared_lane ? "append_bench" : "append_bench_" + std::to_string(t)};
                e.op = wal::op_kind::add;
                e.payload = payload;
                const std::string prefix = "r" + std::to_string(run) + "-t" + std::to_string(t) + "-";
                std::size_t k = 0;
                e.idempotency_id = prefix + "warm";
                store.append({e});  // connects and prepares outside the clock
                ++ready;
                while (!go) std::this_thread::yield();
                auto& lat = latencies[t];
                lat.reserve(16384);
                while (!stop.load(std::memory_order_relaxed)) {
                    e.idempotency_id = prefix + std::to_string(k++);
                    const auto a0 = steady::now();
                    store.append({e});
                    lat.push_back(since(a0) * 1e3);
                }
            } catch (...) {
                std::lock_guard<std::mutex> lock(failure_mutex);
                if (!failure) failure = std::current_exception();
                ++ready;
            }
        });
    }
    while (ready < threads) std::this_thread::sleep_for(1ms);
    const cpu_sample c0 = s.sample();
    const auto t0 = steady::now();
    go = true;
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& th : pool) th.join();
    const double wall = since(t0);
    const cpu_sample c1 = s.sample();
    if (failure) std::rethrow_exception(failure);
    std::size_t total = 0;
    for (const auto& lat : latencies) {
        total += lat.size();
        acc.latencies_ms.insert(acc.latencies_ms.end(), lat.begin(), lat.end());
    }
    check_count("log appends (lane heads)", static_cast<std::size_t>(total_head() - head0), total + threads);
    acc.appends += total;
    acc.wall += wall;
    acc.other_cpu += std::max(0.0, (c1.machine - c0.machine) - (c1.ours() - c0.ours()));
    acc.slice_rates.push_back(static_cast<double>(total) / wall);
}

std::vector<append_result> run_part4(const servers& s, const options& o) {
    constexpr int slices = 5;
    std::printf(
        "\n== 4. log appends per second (wal::pg_log_store::append, wal::sqlite_log_store::append: one\n"
        "  entry of 200 bytes per call); %.1f s per configuration, in %d slices interleaved across the\n"
        "  configurations and stores (against drift)\n",
        o.append_seconds, slices);
    std::vector<append_result> out;
    for (const auto& store : o.stores) {
        for (bool shared : {true, false}) {
            for (std::size_t threads : o.append_threads) {
                append_result r;
                r.store = store;
                r.threads = threads;
                r.shared_lane = shared;
                out.push_back(std::move(r));
            }
        }
    }
    int run = 0;
    for (int slice = 0; slice < slices; ++slice) {
        for (std::size_t k = 0; k < out.size(); ++k) {
            // Reverse the order every other slice.
            auto& r = out[slice % 2 ? out.size() - 1 - k : k];
            run_appends(s, r, o.append_seconds / slices, run++);
        }
    }
    std::printf("  %-11s %-8s %-17s %10s %17s %9s %9s %11s\n", "store", "threads", "lanes", "appends/s",
                "slices min..max", "p50 ms", "p99 ms", "other load");
    for (auto& r : out) {
        std::sort(r.latencies_ms.begin(), r.latencies_ms.end());
        const auto [lo, hi] = std::minmax_element(r.slice_rates.begin(), r.slice_rates.end());
        const double p50 = percentile(r.latencies_ms, 0.5), p99 = percentile(r.latencies_ms, 0.99);
        std::printf("  %-11s %-8zu %-17s %10.0f %8.0f..%-8.0f %9.2f %9.2f %11.2f\n", r.store.c_str(), r.threads,
                    r.shared_lane ? "one (shared)" : "one per thread", r.per_second(), *lo, *hi, p50, p99,
                    r.other_cpu / r.wall);
        std::printf(
            "RESULT part=appends store=%s threads=%zu lanes=%s appends_per_s=%.0f slice_min=%.0f slice_max=%.0f "
            "p50_ms=%.3f p99_ms=%.3f other_load_cores=%.2f\n",
            r.store.c_str(), r.threads, r.shared_lane ? "shared" : "per_thread", r.per_second(), *lo, *hi, p50, p99,
            r.other_cpu / r.wall);
    }
    // sqlite/postgresql per configuration, when both ran.
    for (const auto& q : out) {
        if (q.store != "sqlite") continue;
        for (const auto& p : out) {
            if (p.store != "postgresql" || p.threads != q.threads || p.shared_lane != q.shared_lane) continue;
            const double ratio = q.per_second() / p.per_second();
            std::printf("  sqlite/postgresql, %2zu threads, %-17s %6.3f\n", q.threads,
                        q.shared_lane ? "one lane:" : "lane per thread:", ratio);
            std::printf("RESULT part=appends threads=%zu lanes=%s sqlite_over_postgresql=%.3f\n", q.threads,
                        q.shared_lane ? "shared" : "per_thread", ratio);
        }
    }
    std::fflush(stdout);
    return out;
}

// --- the machine -----------------------------------------------------------------------------

std::string first_match(const char* path, const char* prefix) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(prefix, 0) == 0) {
            auto colon = line.find(':');
            std::string v = colon == std::string::npos ? line : line.substr(colon + 1);
            v.erase(0, v.find_first_not_of(" \t"));
            return v;
        }
    }
    return "unknown";
}

std::string file_text(const std::string& path) {
    std::ifstream in(path);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

void print_machine() {
    utsname u{};
    uname(&u);
    const double mem_kib = std::strtod(first_match("/proc/meminfo", "MemTotal").c_str(), nullptr);
    std::printf("== machine\n");
    std::printf("cpus:     %ld online\n", sysconf(_SC_NPROCESSORS_ONLN));
    std::printf("cpu:      %s\n", first_match("/proc/cpuinfo", "model name").c_str());
    std::printf("memory:   %.1f GiB\n", mem_kib / 1048576.0);
    std::printf("kernel:   %s %s %s\n", u.sysname, u.release, u.machine);
    std::printf("load:     %s (at start)\n", file_text("/proc/loadavg").substr(0, 14).c_str());
}

int run(const options& o) {
    print_machine();
    const dataset data(std::max(o.records, o.backlog), o.dim, o.batch);

    servers s;
    std::printf("starting PostgreSQL and two Chroma servers...\n");
    s.pg.start();
    s.a.start();
    s.b.start();
    chromawal::chroma_client probe(conn(s.a.url()));
    std::printf(
        "servers:  PostgreSQL %s (defaults: fsync on, synchronous_commit on) on port %d; chroma-a %s, "
        "chroma-b %s (Chroma API %s, max_batch_size %zu)\n",
        file_text(s.pg.dir() + "/data/PG_VERSION").c_str(), s.pg.port(), s.a.url().c_str(), s.b.url().c_str(),
        probe.version().c_str(), probe.max_batch_size());
    std::printf(
        "logs:     %s; SQLite files in %s (WAL mode, synchronous=FULL)\n",
        [&] {
            std::string list;
            for (const auto& st : o.stores)
                list += (list.empty() ? "" : ", ") + st + " (database " + database_for(st) + ")";
            return list;
        }()
            .c_str(),
        s.sqlite.path.c_str());
    const chromawal::client_config defaults;
    std::printf(
        "client:   chromawal::client defaults: sync_interval %lld ms, health_interval %lld ms, "
        "down_after_failures %d, up_after_successes %d, write_quorum %zu\n",
        static_cast<long long>(defaults.sync_interval.count()),
        static_cast<long long>(defaults.health_interval.count()), defaults.down_after_failures,
        defaults.up_after_successes, defaults.write_quorum);
    std::fflush(stdout);
    // The Chroma databases of the stores' clients (default_database exists).
    for (const auto& st : o.stores) {
        if (database_for(st) == "default_database") continue;
        for (const auto* server : {&s.a, &s.b})
            chromawal::chroma_client(conn(server->url())).create_database(database_for(st));
    }

    const auto want = [&](char p) { return o.parts.find(p) != std::string::npos; };
    part1_result p1;
    std::vector<part2_result> p2;
    std::vector<part3_result> p3;
    std::vector<append_result> p4;
    if (want('1') || want('2')) {
        std::vector<std::unique_ptr<chromawal::client>> owned;
        store_clients clients;
        for (const auto& st : o.stores) {
            owned.push_back(std::make_unique<chromawal::client>(replicated_config(s, st)));
            clients.emplace_back(st, owned.back().get());
        }
        if (want('1')) p1 = run_part1(s, o, data, clients);
        if (want('2')) {
            if (p1.direct == 0) {
                // Part 2 compares with direct ingest: measure it once when part 1 did not run.
                chromawal::chroma_client ca(conn(s.a.url()));
                auto c = ca.create_collection("direct_ref");
                const auto batches = data.batches("id", 0, (o.records + o.batch - 1) / o.batch);
                s.settle();
                phase_timer t(s);
                for (const auto& rs : batches) c.add(rs);
                p1.direct = t.done("direct-one", batches.size() * o.batch).rps();
                ca.delete_collection("direct_ref");
            }
            const std::size_t nb = (o.backlog + o.batch - 1) / o.batch;
            std::printf("\n== 2. catch-up of a %zu-record backlog (%zu entries of %zu records), through each log\n",
                        nb * o.batch, nb, o.batch);
            for (const auto& [st, client] : clients) p2.push_back(run_part2(s, o, data, st, *client, p1.direct));
            if (p2.size() == 2) {
                const auto& q = p2[0].store == "sqlite" ? p2[0] : p2[1];
                const auto& p = p2[0].store == "sqlite" ? p2[1] : p2[0];
                const double r = q.catch_up_rps / p.catch_up_rps;
                const double rh = q.catch_up_rps_from_healthy / p.catch_up_rps_from_healthy;
                const double ra = (q.catch_up_rps / q.adjacent_direct_rps) / (p.catch_up_rps / p.adjacent_direct_rps);
                std::printf(
                    " sqlite/postgresql catch-up: %.3f; counted from healthy: %.3f; of each one's catch-up/reference\n"
                    "   taken right after: %.3f\n",
                    r, rh, ra);
                std::printf(
                    "RESULT part=catchup sqlite_over_postgresql=%.3f from_healthy_sqlite_over_postgresql=%.3f "
                    "adjacent_ratio_sqlite_over_postgresql=%.3f\n",
                    r, rh, ra);
            }
        }
    }
    if (want('3')) {
        std::printf("\n== 3. restart to converged, backlog of %zu entries (%zu records each), %zu repeats, log %s\n",
                    o.small_backlog, o.batch, o.repeats, o.stores.front().c_str());
        auto cfg = replicated_config(s, o.stores.front());
        p3.push_back(run_part3_config(s, o, data, "default", cfg));
        cfg.health_interval = 200ms;
        p3.push_back(run_part3_config(s, o, data, "health200ms", cfg));
    }
    if (want('4')) p4 = run_part4(s, o);

    std::printf("\n== summary (load at end: %s)\n", file_text("/proc/loadavg").substr(0, 14).c_str());
    auto verdict = [](bool ok) { return ok ? "met" : "NOT met"; };
    // One line: the part's number (or blank), what, the store (or blank), the figure, the goal
    // and whether it was met (both blank for an informational figure).
    auto line = [](const char* part, const std::string& what, const std::string& store, double value, int decimals,
                   const char* goal = "(informational)", const char* met = "") {
        std::printf("  %-2s %-43s %-10s %8.*f   ", part, what.c_str(), store.c_str(), decimals, value);
        if (*met) {
            std::printf("%-17s %s\n", goal, met);
        } else {
            std::printf("%s\n", goal);
        }
    };
    if (want('1')) {
        const char* part = "1.";
        for (const auto& st : o.stores) {
            const double r = p1.replicated[st] / p1.direct;
            line(part, "chromawal-two / direct-one", st, r, 3, "goal >= 0.9", verdict(r >= 0.9));
            const double q = p1.replicated[st] / p1.naive;
            line("", "chromawal-two / naive-two", st, q, 3, "goal ~1 (>= 0.95)", verdict(q >= 0.95));
            const double c = p1.naive_cpu_us / p1.replicated_cpu_us[st];
            line("", "naive-two / chromawal-two CPU", st, c, 3, "goal ~1 (>= 0.95)", verdict(c >= 0.95));
            part = "";
        }
        if (p1.replicated.size() == 2) {
            line("", "chromawal-two sqlite/postgresql", "", p1.replicated["sqlite"] / p1.replicated["postgresql"], 3);
        }
    }
    const char* part2 = "2.";
    for (const auto& r2 : p2) {
        const double r = r2.catch_up_rps / p1.direct;
        line(part2, "catch-up / direct ingest", r2.store, r, 3, "goal >= 0.8", verdict(r >= 0.8));
        const double a = r2.catch_up_rps / r2.adjacent_direct_rps;
        line("", "catch-up / direct, taken after", r2.store, a, 3, "goal >= 0.8", verdict(a >= 0.8));
        part2 = "";
    }
    if (p2.size() == 2) {
        const auto& q = p2[0].store == "sqlite" ? p2[0] : p2[1];
        const auto& p = p2[0].store == "sqlite" ? p2[1] : p2[0];
        line("", "catch-up sqlite/postgresql", "", q.catch_up_rps / p.catch_up_rps, 3);
        line("", "  counted from healthy", "", q.catch_up_rps_from_healthy / p.catch_up_rps_from_healthy, 3);
    }
    for (const auto& r : p3) {
        line("3.", "restart -> converged (" + r.label + "), s", o.stores.front(), r.median_converged, 3, "goal <= 2 s",
             verdict(r.median_converged <= 2.0));
    }
    std::map<std::string, std::pair<double, double>> best;  // store: (one lane, lane per thread)
    for (const auto& r : p4) {
        auto& b = best[r.store];
        double& slot = r.shared_lane ? b.first : b.second;
        slot = std::max(slot, r.per_second());
    }
    const char* part4 = "4.";
    for (const auto& st : o.stores) {
        if (!best.count(st)) continue;
        const auto [shared, own] = best[st];
        line(part4, "log appends/s, one lane (best)", st, shared, 0, "goal >= 3000", verdict(shared >= 3000));
        line("", "log appends/s, lane per thread (best)", st, own, 0, "goal >= 3000", verdict(own >= 3000));
        part4 = "";
    }
    if (best.size() == 2) {
        line("", "best appends/s sqlite/postgresql, one lane", "", best["sqlite"].first / best["postgresql"].first, 3);
        line("", "  lane per thread", "", best["sqlite"].second / best["postgresql"].second, 3);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse_args(argc, argv);
    try {
        return run(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chromawal_replication_bench: %s\n", e.what());
        return 1;
    }
}
