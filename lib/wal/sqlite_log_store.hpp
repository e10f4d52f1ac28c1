#pragma once
// The write-ahead log in an SQLite file: the embedded store for writers on one host (the default
// when no log is configured). Private: no SQLite type leaves this file's .cpp and sqlite/.
//
// Thread-safety: one sqlite_log_store may be shared by any number of threads; it keeps a small
// pool of connections (SQLite in multi-thread mode, one connection per thread at a time), opened
// on demand. Several processes on one host may open the same file at once.
//
// Cost of construction: checks the path (absolute or relative; refused on a network file
// system); the first call opens the file.
//
// How each contract of log_store.hpp is met (docs/design.md, "The SQLite log store"):
// - order: every write runs in BEGIN IMMEDIATE, which takes SQLite's one write lock for the
//   whole transaction; an append reads and moves lanes.next_position inside it, so positions are
//   gapless and visible in commit order (no two writers can interleave);
// - durability: WAL journal mode with synchronous=FULL (the WAL is synced on every commit);
// - lane locks: an open-file-description lock on one byte of a side file (sqlite/lane_lock.hpp),
//   excluding threads and processes alike and released by the kernel when its holder dies;
// - group commit: ../group_commit.hpp, as for PostgreSQL (one fsync for many appends);
// - abandon_if_unapplied: takes every instance's lane lock (in key order, one deadline), then
//   decides in one write transaction;
// - retention: prefix deletes in short transactions, then PRAGMA incremental_vacuum gives the
//   freed pages back to the file system (the file is created with auto_vacuum=INCREMENTAL).
//
// Failures: chromawal::log_unavailable naming the path and the reason; store_unreachable for a
// database locked beyond the busy timeout; store_refused for a file that cannot be opened or
// written (read-only, missing directory, not a database). The schema parameter of the
// PostgreSQL store has no counterpart: one file holds one log.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "wal/log_store.hpp"

namespace chromawal::wal {

class group_commit;
namespace sqlite {
class pool;
}  // namespace sqlite

class sqlite_log_store final : public log_store {
public:
    /// @param path the database file; created (with its tables, by migrate()) when missing. Its
    ///        directory must exist. "<path>-wal", "<path>-shm" and "<path>-lanelocks" live next
    ///        to it.
    /// @param busy_timeout how long a write waits for another process's write transaction.
    /// @throws chromawal::invalid_argument for an empty path, or a path on a network file system
    ///         (NFS, SMB/CIFS, FUSE, ...: their locks cannot keep SQLite's WAL mode safe).
    explicit sqlite_log_store(std::string path, std::chrono::milliseconds busy_timeout = std::chrono::seconds(10));
    ~sqlite_log_store() override;
    sqlite_log_store(const sqlite_log_store&) = delete;
    sqlite_log_store& operator=(const sqlite_log_store&) = delete;

    void migrate() override;
    std::vector<appended> append(const std::vector<new_entry>& entries) override;
    std::int64_t lane_id(const lane_key& key) override;
    using log_store::lanes_behind;
    std::vector<lane_progress> lanes_behind(std::string_view instance) override;
    std::vector<lane_progress> all_lanes(std::string_view instance) override;
    std::unique_ptr<lane_lock> lock_lane(std::string_view instance, std::int64_t lane_id,
                                         std::chrono::milliseconds wait) override;
    void set_state(std::int64_t lane_id, std::int64_t position, entry_state state,
                   std::string_view error = {}) override;
    int record_failure(std::int64_t lane_id, std::int64_t position, std::string_view error) override;
    abandon_result abandon_if_unapplied(std::int64_t lane_id, std::int64_t position,
                                        const std::vector<std::string>& instances,
                                        std::chrono::milliseconds wait) override;
    void add_dead_letter(std::string_view instance, std::int64_t lane_id, std::int64_t position,
                         std::string_view error) override;
    std::vector<dead_letter> dead_letters(std::size_t limit) override;
    void remove_dead_letter(std::string_view instance, std::int64_t lane_id, std::int64_t position) override;
    std::optional<found_entry> find_entry(std::string_view idempotency_id) override;
    std::optional<entry> read_entry(std::int64_t lane_id, std::int64_t position) override;
    std::int64_t mark_applied(const std::vector<std::string>& instances) override;
    log_counts counts() override;
    log_identity identity() override;
    log_rows export_rows() override;
    std::vector<entry_row> export_entries(std::int64_t after_lane, std::int64_t after_position, std::size_t max_entries,
                                          std::size_t max_bytes) override;
    void import_rows(const log_rows& rows, import_step step, const std::string& log_id) override;
    std::int64_t prune(std::chrono::milliseconds older_than, std::size_t batch_size) override;
    void set_record_apply_history(bool on) override;
    std::vector<apply_step> apply_history(std::string_view instance, std::int64_t lane_id) override;

    /// The database file.
    const std::string& path() const noexcept { return path_; }
    /// Statements prepared so far by every SQLite store of the process: each connection keeps
    /// the statements it prepared and reuses them, so this grows only while new connections and
    /// new kinds of statement appear. Not part of log_store: for tests.
    static std::uint64_t statements_prepared_in_process();

private:
    std::string path_;
    std::shared_ptr<sqlite::pool> pool_;
    std::shared_ptr<std::atomic<bool>> record_history_;
    std::unique_ptr<group_commit> group_commit_;
    std::mutex identity_mutex_;
    log_identity identity_;  ///< empty id until first read
};

}  // namespace chromawal::wal
