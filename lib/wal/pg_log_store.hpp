#pragma once
// The write-ahead log in PostgreSQL, over libpq. Private: no libpq type leaves this folder.
//
// Thread-safety: one pg_log_store may be shared by any number of threads; it owns a pool of
// connections (at most max_connections, created on demand, idle ones reused; a caller waits
// when all are busy, up to about the statement timeout). A lane_lock owns one pooled connection
// until it is destroyed; it may outlive the store (it shares the pool). A thread that holds a
// lane_lock and calls the store needs a second connection: keep max_connections above the
// number of lane locks held at once.
//
// Cost of construction: none beyond parsing the connection string; the first call connects.
//
// Layout in the database (schema `schema`, created by migrate(), versioned in schema_version):
// tables lanes, entries, instance_positions, dead_letters, apply_history (version 2: also
// lanes.pruned_through), name_releases (version 4, with lanes' current names and each
// entry's name and dependency); functions append_entries (an append spanning several lanes,
// in one statement), append_rename (a rename that moves the name with it), claim_lane (the
// lane holding a name, created under the name's lock), lock_lane (an advisory lock with a
// lock_timeout), abandon_if_unapplied, lock_lane_applied (version 7: a lane lock and, read
// after it, the applied position, in one statement) and the procedure advance_release (version
// 7: the last advance committed, then the lane lock let go, in one statement). No credential, connection string or
// request header is stored. The DDL is in pg/migrations.hpp, every other statement in pg/statements.hpp.
//
// Order: an append takes its positions with `UPDATE lanes SET next_position = next_position + n`
// inside the appending transaction (one statement: one round trip). The row lock serialises
// appenders of one lane until they commit, so a position becomes visible only after every
// smaller one of the same lane has. An append spanning several lanes locks them in key order,
// so concurrent ones cannot deadlock. Because of that lock, appends to one lane commit one after
// the other; so single-lane append() calls that arrive while another of their lane is running
// are combined into one transaction (group commit, ../group_commit.hpp; the append transaction
// itself and its retry are pg/append.hpp).
//
// Failures: every method throws chromawal::log_unavailable when the store cannot be reached or
// fails the statement, naming the operation, with libpq's message (secrets removed). Which
// calls are retried, the timeouts and keepalives: pg/pool.hpp; append()'s in-doubt retry:
// pg/append.hpp.
//
// Files: this class and its queries are pg_log_store.cpp; its parts are in pg/ (wire format,
// keys, statements, migrations, pool, lane lock, append, secrets), each saying what it owns.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "wal/log_store.hpp"

namespace chromawal::wal {

class group_commit;
namespace pg {
struct pool;  // pg/pool.hpp; shared with lane locks
}  // namespace pg

class pg_log_store final : public log_store {
public:
    /// @param conninfo libpq connection string or URI; empty: libpq's PG* environment variables.
    /// @param schema   schema holding the log's tables, [a-z_][a-z0-9_]* (at most 63 characters).
    /// @param max_connections upper bound of the pool (lane locks hold one each while alive).
    /// @param connect_timeout how long one connection attempt may take.
    /// @throws chromawal::invalid_argument for a bad schema name, max_connections 0 or a
    ///         connection string libpq cannot parse (the message never repeats the string).
    explicit pg_log_store(std::string conninfo, std::string schema = "chromawal", std::size_t max_connections = 8,
                          std::chrono::milliseconds connect_timeout = std::chrono::seconds(5));
    ~pg_log_store() override;
    pg_log_store(const pg_log_store&) = delete;
    pg_log_store& operator=(const pg_log_store&) = delete;

    void migrate() override;
    /// "postgresql://host:port/database, schema S" (no user, no password); read once, then cached.
    wal::log_identity identity() override;
    log_rows export_rows() override;
    std::vector<entry_row> export_entries(std::int64_t after_lane, std::int64_t after_position, std::size_t max_entries,
                                          std::size_t max_bytes) override;
    void import_rows(const log_rows& rows, import_step step, const std::string& log_id) override;
    /// @throws chromawal::invalid_argument when an idempotency id is already in the log (and
    ///         the append was not a retry of this very call).
    std::vector<appended> append(const std::vector<new_entry>& entries) override;
    std::int64_t lane_id(const lane_key& key) override;
    std::vector<lane_progress> lanes_behind(std::string_view instance) override;
    std::vector<std::vector<lane_progress>> lanes_behind(const std::vector<std::string>& instances) override;
    std::vector<lane_progress> all_lanes(std::string_view instance) override;
    /// The returned lock's advance() throws chromawal::invalid_argument for a position beyond
    /// the lane's head (that would skip entries not yet written).
    std::unique_ptr<lane_lock> lock_lane(std::string_view instance, std::int64_t lane_id,
                                         std::chrono::milliseconds wait) override;
    void set_state(std::int64_t lane_id, std::int64_t position, entry_state state,
                   std::string_view error = {}) override;
    int record_failure(std::int64_t lane_id, std::int64_t position, std::string_view error) override;
    /// Takes every instance's lane lock (transaction-scoped advisory locks, in a fixed order),
    /// waiting at most `wait` in all (a server-side lock_timeout, so a lost connection cannot
    /// leave it waiting longer). Answers abandoned also when the entry was already abandoned.
    abandon_result abandon_if_unapplied(std::int64_t lane_id, std::int64_t position,
                                        const std::vector<std::string>& instances,
                                        std::chrono::milliseconds wait) override;
    void add_dead_letter(std::string_view instance, std::int64_t lane_id, std::int64_t position,
                         std::string_view error) override;
    std::vector<dead_letter> dead_letters(std::size_t limit) override;
    void remove_dead_letter(std::string_view instance, std::int64_t lane_id, std::int64_t position) override;
    std::optional<found_entry> find_entry(std::string_view idempotency_id) override;
    std::optional<entry> read_entry(std::int64_t lane_id, std::int64_t position) override;
    /// Works in batches of 10,000 rows (one short transaction each). An empty list marks nothing.
    std::int64_t mark_applied(const std::vector<std::string>& instances) override;
    /// One scan of the entries table.
    log_counts counts() override;
    /// Finds the lanes whose first entry may go (one statement), then deletes each one's
    /// prefix in batches (one short statement each, which also moves lanes.pruned_through), so
    /// no long transaction holds locks and the table's dead rows are spread for vacuum.
    std::int64_t prune(std::chrono::milliseconds older_than, std::size_t batch_size) override;
    void set_record_apply_history(bool on) override;
    std::vector<apply_step> apply_history(std::string_view instance, std::int64_t lane_id) override;

    /// How many append() calls wait behind a running append of their lane (group commit), a
    /// snapshot. Not part of log_store: for tests and monitoring.
    std::size_t queued_appends() const;
    /// Statements this store has sent so far (its lane locks' included; preparing one on a new
    /// connection is not counted), a snapshot. Not part of log_store: for tests and measurements.
    std::uint64_t statements_run() const;
    /// The same, summed over every pg_log_store of the process (for tests that cannot reach the
    /// store a client opened).
    static std::uint64_t statements_run_in_process();

private:
    std::shared_ptr<pg::pool> pool_;
    std::unique_ptr<group_commit> group_commit_;  ///< combines concurrent single-lane appends
    std::mutex identity_mutex_;
    wal::log_identity identity_;  ///< empty id until first read
};

}  // namespace chromawal::wal
