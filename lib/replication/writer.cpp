// writer: see writer.hpp for what it owns, what it touches and its thread-safety.
#include "replication/writer.hpp"

#include "api/validate.hpp"
#include "chroma/protocol.hpp"
#include "replication/log_identity.hpp"
#include "wal/payload.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

namespace chromawal::detail {

namespace {

using clock = std::chrono::steady_clock;

std::string new_entry_id() {
    thread_local std::mt19937_64 rng{std::random_device{}() ^
                                     (static_cast<std::uint64_t>(std::random_device{}()) << 32)};
    const std::uint64_t a = rng(), b = rng();
    // RFC 4122 version 4 layout.
    return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", static_cast<std::uint32_t>(a >> 32),
                       static_cast<std::uint32_t>((a >> 16) & 0xFFFF), static_cast<std::uint32_t>(a & 0x0FFF),
                       static_cast<std::uint32_t>(((b >> 48) & 0x3FFF) | 0x8000), b & 0xFFFFFFFFFFFFull);
}

// "add on collection 'c'", "create_database 'd'" (for messages).
std::string describe(wal::op_kind op, const wal::lane_key& key) {
    if (wal::is_collection_lane(key)) return fmt::format("{} on collection '{}'", wal::to_string(op), key.collection);
    if (key.database.empty()) return fmt::format("{} '{}'", wal::to_string(op), key.tenant);
    return fmt::format("{} '{}' (tenant '{}')", wal::to_string(op), key.database, key.tenant);
}

// A rename onto a name that a collection holds is refused by the servers (chroma::is_name_taken),
// in log order on every instance: refused here, before anything is logged, with the server's
// own error, when an instance that has applied the whole log holds a collection of that name.
// When none can tell (every instance behind or away), the rename is logged, and the servers'
// refusal rejects it (applier: rename_refused).
void refuse_rename_onto_existing(context& ctx, const wal::lane_key& key, const std::string& new_name) {
    const std::string& collection = key.collection;
    for (auto& candidate : ctx.instances) {
        instance_state& inst = *candidate;
        if (!writable(ctx, inst) || (ctx.configured(key) && inst.needs_repair(new_name))) continue;
        try {
            if (!ctx.store->lanes_behind(inst.name()).empty()) continue;
            (void)inst.client(key).get_collection(new_name);
        } catch (const not_found&) {
            return;  // the name is free where the whole log is applied
        } catch (const error&) {
            continue;  // this instance (or the log) cannot tell
        }
        throw server_error(500, std::string(chroma::name_taken_error_name), std::string(chroma::name_taken_message),
                           fmt::format("rename of collection '{}' to '{}' (a collection of that name exists on {}; "
                                       "nothing was logged)",
                                       collection, new_name, inst.name()));
    }
}

}  // namespace

writer::~writer() {
    std::lock_guard<std::mutex> lock(background_mutex_);
    // Each is bounded by its write's request timeout.
    for (auto& f : background_) f.wait();
}

void writer::keep_in_background(std::vector<std::future<void>> appliers) {
    std::lock_guard<std::mutex> lock(background_mutex_);
    background_.erase(std::remove_if(background_.begin(), background_.end(),
                                     [](const std::future<void>& f) {
                                         return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
                                     }),
                      background_.end());
    for (auto& f : appliers) background_.push_back(std::move(f));
}

write_receipt writer::write_records(const wal::lane_key& key, wal::op_kind op, const record_set& records,
                                    const write_options& options) {
    validate_records(records, op == wal::op_kind::add      ? write_op::add
                              : op == wal::op_kind::upsert ? write_op::upsert
                                                           : write_op::update);
    validate_idempotency_key(options.idempotency_key);
    return write_entry(key, op, wal::encode_records(records), options.idempotency_key);
}

write_receipt writer::write_delete(const wal::lane_key& key, const delete_options& selector,
                                   const write_options& options) {
    validate_delete(selector);
    validate_idempotency_key(options.idempotency_key);
    if (selector.limit) {
        if (!options.idempotency_key.empty()) {
            // A retry must not pick other records: the first write's choice stands.
            if (auto found = ctx_.store->find_entry(options.idempotency_key)) {
                wal::new_entry ne;
                ne.lane = key;
                ne.idempotency_id = options.idempotency_key;
                ne.op = wal::op_kind::delete_records;
                ne.payload = found->e.payload;  // compared by lane and operation only
                return repeat(key, ne, *found);
            }
        }
        const delete_options chosen = choose_limited_delete(key, selector);
        if (chosen.ids.empty()) {
            write_receipt none;  // nothing matches: nothing to log, nothing deleted
            none.deleted = 0;
            return none;
        }
        return write_entry(key, wal::op_kind::delete_records, chroma::encode_delete(chosen), options.idempotency_key);
    }
    return write_entry(key, wal::op_kind::delete_records, chroma::encode_delete(selector), options.idempotency_key);
}

// A delete capped by `limit` leaves the server to pick which matches go, and each instance
// (and each replay) would pick its own. So the matches are picked once, on an instance that
// has applied everything logged for the collection, and the delete is logged by those ids,
// the filters kept (a record changed since then so that it no longer matches stays everywhere).
delete_options writer::choose_limited_delete(const wal::lane_key& key, const delete_options& selector) {
    const std::string& collection = key.collection;
    const std::int64_t lane = ctx_.store->lane_id(key);  // throws log_unavailable: nothing logged
    std::string why;
    for (auto& candidate : ctx_.instances) {
        instance_state& inst = *candidate;
        if (!writable(ctx_, inst) || (ctx_.configured(key) && inst.needs_repair(collection))) continue;
        try {
            for (const auto& behind : ctx_.store->lanes_behind(inst.name())) {
                if (behind.lane_id != lane) continue;
                const auto r = applier_.apply_through(inst, lane, key, behind.head, nullptr, false,
                                                      clock::now() + inst.conn().options.request_timeout);
                if (r.outcome != apply_outcome::applied) throw error(r.error.empty() ? "lane busy" : r.error);
            }
            get_options g;
            if (!selector.ids.empty()) g.ids = selector.ids;  // an empty list would match nothing
            g.where = selector.where;
            g.where_document = selector.where_document;
            g.limit = selector.limit;
            g.include = include_fields::none;
            delete_options chosen;
            chosen.ids = inst.resolve(key).get(g).ids;
            chosen.where = selector.where;
            chosen.where_document = selector.where_document;
            return chosen;
        } catch (const not_found&) {
            throw;
        } catch (const server_rejected&) {
            throw;  // the filter is invalid: every instance would say so
        } catch (const log_unavailable&) {
            throw;
        } catch (const error& e) {
            why += fmt::format("{}{}: {}", why.empty() ? "" : "; ", inst.name(), e.what());
        }
    }
    if (why.empty()) why = "every instance is down or needs a repair";
    throw no_instance_available(fmt::format("delete with a limit on collection '{}': no up-to-date instance could "
                                            "choose the records to delete ({}); nothing was logged",
                                            collection, why),
                                false, 0);
}

write_receipt writer::write_create(const wal::lane_key& key, const collection_options& options) {
    const std::string& collection = key.collection;
    validate_collection_name(collection);
    validate_create_options(options);
    // Replayed as get_or_create so that applying it twice is harmless.
    return write_entry(key, wal::op_kind::create_collection,
                       chroma::encode_create_collection(collection, options, true));
}

write_receipt writer::write_database_op(const wal::lane_key& key, wal::op_kind op) {
    return write_entry(key, op, std::string());
}

write_receipt writer::write_delete_collection(const wal::lane_key& key) {
    return write_entry(key, wal::op_kind::delete_collection, std::string());
}

write_receipt writer::write_modify(const wal::lane_key& key, const modify_options& changes) {
    const std::string& collection = key.collection;
    if (changes.name) validate_collection_name(*changes.name);
    if (changes.metadata) validate_collection_metadata(*changes.metadata, "modify");
    // A rename takes the collection's lane with it: later writes to the new name follow it in
    // that lane, and a collection created under the old name gets a lane of its own.
    const std::string rename_to = changes.name && *changes.name != collection ? *changes.name : std::string();
    if (!rename_to.empty()) refuse_rename_onto_existing(ctx_, key, rename_to);
    return write_entry(key, wal::op_kind::modify_collection, chroma::encode_modify(changes), {}, rename_to);
}

write_receipt writer::write_entry(const wal::lane_key& key, wal::op_kind op, std::string payload,
                                  const std::string& idempotency_key, const std::string& rename_to) {
    refuse_if_other_log(ctx_);  // log_conflict: nothing logged
    const std::string& collection = key.collection;
    wal::new_entry ne;
    ne.lane = key;
    ne.idempotency_id = idempotency_key.empty() ? new_entry_id() : idempotency_key;
    ne.op = op;
    ne.payload = std::move(payload);
    ne.rename_to = rename_to;
    if (!idempotency_key.empty()) {
        if (auto found = ctx_.store->find_entry(idempotency_key)) return repeat(key, ne, *found);
    }
    std::vector<wal::appended> where;
    try {
        const auto started = std::chrono::steady_clock::now();
        where = ctx_.store->append({ne});  // log_unavailable: nothing logged, nothing applied
        ctx_.metrics.observe_append(std::chrono::steady_clock::now() - started);
    } catch (const outcome_unknown& e) {
        throw outcome_unknown(fmt::format("{} (entry id {}): {}; retry with the same idempotency key",
                                          describe(op, key), ne.idempotency_id, e.what()),
                              ne.idempotency_id);
    } catch (const invalid_argument&) {
        // A duplicate id: another call with the same key got there first.
        if (!idempotency_key.empty()) {
            if (auto found = ctx_.store->find_entry(idempotency_key)) return repeat(key, ne, *found);
        }
        throw;
    }

    wal::entry fresh;
    fresh.lane_id = where.at(0).lane_id;
    fresh.position = where.at(0).position;
    fresh.idempotency_id = ne.idempotency_id;
    fresh.op = op;
    fresh.payload = std::move(ne.payload);
    fresh.created_at = now_epoch();
    fresh.collection = collection;
    // A rename may depend on another lane (one that held the new name): only the log knows, so
    // its appliers read it back instead of trusting this copy.
    return apply_logged(ne.lane, fresh, rename_to.empty());
}

write_receipt writer::repeat(const wal::lane_key& key, const wal::new_entry& ne, const wal::found_entry& found) {
    const std::string& collection = key.collection;
    const wal::entry& e = found.e;
    // The entry keeps the name it addressed (its lane may have been renamed since).
    if (found.key.tenant != ne.lane.tenant || found.key.database != ne.lane.database ||
        e.collection != ne.lane.collection || e.op != ne.op || e.payload != ne.payload) {
        throw invalid_argument(fmt::format(
            "idempotency key '{}' was already used for a different write ({} on collection '{}', at position {}); "
            "nothing was logged",
            ne.idempotency_id, wal::to_string(e.op), e.collection, e.position));
    }
    const std::string what = fmt::format("{} on collection '{}' (idempotency key '{}', logged at position {})",
                                         wal::to_string(e.op), collection, ne.idempotency_id, e.position);
    if (e.state == wal::entry_state::rejected)
        throw write_rejected(400, {}, e.last_error, what + ": the first write with this key was rejected");
    if (e.state == wal::entry_state::abandoned) {
        throw no_instance_available(what +
                                        ": the first write with this key reached no instance and was abandoned; "
                                        "it will not be applied (write it again with a new key)",
                                    false, e.position);
    }
    return apply_logged(wal::lane_key{found.key.tenant, found.key.database, collection}, e, e.after_lane == 0);
}

write_receipt writer::apply_logged(const wal::lane_key& key, const wal::entry& fresh, bool trust_copy) {
    const wal::op_kind op = fresh.op;
    write_receipt receipt;
    receipt.position = fresh.position;
    receipt.entry_id = fresh.idempotency_id;

    // Apply to every healthy instance in parallel. By default the write waits for all of them
    // (the first runs on this thread); with ack_after_quorum it returns once write_quorum have
    // applied it and the others finish in the background (see keep_in_background).
    std::vector<instance_state*> targets;
    for (auto& i : ctx_.instances) {
        if (writable(ctx_, *i)) targets.push_back(i.get());
    }
    const bool early = ctx_.config.ack_after_quorum && ctx_.config.write_quorum < targets.size();
    const auto started = clock::now();
    auto deadline_for = [started](instance_state* i) { return started + i->conn().options.request_timeout; };

    // What the appliers report; shared with them, since with `early` some outlive this call.
    struct fan_out {
        std::mutex m;
        std::condition_variable cv;
        std::vector<apply_result> results;
        std::vector<bool> finished;
        std::size_t done = 0, applied = 0;
        bool answered = false;  // the caller has its receipt: an applier that fails wakes the sync
    };
    auto state = std::make_shared<fan_out>();
    state->results.resize(targets.size());
    state->finished.resize(targets.size());
    // A background applier needs its own copy of the entry; otherwise every applier is joined
    // before `fresh` goes away (an owner-less alias, no copy).
    std::shared_ptr<const wal::entry> entry = early
                                                  ? std::make_shared<const wal::entry>(fresh)
                                                  : std::shared_ptr<const wal::entry>(std::shared_ptr<void>(), &fresh);
    auto run = [this, state, entry, key, trust_copy](std::size_t k, instance_state* inst, clock::time_point deadline) {
        apply_result r;
        try {
            r = applier_.apply_through(*inst, entry->lane_id, key, entry->position, trust_copy ? entry.get() : nullptr,
                                       true, deadline);
        } catch (const std::exception& e) {
            // Never leave the caller waiting for a result that will not come.
            r.outcome = apply_outcome::failed;
            r.error = e.what();
            r.maybe_applied = true;
        }
        const bool ok = r.outcome == apply_outcome::applied;
        bool answered;
        {
            std::lock_guard<std::mutex> lock(state->m);
            state->results[k] = std::move(r);
            state->finished[k] = true;
            ++state->done;
            if (ok) ++state->applied;
            answered = state->answered;
        }
        state->cv.notify_all();
        // Finished after the caller was answered without it: the sync thread takes over.
        if (answered && !ok) sync_.wake();
    };
    std::vector<std::future<void>> others;
    for (std::size_t k = early ? 0 : 1; k < targets.size(); ++k) {
        others.push_back(std::async(std::launch::async, run, k, targets[k], deadline_for(targets[k])));
    }
    if (!early && !targets.empty()) run(0, targets[0], deadline_for(targets[0]));
    std::vector<apply_result> results;
    std::vector<bool> finished;
    bool all_done;
    {
        std::unique_lock<std::mutex> lock(state->m);
        state->cv.wait(lock, [&] {
            return state->done == targets.size() || (early && state->applied >= ctx_.config.write_quorum);
        });
        state->answered = true;
        results = state->results;
        finished = state->finished;
        all_done = state->done == targets.size();
    }
    if (!all_done) {
        keep_in_background(std::move(others));
    } else {
        for (auto& f : others) f.get();
    }

    const apply_result* rejection = nullptr;
    const apply_result* maybe = nullptr;  // a request sent with no definite answer
    bool behind = targets.size() < ctx_.instances.size();
    bool waiting = false;  // an instance waits for a rename in another lane: it will apply this
    for (std::size_t k = 0; k < targets.size(); ++k) {
        // Still applying in the background: not in the receipt; it wakes the sync if it fails.
        if (!finished[k]) continue;
        if (results[k].outcome == apply_outcome::applied) {
            receipt.applied.push_back(targets[k]->name());
        } else {
            behind = true;
            if (results[k].outcome == apply_outcome::rejected && !rejection) rejection = &results[k];
            if (results[k].maybe_applied && !maybe) maybe = &results[k];
            if (results[k].outcome == apply_outcome::waiting) waiting = true;
        }
    }
    if (behind) sync_.wake();
    // A delete's count: the answer of the first instance (in configuration order) that applied it.
    for (std::size_t k = 0; k < targets.size() && !receipt.deleted; ++k) {
        if (finished[k] && results[k].outcome == apply_outcome::applied) receipt.deleted = results[k].deleted;
    }

    const std::string what = describe(op, key);
    if (receipt.applied.empty() && !waiting) {
        if (rejection) {
            // Every instance that answered said the request is invalid: it never will be valid.
            ctx_.store->set_state(fresh.lane_id, fresh.position, wal::entry_state::rejected, rejection->error);
            sync_.wake();  // lets lagging instances step over it
            if (rejection->status == 404)
                throw not_found(rejection->status, rejection->error_name, rejection->server_message, what,
                                rejection->trace_id);
            throw write_rejected(rejection->status, rejection->error_name, rejection->server_message, what,
                                 rejection->trace_id);
        }
        if (ctx_.config.queue_when_unavailable) {
            receipt.queued = true;
            written_.note(wal::map_key(key), fresh.lane_id, fresh.position);
            return receipt;
        }
        auto pending = [&](const std::string& why) {
            written_.note(wal::map_key(key), fresh.lane_id, fresh.position);
            return no_instance_available(fmt::format("{}: no instance confirmed applying it ({}); the log entry at "
                                                     "position {} stays pending and will be applied on recovery",
                                                     what, why, fresh.position),
                                         true, fresh.position);
        };
        // Only a write that reached no instance may be abandoned: one that was sent and got no
        // answer may have been applied, and an abandoned entry is never replayed.
        if (maybe) throw pending(maybe->error + "; it may have been applied there");
        // Bounded by what is left of the write's request timeout: an applier holding a lane
        // lock (the sync thread, another process) may be applying it right now.
        auto until = started;
        for (auto& i : ctx_.instances) until = std::max(until, deadline_for(i.get()));
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now());
        wal::abandon_result decided;
        try {
            decided = ctx_.store->abandon_if_unapplied(fresh.lane_id, fresh.position, ctx_.instance_names,
                                                       std::max(left, std::chrono::milliseconds(10)));
        } catch (const log_unavailable& e) {
            // The decision may or may not have been committed: abandoned, or pending.
            throw outcome_unknown(fmt::format("{}: no instance could apply it, and the log store went away while "
                                              "abandoning the entry at position {} ({}); it is either abandoned "
                                              "or pending",
                                              what, fresh.position, e.what()),
                                  fresh.idempotency_id, fresh.position);
        }
        if (decided == wal::abandon_result::undecided)
            throw pending("another applier holds the lane and may be applying it");
        if (decided == wal::abandon_result::abandoned) {
            std::string why;
            for (const auto& r : results) why += (why.empty() ? "" : "; ") + r.error;
            if (why.empty()) why = "every instance is marked down";
            std::string message = fmt::format(
                "{}: it reached no instance ({}); the log entry at position {} is abandoned and will not be applied",
                what, why, fresh.position);
            if (!abandon_alerted_.exchange(true)) ctx_.emit(event::kind::write_abandoned, {}, message);
            throw no_instance_available(message, false, fresh.position);
        }
        // Someone (another process's sync) applied it in the meantime: it stands.
    }
    written_.note(wal::map_key(key), fresh.lane_id, fresh.position);
    if (!receipt.applied.empty()) abandon_alerted_ = false;
    if (receipt.applied.size() < ctx_.config.write_quorum) {
        std::string message = fmt::format(
            "{}: applied to {} of the {} instances the write quorum asks for; the log entry at position {} stays "
            "pending and will be applied on recovery",
            what, receipt.applied.size(), ctx_.config.write_quorum, fresh.position);
        if (!quorum_alerted_.exchange(true)) ctx_.emit(event::kind::quorum_not_reached, {}, message);
        throw quorum_not_reached(message, fresh.position, receipt.applied.size());
    }
    quorum_alerted_ = false;
    return receipt;
}

write_receipt writer::write_get_or_create(const wal::lane_key& key, const collection_options& options) {
    const std::string& collection = key.collection;
    validate_collection_name(collection);
    validate_create_options(options);
    // Ingestion services call get_or_create before every batch: appending each time would grow
    // the log for nothing. Only a call that could change something is logged.
    if (already_everywhere(key, options)) return {};
    return write_create(key, options);
}

// Whether logging a get-or-create would change nothing. Conservative: any doubt means "log it".
// - Every instance must be healthy: one that is away may lack the collection, and only a
//   logged entry reaches it on replay.
// - Every instance must have applied the lane holding the name to its head (per the log), and
//   this process must have seen it apply at least one entry there: otherwise a logged delete or
//   rename of the collection may still be on its way, or nothing in the log ever created the
//   collection that holds the name there (an empty lane; the first call in a process logs once).
// - Every instance must hold the collection (asked now, not the UUID cache) with the requested
//   metadata. A requested space or configuration is not compared (the server reports its full
//   configuration with defaults), so such a call is always logged.
// A delete or rename appended concurrently by another writer is ordered after this call.
bool writer::already_everywhere(const wal::lane_key& key, const collection_options& options) {
    if (!options.space.empty() || !options.configuration_json.empty() || !options.schema_json.empty()) return false;
    const std::string& collection = key.collection;
    try {
        const std::int64_t lane = ctx_.store->lane_id(key);
        for (auto& candidate : ctx_.instances) {
            instance_state& inst = *candidate;
            if (!writable(ctx_, inst) || (ctx_.configured(key) && inst.needs_repair(collection))) return false;
            for (const auto& behind : ctx_.store->lanes_behind(inst.name())) {
                if (behind.lane_id == lane) return false;
            }
            if (inst.known_applied(lane) <= 0) return false;
            const collection_info info = inst.client(key).get_collection(collection).info();
            inst.remember(key, info);
            if (options.metadata && (!info.metadata || *info.metadata != *options.metadata)) return false;
        }
        return true;
    } catch (const error&) {
        return false;  // not found, an instance or the log away: the logged path decides and reports
    }
}

}  // namespace chromawal::detail
