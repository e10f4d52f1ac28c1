#include "wal/sqlite/db.hpp"

#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "chromawal/error.hpp"
#include "wal/log_store.hpp"

namespace chromawal::wal::sqlite {

namespace {

[[noreturn]] void fail(sqlite3* db, int rc, std::string_view what) {
    std::string msg(what);
    msg += ": ";
    msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    const int code = db != nullptr ? sqlite3_extended_errcode(db) : rc;
    throw failure(msg, code);
}

std::atomic<std::uint64_t> statements_prepared{0};

std::string parent_dir(const std::string& path) {
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

}  // namespace

// ---- statement ----

statement::statement(connection& c, std::string_view sql) : db_(c.get()) {
    auto found = c.cache_.find(std::string(sql));
    if (found != c.cache_.end() && !found->second.in_use) {
        found->second.in_use = true;
        st_ = found->second.st;
        cached_ = &found->second;
        return;
    }
    // PERSISTENT: kept for many uses (SQLite allocates it accordingly).
    const unsigned flags = found == c.cache_.end() && c.cache_.size() < connection::max_cached
                               ? static_cast<unsigned>(SQLITE_PREPARE_PERSISTENT)
                               : 0u;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), flags, &st_, nullptr);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(st_);
        fail(db_, rc, "prepare");
    }
    statements_prepared.fetch_add(1, std::memory_order_relaxed);
    if (flags != 0 && st_ != nullptr) {
        // Elements of an unordered_map stay where they are when it grows: the pointer holds.
        cached_ = &c.cache_.emplace(std::string(sql), cached_statement{st_, true}).first->second;
    }
}

statement::~statement() {
    if (cached_ == nullptr) {
        sqlite3_finalize(st_);
        return;
    }
    // Ends any read it was doing; an error it returns was already reported by step().
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
    cached_->in_use = false;
}

statement& statement::bind(int i, std::int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
}
statement& statement::bind(int i, double v) {
    sqlite3_bind_double(st_, i, v);
    return *this;
}
statement& statement::bind(int i, std::string_view text) {
    sqlite3_bind_text64(st_, i, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    return *this;
}
statement& statement::bind_blob(int i, std::string_view bytes) {
    // A zero-length blob is still a blob, never NULL.
    if (bytes.empty()) {
        sqlite3_bind_zeroblob(st_, i, 0);
    } else {
        sqlite3_bind_blob64(st_, i, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
    }
    return *this;
}
statement& statement::bind_null(int i) {
    sqlite3_bind_null(st_, i);
    return *this;
}

bool statement::step() {
    const int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, rc, "statement");
}

void statement::run() {
    while (step()) {
    }
}

std::int64_t statement::i64(int col) const { return sqlite3_column_int64(st_, col); }
double statement::f64(int col) const { return sqlite3_column_double(st_, col); }
std::string statement::text(int col) const {
    const void* p = sqlite3_column_blob(st_, col);
    const int n = sqlite3_column_bytes(st_, col);
    return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), static_cast<std::size_t>(n));
}
bool statement::is_null(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }

// ---- connection ----

connection::connection(const settings& s) {
    // Multi-thread mode (NOMUTEX): the pool hands a connection to one thread at a time.
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(s.path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = std::string("open: ") + (db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
        const int code = db_ != nullptr ? sqlite3_extended_errcode(db_) : rc;
        sqlite3_close(db_);
        db_ = nullptr;
        throw failure(msg, code);
    }
    try {
        sqlite3_extended_result_codes(db_, 1);
        // A write-protected file opens read-only without an error: refuse it now, not at the
        // first append.
        if (sqlite3_db_readonly(db_, "main") == 1) throw failure("open: the file is read-only", SQLITE_READONLY);
        sqlite3_busy_timeout(db_, static_cast<int>(std::min<long long>(s.busy_timeout.count(), INT_MAX)));
        exec("PRAGMA auto_vacuum = INCREMENTAL");  // effective only while the file has no table
        {
            statement mode(*this, "PRAGMA journal_mode = WAL");
            if (!mode.step() || mode.text(0) != "wal") {
                throw failure("open: the database could not be switched to WAL journal mode", SQLITE_CANTOPEN);
            }
        }
        exec("PRAGMA synchronous = FULL");
        exec("PRAGMA foreign_keys = OFF");
    } catch (...) {
        sqlite3_close(db_);
        db_ = nullptr;
        throw;
    }
}

std::uint64_t connection::statements_prepared_in_process() noexcept {
    return statements_prepared.load(std::memory_order_relaxed);
}

connection::~connection() {
    for (auto& [sql, entry] : cache_) sqlite3_finalize(entry.st);
    cache_.clear();
    if (db_ != nullptr) sqlite3_close_v2(db_);
}

void connection::exec(const char* sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        throw failure(msg, sqlite3_extended_errcode(db_));
    }
}

std::int64_t connection::changes() const { return sqlite3_changes64(db_); }

// ---- errors ----

void raise(const char* op, const std::string& path, const failure& e) {
    const std::string where = "SQLite log store (" + path + "): " + op + " failed: ";
    switch (e.primary()) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            throw store_unreachable(where + e.what() +
                                    " (the database stayed locked by another connection beyond the busy timeout)");
        case SQLITE_FULL:
            throw chromawal::log_unavailable(where + e.what() + " (the disk or file system is full)");
        case SQLITE_READONLY:
            throw store_refused(where + e.what() + " (the file or its directory is read-only)");
        case SQLITE_CANTOPEN:
            throw store_refused(where + e.what() +
                                " (the file cannot be opened: does its directory exist, and may this user write it?)");
        case SQLITE_NOTADB:
        case SQLITE_CORRUPT:
            throw store_refused(where + e.what() + " (the file is not a chromawal SQLite log)");
        case SQLITE_PERM:
        case SQLITE_AUTH:
            throw store_refused(where + e.what());
        default:
            if (std::string_view(e.what()).find("no such table") != std::string_view::npos) {
                throw chromawal::log_unavailable(where + e.what() +
                                                 " (the log's tables are missing: has migrate() run?)");
            }
            throw chromawal::log_unavailable(where + e.what());
    }
}

std::string network_file_system(const std::string& path) {
    std::string dir = parent_dir(path);
    struct statfs fs {};
    for (;;) {
        if (::statfs(dir.c_str(), &fs) == 0) break;
        if (dir == "/" || dir == ".") return {};
        dir = parent_dir(dir);
    }
    // Magic numbers from statfs(2) / linux/magic.h.
    switch (static_cast<unsigned long>(fs.f_type)) {
        case 0x6969UL:
            return "NFS";
        case 0x517BUL:
            return "SMB";
        case 0xFE534D42UL:
            return "SMB2";
        case 0xFF534D42UL:
            return "CIFS";
        case 0x564c:
            return "NCP";
        case 0x65735546UL:
            return "FUSE";  // sshfs and similar: locks are not reliable either
        case 0x47504653UL:
            return "GPFS";
        case 0x6B414653UL:
            return "AFS";
        case 0x00C36400UL:
            return "CephFS";
        default:
            return {};
    }
}

// ---- pool ----

std::unique_ptr<connection> pool::acquire() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!idle_.empty()) {
            auto c = std::move(idle_.back());
            idle_.pop_back();
            return c;
        }
    }
    return std::make_unique<connection>(settings_);
}

void pool::release(std::unique_ptr<connection> c) {
    if (!c || c->broken) return;
    // A transaction left open by a failure would hold the write lock: never pool such a handle.
    if (sqlite3_get_autocommit(c->get()) == 0) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (idle_.size() < 16) idle_.push_back(std::move(c));
}

void pool::rollback(connection& c) noexcept {
    if (sqlite3_get_autocommit(c.get()) != 0) return;
    if (sqlite3_exec(c.get(), "ROLLBACK", nullptr, nullptr, nullptr) != SQLITE_OK) c.broken = true;
}

double now_seconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace chromawal::wal::sqlite
