#include "wal/pg/lane_lock.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chromawal/error.hpp"
#include "wal/pg/failure.hpp"
#include "wal/pg/keys.hpp"
#include "wal/pg/pool.hpp"
#include "wal/pg/statements.hpp"
#include "wal/pg/wire.hpp"

namespace chromawal::wal::pg {
namespace {

using namespace std::chrono_literals;

// Longest single server-side wait for a lane lock; longer waits are done in several.
constexpr std::chrono::milliseconds lock_wait_chunk = 10s;

/// What the lock statement read once the lock was taken (stmt::applied's columns).
struct lane_state {
    std::int64_t applied = 0;
    std::int64_t pruned_through = 0;
    bool start_ready = true;
};

/// Holds the session advisory lock of (instance, lane) on its own connection.
class pg_lane_lock final : public lane_lock {
public:
    /// `state`: what the lock statement read under the lock (applied position, pruned_through,
    /// start_ready), handed out by the first applied() without another round trip.
    pg_lane_lock(std::shared_ptr<pool> p, std::unique_ptr<connection> c, std::string instance, std::int64_t lane_id,
                 std::int32_t key1, std::int32_t key2, const lane_state& state)
        : pool_(std::move(p)),
          c_(std::move(c)),
          instance_(std::move(instance)),
          lane_id_(lane_id),
          key1_(key1),
          key2_(key2),
          known_(state.applied),
          pruned_through_(state.pruned_through),
          start_ready_(state.start_ready),
          prefetched_(true) {}

    ~pg_lane_lock() override { pg_lane_lock::release(); }
    pg_lane_lock(const pg_lane_lock&) = delete;
    pg_lane_lock& operator=(const pg_lane_lock&) = delete;

    std::int64_t applied() override {
        if (prefetched_) {
            // Read by the lock statement after the lock was taken; nothing moved it since (only
            // this holder can, and an advance clears prefetched_).
            prefetched_ = false;
            return known_;
        }
        return guarded("lane lock: applied", [&] {
            params p;
            p.text(instance_).i64(lane_id_);
            result r = pool_->run(*c_, stmt::applied, p, statement_deadline());
            const bool found = PQntuples(r.get()) > 0;
            known_ = found ? col_i64(r.get(), 0, 0) : 0;
            pruned_through_ = found ? col_i64(r.get(), 0, 1) : 0;
            start_ready_ = !found || col_bool(r.get(), 0, 2);
            return known_;
        });
    }

    std::int64_t pruned_through() const override { return pruned_through_; }
    bool start_ready() const override { return start_ready_; }

    std::vector<entry> read(std::size_t max_entries, std::size_t max_bytes) override {
        if (max_entries == 0) return {};
        return guarded("lane lock: read", [&] {
            params p;
            p.text(instance_).i64(lane_id_).i64(clamp_size(max_entries)).i64(clamp_size(max_bytes));
            result r = pool_->run(*c_, stmt::read, p, statement_deadline());
            std::vector<entry> out;
            int rows = PQntuples(r.get());
            out.reserve(static_cast<std::size_t>(rows));
            for (int i = 0; i < rows; ++i) out.push_back(entry_from_row(r.get(), i, lane_id_, true));
            return out;
        });
    }

    void advance(std::int64_t position) override { advance_to(position, false); }

    /// One round trip (stmt::advance_release): the advance is committed before the unlock runs,
    /// so the next holder's lock statement reads it.
    void advance_and_release(std::int64_t position) override {
        prefetched_ = false;
        const bool history = pool_->record_history.load(std::memory_order_relaxed);
        if (known_ < 0 && history) applied();
        struct outcome {
            bool advanced = false;
            bool head_known = false;
            std::int64_t head = 0;
            bool released = false;
        };
        const outcome o = guarded("lane lock: advance", [&] {
            params p;
            p.text(instance_).i64(lane_id_).i64(position).i64(std::max<std::int64_t>(known_, 0));
            p.boolean(history).boolean(false).i32(key1_).i32(key2_);
            result r = pool_->run(*c_, stmt::advance_release, p, statement_deadline());
            outcome out;
            if (PQntuples(r.get()) != 1 || PQnfields(r.get()) != 3) {
                c_->broken = true;  // an answer of another shape: trust nothing of this session
                throw pg_failure("unexpected result", false);
            }
            out.advanced = PQgetisnull(r.get(), 0, 0) == 0 && col_bool(r.get(), 0, 0);
            out.head_known = PQgetisnull(r.get(), 0, 1) == 0;
            if (out.head_known) out.head = col_i64(r.get(), 0, 1);
            out.released = PQgetisnull(r.get(), 0, 2) == 0 && col_bool(r.get(), 0, 2);
            return out;
        });
        if (o.advanced) known_ = position;
        // The advance is committed (or was not forward); the lock is no longer this session's.
        // Not released (it was not held: cannot happen while the session lives): do not trust
        // the session; closing it lets go of anything it holds.
        if (!o.released) c_->broken = true;
        pool_->release(std::move(c_));
        if (!o.advanced && (!o.head_known || position > o.head)) {
            throw chromawal::invalid_argument("PostgreSQL log store: advance to position " + std::to_string(position) +
                                              " is beyond the head of lane " + std::to_string(lane_id_));
        }
    }

    std::int64_t skip_to_head() override {
        const std::int64_t head = guarded("lane lock: skip_to_head", [&] {
            params h;
            h.i64(lane_id_);
            result r = pool_->run(*c_, stmt::head, h, statement_deadline());
            return PQntuples(r.get()) == 0 ? std::int64_t{0} : col_i64(r.get(), 0, 0);
        });
        if (known_ < 0) applied();
        if (head > known_) advance_to(head, true);
        return std::max(head, known_);
    }

protected:
    void release() noexcept override {
        if (!c_) return;
        if (!c_->broken) {
            try {
                params p;
                p.i32(key1_).i32(key2_);
                result r = pool_->run(*c_, stmt::unlock, p, steady::now() + 5s);
                // Not held (cannot happen while the session lives): do not trust this session.
                if (PQntuples(r.get()) != 1 || !col_bool(r.get(), 0, 0)) c_->broken = true;
            } catch (...) {
                c_->broken = true;  // closing the session releases the lock on the server
            }
        }
        pool_->release(std::move(c_));
    }

private:
    void advance_to(std::int64_t position, bool skipped) {
        prefetched_ = false;
        if (known_ < 0 && pool_->record_history.load(std::memory_order_relaxed)) applied();
        bool beyond_head = guarded("lane lock: advance", [&] {
            params p;
            p.text(instance_).i64(lane_id_).i64(position).i64(std::max<std::int64_t>(known_, 0));
            p.boolean(pool_->record_history.load(std::memory_order_relaxed)).boolean(skipped);
            result r = pool_->run(*c_, stmt::advance, p, statement_deadline());
            if (PQntuples(r.get()) > 0) {
                known_ = position;
                return false;
            }
            // Nothing written: either not forward (fine), or beyond the head (a caller bug).
            params h;
            h.i64(lane_id_);
            result head = pool_->run(*c_, stmt::head, h, statement_deadline());
            return PQntuples(head.get()) == 0 || position > col_i64(head.get(), 0, 0);
        });
        if (beyond_head) {
            throw chromawal::invalid_argument("PostgreSQL log store: advance to position " + std::to_string(position) +
                                              " is beyond the head of lane " + std::to_string(lane_id_));
        }
    }

    template <class F>
    auto guarded(const char* op, F&& f) -> decltype(f()) {
        if (!c_) {
            throw chromawal::log_unavailable(std::string("PostgreSQL log store: ") + op +
                                             " failed: the lane lock was released");
        }
        if (c_->broken) {
            throw chromawal::log_unavailable(std::string("PostgreSQL log store: ") + op +
                                             " failed: the lane lock was lost with its connection");
        }
        try {
            return f();
        } catch (const pg_failure& e) {
            if (e.broken()) {
                c_->broken = true;
                pool_->drop_idle();
                throw chromawal::log_unavailable(std::string("PostgreSQL log store: ") + op + " failed: " + e.what() +
                                                 " (the lane lock is lost)");
            }
            pool::unavailable(op, e);
        }
    }

    std::shared_ptr<pool> pool_;
    std::unique_ptr<connection> c_;
    std::string instance_;
    std::int64_t lane_id_;
    std::int32_t key1_;
    std::int32_t key2_;
    std::int64_t known_ = -1;  ///< the applied position as last read or advanced by this holder
    std::int64_t pruned_through_ = 0;
    bool start_ready_ = true;
    bool prefetched_ = false;  ///< known_ and the rest are the lock statement's, not yet handed out
};

}  // namespace

std::unique_ptr<lane_lock> take_lane_lock(const std::shared_ptr<pool>& shared, std::string_view instance,
                                          std::int64_t lane_id, std::chrono::milliseconds wait) {
    const std::int32_t key1 = instance_lock_key(shared->schema, instance);
    const std::int32_t key2 = lane_lock_key(lane_id);
    const auto until = steady::now() + std::max(wait, std::chrono::milliseconds(0));
    // One statement per try or wait chunk (stmt::lock_applied): once it has the lock, it reads
    // the applied position in the same round trip, with a snapshot taken after the lock.
    auto take_lock = [&](connection& c) -> std::optional<lane_state> {
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - steady::now());
            const auto chunk = left.count() < 1 ? std::chrono::milliseconds(0) : std::min(left, lock_wait_chunk);
            params p;
            p.i32(key1).i32(key2).i32(static_cast<std::int32_t>(chunk.count())).text(instance).i64(lane_id);
            result r = shared->run(c, stmt::lock_applied, p,
                                   chunk.count() == 0 ? statement_deadline() : steady::now() + chunk + client_deadline);
            if (PQntuples(r.get()) != 1 || PQnfields(r.get()) != 4) throw pg_failure("unexpected result", false);
            if (col_bool(r.get(), 0, 0)) {
                lane_state st;
                st.applied = col_i64(r.get(), 0, 1);
                st.pruned_through = col_i64(r.get(), 0, 2);
                st.start_ready = col_bool(r.get(), 0, 3);
                return st;
            }
            if (chunk.count() == 0 || steady::now() >= until) return std::nullopt;
        }
    };
    for (int attempt = 0;; ++attempt) {
        bool may_retry = false;
        try {
            // A pool exhausted by other lane locks is not worth a long wait either.
            pool::lease l(shared, shared->acquire(attempt > 0, until + 1s));
            may_retry = attempt == 0 && l->reused;
            std::optional<lane_state> got;
            try {
                got = take_lock(*l);
            } catch (const pg_failure& e) {
                // The statement may have failed after taking the lock (the session would keep
                // it): never hand this session back to the pool.
                l->broken = true;
                if (e.broken()) shared->drop_idle();
                throw;
            }
            if (!got) return nullptr;
            // The lock lives in this session: the connection now belongs to the lane lock.
            return std::make_unique<pg_lane_lock>(shared, l.take(), std::string(instance), lane_id, key1, key2, *got);
        } catch (const pg_failure& e) {
            if (e.broken() && may_retry) continue;
            pool::unavailable("lock_lane", e);
        }
    }
}

}  // namespace chromawal::wal::pg
