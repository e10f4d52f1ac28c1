// repairer (verify and repair): see repairer.hpp for what it owns, what it touches and its
// thread-safety.
//
// Repair goes through the log like any write, so it is audited, ordered with the writes around
// it and applied to every instance (on the source the entries change nothing). It relies on the
// record comparison of verify (lib/api/verify_detail.hpp): one implementation for both.
#include "replication/repairer.hpp"

#include "api/validate.hpp"
#include "api/verify_detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace chromawal::detail {

namespace {

constexpr std::size_t page_size = 1000;
// Records per repair entry (also bounded by each server's max batch size).
constexpr std::size_t max_repair_batch = 1000;

const std::optional<std::string>* doc_at(const get_result& r, std::size_t i) {
    return i < r.documents.size() ? &r.documents[i] : nullptr;
}

bool has_doc(const get_result& r, std::size_t i) {
    const auto* d = doc_at(r, i);
    return d != nullptr && d->has_value();
}

std::optional<metadata_map> meta_at(const get_result& r, std::size_t i) {
    if (i >= r.metadatas.size() || !r.metadatas[i] || r.metadatas[i]->empty()) return std::nullopt;
    return r.metadatas[i];
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Verify

verify_result repairer::verify(std::string_view a, std::string_view b, const verify_options& options) {
    instance_state& ia = ctx_.instance_named(a, "verify");
    instance_state& ib = ctx_.instance_named(b, "verify");
    std::vector<std::string> names = options.collections;
    if (names.empty()) {
        std::set<std::string> all;
        for (auto& n : all_collection_names(ia.client())) all.insert(std::move(n));
        for (auto& n : all_collection_names(ib.client())) all.insert(std::move(n));
        names.assign(all.begin(), all.end());
    }
    verify_result result;
    result.collections.reserve(names.size());
    for (std::size_t k = 0; k < names.size(); ++k) {
        result.collections.push_back(
            verify_collection_by_digest(ia.client(), ib.client(), names[k], compare_options{page_size, 100}));
        if (options.progress) options.progress(result.collections.back(), k, names.size());
    }
    return result;
}

// ---------------------------------------------------------------------------------------------
// Repair

void repairer::skip_pruned(instance_state& inst, std::int64_t lane_id, const wal::lane_key& key) {
    const auto wait =
        std::max<std::chrono::milliseconds>(inst.conn().options.request_timeout, std::chrono::seconds(10));
    auto mutex = inst.lane_mutex(lane_id);
    std::unique_lock<std::timed_mutex> local(*mutex, std::defer_lock);
    if (!local.try_lock_for(wait)) {
        throw error(fmt::format("repair: the lane of collection '{}' on {} stayed busy", key.collection, inst.name()));
    }
    auto lock = ctx_.store->lock_lane(inst.name(), lane_id, wait);
    if (!lock) {
        throw error(fmt::format("repair: the lane of collection '{}' on {} stayed locked by another process",
                                key.collection, inst.name()));
    }
    const std::int64_t applied = lock->applied();
    if (applied < lock->pruned_through()) inst.set_known_applied(lane_id, lock->skip_to_head());
    inst.set_needs_repair(key.collection, false);
}

void repairer::catch_up(instance_state& inst, std::int64_t lane_id, const wal::lane_key& key, std::int64_t position,
                        const char* why) {
    const apply_result r = applier_.apply_through(inst, lane_id, key, position, nullptr, false);
    if (r.outcome == apply_outcome::applied) return;
    if (r.outcome == apply_outcome::needs_repair) {
        throw error(
            fmt::format("repair: the {} {} itself missed entries of collection '{}' that retention pruned; "
                        "repair it first from an instance that did not",
                        why, inst.name(), key.collection));
    }
    throw error(fmt::format("repair: the {} {} could not apply the log of collection '{}' up to position {}: {}", why,
                            inst.name(), key.collection, position, r.error));
}

repair_result repairer::repair(std::string_view source, std::string_view target, const std::vector<std::string>& only) {
    instance_state& src = ctx_.instance_named(source, "repair: source");
    instance_state& tgt = ctx_.instance_named(target, "repair: target");
    if (&src == &tgt) throw invalid_argument("repair: the source and the target are the same instance");
    for (const auto& n : only) validate_collection_name(n);

    std::vector<std::string> names = only;
    if (names.empty()) {
        std::set<std::string> all;
        for (auto& n : all_collection_names(src.client())) all.insert(std::move(n));
        for (auto& n : all_collection_names(tgt.client())) all.insert(std::move(n));
        names.assign(all.begin(), all.end());
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());

    // Both instances' progress in every lane of this database, as of now, by the name each
    // lane holds (a lane whose name a rename took over holds none).
    std::vector<wal::lane_progress> target_all;
    for (auto& l : ctx_.store->all_lanes(tgt.name())) {
        if (l.key.tenant == ctx_.config.tenant && l.key.database == ctx_.config.database)
            target_all.push_back(std::move(l));
    }
    auto by_name = [](std::vector<wal::lane_progress> lanes) {
        std::map<std::string, wal::lane_progress> out;
        for (auto& l : lanes) {
            if (l.holds_name) out[l.key.collection] = std::move(l);
        }
        return out;
    };
    const auto target_lanes = by_name(target_all);
    std::vector<wal::lane_progress> source_all;
    for (auto& l : ctx_.store->all_lanes(src.name())) {
        if (l.key.tenant == ctx_.config.tenant && l.key.database == ctx_.config.database)
            source_all.push_back(std::move(l));
    }
    const auto source_lanes = by_name(std::move(source_all));

    repair_result result;
    if (only.empty()) {
        // Lanes of collections that are on neither instance now, or of no name any more:
        // nothing to copy, but the target must not stay stuck behind their pruned entries.
        for (const auto& lane : target_all) {
            if (lane.needs_repair() &&
                (!lane.holds_name || !std::binary_search(names.begin(), names.end(), lane.key.collection)))
                skip_pruned(tgt, lane.lane_id, lane.key);
        }
    }
    for (const auto& name : names) {
        const wal::lane_key key = ctx_.key_for(name);
        const auto t = target_lanes.find(name);
        const auto s = source_lanes.find(name);
        if (s != source_lanes.end() && s->second.needs_repair()) {
            throw error(
                fmt::format("repair: the source {} itself missed entries of collection '{}' that retention "
                            "pruned; repair it first from an instance that did not",
                            src.name(), name));
        }
        const std::int64_t lane_id = t != target_lanes.end() ? t->second.lane_id : ctx_.store->lane_id(key);
        const std::int64_t head =
            std::max(t != target_lanes.end() ? t->second.head : 0, s != source_lanes.end() ? s->second.head : 0);
        const bool skipped = t != target_lanes.end() && t->second.needs_repair();
        // The target cannot replay this lane: move it to the head, then copy the difference.
        if (skipped) skip_pruned(tgt, lane_id, key);
        try {
            if (head > 0) {
                // Both up to the same point of the log first, so that the difference is only
                // what the log cannot explain.
                catch_up(src, lane_id, key, head, "source");
                catch_up(tgt, lane_id, key, head, "target");
            }
            repair_collection(src, tgt, name, lane_id, result);
        } catch (const error& e) {
            if (!skipped) throw;
            throw error(
                fmt::format("repair of collection '{}' on {} failed after it was moved past the pruned entries "
                            "(it no longer shows as needing repair: run the repair again): {}",
                            name, tgt.name(), e.what()));
        }
    }
    return result;
}

void repairer::repair_collection(instance_state& source, instance_state& target, const std::string& name,
                                 std::int64_t lane_id, repair_result& out) {
    // Digests first: most collections of a returning instance are usually identical.
    if (digest_collection(source.client(), name, compare_options{page_size, 0}) ==
        digest_collection(target.client(), name, compare_options{page_size, 0}))
        return;
    const collection_snapshot ss = read_snapshot(source.client(), name, page_size);
    const collection_snapshot st = read_snapshot(target.client(), name, page_size);
    if (!ss.exists && !st.exists) return;

    std::vector<std::string> deletes;                      // ids, in this order
    std::vector<std::size_t> upserts;                      // indices into the source's records
    std::vector<std::optional<metadata_map>> upsert_meta;  // the metadata each upsert sends
    std::size_t target_only = 0;
    diff_snapshots(ss, st, [&](difference d, std::size_t i, std::size_t j) {
        switch (d) {
            case difference::only_a:  // missing on the target
                upserts.push_back(i);
                upsert_meta.push_back(meta_at(ss.records, i));
                break;
            case difference::only_b:  // extra on the target
                deletes.push_back(st.records.ids[j]);
                ++target_only;
                break;
            case difference::different:
                if (!has_doc(ss.records, i) && has_doc(st.records, j)) {
                    // An upsert cannot null a document: delete, then add it back as on the source.
                    deletes.push_back(ss.records.ids[i]);
                    upserts.push_back(i);
                    upsert_meta.push_back(meta_at(ss.records, i));
                } else {
                    // Chroma merges metadata key by key: a key only the target has is sent as
                    // null, which removes it.
                    std::optional<metadata_map> m = meta_at(ss.records, i);
                    if (const auto tm = meta_at(st.records, j)) {
                        for (const auto& [k, v] : *tm) {
                            if (!m || m->find(k) == m->end()) {
                                if (!m) m.emplace();
                                (*m)[k] = nullptr;
                            }
                        }
                    }
                    upserts.push_back(i);
                    upsert_meta.push_back(std::move(m));
                }
                break;
        }
    });
    if (ss.exists && st.exists && deletes.empty() && upserts.empty()) return;  // changed meanwhile
    out.collections.push_back(name);
    const std::size_t receipts_before = out.receipts.size();

    if (!ss.exists) {
        out.receipts.push_back(writer_.write_delete_collection(ctx_.key_for(name)));
        out.deleted += st.records.size();
    } else {
        if (!st.exists) {
            collection_options o;
            if (ss.info && ss.info->metadata && !ss.info->metadata->empty()) o.metadata = ss.info->metadata;
            if (ss.info && ss.info->configuration_json != "null") o.configuration_json = ss.info->configuration_json;
            try {
                out.receipts.push_back(writer_.write_create(ctx_.key_for(name), o));
            } catch (const write_rejected&) {
                if (o.configuration_json.empty()) throw;
                o.configuration_json.clear();  // a configuration this server does not take back
                out.receipts.push_back(writer_.write_create(ctx_.key_for(name), o));
            }
        }
        auto batch_of = [](instance_state& i) {
            const std::size_t n = i.conn().get_preflight().max_batch_size;
            return n == 0 ? max_repair_batch : n;
        };
        const std::size_t batch = std::min({max_repair_batch, batch_of(source), batch_of(target)});
        for (std::size_t at = 0; at < deletes.size(); at += batch) {
            delete_options d;
            d.ids.assign(deletes.begin() + static_cast<std::ptrdiff_t>(at),
                         deletes.begin() + static_cast<std::ptrdiff_t>(std::min(deletes.size(), at + batch)));
            out.receipts.push_back(writer_.write_delete(ctx_.key_for(name), d));
        }
        out.deleted += deletes.size();
        const get_result& r = ss.records;
        if (!upserts.empty() && r.embeddings.rows() != r.size()) {
            throw error(
                fmt::format("repair: {} returned records of collection '{}' without embeddings", source.name(), name));
        }
        const std::size_t dim = r.embeddings.dim();
        for (std::size_t at = 0; at < upserts.size(); at += batch) {
            const std::size_t end = std::min(upserts.size(), at + batch);
            std::vector<float> embeddings;
            embeddings.reserve((end - at) * dim);
            record_set rs;
            for (std::size_t k = at; k < end; ++k) {
                const std::size_t i = upserts[k];
                rs.ids.push_back(r.ids[i]);
                embeddings.insert(embeddings.end(), r.embeddings.row(i), r.embeddings.row(i) + dim);
                const auto* doc = doc_at(r, i);
                rs.documents.push_back(doc != nullptr ? *doc : std::nullopt);
                rs.metadatas.push_back(std::move(upsert_meta[k]));
            }
            rs.embeddings = embedding_view(embeddings, dim);
            out.receipts.push_back(writer_.write_records(ctx_.key_for(name), wal::op_kind::upsert, rs));
        }
        out.upserted += upserts.size();
    }

    // Applied on the target now (the live apply of each entry has normally done it already).
    if (out.receipts.size() > receipts_before)
        catch_up(target, lane_id, ctx_.key_for(name), out.receipts.back().position, "target");
    // Entries the target had stepped over in this lane are superseded by the repair.
    for (const auto& d : ctx_.store->dead_letters(10000)) {
        if (d.instance == target.name() && d.lane_id == lane_id)
            ctx_.store->remove_dead_letter(d.instance, d.lane_id, d.position);
    }
}

}  // namespace chromawal::detail
