// One log per instance set: reading, recording and taking over each instance's log record.
// See log_identity.hpp.
#include "replication/log_identity.hpp"

#include <chromawal/chroma_client.hpp>
#include <chromawal/error.hpp>

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <ctime>

namespace chromawal::detail {

namespace {

using clock = std::chrono::steady_clock;

std::uint64_t fnv1a64(const std::string& s) {
    std::uint64_t h = 14695981039346656037ULL;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    return h;
}

std::string host_name() {
    std::array<char, 256> buf{};
    if (::gethostname(buf.data(), buf.size() - 1) != 0) return "unknown host";
    return fmt::format("{} (pid {})", buf.data(), ::getpid());
}

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::array<char, 32> buf{};
    std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf.data();
}

chroma_client meta_client(instance_state& inst) {
    connection_options o = inst.conn().options;
    o.database = meta_database;
    return chroma_client(o);
}

std::string text_of(const collection_info& info, const char* key) {
    if (!info.metadata) return {};
    auto it = info.metadata->find(key);
    if (it == info.metadata->end()) return {};
    const auto* s = it->second.get_if<std::string>();
    return s != nullptr ? *s : std::string();
}

std::string describe(const std::string& id, const std::string& description) {
    return description.empty() ? id : fmt::format("{} ({})", id, description);
}

metadata_map record_for(const wal::log_identity& log, const std::string& database) {
    metadata_map m;
    m["log_id"] = log.id;
    m["log"] = log.description;
    m["database"] = database;
    m["recorded_at"] = utc_now();
    m["recorded_by"] = host_name();
    return m;
}

/// Sets the claim from a record; emits log_conflict when it names another log and did not before.
void claim_from(context& ctx, instance_state& inst, const wal::log_identity& ours, const collection_info& info) {
    const std::string id = text_of(info, "log_id");
    if (id == ours.id) {
        inst.set_claim(instance_state::log_claim::ours);
        return;
    }
    const std::string other = describe(id.empty() ? std::string("(no log id)") : id, text_of(info, "log"));
    const bool was_foreign = inst.claim() == instance_state::log_claim::foreign && inst.foreign_log() == other;
    inst.set_claim(instance_state::log_claim::foreign, other);
    if (!was_foreign) {
        ctx.emit(event::kind::log_conflict, inst.name(),
                 fmt::format("recorded for another write-ahead log, {}, than this client's, {}: writes are refused "
                             "until the configuration is fixed or the instances are taken over",
                             other, describe(ours.id, ours.description)));
    }
}

bool any_foreign(const context& ctx) {
    for (const auto& i : ctx.instances) {
        if (i->claim() == instance_state::log_claim::foreign) return true;
    }
    return false;
}

}  // namespace

std::string log_record_name(const std::string& database) { return fmt::format("log-{:016x}", fnv1a64(database)); }

void check_log_claim(context& ctx, instance_state& inst, bool may_record) noexcept {
    try {
        std::lock_guard<std::mutex> lock(inst.claim_check_mutex());
        const wal::log_identity ours = ctx.store->identity();
        const chroma_client meta = meta_client(inst);
        const std::string name = log_record_name(ctx.config.database);
        try {
            claim_from(ctx, inst, ours, meta.get_collection(name).info());
            return;
        } catch (const not_found&) {
        }
        if (!may_record) return;  // another instance names another log: do not take this one
        // No record yet: this log is the first to write here.
        try {
            meta.create_database(meta_database);
        } catch (const server_rejected&) {
            // 409: another client created it first.
        }
        collection_options options;
        options.metadata = record_for(ours, ctx.config.database);
        try {
            meta.create_collection(name, options);
            inst.set_claim(instance_state::log_claim::ours);
        } catch (const already_exists&) {
            claim_from(ctx, inst, ours, meta.get_collection(name).info());  // lost the race: read the winner's
        }
    } catch (const server_rejected& e) {
        // The server refuses the reserved database (say, a token without the right to create
        // databases): the guard cannot work there. Writes go on (refusing every write would
        // turn a missing permission into an outage); status shows why it is unguarded.
        inst.set_claim(instance_state::log_claim::ours, fmt::format("not recorded: {}", e.what()));
    } catch (...) {
        // Unreachable instance or log: stays unchecked, checked again before it is written to.
    }
}

bool writable(context& ctx, instance_state& inst) {
    if (!inst.healthy()) return false;
    if (inst.claim() == instance_state::log_claim::unchecked) check_log_claim(ctx, inst, !any_foreign(ctx));
    return inst.claim() == instance_state::log_claim::ours;
}

void refuse_if_other_log(context& ctx) {
    for (auto& inst : ctx.instances) {
        if (inst->healthy() && inst->claim() == instance_state::log_claim::unchecked)
            check_log_claim(ctx, *inst, !any_foreign(ctx));
    }
    for (const auto& inst : ctx.instances) {
        if (inst->claim() != instance_state::log_claim::foreign) continue;
        std::string ours;
        try {
            const wal::log_identity id = ctx.store->identity();
            ours = describe(id.id, id.description);
        } catch (const std::exception&) {
            ours = "(this client's log, not readable now)";
        }
        throw log_conflict(fmt::format(
            "instance '{}' is recorded for another write-ahead log, {}, than this client's, {}: two logs driving "
            "one instance set would diverge, so nothing was logged; fix the configuration, or take the instances "
            "over for this log (client::take_over_instances, `chromawal takeover`)",
            inst->name(), inst->foreign_log(), ours));
    }
}

void recheck_claims_if_due(context& ctx) noexcept {
    const auto now = clock::now();
    for (auto& inst : ctx.instances) {
        if (ctx.stopping) return;
        if (!inst->healthy()) continue;
        const auto claim = inst->claim();
        const auto every = claim == instance_state::log_claim::foreign ? std::chrono::seconds(foreign_recheck_interval)
                                                                       : std::chrono::seconds(recheck_interval);
        if (claim == instance_state::log_claim::unchecked || now - inst->claim_checked_at() >= every)
            check_log_claim(ctx, *inst, !any_foreign(ctx));
    }
}

std::vector<takeover_step> take_over_instances(context& ctx, const std::string& reason) {
    if (reason.empty()) throw invalid_argument("take_over_instances: give a reason (it is recorded on every instance)");
    const wal::log_identity ours = ctx.store->identity();
    const std::string name = log_record_name(ctx.config.database);
    std::vector<takeover_step> out;
    for (auto& inst : ctx.instances) {
        std::lock_guard<std::mutex> lock(inst->claim_check_mutex());
        const chroma_client meta = meta_client(*inst);
        takeover_step step;
        step.instance = inst->name();
        metadata_map record = record_for(ours, ctx.config.database);
        std::optional<chroma_collection> existing;
        try {
            existing = meta.get_collection(name);
        } catch (const not_found&) {
        }
        if (existing) {
            const std::string id = text_of(existing->info(), "log_id");
            if (id == ours.id) {
                inst->set_claim(instance_state::log_claim::ours);
                out.push_back(step);
                continue;
            }
            step.previous_log = describe(id, text_of(existing->info(), "log"));
            record["previous_log_id"] = id;
            record["previous_log"] = text_of(existing->info(), "log");
            record["taken_over_at"] = utc_now();
            record["taken_over_by"] = host_name();
            record["takeover_reason"] = reason;
            modify_options change;
            change.metadata = record;
            existing->modify(change);
        } else {
            try {
                meta.create_database(meta_database);
            } catch (const server_rejected&) {
            }
            collection_options options;
            options.metadata = record;
            meta.create_collection(name, options);
        }
        step.changed = true;
        inst->set_claim(instance_state::log_claim::ours);
        ctx.emit(
            event::kind::instances_taken_over, inst->name(),
            fmt::format("recorded for this log, {}, replacing {} (reason: {})", describe(ours.id, ours.description),
                        step.previous_log.empty() ? std::string("no record") : step.previous_log, reason));
        out.push_back(step);
    }
    return out;
}

}  // namespace chromawal::detail
