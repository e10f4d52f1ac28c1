// context: building the instances from the configuration, the event hook, lane keys and
// instance lookup by name. See context.hpp for ownership and thread-safety.
#include "replication/context.hpp"

#include <fmt/format.h>

namespace chromawal::detail {

context::context(client_config config_in, std::unique_ptr<wal::log_store> store_in)
    : config(std::move(config_in)), metrics([this] {
          std::vector<std::string> names;
          for (const auto& ic : config.instances) names.push_back(ic.name);
          return names;
      }()) {
    // Before the log guard, which may emit log_unavailable at a degraded start.
    if (!config.alert_webhook_url.empty())
        alerts = std::make_unique<alert_queue>(config.alert_webhook_url, config.secrets(), metrics);
    store = std::make_unique<log_guard>(
        std::move(store_in),
        [this](event::kind kind, const std::string& message) {
            // The log was away: what the instances record may have changed meanwhile.
            if (kind == event::kind::log_recovered) {
                for (auto& i : instances) i->reset_claim();
            }
            emit(kind, {}, message);
        },
        !config.background_threads);
    for (const auto& ic : config.instances) {
        auto inst = std::make_unique<instance_state>(ic, config.tenant, config.database);
        inst->set_thresholds(config.down_after_failures, config.up_after_successes, config.min_down_time);
        instance_names.push_back(ic.name);
        instances.push_back(std::move(inst));
    }
}

void context::emit(event::kind kind, const std::string& instance, const std::string& message) const {
    if (alerts) alerts->post(event{kind, instance, message});
    if (!config.on_event) return;
    try {
        config.on_event(event{kind, instance, message});
    } catch (...) {
        // An alert hook must never break replication.
    }
}

wal::lane_key context::key_for(const std::string& collection) const {
    return wal::lane_key{config.tenant, config.database, collection};
}

instance_state& context::instance_named(std::string_view name, const char* what) {
    for (auto& i : instances) {
        if (i->name() == name) return *i;
    }
    std::string known;
    for (const auto& n : instance_names) known += (known.empty() ? "" : ", ") + n;
    throw invalid_argument(fmt::format("{}: no instance named '{}' (configured: {})", what, name, known));
}

}  // namespace chromawal::detail
