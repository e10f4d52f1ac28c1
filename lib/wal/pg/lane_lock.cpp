#include "wal/pg/lane_lock.hpp"

#include <algorithm>
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

/// Holds the session advisory lock of (instance, lane) on its own connection.
class pg_lane_lock final : public lane_lock {
public:
    pg_lane_lock(std::shared_ptr<pool> p, std::unique_ptr<connection> c, std::string instance, std::int64_t lane_id,
                 std::int32_t key1, std::int32_t key2)
        : pool_(std::move(p)),
          c_(std::move(c)),
          instance_(std::move(instance)),
          lane_id_(lane_id),
          key1_(key1),
          key2_(key2) {}

    ~pg_lane_lock() override {
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
    pg_lane_lock(const pg_lane_lock&) = delete;
    pg_lane_lock& operator=(const pg_lane_lock&) = delete;

    std::int64_t applied() override {
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

private:
    void advance_to(std::int64_t position, bool skipped) {
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
        if (!c_ || c_->broken) {
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
};

}  // namespace

std::unique_ptr<lane_lock> take_lane_lock(const std::shared_ptr<pool>& shared, std::string_view instance,
                                          std::int64_t lane_id, std::chrono::milliseconds wait) {
    const std::int32_t key1 = instance_lock_key(shared->schema, instance);
    const std::int32_t key2 = lane_lock_key(lane_id);
    const auto until = steady::now() + std::max(wait, std::chrono::milliseconds(0));
    auto take_lock = [&](connection& c) {
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - steady::now());
            params p;
            p.i32(key1).i32(key2);
            result r;
            if (left.count() < 1) {
                r = shared->run(c, stmt::try_lock, p, statement_deadline());
            } else {
                auto chunk = std::min(left, lock_wait_chunk);
                p.i32(static_cast<std::int32_t>(chunk.count()));
                r = shared->run(c, stmt::wait_lock, p, steady::now() + chunk + client_deadline);
            }
            if (PQntuples(r.get()) == 1 && col_bool(r.get(), 0, 0)) return true;
            if (left.count() < 1 || steady::now() >= until) return false;
        }
    };
    for (int attempt = 0;; ++attempt) {
        bool may_retry = false;
        try {
            // A pool exhausted by other lane locks is not worth a long wait either.
            pool::lease l(shared, shared->acquire(attempt > 0, until + 1s));
            may_retry = attempt == 0 && l->reused;
            bool got = false;
            try {
                got = take_lock(*l);
            } catch (const pg_failure& e) {
                if (e.broken()) {
                    l->broken = true;
                    shared->drop_idle();
                }
                throw;
            }
            if (!got) return nullptr;
            // The lock lives in this session: the connection now belongs to the lane lock.
            return std::make_unique<pg_lane_lock>(shared, l.take(), std::string(instance), lane_id, key1, key2);
        } catch (const pg_failure& e) {
            if (e.broken() && may_retry) continue;
            pool::unavailable("lock_lane", e);
        }
    }
}

}  // namespace chromawal::wal::pg
