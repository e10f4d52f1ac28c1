// log_guard: see log_guard.hpp for what it owns, what it touches and its thread-safety.
#include "replication/log_guard.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <random>
#include <utility>

namespace chromawal::detail {

namespace {

using namespace std::chrono_literals;

// Reconnection backoff: the first retry after about 100 ms, doubling up to 2 s, so that writes
// work again within about 2 s of the log's return without hammering a log that stays away.
constexpr std::chrono::milliseconds first_delay = 100ms;
constexpr std::chrono::milliseconds max_delay = 2s;

// Between half the delay and the delay: clients that lost the log together do not all come
// back in the same millisecond.
std::chrono::milliseconds jittered(std::chrono::milliseconds d) {
    thread_local std::mt19937 rng{std::random_device{}()};
    std::uniform_int_distribution<long long> pick(d.count() / 2, d.count());
    return std::chrono::milliseconds(pick(rng));
}

}  // namespace

log_guard::log_guard(std::unique_ptr<wal::log_store> store, emitter emit, bool lazy)
    : store_(std::move(store)), emit_(std::move(emit)), lazy_(lazy), delay_(first_delay) {}

bool log_guard::start() {
    const auto started = clock::now();
    try {
        store_->migrate();
    } catch (const wal::store_refused& e) {
        // Retrying cannot help until someone changes the configuration: say so now, not in an
        // event nobody reads while the service runs without a log.
        throw invalid_argument(
            fmt::format("log_url: the log store refused the connection settings ({}); check the "
                        "log_url (PostgreSQL: the user, password, database, connection options and "
                        "pg_hba.conf; SQLite: the file, its directory and their permissions)",
                        e.what()));
    } catch (const wal::store_unreachable& e) {
        note_failure(e.what(), started);
        std::lock_guard<std::mutex> lock(state_mutex_);
        next_attempt_ = clock::now() + jittered(delay_);
        delay_ = std::min(delay_ * 2, max_delay);
        return false;
    }
    ready_.store(true, std::memory_order_release);
    return true;
}

void log_guard::reconnect_if_due() noexcept {
    if (ready() && reachable()) return;
    try {
        attempt();
    } catch (...) {
        // attempt() reports through the state and events; nothing to add here.
    }
}

std::string log_guard::last_error() const {
    std::lock_guard<std::mutex> lock(state_mutex_);
    return last_error_;
}

void log_guard::ensure_ready() {
    if (ready()) return;
    if (lazy_ && attempt()) return;
    const std::string why = last_error();
    throw wal::store_unreachable(fmt::format("log store: not reachable since the client started ({}); reconnecting{}",
                                             why.empty() ? "" : why,
                                             lazy_ ? " on the next call" : " in the background"));
}

bool log_guard::attempt() {
    std::unique_lock<std::mutex> busy(attempt_mutex_, std::try_to_lock);
    if (!busy.owns_lock()) return ready();  // another thread is trying right now
    const auto started = clock::now();
    {
        std::lock_guard<std::mutex> lock(state_mutex_);
        if (started < next_attempt_) return ready();
    }
    try {
        // Creates or upgrades the schema after a degraded start; a cheap check afterwards.
        store_->migrate();
    } catch (const log_unavailable& e) {
        {
            std::lock_guard<std::mutex> lock(state_mutex_);
            next_attempt_ = clock::now() + jittered(delay_);
            delay_ = std::min(delay_ * 2, max_delay);
        }
        note_failure(e.what(), started);
        return ready();
    }
    ready_.store(true, std::memory_order_release);
    note_success(started);
    return true;
}

void log_guard::note_failure(const std::string& message, clock::time_point started) {
    bool went_down = false;
    {
        std::lock_guard<std::mutex> lock(state_mutex_);
        last_error_ = message;
        // A call that started before the last recovery says nothing about the log now.
        if (reachable() && started >= down_since_) {
            reachable_.store(false, std::memory_order_release);
            went_down = true;
        }
        down_since_ = std::max(down_since_, clock::now());
    }
    if (went_down && emit_) emit_(event::kind::log_unavailable, message);
}

void log_guard::note_success(clock::time_point started) {
    if (reachable()) return;
    bool came_back = false;
    {
        std::lock_guard<std::mutex> lock(state_mutex_);
        if (!reachable() && started >= down_since_) {
            reachable_.store(true, std::memory_order_release);
            came_back = true;
            last_error_.clear();
            delay_ = first_delay;
            next_attempt_ = {};
            down_since_ = clock::now();
        }
    }
    if (came_back && emit_) emit_(event::kind::log_recovered, "the log store is reachable again");
}

// ---- wal::log_store ----

void log_guard::migrate() {
    call([&] { store_->migrate(); });
}
std::vector<wal::appended> log_guard::append(const std::vector<wal::new_entry>& entries) {
    return call([&] { return store_->append(entries); });
}
std::int64_t log_guard::lane_id(const wal::lane_key& key) {
    return call([&] { return store_->lane_id(key); });
}
std::vector<wal::lane_progress> log_guard::lanes_behind(std::string_view instance) {
    return call([&] { return store_->lanes_behind(instance); });
}
std::vector<std::vector<wal::lane_progress>> log_guard::lanes_behind(const std::vector<std::string>& instances) {
    return call([&] { return store_->lanes_behind(instances); });
}
std::vector<wal::lane_progress> log_guard::all_lanes(std::string_view instance) {
    return call([&] { return store_->all_lanes(instance); });
}
std::unique_ptr<wal::lane_lock> log_guard::lock_lane(std::string_view instance, std::int64_t lane_id,
                                                     std::chrono::milliseconds wait) {
    return call([&] { return store_->lock_lane(instance, lane_id, wait); });
}
void log_guard::set_state(std::int64_t lane_id, std::int64_t position, wal::entry_state state, std::string_view error) {
    call([&] { store_->set_state(lane_id, position, state, error); });
}
int log_guard::record_failure(std::int64_t lane_id, std::int64_t position, std::string_view error) {
    return call([&] { return store_->record_failure(lane_id, position, error); });
}
wal::abandon_result log_guard::abandon_if_unapplied(std::int64_t lane_id, std::int64_t position,
                                                    const std::vector<std::string>& instances,
                                                    std::chrono::milliseconds wait) {
    return call([&] { return store_->abandon_if_unapplied(lane_id, position, instances, wait); });
}
void log_guard::add_dead_letter(std::string_view instance, std::int64_t lane_id, std::int64_t position,
                                std::string_view error) {
    call([&] { store_->add_dead_letter(instance, lane_id, position, error); });
}
std::vector<wal::dead_letter> log_guard::dead_letters(std::size_t limit) {
    return call([&] { return store_->dead_letters(limit); });
}
void log_guard::remove_dead_letter(std::string_view instance, std::int64_t lane_id, std::int64_t position) {
    call([&] { store_->remove_dead_letter(instance, lane_id, position); });
}
std::optional<wal::found_entry> log_guard::find_entry(std::string_view idempotency_id) {
    return call([&] { return store_->find_entry(idempotency_id); });
}
std::optional<wal::entry> log_guard::read_entry(std::int64_t lane_id, std::int64_t position) {
    return call([&] { return store_->read_entry(lane_id, position); });
}
std::int64_t log_guard::mark_applied(const std::vector<std::string>& instances) {
    return call([&] { return store_->mark_applied(instances); });
}
wal::log_identity log_guard::identity() {
    return call([&] { return store_->identity(); });
}
wal::log_counts log_guard::counts() {
    return call([&] { return store_->counts(); });
}
std::int64_t log_guard::prune(std::chrono::milliseconds older_than, std::size_t batch_size) {
    return call([&] { return store_->prune(older_than, batch_size); });
}
void log_guard::set_record_apply_history(bool on) {
    // A setting of the store's own, no I/O: allowed before the schema is checked.
    store_->set_record_apply_history(on);
}
std::vector<wal::apply_step> log_guard::apply_history(std::string_view instance, std::int64_t lane_id) {
    return call([&] { return store_->apply_history(instance, lane_id); });
}

}  // namespace chromawal::detail
