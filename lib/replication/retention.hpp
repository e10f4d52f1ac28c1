#pragma once
// Retention and the log's audit reads: pruning applied entries (on demand, and from the sync
// thread every prune_interval), listing dead letters and an instance's apply history.
//
// Owns: the time of the next automatic retention run.
// May touch: context (config, log store, instance lookup). Never talks to an instance.
// Used by: replicated_client (prune, dead_letters, apply_history) and sync_worker (maybe_prune).
//
// Thread-safety: every member function is safe from any thread; maybe_prune() lets one caller
// per interval through (prune mutex), the log store serialises the rest.

#include <chromawal/client.hpp>

#include "replication/context.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <vector>

namespace chromawal::detail {

class retention {
public:
    explicit retention(context& ctx) : ctx_(ctx) {}

    /// Marks what every configured instance has applied, then prunes what retention allows.
    std::int64_t prune();
    /// The sync thread's automatic retention run, at most once per prune_interval; never throws.
    void maybe_prune();
    std::vector<dead_letter_info> dead_letters(std::size_t limit);
    std::vector<apply_history_entry> apply_history(std::string_view instance, std::string_view collection);

private:
    context& ctx_;
    std::mutex prune_mutex_;
    std::chrono::steady_clock::time_point next_prune_{};  // the sync thread's next retention run
};

}  // namespace chromawal::detail
