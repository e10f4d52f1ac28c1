// chromawal_replication_bench: what replication through the write-ahead log costs, through
// each log store (PostgreSQL and SQLite), measured as ratios within one run (the machines here
// are small, shared and noisy).
//
// It starts its own PostgreSQL (with pg_stat_statements when it can) and two Chroma servers
// (tests/support: chroma_server, postgres_server), makes a folder of its own for the SQLite logs
// (removed at the end) and runs four parts, each with the stores of --stores (default:
// postgresql,sqlite):
//
//   1. write throughput: cases (see part1_cases) each on a fresh collection, in an order that
//      rotates by one case each round, over --rounds rounds: direct-one, naive-two (adds to a
//      and b on two threads per batch, no log) and chromawal-two per store at --batch; the
//      pipelined single writer (collection::add_async, when the library has it); naive-two and
//      chromawal-two with --writers threads at --small-batch, and naive-two with one writer at
//      --small-batch (the table row); naive-two and chromawal-two into
//      a collection already holding --preload records (built once per run by a direct ingest).
//      Per case: records/s, busy cores, CPU per record of the client, PostgreSQL and each
//      server, PostgreSQL statements, transactions and WAL flushes per write. The summary
//      prints the goals of issue 14 as ratios of medians, met or not.
//   2. catch-up, once per store: kill -9 instance b, write --backlog records through chromawal
//      (applied to a), restart b, time until client.status() shows lag 0 for it (polled every
//      10 ms); compared with a direct ingest of the same records into b, right after, in
//      requests of the replay's own size (and in the writes' batches).
//   3. restart command -> converged (through the first store of --stores): kill b, write
//      --small-backlog batches, restart b, time from the restart command (server boot
//      included) until lag 0; --repeats times (median and spread), with the default
//      health_interval / sync_interval and with health_interval = 200 ms.
//   4. log appends per second: wal::pg_log_store and wal::sqlite_log_store (private headers)
//      with 1, 4 and 16 threads appending real entries (the encoded payload of one --batch of
//      records) for --append-seconds each, all threads on one lane (one collection) and on one
//      lane per thread; sqlite/postgresql per configuration. Once per store, one thread that
//      after each append takes the lane locks of two instances as a live write does (lock and
//      read the applied position, advance, let go): the log's whole part of a write, without the
//      servers. Per configuration, the CPU per logged record of PostgreSQL and of this process.
//
// The clients of the two stores write to different Chroma databases (default_database and
// bench_sqlite): each instance records the one log that drives a database (docs/design.md,
// "One log per instance set"), so two logs cannot share one.
//
// Before every measured phase it waits until the servers are idle (under 0.1 of a core for a
// second; Chroma keeps indexing after an add has returned), so that one case's left-over work
// does not land on the next.
// Output: human-readable tables, machine-readable RESULT lines, and a summary against the
// goals (the sqlite/postgresql ratios are informational). Exit status 1 on an error or a wrong
// record count (never for a missed goal).
// See docs/benchmarks.md ("Replication") and bench/run_replication_bench.sh.

#include <chromawal/chromawal.hpp>

#include "api/connection.hpp"
#include "pq_session.hpp"
#include "proc_cpu.hpp"
#include "servers.hpp"
#include "wal/payload.hpp"
#include "wal/pg_log_store.hpp"
#include "wal/sqlite_log_store.hpp"

#include <stdlib.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
namespace wal = chromawal::wal;

double since(steady::time_point t0) { return std::chrono::duration<double>(steady::now() - t0).count(); }

// --- options -----------------------------------------------------------------------------

struct options {
    std::size_t records = 5000;
    std::size_t dim = 384;
    std::size_t batch = 100;
    std::size_t small_records = 2000;  ///< records of the many-writers cases
    std::size_t small_batch = 10;      ///< their batch size
    std::size_t writers = 8;           ///< their writer threads
    std::size_t window = 8;            ///< writes in flight in the pipelined case
    std::size_t preload = 50000;       ///< records already in the collection of the preloaded cases (0: none)
    std::size_t rounds = 3;
    std::size_t backlog = 10000;
    std::size_t small_backlog = 20;  // batches
    std::size_t repeats = 5;
    double append_seconds = 3;
    std::vector<std::size_t> append_threads{1, 4, 16};
    std::string parts = "1234";
    std::vector<std::string> stores{"postgresql", "sqlite"};
    std::string only;  ///< part 1: only the cases whose label holds this (for profiling one)
};

[[noreturn]] void usage(const char* argv0, int code) {
    std::fprintf(
        code ? stderr : stdout,
        "usage: %s [--records 5000] [--dim 384] [--batch 100] [--small-records 2000] [--small-batch 10]\n"
        "          [--writers 8] [--window 8] [--preload 50000] [--rounds 3] [--backlog 10000]\n"
        "          [--small-backlog 20] [--repeats 5] [--append-seconds 3] [--append-threads 1,4,16]\n"
        "          [--parts 1234] [--stores postgresql,sqlite] [--only TEXT]\n"
        "  --small-records, --small-batch, --writers: the many-writers cases of part 1\n"
        "  --window: writes in flight in the pipelined case; --preload 0 leaves out the preloaded cases\n"
        "  --parts: which parts to run (1 add throughput, 2 catch-up, 3 convergence, 4 log appends);\n"
        "           part 2 compares with part 1's direct-one figure\n"
        "  --stores: the log stores of parts 1, 2 and 4 (part 3 uses the first); PostgreSQL is\n"
        "           started whatever the list\n"
        "  --only: part 1 runs only the cases whose label holds TEXT (e.g. 'chromawal-two postgresql b10 x8',\n"
        "          to profile one: perf record -g -- %s --parts 1 --only ...); goals it lacks print n/a\n",
        argv0, argv0);
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
        else if (a == "--small-records")
            o.small_records = parse_size(argv[0], a.c_str(), v);
        else if (a == "--small-batch")
            o.small_batch = parse_size(argv[0], a.c_str(), v);
        else if (a == "--writers")
            o.writers = parse_size(argv[0], a.c_str(), v);
        else if (a == "--window")
            o.window = parse_size(argv[0], a.c_str(), v);
        else if (a == "--preload")
            o.preload = v == "0" ? 0 : parse_size(argv[0], a.c_str(), v);
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
        } else if (a == "--only") {
            o.only = v;
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

using chromawal_test::tree_cpu_seconds;

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
    /// Waits until the servers are idle: PostgreSQL and both Chroma servers together under 0.1
    /// of a core for `quiet` seconds in a row (Chroma goes on indexing after add has returned),
    /// at most 90 s. Returns the seconds waited. A quiet second also lets PostgreSQL's backends
    /// flush their statistics (at most once a second), which the counters per write rely on.
    double settle(double quiet = 1.0) const {
        return chromawal_test::wait_idle({a.pid(), b.pid(), postmaster_pid(pg)}, 0.1, quiet);
    }
};

// --- PostgreSQL's own counters -------------------------------------------------------------

/// Statements, transactions and WAL flushes of the bench's PostgreSQL, read through a session
/// of its own to the database "postgres" (so that these reads are not counted: the log lives
/// in the database "chromawal"). Statements come from pg_stat_statements when the server
/// could load it (shared_preload_libraries, set by enable_pg_stat_statements below); they are
/// counted as each statement ends. Transactions (pg_stat_database.xact_commit) and WAL flushes
/// (pg_stat_wal.wal_sync, PostgreSQL 15) are flushed by each backend at most once a second,
/// so they are read after the servers have been idle for a second.
struct pg_counters {
    double statements = -1, commits = -1, wal_syncs = -1;
    std::map<std::string, double> by_statement;  ///< calls per statement text (its first 72 characters)
};

class pg_stats {
public:
    explicit pg_stats(int port)
        : session_("host=127.0.0.1 port=" + std::to_string(port) + " user=postgres dbname=postgres") {
        has_pgss_ = !session_.column("select 1 from pg_extension where extname = 'pg_stat_statements'").empty();
        has_wal_ = !session_.column("select 1 from pg_class where relname = 'pg_stat_wal'").empty();
    }
    bool statements() const { return has_pgss_; }
    /// Calls per statement (pg_stat_statements' normalised text, first 72 characters).
    std::map<std::string, double> by_statement() {
        std::map<std::string, double> out;
        if (!has_pgss_) return out;
        for (const auto& row : session_.column(
                 "select s.calls::text || ' ' || left(regexp_replace(coalesce(s.query, ''), '\\s+', ' ', 'g'), 72) "
                 "from pg_stat_statements s join pg_database d on d.oid = s.dbid where d.datname = 'chromawal'")) {
            const auto space = row.find(' ');
            if (space == std::string::npos) continue;
            out[row.substr(space + 1)] += std::stod(row.substr(0, space));
        }
        return out;
    }
    /// The statements (their total and by statement; exact at any moment), without the rest.
    pg_counters statements_now() {
        pg_counters c;
        if (!has_pgss_) return c;
        c.by_statement = by_statement();
        c.statements = 0;
        for (const auto& [text, calls] : c.by_statement) c.statements += calls;
        return c;
    }
    pg_counters read() {
        pg_counters c = statements_now();
        c.commits = std::stod(
            session_.value("select coalesce(sum(xact_commit), 0) from pg_stat_database where datname = 'chromawal'"));
        if (has_wal_) c.wal_syncs = std::stod(session_.value("select wal_sync from pg_stat_wal"));
        return c;
    }

private:
    chromawal_test::pq_session session_;
    bool has_pgss_ = false, has_wal_ = false;
};

/// Restarts the bench's PostgreSQL with pg_stat_statements preloaded, when the server has the
/// module; says what it did. Without it, statements per write are not reported (transactions
/// per write are).
void enable_pg_stat_statements(chromawal_test::postgres_server& pg) {
    {
        chromawal_test::pq_session db("host=127.0.0.1 port=" + std::to_string(pg.port()) +
                                      " user=postgres dbname=postgres");
        const auto available =
            db.column("select 1 from pg_available_extensions where name = 'pg_stat_statements'").size();
        const std::string libdir = db.value("select setting from pg_config where name = 'PKGLIBDIR'");
        if (available == 0 || !std::filesystem::exists(libdir + "/pg_stat_statements.so")) {
            std::printf("postgres: pg_stat_statements not available: statements per write not counted\n");
            return;
        }
        db.exec("alter system set shared_preload_libraries = 'pg_stat_statements'");
    }
    pg.restart();
    chromawal_test::pq_session db("host=127.0.0.1 port=" + std::to_string(pg.port()) +
                                  " user=postgres dbname=postgres");
    db.exec("create extension if not exists pg_stat_statements");
    std::printf("postgres: restarted with pg_stat_statements\n");
}

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

/// Embeddings for `rows` records, generated once; record sets of any ids reuse them.
struct dataset {
    std::size_t dim = 0;
    std::size_t rows = 0;
    std::vector<float> embeddings;
    std::vector<double> scores;
    std::vector<std::uint32_t> topics;

    /// `rows_` rounded up to a multiple of `unit`: record sets start at a multiple of their
    /// size, which divides `unit`, so that their embeddings are contiguous rows.
    dataset(std::size_t rows_, std::size_t dim_, std::size_t unit) : dim(dim_) {
        rows = ((rows_ + unit - 1) / unit) * unit;
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

    /// One record set of `count` records, ids "<prefix>-<n>" for n from `first`, on the rows
    /// from first % rows (which must leave `count` rows).
    chromawal::record_set records(const std::string& prefix, std::size_t first, std::size_t count) const {
        const std::size_t row0 = first % rows;
        if (row0 + count > rows) throw std::logic_error("dataset: record set crosses the end of the rows");
        chromawal::record_set rs;
        rs.ids.reserve(count);
        rs.documents.reserve(count);
        rs.metadatas.reserve(count);
        for (std::size_t k = 0; k < count; ++k) {
            const std::size_t n = first + k;
            const std::size_t row = row0 + k;
            rs.ids.push_back(prefix + "-" + std::to_string(n));
            rs.documents.emplace_back("document " + std::to_string(n) + " about topic " + std::to_string(topics[row]));
            chromawal::metadata_map m;
            m.emplace("source", "bench");
            m.emplace("index", static_cast<std::int64_t>(n));
            m.emplace("score", scores[row]);
            m.emplace("topic", "t" + std::to_string(topics[row]));
            rs.metadatas.emplace_back(std::move(m));
        }
        rs.embeddings = chromawal::embedding_view(embeddings.data() + row0 * dim, count, dim);
        return rs;
    }

    /// `count` record sets of `batch` records, batch b holding ids from b * batch, for b from
    /// `first`. Built before any clock starts: they are what a caller hands to the library.
    std::vector<chromawal::record_set> batches(const std::string& prefix, std::size_t first, std::size_t count,
                                               std::size_t batch) const {
        std::vector<chromawal::record_set> out;
        out.reserve(count);
        for (std::size_t b = first; b < first + count; ++b) out.push_back(records(prefix, b * batch, batch));
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

// --- part 1: write throughput ---------------------------------------------------------------

/// One case of part 1: a way of writing, its batch size, its writer threads.
struct case_spec {
    std::string variant;         ///< direct-one, naive-two, chromawal-two
    std::string store = "none";  ///< the log store of chromawal-two, "none" for the others
    std::size_t batch = 0, records = 0, threads = 1;
    bool pipelined = false;  ///< chromawal-two through add_async, a window of writes in flight
    bool preloaded = false;  ///< into the collection that already holds --preload records
    /// "chromawal-two postgresql b10 x8", "naive-two b100 preloaded", ...
    std::string label() const {
        std::string l = variant + (store == "none" ? "" : " " + store) + " b" + std::to_string(batch);
        if (threads > 1) l += " x" + std::to_string(threads);
        if (pipelined) l += " pipelined";
        if (preloaded) l += " preloaded";
        return l;
    }
};

struct phase_result {
    std::string label;
    double wall = 0;
    cpu_sample cpu;  // CPU seconds used during the phase
    std::size_t records = 0, writes = 0;
    pg_counters pg0, pg1;  ///< PostgreSQL's counters before and after (see pg_stats)
    double rps() const { return static_cast<double>(records) / wall; }
    /// Cores busy with the client, PostgreSQL and both Chroma servers, on average.
    double busy_cores() const { return cpu.ours() / wall; }
    /// Cores used by other processes on the machine during the phase, on average.
    double other_cores() const { return std::max(0.0, cpu.machine - cpu.ours()) / wall; }
    double us_per_record(double seconds) const { return seconds * 1e6 / static_cast<double>(records); }
    double per_write(double before, double after) const {
        return before < 0 || after < 0 ? -1 : (after - before) / static_cast<double>(writes);
    }
    double statements_per_write() const { return per_write(pg0.statements, pg1.statements); }
    double commits_per_write() const { return per_write(pg0.commits, pg1.commits); }
    double wal_syncs_per_write() const { return per_write(pg0.wal_syncs, pg1.wal_syncs); }
};

class phase_timer {
public:
    phase_timer(const servers& s, pg_stats* pg) : s_(s), pg_(pg) {
        if (pg_) pg0_ = pg_->read();
        c0_ = s_.sample();
        t0_ = steady::now();
    }
    /// Ends the phase: wall time, CPU, and the statement count (exact now).
    phase_result done(std::string label, std::size_t records, std::size_t writes) const {
        phase_result r;
        r.wall = since(t0_);
        const cpu_sample c1 = s_.sample();
        r.cpu = {c1.self - c0_.self, c1.a - c0_.a, c1.b - c0_.b, c1.pg - c0_.pg, c1.machine - c0_.machine};
        r.label = std::move(label);
        r.records = records;
        r.writes = writes;
        r.pg0 = pg0_;
        if (pg_) {
            pg_counters now = pg_->statements_now();
            r.pg1.statements = now.statements;
            r.pg1.by_statement = std::move(now.by_statement);
        }
        return r;
    }

private:
    const servers& s_;
    pg_stats* pg_;
    pg_counters pg0_;
    cpu_sample c0_;
    steady::time_point t0_;
};

/// After the servers have been idle for a second: PostgreSQL's flushed counters of the phase.
void finish_pg(phase_result& r, pg_stats* pg) {
    if (!pg) return;
    const pg_counters now = pg->read();
    r.pg1.commits = now.commits;
    r.pg1.wal_syncs = now.wal_syncs;
}

std::string per_write_text(double v) {
    if (v < 0) return "n/a";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
}

void print_phase(const phase_result& r, std::size_t round) {
    std::printf(
        "  %-40s %9.1f %7.2f %8.1f %8.0f %8.0f %8.1f %6.2f %6.2f %7s %6s\n", r.label.c_str(), r.rps(), r.wall,
        r.us_per_record(r.cpu.self), r.us_per_record(r.cpu.a), r.us_per_record(r.cpu.b), r.us_per_record(r.cpu.pg),
        r.busy_cores(), r.other_cores(),
        per_write_text(r.statements_per_write() >= 0 ? r.statements_per_write() : r.commits_per_write()).c_str(),
        per_write_text(r.wal_syncs_per_write()).c_str());
    std::printf(
        "RESULT part=add case=\"%s\" round=%zu records=%zu writes=%zu wall_s=%.3f records_per_s=%.1f "
        "client_cpu_s=%.3f chroma_a_cpu_s=%.2f chroma_b_cpu_s=%.2f pg_cpu_s=%.2f busy_cores=%.2f other_load_cores=%.2f "
        "pg_statements_per_write=%.2f pg_commits_per_write=%.2f pg_wal_syncs_per_write=%.2f\n",
        r.label.c_str(), round, r.records, r.writes, r.wall, r.rps(), r.cpu.self, r.cpu.a, r.cpu.b, r.cpu.pg,
        r.busy_cores(), r.other_cores(), r.statements_per_write(), r.commits_per_write(), r.wal_syncs_per_write());
    // Which statements the log ran, per write (pg_stat_statements), when there were any.
    for (const auto& [text, calls] : r.pg1.by_statement) {
        const auto before = r.pg0.by_statement.find(text);
        const double n = calls - (before == r.pg0.by_statement.end() ? 0 : before->second);
        if (n <= 0 || r.writes == 0) continue;
        std::printf("      %6.2f/write  %s\n", n / static_cast<double>(r.writes), text.c_str());
    }
    std::fflush(stdout);
}

/// Calls write(i) for i in [0, n) from `threads` threads taking the next i in turn; rethrows
/// the first failure.
void run_writers(std::size_t n, std::size_t threads, const std::function<void(std::size_t)>& write) {
    if (threads <= 1) {
        for (std::size_t i = 0; i < n; ++i) write(i);
        return;
    }
    std::atomic<std::size_t> next{0};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < threads; ++t) {
        pool.emplace_back([&] {
            try {
                for (std::size_t i = next++; i < n; i = next++) write(i);
            } catch (...) {
                std::lock_guard<std::mutex> lock(failure_mutex);
                if (!failure) failure = std::current_exception();
                next = n;
            }
        });
    }
    for (auto& th : pool) th.join();
    if (failure) std::rethrow_exception(failure);
}

// The pipelined API (collection::add_async) is found at compile time, so that this program
// builds with and without it.
template <typename C, typename = void>
struct has_add_async : std::false_type {};
template <typename C>
struct has_add_async<
    C, std::void_t<decltype(std::declval<const C&>().add_async(std::declval<const chromawal::record_set&>()))>>
    : std::true_type {};
constexpr bool pipelining_available = has_add_async<chromawal::collection>::value;

/// Writes every batch through add_async with at most `window` writes in flight (waiting for
/// the oldest when the window is full), then waits for the rest. Returns how many writes were
/// applied to both instances before their future was ready.
template <typename C>
std::size_t add_pipelined(const C& c, const std::vector<chromawal::record_set>& batches, std::size_t window) {
    if constexpr (has_add_async<C>::value) {
        std::deque<decltype(c.add_async(batches.front()))> in_flight;
        std::size_t on_both = 0;
        for (const auto& rs : batches) {
            if (in_flight.size() >= window) {
                on_both += in_flight.front().get().applied.size() == 2 ? 1 : 0;
                in_flight.pop_front();
            }
            in_flight.push_back(c.add_async(rs));
        }
        for (auto& f : in_flight) on_both += f.get().applied.size() == 2 ? 1 : 0;
        return on_both;
    } else {
        (void)c;
        (void)batches;
        (void)window;
        throw std::logic_error("this build of chromawal has no collection::add_async");
    }
}

/// Records per request of the preload's direct ingest: ten batches (requests of 5,000 records
/// took more than the 30 s request timeout on a loaded 2-core machine).
std::size_t preload_request(const options& o) { return 10 * o.batch; }

/// The collection of the preloaded cases: created once per run through the log, filled by a
/// direct ingest into both instances; every preloaded case adds records of its own to it.
struct preload_state {
    std::string name = "preloaded";
    std::size_t count = 0;  ///< records in it now
};

/// Creates the preloaded collection through a chromawal::client of `store` (so that the log
/// knows it) and ingests `o.preload` records directly into both instances, in requests of
/// `request` records on two threads: the cheapest way to build it, once per run.
preload_state build_preload(servers& s, const options& o, const dataset& data, const std::string& store,
                            std::size_t request) {
    preload_state p;
    {
        chromawal::client client(replicated_config(s, store));
        client.create_collection(p.name);
    }
    const std::string db = database_for(store);
    auto patient = [&](const std::string& url) {
        chromawal::connection_options c = conn(url, db);
        c.request_timeout = std::chrono::minutes(2);  // a loaded machine is slow, not broken
        return c;
    };
    chromawal::chroma_client ca(patient(s.a.url())), cb(patient(s.b.url()));
    auto c1 = ca.get_collection(p.name);
    auto c2 = cb.get_collection(p.name);
    const std::size_t nb = (o.preload + request - 1) / request;
    const auto t0 = steady::now();
    for (std::size_t b = 0; b < nb; ++b) {
        const auto rs = data.records("preload", b * request, request);
        auto other = std::async(std::launch::async, [&] { c2.add(rs); });
        c1.add(rs);
        other.get();
    }
    p.count = nb * request;
    check_count(p.name + " on chroma-a", c1.count(), p.count);
    check_count(p.name + " on chroma-b", c2.count(), p.count);
    const double ingest = since(t0);
    const double idle = s.settle();
    std::printf(
        "  preloaded collection: %zu records ingested directly into both instances in %.1f s (requests of %zu), "
        "servers idle %.1f s later\n",
        p.count, ingest, request, idle);
    return p;
}

/// Runs one case on a fresh collection (or on the preloaded one) and checks the counts. The
/// servers must be idle before the clock starts (after the collection and the client were
/// made) and again before PostgreSQL's counters are read at the end (before any clean-up).
phase_result run_case(servers& s, const options& o, const dataset& data, const case_spec& cs, std::size_t round,
                      pg_stats* pg, preload_state& pre) {
    const std::size_t nb = (cs.records + cs.batch - 1) / cs.batch;
    const std::size_t n = nb * cs.batch;
    const std::string tag = "r" + std::to_string(round) + "-" + std::to_string(std::hash<std::string>{}(cs.label()));
    const std::string name = cs.preloaded ? pre.name : "case_" + tag;
    const auto batches = data.batches(cs.preloaded ? "p" + tag : "id", 0, nb, cs.batch);
    const std::size_t want = (cs.preloaded ? pre.count : 0) + n;
    const std::string db = cs.store == "none" ? database_for(o.stores.front()) : database_for(cs.store);
    chromawal::chroma_client ca(conn(s.a.url(), db)), cb(conn(s.b.url(), db));
    phase_result res;
    if (cs.variant == "direct-one") {
        auto c = cs.preloaded ? ca.get_collection(name) : ca.create_collection(name);
        s.settle();
        phase_timer t(s, pg);
        run_writers(nb, cs.threads, [&](std::size_t i) { c.add(batches[i]); });
        res = t.done(cs.label(), n, nb);
        s.settle();
        finish_pg(res, pg);
        check_count(name + " on chroma-a", c.count(), want);
        if (!cs.preloaded) ca.delete_collection(name);
    } else if (cs.variant == "naive-two") {
        auto c1 = cs.preloaded ? ca.get_collection(name) : ca.create_collection(name);
        auto c2 = cs.preloaded ? cb.get_collection(name) : cb.create_collection(name);
        s.settle();
        phase_timer t(s, pg);
        run_writers(nb, cs.threads, [&](std::size_t i) {
            // Two adds on two threads per batch, as chromawal applies a write to two instances.
            auto other = std::async(std::launch::async, [&] { c2.add(batches[i]); });
            c1.add(batches[i]);
            other.get();
        });
        res = t.done(cs.label(), n, nb);
        s.settle();
        finish_pg(res, pg);
        check_count(name + " on chroma-a", c1.count(), want);
        check_count(name + " on chroma-b", c2.count(), want);
        if (!cs.preloaded) {
            ca.delete_collection(name);
            cb.delete_collection(name);
        }
    } else {
        // A client of its own per case: no other case's background threads run meanwhile.
        chromawal::client client(replicated_config(s, cs.store));
        auto c = cs.preloaded ? client.get_collection(name) : client.create_collection(name);
        std::atomic<std::size_t> on_both{0};
        s.settle();
        phase_timer t(s, pg);
        if (cs.pipelined) {
            on_both = add_pipelined(c, batches, o.window);
        } else {
            run_writers(nb, cs.threads,
                        [&](std::size_t i) { on_both += c.add(batches[i]).applied.size() == 2 ? 1 : 0; });
        }
        res = t.done(cs.label(), n, nb);
        s.settle();
        finish_pg(res, pg);
        if (on_both != nb) {
            std::printf("  note: %zu of %zu writes were applied to both instances before returning\n", on_both.load(),
                        nb);
        }
        check_count(name + " on chroma-a", ca.get_collection(name).count(), want);
        check_count(name + " on chroma-b", cb.get_collection(name).count(), want);
        if (!cs.preloaded) client.delete_collection(name);
    }
    if (cs.preloaded) pre.count = want;
    return res;
}

/// Every phase of part 1 by case label, in the order run.
using part1_result = std::map<std::string, std::vector<phase_result>>;

/// The median over rounds of f(phase) for the case `label` (NaN when it did not run).
double med(const part1_result& p1, const std::string& label, const std::function<double(const phase_result&)>& f) {
    const auto it = p1.find(label);
    if (it == p1.end() || it->second.empty()) return std::nan("");
    std::vector<double> v;
    for (const auto& r : it->second) v.push_back(f(r));
    return median(v);
}

std::vector<case_spec> part1_cases(const options& o) {
    std::vector<case_spec> out;
    const std::string first = o.stores.front();
    out.push_back({"direct-one", "none", o.batch, o.records});
    out.push_back({"naive-two", "none", o.batch, o.records});
    for (const auto& st : o.stores) out.push_back({"chromawal-two", st, o.batch, o.records});
    if (pipelining_available) out.push_back({"chromawal-two", first, o.batch, o.records, 1, true});
    out.push_back({"naive-two", "none", o.small_batch, o.small_records, o.writers});
    out.push_back({"chromawal-two", first, o.small_batch, o.small_records, o.writers});
    // The table row "naive parallel write to two, batch 10": one writer.
    if (o.writers != 1) out.push_back({"naive-two", "none", o.small_batch, o.small_records, 1});
    if (o.preload > 0) {
        out.push_back({"naive-two", "none", o.batch, o.records, 1, false, true});
        out.push_back({"chromawal-two", first, o.batch, o.records, 1, false, true});
    }
    if (!o.only.empty()) {
        out.erase(std::remove_if(out.begin(), out.end(),
                                 [&](const case_spec& c) { return c.label().find(o.only) == std::string::npos; }),
                  out.end());
    }
    return out;
}

part1_result run_part1(servers& s, const options& o, const dataset& data, pg_stats* pg) {
    const auto cases = part1_cases(o);
    std::printf(
        "\n== 1. write throughput: %zu cases, each on a fresh collection (the preloaded ones on one collection\n"
        "  that already holds %zu records), %zu rounds, the order rotating by one case each round; the\n"
        "  servers idle (< 0.1 core for 1 s) before every case\n",
        cases.size(), o.preload, o.rounds);
    if (!pipelining_available) {
        std::printf("  (the pipelined case is left out: this build of chromawal has no collection::add_async)\n");
    }
    std::printf(
        "  (us columns: microseconds of CPU per record during the phase, per process; an SQLite log's\n"
        "   work is in the client's column; busy: cores used by the client, PostgreSQL and both servers;\n"
        "   other: cores busy with other processes on the machine; stmt/w: PostgreSQL statements per write\n"
        "   (pg_stat_statements; transactions when it is not loaded); wal/w: WAL flushes per write)\n");
    preload_state pre;
    if (std::any_of(cases.begin(), cases.end(), [](const case_spec& c) { return c.preloaded; })) {
        pre = build_preload(s, o, data, o.stores.front(), preload_request(o));
    }
    part1_result out;
    std::printf("  %-40s %9s %7s %8s %8s %8s %8s %6s %6s %7s %6s\n", "case", "records/s", "wall s", "client",
                "chroma-a", "chroma-b", "postgres", "busy", "other", "stmt/w", "wal/w");
    for (std::size_t r = 0; r < o.rounds; ++r) {
        std::printf(" round %zu\n", r + 1);
        for (std::size_t k = 0; k < cases.size(); ++k) {
            const case_spec& cs = cases[(r + k) % cases.size()];
            auto res = run_case(s, o, data, cs, r, pg, pre);
            print_phase(res, r + 1);
            out[res.label].push_back(std::move(res));
        }
    }
    if (o.preload > 0) {
        // Parts 2 and 3 restart chroma-b: a large collection on it would slow its start-up.
        chromawal::client(replicated_config(s, o.stores.front())).delete_collection(pre.name);
    }
    std::printf(" medians over %zu rounds:\n", o.rounds);
    for (const auto& cs : cases) {
        const std::string l = cs.label();
        std::printf(
            "RESULT part=add summary case=\"%s\" records_per_s=%.1f busy_cores=%.2f client_cpu_us_per_record=%.1f "
            "pg_cpu_us_per_record=%.1f chroma_a_cpu_us_per_record=%.1f chroma_b_cpu_us_per_record=%.1f "
            "pg_statements_per_write=%.2f pg_commits_per_write=%.2f pg_wal_syncs_per_write=%.2f\n",
            l.c_str(), med(out, l, [](const phase_result& x) { return x.rps(); }),
            med(out, l, [](const phase_result& x) { return x.busy_cores(); }),
            med(out, l, [](const phase_result& x) { return x.us_per_record(x.cpu.self); }),
            med(out, l, [](const phase_result& x) { return x.us_per_record(x.cpu.pg); }),
            med(out, l, [](const phase_result& x) { return x.us_per_record(x.cpu.a); }),
            med(out, l, [](const phase_result& x) { return x.us_per_record(x.cpu.b); }),
            med(out, l, [](const phase_result& x) { return x.statements_per_write(); }),
            med(out, l, [](const phase_result& x) { return x.commits_per_write(); }),
            med(out, l, [](const phase_result& x) { return x.wal_syncs_per_write(); }));
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
    double catch_up_rps_from_command = 0;
    double write_one_rps = 0;
    std::size_t request_records = 0;  ///< records per request of the replay
    double request_direct_rps = 0;    ///< direct ingest in requests of that size, right after
    double adjacent_direct_rps = 0;   ///< direct ingest in the writes' batches, right after
};

part2_result run_part2(servers& s, const options& o, const dataset& data, const std::string& store, double direct_rps,
                       std::size_t max_batch_size) {
    const std::size_t nb = (o.backlog + o.batch - 1) / o.batch;
    const std::size_t n = nb * o.batch;
    std::printf(" log %s\n", store.c_str());
    chromawal::client client(replicated_config(s, store));
    const auto batches = data.batches("catchup", 0, nb, o.batch);
    // The replay merges consecutive entries into requests of at most the server's batch size
    // and max_request_bytes (lib/replication/applier.cpp): the reference ingest below uses
    // requests of the same size.
    const std::size_t entry_bytes = wal::payload_bytes(wal::decode_records(wal::encode_records(batches.front())), true);
    const std::size_t per_request =
        std::max<std::size_t>(1, std::min(max_batch_size / o.batch, chromawal::detail::max_request_bytes /
                                                                        std::max<std::size_t>(1, entry_bytes)));
    const std::size_t request = std::min(n, per_request * o.batch);
    const std::string name = "chromawal_catchup_" + store;
    auto c = client.create_collection(name);
    s.settle();
    kill_b(s, client);
    std::printf(
        "  chroma-b killed (-9) and marked down; writing the backlog through chromawal (applied to chroma-a)\n");
    phase_timer t(s, nullptr);
    std::size_t on_a = 0;
    for (const auto& rs : batches) on_a += c.add(rs).applied.size() == 1 ? 1 : 0;
    const auto w = t.done("chromawal-one", n, nb);
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

    // The same records ingested directly by the same server right after, for references taken
    // under the same conditions (the machine's load drifts within a run): in requests of the
    // replay's size, and in the writes' batches.
    auto reference = [&](const std::string& ref, std::size_t size) {
        std::vector<chromawal::record_set> sets;
        for (std::size_t first = 0; first < n; first += size)
            sets.push_back(data.records("catchup", first, std::min(size, n - first)));
        auto d = cb.create_collection(ref);
        s.settle();
        phase_timer rt(s, nullptr);
        for (const auto& rs : sets) d.add(rs);
        const double rps = rt.done(ref, n, sets.size()).rps();
        check_count(ref + " on chroma-b", d.count(), n);
        cb.delete_collection(ref);
        return rps;
    };
    const double request_rps = reference("direct_ref_request_" + store, request);
    const double adjacent_rps = reference("direct_ref_batch_" + store, o.batch);

    part2_result out;
    out.store = store;
    out.request_records = request;
    out.request_direct_rps = request_rps;
    out.adjacent_direct_rps = adjacent_rps;
    out.write_one_rps = w.rps();
    out.catch_up_rps = static_cast<double>(n) / r.converged;
    out.catch_up_rps_from_healthy = static_cast<double>(n) / (r.converged - r.healthy);
    out.catch_up_rps_from_command = static_cast<double>(n) / (r.boot + r.converged);
    std::printf("  chroma-b restarted: its server took %.2f s to answer; from then:\n", r.boot);
    std::printf("    marked healthy after %.3f s (health_interval %lld ms), lag 0 after %.3f s\n", r.healthy,
                static_cast<long long>(chromawal::client_config{}.health_interval.count()), r.converged);
    std::printf(
        "    catch-up (the replay, from healthy to lag 0) %.1f records/s; from the server answering %.1f; from the\n"
        "    restart command %.1f\n",
        out.catch_up_rps_from_healthy, out.catch_up_rps, out.catch_up_rps_from_command);
    std::printf(
        "    references taken right after, the same records into a fresh collection on chroma-b: in requests of\n"
        "    %zu records (the replay's, %zu entries of ~%zu bytes each) %.1f records/s; in batches of %zu %.1f; part "
        "1's\n"
        "    direct-one %.1f\n",
        request, per_request, entry_bytes, request_rps, o.batch, adjacent_rps, direct_rps);
    std::printf("    replay / direct ingest of the same request size = %.3f (goal >= 0.8)\n",
                out.catch_up_rps_from_healthy / request_rps);
    std::printf(
        "    CPU during catch-up: client %.2f s, chroma-b %.2f s, postgres %.2f s; %zu status() polls, "
        "%.1f ms mean, %.1f ms max each\n",
        c1.self - c0.self, c1.b - c0.b, c1.pg - c0.pg, r.polls, r.status_ms_mean, r.status_ms_max);
    std::printf("    progress (seconds since the server answered: entries behind): %s\n", r.progress_text().c_str());
    std::printf(
        "RESULT part=catchup store=%s records=%zu boot_s=%.3f healthy_s=%.3f converged_s=%.3f replay_rps=%.1f "
        "catch_up_rps=%.1f from_command_rps=%.1f request_records=%zu request_direct_rps=%.1f "
        "replay_over_request_direct=%.3f batch_direct_rps=%.1f part1_direct_rps=%.1f status_ms_mean=%.2f\n",
        store.c_str(), n, r.boot, r.healthy, r.converged, out.catch_up_rps_from_healthy, out.catch_up_rps,
        out.catch_up_rps_from_command, request, request_rps, out.catch_up_rps_from_healthy / request_rps, adjacent_rps,
        direct_rps, r.status_ms_mean);
    std::fflush(stdout);
    client.delete_collection(name);
    return out;
}

struct part3_result {
    std::string label;
    double median_converged = 0;  ///< from the restart command (server boot included) to lag 0
    double min_converged = 0, max_converged = 0;
    double median_from_answer = 0;  ///< from the restarted server answering its heartbeat
};

part3_result run_part3_config(servers& s, const options& o, const dataset& data, const std::string& label,
                              chromawal::client_config cfg) {
    std::printf(" %s: health_interval %lld ms, sync_interval %lld ms\n", label.c_str(),
                static_cast<long long>(cfg.health_interval.count()), static_cast<long long>(cfg.sync_interval.count()));
    const std::string name = "chromawal_converge_" + label;
    chromawal::client(cfg).create_collection(name);
    std::vector<double> times, from_answer;
    for (std::size_t rep = 0; rep < o.repeats; ++rep) {
        // A client per repeat: each repeat is one outage. With one client for all of them, b
        // went down again within a minute of coming back, which the client treats as flapping
        // and holds it down twice as long each time (1, 2, 4, 8 s...: docs/configuration.md, "Health
        // hysteresis").
        chromawal::client client(cfg);
        auto c = client.get_collection(name);
        const auto batches = data.batches("c", rep * o.small_backlog, o.small_backlog, o.batch);
        s.settle();
        kill_b(s, client);
        for (const auto& rs : batches) c.add(rs);
        s.settle();
        const recovery r = restart_and_wait(s, client);
        times.push_back(r.boot + r.converged);
        from_answer.push_back(r.converged);
        std::printf(
            "  repeat %zu: lag 0 %.3f s after the restart command (server answered after %.3f s; then healthy "
            "after %.3f s, lag 0 after %.3f s)\n",
            rep + 1, r.boot + r.converged, r.boot, r.healthy, r.converged);
        std::printf(
            "RESULT part=converge config=%s repeat=%zu entries=%zu from_command_s=%.3f boot_s=%.3f healthy_s=%.3f "
            "converged_s=%.3f\n",
            label.c_str(), rep + 1, o.small_backlog, r.boot + r.converged, r.boot, r.healthy, r.converged);
        std::fflush(stdout);
    }
    chromawal::chroma_client cb(conn(s.b.url(), cfg.database));
    check_count(name + " on chroma-b", cb.get_collection(name).count(), o.repeats * o.small_backlog * o.batch);
    chromawal::client(cfg).delete_collection(name);
    const auto [lo, hi] = std::minmax_element(times.begin(), times.end());
    part3_result out{label, median(times), *lo, *hi, median(from_answer)};
    std::printf(
        "  restart command -> converged: median %.3f s, spread %.3f..%.3f s over %zu repeats (goal <= 2 s);"
        " from the server answering: median %.3f s\n",
        out.median_converged, out.min_converged, out.max_converged, times.size(), out.median_from_answer);
    std::printf(
        "RESULT part=converge config=%s median_from_command_s=%.3f min_s=%.3f max_s=%.3f median_from_answer_s=%.3f\n",
        label.c_str(), out.median_converged, out.min_converged, out.max_converged, out.median_from_answer);
    return out;
}

// --- part 4: raw log appends -----------------------------------------------------------------

struct append_result {
    std::string store;
    std::size_t threads = 0;
    bool shared_lane = true;
    /// After each append, the lane locks of two instances as a live write takes them: lock and
    /// read the applied position, then advance to the new entry and let go (the log's part of
    /// a write to two instances, without the servers).
    bool with_locks = false;
    std::size_t appends = 0;
    double wall = 0;
    double other_cpu = 0;   ///< CPU seconds other processes used meanwhile
    double pg_cpu = 0;      ///< CPU seconds of PostgreSQL meanwhile
    double client_cpu = 0;  ///< CPU seconds of this process meanwhile (an SQLite log's work is here)
    std::vector<double> latencies_ms;
    std::vector<double> slice_rates;
    double per_second() const { return wall > 0 ? static_cast<double>(appends) / wall : 0; }
    /// Microseconds of `cpu_seconds` per logged record, each entry holding `batch` records.
    double us_per_record(double cpu_seconds, std::size_t batch) const {
        const double records = static_cast<double>(appends) * static_cast<double>(batch);
        return records > 0 ? cpu_seconds / records * 1e6 : 0;
    }
    std::string lanes_label() const {
        if (with_locks) return "one, +2 locks";
        return shared_lane ? "one (shared)" : "one per thread";
    }
    std::string lanes_tag() const {
        if (with_locks) return "shared_with_locks";
        return shared_lane ? "shared" : "per_thread";
    }
};

/// The instances whose lane locks a with_locks configuration takes after each append.
constexpr std::array<const char*, 2> lock_instances{"bench-a", "bench-b"};

/// What a live write does in the log after its append, for each of two instances (one after
/// the other here; the writer does them at once): take the lane lock reading the applied
/// position, then advance it to the new entry and let the lock go.
void lock_and_advance(wal::log_store& store, const wal::appended& at) {
    for (const char* instance : lock_instances) {
        auto lock = store.lock_lane(instance, at.lane_id, 1000ms);
        if (!lock) throw std::runtime_error(std::string("lane lock of ") + instance + " not obtained within 1 s");
        if (lock->applied() >= at.position) {
            throw std::runtime_error(std::string("applied position of ") + instance + " already at the new entry");
        }
        lock->advance_and_release(at.position);
    }
}

/// One slice: `threads` threads append single entries for `seconds`; adds to `acc`.
void run_appends(const servers& s, append_result& acc, double seconds, int run, const std::string& payload) {
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
                          acc.with_locks    ? "append_bench_locked"
                          : acc.shared_lane ? "append_bench"
                                            : "append_bench_" + std::to_string(t)};
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
                    const wal::appended at = store.append({e}).front();
                    if (acc.with_locks) lock_and_advance(store, at);
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
    acc.pg_cpu += c1.pg - c0.pg;
    acc.client_cpu += c1.self - c0.self;
    acc.slice_rates.push_back(static_cast<double>(total) / wall);
}

std::vector<append_result> run_part4(const servers& s, const options& o, const dataset& data) {
    constexpr int slices = 5;
    // A real entry: the payload the library logs for one batch of --batch records (embeddings,
    // documents, metadata), as wal::encode_records writes it.
    const std::string payload = wal::encode_records(data.records("append", 0, o.batch));
    std::printf(
        "\n== 4. log appends per second (wal::pg_log_store::append, wal::sqlite_log_store::append: one\n"
        "  entry per call, the encoded payload of a batch of %zu records: %zu bytes); %.1f s per configuration,\n"
        "  in %d slices interleaved across the configurations and stores (against drift)\n",
        o.batch, payload.size(), o.append_seconds, slices);
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
        // The log's whole part of a live write to two instances, one writer.
        append_result r;
        r.store = store;
        r.threads = 1;
        r.with_locks = true;
        out.push_back(std::move(r));
    }
    int run = 0;
    for (int slice = 0; slice < slices; ++slice) {
        for (std::size_t k = 0; k < out.size(); ++k) {
            // Reverse the order every other slice.
            auto& r = out[slice % 2 ? out.size() - 1 - k : k];
            s.settle(0.3);
            run_appends(s, r, o.append_seconds / slices, run++, payload);
        }
    }
    std::printf(
        "  (lanes \"one, +2 locks\": after each append, the lane locks of two instances as a live write\n"
        "   takes them: lock and read the applied position, advance and let go; pg us/rec, client us/rec:\n"
        "   microseconds of CPU per logged record of PostgreSQL and of this process)\n");
    std::printf("  %-11s %-8s %-17s %10s %17s %9s %9s %10s %10s %11s\n", "store", "threads", "lanes", "appends/s",
                "slices min..max", "p50 ms", "p99 ms", "pg us/rec", "client us", "other load");
    for (auto& r : out) {
        std::sort(r.latencies_ms.begin(), r.latencies_ms.end());
        const auto [lo, hi] = std::minmax_element(r.slice_rates.begin(), r.slice_rates.end());
        const double p50 = percentile(r.latencies_ms, 0.5), p99 = percentile(r.latencies_ms, 0.99);
        const double pg_us = r.us_per_record(r.pg_cpu, o.batch);
        const double client_us = r.us_per_record(r.client_cpu, o.batch);
        std::printf("  %-11s %-8zu %-17s %10.0f %8.0f..%-8.0f %9.2f %9.2f %10.1f %10.1f %11.2f\n", r.store.c_str(),
                    r.threads, r.lanes_label().c_str(), r.per_second(), *lo, *hi, p50, p99, pg_us, client_us,
                    r.other_cpu / r.wall);
        std::printf(
            "RESULT part=appends store=%s threads=%zu lanes=%s payload_bytes=%zu appends_per_s=%.0f slice_min=%.0f "
            "slice_max=%.0f "
            "p50_ms=%.3f p99_ms=%.3f pg_cpu_us_per_record=%.1f client_cpu_us_per_record=%.1f other_load_cores=%.2f\n",
            r.store.c_str(), r.threads, r.lanes_tag().c_str(), payload.size(), r.per_second(), *lo, *hi, p50, p99,
            pg_us, client_us, r.other_cpu / r.wall);
    }
    // sqlite/postgresql per configuration, when both ran.
    for (const auto& q : out) {
        if (q.store != "sqlite" || q.with_locks) continue;
        for (const auto& p : out) {
            if (p.store != "postgresql" || p.threads != q.threads || p.shared_lane != q.shared_lane || p.with_locks) {
                continue;
            }
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
    const std::size_t unit = std::lcm(std::lcm(o.batch, o.small_batch), preload_request(o));
    const dataset data(std::max({o.records, o.backlog, o.small_records, preload_request(o)}), o.dim, unit);

    servers s;
    std::printf("starting PostgreSQL and two Chroma servers...\n");
    s.pg.start();
    enable_pg_stat_statements(s.pg);
    s.a.start();
    s.b.start();
    chromawal::chroma_client probe(conn(s.a.url()));
    const std::size_t max_batch_size = probe.max_batch_size();
    std::printf(
        "servers:  PostgreSQL %s (defaults: fsync on, synchronous_commit on) on port %d; chroma-a %s, "
        "chroma-b %s (Chroma API %s, max_batch_size %zu)\n",
        file_text(s.pg.dir() + "/data/PG_VERSION").c_str(), s.pg.port(), s.a.url().c_str(), s.b.url().c_str(),
        probe.version().c_str(), max_batch_size);
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
        "down_after_failures %d, up_after_successes %d, write_quorum %zu; collection::add_async %s\n",
        static_cast<long long>(defaults.sync_interval.count()),
        static_cast<long long>(defaults.health_interval.count()), defaults.down_after_failures,
        defaults.up_after_successes, defaults.write_quorum, pipelining_available ? "present" : "absent");
    std::fflush(stdout);
    // The Chroma databases of the stores' clients (default_database exists).
    for (const auto& st : o.stores) {
        if (database_for(st) == "default_database") continue;
        for (const auto* server : {&s.a, &s.b})
            chromawal::chroma_client(conn(server->url())).create_database(database_for(st));
    }
    pg_stats pg(s.pg.port());

    const auto want = [&](char p) { return o.parts.find(p) != std::string::npos; };
    part1_result p1;
    double direct_rps = std::nan("");
    std::vector<part2_result> p2;
    std::vector<part3_result> p3;
    std::vector<append_result> p4;
    const std::string first = o.stores.front();
    const std::string l_direct = case_spec{"direct-one", "none", o.batch, o.records}.label();
    const std::string l_naive = case_spec{"naive-two", "none", o.batch, o.records}.label();
    const std::string l_cw = case_spec{"chromawal-two", first, o.batch, o.records}.label();
    const std::string l_pipe = case_spec{"chromawal-two", first, o.batch, o.records, 1, true}.label();
    const std::string l_naive_many = case_spec{"naive-two", "none", o.small_batch, o.small_records, o.writers}.label();
    const std::string l_cw_many = case_spec{"chromawal-two", first, o.small_batch, o.small_records, o.writers}.label();
    const std::string l_naive_small = case_spec{"naive-two", "none", o.small_batch, o.small_records, 1}.label();
    const std::string l_naive_pre = case_spec{"naive-two", "none", o.batch, o.records, 1, false, true}.label();
    const std::string l_cw_pre = case_spec{"chromawal-two", first, o.batch, o.records, 1, false, true}.label();
    const auto rps = [&](const std::string& l) { return med(p1, l, [](const phase_result& x) { return x.rps(); }); };
    if (want('1')) {
        p1 = run_part1(s, o, data, &pg);
        direct_rps = rps(l_direct);
    }
    if (want('2')) {
        if (std::isnan(direct_rps)) {
            // Part 2 also shows part 1's direct ingest: measure it once when part 1 did not run.
            preload_state none;
            direct_rps = run_case(s, o, data, {"direct-one", "none", o.batch, o.records}, 0, nullptr, none).rps();
        }
        const std::size_t nb = (o.backlog + o.batch - 1) / o.batch;
        std::printf("\n== 2. catch-up of a %zu-record backlog (%zu entries of %zu records), through each log\n",
                    nb * o.batch, nb, o.batch);
        for (const auto& st : o.stores) p2.push_back(run_part2(s, o, data, st, direct_rps, max_batch_size));
    }
    if (want('3')) {
        std::printf(
            "\n== 3. restart command -> converged (server boot included), backlog of %zu entries (%zu records each),\n"
            "  %zu repeats, log %s\n",
            o.small_backlog, o.batch, o.repeats, first.c_str());
        auto cfg = replicated_config(s, first);
        p3.push_back(run_part3_config(s, o, data, "default", cfg));
        cfg.health_interval = 200ms;
        p3.push_back(run_part3_config(s, o, data, "health200ms", cfg));
    }
    if (want('4')) p4 = run_part4(s, o, data);

    std::printf("\n== summary (load at end: %s); ratios of medians measured in this run\n",
                file_text("/proc/loadavg").substr(0, 14).c_str());
    // One line: the part's number (or blank), what, the figure, the goal and whether it was met
    // (both blank for an informational figure; "not measured" when a case did not run).
    auto line = [](const char* part, const std::string& what, double value, int decimals, const std::string& goal = "",
                   int met = -1) {
        std::printf("  %-2s %-62s ", part, what.c_str());
        if (std::isnan(value) || value < 0) {
            std::printf("%9s   %s\n", "n/a", goal.empty() ? "(informational)" : (goal + "   not measured").c_str());
        } else if (met < 0) {
            std::printf("%9.*f   (informational)\n", decimals, value);
        } else {
            std::printf("%9.*f   %-14s %s\n", decimals, value, goal.c_str(), met ? "met" : "NOT met");
        }
    };
    auto at_least = [&](const char* part, const std::string& what, double v, double goal, int decimals = 3) {
        char g[32];
        std::snprintf(g, sizeof g, ">= %g", goal);
        line(part, what, v, decimals, g, v >= goal ? 1 : 0);
    };
    auto at_most = [&](const char* part, const std::string& what, double v, double goal, int decimals = 2) {
        char g[32];
        std::snprintf(g, sizeof g, "<= %g", goal);
        line(part, what, v, decimals, g, v <= goal ? 1 : 0);
    };
    if (want('1')) {
        const auto f = [&](const std::string& l, double (*get)(const phase_result&)) {
            return med(p1, l, [get](const phase_result& x) { return get(x); });
        };
        const auto client_us = [](const phase_result& x) { return x.us_per_record(x.cpu.self); };
        const auto pg_us = [](const phase_result& x) { return x.us_per_record(x.cpu.pg); };
        const auto busy = [](const phase_result& x) { return x.busy_cores(); };
        const auto stmts = [](const phase_result& x) { return x.statements_per_write(); };
        const auto commits = [](const phase_result& x) { return x.commits_per_write(); };
        const auto syncs = [](const phase_result& x) { return x.wal_syncs_per_write(); };
        const std::string many = std::to_string(o.writers) + " writers at batch " + std::to_string(o.small_batch);
        const std::string big = "batch " + std::to_string(o.batch);
        // The goal's "naive parallel write at batch 10" read both ways: with the same writers, and
        // as the table row (one writer).
        at_least("1.", "chromawal " + many + " / naive " + many, rps(l_cw_many) / rps(l_naive_many), 2.0);
        at_least("", "chromawal " + many + " / naive 1 writer at batch " + std::to_string(o.small_batch),
                 rps(l_cw_many) / rps(l_naive_small), 2.0);
        at_least("", "chromawal " + many + " / chromawal 1 writer " + big, rps(l_cw_many) / rps(l_cw), 0.8);
        at_least("", "chromawal 1 writer " + big + " pipelined / not pipelined", rps(l_pipe) / rps(l_cw), 1.15);
        char cores[32];
        std::snprintf(cores, sizeof cores, ">= %.2f", 0.95 * static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN)));
        const double pipe_busy = f(l_pipe, busy);
        line("", "busy cores, 1 writer " + big + " pipelined", pipe_busy, 2, cores,
             pipe_busy >= 0.95 * static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN)) ? 1 : 0);
        at_least("", "chromawal / naive, 1 writer " + big + ", not pipelined", rps(l_cw) / rps(l_naive), 0.98);
        at_most("", "client CPU us per replicated record, " + big, f(l_cw, client_us), 15, 1);
        at_most("", "PostgreSQL CPU us per record, " + big, f(l_cw, pg_us), 20, 1);
        if (pg.statements()) {
            at_most("", "PostgreSQL statements per write, " + big, f(l_cw, stmts), 5);
        } else {
            line("", "PostgreSQL statements per write, " + big + " (no pg_stat_statements)", -1, 2, "<= 5");
            line("", "  PostgreSQL transactions per write instead", f(l_cw, commits), 2);
        }
        at_most("", "PostgreSQL WAL flushes per write, " + big, f(l_cw, syncs), 2);
        at_least("", "chromawal 1 writer " + big + " / direct-one", rps(l_cw) / rps(l_direct), 0.9);
        line("", "busy cores, chromawal 1 writer " + big, f(l_cw, busy), 2);
        line("", "busy cores, chromawal " + many, f(l_cw_many, busy), 2);
        line("", "PostgreSQL statements per write, " + many, f(l_cw_many, stmts), 2);
        line("", "PostgreSQL WAL flushes per write, " + many, f(l_cw_many, syncs), 2);
        line("", "preloaded: chromawal / naive, " + big, rps(l_cw_pre) / rps(l_naive_pre), 3);
        line("", "preloaded / empty collection, chromawal " + big, rps(l_cw_pre) / rps(l_cw), 3);
        if (o.stores.size() == 2) {
            const std::string q = case_spec{"chromawal-two", "sqlite", o.batch, o.records}.label();
            const std::string p = case_spec{"chromawal-two", "postgresql", o.batch, o.records}.label();
            line("", "chromawal-two sqlite / postgresql, " + big, rps(q) / rps(p), 3);
        }
    }
    const char* part2 = "2.";
    for (const auto& r2 : p2) {
        at_least(part2, "replay / direct ingest of the same request size, " + r2.store,
                 r2.catch_up_rps_from_healthy / r2.request_direct_rps, 0.8);
        line("", "  catch-up from the server answering / the same", r2.catch_up_rps / r2.request_direct_rps, 3);
        line("", "  catch-up from the restart command / the same", r2.catch_up_rps_from_command / r2.request_direct_rps,
             3);
        part2 = "";
    }
    for (const auto& r : p3) {
        at_most("3.", "restart command -> converged, median s (" + r.label + ")", r.median_converged, 2.0, 3);
        char spread[64];
        std::snprintf(spread, sizeof spread, "  spread %.3f..%.3f s over %zu repeats", r.min_converged, r.max_converged,
                      o.repeats);
        line("", spread, r.max_converged - r.min_converged, 3);
    }
    std::map<std::string, std::pair<double, double>> best;  // store: (one lane, lane per thread)
    for (const auto& r : p4) {
        if (r.with_locks) continue;
        auto& b = best[r.store];
        double& slot = r.shared_lane ? b.first : b.second;
        slot = std::max(slot, r.per_second());
    }
    const char* part4 = "4.";
    for (const auto& st : o.stores) {
        if (!best.count(st)) continue;
        const auto [shared, own] = best[st];
        // The 3,000 appends/s goal was set with 200-byte entries; each entry here holds a batch.
        at_least(part4, "log appends/s, one lane (best), " + st, shared, 3000, 0);
        at_least("", "log appends/s, lane per thread (best), " + st, own, 3000, 0);
        line("", "  records/s logged, one lane (best), " + st, shared * static_cast<double>(o.batch), 0);
        part4 = "";
    }
    if (best.size() == 2) {
        line("", "best appends/s sqlite/postgresql, one lane", best["sqlite"].first / best["postgresql"].first, 3);
        line("", "  lane per thread", best["sqlite"].second / best["postgresql"].second, 3);
    }
    // What PostgreSQL spends per record on the log's statements of one writer, without the
    // servers: the floor under part 1's "PostgreSQL CPU us per record" (which adds the sync
    // thread's passes and the marking of applied entries).
    for (const auto& r : p4) {
        if (r.store != "postgresql" || r.threads != 1 || !r.shared_lane || r.appends == 0) continue;
        const double us = r.us_per_record(r.pg_cpu, o.batch);
        line("",
             r.with_locks ? "PostgreSQL CPU us per record, append + 2 lane locks, batch " + std::to_string(o.batch)
                          : "PostgreSQL CPU us per record, append alone, batch " + std::to_string(o.batch),
             us, 1);
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
