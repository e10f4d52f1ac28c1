#pragma once
// Lane locks of the PostgreSQL log store: who may apply one lane to one instance.
//
// Owns: taking the session advisory lock of (instance, lane) on a pooled connection (keys from
// keys.hpp; a bounded wait, in server-side waits of at most 10 s each, woken the moment the
// holder lets go), reading the instance's applied position in the same statement once the lock
// is taken (lock_applied: a read with a snapshot from after the lock), and the lock object
// (pg_lane_lock, in the .cpp) that reads and advances the applied position while holding it and
// lets go either by itself (unlock) or with its last advance (advance_release: committed, then
// unlocked, one round trip). Calls: the pool (run, release, drop_idle), the statements
// lock_applied, unlock, applied, read, advance, advance_release, head.
//
// Thread-safety: a lane lock owns one pooled connection until it is destroyed and is used by
// one thread at a time; it may outlive the store (it shares the pool). A thread that holds a
// lane lock and calls the store needs a second connection: keep max_connections above the
// number of lane locks held at once. A lock whose connection broke is lost: its calls throw
// chromawal::log_unavailable, and closing the session released it on the server.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include "wal/log_store.hpp"

namespace chromawal::wal::pg {

struct pool;

/// The lane lock of (instance, lane_id), waiting for it up to `wait` (0: only try); nullptr
/// when another holder kept it that long. The lock holds one of the pool's connections.
/// @throws chromawal::log_unavailable when the store cannot be reached.
std::unique_ptr<lane_lock> take_lane_lock(const std::shared_ptr<pool>& shared, std::string_view instance,
                                          std::int64_t lane_id, std::chrono::milliseconds wait);

}  // namespace chromawal::wal::pg
