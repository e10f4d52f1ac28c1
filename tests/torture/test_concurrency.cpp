// Concurrent writers: four processes (concurrent_writer) with four threads each write
// conflicting upserts, updates, adds and deletes on overlapping ids of the same two collections,
// through one shared log, while one Chroma instance is killed and restarted twice. After sync,
// verify must report no difference, and each instance's apply history (from the log) must start
// at 1, have no gap, no reordering and no repeat beyond the one allowed re-application.
//
// Environment: CHROMAWAL_CONCURRENCY_OPS  operations per thread (default 60; the long form 600)
//              CHROMAWAL_CONCURRENCY_SEED seed (default: random, printed)
#include <catch2/catch.hpp>
#include <chromawal/chromawal.hpp>

#include "cluster.hpp"
#include "process.hpp"
#include "servers.hpp"

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <utility>
#include <vector>

#ifndef CHROMAWAL_CONCURRENT_WRITER
#error "CHROMAWAL_CONCURRENT_WRITER must be the path of the concurrent_writer executable"
#endif

namespace cw = chromawal;
using namespace std::chrono_literals;

namespace {

constexpr int processes = 4;
constexpr int threads = 4;
const std::vector<std::string> collections = {"conc-0", "conc-1"};

struct writer_report {
    long progress = 0;
    bool done = false;
    long ok = 0, failed = 0;
    std::map<std::string, std::int64_t> max_position;
};

writer_report read_report(const std::string& log) {
    writer_report r;
    std::istringstream in(torture_test::tail(log, std::string::npos));
    for (std::string line; std::getline(in, line);) {
        std::istringstream l(line);
        std::string word;
        l >> word;
        if (word == "progress") {
            l >> r.progress;
        } else if (word == "max_position") {
            std::string name;
            std::int64_t p = 0;
            l >> name >> p;
            r.max_position[name] = p;
        } else if (word == "done") {
            r.done = true;
            std::string ok, failed;
            l >> ok >> failed;
            r.ok = std::stol(ok.substr(ok.find('=') + 1));
            r.failed = std::stol(failed.substr(failed.find('=') + 1));
        }
    }
    return r;
}

}  // namespace

TEST_CASE("check_history accepts gapless ordered histories and flags the rest", "[history]") {
    using h = std::vector<std::pair<std::int64_t, std::int64_t>>;
    auto check = [](const h& ranges, std::int64_t head = 0) {
        std::vector<torture_test::applied_range> r;
        for (const auto& [first, last] : ranges) r.push_back({first, last, false});
        return torture_test::check_history(r, head);
    };
    CHECK(check({{1, 1}, {2, 5}, {6, 6}}).error.empty());
    CHECK(check({{1, 1}, {2, 5}, {6, 6}}).last == 6);
    CHECK(check({{1, 3}, {2, 3}, {4, 4}}).error.empty());  // [2,3] re-applied once after a crash
    CHECK(check({{1, 3}, {1, 5}}).overlaps == 1);
    CHECK_FALSE(check({}).error.empty());                        // nothing applied
    CHECK_FALSE(check({{2, 3}}).error.empty());                  // does not start at 1
    CHECK_FALSE(check({{1, 2}, {4, 4}}).error.empty());          // gap
    CHECK_FALSE(check({{1, 2}, {3, 5}, {2, 6}}).error.empty());  // back before the previous request
    CHECK_FALSE(check({{1, 5}, {3, 4}}).error.empty());          // ends before the previous one
    CHECK_FALSE(check({{1, 2}, {2, 2}, {2, 3}}).error.empty());  // position 2 applied three times
    CHECK_FALSE(check({{1, 2}, {3, 3}}, 4).error.empty());       // stops before the head
    // client::apply_history's form: from is the position before, to the position after.
    std::vector<cw::apply_history_entry> entries(2);
    entries[0].from = 0;
    entries[0].to = 4;
    entries[1].from = 4;
    entries[1].to = 6;
    const auto ranges = torture_test::to_ranges(entries);
    CHECK(torture_test::check_history(ranges, 6).error.empty());
    entries[1].from = 5;  // position 5 skipped
    CHECK_FALSE(torture_test::check_history(torture_test::to_ranges(entries), 6).error.empty());
}

TEST_CASE("concurrent writers: 4 processes x 4 threads, conflicting writes, an instance killed", "[concurrency]") {
    const auto started = std::chrono::steady_clock::now();
    const long ops = torture_test::env_int("CHROMAWAL_CONCURRENCY_OPS", 60);
    const auto seed = torture_test::env_int("CHROMAWAL_CONCURRENCY_SEED", 0) != 0
                          ? torture_test::env_int("CHROMAWAL_CONCURRENCY_SEED", 0)
                          : static_cast<long long>(std::random_device{}() % 1000000000 + 1);
    std::cout << "concurrency: seed " << seed << " (CHROMAWAL_CONCURRENCY_SEED), " << ops
              << " operations per thread (CHROMAWAL_CONCURRENCY_OPS)" << std::endl;
    const long total = processes * threads * ops;

    // The log: PostgreSQL, or with CHROMAWAL_TEST_LOG_STORE=sqlite an SQLite file shared by the
    // writer processes.
    const auto store = chromawal_test::log_store_under_test();
    std::unique_ptr<chromawal_test::postgres_server> pg;
    if (store == chromawal_test::store_kind::postgresql) {
        pg = std::make_unique<chromawal_test::postgres_server>();
        pg->start();
    }
    chromawal_test::chroma_server a("conc-a"), b("conc-b");
    a.start();
    b.start();
    const std::string dir = torture_test::make_temp_dir("chromawal-concurrency");
    const std::string log_url = pg ? pg->uri() : "sqlite://" + dir + "/log.db";
    std::cout << "concurrency: log store " << chromawal_test::to_string(store) << " (CHROMAWAL_TEST_LOG_STORE)"
              << std::endl;
    INFO("seed " << seed << ", logs in " << dir);

    auto config = [&] {
        cw::client_config c;
        c.instances.resize(2);
        c.instances[0].name = "a";
        c.instances[0].role = cw::instance_role::primary;
        c.instances[0].connection.base_url = a.url();
        c.instances[1].name = "b";
        c.instances[1].connection.base_url = b.url();
        c.log_url = log_url;
        c.log_schema = "concurrency";
        c.health_interval = 100ms;
        c.sync_interval = 100ms;
        c.record_apply_history = true;
        return c;
    };
    {
        cw::client setup(config());
        for (const auto& name : collections) setup.create_collection(name);
    }

    std::vector<std::unique_ptr<torture_test::child>> writers;
    std::vector<std::string> logs;
    for (int p = 0; p < processes; ++p) {
        logs.push_back(dir + "/writer-" + std::to_string(p) + ".log");
        writers.push_back(std::make_unique<torture_test::child>(
            std::vector<std::string>{CHROMAWAL_CONCURRENT_WRITER, "--instances", "a=" + a.url() + ",b=" + b.url(),
                                     "--log-url", log_url, "--log-schema", "concurrency", "--seed",
                                     std::to_string(seed), "--process", std::to_string(p), "--threads",
                                     std::to_string(threads), "--ops", std::to_string(ops)},
            logs.back()));
    }
    auto progress = [&] {
        long sum = 0;
        for (const auto& log : logs) sum += read_report(log).progress;
        return sum;
    };
    auto any_running = [&] {
        for (auto& w : writers) {
            if (w->running()) return true;
        }
        return false;
    };
    // Polls until the writers together have finished `fraction` of their operations (or all
    // exited); false at the deadline.
    auto wait_progress = [&](double fraction) {
        const auto deadline = std::chrono::steady_clock::now() + 300s;
        while (progress() < static_cast<long>(fraction * static_cast<double>(total)) && any_running()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            std::this_thread::sleep_for(20ms);
        }
        return true;
    };

    // Instance b is killed at 20% and 60% of the writes and comes back at 40% and 80%: writes
    // keep going to a, and b's sync (in four processes at once) catches up while they continue.
    REQUIRE(wait_progress(0.2));
    b.kill9();
    REQUIRE(wait_progress(0.4));
    b.restart();
    REQUIRE(wait_progress(0.6));
    b.kill9();
    REQUIRE(wait_progress(0.8));
    b.restart();

    int failures = 0;  // of the checks below
    long ok = 0, failed = 0;
    std::map<std::string, std::int64_t> head;
    for (std::size_t p = 0; p < writers.size(); ++p) {
        const auto st = writers[p]->wait(300s);
        INFO("writer " << p << ": " << torture_test::tail(logs[p]));
        REQUIRE(st);
        TORTURE_CHECK(failures, torture_test::describe_status(*st) == "exited with code 0");
        const auto r = read_report(logs[p]);
        TORTURE_CHECK(failures, r.done);
        TORTURE_CHECK(failures, r.progress == threads * ops);
        ok += r.ok;
        failed += r.failed;
        for (const auto& [name, pos] : r.max_position) head[name] = std::max(head[name], pos);
    }
    INFO(ok << " writes succeeded, " << failed << " failed");
    // An instance going away must not make writes fail: the other one takes them.
    TORTURE_CHECK(failures, ok >= total * 9 / 10);

    cw::client client(config());
    REQUIRE(client.wait_until_synced(180s));
    cw::verify_options vo;
    vo.collections = collections;
    const auto verified = client.verify("a", "b", vo);
    REQUIRE(verified.collections.size() == collections.size());
    std::size_t records = 0;
    for (const auto& r : verified.collections) {
        INFO(r.summary());
        TORTURE_CHECK(failures, r.exists_a);
        TORTURE_CHECK(failures, r.identical());
        records += r.records_a;
    }

    std::size_t overlaps = 0;
    for (const auto& name : collections) {
        REQUIRE(head[name] > 0);
        std::int64_t last[2] = {0, 0};
        for (int i = 0; i < 2; ++i) {
            const std::string instance = i == 0 ? "a" : "b";
            const auto check =
                torture_test::check_history(torture_test::to_ranges(client.apply_history(instance, name)), head[name]);
            INFO(instance << "/" << name << " (" << check.ranges << " requests): " << check.error);
            TORTURE_CHECK(failures, check.error.empty());
            overlaps += check.overlaps;
            last[i] = check.last;
        }
        INFO(name);
        TORTURE_CHECK(failures, last[0] == last[1]);
    }
    // Advances are recorded in the transaction that moves the applied position: an overlap would
    // mean two appliers (threads or processes) held one lane of one instance at once.
    TORTURE_CHECK(failures, overlaps == 0);

    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cout << "concurrency: " << total << " operations (" << ok << " ok, " << failed << " failed), lanes at "
              << head[collections[0]] << " and " << head[collections[1]] << ", " << records << " records at the end, "
              << overlaps << " re-applied requests, " << secs << " s" << std::endl;
    torture_test::remove_if_passed(dir, failures);
}
