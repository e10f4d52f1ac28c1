// applier: see applier.hpp for what it owns, what it touches and its thread-safety.
#include "replication/applier.hpp"

#include "api/connection.hpp"
#include "chroma/protocol.hpp"
#include "wal/payload.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace chromawal::detail {

namespace {

using clock = std::chrono::steady_clock;

// A live write catches an instance up by at most this many entries itself; a longer backlog
// is the sync thread's work (the writer should not pay for an outage).
constexpr std::int64_t live_catch_up_limit = 64;
constexpr std::size_t read_batch_entries = 256;
constexpr std::size_t read_batch_bytes = 24u << 20;

bool is_record_op(wal::op_kind op) {
    return op == wal::op_kind::add || op == wal::op_kind::upsert || op == wal::op_kind::update;
}

const char* route(wal::op_kind op) {
    switch (op) {
        case wal::op_kind::add:
            return "add";
        case wal::op_kind::upsert:
            return "upsert";
        case wal::op_kind::update:
            return "update";
        default:
            return "";
    }
}

bool skipped_state(wal::entry_state s) { return s == wal::entry_state::rejected || s == wal::entry_state::abandoned; }

// The time left before `deadline`, for one request (0: no deadline, the configured timeout).
std::chrono::milliseconds remaining(clock::time_point deadline, const std::string& what) {
    if (deadline == clock::time_point::max()) return std::chrono::milliseconds(0);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) throw timeout_error(fmt::format("{}: out of time for this write", what), false);
    return left;
}

// The instance answered this entry with an error (any 4xx but 408/429, or a 5xx): a failing
// entry, not a failing instance. Retried with backoff, dead-lettered after max_attempts.
bool is_entry_failure(const error& e) {
    if (const auto* r = dynamic_cast<const server_rejected*>(&e)) return r->status() != 408 && r->status() != 429;
    return dynamic_cast<const server_error*>(&e) != nullptr;
}

// A rename the server refused because its new name is taken (chroma::is_name_taken). Every
// instance refuses it at the same point of the log (the lane that held the name is applied
// before it everywhere: docs/design.md, "Renames"), so it is a rejection of the entry, not an
// entry that fails on one instance.
class rename_refused : public server_error {
public:
    explicit rename_refused(const server_error& e) : server_error(e) {}
};

// The name an entry addressed (entries of logs written before names were stored per entry
// carry it through the lane).
const std::string& name_of(const wal::entry& e, const wal::lane_key& key) {
    return e.collection.empty() ? key.collection : e.collection;
}

}  // namespace

static_assert(static_cast<std::size_t>(apply_outcome::needs_repair) + 1 == apply_outcome_count,
              "ops/metrics.cpp names every apply_outcome, in order");

apply_result applier::apply_through(instance_state& inst, std::int64_t lane_id, const wal::lane_key& key,
                                    std::int64_t target, const fresh_entries* fresh, bool live,
                                    clock::time_point deadline) {
    const auto started = clock::now();
    apply_result r = apply_locked(inst, lane_id, key, target, fresh, live, deadline);
    std::size_t index = 0;
    while (index < ctx_.instances.size() && ctx_.instances[index].get() != &inst) ++index;
    ctx_.metrics.count_apply(index, static_cast<std::size_t>(r.outcome), clock::now() - started);
    return r;
}

// Brings `inst` up to `target` in one lane, holding the lane lock (in-process and in the log).
apply_result applier::apply_locked(instance_state& inst, std::int64_t lane_id, const wal::lane_key& key,
                                   std::int64_t target, const fresh_entries* fresh, bool live,
                                   clock::time_point deadline) {
    apply_result result;
    // The fresh entries' positions (none: 0, -1).
    const std::int64_t fresh_first = fresh && !fresh->entries().empty() ? fresh->entries().front().position : 0;
    const std::int64_t fresh_last = fresh && !fresh->entries().empty() ? fresh->entries().back().position : -1;
    // After a merged request was rejected, each entry goes alone, so that an invalid one fails
    // alone (its neighbours are other callers' writes).
    bool merge = true;
    // A live write may trust what this process knows was applied; the sync thread works from the
    // log, which may lag that knowledge (an advance() that failed), and must record it.
    if (live && inst.known_applied(lane_id) >= target) {
        result.outcome = apply_outcome::applied;
        return result;
    }
    // How long a lock may be waited for: what is left of the deadline (at least 1 ms), or one
    // request timeout without one.
    auto lock_wait = [&] {
        return deadline == clock::time_point::max()
                   ? inst.conn().options.request_timeout
                   : std::max(std::chrono::milliseconds(1),
                              std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()));
    };
    auto mutex = inst.lane_mutex(lane_id);
    std::unique_lock<std::timed_mutex> local(*mutex, std::defer_lock);
    if (!local.try_lock_for(lock_wait())) {
        result.outcome = apply_outcome::busy;
        result.error = fmt::format("{}: lane busy", inst.name());
        return result;
    }
    if (live && inst.known_applied(lane_id) >= target) {
        result.outcome = apply_outcome::applied;
        return result;
    }
    // The sync thread saw the lane behind in a read that a live write of this process overtook
    // (its advance committed after the read): nothing to do, and no lane lock to take in the log.
    // Only a position recorded in the log counts (one whose advance failed is recorded under the
    // lock below).
    if (!live && inst.recorded_applied(lane_id) >= target) {
        result.outcome = apply_outcome::applied;
        return result;
    }
    std::unique_ptr<wal::lane_lock> lock;
    try {
        lock = ctx_.store->lock_lane(inst.name(), lane_id, lock_wait());  // what is left after the first wait
    } catch (const log_unavailable& e) {
        result.error = e.what();
        return result;
    }
    if (!lock) {
        result.outcome = apply_outcome::busy;
        result.error = fmt::format("{}: lane locked by another process", inst.name());
        return result;
    }
    try {
        std::int64_t applied = lock->applied();
        if (const std::int64_t known = inst.known_applied(lane_id); known > applied) {
            // Recorded late: this process applied up to `known` but could not record it then.
            lock->advance(known);
            applied = known;
        }
        inst.set_known_applied(lane_id, applied);
        if (applied < lock->pruned_through()) {
            // Entries it never applied are gone: replaying the rest would build on a wrong base.
            inst.set_needs_repair(key.collection, true);
            result.outcome = apply_outcome::needs_repair;
            result.error = fmt::format(
                "{}: missed entries of collection '{}' that retention pruned (up to position "
                "{}); it needs a repair",
                inst.name(), key.collection, lock->pruned_through());
            return result;
        }
        if (applied < target && !lock->start_ready()) {
            // The lane starts after a rename in another lane that this instance has not applied.
            result.outcome = apply_outcome::waiting;
            result.error =
                fmt::format("{}: collection '{}' waits for a rename to be applied first", inst.name(), key.collection);
            return result;
        }
        // The backlog before the write's own entries (a group may hold many).
        const std::int64_t backlog = (fresh_last >= fresh_first ? std::min(target, fresh_first - 1) : target) - applied;
        if (live && backlog > live_catch_up_limit) {
            result.outcome = apply_outcome::behind;
            result.error = fmt::format("{}: {} entries behind; left to the sync thread", inst.name(), backlog);
            return result;
        }
        while (applied < target) {
            std::vector<wal::entry> batch;
            if (applied >= fresh_first - 1 && applied < fresh_last) {
                const auto& all = fresh->entries();
                batch.assign(all.begin() + static_cast<std::ptrdiff_t>(applied - fresh_first + 1), all.end());
            } else {
                batch = lock->read(read_batch_entries, read_batch_bytes);
            }
            if (batch.empty()) break;
            // Stop before an entry whose dependency (a rename in another lane) this instance
            // has not applied yet.
            const auto unready = std::find_if(batch.begin(), batch.end(), [](const wal::entry& e) { return !e.ready; });
            if (unready == batch.begin()) {
                result.outcome = apply_outcome::waiting;
                result.error = fmt::format("{}: entry {} of collection '{}' waits for another lane to be applied first",
                                           inst.name(), unready->position, name_of(*unready, key));
                return result;
            }
            const bool stopped_early = unready != batch.end();
            batch.erase(unready, batch.end());
            std::size_t done = 0;
            while (done < batch.size() && batch[done].position <= target) {
                if (batch[done].op == wal::op_kind::delete_database && !skipped_state(batch[done].state) &&
                    !database_lanes_applied(inst, key)) {
                    result.outcome = apply_outcome::waiting;
                    result.stopped_at = batch[done].position;
                    result.error = fmt::format("{}: deleting database '{}' waits for its collections' entries",
                                               inst.name(), key.database);
                    return result;
                }
                std::vector<wal::entry> rest(batch.begin() + static_cast<std::ptrdiff_t>(done), batch.end());
                std::size_t used;
                const auto started = clock::now();
                std::optional<std::size_t> deleted;  // a delete's count, as the server answered it
                const bool in_fresh = rest.front().position >= fresh_first && rest.front().position <= fresh_last;
                result.stopped_at = rest.front().position;  // until it is applied
                try {
                    used = apply_front(inst, key, rest, deadline, &deleted, merge, in_fresh ? fresh : nullptr);
                } catch (const rename_refused& e) {
                    const wal::entry& bad = rest.front();
                    if (live && bad.position == target) {
                        result.stopped_at = bad.position;
                        // The write's own rename: the writer decides (rejected when no instance applied it).
                        result.outcome = apply_outcome::rejected;
                        result.error = e.what();
                        result.status = e.status();
                        result.error_name = e.error_name();
                        result.server_message = e.server_message();
                        result.trace_id = e.trace_id();
                        return result;
                    }
                    // An older entry, or the sync thread: rejected for every instance and stepped over, as the
                    // writer decides when it sees the refusal; unless another instance recorded applying it, which
                    // only a change outside the log can cause: then this instance differs (a dead letter, at once,
                    // since the refusal is no failure that a retry could change).
                    bool applied_elsewhere = false;
                    for (const auto& other : ctx_.instances) {
                        if (other.get() == &inst) continue;
                        for (const auto& l : ctx_.store->all_lanes(other->name()))
                            if (l.lane_id == bad.lane_id && l.applied >= bad.position) applied_elsewhere = true;
                    }
                    if (!applied_elsewhere) {
                        ctx_.store->set_state(bad.lane_id, bad.position, wal::entry_state::rejected, e.what());
                    } else {
                        ctx_.store->add_dead_letter(inst.name(), bad.lane_id, bad.position, e.what());
                        ctx_.store->set_state(bad.lane_id, bad.position, wal::entry_state::dead, e.what());
                        ctx_.emit(event::kind::entry_dead_lettered, inst.name(),
                                  fmt::format("entry {} of '{}' dead-lettered: {}", bad.position, name_of(bad, key),
                                              e.what()));
                    }
                    used = 1;
                } catch (const error& e) {
                    if (!is_entry_failure(e)) throw;
                    const wal::entry& bad = rest.front();
                    const auto* rejected = dynamic_cast<const server_rejected*>(&e);
                    if (rejected != nullptr && merge && rest.size() > 1 && is_record_op(bad.op)) {
                        // Perhaps a merged request: the front entry goes again alone (a rejected
                        // request applied nothing), then each following one.
                        merge = false;
                        continue;
                    }
                    if (live) {
                        if (rejected == nullptr) {
                            // A 5xx: the entry stays pending for the sync thread; the instance is
                            // not marked down for it (heartbeats judge that). It may have applied
                            // part of it: never abandoned.
                            result.outcome = apply_outcome::failed;
                            result.error = e.what();
                            result.maybe_applied = true;
                            return result;
                        }
                        // The caller decides (rejected only if no instance applied it).
                        result.outcome = apply_outcome::rejected;
                        result.error = e.what();
                        result.status = rejected->status();
                        result.error_name = rejected->error_name();
                        result.server_message = rejected->server_message();
                        result.trace_id = rejected->trace_id();
                        return result;
                    }
                    const int attempts = ctx_.store->record_failure(bad.lane_id, bad.position, e.what());
                    if (attempts < ctx_.config.max_attempts) {
                        // This lane waits (with backoff) on this instance; its other lanes go on.
                        result.outcome = apply_outcome::entry_failed;
                        result.error = e.what();
                        result.status = rejected != nullptr ? rejected->status() : 0;
                        return result;
                    }
                    // Keeps failing here: step over it, visibly, instead of blocking the lane.
                    ctx_.store->add_dead_letter(inst.name(), bad.lane_id, bad.position, e.what());
                    ctx_.store->set_state(bad.lane_id, bad.position, wal::entry_state::dead, e.what());
                    ctx_.emit(event::kind::entry_dead_lettered, inst.name(),
                              fmt::format("entry {} of '{}' dead-lettered after {} attempts: {}", bad.position,
                                          name_of(bad, key), attempts, e.what()));
                    used = 1;
                }
                inst.report_success(std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started),
                                    false);
                const std::int64_t last = rest[used - 1].position;
                try {
                    // Durable before the next request: at most one request re-applied. The last
                    // advance of this pass also lets the lane lock go (one round trip; the lock
                    // is not used after it: `last` reaches the target, so both loops end).
                    if (last >= target) {
                        lock->advance_and_release(last);
                    } else {
                        lock->advance(last);
                    }
                } catch (const log_unavailable& e) {
                    // The instance did apply the request; only its record is missing, so it will be
                    // re-applied once (harmless). Stop here: a second unrecorded request would not be.
                    // The sync thread records it later (see "recorded late" above).
                    inst.set_known_applied(lane_id, last, false);
                    result.outcome = last >= target ? apply_outcome::applied : apply_outcome::failed;
                    result.error = e.what();
                    return result;
                }
                applied = last;
                inst.set_known_applied(lane_id, applied);
                if (deleted && in_fresh) result.deleted.emplace_back(rest.front().position, *deleted);
                done += used;
            }
            if (stopped_early && applied < target) {
                result.outcome = apply_outcome::waiting;
                result.error = fmt::format("{}: collection '{}' waits for another lane to be applied first",
                                           inst.name(), key.collection);
                return result;
            }
            if (batch.back().position >= target || applied >= target) break;
        }
        result.outcome = applied >= target ? apply_outcome::applied : apply_outcome::failed;
        if (result.outcome == apply_outcome::applied) result.stopped_at = 0;
        return result;
    } catch (const log_unavailable& e) {
        result.error = e.what();
        return result;
    } catch (const server_rejected& e) {
        // 408 or 429: the instance is busy, not the entry wrong; back off, do not mark it down.
        result.error = e.what();
        result.status = e.status();
        return result;
    } catch (const connection_error& e) {
        // No answer (refused, reset, timed out): the instance is unwell. The request may have
        // reached it, unless it certainly did not.
        result.error = e.what();
        result.maybe_applied = e.request_sent();
        if (inst.report_failure(e.what())) ctx_.emit(event::kind::instance_down, inst.name(), e.what());
        return result;
    } catch (const error& e) {
        // Anything else (an answer that could not be read): stop this instance's pass. The
        // request may have been applied.
        result.error = e.what();
        result.maybe_applied = true;
        return result;
    }
}

applier::replay_outcome applier::replay(instance_state& inst, const wal::lane_key& key, const wal::entry& e,
                                        std::string& message) {
    // The same locks as apply_through: a sync pass or a write applying this lane to this
    // instance must not interleave with the replay (an older entry re-applied in the middle of
    // a merged request could undo a later write to the same id).
    const std::chrono::milliseconds wait = inst.conn().options.request_timeout;
    auto mutex = inst.lane_mutex(e.lane_id);
    std::unique_lock<std::timed_mutex> local(*mutex, std::defer_lock);
    if (!local.try_lock_for(wait)) {
        message = fmt::format("{}: lane busy", inst.name());
        return replay_outcome::busy;
    }
    std::unique_ptr<wal::lane_lock> lock = ctx_.store->lock_lane(inst.name(), e.lane_id, wait);
    if (!lock) {
        message = fmt::format("{}: lane locked by another process", inst.name());
        return replay_outcome::busy;
    }
    std::vector<wal::entry> one{e};
    one.front().state = wal::entry_state::pending;  // it is dead: apply_front would step over it
    const auto started = clock::now();
    try {
        (void)apply_front(inst, key, one, clock::time_point::max());
    } catch (const log_unavailable&) {
        throw;
    } catch (const error& failure) {
        message = failure.what();
        if (const auto* c = dynamic_cast<const connection_error*>(&failure)) {
            if (inst.report_failure(c->what())) ctx_.emit(event::kind::instance_down, inst.name(), c->what());
        }
        // Still a dead letter, now with this error (and when it happened).
        ctx_.store->add_dead_letter(inst.name(), e.lane_id, e.position, message);
        return replay_outcome::failed;
    }
    inst.report_success(std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started), false);
    ctx_.store->remove_dead_letter(inst.name(), e.lane_id, e.position);
    return replay_outcome::replayed;
}

std::size_t applier::apply_front(instance_state& inst, const wal::lane_key& key, const std::vector<wal::entry>& batch,
                                 clock::time_point deadline, std::optional<std::size_t>* deleted, bool merge,
                                 const fresh_entries* fresh) {
    // Entries that are never applied are stepped over.
    if (skipped_state(batch.front().state)) return 1;
    const wal::entry& first = batch.front();
    const std::string& name = name_of(first, key);
    if (!is_record_op(first.op)) {
        apply_single(inst, key, first, deadline, deleted);
        return 1;
    }
    // Merge following entries of the same operation with disjoint ids into one request; the
    // request never holds two operations on one id, so re-applying it is harmless.
    // A request holds at most the server's batch size in records and max_request_bytes (the
    // single-server client's limit, well below Chroma's 40 MiB body limit) in estimated bytes.
    // Within the write's deadline too (the first record write to an instance fetches it).
    chroma_connection& conn = inst.conn(key);
    const preflight_info pf = conn.get_preflight(remaining(deadline, "pre-flight checks of " + inst.name()));
    const std::size_t max_records = pf.max_batch_size ? pf.max_batch_size : 1000;
    const bool base64 = conn.options.use_base64 && pf.supports_base64_encoding;
    const wal::lane_key scoped{key.tenant, key.database, name};
    const std::string what = fmt::format("{} to collection '{}' on {}", route(first.op), name, inst.name());
    auto send = [&](const std::string& body) {
        for (int attempt = 0;; ++attempt) {
            chroma_collection c = inst.resolve(scoped);
            try {
                conn.call(method::post, conn.collection_url(c.id()) + "/" + route(first.op), body, what,
                          remaining(deadline, what));
                return;
            } catch (const not_found&) {
                inst.forget(scoped);  // the UUID may be stale (deleted and re-created)
                if (attempt > 0) throw;
            }
        }
    };
    // Another instance's applier may have built this request already (same limits, encoding).
    const fresh_entries::request_key cache_key{first.position, merge ? max_records : 0, base64};
    if (fresh) {
        if (auto built = fresh->find(cache_key, batch.size())) {
            send(*built->body);
            return built->used;
        }
    }
    std::vector<wal::records_payload> parts;
    parts.push_back(wal::decode_records(first.payload));
    std::size_t records = parts.back().ids.size();
    std::size_t bytes = wal::payload_bytes(parts.back(), base64);
    std::size_t used = 1;
    while (merge && used < batch.size() && batch[used].op == first.op && !skipped_state(batch[used].state) &&
           batch[used].ready && name_of(batch[used], key) == name) {
        wal::records_payload next = wal::decode_records(batch[used].payload);
        const std::size_t next_bytes = wal::payload_bytes(next, base64);
        if (records + next.ids.size() > max_records || bytes + next_bytes > max_request_bytes) break;
        bool ok = true;
        for (const auto& p : parts) ok = ok && wal::can_merge(p, next);
        if (!ok) break;
        records += next.ids.size();
        bytes += next_bytes;
        parts.push_back(std::move(next));
        ++used;
    }
    // A single entry larger than one request (by records or by bytes) goes in several requests;
    // its ids are distinct, so re-applying a prefix of them is harmless too.
    if (parts.size() == 1 && (records > max_records || bytes > max_request_bytes)) {
        std::vector<wal::records_payload> chunks =
            wal::split_records(parts.front(), max_records, max_request_bytes, base64);
        for (std::size_t i = 0; i < chunks.size(); ++i) {
            std::string body;
            wal::write_records_body(body, {&chunks[i]}, base64);
            try {
                send(body);
            } catch (const connection_error& e) {
                // Earlier parts are applied: the entry is, in part, whatever became of this one.
                if (i == 0 || e.request_sent()) throw;
                throw connection_error(
                    fmt::format("{} (after {} of its {} parts were applied)", e.what(), i, chunks.size()), true);
            }
        }
        return used;
    }
    std::vector<const wal::records_payload*> ptrs;
    ptrs.reserve(parts.size());
    for (const auto& p : parts) ptrs.push_back(&p);
    auto body = std::make_shared<std::string>();
    wal::write_records_body(*body, ptrs, base64);
    if (fresh) fresh->keep(cache_key, fresh_entries::request{used, body});
    send(*body);
    return used;
}

void applier::apply_single(instance_state& inst, const wal::lane_key& key, const wal::entry& e,
                           clock::time_point deadline, std::optional<std::size_t>* deleted) {
    chroma_connection& conn = inst.conn(key);
    const std::string& name = name_of(e, key);
    const wal::lane_key scoped{key.tenant, key.database, name};
    switch (e.op) {
        case wal::op_kind::create_tenant:
        case wal::op_kind::create_database:
        case wal::op_kind::delete_database:
            apply_database_op(inst, key, e, deadline);
            return;
        default:
            break;
    }
    const std::string what = fmt::format("{} of collection '{}' on {}", wal::to_string(e.op), name, inst.name());
    switch (e.op) {
        case wal::op_kind::create_collection: {
            auto r = conn.call(method::post, conn.collections_base, e.payload, what, remaining(deadline, what));
            inst.remember(scoped, chroma_connection::decode([&] { return chroma::decode_collection(r.body); }, what));
            return;
        }
        case wal::op_kind::delete_collection:
            inst.forget(scoped);
            try {
                conn.call(method::del, conn.collection_url(name), {}, what, remaining(deadline, what));
            } catch (const not_found&) {
                // Already gone: deleting is idempotent.
            }
            return;
        case wal::op_kind::modify_collection:
        case wal::op_kind::delete_records: {
            for (int attempt = 0;; ++attempt) {
                std::string id;
                try {
                    id = inst.resolve(scoped).id();
                } catch (const not_found&) {
                    if (e.op != wal::op_kind::modify_collection) throw;
                    // Re-applied rename: the collection already carries its new name.
                    if (const auto new_name = chroma::decode_modify_new_name(e.payload)) {
                        (void)inst.resolve(wal::lane_key{key.tenant, key.database, *new_name});
                        return;
                    }
                    throw;
                }
                try {
                    if (e.op == wal::op_kind::modify_collection) {
                        conn.call(method::put, conn.collection_url(id), e.payload, what, remaining(deadline, what));
                        inst.forget(scoped);
                    } else {
                        auto r = conn.call(method::post, conn.collection_url(id) + "/delete", e.payload, what,
                                           remaining(deadline, what));
                        if (deleted)
                            *deleted = chroma_connection::decode([&] { return chroma::decode_deleted(r.body); }, what);
                    }
                    return;
                } catch (const not_found&) {
                    inst.forget(scoped);
                    if (attempt > 0) throw;
                } catch (const server_error& refusal) {
                    if (e.op == wal::op_kind::modify_collection &&
                        chroma::is_name_taken(refusal.status(), refusal.server_message()))
                        throw rename_refused(refusal);
                    throw;
                }
            }
        }
        default:
            throw error(fmt::format("{}: unexpected operation in the log", what));
    }
}

// Tenants and databases: creating one that exists, or deleting one that is gone, is applied
// (replays are harmless).
void applier::apply_database_op(instance_state& inst, const wal::lane_key& key, const wal::entry& e,
                                clock::time_point deadline) {
    chroma_connection& conn = inst.conn(key);
    const bool tenant = e.op == wal::op_kind::create_tenant;
    const std::string& name = tenant ? key.tenant : key.database;
    const std::string what =
        fmt::format("{} '{}'{} on {}", wal::to_string(e.op), name,
                    tenant ? std::string() : fmt::format(" of tenant '{}'", key.tenant), inst.name());
    switch (e.op) {
        case wal::op_kind::create_tenant:
            try {
                conn.call(method::post, conn.base + "/tenants", chroma::encode_name(name), what,
                          remaining(deadline, what));
            } catch (const already_exists&) {
            }
            return;
        case wal::op_kind::create_database:
            try {
                conn.call(method::post, conn.tenant_base + "/databases", chroma::encode_name(name), what,
                          remaining(deadline, what));
            } catch (const already_exists&) {
            }
            return;
        default:
            try {
                conn.call(method::del, conn.tenant_base + "/databases/" + http::encode_path_segment(name), {}, what,
                          remaining(deadline, what));
            } catch (const not_found&) {
            }
            return;
    }
}

// A database is deleted on an instance only after every entry logged for its collections before
// the deletion is applied there (they were appended before it; see docs/design.md, "Tenants and
// databases").
bool applier::database_lanes_applied(instance_state& inst, const wal::lane_key& key) {
    for (const auto& l : ctx_.store->lanes_behind(inst.name())) {
        if (l.key.tenant == key.tenant && l.key.database == key.database && wal::is_collection_lane(l.key) &&
            !l.needs_repair())
            return false;
    }
    return true;
}

}  // namespace chromawal::detail
