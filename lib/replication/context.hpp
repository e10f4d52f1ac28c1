#pragma once
// What every replication component shares: the configuration, the log store, the instances,
// the stop flag and the event hook. Owned by replicated_client and handed by reference to each
// component it owns (writer, applier, sync_worker, health_monitor, read_router, repairer,
// retention); no component owns another one's state.
//
// May touch: the wal::log_store interface and instance_state; nothing above this layer.
//
// Thread-safety: everything but `stopping` is fixed after construction and read from any
// thread; the log store (with its guard) and instance_state are thread-safe themselves;
// `stopping` is atomic.
// emit() is called from the writer's, sync and health threads alike, without a lock; the
// webhook's queue (ops/alerts.hpp) never blocks it.

#include <chromawal/client.hpp>

#include "ops/alerts.hpp"
#include "ops/metrics.hpp"
#include "replication/instance.hpp"
#include "replication/log_guard.hpp"
#include "wal/log_store.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace chromawal::detail {

struct context {
    context(client_config config, std::unique_ptr<wal::log_store> store);

    client_config config;
    /// The log store behind its guard (reachability, degraded start, reconnection): log_guard.hpp.
    std::unique_ptr<log_guard> store;
    std::vector<std::unique_ptr<instance_state>> instances;
    std::vector<std::string> instance_names;
    /// Counters and latency histograms (atomics), for status() and the metrics listener.
    metrics_registry metrics;
    /// The alert webhook's queue, when client_config::alert_webhook_url is set.
    std::unique_ptr<alert_queue> alerts;
    /// Set once by replicated_client::stop_background(); every loop checks it.
    std::atomic<bool> stopping{false};

    /// Calls config.on_event (an exception from the hook is swallowed) and queues the event for
    /// the alert webhook.
    void emit(event::kind kind, const std::string& instance, const std::string& message) const;
    /// The lane of a collection of this client's tenant and database.
    wal::lane_key key_for(const std::string& collection) const;
    /// `key` is in the configured tenant and database (repair state is kept for those only).
    bool configured(const wal::lane_key& key) const {
        return key.tenant == config.tenant && key.database == config.database;
    }
    /// @throws invalid_argument naming `what` and the configured instances.
    instance_state& instance_named(std::string_view name, const char* what);
};

/// Seconds since the Unix epoch (the log's created_at clock).
inline double now_epoch() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace chromawal::detail
