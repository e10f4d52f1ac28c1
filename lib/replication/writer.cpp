// writer: see writer.hpp for what it owns, what it touches and its thread-safety.
#include "replication/writer.hpp"

#include "api/validate.hpp"
#include "chroma/protocol.hpp"
#include "wal/payload.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <future>
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

}  // namespace

write_receipt writer::write_records(const std::string& collection, wal::op_kind op, const record_set& records) {
    validate_records(records, op == wal::op_kind::add      ? write_op::add
                              : op == wal::op_kind::upsert ? write_op::upsert
                                                           : write_op::update);
    return write_entry(collection, op, wal::encode_records(records));
}

write_receipt writer::write_delete(const std::string& collection, const delete_options& selector) {
    validate_delete(selector);
    return write_entry(collection, wal::op_kind::delete_records, chroma::encode_delete(selector));
}

write_receipt writer::write_create(const std::string& collection, const collection_options& options) {
    validate_collection_name(collection);
    if (options.metadata) validate_collection_metadata(*options.metadata, "create_collection");
    // Replayed as get_or_create so that applying it twice is harmless.
    return write_entry(collection, wal::op_kind::create_collection,
                       chroma::encode_create_collection(collection, options, true));
}

write_receipt writer::write_delete_collection(const std::string& collection) {
    return write_entry(collection, wal::op_kind::delete_collection, std::string());
}

write_receipt writer::write_modify(const std::string& collection, const modify_options& changes) {
    if (changes.name) validate_collection_name(*changes.name);
    if (changes.metadata) validate_collection_metadata(*changes.metadata, "modify");
    // A rename takes the collection's lane with it: later writes to the new name follow it in
    // that lane, and a collection created under the old name gets a lane of its own.
    const std::string rename_to = changes.name && *changes.name != collection ? *changes.name : std::string();
    return write_entry(collection, wal::op_kind::modify_collection, chroma::encode_modify(changes), rename_to);
}

write_receipt writer::write_entry(const std::string& collection, wal::op_kind op, std::string payload,
                                  const std::string& rename_to) {
    wal::new_entry ne;
    ne.lane = ctx_.key_for(collection);
    ne.idempotency_id = new_entry_id();
    ne.op = op;
    ne.payload = std::move(payload);
    ne.rename_to = rename_to;
    const auto where = ctx_.store->append({ne});  // throws log_unavailable: nothing logged, nothing applied

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
    const wal::entry* fresh_copy = rename_to.empty() ? &fresh : nullptr;

    write_receipt receipt;
    receipt.position = fresh.position;
    receipt.entry_id = fresh.idempotency_id;

    // Apply to every healthy instance in parallel (the first on this thread).
    std::vector<instance_state*> targets;
    for (auto& i : ctx_.instances) {
        if (i->healthy()) targets.push_back(i.get());
    }
    std::vector<apply_result> results(targets.size());
    std::vector<std::future<apply_result>> others;
    const auto started = clock::now();
    auto deadline_for = [started](instance_state* i) { return started + i->conn().options.request_timeout; };
    for (std::size_t k = 1; k < targets.size(); ++k) {
        others.push_back(std::async(
            std::launch::async, [this, &fresh, fresh_copy, &ne, inst = targets[k], d = deadline_for(targets[k])] {
                return applier_.apply_through(*inst, fresh.lane_id, ne.lane, fresh.position, fresh_copy, true, d);
            }));
    }
    if (!targets.empty()) {
        results[0] = applier_.apply_through(*targets[0], fresh.lane_id, ne.lane, fresh.position, fresh_copy, true,
                                            deadline_for(targets[0]));
    }
    for (std::size_t k = 1; k < targets.size(); ++k) results[k] = others[k - 1].get();

    const apply_result* rejection = nullptr;
    bool behind = targets.size() < ctx_.instances.size();
    bool waiting = false;  // an instance waits for a rename in another lane: it will apply this
    for (std::size_t k = 0; k < targets.size(); ++k) {
        if (results[k].outcome == apply_outcome::applied) {
            receipt.applied.push_back(targets[k]->name());
        } else {
            behind = true;
            if (results[k].outcome == apply_outcome::rejected && !rejection) rejection = &results[k];
            if (results[k].outcome == apply_outcome::waiting) waiting = true;
        }
    }
    if (behind) sync_.wake();

    const std::string what = fmt::format("{} on collection '{}'", wal::to_string(op), collection);
    if (receipt.applied.empty() && !waiting) {
        if (rejection) {
            // Every instance that answered said the request is invalid: it never will be valid.
            ctx_.store->set_state(fresh.lane_id, fresh.position, wal::entry_state::rejected, rejection->error);
            sync_.wake();  // lets lagging instances step over it
            if (rejection->status == 404)
                throw not_found(rejection->status, rejection->error_name, rejection->server_message, what);
            throw write_rejected(rejection->status, rejection->error_name, rejection->server_message, what);
        }
        if (ctx_.config.queue_when_unavailable) {
            receipt.queued = true;
            written_.note(collection, fresh.lane_id, fresh.position);
            return receipt;
        }
        bool abandoned = false;
        try {
            abandoned = ctx_.store->abandon_if_unapplied(fresh.lane_id, fresh.position, ctx_.instance_names);
        } catch (const log_unavailable& e) {
            // The entry is committed and could not be marked abandoned: it stays pending, and the
            // sync thread applies it once the log and an instance are back. Never log_unavailable
            // here: that would tell the caller nothing was logged.
            throw no_instance_available(fmt::format("{}: no instance could apply it, and the log store went away "
                                                    "({}); the log entry at position {} stays pending and will be "
                                                    "applied on recovery",
                                                    what, e.what(), fresh.position),
                                        true, fresh.position);
        }
        if (abandoned) {
            std::string why;
            for (const auto& r : results) why += (why.empty() ? "" : "; ") + r.error;
            if (why.empty()) why = "every instance is marked down";
            throw no_instance_available(fmt::format("{}: no instance could apply it ({}); the log entry at position {} "
                                                    "is abandoned and will not be applied",
                                                    what, why, fresh.position),
                                        false, fresh.position);
        }
        // Someone (another process's sync) applied it in the meantime: it stands.
    }
    written_.note(collection, fresh.lane_id, fresh.position);
    if (receipt.applied.size() < ctx_.config.write_quorum) {
        throw quorum_not_reached(fmt::format("{}: applied to {} of the {} instances the write quorum asks for; the log "
                                             "entry at position {} stays pending and will be applied on recovery",
                                             what, receipt.applied.size(), ctx_.config.write_quorum, fresh.position),
                                 fresh.position, receipt.applied.size());
    }
    return receipt;
}

}  // namespace chromawal::detail
