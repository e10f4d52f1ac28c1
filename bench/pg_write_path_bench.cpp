// chromawal_pg_write_path_bench: what the PostgreSQL log costs per live write (docs/design.md,
// "Statements per write"), without Chroma: the log side of a write to two instances, one write
// after another (append one entry, then for each instance take the lane lock, read the applied
// position, advance past the entry, let the lock go). Starts its own PostgreSQL (tests/support)
// and prints, per mode:
//   RESULT mode=M writes=N statements_per_write=... wal_syncs_per_write=... wal_records_per_write=...
//          pg_cpu_ms_per_write=... wall_ms_per_write=...
// Modes:
//   version6   the statements of schema version 6, sent as that library sent them: S.lock_lane,
//              the applied SELECT, the advance, pg_advisory_unlock (4 per instance); raw libpq on
//              connections of its own, with the store's session settings
//   separate   this library's lane lock without the folded end: lock (with the read), a second
//              applied() read, advance(), the destructor's unlock
//   folded     this library's live path: lock (with the read), advance_and_release()
//   append     the append alone (what every mode shares)
// Options: --writes N per mode and round, --rounds R, --uri URI (a server of your own on this
// machine, e.g. one with fsync off to see the statements' cost without the WAL syncs'),
// --no-wal-stats (skips the 2 x 11 s per mode that the WAL counters need; they then lag).
// pg_cpu is the user+system CPU of the server's client backends (from /proc/PID/stat, so the
// server must run on this machine; the bench starts it), over the writes of one mode. Figures, not a
// test: compare the modes within one run (chromawal_pg_write_path_bench --writes 2000 --rounds 2;
// the modes take turns, so that a noisy neighbour spreads over all of them).
#include <libpq-fe.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "servers.hpp"
#include "wal/pg/keys.hpp"
#include "wal/pg_log_store.hpp"

namespace cw = chromawal;
using clock_type = std::chrono::steady_clock;

namespace {

/// A plain libpq connection (application_name chromawal, like the store's).
class raw_conn {
public:
    explicit raw_conn(const std::string& uri) : c_(PQconnectdb((uri + "?application_name=chromawal").c_str())) {
        if (PQstatus(c_) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(c_));
        exec("SET statement_timeout = 30000");
    }
    ~raw_conn() { PQfinish(c_); }
    raw_conn(const raw_conn&) = delete;
    raw_conn& operator=(const raw_conn&) = delete;

    /// The first column of the first row ("" when none).
    std::string exec(const std::string& sql) {
        PGresult* r = PQexec(c_, sql.c_str());
        const ExecStatusType st = PQresultStatus(r);
        std::string value = (st == PGRES_TUPLES_OK && PQntuples(r) > 0) ? PQgetvalue(r, 0, 0) : "";
        const std::string error = PQresultErrorMessage(r);
        PQclear(r);
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) throw std::runtime_error(sql + ": " + error);
        return value;
    }
    void prepare(const std::string& name, const std::string& sql) {
        PGresult* r = PQprepare(c_, name.c_str(), sql.c_str(), 0, nullptr);
        const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        const std::string error = PQresultErrorMessage(r);
        PQclear(r);
        if (!ok) throw std::runtime_error(name + ": " + error);
    }
    std::string run(const std::string& name, const std::vector<std::string>& values) {
        std::vector<const char*> v;
        for (const auto& s : values) v.push_back(s.c_str());
        PGresult* r = PQexecPrepared(c_, name.c_str(), static_cast<int>(v.size()), v.data(), nullptr, nullptr, 0);
        const ExecStatusType st = PQresultStatus(r);
        std::string value = (st == PGRES_TUPLES_OK && PQntuples(r) > 0) ? PQgetvalue(r, 0, 0) : "";
        const std::string error = PQresultErrorMessage(r);
        PQclear(r);
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) throw std::runtime_error(name + ": " + error);
        return value;
    }

private:
    PGconn* c_;
};

/// The statements of schema version 6's lane lock (lib/wal/pg/statements.cpp before version 7).
void prepare_version6(raw_conn& c, const std::string& s) {
    c.prepare("lock", "SELECT " + s + ".lock_lane($1::int4, $2::int4, $3::int4)");
    c.prepare("applied",
              "SELECT COALESCE(p.applied_position, 0), l.pruned_through, "
              "l.after_lane IS NULL OR COALESCE((SELECT d.applied_position FROM " +
                  s +
                  ".instance_positions d "
                  "  WHERE d.instance = $1 AND d.lane_id = l.after_lane), 0) >= l.after_position "
                  "FROM " +
                  s + ".lanes l LEFT JOIN " + s +
                  ".instance_positions p ON p.lane_id = l.lane_id AND p.instance = $1 WHERE l.lane_id = $2::int8");
    c.prepare("advance", "WITH up AS (INSERT INTO " + s +
                             ".instance_positions AS p (instance, lane_id, applied_position, updated_at) "
                             "  SELECT $1, l.lane_id, $3::int8, now() FROM " +
                             s +
                             ".lanes l WHERE l.lane_id = $2::int8 AND $3::int8 < l.next_position "
                             "  ON CONFLICT (instance, lane_id) DO UPDATE SET applied_position = "
                             "EXCLUDED.applied_position, updated_at = EXCLUDED.updated_at "
                             "  WHERE p.applied_position < EXCLUDED.applied_position RETURNING 1), "
                             "history AS (INSERT INTO " +
                             s +
                             ".apply_history (instance, lane_id, from_position, to_position, skipped) "
                             "  SELECT $1, $2::int8, $4::int8, $3::int8, $6::bool FROM up WHERE $5::bool) "
                             "SELECT 1 FROM up");
    c.prepare("unlock", "SELECT pg_advisory_unlock($1::int4, $2::int4)");
}

/// User + system CPU (ms) of the server's client backends of chromawal (the store's and the
/// version6 connections; not the WAL writer, checkpointer or autovacuum, whose work is noise here).
double backends_cpu_ms(raw_conn& admin) {
    const std::string pids = admin.exec(
        "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' AND application_name = 'chromawal'");
    std::istringstream in(pids);
    long pid = 0;
    double ticks = 0;
    while (in >> pid) {
        std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        if (!std::getline(f, line)) continue;
        const auto close = line.rfind(')');
        std::istringstream rest(line.substr(close + 2));
        std::string field;
        std::vector<std::string> fields;
        while (rest >> field) fields.push_back(field);
        if (fields.size() > 12) ticks += std::stod(fields[11]) + std::stod(fields[12]);  // utime, stime
    }
    return ticks * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

struct wal_counts {
    double syncs = 0, records = 0;
};
wal_counts wal(raw_conn& admin) {
    wal_counts w;
    w.syncs = std::stod(admin.exec("SELECT wal_sync FROM pg_stat_wal"));
    w.records = std::stod(admin.exec("SELECT wal_records FROM pg_stat_wal"));
    return w;
}

}  // namespace

int main(int argc, char** argv) {
    int writes = 2000;
    int rounds = 2;
    std::string uri;
    bool wal_stats = true;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--no-wal-stats") == 0) wal_stats = false;
        if (i + 1 >= argc) continue;
        if (std::strcmp(argv[i], "--writes") == 0) writes = std::atoi(argv[i + 1]);
        if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::atoi(argv[i + 1]);
        if (std::strcmp(argv[i], "--uri") == 0) uri = argv[i + 1];
    }
    try {
        chromawal_test::postgres_server pg;
        if (uri.empty()) {
            pg.start();
            uri = pg.uri();
        }
        const std::string schema = "bench_" + std::to_string(::getpid());
        cw::wal::pg_log_store store(uri, schema, 4);
        store.migrate();
        raw_conn admin(uri);
        const std::string quoted = "\"" + schema + "\"";
        const std::vector<std::string> instances = {"a", "b"};
        std::vector<std::string> modes;
        for (int round = 0; round < rounds; ++round) {
            for (const char* m : {"append", "version6", "separate", "folded"}) modes.emplace_back(m);
        }
        for (const std::string& mode : modes) {
            const cw::wal::lane_key key{
                "t", "d", "bench-" + mode + "-" + std::to_string(clock_type::now().time_since_epoch().count())};
            std::vector<std::unique_ptr<raw_conn>> raw;
            std::vector<std::pair<std::string, std::string>> keys;  // per instance, version6 only
            std::int64_t lane = store.lane_id(key);
            if (mode == "version6") {
                for (const auto& inst : instances) {
                    raw.push_back(std::make_unique<raw_conn>(uri));
                    prepare_version6(*raw.back(), quoted);
                    keys.emplace_back(std::to_string(cw::wal::pg::instance_lock_key(schema, inst)),
                                      std::to_string(cw::wal::pg::lane_lock_key(lane)));
                }
            }
            auto one_write = [&](int n) {
                cw::wal::new_entry e;
                e.lane = key;
                e.idempotency_id = "bench-" + mode + "-" + std::to_string(n) + "-" + std::to_string(::getpid()) + "-" +
                                   std::to_string(lane);
                e.payload = std::string(64, 'x');
                const auto where = store.append({e});
                const std::int64_t pos = where.at(0).position;
                for (std::size_t i = 0; i < instances.size() && mode != "append"; ++i) {
                    if (mode == "version6") {
                        raw_conn& c = *raw[i];
                        if (c.run("lock", {keys[i].first, keys[i].second, "2000"}) != "t") {
                            throw std::runtime_error("lock not taken");
                        }
                        (void)c.run("applied", {instances[i], std::to_string(lane)});
                        (void)c.run("advance", {instances[i], std::to_string(lane), std::to_string(pos),
                                                std::to_string(pos - 1), "f", "f"});
                        (void)c.run("unlock", {keys[i].first, keys[i].second});
                    } else {
                        auto lock = store.lock_lane(instances[i], lane, std::chrono::seconds(2));
                        if (!lock) throw std::runtime_error("lock not taken");
                        (void)lock->applied();
                        if (mode == "separate") {
                            (void)lock->applied();  // a read of its own, as version 6 did
                            lock->advance(pos);
                        } else {
                            lock->advance_and_release(pos);
                        }
                    }
                }
            };
            for (int n = 0; n < 50; ++n) one_write(-1 - n);  // warm: connections, prepared statements
            // Backends send their WAL statistics at most once a second, or after 10 s idle.
            if (wal_stats) std::this_thread::sleep_for(std::chrono::seconds(11));
            const auto statements0 = store.statements_run();
            const double cpu0 = backends_cpu_ms(admin);
            const wal_counts wal0 = wal(admin);
            const auto t0 = clock_type::now();
            for (int n = 0; n < writes; ++n) one_write(n);
            const double wall_ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
            const double cpu_ms = backends_cpu_ms(admin) - cpu0;
            if (wal_stats) std::this_thread::sleep_for(std::chrono::seconds(11));
            const wal_counts wal1 = wal(admin);
            double statements = static_cast<double>(store.statements_run() - statements0);
            if (mode == "version6") statements += 4.0 * static_cast<double>(instances.size()) * writes;
            std::printf(
                "RESULT mode=%s writes=%d statements_per_write=%.2f wal_syncs_per_write=%.2f "
                "wal_records_per_write=%.2f pg_cpu_ms_per_write=%.3f wall_ms_per_write=%.3f\n",
                mode.c_str(), writes, statements / writes, (wal1.syncs - wal0.syncs) / writes,
                (wal1.records - wal0.records) / writes, cpu_ms / writes, wall_ms / writes);
            std::fflush(stdout);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chromawal_pg_write_path_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
