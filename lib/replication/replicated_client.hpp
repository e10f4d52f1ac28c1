#pragma once
// The replication engine behind chromawal::client: a thin coordinator that owns the
// components of lib/replication/ and forwards each public operation to one of them.
//
// Owns: the shared context (configuration, log store, instances) and the components built on
// it: applier, writer, sync_worker, health_monitor, read_router, repairer, retention, plus the
// read-your-writes positions. Wiring (who may call whom) is fixed here at construction:
//   writer -> applier, sync_worker, written_positions
//   sync_worker -> applier, retention        health_monitor -> sync_worker
//   read_router -> written_positions          repairer -> applier, writer
// May touch: only its components (and build_status for status()), and the metrics listener
// (ops/listener.hpp) it starts when client_config::metrics_address is set.
//
// Thread-safety: every public member function may be called from any thread, except
// start_background() and stop_background(), which the owning chromawal::client calls once each.

#include <chromawal/client.hpp>

#include "ops/listener.hpp"
#include "replication/applier.hpp"
#include "replication/context.hpp"
#include "replication/health_monitor.hpp"
#include "replication/log_identity.hpp"
#include "replication/read_router.hpp"
#include "replication/repairer.hpp"
#include "replication/retention.hpp"
#include "replication/sync_worker.hpp"
#include "replication/writer.hpp"
#include "replication/written_positions.hpp"
#include "wal/log_store.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chromawal::detail {

class replicated_client : public std::enable_shared_from_this<replicated_client> {
public:
    /// @param note when not empty, emitted once as event::kind::log_default after the log starts.
    replicated_client(client_config config, std::unique_ptr<wal::log_store> store, const std::string& note = {});
    ~replicated_client();

    void start_background();
    void stop_background();

    // ---- writes (writer); `key`: the collection's tenant, database and name ----
    write_receipt write_records(const wal::lane_key& key, wal::op_kind op, const record_set& records,
                                const write_options& options) {
        return counted([&] { return writer_.write_records(key, op, records, options); });
    }
    write_receipt write_delete(const wal::lane_key& key, const delete_options& selector, const write_options& options) {
        return counted([&] { return writer_.write_delete(key, selector, options); });
    }
    std::future<write_receipt> submit_records(const wal::lane_key& key, wal::op_kind op, const record_set& records,
                                              const write_options& options) {
        return submitted([&] { return writer_.submit_records(key, op, records, options); });
    }
    std::future<write_receipt> submit_delete(const wal::lane_key& key, const delete_options& selector,
                                             const write_options& options) {
        return submitted([&] { return writer_.submit_delete(key, selector, options); });
    }
    write_receipt write_create(const wal::lane_key& key, const collection_options& options) {
        return counted([&] { return writer_.write_create(key, options); });
    }
    write_receipt write_get_or_create(const wal::lane_key& key, const collection_options& options) {
        return counted([&] { return writer_.write_get_or_create(key, options); });
    }
    write_receipt write_delete_collection(const wal::lane_key& key) {
        return counted([&] { return writer_.write_delete_collection(key); });
    }
    write_receipt write_modify(const wal::lane_key& key, const modify_options& changes) {
        return counted([&] { return writer_.write_modify(key, changes); });
    }
    /// create_tenant, create_database, delete_database (database_ops.cpp: checks, then the log).
    write_receipt create_tenant(const std::string& tenant);
    write_receipt create_database(const std::string& tenant, const std::string& database);
    write_receipt delete_database(const std::string& tenant, const std::string& database);
    /// client::reset (database_ops.cpp).
    void reset(std::chrono::milliseconds wait);

    // ---- reads (read_router) ----
    /// Runs `f` on the collection of a usable instance (read policy, health, read-your-writes),
    /// failing over to the next on transport errors.
    void read(const wal::lane_key& key, read_options options, const std::function<void(chroma_collection&)>& f) {
        reads_.read(key, options, f);
    }
    /// A healthy instance for reads that do not concern one collection (list).
    std::vector<std::string> list_collections(const wal::lane_key& scope, std::optional<std::size_t> limit,
                                              std::size_t offset) {
        return reads_.list_collections(scope, limit, offset);
    }
    bool collection_exists(const wal::lane_key& key) { return reads_.collection_exists(key); }
    void require_collection(const wal::lane_key& key) { reads_.require_collection(key); }
    void read_any(const wal::lane_key& scope, const char* what, const std::function<void(const chroma_client&)>& f) {
        reads_.read_any(scope, what, f);
    }

    // ---- the tenant and database of later calls (client::set_tenant, set_database) ----
    wal::lane_key scope() const {
        std::lock_guard<std::mutex> lock(scope_mutex_);
        return scope_;
    }
    void set_scope(std::string tenant, std::string database) {
        std::lock_guard<std::mutex> lock(scope_mutex_);
        scope_ = wal::database_lane(std::move(tenant), std::move(database));
    }

    // ---- sync (sync_worker) ----
    void sync_pass() { sync_.sync_pass(); }
    void wake_sync() { sync_.wake(); }
    bool wait_until_synced(std::chrono::milliseconds timeout) { return sync_.wait_until_synced(timeout); }
    replay_result replay_dead_letters() { return sync_.replay_dead_letters(); }

    /// Built by status_builder.cpp, with this client's counters (ctx_.metrics).
    chromawal::status_report status();
    /// The metrics listener's bound address; empty without one.
    std::string metrics_address() const { return listener_ ? listener_->address() : std::string(); }
    /// GET /health: 200 when the log is reachable and at least write_quorum instances are
    /// healthy, else 503 with the reason. Reads atomics and health snapshots only.
    http_answer health_answer() const;
    const client_config& config() const noexcept { return ctx_.config; }

    // ---- verify, repair (repairer); retention, audit (retention) ----
    verify_result verify(std::string_view a, std::string_view b, const verify_options& options) {
        return repairer_.verify(a, b, options);
    }
    repair_result repair(std::string_view source, std::string_view target, const std::vector<std::string>& only) {
        return repairer_.repair(source, target, only);
    }
    std::int64_t prune() { return retention_.prune(); }
    wal::log_identity log_identity() { return ctx_.store->identity(); }
    std::vector<takeover_step> take_over_instances(const std::string& reason) {
        return detail::take_over_instances(ctx_, reason);
    }
    std::vector<dead_letter_info> dead_letters(std::size_t limit) { return retention_.dead_letters(limit); }
    std::vector<apply_history_entry> apply_history(std::string_view instance, std::string_view collection) {
        return retention_.apply_history(instance, collection);
    }

private:
    // Counts a write's outcome (chromawal_writes_total) by its receipt or its exception.
    template <typename F>
    write_receipt counted(F&& f) {
        try {
            write_receipt r = f();
            ctx_.metrics.count_write(r.queued ? write_outcome::queued : write_outcome::ok);
            return r;
        } catch (...) {
            ctx_.metrics.count_write(classify_write(std::current_exception()));
            throw;
        }
    }
    // An asynchronous write: refused at the call (counted then), or counted when answered.
    template <typename F>
    std::future<write_receipt> submitted(F&& f) {
        std::future<write_receipt> answer;
        try {
            answer = f();
        } catch (...) {
            ctx_.metrics.count_write(classify_write(std::current_exception()));
            throw;
        }
        return answer;
    }
    // The answers of the metrics listener's /metrics and /status: one scrape at a time, so that
    // scrapes together never hold more than one of the log's pooled connections.
    http_answer scrape(bool json);

    // Declaration order is construction order: each component only refers to those above it.
    context ctx_;
    written_positions written_;
    applier applier_{ctx_};
    retention retention_{ctx_};
    sync_worker sync_{ctx_, applier_, retention_};
    health_monitor health_{ctx_, sync_};
    writer writer_{ctx_, applier_, sync_, written_};
    read_router reads_{ctx_, written_};
    repairer repairer_{ctx_, applier_, writer_};
    std::mutex scrape_mutex_;  // serialises scrapes (never taken by a writer)
    mutable std::mutex scope_mutex_;
    wal::lane_key scope_;  // set in the constructor from the configuration
    // Last: stopped (its requests in progress finished) before any component it reads goes.
    std::unique_ptr<metrics_listener> listener_;
};

}  // namespace chromawal::detail
