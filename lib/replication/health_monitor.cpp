// health_monitor: see health_monitor.hpp for what it owns, what it touches and its
// thread-safety.
#include "replication/health_monitor.hpp"

#include <algorithm>
#include <chrono>
#include <exception>

namespace chromawal::detail {

namespace {

using clock = std::chrono::steady_clock;

}  // namespace

void health_monitor::start() {
    for (std::size_t i = 0; i < ctx_.instances.size(); ++i) threads_.emplace_back([this, i] { loop(i); });
}

void health_monitor::request_stop() {
    { std::lock_guard<std::mutex> lock(sleep_mutex_); }
    cv_.notify_all();
}

void health_monitor::join() {
    for (auto& t : threads_) {
        if (t.joinable()) t.join();
    }
    threads_.clear();
}

void health_monitor::loop(std::size_t index) {
    instance_state& inst = *ctx_.instances[index];
    while (!ctx_.stopping) {
        const auto started = clock::now();
        try {
            inst.client().heartbeat();
            const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started);
            if (inst.report_success(latency, true)) {
                ctx_.emit(event::kind::instance_up, inst.name(), "heartbeat answered again");
                sync_.wake();  // catch it up now, not at the next interval
            }
        } catch (const std::exception& e) {
            if (inst.report_failure(e.what())) ctx_.emit(event::kind::instance_down, inst.name(), e.what());
        }
        // A down instance is probed more often, so that its return is noticed (and the sync
        // thread woken) within a fraction of a second.
        const auto period = inst.healthy() ? ctx_.config.health_interval
                                           : std::min<std::chrono::milliseconds>(ctx_.config.health_interval,
                                                                                 std::chrono::milliseconds(200));
        std::unique_lock<std::mutex> lock(sleep_mutex_);
        cv_.wait_until(lock, started + period, [this] { return ctx_.stopping.load(); });
    }
}

}  // namespace chromawal::detail
