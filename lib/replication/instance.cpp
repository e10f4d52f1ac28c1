#include "replication/instance.hpp"

#include <chromawal/redact.hpp>

#include <algorithm>
#include <random>

namespace chromawal::detail {

namespace {
// An instance that goes down again within this time of coming back is flapping.
constexpr std::chrono::minutes flap_window{1};
// The hold-down doubles per flap up to 2^max_flaps times min_down_time.
constexpr int max_flaps = 5;

connection_options with_identity(connection_options o, const std::string& tenant, const std::string& database) {
    o.tenant = tenant;
    o.database = database;
    return o;
}
}  // namespace

instance_state::instance_state(const instance_config& config, const std::string& tenant, const std::string& database)
    : name_(config.name),
      primary_(config.role == instance_role::primary),
      display_url_(chromawal::redact(config.connection.base_url)),
      conn_(std::make_shared<chroma_connection>(with_identity(config.connection, tenant, database))),
      client_(handle_access::client(conn_)) {}

void instance_state::set_claim(log_claim c, std::string other) {
    std::lock_guard<std::mutex> lock(claim_mutex_);
    foreign_log_ = std::move(other);
    claim_checked_at_ = std::chrono::steady_clock::now();
    claim_.store(c, std::memory_order_release);
}

std::string instance_state::foreign_log() const {
    std::lock_guard<std::mutex> lock(claim_mutex_);
    return foreign_log_;
}

std::chrono::steady_clock::time_point instance_state::claim_checked_at() const {
    std::lock_guard<std::mutex> lock(claim_mutex_);
    return claim_checked_at_;
}

bool instance_state::report_success(std::chrono::microseconds latency, bool heartbeat) {
    std::lock_guard<std::mutex> lock(health_mutex_);
    consecutive_failures_ = 0;
    ++consecutive_successes_;
    success_rate_ = success_rate_ * 0.95 + 0.05;
    const double ms = static_cast<double>(latency.count()) / 1000.0;
    latency_ms_ = latency_ms_ == 0 ? ms : latency_ms_ * 0.9 + ms * 0.1;
    // Only heartbeats bring an instance back: a request that happened to succeed while it was
    // marked down is not proof enough, and keeps the hysteresis simple to reason about.
    // Hysteresis: several heartbeats in a row, and not before the hold-down has passed (it
    // grows while the instance flaps), so that an instance answering now and then is not
    // marked up and down at every heartbeat.
    const auto now = std::chrono::steady_clock::now();
    if (!healthy_.load() && heartbeat && consecutive_successes_ >= up_after_ && now - down_since_ >= hold_down()) {
        healthy_.store(true, std::memory_order_release);
        up_since_ = now;
        backoff_step_ = 0;
        next_sync_ = {};
        lane_backoff_.clear();
        return true;
    }
    return false;
}

bool instance_state::report_failure(const std::string& error) {
    std::lock_guard<std::mutex> lock(health_mutex_);
    consecutive_successes_ = 0;
    ++consecutive_failures_;
    success_rate_ = success_rate_ * 0.95;
    last_error_ = error;
    if (healthy_.load() && consecutive_failures_ >= down_after_) {
        healthy_.store(false, std::memory_order_release);
        claim_.store(log_claim::unchecked, std::memory_order_release);  // checked again when it returns
        const auto now = std::chrono::steady_clock::now();
        // Down again soon after it came back: it flaps, so it is held down longer next time.
        const bool flapped = up_since_ != std::chrono::steady_clock::time_point{} && now - up_since_ < flap_window;
        flaps_ = flapped ? std::min(flaps_ + 1, max_flaps) : 0;
        down_since_ = now;
        return true;
    }
    return false;
}

std::chrono::milliseconds instance_state::hold_down() const { return min_down_ * (1 << flaps_); }

instance_state::health_snapshot instance_state::health() const {
    std::lock_guard<std::mutex> lock(health_mutex_);
    return {healthy_.load(), last_error_, success_rate_, latency_ms_};
}

bool instance_state::may_sync_now(std::chrono::steady_clock::time_point now) const {
    std::lock_guard<std::mutex> lock(health_mutex_);
    return now >= next_sync_;
}

namespace {

// Exponential backoff with jitter: after the n-th failure in a row, 50-100 ms .. 6.4-12.8 s.
std::chrono::steady_clock::time_point next_try(int& step, std::chrono::steady_clock::time_point now) {
    thread_local std::mt19937 rng{std::random_device{}()};
    step = std::min(step + 1, 7);
    const auto cap = std::chrono::milliseconds(100 << step);
    std::uniform_int_distribution<long long> jitter(cap.count() / 2, cap.count());
    return now + std::chrono::milliseconds(jitter(rng));
}

}  // namespace

void instance_state::sync_failed(std::chrono::steady_clock::time_point now) {
    std::lock_guard<std::mutex> lock(health_mutex_);
    next_sync_ = next_try(backoff_step_, now);
}

void instance_state::sync_succeeded() {
    std::lock_guard<std::mutex> lock(health_mutex_);
    backoff_step_ = 0;
    next_sync_ = {};
}

bool instance_state::may_sync_lane(std::int64_t lane_id, std::chrono::steady_clock::time_point now) const {
    std::lock_guard<std::mutex> lock(health_mutex_);
    auto it = lane_backoff_.find(lane_id);
    return it == lane_backoff_.end() || now >= it->second.next;
}

void instance_state::lane_failed(std::int64_t lane_id, std::chrono::steady_clock::time_point now) {
    std::lock_guard<std::mutex> lock(health_mutex_);
    auto& b = lane_backoff_[lane_id];
    b.next = next_try(b.step, now);
}

void instance_state::lane_succeeded(std::int64_t lane_id) {
    std::lock_guard<std::mutex> lock(health_mutex_);
    lane_backoff_.erase(lane_id);
}

namespace {
wal::lane_key scope_of(const chroma_connection& c, std::string name) {
    return wal::lane_key{c.options.tenant, c.options.database, std::move(name)};
}
}  // namespace

std::shared_ptr<chroma_connection> instance_state::connection(const wal::lane_key& key) {
    if (key.tenant == conn_->options.tenant && key.database == conn_->options.database) return conn_;
    std::lock_guard<std::mutex> lock(scopes_mutex_);
    auto& c = scopes_[wal::map_key(wal::database_lane(key.tenant, key.database))];
    if (!c) {
        connection_options o = conn_->options;
        o.tenant = key.tenant;
        // A tenant's own lane has no database: its calls use only the tenant's URLs.
        o.database = key.database.empty() ? conn_->options.database : key.database;
        c = std::make_shared<chroma_connection>(std::move(o));
    }
    return c;
}

chroma_connection& instance_state::conn(const wal::lane_key& key) { return *connection(key); }

chroma_client instance_state::client(const wal::lane_key& key) { return handle_access::client(connection(key)); }

chroma_collection instance_state::resolve(const std::string& name) { return resolve(scope_of(*conn_, name)); }
void instance_state::remember(const collection_info& info) { remember(scope_of(*conn_, {}), info); }
void instance_state::forget(const std::string& name) { forget(scope_of(*conn_, name)); }

chroma_collection instance_state::resolve(const wal::lane_key& key) {
    std::shared_ptr<chroma_connection> c = connection(key);
    {
        std::lock_guard<std::mutex> lock(collections_mutex_);
        auto it = collections_.find(wal::map_key(key));
        if (it != collections_.end()) return handle_access::collection(c, it->second);
    }
    chroma_collection found = handle_access::client(c).get_collection(key.collection);
    remember(key, found.info());
    return found;
}

void instance_state::remember(const wal::lane_key& scope, const collection_info& info) {
    std::lock_guard<std::mutex> lock(collections_mutex_);
    collections_[wal::map_key(wal::lane_key{scope.tenant, scope.database, info.name})] = info;
}

void instance_state::forget_all() {
    std::lock_guard<std::mutex> lock(collections_mutex_);
    collections_.clear();
}

void instance_state::forget(const wal::lane_key& key) {
    std::lock_guard<std::mutex> lock(collections_mutex_);
    collections_.erase(wal::map_key(key));
}

std::shared_ptr<std::timed_mutex> instance_state::lane_mutex(std::int64_t lane_id) {
    std::lock_guard<std::mutex> lock(lanes_mutex_);
    auto& m = lane_mutexes_[lane_id];
    if (!m) m = std::make_shared<std::timed_mutex>();
    return m;
}

std::int64_t instance_state::known_applied(std::int64_t lane_id) const {
    std::lock_guard<std::mutex> lock(lanes_mutex_);
    auto it = known_applied_.find(lane_id);
    return it == known_applied_.end() ? 0 : it->second;
}

std::int64_t instance_state::recorded_applied(std::int64_t lane_id) const {
    std::lock_guard<std::mutex> lock(lanes_mutex_);
    auto it = recorded_applied_.find(lane_id);
    return it == recorded_applied_.end() ? 0 : it->second;
}

void instance_state::set_known_applied(std::int64_t lane_id, std::int64_t position, bool recorded) {
    std::lock_guard<std::mutex> lock(lanes_mutex_);
    if (recorded) {
        auto& r = recorded_applied_[lane_id];
        r = std::max(r, position);
    }
    auto& v = known_applied_[lane_id];
    if (position > v) {
        v = position;
        applied_moves_.fetch_add(1, std::memory_order_acq_rel);
    }
}

bool instance_state::needs_repair(const std::string& collection) const {
    if (!any_needs_repair_.load(std::memory_order_acquire)) return false;
    std::lock_guard<std::mutex> lock(lanes_mutex_);
    return needs_repair_.count(collection) > 0;
}

void instance_state::set_needs_repair(const std::string& collection, bool needed) {
    if (!needed && !any_needs_repair_.load(std::memory_order_acquire)) return;
    std::lock_guard<std::mutex> lock(lanes_mutex_);
    if (needed) {
        needs_repair_.insert(collection);
    } else {
        needs_repair_.erase(collection);
    }
    any_needs_repair_.store(!needs_repair_.empty(), std::memory_order_release);
}

void instance_state::set_needs_repair(std::set<std::string> collections) {
    std::lock_guard<std::mutex> lock(lanes_mutex_);
    needs_repair_ = std::move(collections);
    any_needs_repair_.store(!needs_repair_.empty(), std::memory_order_release);
}

}  // namespace chromawal::detail
