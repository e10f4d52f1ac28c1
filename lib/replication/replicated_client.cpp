// replicated_client: construction, and starting and stopping the background threads of its
// components (see replicated_client.hpp for the wiring).
#include "replication/replicated_client.hpp"

#include "replication/status_builder.hpp"

namespace chromawal::detail {

replicated_client::replicated_client(client_config config, std::unique_ptr<wal::log_store> store,
                                     const std::string& note)
    : ctx_(std::move(config), std::move(store)) {
    if (!note.empty()) ctx_.emit(event::kind::log_default, {}, note);
    ctx_.store->set_record_apply_history(ctx_.config.record_apply_history);
    // Degraded start when the log is unreachable: reads work, writes raise log_unavailable, and
    // the sync thread (or, without it, the next call) reconnects and migrates.
    ctx_.store->start();
}

replicated_client::~replicated_client() { stop_background(); }

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

chromawal::status_report replicated_client::status() { return build_status(ctx_, sync_.running()); }

}  // namespace chromawal::detail
