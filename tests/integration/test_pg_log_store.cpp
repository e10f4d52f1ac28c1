// The log-store contract, against both stores: PostgreSQL (a throwaway cluster per test process,
// started on first use; each test case in its own schema) and SQLite (a file per test case in a
// throwaway folder). Test cases tagged [log_store] run once per store (a Catch2 generator over
// store_kind); those tagged [pg_log_store] only are about PostgreSQL itself (its connections,
// schemas, advisory locks) and those tagged [sqlite_log_store] about SQLite's file and locks.

#include <libpq-fe.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "chromawal/error.hpp"
#include "log_stores.hpp"
#include "poll.hpp"
#include "pq_session.hpp"
#include "servers.hpp"
#include "wal/pg_log_store.hpp"
#include "wal/sqlite_log_store.hpp"

namespace {

using chromawal_test::eventually;

using namespace std::chrono_literals;
using chromawal::wal::abandon_result;
using chromawal::wal::appended;
using chromawal::wal::entry;
using chromawal::wal::entry_state;
using chromawal::wal::lane_key;
using chromawal::wal::lane_progress;
using chromawal::wal::log_store;
using chromawal::wal::new_entry;
using chromawal::wal::op_kind;
using chromawal::wal::pg_log_store;
using chromawal::wal::sqlite_log_store;
using chromawal_test::store_kind;
using steady = std::chrono::steady_clock;

chromawal_test::postgres_server& shared_pg() { return chromawal_test::shared_pg(); }

std::string fresh_schema() {
    static std::atomic<int> counter{0};
    return "cwt_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
}

std::string unique_id(const std::string& prefix) {
    static std::atomic<long> counter{0};
    return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
}

new_entry make_entry(const lane_key& lane, std::string payload = "p", op_kind op = op_kind::add) {
    return new_entry{lane, unique_id("id"), op, std::move(payload)};
}

appended append_one(log_store& store, const lane_key& lane, std::string payload = "p") {
    auto out = store.append({make_entry(lane, std::move(payload))});
    REQUIRE(out.size() == 1);
    return out[0];
}

/// A thread that is joined however the test ends (a failed REQUIRE must not std::terminate).
class joining_thread {
public:
    template <class F>
    explicit joining_thread(F&& f) : t_(std::forward<F>(f)) {}
    ~joining_thread() {
        if (t_.joinable()) t_.join();
    }
    joining_thread(joining_thread&&) = default;
    joining_thread& operator=(joining_thread&&) = delete;
    joining_thread(const joining_thread&) = delete;
    joining_thread& operator=(const joining_thread&) = delete;
    void join() { t_.join(); }

private:
    std::thread t_;
};

long long elapsed_ms(steady::time_point since) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - since).count();
}

/// A plain libpq connection for looking behind the store's back (throws on a failed statement).
using raw_conn = chromawal_test::pq_session;

/// The first column of the first row of `sql` ("" when none or on error). No Catch2 macro, so
/// a helper thread may call it (on a connection only it uses).
std::string query_value(PGconn* c, const std::string& sql) {
    PGresult* r = PQexec(c, sql.c_str());
    std::string value = (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) ? PQgetvalue(r, 0, 0) : "";
    PQclear(r);
    return value;
}

/// Sessions of the store ("chromawal") waiting for an advisory lock: lane locks, abandon.
const std::string advisory_waiters =
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'chromawal' "
    "AND wait_event_type = 'Lock' AND wait_event = 'advisory'";

/// Reads everything after the instance's applied position, the way an applier does, and
/// advances past it. Returns the positions seen.
std::vector<std::int64_t> drain(log_store& store, const std::string& instance, std::int64_t lane) {
    std::vector<std::int64_t> seen;
    auto lock = store.lock_lane(instance, lane, 5s);
    REQUIRE(lock);
    for (;;) {
        auto batch = lock->read(100, 1 << 20);
        if (batch.empty()) break;
        for (const auto& e : batch) seen.push_back(e.position);
        lock->advance(batch.back().position);
    }
    return seen;
}

}  // namespace

TEST_CASE("pg_log_store: rejects bad schema names and parameters", "[pg_log_store]") {
    for (const char* bad : {"", "Bad", "1abc", "a-b", "a;drop table x", "a\"b", "chromawal.x"}) {
        INFO(bad);
        CHECK_THROWS_AS(pg_log_store("", bad), chromawal::invalid_argument);
    }
    CHECK_THROWS_AS(pg_log_store("", std::string(64, 'a')), chromawal::invalid_argument);
    CHECK_NOTHROW(pg_log_store("", "_ok_1"));
    CHECK_THROWS_AS(pg_log_store("", "ok", 0), chromawal::invalid_argument);
}

TEST_CASE("pg_log_store: migrate is repeatable and safe from concurrent processes", "[pg_log_store]") {
    auto& pg = shared_pg();
    const std::string schema = fresh_schema();
    {
        pg_log_store store(pg.uri(), schema);
        REQUIRE_NOTHROW(store.migrate());
        REQUIRE_NOTHROW(store.migrate());
    }
    const std::string schema2 = fresh_schema();
    std::atomic<int> ready{0};
    std::atomic<int> failures{0};
    std::vector<joining_thread> threads;
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&] {
            ++ready;
            while (ready.load() < 4) std::this_thread::yield();
            try {
                pg_log_store store(pg.uri(), schema2);
                store.migrate();
                store.migrate();
            } catch (const std::exception&) {
                ++failures;
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(failures.load() == 0);
    raw_conn raw(pg.uri());
    CHECK(raw.exec("SELECT count(*) FROM " + schema2 + ".schema_version") == "7");  // versions 1 to 7
    CHECK(raw.exec("SELECT max(version) FROM " + schema2 + ".schema_version") == "7");
    // One identity, made once however many processes migrated at once.
    CHECK(raw.exec("SELECT count(*) FROM " + schema2 + ".log_identity") == "1");
    // No credentials or headers anywhere: the only text columns are names, ids and errors.
    CHECK(raw.exec("SELECT count(*) FROM information_schema.columns WHERE table_schema = '" + schema2 +
                   "' AND (column_name LIKE '%password%' OR column_name LIKE '%header%' OR "
                   "column_name LIKE '%token%' OR column_name LIKE '%conninfo%')") == "0");
}

TEST_CASE("log store: statements before migrate fail with log_unavailable", "[log_store]") {
    const auto where = chromawal_test::fresh_store(GENERATE(store_kind::postgresql, store_kind::sqlite));
    INFO(where.describe());
    auto opened = where.open(8);
    log_store& store = *opened;
    try {
        store.append({make_entry({"t", "d", "c"})});
        FAIL("append without a schema succeeded");
    } catch (const chromawal::log_unavailable& e) {
        CHECK(std::string(e.what()).find("append") != std::string::npos);
        CHECK(std::string(e.what()).find("migrate") != std::string::npos);
    }
}

TEST_CASE("log store: append and read round trip, binary payloads", "[log_store]") {
    const auto where = chromawal_test::fresh_store(GENERATE(store_kind::postgresql, store_kind::sqlite));
    INFO(where.describe());
    auto opened = where.open(8);
    log_store& store = *opened;
    store.migrate();
    const lane_key a{"tenant", "db", "docs"};
    const lane_key b{"tenant", "db", "other"};

    std::string binary;
    for (int i = 0; i < 256; ++i) binary += static_cast<char>(i);
    binary += std::string(5, '\0') + "tail";
    const std::string big(1 << 20, '\x7f');

    std::vector<new_entry> batch = {make_entry(a, binary, op_kind::upsert), make_entry(b, "b1"),
                                    make_entry(a, "", op_kind::delete_records), make_entry(a, big),
                                    make_entry(b, "b2", op_kind::update)};
    auto before = std::time(nullptr);
    auto out = store.append(batch);
    REQUIRE(out.size() == batch.size());
    // Consecutive positions per lane, in the order given.
    CHECK(out[0].position == 1);
    CHECK(out[2].position == 2);
    CHECK(out[3].position == 3);
    CHECK(out[1].position == 1);
    CHECK(out[4].position == 2);
    CHECK(out[0].lane_id == out[2].lane_id);
    CHECK(out[0].lane_id != out[1].lane_id);
    CHECK(store.lane_id(a) == out[0].lane_id);
    CHECK(store.lane_id(b) == out[1].lane_id);

    auto lock = store.lock_lane("inst", out[0].lane_id, 1s);
    REQUIRE(lock);
    CHECK(lock->applied() == 0);
    auto got = lock->read(10, 4 << 20);
    REQUIRE(got.size() == 3);
    CHECK(got[0].payload == binary);
    CHECK(got[0].payload.size() == 256 + 9);
    CHECK(got[0].op == op_kind::upsert);
    CHECK(got[0].idempotency_id == batch[0].idempotency_id);
    CHECK(got[0].state == entry_state::pending);
    CHECK(got[0].attempts == 0);
    CHECK(got[0].last_error.empty());
    CHECK(got[0].lane_id == out[0].lane_id);
    CHECK(got[0].created_at >= static_cast<double>(before) - 60);
    CHECK(got[0].created_at <= static_cast<double>(std::time(nullptr)) + 60);
    CHECK(got[1].payload.empty());
    CHECK(got[1].op == op_kind::delete_records);
    CHECK(got[2].payload == big);

    auto e = store.read_entry(out[4].lane_id, out[4].position);
    REQUIRE(e);
    CHECK(e->payload == "b2");
    CHECK(e->op == op_kind::update);
    CHECK_FALSE(store.read_entry(out[4].lane_id, 99));
    CHECK(store.append({}).empty());
}

TEST_CASE("log store: read stops before max_bytes but returns at least one entry", "[log_store]") {
    const auto where = chromawal_test::fresh_store(GENERATE(store_kind::postgresql, store_kind::sqlite));
    INFO(where.describe());
    auto opened = where.open(8);
    log_store& store = *opened;
    store.migrate();
    const lane_key k{"t", "d", "c"};
    std::vector<new_entry> batch;
    for (int i = 0; i < 5; ++i) batch.push_back(make_entry(k, std::string(100, 'x')));
    auto out = store.append(batch);
    auto lock = store.lock_lane("i", out[0].lane_id, 1s);
    REQUIRE(lock);
    CHECK(lock->read(10, 250).size() == 2);
    CHECK(lock->read(10, 300).size() == 3);
    CHECK(lock->read(10, 10).size() == 1);
    CHECK(lock->read(2, 1 << 20).size() == 2);
    CHECK(lock->read(0, 1 << 20).empty());
    lock->advance(4);
    auto rest = lock->read(10, 10);
    REQUIRE(rest.size() == 1);
    CHECK(rest[0].position == 5);
}

TEST_CASE("log store: duplicate idempotency ids are refused", "[log_store]") {
    const auto where = chromawal_test::fresh_store(GENERATE(store_kind::postgresql, store_kind::sqlite));
    INFO(where.describe());
    auto opened = where.open(8);
    log_store& store = *opened;
    store.migrate();
    const lane_key k{"t", "d", "c"};
    auto first = make_entry(k);
    store.append({first});
    CHECK_THROWS_AS(store.append({first}), chromawal::invalid_argument);
    auto x = make_entry(k);
    CHECK_THROWS_AS(store.append({make_entry(k), x, x}), chromawal::invalid_argument);
    // Nothing of the refused appends was kept: the next position is 2.
    CHECK(append_one(store, k).position == 2);
}

TEST_CASE("log store: positions are gapless under 8 concurrent appenders", "[log_store]") {
    const auto where = chromawal_test::fresh_store(GENERATE(store_kind::postgresql, store_kind::sqlite));
    INFO(where.describe());
    auto opened = where.open(8);
    log_store& store = *opened;
    store.migrate();
    const lane_key x{"t", "d", "x"};
    const lane_key y{"t", "d", "y"};
    constexpr int threads_n = 8;
    constexpr int appends_per_thread = 60;
    std::mutex mu;
    std::vector<std::int64_t> xs;
    std::vector<std::int64_t> ys;
    std::string errors;
    std::atomic<int> failures{0};
    std::vector<joining_thread> threads;
    for (int t = 0; t < threads_n; ++t) {
        threads.emplace_back([&, t] {
            try {
                for (int i = 0; i < appends_per_thread; ++i) {
                    std::vector<new_entry> batch;
                    if (i % 5 == 0) {
                        // Two lanes, in opposite orders on odd and even threads: must not deadlock.
                        if (t % 2 == 0) {
                            batch = {make_entry(x), make_entry(y), make_entry(x)};
                        } else {
                            batch = {make_entry(y), make_entry(x), make_entry(y)};
                        }
                    } else {
                        batch = {make_entry(x)};
                    }
                    auto out = store.append(batch);
                    std::lock_guard<std::mutex> lock(mu);
                    for (std::size_t j = 0; j < out.size(); ++j) {
                        (batch[j].lane == x ? xs : ys).push_back(out[j].position);
                    }
                }
            } catch (const std::exception& e) {
                ++failures;
                std::lock_guard<std::mutex> lock(mu);
                errors += std::string(e.what()) + "\n";
            }
        });
    }
    for (auto& t : threads) t.join();
    INFO(errors);
    REQUIRE(failures.load() == 0);
    for (auto* positions : {&xs, &ys}) {
        std::sort(positions->begin(), positions->end());
        std::vector<std::int64_t> expected(positions->size());
        for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<std::int64_t>(i) + 1;
        CHECK(*positions == expected);  // 1..N, each exactly once
    }
    auto lanes = store.all_lanes("nobody");
    REQUIRE(lanes.size() == 2);
    for (const auto& l : lanes) {
        CHECK(l.head == static_cast<std::int64_t>(l.key == x ? xs.size() : ys.size()));
    }
}

namespace {

/// Holds appends open inside their transaction: a test trigger on the entries table waits, for
/// entries whose idempotency id starts with "stall-", on an advisory lock that hold() takes.
class stall_gate {
public:
    stall_gate(const std::string& uri, const std::string& schema) : gate_(uri), watcher_(uri) {
        gate_.exec("CREATE FUNCTION " + schema +
                   ".stall() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "IF NEW.idempotency_id LIKE 'stall-%' THEN PERFORM pg_advisory_xact_lock(4242, 4242); END IF; "
                   "RETURN NEW; END $$");
        gate_.exec("CREATE TRIGGER stall BEFORE INSERT ON " + schema + ".entries FOR EACH ROW EXECUTE FUNCTION " +
                   schema + ".stall()");
    }
    void hold() { gate_.exec("SELECT pg_advisory_lock(4242, 4242)"); }
    void release() { gate_.exec("SELECT pg_advisory_unlock(4242, 4242)"); }
    /// Waits until an append of the store waits at the gate (it has taken its positions).
    bool wait_until_stalled() {
        for (auto t0 = steady::now(); elapsed_ms(t0) < 10000; std::this_thread::sleep_for(5ms)) {
            if (!watcher_
                     .exec("SELECT pid FROM pg_stat_activity WHERE application_name = 'chromawal' "
                           "AND wait_event = 'advisory'")
                     .empty()) {
                return true;
            }
        }
        return false;
    }
    raw_conn& watcher() { return watcher_; }

private:
    raw_conn gate_;
    raw_conn watcher_;
};

/// append() on a thread; the outcome is read after join().
class async_append {
public:
    async_append(log_store& store, std::vector<new_entry> entries)
        : entries_(std::move(entries)), thread_([this, &store] {
              try {
                  out_ = store.append(entries_);
              } catch (const chromawal::invalid_argument&) {
                  refused_ = true;
              } catch (const std::exception& e) {
                  error_ = e.what();
              }
              done_ = true;
          }) {}
    ~async_append() {
        if (thread_.joinable()) thread_.join();
    }
    async_append(const async_append&) = delete;
    async_append& operator=(const async_append&) = delete;
    bool done() const { return done_; }
    void join() { thread_.join(); }
    const std::vector<appended>& out() const { return out_; }
    bool refused() const { return refused_; }
    const std::string& error() const { return error_; }

private:
    std::vector<new_entry> entries_;
    std::vector<appended> out_;
    bool refused_ = false;
    std::string error_;
    std::atomic<bool> done_{false};
    std::thread thread_;
};

new_entry stalling_entry(const lane_key& lane) {
    auto e = make_entry(lane);
    e.idempotency_id = unique_id("stall");
    return e;
}

}  // namespace

// The ordering contract. With a sequence or BIGSERIAL, transaction B (started after A) would get
// position p+1 and commit while A is still open; a reader that keeps `position > last` would
// then see p+1, move past it, and never see p. Here A is a store's own append, held open after
// it took its position by a test trigger; B is an append to the same lane by another store (as
// from another process). B must wait for A, and the reader must see p, then p+1.
TEST_CASE("pg_log_store: a later append cannot commit a position before an earlier one", "[pg_log_store]") {
    auto& pg = shared_pg();
    const std::string schema = fresh_schema();
    pg_log_store store_a(pg.uri(), schema);
    pg_log_store store_b(pg.uri(), schema);
    store_a.migrate();
    stall_gate gate(pg.uri(), schema);

    const lane_key k{"t", "d", "ordered"};
    const lane_key other{"t", "d", "other"};
    const std::int64_t lane = store_a.lane_id(k);
    std::int64_t expected_a = 1;

    // A single-lane append (one statement) and a multi-lane one (the append_entries function).
    for (bool multi_lane : {false, true}) {
        INFO("A spans several lanes: " << multi_lane);
        gate.hold();
        std::vector<new_entry> a_entries = {stalling_entry(k)};
        if (multi_lane) a_entries.insert(a_entries.begin(), make_entry(other));
        async_append a(store_a, a_entries);
        REQUIRE(gate.wait_until_stalled());  // A has its position, and is not committed

        // B starts later and would commit first if nothing made it wait.
        async_append b(store_b, {make_entry(k)});
        // Until B either finished (wrong) or waits for A's transaction (its lane row lock).
        const std::string b_waiting =
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'chromawal' "
            "AND wait_event_type = 'Lock' AND wait_event = 'transactionid'";
        CHECK(eventually([&] { return b.done() || query_value(gate.watcher().get(), b_waiting) == "1"; }));
        const bool b_done_while_a_open = b.done();
        if (!b_done_while_a_open) {
            CHECK(gate.watcher().exec(b_waiting) == "1");
        }

        // A reader applying in order, while A is open.
        std::vector<std::int64_t> seen = drain(store_a, "reader", lane);
        const auto behind_while_open = store_a.lanes_behind("reader");

        gate.release();
        a.join();
        b.join();
        auto later = drain(store_a, "reader", lane);
        seen.insert(seen.end(), later.begin(), later.end());

        CHECK_FALSE(b_done_while_a_open);
        CHECK(behind_while_open.empty());  // the head does not move before A commits either
        INFO(a.error() << " / " << b.error());
        REQUIRE(a.out().size() == a_entries.size());
        REQUIRE(b.out().size() == 1);
        const std::int64_t pa = a.out().back().position;
        CHECK(pa == expected_a);
        CHECK(b.out()[0].position == pa + 1);
        CHECK(seen == std::vector<std::int64_t>{pa, pa + 1});  // nothing skipped
        expected_a = pa + 2;
    }
}

TEST_CASE("pg_log_store: concurrent appends to one lane are combined into one transaction", "[pg_log_store]") {
    auto& pg = shared_pg();
    const std::string schema = fresh_schema();
    pg_log_store store(pg.uri(), schema, 8);
    store.migrate();
    stall_gate gate(pg.uri(), schema);
    const lane_key k{"t", "d", "group"};
    raw_conn raw(pg.uri());

    SECTION("all succeed, in one transaction, each call's entries consecutive") {
        gate.hold();
        async_append a(store, {stalling_entry(k)});
        REQUIRE(gate.wait_until_stalled());
        async_append b(store, {make_entry(k), make_entry(k)});
        async_append c(store, {make_entry(k)});
        async_append d(store, {make_entry(k), make_entry(k), make_entry(k)});
        // b, c and d queue behind a (in the process: they send nothing while they wait).
        REQUIRE(eventually([&] { return store.queued_appends() == 3; }));
        CHECK_FALSE(b.done());
        gate.release();
        a.join();
        b.join();
        c.join();
        d.join();
        INFO(a.error() << b.error() << c.error() << d.error());
        REQUIRE(a.out().size() == 1);
        REQUIRE(b.out().size() == 2);
        REQUIRE(c.out().size() == 1);
        REQUIRE(d.out().size() == 3);
        CHECK(a.out()[0].position == 1);
        std::vector<std::int64_t> all;
        for (const auto* x : {&b, &c, &d}) {
            for (std::size_t i = 0; i < x->out().size(); ++i) {
                CHECK(x->out()[i].position == x->out()[0].position + static_cast<std::int64_t>(i));
                all.push_back(x->out()[i].position);
            }
        }
        std::sort(all.begin(), all.end());
        CHECK(all == std::vector<std::int64_t>{2, 3, 4, 5, 6, 7});
        CHECK(raw.exec("SELECT count(DISTINCT xmin::text) FROM " + schema + ".entries WHERE position > 1") == "1");
    }
    SECTION("a refused call fails alone") {
        const auto existing = make_entry(k);
        store.append({existing});
        gate.hold();
        async_append a(store, {stalling_entry(k)});
        REQUIRE(gate.wait_until_stalled());
        async_append b(store, {make_entry(k)});
        async_append c(store, {make_entry(k), existing});  // duplicate id
        async_append d(store, {make_entry(k)});
        REQUIRE(eventually([&] { return store.queued_appends() == 3; }));  // b, c and d queue behind a
        gate.release();
        a.join();
        b.join();
        c.join();
        d.join();
        INFO(a.error() << b.error() << c.error() << d.error());
        CHECK(a.out().size() == 1);
        CHECK(c.refused());
        REQUIRE(b.out().size() == 1);
        REQUIRE(d.out().size() == 1);
        std::vector<std::int64_t> got = {a.out()[0].position, b.out()[0].position, d.out()[0].position};
        std::sort(got.begin(), got.end());
        CHECK(got == std::vector<std::int64_t>{2, 3, 4});
        CHECK(store.all_lanes("x")[0].head == 4);
    }
}

TEST_CASE("log store: a reader that keeps position > last never skips an entry", "[log_store]") {
    const auto where = chromawal_test::fresh_store(GENERATE(store_kind::postgresql, store_kind::sqlite));
    INFO(where.describe());
    auto opened = where.open(8);
    log_store& store = *opened;
    store.migrate();
    const lane_key k{"t", "d", "stream"};
    const std::int64_t lane = store.lane_id(k);
    constexpr int writers = 4;
    constexpr int per_writer = 100;
    std::atomic<int> writing{writers};
    std::atomic<int> failures{0};
    std::atomic<std::int64_t> written{0};
    std::vector<joining_thread> threads;
    for (int w = 0; w < writers; ++w) {
        threads.emplace_back([&, w] {
            try {
                for (int i = 0; i < per_writer; ++i) {
                    std::vector<new_entry> batch(static_cast<std::size_t>(1 + (i + w) % 3), make_entry(k));
                    for (auto& e : batch) e.idempotency_id = unique_id("s");
                    written += static_cast<std::int64_t>(store.append(batch).size());
                }
            } catch (const std::exception&) {
                ++failures;
            }
            --writing;
        });
    }
    // The follower reads while the writers write, keeping only `position > last`.
    std::int64_t last = 0;
    std::int64_t applied = -1;
    bool contiguous = true;
    std::string reader_error;
    try {
        auto lock = store.lock_lane("follower", lane, 5s);
        if (!lock) throw std::runtime_error("lane lock not granted");
        for (;;) {
            bool done = writing.load() == 0;
            auto batch = lock->read(37, 1 << 20);
            for (const auto& e : batch) {
                if (e.position != last + 1) contiguous = false;
                last = e.position;
            }
            if (!batch.empty()) lock->advance(last);
            if (done && batch.empty()) break;
        }
        applied = lock->applied();
    } catch (const std::exception& e) {
        reader_error = e.what();
    }
    for (auto& t : threads) t.join();
    INFO(reader_error);
    CHECK(reader_error.empty());
    CHECK(failures.load() == 0);
    CHECK(contiguous);
    CHECK(last == written.load());
    CHECK(applied == last);
}

TEST_CASE("pg_log_store: lane locks exclude other holders across stores", "[pg_log_store]") {
    const std::string schema = fresh_schema();
    pg_log_store s1(shared_pg().uri(), schema);
    pg_log_store s2(shared_pg().uri(), schema);
    s1.migrate();
    const std::int64_t lane = s1.lane_id({"t", "d", "locked"});
    const std::int64_t other_lane = s1.lane_id({"t", "d", "free"});

    auto l1 = s1.lock_lane("inst", lane, 0ms);
    REQUIRE(l1);
    auto t0 = steady::now();
    CHECK_FALSE(s2.lock_lane("inst", lane, 200ms));
    auto waited = elapsed_ms(t0);
    CHECK(waited >= 180);
    CHECK(waited < 3000);
    CHECK_FALSE(s1.lock_lane("inst", lane, 0ms));  // another connection of the same store
    CHECK(s2.lock_lane("other-inst", lane, 0ms));  // other instance: free
    CHECK(s2.lock_lane("inst", other_lane, 0ms));  // other lane: free

    l1.reset();
    auto l2 = s2.lock_lane("inst", lane, 200ms);
    REQUIRE(l2);

    // A waiter gets the lock as soon as the holder lets go. The releaser waits until the waiter
    // waits on the server, then holds on for a deliberate 300 ms gap (the waiter must wait it out).
    raw_conn watch(shared_pg().uri());
    bool waiter_seen = false;
    joining_thread releaser([&] {
        waiter_seen = eventually([&] { return query_value(watch.get(), advisory_waiters) == "1"; });
        std::this_thread::sleep_for(300ms);  // the gap, not a synchronisation
        l2.reset();
    });
    t0 = steady::now();
    auto l3 = s1.lock_lane("inst", lane, 5s);
    auto handoff = elapsed_ms(t0);
    releaser.join();
    CHECK(waiter_seen);
    CHECK(l3);
    CHECK(handoff >= 250);
    CHECK(handoff < 2000);
}

TEST_CASE("pg_log_store: holders in turn across stores each read the previous holder's advance",
          "[pg_log_store][lane_lock]") {
    // Two stores (as two processes would), each with a thread that takes the lane lock, reads
    // the applied position, "applies" the next entry and advances past it, over and over, so
    // that one is nearly always waiting for the lock while the other advances and lets go. A
    // holder that read a position older than the last committed advance (a read with a
    // snapshot from before its wait) would apply an entry twice: every position must be read
    // exactly once. Most hand-overs fold the last advance with the unlock; some advance, then
    // let the destructor unlock (the older path).
    const std::string schema = fresh_schema();
    pg_log_store s1(shared_pg().uri(), schema, 4);
    pg_log_store s2(shared_pg().uri(), schema, 4);
    s1.migrate();
    constexpr int entries = 300;
    const lane_key k{"t", "d", "turns"};
    std::vector<new_entry> batch;
    for (int i = 0; i < entries; ++i) batch.push_back(make_entry(k));
    const std::int64_t lane = s1.append(batch).at(0).lane_id;

    std::mutex m;
    std::vector<std::int64_t> read_positions;
    std::atomic<int> failures{0};
    auto holder = [&](pg_log_store& store, int seed) {
        for (int turn = 0; turn < 4 * entries && failures.load() == 0; ++turn) {
            try {
                auto lock = store.lock_lane("inst", lane, 10s);
                if (!lock) {
                    ++failures;
                    return;
                }
                const std::int64_t applied = lock->applied();
                if (applied >= entries) return;
                {
                    std::lock_guard<std::mutex> g(m);
                    read_positions.push_back(applied);
                }
                if ((turn + seed) % 7 == 0) {
                    lock->advance(applied + 1);  // the destructor unlocks
                } else {
                    lock->advance_and_release(applied + 1);
                }
            } catch (const std::exception&) {
                ++failures;
                return;
            }
        }
    };
    {
        joining_thread t1([&] { holder(s1, 0); });
        joining_thread t2([&] { holder(s2, 3); });
    }
    REQUIRE(failures.load() == 0);
    std::sort(read_positions.begin(), read_positions.end());
    std::size_t read_twice = 0;
    for (std::size_t i = 1; i < read_positions.size(); ++i) read_twice += read_positions[i] == read_positions[i - 1];
    CHECK(read_twice == 0);  // no entry applied twice
    std::vector<std::int64_t> expected(entries);
    for (int i = 0; i < entries; ++i) expected[static_cast<std::size_t>(i)] = i;
    CHECK(read_positions == expected);  // each position read once
    auto lock = s2.lock_lane("inst", lane, 1s);
    REQUIRE(lock);
    CHECK(lock->applied() == entries);
}

TEST_CASE("pg_log_store: the last advance is flushed before the next holder's request", "[pg_log_store][lane_lock]") {
    // advance_release commits without waiting for the WAL flush and records how far the WAL
    // went; the next lock statement flushes it when nothing has since (docs/design.md,
    // "Statements per write"), so a crash can lose at most the last advance.
    const std::string schema = fresh_schema();
    pg_log_store store(shared_pg().uri(), schema, 4);
    store.migrate();
    raw_conn raw(shared_pg().uri());
    const lane_key k{"t", "d", "flush"};
    std::vector<new_entry> batch;
    for (int i = 0; i < 3; ++i) batch.push_back(make_entry(k));
    const std::int64_t lane = store.append(batch).at(0).lane_id;
    const std::string row =
        "FROM " + schema + ".instance_positions WHERE instance = 'i' AND lane_id = " + std::to_string(lane);
    {
        auto lock = store.lock_lane("i", lane, 1s);
        REQUIRE(lock);
        lock->advance_and_release(1);
    }
    CHECK(raw.exec("SELECT applied_position " + row) == "1");
    CHECK(raw.exec("SELECT durable_lsn IS NOT NULL " + row) == "t");
    // Flushed since (a synchronous commit, as the next write's append): nothing to do.
    (void)store.append({make_entry(k)});
    {
        auto lock = store.lock_lane("i", lane, 1s);
        REQUIRE(lock);
        CHECK(lock->applied() == 1);
        CHECK(raw.exec("SELECT durable_lsn IS NOT NULL " + row) == "t");  // no write by the lock statement
        lock->advance_and_release(2);
    }
    // Not flushed as far as recorded (made so here: beyond the WAL's end): the lock statement
    // writes and commits synchronously, which flushes the WAL before the holder goes on.
    raw.exec("UPDATE " + schema +
             ".instance_positions SET durable_lsn = pg_current_wal_insert_lsn() + 100000000 "
             "WHERE instance = 'i' AND lane_id = " +
             std::to_string(lane));
    {
        auto lock = store.lock_lane("i", lane, 1s);
        REQUIRE(lock);
        CHECK(lock->applied() == 2);
        CHECK(raw.exec("SELECT durable_lsn IS NULL " + row) == "t");
    }
    // A holder that finds nothing to advance commits nothing lazily.
    {
        auto lock = store.lock_lane("i", lane, 1s);
        REQUIRE(lock);
        lock->advance_and_release(2);
    }
    CHECK(raw.exec("SELECT durable_lsn IS NULL " + row) == "t");
}

TEST_CASE("log store: advance_and_release leaves the lock free and the position durable", "[log_store][lane_lock]") {
    const auto where = chromawal_test::fresh_store(GENERATE(store_kind::postgresql, store_kind::sqlite));
    INFO(where.describe());
    auto opened = where.open(8);
    log_store& store = *opened;
    store.migrate();
    store.set_record_apply_history(true);
    const lane_key k{"t", "d", "adv-release"};
    std::vector<new_entry> batch;
    for (int i = 0; i < 5; ++i) batch.push_back(make_entry(k));
    const std::int64_t lane = store.append(batch)[0].lane_id;
    auto other_store = where.open(8);
    log_store& other = *other_store;
    other.set_record_apply_history(true);

    auto lock = store.lock_lane("i", lane, 1s);
    REQUIRE(lock);
    CHECK(lock->applied() == 0);
    lock->advance(2);
    CHECK(lock->applied() == 2);  // re-read after an advance, not the lock statement's 0
    CHECK_FALSE(other.lock_lane("i", lane, 0ms));
    lock->advance_and_release(4);
    {
        // Free at once (a try, no wait), from another store, and the advance is visible to it.
        auto next = other.lock_lane("i", lane, 0ms);
        REQUIRE(next);
        CHECK(next->applied() == 4);
        CHECK(next->read(10, 1 << 20).size() == 1);
        // Not forward: nothing moves, and the lock is let go all the same.
        next->advance_and_release(3);
    }
    lock.reset();  // released already: the destructor does nothing more
    {
        auto again = store.lock_lane("i", lane, 0ms);
        REQUIRE(again);
        CHECK(again->applied() == 4);
        // Beyond the head: refused, and never a lock left behind.
        CHECK_THROWS_AS(again->advance_and_release(6), chromawal::invalid_argument);
    }
    {
        auto last = other.lock_lane("i", lane, 1s);
        REQUIRE(last);
        CHECK(last->applied() == 4);
        last->advance_and_release(5);
    }
    const auto history = other.apply_history("i", lane);
    REQUIRE(history.size() == 3);  // the advances that moved the position
    CHECK(history[0].from == 0);
    CHECK(history[0].to == 2);
    CHECK(history[1].from == 2);
    CHECK(history[1].to == 4);
    CHECK(history[2].from == 4);
    CHECK(history[2].to == 5);
    auto reopened = where.open(8);
    auto lanes = reopened->all_lanes("i");
    REQUIRE(lanes.size() == 1);
    CHECK(lanes[0].applied == 5);
    if (where.kind == store_kind::postgresql) {
        // No session of the store holds an advisory lock any more.
        raw_conn watch(shared_pg().uri());
        CHECK(watch.exec("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                         "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'chromawal'") == "0");
    }
}

TEST_CASE("pg_log_store: a lane lock's statements: one to take it and read, one to advance and let go",
          "[pg_log_store][lane_lock]") {
    const std::string schema = fresh_schema();
    pg_log_store store(shared_pg().uri(), schema, 4);
    store.migrate();
    const lane_key k{"t", "d", "count"};
    const std::int64_t lane = append_one(store, k).lane_id;
    append_one(store, k);
    {
        auto warm = store.lock_lane("i", lane, 1s);  // connects and prepares
        REQUIRE(warm);
        warm->advance_and_release(1);
    }
    auto before = store.statements_run();
    {
        auto lock = store.lock_lane("i", lane, 1s);
        REQUIRE(lock);
        CHECK(store.statements_run() - before == 1);
        CHECK(lock->applied() == 1);
        CHECK(lock->pruned_through() == 0);
        CHECK(lock->start_ready());
        CHECK(store.statements_run() - before == 1);  // applied() came with the lock
        lock->advance_and_release(2);
        CHECK(store.statements_run() - before == 2);
    }
    CHECK(store.statements_run() - before == 2);  // the destructor sends nothing
    CHECK(pg_log_store::statements_run_in_process() >= store.statements_run());
    before = store.statements_run();
    {
        auto lock = store.lock_lane("i", lane, 1s);
        REQUIRE(lock);
        CHECK(lock->applied() == 2);
        CHECK(lock->applied() == 2);  // a second call reads again
    }
    CHECK(store.statements_run() - before == 3);  // lock, applied, unlock
}

TEST_CASE("log store: advance is durable and never goes backwards", "[log_store]") {
    const auto where = chromawal_test::fresh_store(GENERATE(store_kind::postgresql, store_kind::sqlite));
    INFO(where.describe());
    auto opened = where.open(8);
    log_store& store = *opened;
    store.migrate();
    const lane_key k{"t", "d", "adv"};
    std::vector<new_entry> batch;
    for (int i = 0; i < 5; ++i) batch.push_back(make_entry(k));
    const std::int64_t lane = store.append(batch)[0].lane_id;
    {
        auto lock = store.lock_lane("i", lane, 1s);
        REQUIRE(lock);
        lock->advance(3);
        CHECK(lock->applied() == 3);
        lock->advance(2);
        CHECK(lock->applied() == 3);
        lock->advance(3);
        CHECK(lock->applied() == 3);
        auto rest = lock->read(10, 1 << 20);
        REQUIRE(rest.size() == 2);
        CHECK(rest[0].position == 4);
        CHECK_THROWS_AS(lock->advance(6), chromawal::invalid_argument);  // beyond the head
        CHECK(lock->applied() == 3);
        lock->advance(5);
    }
    auto other_store = where.open(8);
    log_store& other = *other_store;
    auto lock = other.lock_lane("i", lane, 1s);
    REQUIRE(lock);
    CHECK(lock->applied() == 5);
    CHECK(lock->read(10, 1 << 20).empty());
    auto lanes = other.all_lanes("i");
    REQUIRE(lanes.size() == 1);
    CHECK(lanes[0].applied == 5);
    CHECK(lanes[0].head == 5);
}

TEST_CASE("log store: lanes_behind and all_lanes", "[log_store]") {
    const auto where = chromawal_test::fresh_store(GENERATE(store_kind::postgresql, store_kind::sqlite));
    INFO(where.describe());
    auto opened = where.open(8);
    log_store& store = *opened;
    store.migrate();
    const lane_key k1{"t", "d", "one"};
    const lane_key k2{"t2", "d2", "two"};
    auto a = store.append({make_entry(k1), make_entry(k1), make_entry(k2)});
    const auto now = static_cast<double>(std::time(nullptr));
    {
        auto lock = store.lock_lane("i", a[0].lane_id, 1s);
        lock->advance(2);
    }
    auto behind = store.lanes_behind("i");
    REQUIRE(behind.size() == 1);
    CHECK(behind[0].lane_id == a[2].lane_id);
    CHECK(behind[0].key == k2);
    CHECK(behind[0].head == 1);
    CHECK(behind[0].applied == 0);
    CHECK(behind[0].oldest_unapplied_created_at > now - 60);
    CHECK(behind[0].oldest_unapplied_created_at < now + 60);

    auto all = store.all_lanes("i");
    REQUIRE(all.size() == 2);
    CHECK(all[0].lane_id == a[0].lane_id);
    CHECK(all[0].key == k1);
    CHECK(all[0].head == 2);
    CHECK(all[0].applied == 2);
    CHECK(all[0].oldest_unapplied_created_at == 0);
    CHECK(store.lanes_behind("j").size() == 2);
    CHECK(store.lane_id(k1) == a[0].lane_id);
    CHECK(store.lane_id({"t", "d", "three"}) > 0);
    CHECK(store.all_lanes("i").size() == 3);
    CHECK(store.lanes_behind("i").size() == 1);  // a lane without entries is not behind

    // Several instances at once (the sync thread's pass): the same lists, in the order asked.
    const auto many = store.lanes_behind(std::vector<std::string>{"j", "i", "j"});
    REQUIRE(many.size() == 3);
    const auto ids = [](const std::vector<lane_progress>& v) {
        std::vector<std::int64_t> out;
        for (const auto& l : v) out.push_back(l.lane_id);
        return out;
    };
    CHECK(ids(many[0]) == std::vector<std::int64_t>{a[0].lane_id, a[2].lane_id});
    CHECK(ids(many[1]) == std::vector<std::int64_t>{a[2].lane_id});
    CHECK(ids(many[2]) == ids(many[0]));
    REQUIRE(many[1].size() == 1);
    CHECK(many[1][0].key == k2);
    CHECK(many[1][0].head == 1);
    CHECK(many[1][0].applied == 0);
    CHECK(many[1][0].oldest_unapplied_created_at == behind[0].oldest_unapplied_created_at);
    CHECK(many[1][0].holds_name);
    CHECK(store.lanes_behind(std::vector<std::string>{}).empty());
}

TEST_CASE("pg_log_store: the lanes behind of several instances are one statement", "[pg_log_store]") {
    const std::string schema = fresh_schema();
    pg_log_store store(shared_pg().uri(), schema, 4);
    store.migrate();
    const lane_key k{"t", "d", "behind"};
    append_one(store, k);
    store.lanes_behind(std::vector<std::string>{"a"});  // connects and prepares
    const auto before = store.statements_run();
    const auto many = store.lanes_behind(std::vector<std::string>{"a", "b", "c"});
    CHECK(store.statements_run() - before == 1);
    REQUIRE(many.size() == 3);
    for (const auto& l : many) CHECK(l.size() == 1);
}

TEST_CASE("log store: lane_id creates each lane once under concurrency", "[log_store]") {
    const auto where = chromawal_test::fresh_store(GENERATE(store_kind::postgresql, store_kind::sqlite));
    INFO(where.describe());
    auto opened = where.open(8);
    log_store& store = *opened;
    store.migrate();
    const lane_key k{"t", "d", "race"};
    std::vector<std::int64_t> ids(8, 0);
    std::vector<joining_thread> threads;
    for (std::size_t i = 0; i < ids.size(); ++i)
        threads.emplace_back([&, i] {
            try {
                ids[i] = store.lane_id(k);
            } catch (const std::exception&) {
                ids[i] = -1;
            }
        });
    for (auto& t : threads) t.join();
    for (auto id : ids) CHECK(id == ids[0]);
    CHECK(ids[0] > 0);
    CHECK(store.lane_id({"t", "d", "race2"}) != ids[0]);
    CHECK(store.all_lanes("x").size() == 2);
}

TEST_CASE("pg_log_store: abandon_if_unapplied decides under the lane locks", "[pg_log_store]") {
    pg_log_store store(shared_pg().uri(), fresh_schema());
    store.migrate();
    const lane_key k{"t", "d", "ab"};
    auto out = store.append({make_entry(k), make_entry(k), make_entry(k), make_entry(k)});
    const std::int64_t lane = out[0].lane_id;
    {
        auto lock = store.lock_lane("a", lane, 1s);
        lock->advance(1);
    }
    const std::vector<std::string> both = {"a", "b"};
    CHECK(store.abandon_if_unapplied(lane, 1, both, 1s) == abandon_result::kept);  // a applied it
    CHECK(store.read_entry(lane, 1)->state == entry_state::pending);
    CHECK(store.abandon_if_unapplied(lane, 2, both, 1s) == abandon_result::abandoned);
    CHECK(store.read_entry(lane, 2)->state == entry_state::abandoned);
    CHECK(store.abandon_if_unapplied(lane, 2, both, 1s) == abandon_result::abandoned);  // already: still abandoned

    // While "b" holds its lane lock, abandon waits; b applies position 3, then lets go.
    auto held = store.lock_lane("b", lane, 1s);
    REQUIRE(held);
    raw_conn watch(shared_pg().uri());
    bool waiter_seen = false;
    joining_thread holder([&] {
        // Until abandon waits for b's lock on the server, then a deliberate 300 ms gap.
        waiter_seen = eventually([&] { return query_value(watch.get(), advisory_waiters) == "1"; });
        std::this_thread::sleep_for(300ms);  // the gap, not a synchronisation
        try {
            held->advance(3);
        } catch (const std::exception&) {
        }
        held.reset();
    });
    auto t0 = steady::now();
    const auto decided = store.abandon_if_unapplied(lane, 3, both, 20s);
    auto waited = elapsed_ms(t0);
    holder.join();
    CHECK(waiter_seen);
    CHECK(decided == abandon_result::kept);
    CHECK(waited >= 250);
    CHECK(store.read_entry(lane, 3)->state == entry_state::pending);

    // A lock that stays held past the wait: undecided, the entry left pending, and nothing left
    // waiting on the server (a late decision would contradict what the caller was told).
    auto kept = store.lock_lane("b", lane, 1s);
    REQUIRE(kept);
    t0 = steady::now();
    CHECK(store.abandon_if_unapplied(lane, 4, both, 300ms) == abandon_result::undecided);
    waited = elapsed_ms(t0);
    CHECK(waited >= 250);
    CHECK(waited < 10000);
    CHECK(query_value(watch.get(), advisory_waiters) == "0");
    kept.reset();
    CHECK(store.read_entry(lane, 4)->state == entry_state::pending);

    // A rejected entry is not turned into an abandoned one.
    auto r = append_one(store, k);
    store.set_state(lane, r.position, entry_state::rejected, "bad");
    CHECK(store.abandon_if_unapplied(lane, r.position, both, 1s) == abandon_result::kept);
    CHECK(store.read_entry(lane, r.position)->state == entry_state::rejected);
}

TEST_CASE("log store: set_state, record_failure, read_entry", "[log_store]") {
    const auto where = chromawal_test::fresh_store(GENERATE(store_kind::postgresql, store_kind::sqlite));
    INFO(where.describe());
    auto opened = where.open(8);
    log_store& store = *opened;
    store.migrate();
    auto a = append_one(store, {"t", "d", "s"});
    CHECK(store.record_failure(a.lane_id, a.position, "timeout 1") == 1);
    CHECK(store.record_failure(a.lane_id, a.position, "timeout 2") == 2);
    auto e = store.read_entry(a.lane_id, a.position);
    REQUIRE(e);
    CHECK(e->attempts == 2);
    CHECK(e->last_error == "timeout 2");
    store.set_state(a.lane_id, a.position, entry_state::dead, "gave up");
    e = store.read_entry(a.lane_id, a.position);
    CHECK(e->state == entry_state::dead);
    CHECK(e->last_error == "gave up");
    store.set_state(a.lane_id, a.position, entry_state::pending);  // no error text: keeps the old one
    e = store.read_entry(a.lane_id, a.position);
    CHECK(e->state == entry_state::pending);
    CHECK(e->last_error == "gave up");
    CHECK(store.record_failure(a.lane_id, 999, "x") == 0);
    CHECK_FALSE(store.read_entry(a.lane_id + 1000, 1));
}

TEST_CASE("log store: mark_applied and counts", "[log_store]") {
    const auto where = chromawal_test::fresh_store(GENERATE(store_kind::postgresql, store_kind::sqlite));
    INFO(where.describe());
    auto opened = where.open(8);
    log_store& store = *opened;
    store.migrate();
    auto empty = store.counts();
    CHECK(empty.pending == 0);
    CHECK(empty.oldest_pending_created_at == 0);

    const lane_key k{"t", "d", "m"};
    const lane_key k2{"t", "d", "m2"};
    std::vector<new_entry> batch;
    for (int i = 0; i < 6; ++i) batch.push_back(make_entry(k));
    batch.push_back(make_entry(k2));
    auto out = store.append(batch);
    const std::int64_t lane = out[0].lane_id;
    const std::int64_t lane2 = out[6].lane_id;

    store.lock_lane("a", lane, 1s)->advance(4);
    store.lock_lane("b", lane, 1s)->advance(2);
    store.lock_lane("a", lane2, 1s)->advance(1);
    store.lock_lane("b", lane2, 1s)->advance(1);
    CHECK(store.mark_applied({}) == 0);
    CHECK(store.mark_applied({"a", "c"}) == 0);  // c has no row: counts as 0
    CHECK(store.mark_applied({"a", "b"}) == 3);  // lane: 1, 2; lane2: 1
    CHECK(store.mark_applied({"a", "b"}) == 0);
    CHECK(store.read_entry(lane, 2)->state == entry_state::applied);
    CHECK(store.read_entry(lane, 3)->state == entry_state::pending);

    store.set_state(lane, 3, entry_state::rejected, "400");
    store.set_state(lane, 4, entry_state::abandoned);
    store.set_state(lane, 5, entry_state::dead, "500");
    store.lock_lane("b", lane, 1s)->advance(5);
    CHECK(store.mark_applied({"a", "b"}) == 0);  // only pending entries are marked

    auto c = store.counts();
    CHECK(c.pending == 1);
    CHECK(c.applied == 3);
    CHECK(c.rejected == 1);
    CHECK(c.abandoned == 1);
    CHECK(c.dead == 1);
    const auto now = static_cast<double>(std::time(nullptr));
    CHECK(c.oldest_pending_created_at > now - 60);
    CHECK(c.oldest_pending_created_at < now + 60);
    store.set_state(lane, 6, entry_state::applied);
    CHECK(store.counts().oldest_pending_created_at == 0);
}

TEST_CASE("log store: mark_applied works through many batches", "[log_store]") {
    const auto where = chromawal_test::fresh_store(GENERATE(store_kind::postgresql, store_kind::sqlite));
    INFO(where.describe());
    auto opened = where.open(8);
    log_store& store = *opened;
    store.migrate();
    const lane_key k{"t", "d", "many"};
    constexpr int total = 23456;
    std::int64_t lane = 0;
    for (int done = 0; done < total;) {
        std::vector<new_entry> batch;
        for (int i = 0; i < 2000 && done < total; ++i, ++done) batch.push_back(make_entry(k, "x"));
        lane = store.append(batch)[0].lane_id;
    }
    store.lock_lane("a", lane, 1s)->advance(total - 1);
    CHECK(store.mark_applied({"a"}) == total - 1);
    auto c = store.counts();
    CHECK(c.applied == total - 1);
    CHECK(c.pending == 1);
}

TEST_CASE("log store: dead letters", "[log_store]") {
    const auto where = chromawal_test::fresh_store(GENERATE(store_kind::postgresql, store_kind::sqlite));
    INFO(where.describe());
    auto opened = where.open(8);
    log_store& store = *opened;
    store.migrate();
    const lane_key k{"ten", "dat", "dl"};
    auto out = store.append({make_entry(k), make_entry(k, "x", op_kind::update)});
    const std::int64_t lane = out[0].lane_id;
    store.add_dead_letter("a", lane, 2, "boom");
    store.add_dead_letter("b", lane, 2, "bang");
    store.add_dead_letter("a", lane, 2, "boom again");  // same key: updated, not duplicated
    auto dl = store.dead_letters(10);
    REQUIRE(dl.size() == 2);
    auto a = std::find_if(dl.begin(), dl.end(), [](const auto& d) { return d.instance == "a"; });
    REQUIRE(a != dl.end());
    CHECK(a->error == "boom again");
    CHECK(a->lane_id == lane);
    CHECK(a->position == 2);
    CHECK(a->key == k);
    CHECK(a->op == op_kind::update);
    CHECK(a->at > static_cast<double>(std::time(nullptr)) - 60);
    CHECK(store.dead_letters(1).size() == 1);
    CHECK(store.dead_letters(0).empty());
    store.remove_dead_letter("a", lane, 2);
    dl = store.dead_letters(10);
    REQUIRE(dl.size() == 1);
    CHECK(dl[0].instance == "b");
    store.remove_dead_letter("a", lane, 2);  // absent: no error
}

TEST_CASE("pg_log_store: survives its connections being killed", "[pg_log_store]") {
    auto& pg = shared_pg();
    pg_log_store store(pg.uri(), fresh_schema(), 4);
    store.migrate();
    const lane_key k{"t", "d", "kill"};
    raw_conn admin(pg.uri());
    const std::string kill_all =
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = 'chromawal' AND pid <> pg_backend_pid()";
    for (int round = 1; round <= 3; ++round) {
        // Several pooled connections, all killed while idle.
        std::vector<joining_thread> threads;
        for (int i = 0; i < 4; ++i)
            threads.emplace_back([&] {
                try {
                    store.counts();
                } catch (const std::exception&) {
                }
            });
        for (auto& t : threads) t.join();
        CHECK(std::stoi(admin.exec(kill_all)) >= 1);
        // Until the killed backends are gone (their sockets closed), as after a server restart.
        CHECK(eventually([&] {
            return admin.exec(
                       "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'chromawal' "
                       "AND pid <> pg_backend_pid()") == "0";
        }));
        CHECK(append_one(store, k).position == round);
        CHECK(store.counts().pending == round);
        CHECK(store.lanes_behind("i").size() == 1);
    }
}

TEST_CASE("pg_log_store: an append whose connection dies mid-way is applied exactly once", "[pg_log_store]") {
    auto& pg = shared_pg();
    const std::string schema = fresh_schema();
    pg_log_store store(pg.uri(), schema, 4);
    store.migrate();
    const lane_key k{"t", "d", "indoubt"};
    const std::int64_t lane = store.lane_id(k);

    raw_conn blocker(pg.uri());
    raw_conn admin(pg.uri());
    blocker.exec("BEGIN");
    blocker.exec("SELECT 1 FROM " + schema + ".lanes WHERE lane_id = " + std::to_string(lane) + " FOR UPDATE");

    const auto e = make_entry(k, "once");
    std::vector<appended> result;
    std::string error;
    joining_thread appender([&] {
        try {
            result = store.append({e});
        } catch (const std::exception& ex) {
            error = ex.what();
        }
    });
    // Wait for the append to block on the lane row, then kill its backend.
    const std::string waiting =
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'chromawal' "
        "AND wait_event_type = 'Lock' LIMIT 1";
    std::string pid;
    for (auto t0 = steady::now(); pid.empty() && elapsed_ms(t0) < 10000;) {
        pid = admin.exec(waiting);
        if (pid.empty()) std::this_thread::sleep_for(10ms);
    }
    REQUIRE_FALSE(pid.empty());
    admin.exec("SELECT pg_terminate_backend(" + pid + ")");
    // The retry blocks on the same row again until the blocker commits.
    std::string retry_pid;
    for (auto t0 = steady::now(); (retry_pid.empty() || retry_pid == pid) && elapsed_ms(t0) < 10000;) {
        retry_pid = admin.exec(waiting);
        if (retry_pid.empty() || retry_pid == pid) std::this_thread::sleep_for(10ms);
    }
    blocker.exec("COMMIT");
    appender.join();
    INFO(error);
    REQUIRE(result.size() == 1);
    CHECK(result[0].position == 1);
    CHECK(store.read_entry(lane, 1)->idempotency_id == e.idempotency_id);
    CHECK(store.counts().pending == 1);
    CHECK(store.all_lanes("i")[0].head == 1);
}

TEST_CASE("pg_log_store: log_unavailable fast while the server is down, and recovery", "[pg_log_store]") {
    chromawal_test::postgres_server pg;
    pg.start();
    pg_log_store store(pg.uri(), "cw_down", 4, 2s);
    store.migrate();
    const lane_key k{"t", "d", "down"};
    auto first = append_one(store, k);
    const std::int64_t lane = first.lane_id;
    auto lock = store.lock_lane("i", lane, 0ms);
    REQUIRE(lock);

    pg.stop_immediate();

    std::vector<std::pair<const char*, std::function<void()>>> calls = {
        {"append", [&] { store.append({make_entry(k)}); }},
        {"lane_id",
         [&] {
             store.lane_id({"t", "d", "new"});
         }},
        {"lanes_behind", [&] { store.lanes_behind("i"); }},
        {"all_lanes", [&] { store.all_lanes("i"); }},
        {"counts", [&] { store.counts(); }},
        {"read_entry", [&] { store.read_entry(lane, 1); }},
        {"set_state", [&] { store.set_state(lane, 1, entry_state::applied); }},
        {"record_failure", [&] { store.record_failure(lane, 1, "x"); }},
        {"mark_applied", [&] { store.mark_applied({"i"}); }},
        {"dead_letters", [&] { store.dead_letters(5); }},
        {"abandon_if_unapplied", [&] { store.abandon_if_unapplied(lane, 1, {"i"}, 1s); }},
        {"lock_lane", [&] { store.lock_lane("j", lane, 100ms); }},
        {"migrate", [&] { store.migrate(); }},
        {"held lock: read", [&] { lock->read(10, 1000); }},
        {"held lock: advance", [&] { lock->advance(1); }},
    };
    for (auto& [name, call] : calls) {
        INFO(name);
        auto t0 = steady::now();
        CHECK_THROWS_AS(call(), chromawal::log_unavailable);
        CHECK(elapsed_ms(t0) < 5000);
    }
    CHECK_NOTHROW(lock.reset());  // releasing a lock whose connection died does not throw

    pg.start();
    // The same store object works again.
    auto second = append_one(store, k);
    CHECK(second.position == 2);
    CHECK(store.lanes_behind("i").size() == 1);
    auto relock = store.lock_lane("i", lane, 1s);
    REQUIRE(relock);
    CHECK(relock->read(10, 1000).size() == 2);

    // A hung server (the postmaster stopped: connections are accepted, nothing answers):
    // connecting gives up after connect_timeout.
    std::ifstream pid_file(pg.dir() + "/data/postmaster.pid");
    pid_t postmaster = 0;
    REQUIRE(pid_file >> postmaster);
    REQUIRE(::kill(postmaster, SIGSTOP) == 0);
    std::string error;
    auto t0 = steady::now();
    try {
        pg_log_store fresh(pg.uri(), "cw_down", 2, 1s);
        fresh.counts();
    } catch (const chromawal::log_unavailable& e) {
        error = e.what();
    }
    auto waited = elapsed_ms(t0);
    ::kill(postmaster, SIGCONT);
    INFO(error);
    CHECK_FALSE(error.empty());
    CHECK(waited >= 900);
    CHECK(waited < 4000);
    CHECK(store.counts().pending == 2);
}

TEST_CASE("pg_log_store: passwords never appear in error messages", "[pg_log_store]") {
    const std::string secret = "SeCrEt123";
    chromawal_test::postgres_server pg;
    pg.start();
    const std::string port = std::to_string(pg.port());
    pg.stop_immediate();  // nothing listens on the port now

    const std::vector<std::string> conninfos = {
        "host=127.0.0.1 port=" + port + " dbname=chromawal user=postgres password=" + secret,
        "host=127.0.0.1 port=" + port + " password='" + secret + "' user=postgres",
        "postgresql://postgres:" + secret + "@127.0.0.1:" + port + "/chromawal",
        "postgresql://postgres:" + secret + "@127.0.0.1:" + port + "/chromawal?connect_timeout=2",
    };
    for (const auto& conninfo : conninfos) {
        pg_log_store store(conninfo, "chromawal", 2, 2s);
        std::vector<std::function<void()>> calls = {
            [&] { store.migrate(); },
            [&] {
                store.append({make_entry({"t", "d", "c"})});
            },
            [&] { store.lock_lane("i", 1, 50ms); },
            [&] { store.counts(); },
        };
        for (auto& call : calls) {
            std::string message;
            try {
                call();
            } catch (const chromawal::log_unavailable& e) {
                message = e.what();
            }
            INFO(message);
            REQUIRE_FALSE(message.empty());
            CHECK(message.find(secret) == std::string::npos);
            CHECK(message.find(conninfo) == std::string::npos);
            CHECK(message.find("PostgreSQL log store") != std::string::npos);
        }
    }
    // A string libpq cannot parse: its error would quote the string, so it is not passed on.
    try {
        pg_log_store bad("host=127.0.0.1 password=" + secret + " nonsense");
        FAIL("a malformed connection string was accepted");
    } catch (const chromawal::invalid_argument& e) {
        CHECK(std::string(e.what()).find(secret) == std::string::npos);
    }
}

TEST_CASE("log store: a rename moves the name with its lane; a new lane for the old name starts after it",
          "[log_store][renames]") {
    const auto where = chromawal_test::fresh_store(GENERATE(store_kind::postgresql, store_kind::sqlite));
    INFO(where.describe());
    auto opened = where.open(8);
    log_store& store = *opened;
    store.migrate();
    const lane_key x{"t", "d", "x"};
    const lane_key y{"t", "d", "y"};
    const lane_key z{"t", "d", "z"};
    auto rename = [](const lane_key& from, const std::string& to) {
        new_entry e = make_entry(from, "{\"new_name\":\"" + to + "\"}", op_kind::modify_collection);
        e.rename_to = to;
        return e;
    };
    const std::int64_t lane = append_one(store, x).lane_id;
    append_one(store, x);
    CHECK_THROWS_AS(store.append({rename(x, "y"), make_entry(x)}), chromawal::invalid_argument);
    const auto renamed = store.append({rename(x, "y")});
    REQUIRE(renamed.size() == 1);
    CHECK(renamed[0].lane_id == lane);
    CHECK(renamed[0].position == 3);
    // Later writes to the new name follow the collection into its lane.
    CHECK(append_one(store, y).lane_id == lane);
    CHECK(store.lane_id(y) == lane);
    // The old name is free: a collection created under it gets a lane of its own.
    const auto again = append_one(store, x);
    CHECK(again.lane_id != lane);
    CHECK(again.position == 1);
    CHECK(store.lane_id(x) == again.lane_id);

    // Each entry keeps the name it addressed.
    auto e1 = store.read_entry(lane, 1);
    auto e3 = store.read_entry(lane, 3);
    auto e4 = store.read_entry(lane, 4);
    REQUIRE((e1 && e3 && e4));
    CHECK(e1->collection == "x");
    CHECK(e3->collection == "x");
    CHECK(e3->op == op_kind::modify_collection);
    CHECK(e4->collection == "y");

    // The new lane of x waits, on each instance, until that instance has applied the rename.
    {
        auto lock = store.lock_lane("i", again.lane_id, 1s);
        REQUIRE(lock);
        CHECK(lock->applied() == 0);
        CHECK_FALSE(lock->start_ready());
        const auto batch = lock->read(10, 1 << 20);
        REQUIRE(batch.size() == 1);
        CHECK_FALSE(batch[0].ready);
    }
    {
        auto lock = store.lock_lane("i", lane, 1s);
        lock->advance(2);
    }
    {
        auto lock = store.lock_lane("i", again.lane_id, 1s);
        lock->applied();
        CHECK_FALSE(lock->start_ready());  // position 3, the rename, is not applied yet
        auto other = store.lock_lane("i", lane, 1s);
        other->advance(3);
        lock->applied();
        CHECK(lock->start_ready());
        const auto batch = lock->read(10, 1 << 20);
        REQUIRE(batch.size() == 1);
        CHECK(batch[0].ready);
        CHECK(batch[0].collection == "x");
    }
    {
        auto lock = store.lock_lane("j", again.lane_id, 1s);  // another instance: still waiting
        lock->applied();
        CHECK_FALSE(lock->start_ready());
    }

    // A rename onto a name another lane holds (a dropped collection's): that lane gives the
    // name up, and the rename comes after that lane's last entry.
    const std::int64_t zlane = append_one(store, z).lane_id;
    append_one(store, z);
    const auto onto = store.append({rename(y, "z")});
    CHECK(onto[0].lane_id == lane);
    CHECK(onto[0].position == 5);
    CHECK(store.lane_id(z) == lane);
    auto e5 = store.read_entry(lane, 5);
    REQUIRE(e5);
    CHECK(e5->collection == "y");
    CHECK(e5->after_lane == zlane);
    CHECK(e5->after_position == 2);
    bool z_released = false;
    for (const auto& l : store.all_lanes("i")) {
        if (l.lane_id == zlane) z_released = !l.holds_name && l.key == z;
        if (l.lane_id == lane) CHECK(l.key == z);
    }
    CHECK(z_released);
    {
        auto lock = store.lock_lane("i", lane, 1s);
        CHECK(lock->applied() == 3);
        auto batch = lock->read(10, 1 << 20);
        REQUIRE(batch.size() == 2);
        CHECK(batch[0].position == 4);
        CHECK(batch[0].ready);
        CHECK(batch[1].position == 5);
        CHECK_FALSE(batch[1].ready);
        CHECK(drain(store, "i", zlane).size() == 2);
        batch = lock->read(10, 1 << 20);
        CHECK(batch[1].ready);
    }
}

TEST_CASE("log store: appends racing a rename land before it in the lane, or after it in a new lane",
          "[log_store][renames]") {
    const auto where = chromawal_test::fresh_store(GENERATE(store_kind::postgresql, store_kind::sqlite));
    INFO(where.describe());
    auto opened = where.open(12);
    log_store& store = *opened;
    store.migrate();
    const lane_key x{"t", "d", "x"};
    const std::int64_t lane = append_one(store, x).lane_id;
    std::atomic<bool> stop{false};
    std::atomic<int> failures{0};
    std::vector<joining_thread> writers;
    for (int w = 0; w < 4; ++w) {
        writers.emplace_back([&] {
            while (!stop.load()) {
                try {
                    store.append({make_entry(x)});
                } catch (const std::exception&) {
                    ++failures;
                }
            }
        });
    }
    std::this_thread::sleep_for(100ms);
    new_entry r = make_entry(x, "{}", op_kind::modify_collection);
    r.rename_to = "y";
    const auto renamed = store.append({r});
    std::this_thread::sleep_for(100ms);
    stop = true;
    for (auto& t : writers) t.join();
    CHECK(failures.load() == 0);
    REQUIRE(renamed[0].lane_id == lane);
    const std::int64_t after_lane = store.lane_id(x);
    REQUIRE(after_lane != lane);
    // In the renamed lane every entry addressed to x comes before the rename; the rest of x's
    // entries are in the new lane, which starts after the rename.
    auto lock = store.lock_lane("i", lane, 1s);
    std::int64_t last_x = 0, count_after = 0;
    for (;;) {
        auto batch = lock->read(1000, 64 << 20);
        if (batch.empty()) break;
        for (const auto& e : batch) {
            if (e.collection == "x" && e.op == op_kind::add) last_x = e.position;
            if (e.position > renamed[0].position) ++count_after;
        }
        lock->advance(batch.back().position);
    }
    CHECK(last_x < renamed[0].position);
    CHECK(count_after == 0);
    auto next = store.lock_lane("j", after_lane, 1s);
    next->applied();
    CHECK_FALSE(next->start_ready());
    const auto first = next->read(1, 1 << 20);
    REQUIRE(first.size() == 1);
    CHECK(first[0].position == 1);
    CHECK(first[0].collection == "x");
}
