#pragma once
// A pool of reusable threads for the write path's appliers, so that a write no longer starts a
// thread per instance. Threads are made when every one is busy (there is no upper bound, so a
// task never waits for a free thread: the appliers of one write must run at once) and end after
// `idle` without work.
//
// Owns: its threads and the queue of tasks not yet taken.
// Thread-safety: run() may be called from any thread, also from a task. The destructor waits
// for every task submitted, each bounded by its own deadline (appliers are bounded by their
// request timeouts).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

namespace chromawal::detail {

class worker_pool {
public:
    explicit worker_pool(std::chrono::milliseconds idle = std::chrono::seconds(30)) : idle_(idle) {}
    ~worker_pool();
    worker_pool(const worker_pool&) = delete;
    worker_pool& operator=(const worker_pool&) = delete;

    /// Runs `task` on a pool thread (an idle one, or a new one). A task must not throw.
    void run(std::function<void()> task);
    /// Threads alive now (for tests).
    std::size_t threads() const;

private:
    void work(std::list<std::thread>::iterator self);

    const std::chrono::milliseconds idle_;
    mutable std::mutex m_;
    std::condition_variable cv_;      // a task was queued, or the pool stops
    std::condition_variable exited_;  // a thread left work()
    std::deque<std::function<void()>> tasks_;
    std::size_t alive_ = 0, idle_count_ = 0;
    bool stopping_ = false;
    std::list<std::thread> running_;     // threads in work()
    std::vector<std::thread> finished_;  // threads that left work(), joined by the next run() or the destructor
};

}  // namespace chromawal::detail
