#pragma once
// Building chromawal::status_report (replicated_client::status()) from the log store and the
// instances; status.cpp serialises it.
//
// Owns: nothing. May touch: context (log store, instances), read only.
// Thread-safety: build_status() may be called from any thread at once.

#include <chromawal/client.hpp>

#include "replication/context.hpp"

namespace chromawal::detail {

/// The log's counts (or why it is unreachable) and, per instance, health, applied positions and
/// lag. `sync_running`: whether the sync thread runs (the sync worker knows).
chromawal::status_report build_status(context& ctx, bool sync_running);

}  // namespace chromawal::detail
