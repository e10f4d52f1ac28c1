#pragma once
// The write-ahead log, storage-neutral. The PostgreSQL implementation is pg_log_store; the
// replication layer only sees this interface.
//
// Model: a lane is one collection's ordered stream of entries, with a stable id. A name
// (tenant, database, collection) maps to the lane that holds it now; appending a rename moves
// the name to the new one in the same transaction (new_entry::rename_to), so the lane follows
// its collection and the writes to the new name come after the rename in that lane. Each
// entry keeps the name it addressed (entry::collection). A lane created for a name that a
// rename gave up starts only after that rename (on each instance), and a rename onto a name
// another lane held comes only after that lane's entries: entry::ready says whether what an
// entry depends on is applied on the reading instance. So the entries addressing one name are
// applied in append order on every instance, whichever lanes they are in.
//
// Each entry has a position in its lane; positions are gapless in commit order (position p is
// visible only after every position < p of the same lane is). Each instance has, per lane, an
// applied position: every entry at or below it has been applied to that instance (or skipped
// as rejected, abandoned or dead-lettered).
//
// Thread-safety: every method may be called from any thread; implementations pool their
// connections. Errors: every method throws chromawal::log_unavailable when the store cannot
// be reached (nothing was changed, or for append: nothing was committed); an implementation
// throws the subclass store_unreachable when the server could not be reached at all, and
// store_refused when it answered and refused the connection (see below), so that a client can
// tell an outage (start degraded, retry) from a misconfiguration (fail at once).

#include <chromawal/error.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chromawal::wal {

/// The store could not be reached, or the connection broke (refused, timed out, the server is
/// starting or shutting down): retrying later may succeed. Private: callers see log_unavailable.
class store_unreachable : public chromawal::log_unavailable {
public:
    using log_unavailable::log_unavailable;
};

/// The connection can never succeed as configured: the server refused it (authentication failed,
/// no pg_hba.conf entry, no such role or database) or the driver rejected a setting (an invalid
/// sslmode). Private: callers see log_unavailable, or invalid_argument at construction.
class store_refused : public chromawal::log_unavailable {
public:
    using log_unavailable::log_unavailable;
};

enum class op_kind : std::int16_t {
    add = 1,
    upsert = 2,
    update = 3,
    delete_records = 4,
    create_collection = 5,
    delete_collection = 6,
    modify_collection = 7,
    create_tenant = 8,     ///< in the tenant's lane (database_lane(t, "")); payload empty
    create_database = 9,   ///< in the database's lane (database_lane(t, d)); payload empty
    delete_database = 10,  ///< in the database's lane; payload empty (see applier.cpp)
};
const char* to_string(op_kind op) noexcept;

enum class entry_state : std::int16_t {
    pending = 0,    ///< committed; not yet applied to every healthy instance
    applied = 1,    ///< applied to every instance that was healthy (a down one still catches up)
    rejected = 2,   ///< an instance rejected it as invalid (4xx): never replayed
    abandoned = 3,  ///< no instance could be reached and queueing was off: never replayed
    dead = 4,       ///< an instance kept failing it: skipped there; see dead_letters()
};
const char* to_string(entry_state s) noexcept;

/// What abandon_if_unapplied decided.
enum class abandon_result {
    abandoned,  ///< marked abandoned (or it already was): never applied anywhere
    kept,       ///< an instance had applied it, or it was no longer pending: left as it was
    undecided,  ///< a lane lock stayed held within the wait: left pending (its holder may apply it)
};

/// A collection name in a tenant and database (the log maps it to the lane holding it now).
struct lane_key {
    std::string tenant;
    std::string database;
    std::string collection;
    friend bool operator==(const lane_key& a, const lane_key& b) {
        return a.tenant == b.tenant && a.database == b.database && a.collection == b.collection;
    }
};

/// One string for a lane key, for in-memory maps (the parts joined by a unit separator, which
/// no name may hold).
inline std::string map_key(const lane_key& k) {
    std::string s;
    s.reserve(k.tenant.size() + k.database.size() + k.collection.size() + 2);
    s.append(k.tenant).append(1, '\x1f').append(k.database).append(1, '\x1f').append(k.collection);
    return s;
}

/// The lane of a database's own entries (create_database, delete_database): the collection name
/// is empty, which no collection can have. A tenant's own entries (create_tenant) are in the lane
/// whose database and collection are empty.
inline lane_key database_lane(std::string tenant, std::string database) {
    return lane_key{std::move(tenant), std::move(database), std::string()};
}
inline bool is_collection_lane(const lane_key& k) { return !k.collection.empty(); }

struct new_entry {
    lane_key lane;               ///< the name the entry addresses; it goes to the lane holding it
    std::string idempotency_id;  ///< unique per entry (a UUID); a duplicate append is refused
    op_kind op = op_kind::add;
    std::string payload;  ///< binary (see payload.hpp)
    /// For a modify_collection that renames: the new name. The lane then holds the new name
    /// (in the same transaction), and a lane that held the new name gives it up. An append
    /// with a rename holds nothing else.
    std::string rename_to;
};

struct entry {
    std::int64_t lane_id = 0;
    std::int64_t position = 0;
    std::string idempotency_id;
    op_kind op = op_kind::add;
    std::string payload;
    entry_state state = entry_state::pending;
    int attempts = 0;
    std::string last_error;
    double created_at = 0;   ///< seconds since the Unix epoch
    std::string collection;  ///< the name the entry addressed when it was appended
    /// Applied only after (after_lane, after_position) on the same instance (0: nothing): set
    /// on a rename onto a name that another lane held.
    std::int64_t after_lane = 0;
    std::int64_t after_position = 0;
    /// From lane_lock::read: whatever this entry depends on (its own after_*, and its lane's
    /// start) is applied on the reading instance. An applier stops at an entry that is not.
    bool ready = true;
};

/// An entry found by its idempotency id, with the key of its lane.
struct found_entry {
    lane_key key;
    entry e;
};

struct appended {
    std::int64_t lane_id = 0;
    std::int64_t position = 0;
};

/// One lane as seen by one instance.
struct lane_progress {
    std::int64_t lane_id = 0;
    lane_key key;
    std::int64_t head = 0;                   ///< highest committed position
    std::int64_t applied = 0;                ///< the instance's applied position
    double oldest_unapplied_created_at = 0;  ///< of the entry at applied + 1; 0 when none
    /// Every entry at or below this position has been pruned (retention): the oldest remaining
    /// entry is at pruned_through + 1. An instance with applied < pruned_through missed
    /// entries that are gone; only verify-and-repair can bring it back.
    std::int64_t pruned_through = 0;
    /// The lane holds key.collection now. False once a rename onto that name took it over (the
    /// lane gets no more entries; key.collection is then the last name it held).
    bool holds_name = true;
    [[nodiscard]] bool needs_repair() const noexcept { return applied < pruned_through; }
};

/// One recorded advance of an instance's applied position in a lane (see
/// log_store::set_record_apply_history).
struct apply_step {
    std::int64_t from = 0;  ///< the applied position the applier started from (read under the lock)
    std::int64_t to = 0;    ///< the position it recorded
    bool skipped = false;   ///< moved by repair (lane_lock::skip_to_head), not applied
    double at = 0;          ///< seconds since the Unix epoch
};

struct dead_letter {
    std::string instance;
    std::int64_t lane_id = 0;
    std::int64_t position = 0;
    lane_key key;  ///< the name the entry addressed
    op_kind op = op_kind::add;
    std::string error;
    double at = 0;
};

/// Which log this is: an id made once when the log is created (a UUID, kept for the log's life)
/// and a description for messages (the store and where it is; never a password).
struct log_identity {
    std::string id;
    std::string description;
};

/// The rows of a log, as copy_log (wal/log_copy.hpp) moves them between stores. Times are
/// seconds since the Unix epoch; an after_lane/after_position of 0 is none (SQL NULL).
struct lane_row {
    std::int64_t lane_id = 0;
    lane_key key;  ///< the name it holds now (or held last)
    std::string first_name;
    bool holds_name = true;
    std::int64_t next_position = 1, pruned_through = 0, after_lane = 0, after_position = 0;
    double created_at = 0;
};
struct entry_row {
    std::int64_t lane_id = 0, position = 0;
    std::string idempotency_id;
    std::int16_t op = 0, state = 0;
    std::int32_t attempts = 0;
    std::string payload, last_error, collection;
    bool has_error = false;  ///< last_error is not NULL
    std::int64_t after_lane = 0, after_position = 0;
    double created_at = 0, updated_at = 0;
};
struct position_row {
    std::string instance;
    std::int64_t lane_id = 0, applied_position = 0;
    double updated_at = 0;
};
struct dead_letter_row {
    std::string instance;
    std::int64_t lane_id = 0, position = 0;
    std::string error;
    double at = 0;
};
struct name_release_row {
    lane_key key;
    std::int64_t lane_id = 0, position = 0;
};
/// Everything but the entries (export_rows), or one batch of entries (export_entries).
struct log_rows {
    std::vector<lane_row> lanes;
    std::vector<name_release_row> name_releases;
    std::vector<position_row> positions;
    std::vector<dead_letter_row> dead_letters;
    std::vector<entry_row> entries;
};
/// The steps of import_rows, in this order: begin once (the target must be empty: lanes and
/// name releases), entries as many times as needed, finish once (positions, dead letters, and
/// the log's id, which becomes the source's: the copy is the same log, moved).
enum class import_step { begin, entries, finish };

struct log_counts {
    std::int64_t pending = 0, applied = 0, rejected = 0, abandoned = 0, dead = 0;
    double oldest_pending_created_at = 0;  ///< 0 when nothing is pending
};

/// Exclusive right, across threads and processes, to apply entries of one lane to one instance.
/// Released by the destructor. Holds one store connection while alive.
class lane_lock {
public:
    virtual ~lane_lock() = default;
    /// The instance's applied position in this lane (read under the lock).
    virtual std::int64_t applied() = 0;
    /// The lane's pruned_through, as read by the last applied() (same round trip). An instance
    /// whose applied() is below it must not replay the lane: entries it never saw are gone.
    virtual std::int64_t pruned_through() const = 0;
    /// As read by the last applied(): the lane's start is applied on this instance (a lane
    /// created for a name that a rename gave up starts after that rename). Until it is, no
    /// entry of the lane may be applied there.
    virtual bool start_ready() const = 0;
    /// Up to max_entries entries after applied(), in position order, with any state, each with
    /// entry::ready for this instance.
    virtual std::vector<entry> read(std::size_t max_entries, std::size_t max_bytes) = 0;
    /// Durably records that every entry up to `position` was applied (or skipped). With apply
    /// history on, appends (applied() or the last advance, position) to it in the same
    /// transaction.
    virtual void advance(std::int64_t position) = 0;
    /// Moves the applied position to the lane's head without applying anything (for a repair
    /// that will make the instance identical by other means); recorded in the apply history
    /// as skipped. Returns the new applied position.
    virtual std::int64_t skip_to_head() = 0;
    /// advance(position), then lets the lock go, for the last advance of the lock's life: an
    /// implementation may do both in one round trip, but the advance is always durable and
    /// visible before the lock is free (the next holder reads it). Once it returns the lock is
    /// released: only the destructor may follow (it does nothing more). When it throws, the
    /// lock may still be held (the destructor lets it go, as without this call).
    /// @throws as advance().
    virtual void advance_and_release(std::int64_t position) {
        advance(position);
        release();
    }

protected:
    /// Lets the lock go before the destructor (which then does nothing); for advance_and_release.
    virtual void release() noexcept = 0;
};

class log_store {
public:
    virtual ~log_store() = default;

    /// Creates or upgrades the schema. Safe when several processes start at once.
    virtual void migrate() = 0;

    /// The log's id and description (see log_identity). The id never changes once made.
    virtual log_identity identity() = 0;

    /// Appends entries in one transaction; on return they are durably committed. Each goes to
    /// the lane holding its name (created when none does). Entries of one lane get consecutive
    /// positions in the order given.
    /// @throws chromawal::invalid_argument for an entry with rename_to among others.
    virtual std::vector<appended> append(const std::vector<new_entry>& entries) = 0;

    /// The id of the lane holding the name, creating a lane when none does.
    virtual std::int64_t lane_id(const lane_key& key) = 0;

    /// Lanes whose head is beyond the instance's applied position.
    virtual std::vector<lane_progress> lanes_behind(std::string_view instance) = 0;
    /// The same for several instances (one list each, in their order); one round trip where the
    /// store can (the sync thread's pass runs it twice a second per client).
    virtual std::vector<std::vector<lane_progress>> lanes_behind(const std::vector<std::string>& instances) {
        std::vector<std::vector<lane_progress>> out;
        out.reserve(instances.size());
        for (const auto& i : instances) out.push_back(lanes_behind(std::string_view(i)));
        return out;
    }
    /// Every lane with the instance's progress (for status).
    virtual std::vector<lane_progress> all_lanes(std::string_view instance) = 0;

    /// Waits up to `wait` for the lane lock; nullptr when another holder kept it.
    virtual std::unique_ptr<lane_lock> lock_lane(std::string_view instance, std::int64_t lane_id,
                                                 std::chrono::milliseconds wait) = 0;

    /// Sets an entry's state (and error text, when given).
    virtual void set_state(std::int64_t lane_id, std::int64_t position, entry_state state,
                           std::string_view error = {}) = 0;
    /// Counts a failed attempt; returns the new attempt count.
    virtual int record_failure(std::int64_t lane_id, std::int64_t position, std::string_view error) = 0;
    /// Marks the entry abandoned unless some instance already applied it, decided under every
    /// instance's lane lock (so no applier is half-way through it), waiting at most `wait` for
    /// those locks: undecided when one stayed held (its holder may be applying the entry).
    virtual abandon_result abandon_if_unapplied(std::int64_t lane_id, std::int64_t position,
                                                const std::vector<std::string>& instances,
                                                std::chrono::milliseconds wait) = 0;
    /// Records that `instance` skipped a dead entry.
    virtual void add_dead_letter(std::string_view instance, std::int64_t lane_id, std::int64_t position,
                                 std::string_view error) = 0;
    virtual std::vector<dead_letter> dead_letters(std::size_t limit) = 0;
    /// Removes one dead letter; when it was the entry's last, a dead entry becomes pending again
    /// (so that it is marked applied, and pruned, like any other).
    virtual void remove_dead_letter(std::string_view instance, std::int64_t lane_id, std::int64_t position) = 0;
    /// The entry with this idempotency id, with its lane's key, if it is still in the log.
    virtual std::optional<found_entry> find_entry(std::string_view idempotency_id) = 0;
    virtual std::optional<entry> read_entry(std::int64_t lane_id, std::int64_t position) = 0;

    /// Marks pending entries that every listed instance has applied as applied.
    virtual std::int64_t mark_applied(const std::vector<std::string>& instances) = 0;
    virtual log_counts counts() = 0;

    /// Retention: deletes, lane by lane from the lane's start, entries that are applied,
    /// rejected or abandoned, not dead-lettered anywhere and older than `older_than`, stopping
    /// in each lane at the first entry that must stay (so what is deleted is always a prefix,
    /// recorded as the lane's pruned_through). Works in short transactions of at most
    /// `batch_size` entries. Also deletes apply history older than `older_than`. Returns the
    /// number of entries deleted.
    virtual std::int64_t prune(std::chrono::milliseconds older_than, std::size_t batch_size) = 0;

    /// When on, every advance of an applied position is also recorded in the apply history, in
    /// the same transaction (off by default: it costs a row per applied request).
    virtual void set_record_apply_history(bool on) = 0;
    /// The recorded advances of one instance in one lane, in the order they happened.
    virtual std::vector<apply_step> apply_history(std::string_view instance, std::int64_t lane_id) = 0;

    /// Copying a quiet log to another store (wal/log_copy.hpp). The apply history is not copied.
    /// Lanes (by lane_id), name releases, applied positions and dead letters.
    virtual log_rows export_rows();
    /// Up to max_entries entries after (after_lane, after_position), ordered by lane and position,
    /// stopping early once max_bytes of payload are read (at least one entry).
    virtual std::vector<entry_row> export_entries(std::int64_t after_lane, std::int64_t after_position,
                                                  std::size_t max_entries, std::size_t max_bytes);
    /// One step of an import (see import_step), each in its own transaction.
    /// @throws chromawal::invalid_argument at begin when the log is not empty.
    virtual void import_rows(const log_rows& rows, import_step step, const std::string& log_id);
};

}  // namespace chromawal::wal
