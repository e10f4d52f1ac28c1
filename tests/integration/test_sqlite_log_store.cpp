// The SQLite log store's own concerns (its URL, its file, its cross-process locks, the embedded
// default), and retention on both stores. The rest of its contract is proven by the [log_store]
// tests of test_pg_log_store.cpp, which run on both stores.

#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "chromawal/chromawal.hpp"
#include "chromawal/error.hpp"
#include "cluster.hpp"
#include "log_stores.hpp"
#include "poll.hpp"
#include "wal/open_log_store.hpp"
#include "wal/sqlite/db.hpp"
#include "wal/sqlite_log_store.hpp"

namespace {

namespace cw = chromawal;
using namespace std::chrono_literals;
using chromawal::wal::entry_state;
using chromawal::wal::lane_key;
using chromawal::wal::log_store;
using chromawal::wal::new_entry;
using chromawal::wal::op_kind;
using chromawal::wal::sqlite_log_store;
using chromawal_test::store_kind;

std::string unique_id(const std::string& prefix) {
    static std::atomic<long> counter{0};
    return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
}

new_entry make_entry(const lane_key& lane, std::string payload = "p") {
    return new_entry{lane, unique_id("id"), op_kind::add, std::move(payload)};
}

/// A raw SQLite connection to look behind the store's back.
class raw_db {
public:
    explicit raw_db(const std::string& path) { REQUIRE(sqlite3_open(path.c_str(), &db_) == SQLITE_OK); }
    ~raw_db() { sqlite3_close(db_); }
    raw_db(const raw_db&) = delete;
    raw_db& operator=(const raw_db&) = delete;
    int exec(const std::string& sql) { return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr); }
    std::string text(const std::string& sql) {
        sqlite3_stmt* st = nullptr;
        REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
        std::string v;
        if (sqlite3_step(st) == SQLITE_ROW) v = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        return v;
    }
    std::int64_t value(const std::string& sql) {
        sqlite3_stmt* st = nullptr;
        REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
        std::int64_t v = -1;
        if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return v;
    }

private:
    sqlite3* db_ = nullptr;
};

/// Sets (or unsets) environment variables for one scope, then restores them.
class scoped_env {
public:
    void set(const char* name, const char* value) {
        const char* old = std::getenv(name);
        saved_.push_back({name, old ? std::optional<std::string>(old) : std::nullopt});
        if (value == nullptr) {
            ::unsetenv(name);
        } else {
            ::setenv(name, value, 1);
        }
    }
    ~scoped_env() {
        for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
            if (it->second) {
                ::setenv(it->first.c_str(), it->second->c_str(), 1);
            } else {
                ::unsetenv(it->first.c_str());
            }
        }
    }

private:
    std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

}  // namespace

TEST_CASE("sqlite log store: URL forms, and clear refusals", "[sqlite_log_store]") {
    using chromawal::wal::sqlite_path;
    CHECK(sqlite_path("sqlite:///var/lib/app/log.db") == "/var/lib/app/log.db");
    CHECK(sqlite_path("sqlite:state/log.db") == "state/log.db");
    CHECK(sqlite_path("postgresql://u@h/db").empty());
    CHECK(sqlite_path("host=x dbname=y").empty());
    CHECK_THROWS_AS(sqlite_path("sqlite://otherhost/log.db"), cw::invalid_argument);
    CHECK_THROWS_AS(sqlite_path("sqlite:"), cw::invalid_argument);
    CHECK_THROWS_AS(sqlite_path("sqlite:///dir/"), cw::invalid_argument);
    CHECK_THROWS_AS(sqlite_path("sqlite:///x.db?mode=ro"), cw::invalid_argument);
    CHECK_THROWS_AS(sqlite_log_store(""), cw::invalid_argument);
    // The test folder is on a local disk: accepted (a network one is refused; docs/configuration.md).
    CHECK(chromawal::wal::sqlite::network_file_system(chromawal_test::sqlite_dir() + "/x.db").empty());

    // A missing directory: refused, naming the file; through the client, at construction.
    const std::string missing = chromawal_test::sqlite_dir() + "/no/such/dir/log.db";
    sqlite_log_store store(missing);
    try {
        store.migrate();
        FAIL("migrate in a missing directory succeeded");
    } catch (const chromawal::wal::store_refused& e) {
        CHECK(std::string(e.what()).find(missing) != std::string::npos);
    }
    cw::client_config c;
    c.instances.resize(1);
    c.instances[0].name = "a";
    c.instances[0].connection.base_url = "http://127.0.0.1:9";
    c.log_url = "sqlite://" + missing;
    c.background_threads = false;
    try {
        cw::client client(c);
        FAIL("a client on a log in a missing directory started");
    } catch (const cw::invalid_argument& e) {
        CHECK(std::string(e.what()).find(missing) != std::string::npos);
    }

    // A file that is not a database.
    const std::string junk = chromawal_test::sqlite_dir() + "/junk.db";
    {
        FILE* f = std::fopen(junk.c_str(), "w");
        REQUIRE(f != nullptr);
        std::fputs("this is not an SQLite database, it is long enough to have a header of sorts..........", f);
        std::fclose(f);
    }
    sqlite_log_store bad(junk);
    CHECK_THROWS_AS(bad.migrate(), chromawal::wal::store_refused);
}

TEST_CASE("sqlite log store: a database locked beyond the busy timeout fails with log_unavailable",
          "[sqlite_log_store]") {
    const auto place = chromawal_test::fresh_store(store_kind::sqlite);
    sqlite_log_store store(place.path, 300ms);
    store.migrate();
    const lane_key k{"t", "d", "locked"};
    store.append({make_entry(k)});
    raw_db other(place.path);
    REQUIRE(other.exec("PRAGMA busy_timeout = 5000") == SQLITE_OK);
    REQUIRE(other.exec("BEGIN IMMEDIATE") == SQLITE_OK);  // another writer holds the write lock
    const auto t0 = std::chrono::steady_clock::now();
    try {
        store.append({make_entry(k)});
        FAIL("append succeeded while another connection held the write lock");
    } catch (const cw::log_unavailable& e) {
        const std::string what = e.what();
        CHECK(what.find("locked") != std::string::npos);
        CHECK(what.find(place.path) != std::string::npos);
    }
    CHECK(std::chrono::steady_clock::now() - t0 >= 250ms);
    CHECK(store.counts().pending == 1);  // reads go on (WAL mode: readers never wait)
    REQUIRE(other.exec("ROLLBACK") == SQLITE_OK);
    CHECK(store.append({make_entry(k)})[0].position == 2);
}

TEST_CASE("sqlite log store: lane locks and write transactions die with a process killed -9", "[sqlite_log_store]") {
    const auto place = chromawal_test::fresh_store(store_kind::sqlite);
    sqlite_log_store store(place.path);
    store.migrate();
    const lane_key k{"t", "d", "kill9"};
    const std::int64_t lane = store.append({make_entry(k), make_entry(k)})[0].lane_id;

    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // The child: the lane lock of ("inst", lane) and an open write transaction, then it waits
        // to be killed. No Catch2 here.
        ::close(ready[0]);
        int rc = 1;
        try {
            sqlite_log_store mine(place.path);
            auto held = mine.lock_lane("inst", lane, 2s);
            sqlite3* db = nullptr;
            if (held && sqlite3_open(place.path.c_str(), &db) == SQLITE_OK &&
                sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK) {
                const char one = '1';
                if (::write(ready[1], &one, 1) == 1) {
                    for (;;) ::pause();
                }
            }
        } catch (...) {
            rc = 2;
        }
        ::_exit(rc);
    }
    ::close(ready[1]);
    char got = 0;
    const bool child_ready = ::read(ready[0], &got, 1) == 1;
    ::close(ready[0]);
    if (!child_ready) {
        ::kill(child, SIGKILL);
        ::waitpid(child, nullptr, 0);
        FAIL("the child process could not take the lock");
    }
    // Held by the other process: not granted here, for any thread or store object.
    CHECK_FALSE(store.lock_lane("inst", lane, 100ms));
    sqlite_log_store other(place.path);
    CHECK_FALSE(other.lock_lane("inst", lane, 0ms));
    CHECK(other.lock_lane("other-inst", lane, 0ms));  // another instance's lock is free
    CHECK(store.abandon_if_unapplied(lane, 2, {"inst"}, 100ms) == chromawal::wal::abandon_result::undecided);

    REQUIRE(::kill(child, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    // The kernel released the lock and SQLite the write lock with the process.
    auto lock = store.lock_lane("inst", lane, 2s);
    REQUIRE(lock);
    CHECK(lock->applied() == 0);
    lock->advance(1);
    CHECK(store.append({make_entry(k)})[0].position == 3);
    lock.reset();
    CHECK(store.abandon_if_unapplied(lane, 2, {"inst"}, 1s) == chromawal::wal::abandon_result::abandoned);
    CHECK(store.abandon_if_unapplied(lane, 1, {"inst"}, 1s) == chromawal::wal::abandon_result::kept);
}

TEST_CASE("sqlite log store: statements are prepared once per connection and leave no read open",
          "[sqlite_log_store]") {
    const auto where = chromawal_test::fresh_store(store_kind::sqlite);
    INFO(where.describe());
    sqlite_log_store store(where.path);
    store.migrate();
    const lane_key k{"t", "d", "cached"};
    auto one_write = [&](int n) {
        const auto at = store.append({make_entry(k, "payload-" + std::to_string(n))}).at(0);
        for (const char* instance : {"a", "b"}) {
            auto lock = store.lock_lane(instance, at.lane_id, 1s);
            REQUIRE(lock);
            REQUIRE(lock->applied() == at.position - 1);
            const auto next = lock->read(10, 1 << 20);
            REQUIRE(next.size() == 1);
            CHECK(next[0].payload == "payload-" + std::to_string(n));
            lock->advance_and_release(at.position);
        }
        CHECK(store.lanes_behind("a").empty());
        return at;
    };
    for (int n = 0; n < 3; ++n) one_write(n);  // connections opened, statements prepared
    const auto prepared = sqlite_log_store::statements_prepared_in_process();
    std::int64_t last = 0;
    for (int n = 3; n < 40; ++n) last = one_write(n).position;
    CHECK(sqlite_log_store::statements_prepared_in_process() == prepared);
    CHECK(last == 40);
    // A kept statement is reset after each use: no idle connection of the store holds a read
    // snapshot, so a checkpoint can move the whole WAL into the database and truncate it.
    raw_db raw(where.path);
    CHECK(raw.text("PRAGMA wal_checkpoint(TRUNCATE)") == "0");  // busy = 0
    CHECK(std::filesystem::file_size(where.path + "-wal") == 0);
    // And the store goes on after it (reused statements on a checkpointed file).
    one_write(40);
    auto other = where.open(8);
    auto lock = other->lock_lane("b", store.lane_id(k), 1s);
    REQUIRE(lock);
    CHECK(lock->applied() == 41);
}

TEST_CASE("log store: prune deletes an applied prefix, stops at what must stay, and does not bloat", "[log_store]") {
    const auto where = chromawal_test::fresh_store(GENERATE(store_kind::postgresql, store_kind::sqlite));
    INFO(where.describe());
    auto opened = where.open(8, true);
    log_store& store = *opened;
    const lane_key k{"t", "d", "retained"};
    std::vector<new_entry> batch;
    for (int i = 0; i < 300; ++i) batch.push_back(make_entry(k, std::string(8000, static_cast<char>('a' + i % 26))));
    const std::int64_t lane = store.append(batch)[0].lane_id;
    store.lock_lane("a", lane, 1s)->advance(200);
    store.lock_lane("b", lane, 1s)->advance(200);
    CHECK(store.mark_applied({"a", "b"}) == 200);
    store.add_dead_letter("b", lane, 150, "kept failing");

    CHECK(store.prune(1h, 50) == 0);     // too young
    CHECK(store.prune(0ms, 50) == 149);  // stops at the dead letter
    auto lanes = store.all_lanes("a");
    REQUIRE(lanes.size() == 1);
    CHECK(lanes[0].pruned_through == 149);
    CHECK_FALSE(store.read_entry(lane, 149));
    CHECK(store.read_entry(lane, 150));

    store.remove_dead_letter("b", lane, 150);
    CHECK(store.prune(0ms, 50) == 51);  // then up to the last applied entry
    CHECK(store.all_lanes("a")[0].pruned_through == 200);
    CHECK(store.counts().pending == 100);
    auto lock = store.lock_lane("a", lane, 1s);
    REQUIRE(lock);
    CHECK(lock->applied() == 200);
    CHECK(lock->pruned_through() == 200);
    CHECK(lock->read(1, 1 << 20).at(0).position == 201);

    if (where.kind == store_kind::sqlite) {
        // The freed pages went back to the file system (auto_vacuum=INCREMENTAL).
        raw_db raw(where.path);
        CHECK(raw.value("PRAGMA auto_vacuum") == 2);
        CHECK(raw.value("PRAGMA freelist_count") == 0);
        CHECK(raw.text("PRAGMA journal_mode") == "wal");
    }
}

TEST_CASE("the default log: an SQLite file in the user's state directory, named after the instance set",
          "[default_log]") {
    using chromawal::wal::default_sqlite_path;
    const std::string state = chromawal_test::sqlite_dir() + "/state-" + unique_id("x");
    scoped_env env;
    env.set("XDG_STATE_HOME", state.c_str());
    env.set("CHROMAWAL_LOG_URL", nullptr);
    for (const char* v : {"PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSERVICE",
                          "PGSERVICEFILE", "PGPASSFILE", "PGSSLMODE", "PGOPTIONS"}) {
        env.set(v, nullptr);
    }
    // The same instances in any order (and with a trailing slash) name the same file.
    const std::string p1 = default_sqlite_path({"http://h:1", "http://h:2"});
    CHECK(p1 == default_sqlite_path({"http://h:2/", "http://h:1"}));
    CHECK(p1 != default_sqlite_path({"http://h:1", "http://h:3"}));
    CHECK(p1.rfind(state + "/chromawal/log-", 0) == 0);

    chromawal_test::cluster k("dflt");
    cw::client_config c = k.config();
    c.log_url.clear();
    chromawal_test::event_log events;
    c.on_event = events.hook();
    const std::string expected = default_sqlite_path({k.a.url(), k.b.url()});
    {
        cw::client client(c);
        CHECK(events.count(cw::event::kind::log_default) == 1);
        CHECK(events.dump().find(expected) != std::string::npos);
        auto coll = client.create_collection("default-log");
        const std::vector<float> embeddings = {1.0F, 2.0F, 3.0F, 4.0F};
        cw::record_set r;
        r.ids = {"x1", "x2"};
        r.embeddings = cw::embedding_view(embeddings, 2);
        const auto receipt = coll.add(r);
        CHECK(receipt.applied.size() == 2);
        CHECK(client.wait_until_synced(30s));
    }
    CHECK(std::filesystem::exists(expected));
    struct stat st {};
    REQUIRE(::stat((state + "/chromawal").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    CHECK(k.verify("default-log").identical());

    // Configured logs are not replaced by the default: a PG* variable means libpq's environment.
    env.set("PGHOST", "127.0.0.1");
    CHECK(chromawal::wal::libpq_environment());
}
