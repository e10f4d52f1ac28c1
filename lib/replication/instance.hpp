#pragma once
// One Chroma instance of the replicated set: its connection, health, per-lane apply mutexes,
// cached collection UUIDs and known applied positions.

#include <chromawal/client.hpp>

#include "api/connection.hpp"
#include "wal/log_store.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

namespace chromawal::detail {

class instance_state {
public:
    instance_state(const instance_config& config, const std::string& tenant, const std::string& database);

    const std::string& name() const noexcept { return name_; }
    bool primary() const noexcept { return primary_; }
    const std::string& display_url() const noexcept { return display_url_; }
    /// The connection to the configured tenant and database.
    chroma_connection& conn() noexcept { return *conn_; }
    const chroma_client& client() const noexcept { return client_; }
    /// The connection to `key`'s tenant and database (the configured one, or one made on first
    /// use and kept: a few databases, each with its own keep-alive connections).
    chroma_connection& conn(const wal::lane_key& key);
    chroma_client client(const wal::lane_key& key);

    // ---- health (hysteresis) ----
    /// Records a successful request or heartbeat. Returns true when the instance just came up.
    bool report_success(std::chrono::microseconds latency, bool heartbeat);
    /// Records a failed request or heartbeat. Returns true when the instance just went down.
    bool report_failure(const std::string& error);
    bool healthy() const noexcept { return healthy_.load(std::memory_order_acquire); }
    /// `min_down`: the least time it stays down, doubled per flap (see client_config::min_down_time).
    void set_thresholds(int down_after, int up_after, std::chrono::milliseconds min_down) {
        std::lock_guard<std::mutex> lock(health_mutex_);
        down_after_ = down_after;
        up_after_ = up_after;
        min_down_ = min_down;
    }
    struct health_snapshot {
        bool healthy;
        std::string last_error;
        double success_rate;
        double latency_ms;
    };
    health_snapshot health() const;

    // ---- sync backoff: of the whole instance (it failed), and of one lane (an entry failed) ----
    bool may_sync_now(std::chrono::steady_clock::time_point now) const;
    void sync_failed(std::chrono::steady_clock::time_point now);
    void sync_succeeded();
    bool may_sync_lane(std::int64_t lane_id, std::chrono::steady_clock::time_point now) const;
    void lane_failed(std::int64_t lane_id, std::chrono::steady_clock::time_point now);
    void lane_succeeded(std::int64_t lane_id);

    // ---- collection UUIDs, resolved by name on this instance ----
    /// In the configured tenant and database. @throws not_found and transport errors.
    chroma_collection resolve(const std::string& name);
    void remember(const collection_info& info);
    void forget(const std::string& name);
    /// In `key`'s tenant and database (key.collection: the name).
    chroma_collection resolve(const wal::lane_key& key);
    void remember(const wal::lane_key& scope, const collection_info& info);
    void forget(const wal::lane_key& key);
    void forget_all();

    // ---- apply serialisation within this process ----
    std::shared_ptr<std::timed_mutex> lane_mutex(std::int64_t lane_id);
    /// The highest applied position this process knows of (monotonic).
    std::int64_t known_applied(std::int64_t lane_id) const;
    /// `recorded`: the position is in the log too (false: applied, but its advance failed; it is
    /// recorded late, under the next lane lock).
    void set_known_applied(std::int64_t lane_id, std::int64_t position, bool recorded = true);
    /// The highest applied position this process knows the log holds (monotonic).
    std::int64_t recorded_applied(std::int64_t lane_id) const;
    /// How many times a known applied position moved forward (the sync thread marks entries
    /// applied in the log only after something moved).
    std::uint64_t applied_moves() const noexcept { return applied_moves_.load(std::memory_order_acquire); }

    // ---- which log this instance is recorded for (log_identity.hpp) ----
    enum class log_claim : std::uint8_t { unchecked, ours, foreign };
    log_claim claim() const noexcept { return claim_.load(std::memory_order_acquire); }
    /// `other`: the other log's id and description, for foreign.
    void set_claim(log_claim c, std::string other = {});
    /// Back to unchecked (the instance went down, or the log came back): checked again before use.
    void reset_claim() noexcept { claim_.store(log_claim::unchecked, std::memory_order_release); }
    std::string foreign_log() const;
    std::chrono::steady_clock::time_point claim_checked_at() const;
    /// Held while checking or writing the record, so that a check runs once at a time.
    std::mutex& claim_check_mutex() noexcept { return claim_check_mutex_; }

    // ---- collections whose lane this instance cannot replay (it missed pruned entries) ----
    bool needs_repair(const std::string& collection) const;
    void set_needs_repair(const std::string& collection, bool needed);
    /// Replaces the whole set (the sync pass sees every lane the instance is behind in).
    void set_needs_repair(std::set<std::string> collections);

private:
    std::shared_ptr<chroma_connection> connection(const wal::lane_key& key);
    // The current hold-down (health_mutex_ held).
    std::chrono::milliseconds hold_down() const;

    std::string name_;
    bool primary_;
    std::string display_url_;
    std::shared_ptr<chroma_connection> conn_;
    chroma_client client_;

    std::atomic<bool> healthy_{true};
    std::atomic<log_claim> claim_{log_claim::unchecked};  // see claim_mutex_
    mutable std::mutex health_mutex_;
    int down_after_ = 2, up_after_ = 3;
    int consecutive_failures_ = 0, consecutive_successes_ = 0;
    // Hold-down: an instance stays down at least min_down_ << flaps_ after down_since_; a flap
    // is going down again within flap_window of coming back (up_since_).
    std::chrono::milliseconds min_down_{1000};
    std::chrono::steady_clock::time_point down_since_{}, up_since_{};
    int flaps_ = 0;
    std::string last_error_;
    double success_rate_ = 1.0;  // exponentially weighted
    double latency_ms_ = 0;      // exponentially weighted
    int backoff_step_ = 0;
    std::chrono::steady_clock::time_point next_sync_{};
    struct lane_backoff {
        int step = 0;
        std::chrono::steady_clock::time_point next{};
    };
    std::unordered_map<std::int64_t, lane_backoff> lane_backoff_;  // guarded by health_mutex_

    mutable std::mutex claim_mutex_;  // guards foreign_log_, claim_checked_at_
    std::string foreign_log_;
    std::chrono::steady_clock::time_point claim_checked_at_{};
    std::mutex claim_check_mutex_;

    std::mutex collections_mutex_;
    std::unordered_map<std::string, collection_info> collections_;  // by wal::map_key
    // Connections to other tenants and databases than the configured one, by map_key (with an
    // empty collection); never removed.
    std::mutex scopes_mutex_;
    std::unordered_map<std::string, std::shared_ptr<chroma_connection>> scopes_;

    mutable std::mutex lanes_mutex_;
    std::unordered_map<std::int64_t, std::shared_ptr<std::timed_mutex>> lane_mutexes_;
    std::unordered_map<std::int64_t, std::int64_t> known_applied_;
    std::unordered_map<std::int64_t, std::int64_t> recorded_applied_;
    std::atomic<std::uint64_t> applied_moves_{0};
    std::set<std::string> needs_repair_;
    std::atomic<bool> any_needs_repair_{false};  // reads skip the lock in the usual case
};

}  // namespace chromawal::detail
