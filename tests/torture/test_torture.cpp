// Kill -9 torture: a writer process (torture_writer) streams a deterministic mix of operations
// through chromawal into two real Chroma servers and one PostgreSQL log, and is killed with
// SIGKILL at random moments and restarted, many times; one Chroma server is killed and restarted
// too, now and then. At the end both instances must hold exactly every acknowledged write, any
// unacknowledged write whole or not at all and identically on both, nothing else; verify must
// report no difference; and each instance's apply history must be gapless and in order.
//
// Environment: CHROMAWAL_TORTURE_KILLS  writer kills (default 100; the long form runs 200)
//              CHROMAWAL_TORTURE_SEED   the operation stream's seed (default: random, printed)
#include <catch2/catch.hpp>
#include <chromawal/chromawal.hpp>

#include "cluster.hpp"
#include "process.hpp"
#include "servers.hpp"
#include "torture_model.hpp"

#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <thread>

#ifndef CHROMAWAL_TORTURE_WRITER
#error "CHROMAWAL_TORTURE_WRITER must be the path of the torture_writer executable"
#endif

namespace cw = chromawal;
using namespace std::chrono_literals;
using torture_test::line_counter;

namespace {

struct stored {
    std::optional<std::string> document;
    std::optional<cw::metadata_map> metadata;
    std::vector<float> embedding;
};

std::map<std::string, stored> read_all(const std::string& url, const std::string& collection) {
    cw::connection_options o;
    o.base_url = url;
    const auto coll = cw::chroma_client(o).get_collection(collection);
    std::map<std::string, stored> out;
    cw::get_options g;
    g.include = cw::include_fields::documents | cw::include_fields::metadatas | cw::include_fields::embeddings;
    g.limit = 500;
    for (std::size_t offset = 0;; offset += *g.limit) {
        g.offset = offset;
        const auto page = coll.get(g);
        for (std::size_t i = 0; i < page.size(); ++i) {
            stored s;
            s.document = page.documents[i];
            s.metadata = page.metadatas[i];
            s.embedding = page.embeddings.row_vector(i);
            out[page.ids[i]] = std::move(s);
        }
        if (page.size() < *g.limit) break;
    }
    return out;
}

// Whether the stored record is exactly what the model's state says ("" when it is).
std::string mismatch(const std::string& id, const torture::rec& expected, const stored* actual) {
    if (!expected.present) return actual ? "present, expected absent" : "";
    if (!actual) return "absent, expected written by op " + std::to_string(expected.op);
    const auto c = torture::content_of(id, expected.op);
    if (actual->document != c.document) return "document '" + actual->document.value_or("<none>") + "'";
    if (actual->metadata != c.metadata) return "metadata differs from op " + std::to_string(expected.op);
    if (actual->embedding.size() != c.embedding.size() ||
        std::memcmp(actual->embedding.data(), c.embedding.data(), c.embedding.size() * sizeof(float)) != 0) {
        return "embedding differs from op " + std::to_string(expected.op);
    }
    return "";
}

}  // namespace

TEST_CASE("kill -9 torture: acknowledged writes survive writer and server crashes", "[torture]") {
    const auto started = std::chrono::steady_clock::now();
    const int kills = static_cast<int>(torture_test::env_int("CHROMAWAL_TORTURE_KILLS", 100));
    const auto seed = static_cast<std::uint64_t>(torture_test::env_int("CHROMAWAL_TORTURE_SEED", 0)) != 0
                          ? static_cast<std::uint64_t>(torture_test::env_int("CHROMAWAL_TORTURE_SEED", 0))
                          : static_cast<std::uint64_t>(std::random_device{}() % 1000000000 + 1);
    std::cout << "torture: seed " << seed << " (CHROMAWAL_TORTURE_SEED), " << kills
              << " writer kills (CHROMAWAL_TORTURE_KILLS)" << std::endl;
    REQUIRE(kills >= 1);

    // The log: PostgreSQL, or with CHROMAWAL_TEST_LOG_STORE=sqlite an SQLite file that every
    // writer process opens (its lane locks then cross processes through the kernel's file locks).
    const auto store = chromawal_test::log_store_under_test();
    std::unique_ptr<chromawal_test::postgres_server> pg;
    if (store == chromawal_test::store_kind::postgresql) {
        pg = std::make_unique<chromawal_test::postgres_server>();
        pg->start();
    }
    chromawal_test::chroma_server a("torture-a"), b("torture-b");
    a.start();
    b.start();
    const std::string dir = torture_test::make_temp_dir("chromawal-torture");
    const std::string log_url = pg ? pg->uri() : "sqlite://" + dir + "/log.db";
    std::cout << "torture: log store " << chromawal_test::to_string(store) << " (CHROMAWAL_TEST_LOG_STORE)"
              << std::endl;
    const std::string writer_log = dir + "/writer.log";
    const std::string instances = "a=" + a.url() + ",b=" + b.url();
    const std::vector<std::string> writer = {
        CHROMAWAL_TORTURE_WRITER, "--dir",   dir,      "--instances",       instances, "--log-url", log_url,
        "--log-schema",           "torture", "--seed", std::to_string(seed)};
    INFO("seed " << seed << ", files in " << dir);

    // One Chroma server is killed now and then (b mostly, the primary a once in every three), and
    // restarted in the background while the next writer runs.
    const int server_kills = std::max(3, kills / 10);
    std::map<int, chromawal_test::chroma_server*> server_kill_at;
    for (int e = 0; e < server_kills; ++e) {
        server_kill_at[(e + 1) * kills / (server_kills + 1)] = e % 3 == 2 ? &a : &b;
    }
    std::unique_ptr<std::thread> restarter;
    chromawal_test::chroma_server* down = nullptr;
    auto join_restart = [&] {
        if (restarter) restarter->join();
        restarter.reset();
    };

    std::mt19937_64 rng(seed);
    line_counter acks(dir + "/acks");
    int startup_kills = 0, ack_kills = 0, time_kills = 0;
    int server_kills_done = 0;
    chromawal_test::chroma_server* pending_server_kill = nullptr;  // due, not done yet
    for (int k = 0; k < kills; ++k) {
        torture_test::child w(writer, writer_log);
        auto alive = [&w] { return w.running(); };
        // Exited on its own (a crash of the writer, not our kill): fail with its log.
        auto require_running = [&](const char* when) {
            if (const auto st = w.status()) {
                FAIL("writer " << torture_test::describe_status(*st) << " " << when << "; log tail:\n"
                               << torture_test::tail(writer_log));
            }
        };
        const auto mode = rng() % 10;
        if (server_kill_at.count(k)) pending_server_kill = server_kill_at[k];
        if (mode == 0) {
            // Kill during start-up (schema check, collection creation, first writes).
            ++startup_kills;
            std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 400));
        } else {
            // Progress first: at least one acknowledgement from this writer.
            const bool progressed = acks.wait_for(acks.count() + 1, 60s, alive);
            require_running("before its first acknowledgement");
            REQUIRE(progressed);
            if (pending_server_kill) {
                // The server dies under a running writer: its writes continue on the other one.
                join_restart();
                down = pending_server_kill;
                pending_server_kill = nullptr;
                down->kill9();
                ++server_kills_done;
            }
            if (mode < 6) {
                ++ack_kills;
                const bool reached = acks.wait_for(acks.count() + rng() % 40, 60s, alive);
                require_running("while acknowledging");
                REQUIRE(reached);
                std::this_thread::sleep_for(std::chrono::microseconds(rng() % 5000));
            } else {
                ++time_kills;
                std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 500));
            }
        }
        require_running("before the kill");
        const int status = w.kill();
        REQUIRE(WIFSIGNALED(status));
        REQUIRE(WTERMSIG(status) == SIGKILL);
        if (down) {
            // Back while the next writer runs: its sync thread catches the server up.
            restarter = std::make_unique<std::thread>([s = down] { s->restart(); });
            down = nullptr;
        }
    }
    join_restart();
    if (!a.running()) a.restart();
    if (!b.running()) b.restart();

    // One last writer that is not killed: the stream continues cleanly after every crash.
    {
        std::vector<std::string> last = writer;
        last.insert(last.end(), {"--max-ops", "20"});
        torture_test::child w(last, writer_log);
        const auto st = w.wait(120s);
        INFO(torture_test::tail(writer_log));
        REQUIRE(st);
        REQUIRE(WIFEXITED(*st));
        REQUIRE(WEXITSTATUS(*st) == 0);
    }

    // Everything the writers logged reaches both instances.
    cw::client_config config;
    config.instances.resize(2);
    config.instances[0].name = "a";
    config.instances[0].role = cw::instance_role::primary;
    config.instances[0].connection.base_url = a.url();
    config.instances[1].name = "b";
    config.instances[1].connection.base_url = b.url();
    config.log_url = log_url;
    config.log_schema = "torture";
    config.health_interval = 100ms;
    config.sync_interval = 100ms;
    config.record_apply_history = true;
    cw::client client(config);
    int failures = 0;  // of the checks below
    REQUIRE(client.wait_until_synced(180s));

    cw::verify_options vo;
    vo.collections = {torture::collection_names[0], torture::collection_names[1]};
    const cw::verify_result verified = client.verify("a", "b", vo);
    REQUIRE(verified.collections.size() == 2);
    for (const auto& r : verified.collections) {
        INFO(r.summary());
        TORTURE_CHECK(failures, r.exists_a);
        TORTURE_CHECK(failures, r.identical());
    }

    // Against the model: every acknowledged write exactly, nothing unknown, unacknowledged
    // operations whole or not at all.
    const torture::model m = torture::load(dir + "/intents", dir + "/acks");
    TORTURE_CHECK(failures, m.acked >= static_cast<std::size_t>(kills - startup_kills));
    std::map<std::int64_t, std::set<bool>> verdicts;  // unacknowledged op -> applied?
    std::size_t records = 0, certain_checked = 0;
    for (int c = 0; c < 2; ++c) {
        const std::string name = torture::collection_names[c];
        for (const auto& [instance, url] : {std::pair<std::string, std::string>{"a", a.url()}, {"b", b.url()}}) {
            const auto actual = read_all(url, name);
            records += actual.size();
            for (const auto& [id, s] : actual) {
                INFO(instance << "/" << name << ": " << id);
                TORTURE_CHECK(failures, m.slots[c].count(id) == 1);  // no record that no operation wrote
            }
            for (const auto& [id, s] : m.slots[c]) {
                const auto it = actual.find(id);
                const stored* got = it == actual.end() ? nullptr : &it->second;
                INFO(instance << "/" << name << ": " << id);
                if (s.certain) {
                    ++certain_checked;
                    TORTURE_CHECK(failures, mismatch(id, s.cur, got) == "");
                    continue;
                }
                const bool is_cur = mismatch(id, s.cur, got).empty();
                const bool is_alt = mismatch(id, s.alt, got).empty();
                INFO("unacknowledged op " << s.unacked);
                TORTURE_CHECK(failures, (is_cur || is_alt));
                if (is_cur != is_alt) verdicts[s.unacked].insert(is_alt);
            }
        }
    }
    std::size_t applied_unacked = 0;
    for (const auto& [op, v] : verdicts) {
        INFO("unacknowledged op " << op << " applied to some of its records only");
        TORTURE_CHECK(failures, v.size() == 1);
        applied_unacked += v.count(true);
    }

    // Exactly-once per instance: gapless, ordered apply histories.
    std::size_t overlaps = 0;
    for (const char* name : torture::collection_names) {
        std::int64_t last[2] = {0, 0};
        for (int i = 0; i < 2; ++i) {
            const char* instance = i == 0 ? "a" : "b";
            const auto check =
                torture_test::check_history(torture_test::to_ranges(client.apply_history(instance, name)), 0);
            INFO(instance << "/" << name << ": " << check.error);
            TORTURE_CHECK(failures, check.error.empty());
            overlaps += check.overlaps;
            last[i] = check.last;
        }
        INFO(name);
        TORTURE_CHECK(failures, last[0] == last[1]);  // both applied the whole lane
    }
    // The history records an advance in the transaction that moves the applied position, so the
    // one re-application allowed after a crash (a request applied, then the process killed before
    // recording it) never shows in it: an overlap would mean two appliers held one lane at once.
    TORTURE_CHECK(failures, overlaps == 0);

    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cout << "torture: " << kills << " writer kills (" << startup_kills << " during start-up, " << ack_kills
              << " after acknowledgements, " << time_kills << " after a delay), " << server_kills_done
              << " server kills; " << m.max_op << " operations, " << m.acked << " acknowledged, "
              << m.unacked_ops.size() << " unacknowledged (" << applied_unacked << " of them applied); " << records / 2
              << " records per instance, " << certain_checked << " certain checks; " << overlaps
              << " re-applied requests; " << secs << " s" << std::endl;
    torture_test::remove_if_passed(dir, failures);
}
