#pragma once
// The replication engine behind chromawal::client: write path, apply lanes, sync thread,
// health monitor, read router.

#include <chromawal/client.hpp>

#include "replication/instance.hpp"
#include "wal/log_store.hpp"
#include "wal/payload.hpp"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace chromawal::detail {

/// What one attempt to bring an instance up to a position achieved.
/// needs_repair: the instance missed entries of the lane that retention pruned; it must not
/// replay the rest (only repair() brings it back).
enum class apply_outcome { applied, failed, rejected, busy, behind, needs_repair };

struct apply_result {
    apply_outcome outcome = apply_outcome::failed;
    std::string error;
    int status = 0;
    std::string error_name;
    std::string server_message;
};

class replicated_client : public std::enable_shared_from_this<replicated_client> {
public:
    replicated_client(client_config config, std::unique_ptr<wal::log_store> store);
    ~replicated_client();

    void start_background();
    void stop_background();

    // ---- writes ----
    write_receipt write_records(const std::string& collection, wal::op_kind op, const record_set& records);
    write_receipt write_delete(const std::string& collection, const delete_options& selector);
    write_receipt write_create(const std::string& collection, const collection_options& options);
    write_receipt write_delete_collection(const std::string& collection);
    write_receipt write_modify(const std::string& collection, const modify_options& changes);

    // ---- reads ----
    /// Runs `f` on the collection of a usable instance (read policy, health, read-your-writes),
    /// failing over to the next on transport errors.
    void read(const std::string& collection, read_options options, const std::function<void(chroma_collection&)>& f);
    /// A healthy instance for reads that do not concern one collection (list).
    std::vector<std::string> list_collections(std::optional<std::size_t> limit, std::size_t offset);
    bool collection_exists(const std::string& name);

    // ---- sync ----
    void sync_pass();
    void wake_sync();
    bool wait_until_synced(std::chrono::milliseconds timeout);
    std::size_t replay_dead_letters();

    chromawal::status status();
    const client_config& config() const noexcept { return config_; }

    // ---- verify, repair, retention, audit (repair.cpp) ----
    verify_result verify(std::string_view a, std::string_view b, const verify_options& options);
    repair_result repair(std::string_view source, std::string_view target, const std::vector<std::string>& only);
    std::int64_t prune();
    std::vector<dead_letter_info> dead_letters(std::size_t limit);
    std::vector<apply_history_entry> apply_history(std::string_view instance, std::string_view collection);

private:
    struct lane_ref {
        wal::lane_key key;
        std::int64_t lane_id;
    };
    wal::lane_key key_for(const std::string& collection) const;
    write_receipt write_entry(const std::string& collection, wal::op_kind op, std::string payload);
    /// `deadline`: a live write's apply never outlasts one request timeout in total (lock waits
    /// included), so a hung instance cannot stall a writer longer than that.
    apply_result apply_through(
        instance_state& inst, std::int64_t lane_id, const wal::lane_key& key, std::int64_t target,
        const wal::entry* fresh, bool live,
        std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());
    /// Applies entries from the front of `batch` (at least one) and returns how many it consumed.
    std::size_t apply_front(instance_state& inst, const wal::lane_key& key, const std::vector<wal::entry>& batch,
                            std::chrono::steady_clock::time_point deadline);
    void apply_single(instance_state& inst, const wal::lane_key& key, const wal::entry& e,
                      std::chrono::steady_clock::time_point deadline);
    void health_loop(std::size_t index);
    void sync_loop();
    void emit(event::kind kind, const std::string& instance, const std::string& message);
    void note_written(const std::string& collection, std::int64_t lane_id, std::int64_t position);
    std::vector<instance_state*> read_order();
    instance_state& instance_named(std::string_view name, const char* what);
    /// Moves `inst` past the pruned entries of a lane (to its head), under the lane lock.
    void skip_pruned(instance_state& inst, std::int64_t lane_id, const wal::lane_key& key);
    /// Brings `inst` up to `position` in the lane (sync-thread style); throws when it cannot.
    void catch_up(instance_state& inst, std::int64_t lane_id, const wal::lane_key& key, std::int64_t position,
                  const char* why);
    void repair_collection(instance_state& source, instance_state& target, const std::string& collection,
                           std::int64_t lane_id, repair_result& out);
    void maybe_prune();

    client_config config_;
    std::unique_ptr<wal::log_store> store_;
    std::vector<std::unique_ptr<instance_state>> instances_;
    std::vector<std::string> instance_names_;

    std::mutex written_mutex_;
    // Read-your-writes: per collection, the lane and this client's last write position.
    std::unordered_map<std::string, std::pair<std::int64_t, std::int64_t>> last_written_;

    std::atomic<bool> stopping_{false};
    std::atomic<bool> sync_running_{false};
    std::mutex sync_mutex_;
    std::condition_variable sync_cv_;
    bool sync_wake_ = false;
    std::mutex pass_mutex_;  // one sync pass at a time in this process
    std::thread sync_thread_;
    std::vector<std::thread> health_threads_;
    std::mutex health_sleep_mutex_;
    std::condition_variable health_cv_;
    std::atomic<std::int64_t> backlog_alerted_{0};
    std::mutex prune_mutex_;
    std::chrono::steady_clock::time_point next_prune_{};  // the sync thread's next retention run
};

}  // namespace chromawal::detail
