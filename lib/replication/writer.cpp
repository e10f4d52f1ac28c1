// writer: see writer.hpp for what it owns, what it touches and its thread-safety.
#include "replication/writer.hpp"

#include "api/validate.hpp"
#include "chroma/protocol.hpp"
#include "replication/log_identity.hpp"
#include "wal/payload.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace chromawal::detail {

namespace {

using clock = std::chrono::steady_clock;

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

writer::~writer() = default;  // pool_ goes first: it waits for every task

write_receipt writer::write_records(const wal::lane_key& key, wal::op_kind op, const record_set& records,
                                    const write_options& options) {
    return enqueue(key, record_write(key, op, records, options), true).get();
}

write_receipt writer::write_delete(const wal::lane_key& key, const delete_options& selector,
                                   const write_options& options) {
    if (!selector.limit) return enqueue(key, delete_write(key, selector, options), true).get();
    validate_delete(selector);
    validate_idempotency_key(options.idempotency_key);
    {
        if (!options.idempotency_key.empty()) {
            // A retry must not pick other records: the first write's choice stands.
            if (auto found = ctx_.store->find_entry(options.idempotency_key)) {
                wal::new_entry ne;
                ne.lane = key;
                ne.idempotency_id = options.idempotency_key;
                ne.op = wal::op_kind::delete_records;
                ne.payload = found->e.payload;  // compared by lane and operation only
                auto q = queue_for(key);
                begin_direct(key, q);
                try {
                    write_receipt r = repeat(key, q, ne, *found);
                    end_direct(key, q, false);
                    return r;
                } catch (...) {
                    end_direct(key, q, false);
                    throw;
                }
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
    wal::new_entry ne;
    ne.lane = key;
    ne.idempotency_id = idempotency_key.empty() ? new_entry_id() : idempotency_key;
    ne.op = op;
    ne.payload = std::move(payload);
    ne.rename_to = rename_to;
    // After the writes queued before it, outside the queue (never merged with others).
    auto q = queue_for(key);
    begin_direct(key, q);
    std::vector<wal::appended> where;
    try {
        if (!idempotency_key.empty()) {
            if (auto found = ctx_.store->find_entry(idempotency_key)) {
                write_receipt r = repeat(key, q, ne, *found);
                end_direct(key, q, false);
                return r;
            }
        }
        try {
            const auto started = std::chrono::steady_clock::now();
            where = ctx_.store->append({ne});  // log_unavailable: nothing logged, nothing applied
            ctx_.metrics.observe_append(std::chrono::steady_clock::now() - started);
        } catch (const outcome_unknown& e) {
            throw outcome_unknown(fmt::format("{} (entry id {}): {}; retry with the same idempotency key",
                                              describe_write(op, key), ne.idempotency_id, e.what()),
                                  ne.idempotency_id);
        } catch (const invalid_argument&) {
            // A duplicate id: another call with the same key got there first.
            if (!idempotency_key.empty()) {
                if (auto found = ctx_.store->find_entry(idempotency_key)) {
                    write_receipt r = repeat(key, q, ne, *found);
                    end_direct(key, q, false);
                    return r;
                }
            }
            throw;
        }
    } catch (...) {
        end_direct(key, q, false);
        throw;
    }
    const std::uint64_t number = end_direct(key, q, true);

    wal::entry fresh = logged_entry(std::move(ne), where.at(0), key.collection, now_epoch());
    // A rename may depend on another lane (one that held the new name): only the log knows, so
    // its appliers read it back instead of trusting this copy.
    return apply_direct(key, q, number, std::move(fresh), rename_to.empty());
}

write_receipt writer::apply_direct(const wal::lane_key& key, const std::shared_ptr<lane_queue>& q, std::uint64_t group,
                                   wal::entry e, bool trust_copy) {
    std::vector<wal::entry> one;
    one.push_back(std::move(e));
    std::vector<outcome> out = apply_group(key, q, group, std::move(one), trust_copy);
    if (out.front().error) std::rethrow_exception(out.front().error);
    return std::move(out.front().receipt);
}

write_receipt writer::repeat(const wal::lane_key& key, const std::shared_ptr<lane_queue>& q, const wal::new_entry& ne,
                             const wal::found_entry& found) {
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
    // A group of its own, after the groups before it (the caller holds the append turn).
    std::uint64_t number;
    {
        std::lock_guard<std::mutex> lock(q->m);
        number = q->next_group++;
    }
    return apply_direct(wal::lane_key{found.key.tenant, found.key.database, collection}, q, number, e,
                        e.after_lane == 0);
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
