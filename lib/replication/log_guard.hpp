#pragma once
// The log store as the replication layer sees it: the real store (wal::log_store) behind a
// guard that knows whether the log is reachable, lets the client start while it is not
// (degraded start), reconnects with backoff, and emits log_unavailable / log_recovered once per
// transition.
//
// Owns: the real store, the "schema checked" (ready) and "reachable" states, the backoff of
// reconnection attempts and the last error. Every log_store call passes through call(): before
// the schema has been checked (migrate()), a call either tries to check it (when due, and only
// when there is no background thread to do it) or fails at once with log_unavailable; after,
// calls go straight to the store and their outcome feeds the reachable state.
// May touch: the wal::log_store it wraps and the event hook it is given; nothing else.
// Used by: context (it is context::store), the sync worker (reconnect_if_due, from its thread),
// status (reachable, last_error), replicated_client (start, at construction).
//
// Reachability: only connection-level failures (wal::store_unreachable, wal::store_refused) make
// the log unreachable; a statement the server failed (a timeout, a constraint) does not. A
// success makes it reachable again only if the call started after the failure was seen, so
// that calls in flight across an outage do not make the state flap.
//
// Thread-safety: every member may be called from any thread at once. At most one
// reconnection attempt runs at a time; others that find it running fail at once. Events are
// emitted outside any lock (the hook may call back into the client).

#include <chromawal/client.hpp>

#include "wal/log_store.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>

namespace chromawal::detail {

class log_guard final : public wal::log_store {
public:
    using emitter = std::function<void(event::kind, const std::string& message)>;

    /// @param lazy true when no background thread reconnects (background_threads off): a call
    ///        made while the schema is unchecked then tries to connect itself, when the backoff
    ///        allows.
    log_guard(std::unique_ptr<wal::log_store> store, emitter emit, bool lazy);

    /// At construction of the client: checks (creates, migrates) the schema. When the store
    /// cannot be reached, the client starts degraded (returns false, emits log_unavailable).
    /// @throws invalid_argument when the server refused the connection for good (authentication,
    ///         no such role or database); log_unavailable when it answered but failed the schema
    ///         check (a schema newer than this library, no privilege to create it).
    bool start();
    /// When the schema is unchecked or the log unreachable and the backoff allows, tries to
    /// check the schema (migrate(): cheap once done). Never throws. For the sync thread.
    void reconnect_if_due() noexcept;

    bool ready() const noexcept { return ready_.load(std::memory_order_acquire); }
    bool reachable() const noexcept { return reachable_.load(std::memory_order_acquire); }
    /// The message of the failure that made the log unreachable; empty while reachable.
    std::string last_error() const;

    // ---- wal::log_store, forwarded through call() ----
    void migrate() override;
    wal::log_identity identity() override;
    std::vector<wal::appended> append(const std::vector<wal::new_entry>& entries) override;
    std::int64_t lane_id(const wal::lane_key& key) override;
    std::vector<wal::lane_progress> lanes_behind(std::string_view instance) override;
    std::vector<std::vector<wal::lane_progress>> lanes_behind(const std::vector<std::string>& instances) override;
    std::vector<wal::lane_progress> all_lanes(std::string_view instance) override;
    std::unique_ptr<wal::lane_lock> lock_lane(std::string_view instance, std::int64_t lane_id,
                                              std::chrono::milliseconds wait) override;
    void set_state(std::int64_t lane_id, std::int64_t position, wal::entry_state state,
                   std::string_view error = {}) override;
    int record_failure(std::int64_t lane_id, std::int64_t position, std::string_view error) override;
    wal::abandon_result abandon_if_unapplied(std::int64_t lane_id, std::int64_t position,
                                             const std::vector<std::string>& instances,
                                             std::chrono::milliseconds wait) override;
    void add_dead_letter(std::string_view instance, std::int64_t lane_id, std::int64_t position,
                         std::string_view error) override;
    std::vector<wal::dead_letter> dead_letters(std::size_t limit) override;
    void remove_dead_letter(std::string_view instance, std::int64_t lane_id, std::int64_t position) override;
    std::optional<wal::found_entry> find_entry(std::string_view idempotency_id) override;
    std::optional<wal::entry> read_entry(std::int64_t lane_id, std::int64_t position) override;
    std::int64_t mark_applied(const std::vector<std::string>& instances) override;
    wal::log_counts counts() override;
    std::int64_t prune(std::chrono::milliseconds older_than, std::size_t batch_size) override;
    void set_record_apply_history(bool on) override;
    std::vector<wal::apply_step> apply_history(std::string_view instance, std::int64_t lane_id) override;

private:
    using clock = std::chrono::steady_clock;

    /// Throws log_unavailable unless the schema has been checked (trying first when lazy).
    void ensure_ready();
    /// One reconnection attempt (migrate()) if none is running and the backoff allows; true
    /// when the schema is checked afterwards.
    bool attempt();
    void note_failure(const std::string& message, clock::time_point started);
    void note_success(clock::time_point started);

    template <class F>
    auto call(F&& f) -> decltype(f()) {
        ensure_ready();
        const auto started = clock::now();
        try {
            if constexpr (std::is_void_v<decltype(f())>) {
                f();
                note_success(started);
            } else {
                auto r = f();
                note_success(started);
                return r;
            }
        } catch (const wal::store_unreachable& e) {
            note_failure(e.what(), started);
            throw;
        } catch (const wal::store_refused& e) {
            note_failure(e.what(), started);
            throw;
        } catch (const outcome_unknown& e) {
            note_failure(e.what(), started);  // the connection broke mid-way and stayed away
            throw;
        }
    }

    std::unique_ptr<wal::log_store> store_;
    emitter emit_;
    const bool lazy_;

    std::atomic<bool> ready_{false};
    std::atomic<bool> reachable_{true};
    std::mutex attempt_mutex_;        // one reconnection attempt at a time
    mutable std::mutex state_mutex_;  // guards the members below
    clock::time_point down_since_{};
    clock::time_point next_attempt_{};
    std::chrono::milliseconds delay_;
    std::string last_error_;
};

}  // namespace chromawal::detail
