#pragma once
// The health monitor: one thread per instance sending heartbeats every health_interval (more
// often while the instance is down), feeding the instance's health hysteresis, emitting
// instance_up / instance_down and waking the sync worker when an instance returns.
//
// Owns: the health threads and the condition variable they sleep on.
// May touch: context (config, instances, stop flag, emit), instance_state (heartbeat, health),
// sync_worker (wake).
//
// Thread-safety: start(), request_stop() and join() only by the owner
// (replicated_client::start_background / stop_background); each thread touches only its own
// instance (instance_state is thread-safe).

#include "replication/context.hpp"
#include "replication/sync_worker.hpp"

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace chromawal::detail {

class health_monitor {
public:
    health_monitor(context& ctx, sync_worker& sync) : ctx_(ctx), sync_(sync) {}

    /// One thread per instance.
    void start();
    /// Wakes the sleeping threads so that they see context::stopping (set by the caller before).
    void request_stop();
    void join();

private:
    void loop(std::size_t index);

    context& ctx_;
    sync_worker& sync_;
    std::vector<std::thread> threads_;
    std::mutex sleep_mutex_;
    std::condition_variable cv_;
};

}  // namespace chromawal::detail
