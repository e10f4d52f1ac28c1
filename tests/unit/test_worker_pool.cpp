// The write path's pool of reusable threads: every task runs, tasks run at once (a new thread
// when all are busy), idle threads are reused and end after the idle time, and the destructor
// waits for every task.
#include <catch2/catch.hpp>

#include "replication/worker_pool.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace cd = chromawal::detail;
using namespace std::chrono_literals;

namespace {

// Polls `done` until it holds or `limit` passes.
template <typename F>
bool eventually(F done, std::chrono::milliseconds limit = 10s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= until) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

}  // namespace

TEST_CASE("worker_pool runs tasks at once, reuses idle threads and waits for every task", "[worker_pool]") {
    std::atomic<int> ran{0};
    {
        cd::worker_pool pool(std::chrono::milliseconds(200));
        // Tasks that wait for each other: they only finish if all run at the same time.
        std::mutex m;
        std::condition_variable cv;
        int arrived = 0;
        constexpr int together = 6;
        for (int i = 0; i < together; ++i) {
            pool.run([&] {
                std::unique_lock<std::mutex> lock(m);
                ++arrived;
                cv.notify_all();
                cv.wait(lock, [&] { return arrived == together; });
                ++ran;
            });
        }
        REQUIRE(eventually([&] { return ran == together; }));
        CHECK(pool.threads() == together);

        // Sequential tasks reuse the idle threads: no new ones.
        std::set<std::thread::id> ids;
        std::mutex ids_m;
        for (int i = 0; i < 20; ++i) {
            std::atomic<bool> done{false};
            pool.run([&] {
                std::lock_guard<std::mutex> lock(ids_m);
                ids.insert(std::this_thread::get_id());
                done = true;
            });
            REQUIRE(eventually([&] { return done.load(); }));
        }
        CHECK(pool.threads() <= together);
        // Idle threads end after the idle time.
        CHECK(eventually([&] { return pool.threads() == 0; }, 5s));

        // The destructor waits for tasks still running.
        pool.run([&] {
            std::this_thread::sleep_for(50ms);
            ++ran;
        });
    }
    CHECK(ran == 6 + 1);
}
