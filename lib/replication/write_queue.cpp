// writer, the queue of each collection: coalescing concurrent writes into one append and one
// group apply, and asynchronous (pipelined) writes. See writer.hpp.
#include "api/connection.hpp"
#include "api/validate.hpp"
#include "chroma/protocol.hpp"
#include "replication/log_identity.hpp"
#include "replication/writer.hpp"
#include "wal/payload.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <random>
#include <utility>

namespace chromawal::detail {

namespace {

// A group never holds more records than this when no instance has told its max_batch_size yet.
constexpr std::size_t default_group_records = 1000;

// A leader appends the next group only while fewer groups of its collection than this are being
// applied: one on the servers and one appended, waiting for its turn. Writes arriving meanwhile
// wait in the queue and go out together as one larger group (one request per instance instead
// of one per write: Chroma's cost per record falls with the request's size).
constexpr std::size_t max_applying_groups = 2;

// The most records one group may hold: the smallest max_batch_size the instances told.
std::size_t group_records(context& ctx) {
    std::size_t limit = 0;
    for (auto& inst : ctx.instances) {
        chroma_connection& conn = inst->conn();
        std::lock_guard<std::mutex> lock(conn.preflight_mutex);
        if (conn.preflight && conn.preflight->max_batch_size > 0)
            limit = limit == 0 ? conn.preflight->max_batch_size : std::min(limit, conn.preflight->max_batch_size);
    }
    return limit == 0 ? default_group_records : limit;
}

}  // namespace

write_outcome classify_write(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const invalid_argument&) {
        return write_outcome::invalid;
    } catch (const log_unavailable&) {
        return write_outcome::log_unavailable;
    } catch (const outcome_unknown&) {
        return write_outcome::outcome_unknown;
    } catch (const server_rejected&) {
        return write_outcome::rejected;
    } catch (const no_instance_available&) {
        return write_outcome::no_instance;
    } catch (const quorum_not_reached&) {
        return write_outcome::quorum_not_reached;
    } catch (...) {
        return write_outcome::other_error;
    }
}

wal::entry logged_entry(wal::new_entry ne, const wal::appended& where, const std::string& collection, double now) {
    wal::entry e;
    e.lane_id = where.lane_id;
    e.position = where.position;
    e.idempotency_id = std::move(ne.idempotency_id);
    e.op = ne.op;
    e.payload = std::move(ne.payload);
    e.created_at = now;
    e.collection = collection;
    return e;
}

std::string new_entry_id() {
    thread_local std::mt19937_64 rng{std::random_device{}() ^
                                     (static_cast<std::uint64_t>(std::random_device{}()) << 32)};
    const std::uint64_t a = rng(), b = rng();
    // RFC 4122 version 4 layout.
    return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", static_cast<std::uint32_t>(a >> 32),
                       static_cast<std::uint32_t>((a >> 16) & 0xFFFF), static_cast<std::uint32_t>(a & 0x0FFF),
                       static_cast<std::uint32_t>(((b >> 48) & 0x3FFF) | 0x8000), b & 0xFFFFFFFFFFFFull);
}

std::shared_ptr<writer::lane_queue> writer::queue_for(const wal::lane_key& key) {
    std::lock_guard<std::mutex> lock(queues_mutex_);
    auto& q = queues_[wal::map_key(key)];
    if (!q) {
        q = std::make_shared<lane_queue>();
        q->turn.assign(ctx_.instances.size(), 0);
        q->done.resize(ctx_.instances.size());
    }
    return q;
}

std::shared_ptr<writer::queued_write> writer::record_write(const wal::lane_key& key, wal::op_kind op,
                                                           const record_set& records, const write_options& options) {
    validate_records(records, op == wal::op_kind::add      ? write_op::add
                              : op == wal::op_kind::upsert ? write_op::upsert
                                                           : write_op::update);
    validate_idempotency_key(options.idempotency_key);
    auto w = std::make_shared<queued_write>();
    w->ne.lane = key;
    w->ne.op = op;
    w->ne.payload = wal::encode_records(records);
    w->keyed = !options.idempotency_key.empty();
    w->ne.idempotency_id = w->keyed ? options.idempotency_key : new_entry_id();
    w->records = records.ids.size();
    return w;
}

std::shared_ptr<writer::queued_write> writer::delete_write(const wal::lane_key& key, const delete_options& selector,
                                                           const write_options& options) {
    validate_delete(selector);
    validate_idempotency_key(options.idempotency_key);
    auto w = std::make_shared<queued_write>();
    w->ne.lane = key;
    w->ne.op = wal::op_kind::delete_records;
    w->ne.payload = chroma::encode_delete(selector);
    w->keyed = !options.idempotency_key.empty();
    w->ne.idempotency_id = w->keyed ? options.idempotency_key : new_entry_id();
    w->records = std::max<std::size_t>(selector.ids.size(), 1);
    return w;
}

std::future<write_receipt> writer::submit_records(const wal::lane_key& key, wal::op_kind op, const record_set& records,
                                                  const write_options& options) {
    auto w = record_write(key, op, records, options);
    w->count = true;
    return enqueue(key, std::move(w), false);
}

std::future<write_receipt> writer::submit_delete(const wal::lane_key& key, const delete_options& selector,
                                                 const write_options& options) {
    if (selector.limit) {
        // Its records are chosen on an up-to-date instance before logging: done now.
        std::promise<write_receipt> done;
        try {
            write_receipt r = write_delete(key, selector, options);
            ctx_.metrics.count_write(r.queued ? write_outcome::queued : write_outcome::ok);
            done.set_value(std::move(r));
        } catch (const invalid_argument&) {
            throw;  // refused at the call, as the other asynchronous writes
        } catch (...) {
            ctx_.metrics.count_write(classify_write(std::current_exception()));
            done.set_exception(std::current_exception());
        }
        return done.get_future();
    }
    auto w = delete_write(key, selector, options);
    w->count = true;
    return enqueue(key, std::move(w), false);
}

std::future<write_receipt> writer::enqueue(const wal::lane_key& key, std::shared_ptr<queued_write> w, bool lead_here) {
    auto q = queue_for(key);
    std::future<write_receipt> answer = w->promise.get_future();
    const queued_write* own = w.get();
    {
        std::unique_lock<std::mutex> lock(q->m);
        const std::size_t window = std::max<std::size_t>(ctx_.config.max_in_flight_writes, 1);
        q->cv.wait(lock, [&] { return q->in_flight < window; });
        ++q->in_flight;
        w->seq = ++q->submitted;
        q->waiting.push_back(std::move(w));
        // The leader takes it; or the write outside the queue that waits starts one after it.
        if (q->appending || q->direct_pending > 0) return answer;
        q->appending = true;
    }
    if (lead_here) {
        lead(key, q, own);
    } else {
        pool_.run([this, key, q] { lead(key, q, nullptr); });
    }
    return answer;
}

std::vector<std::shared_ptr<writer::queued_write>> writer::take_group(lane_queue& q, std::size_t max_records,
                                                                      std::uint64_t upto) {
    // Writes with the caller's idempotency key go alone (a repeat is found by its key); others
    // join while the group stays within one request's records and bytes.
    std::vector<std::shared_ptr<queued_write>> group;
    std::size_t records = 0, bytes = 0;
    while (!q.waiting.empty() && q.waiting.front()->seq <= upto) {
        const auto& next = q.waiting.front();
        if (!group.empty() && (next->keyed || group.front()->keyed || records + next->records > max_records ||
                               bytes + next->ne.payload.size() > max_request_bytes))
            break;
        records += next->records;
        bytes += next->ne.payload.size();
        group.push_back(next);
        q.waiting.pop_front();
    }
    return group;
}

void writer::lead(const wal::lane_key& key, const std::shared_ptr<lane_queue>& q, const queued_write* own) {
    const std::size_t max_records = group_records(ctx_);
    for (;;) {
        std::vector<std::shared_ptr<queued_write>> group;
        {
            std::unique_lock<std::mutex> lock(q->m);
            q->cv.wait(lock, [&] { return q->applying < max_applying_groups || q->direct_pending > 0; });
            // Nothing left, or a write outside the queue waits for its turn (it appends what
            // was queued before it, then starts a leader again for the rest).
            if (q->waiting.empty() || q->direct_pending > 0) {
                q->appending = false;
                q->cv.notify_all();
                return;
            }
            group = take_group(*q, max_records, std::numeric_limits<std::uint64_t>::max());
        }
        const bool mine = std::any_of(group.begin(), group.end(), [&](const auto& w) { return w.get() == own; });
        std::function<void()> apply = append_group(key, q, std::move(group));
        if (!mine) {
            if (apply) pool_.run(std::move(apply));
            continue;
        }
        // The synchronous caller's write is appended: a pool thread leads what is left, and
        // this thread applies its group (it would wait for it anyway).
        {
            std::lock_guard<std::mutex> lock(q->m);
            if (q->waiting.empty() || q->direct_pending > 0) {
                q->appending = false;
                q->cv.notify_all();
            } else {
                pool_.run([this, key, q] { lead(key, q, nullptr); });
            }
        }
        if (apply) apply();
        return;
    }
}

void writer::answer(lane_queue& q, queued_write& w, write_receipt receipt, std::exception_ptr error) {
    if (w.count) {
        ctx_.metrics.count_write(error            ? classify_write(error)
                                 : receipt.queued ? write_outcome::queued
                                                  : write_outcome::ok);
    }
    if (error) {
        w.promise.set_exception(std::move(error));
    } else {
        w.promise.set_value(std::move(receipt));
    }
    std::lock_guard<std::mutex> lock(q.m);
    --q.in_flight;
    q.cv.notify_all();
}

std::function<void()> writer::append_group(const wal::lane_key& key, const std::shared_ptr<lane_queue>& q,
                                           std::vector<std::shared_ptr<queued_write>> group) {
    auto fail_all = [&](const std::exception_ptr& e) {
        for (auto& w : group) answer(*q, *w, {}, e);
    };
    try {
        refuse_if_other_log(ctx_);  // log_conflict: nothing logged
        if (group.front()->keyed) {
            // A retry: the first write's outcome (applied here as a group of its own).
            queued_write& w = *group.front();
            if (auto found = ctx_.store->find_entry(w.ne.idempotency_id)) {
                answer(*q, w, repeat(key, q, w.ne, *found), nullptr);
                return {};
            }
        }
    } catch (...) {
        fail_all(std::current_exception());
        return {};
    }
    std::vector<wal::new_entry> entries;
    entries.reserve(group.size());
    for (auto& w : group) entries.push_back(std::move(w->ne));
    std::vector<wal::appended> where;
    try {
        const auto started = std::chrono::steady_clock::now();
        where = ctx_.store->append(entries);  // log_unavailable: nothing logged, nothing applied
        ctx_.metrics.observe_append(std::chrono::steady_clock::now() - started);
    } catch (const outcome_unknown& e) {
        for (std::size_t i = 0; i < group.size(); ++i) {
            const wal::new_entry& ne = entries[i];
            answer(*q, *group[i], {},
                   std::make_exception_ptr(
                       outcome_unknown(fmt::format("{} (entry id {}): {}; retry with the same idempotency key",
                                                   describe_write(ne.op, key), ne.idempotency_id, e.what()),
                                       ne.idempotency_id)));
        }
        return {};
    } catch (const invalid_argument&) {
        // A duplicate id: another call with the same key got there first (a keyed write is alone).
        const std::exception_ptr refused = std::current_exception();
        try {
            if (group.front()->keyed) {
                if (auto found = ctx_.store->find_entry(entries.front().idempotency_id)) {
                    answer(*q, *group.front(), repeat(key, q, entries.front(), *found), nullptr);
                    return {};
                }
            }
        } catch (...) {
            fail_all(std::current_exception());
            return {};
        }
        fail_all(refused);
        return {};
    } catch (...) {
        fail_all(std::current_exception());
        return {};
    }
    std::vector<wal::entry> fresh;
    fresh.reserve(entries.size());
    const double now = now_epoch();
    for (std::size_t i = 0; i < entries.size(); ++i)
        fresh.push_back(logged_entry(std::move(entries[i]), where.at(i), key.collection, now));
    std::uint64_t number;
    {
        std::lock_guard<std::mutex> lock(q->m);
        number = q->next_group++;
        ++q->applying;
    }
    return [this, key, q, number, fresh = std::move(fresh), group = std::move(group)]() mutable {
        std::vector<outcome> out;
        try {
            out = apply_group(key, q, number, std::move(fresh), true);
        } catch (...) {
            out.assign(group.size(), outcome{{}, std::current_exception()});
        }
        for (std::size_t i = 0; i < group.size(); ++i) answer(*q, *group[i], std::move(out[i].receipt), out[i].error);
        // After the answers: the writers answered here may queue their next writes before the
        // leader wakes, and go in its next group.
        std::lock_guard<std::mutex> lock(q->m);
        --q->applying;
        q->cv.notify_all();
    };
}

void writer::begin_direct(const wal::lane_key& key, const std::shared_ptr<lane_queue>& q) {
    std::unique_lock<std::mutex> lock(q->m);
    ++q->direct_pending;  // a leader stops after its current group
    q->cv.notify_all();   // (one waiting for a group to finish applying stops now)
    const std::uint64_t mark = q->submitted;
    for (;;) {
        q->cv.wait(lock, [&] { return !q->appending; });
        if (q->waiting.empty() || q->waiting.front()->seq > mark) break;
        // Writes queued before this call are appended first, by this thread.
        q->appending = true;
        auto group = take_group(*q, group_records(ctx_), mark);
        lock.unlock();
        std::function<void()> apply = append_group(key, q, std::move(group));
        if (apply) pool_.run(std::move(apply));
        lock.lock();
        q->appending = false;
    }
    q->appending = true;
    --q->direct_pending;
}

std::uint64_t writer::end_direct(const wal::lane_key& key, const std::shared_ptr<lane_queue>& q, bool appended) {
    std::lock_guard<std::mutex> lock(q->m);
    const std::uint64_t number = appended ? q->next_group++ : 0;
    if (q->waiting.empty() || q->direct_pending > 0) {
        q->appending = false;
        q->cv.notify_all();
    } else {
        pool_.run([this, key, q] { lead(key, q, nullptr); });
    }
    return number;
}

}  // namespace chromawal::detail
