#pragma once
// The applier: brings one instance up to a position in one lane, under the lane lock (the
// in-process lane mutex of instance_state, then the log's lane lock), merging consecutive
// record entries into one request and dead-lettering entries an instance keeps rejecting.
//
// Owns: no state of its own (the lane mutexes and known positions live in instance_state, the
// lane locks and positions in the log).
// May touch: context (config, log store, emit), instance_state, the instance's
// chroma_connection, wal/payload (decoding, merging, splitting record payloads) and
// chroma/protocol (decoding responses and log payloads).
// Used by: writer (live writes), sync_worker (sync passes, dead-letter replay), repairer.
//
// Thread-safety: every member function may be called from any thread at once; the lane locks
// serialise appliers of one lane and instance.

#include "replication/context.hpp"
#include "wal/log_store.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace chromawal::detail {

/// What one attempt to bring an instance up to a position achieved.
/// - applied: the instance has every entry up to the position.
/// - failed: the instance (or the log) failed: no answer, a transport error, a timeout, "too
///   many requests". The sync thread stops its pass on that instance and backs off.
/// - entry_failed: the instance answered one entry with an error (4xx or 5xx); the failure is
///   counted and the lane backs off on that instance, until the entry is dead-lettered after
///   max_attempts. Only this lane on this instance is held up.
/// - rejected: (live writes only) the instance said the request is invalid; the writer decides.
/// - busy: another holder has the lane lock.
/// - behind: (live writes only) too far behind; left to the sync thread.
/// - waiting: the next entry depends on another lane (a rename) that this instance has not
///   applied that far yet; it is applied once the instance has.
/// - needs_repair: the instance missed entries of the lane that retention pruned; it must not
///   replay the rest (only repair() brings it back).
enum class apply_outcome { applied, failed, entry_failed, rejected, busy, behind, waiting, needs_repair };

struct apply_result {
    apply_outcome outcome = apply_outcome::failed;
    std::string error;
    int status = 0;
    std::string error_name;
    std::string server_message;
    std::string trace_id;  ///< the server's chroma-trace-id of a rejection
    /// Deletes among the fresh entries that this call applied: (position, the server's count).
    std::vector<std::pair<std::int64_t, std::size_t>> deleted;
    /// A request was sent and no definite answer came back (no answer in time, the connection
    /// broke mid-way, a 5xx): the instance may have applied it. Such a write is never abandoned.
    bool maybe_applied = false;
    /// Not applied: the position of the entry the outcome is about (the rejected entry, the
    /// first entry of the request that failed or is waiting); 0 when not known.
    std::int64_t stopped_at = 0;
};

/// Entries a live write just appended (consecutive positions of one lane), shared by the
/// appliers of every instance: they need not be read back from the log, and a request body
/// built for one instance is reused for the others (same server limits and encoding).
///
/// A body is kept only when every entry it merged is one of these: an applier that read the log
/// (it was behind) may merge entries appended after them, which another applier, working from
/// these entries, does not hold. And it is reused only by an applier that holds every entry it
/// merged.
class fresh_entries {
public:
    explicit fresh_entries(std::vector<wal::entry> entries) : entries_(std::move(entries)) {}
    const std::vector<wal::entry>& entries() const noexcept { return entries_; }
    /// Marks an entry rejected, so that appliers step over it (between rounds: no applier runs).
    /// The bodies built before it may hold it: they are dropped.
    void set_rejected(std::size_t index) {
        entries_.at(index).state = wal::entry_state::rejected;
        std::lock_guard<std::mutex> lock(m_);
        bodies_.clear();
    }

    /// A request built from the entries starting at `first`: how many it merged, and its body.
    struct request {
        std::size_t used = 0;
        std::shared_ptr<const std::string> body;
    };
    using request_key = std::tuple<std::int64_t, std::size_t, bool>;  // first position, max records, base64
    /// The body kept for `k`, if it merges at most `available` entries (what the caller holds,
    /// from the first one on).
    std::optional<request> find(const request_key& k, std::size_t available) const {
        std::lock_guard<std::mutex> lock(m_);
        auto it = bodies_.find(k);
        if (it == bodies_.end() || it->second.used > available) return std::nullopt;
        return it->second;
    }
    /// Keeps `r` for the other instances, unless it merged entries beyond these.
    void keep(const request_key& k, request r) const {
        if (entries_.empty() || r.used == 0) return;
        const std::int64_t first = std::get<0>(k);
        if (first < entries_.front().position ||
            first + static_cast<std::int64_t>(r.used) - 1 > entries_.back().position) {
            return;
        }
        std::lock_guard<std::mutex> lock(m_);
        bodies_.emplace(k, std::move(r));
    }

private:
    std::vector<wal::entry> entries_;
    mutable std::mutex m_;
    mutable std::map<request_key, request> bodies_;
};

class applier {
public:
    explicit applier(context& ctx) : ctx_(ctx) {}

    /// Brings `inst` up to `target` in one lane. Each entry goes to the collection name it
    /// addressed (wal::entry::collection); `key` names the lane in messages. `fresh`: the entries
    /// just appended (no need to read them back; never a rename, whose dependency only the log knows); `live`: a
    /// write's own apply (trusts known positions, catches up at most a short backlog, reports rejections to the caller
    /// instead of recording them). `deadline`: a live write's apply never outlasts one request timeout in total (lock
    /// waits included), so a hung instance cannot stall a writer longer than that.
    apply_result apply_through(
        instance_state& inst, std::int64_t lane_id, const wal::lane_key& key, std::int64_t target,
        const fresh_entries* fresh, bool live,
        std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());

    /// What replay() did with one dead letter.
    enum class replay_outcome { replayed, failed, busy };
    /// Applies one dead-lettered entry to `inst` again, under the lane lock (in-process mutex,
    /// then the log's lane lock, each waited for at most the instance's request_timeout). On
    /// success the dead letter is removed; on failure it stays with the new error, returned in
    /// `message`. @throws log_unavailable when the log cannot be reached.
    replay_outcome replay(instance_state& inst, const wal::lane_key& key, const wal::entry& e, std::string& message);

    /// Applies entries from the front of `batch` (at least one) and returns how many it consumed.
    /// The caller holds the lane lock. `deleted`: set to the server's count when the front
    /// entry is a delete of records. `merge`: whether later entries may join the front one's
    /// request; `fresh`: where request bodies built for another instance are shared.
    std::size_t apply_front(instance_state& inst, const wal::lane_key& key, const std::vector<wal::entry>& batch,
                            std::chrono::steady_clock::time_point deadline,
                            std::optional<std::size_t>* deleted = nullptr, bool merge = true,
                            const fresh_entries* fresh = nullptr);

private:
    // apply_through without the counting (ops/metrics.hpp: applies by outcome, apply latency).
    apply_result apply_locked(instance_state& inst, std::int64_t lane_id, const wal::lane_key& key, std::int64_t target,
                              const fresh_entries* fresh, bool live, std::chrono::steady_clock::time_point deadline);

    void apply_single(instance_state& inst, const wal::lane_key& key, const wal::entry& e,
                      std::chrono::steady_clock::time_point deadline, std::optional<std::size_t>* deleted = nullptr);
    void apply_database_op(instance_state& inst, const wal::lane_key& key, const wal::entry& e,
                           std::chrono::steady_clock::time_point deadline);
    // Every collection lane of key's database is applied on `inst` (a delete_database may go).
    bool database_lanes_applied(instance_state& inst, const wal::lane_key& key);

    context& ctx_;
};

}  // namespace chromawal::detail
