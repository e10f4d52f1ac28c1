// replicated_client: construction, and starting and stopping the background threads of its
// components (see replicated_client.hpp for the wiring).
#include "replication/replicated_client.hpp"

#include "json/writer.hpp"
#include "replication/status_builder.hpp"

#include <fmt/format.h>

namespace chromawal::detail {

replicated_client::replicated_client(client_config config, std::unique_ptr<wal::log_store> store,
                                     const std::string& note)
    : ctx_(std::move(config), std::move(store)), scope_(wal::database_lane(ctx_.config.tenant, ctx_.config.database)) {
    if (!note.empty()) ctx_.emit(event::kind::log_default, {}, note);
    ctx_.store->set_record_apply_history(ctx_.config.record_apply_history);
    // Degraded start when the log is unreachable: reads work, writes raise log_unavailable, and
    // the sync thread (or, without it, the next call) reconnects and migrates.
    ctx_.store->start();
    if (!ctx_.config.metrics_address.empty()) {
        metrics_listener::handlers h;
        h.metrics = [this] { return scrape(false); };
        h.status = [this] { return scrape(true); };
        h.health = [this] { return health_answer(); };
        listener_ = std::make_unique<metrics_listener>(ctx_.config.metrics_address, std::move(h));
    }
}

replicated_client::~replicated_client() {
    listener_.reset();  // no scrape may run while the components go
    stop_background();
}

void replicated_client::start_background() {
    if (!ctx_.config.background_threads || sync_.started()) return;
    health_.start();
    sync_.start();
}

void replicated_client::stop_background() {
    // Same order as ever: flag, wake both, join the sync thread, then the health threads.
    ctx_.stopping = true;
    sync_.request_stop();
    health_.request_stop();
    sync_.join();
    health_.join();
    sync_.mark_stopped();
}

chromawal::status_report replicated_client::status() {
    chromawal::status_report s = build_status(ctx_, sync_.running());
    s.metrics = ctx_.metrics.snapshot();
    return s;
}

http_answer replicated_client::scrape(bool json) {
    std::lock_guard<std::mutex> lock(scrape_mutex_);
    const chromawal::status_report s = status();
    if (json) return {200, "application/json", s.to_json()};
    return {200, "text/plain; version=0.0.4; charset=utf-8", s.to_prometheus()};
}

http_answer replicated_client::health_answer() const {
    std::size_t healthy = 0;
    for (const auto& inst : ctx_.instances) {
        if (inst->healthy()) ++healthy;
    }
    const bool log_ok = ctx_.store->reachable();
    const std::size_t quorum = ctx_.config.write_quorum;
    std::string reason;
    if (!log_ok) reason = "the log store is unreachable";
    if (healthy < quorum) {
        reason += fmt::format("{}{} of {} instances healthy, write_quorum is {}", reason.empty() ? "" : "; ", healthy,
                              ctx_.instances.size(), quorum);
    }
    std::string body;
    json::writer w(body);
    w.begin_object();
    w.key("status").string(reason.empty() ? "ok" : "unavailable");
    if (!reason.empty()) w.key("reason").string(reason);
    w.key("log_reachable").boolean(log_ok);
    w.key("healthy_instances").integer(static_cast<std::int64_t>(healthy));
    w.key("instances").integer(static_cast<std::int64_t>(ctx_.instances.size()));
    w.key("write_quorum").integer(static_cast<std::int64_t>(quorum));
    w.end_object();
    body += '\n';
    return {reason.empty() ? 200 : 503, "application/json", body};
}

}  // namespace chromawal::detail
