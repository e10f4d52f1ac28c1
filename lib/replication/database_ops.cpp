// Tenants and databases on the replicated client: checked on a healthy instance, then logged
// (in the database's own lane, wal::database_lane) and applied like any write. See
// docs/design.md, "Tenants and databases".
#include "api/validate.hpp"
#include "replication/log_identity.hpp"
#include "replication/replicated_client.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <functional>

namespace chromawal::detail {

namespace {
// Runs `ask` on a healthy instance: false when it answers not_found.
bool found(replicated_client& c, const wal::lane_key& scope, const char* what,
           const std::function<void(const chroma_client&)>& ask) {
    bool exists = true;
    c.read_any(scope, what, [&](const chroma_client& client) {
        try {
            ask(client);
        } catch (const not_found&) {
            exists = false;
        }
    });
    return exists;
}
}  // namespace

write_receipt replicated_client::create_tenant(const std::string& tenant) {
    validate_name(tenant, "tenant");
    const wal::lane_key key = wal::database_lane(tenant, {});
    if (found(*this, key, "create tenant", [&](const chroma_client& c) { (void)c.get_tenant(tenant); })) {
        throw already_exists(409, "ChromaError", fmt::format("Tenant [{}] already exists", tenant),
                             fmt::format("create tenant '{}'", tenant));
    }
    return counted([&] { return writer_.write_database_op(key, wal::op_kind::create_tenant); });
}

write_receipt replicated_client::create_database(const std::string& tenant, const std::string& database) {
    validate_name(tenant, "tenant");
    validate_name(database, "database");
    const wal::lane_key key = wal::database_lane(tenant, database);
    if (found(*this, key, "create database", [&](const chroma_client& c) { (void)c.get_database(database); })) {
        throw already_exists(409, "ChromaError", fmt::format("Database [{}] already exists", database),
                             fmt::format("create database '{}'", database));
    }
    // An instance that has not applied an earlier deletion of this database would apply it
    // after the writes to the new one (they would be lost there): wait until it has.
    const std::int64_t lane = ctx_.store->lane_id(key);
    for (const auto& inst : ctx_.instances) {
        for (const auto& behind : ctx_.store->lanes_behind(inst->name())) {
            if (behind.lane_id != lane) continue;
            throw no_instance_available(
                fmt::format("create database '{}': instance {} has not applied an earlier deletion or creation of "
                            "this database yet (it is down or behind); nothing was logged; retry once it has "
                            "caught up",
                            database, inst->name()),
                false, 0);
        }
    }
    return counted([&] { return writer_.write_database_op(key, wal::op_kind::create_database); });
}

write_receipt replicated_client::delete_database(const std::string& tenant, const std::string& database) {
    validate_name(tenant, "tenant");
    validate_name(database, "database");
    if (database == meta_database) {
        throw invalid_argument(fmt::format(
            "delete database '{}': it holds chromawal's record of which log drives each instance", database));
    }
    const wal::lane_key key = wal::database_lane(tenant, database);
    read_any(key, "delete database", [&](const chroma_client& c) { (void)c.get_database(database); });
    return counted([&] { return writer_.write_database_op(key, wal::op_kind::delete_database); });
}

void replicated_client::reset(std::chrono::milliseconds wait) {
    if (!sync_.wait_until_synced(wait)) {
        std::string why;
        for (const auto& inst : ctx_.instances) {
            if (!inst->healthy()) why += fmt::format("{}{} is down", why.empty() ? "" : "; ", inst->name());
        }
        throw no_instance_available(
            fmt::format("reset: every instance must be up with every log entry applied ({}); nothing was reset",
                        why.empty() ? "some are behind, or an entry is dead-lettered" : why),
            false, 0);
    }
    std::vector<std::string> done;
    for (auto& inst : ctx_.instances) {
        try {
            (void)inst->client().reset();
        } catch (const server_rejected& e) {
            if (done.empty()) throw;
            throw server_rejected(
                e.status(), e.error_name(), e.server_message(),
                fmt::format("reset of {} (after {} were reset)", inst->name(), fmt::join(done, ", ")));
        }
        done.push_back(inst->name());
        inst->forget_all();
        // The server forgot which log drives it: recorded again before the next write there.
        inst->reset_claim();
        check_log_claim(ctx_, *inst, true);
    }
}

}  // namespace chromawal::detail
