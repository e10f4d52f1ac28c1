// read_router: see read_router.hpp for what it owns, what it touches and its thread-safety.
#include "replication/read_router.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <random>
#include <tuple>

namespace chromawal::detail {

namespace {

using clock = std::chrono::steady_clock;

}  // namespace

std::vector<instance_state*> read_router::read_order() {
    std::vector<instance_state*> primaries, replicas;
    for (auto& i : ctx_.instances) {
        if (!i->healthy()) continue;
        (i->primary() ? primaries : replicas).push_back(i.get());
    }
    thread_local std::mt19937 rng{std::random_device{}()};
    std::shuffle(replicas.begin(), replicas.end(), rng);
    std::vector<instance_state*> out;
    switch (ctx_.config.read_policy) {
        case read_mode::primary_only:
            return primaries;
        case read_mode::primary_preferred:
            out = primaries;
            out.insert(out.end(), replicas.begin(), replicas.end());
            return out;
        case read_mode::replica_ratio: {
            std::uniform_real_distribution<double> u(0.0, 1.0);
            if (u(rng) < ctx_.config.replica_read_ratio) {
                out = replicas;
                out.insert(out.end(), primaries.begin(), primaries.end());
            } else {
                out = primaries;
                out.insert(out.end(), replicas.begin(), replicas.end());
            }
            return out;
        }
        case read_mode::nearest: {
            out = primaries;
            out.insert(out.end(), replicas.begin(), replicas.end());
            std::stable_sort(out.begin(), out.end(), [](instance_state* a, instance_state* b) {
                return a->health().latency_ms < b->health().latency_ms;
            });
            return out;
        }
    }
    return out;
}

void read_router::read(const wal::lane_key& key, read_options options,
                       const std::function<void(chroma_collection&)>& f) {
    const std::string& collection = key.collection;
    std::int64_t lane_id = 0, needed = 0;
    std::tie(lane_id, needed) = written_.last(wal::map_key(key));
    auto candidates = read_order();
    if (candidates.empty()) {
        throw no_instance_available(fmt::format("read of collection '{}': no healthy instance", collection), false, 0);
    }
    if (!options.allow_stale) {
        // An instance that missed pruned entries of this collection holds an unknown state.
        std::vector<instance_state*> repaired;
        for (auto* i : candidates) {
            if (!ctx_.configured(key) || !i->needs_repair(collection)) repaired.push_back(i);
        }
        if (repaired.empty()) {
            throw no_instance_available(
                fmt::format("read of collection '{}': every healthy instance needs a repair of it (see status); "
                            "pass read_options{{true}} for a stale read",
                            collection),
                false, 0);
        }
        candidates = std::move(repaired);
    }
    std::vector<instance_state*> usable;
    if (!options.allow_stale && needed > 0) {
        for (auto* i : candidates) {
            if (i->known_applied(lane_id) < needed) {
                // Another process may have applied it: ask the log once.
                try {
                    for (const auto& l : ctx_.store->all_lanes(i->name())) {
                        if (l.lane_id == lane_id) i->set_known_applied(lane_id, l.applied);
                    }
                } catch (const log_unavailable&) {
                }
            }
            if (i->known_applied(lane_id) >= needed) usable.push_back(i);
        }
        if (usable.empty()) {
            throw no_instance_available(
                fmt::format("read of collection '{}': no healthy instance has applied this client's last write "
                            "(position {}) yet; retry, or pass read_options{{true}} for a stale read",
                            collection, needed),
                true, needed);
        }
    } else {
        usable = candidates;
    }
    std::exception_ptr last;
    for (auto* inst : usable) {
        for (int attempt = 0; attempt < 2; ++attempt) {
            const auto started = clock::now();
            try {
                chroma_collection c = inst->resolve(key);
                f(c);
                inst->report_success(std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started),
                                     false);
                return;
            } catch (const not_found&) {
                inst->forget(key);
                if (attempt > 0) throw;  // re-resolved and still missing: it does not exist
            } catch (const server_rejected&) {
                throw;  // the request itself is wrong: another instance would say the same
            } catch (const error& e) {
                if (inst->report_failure(e.what())) ctx_.emit(event::kind::instance_down, inst->name(), e.what());
                last = std::current_exception();
                break;  // fail over to the next instance
            }
        }
    }
    std::rethrow_exception(last);
}

void read_router::read_any(const wal::lane_key& scope, const char* what,
                           const std::function<void(const chroma_client&)>& f) {
    std::exception_ptr last;
    for (auto* inst : read_order()) {
        try {
            f(inst->client(scope));
            return;
        } catch (const server_rejected&) {
            throw;  // not found, invalid: another instance would say the same
        } catch (const error&) {
            last = std::current_exception();
        }
    }
    if (last) std::rethrow_exception(last);
    throw no_instance_available(fmt::format("{}: no healthy instance", what), false, 0);
}

std::vector<std::string> read_router::list_collections(const wal::lane_key& scope, std::optional<std::size_t> limit,
                                                       std::size_t offset) {
    std::vector<std::string> names;
    read_any(scope, "list collections", [&](const chroma_client& c) {
        names.clear();
        for (const auto& col : c.list_collections(limit, offset)) names.push_back(col.name());
    });
    return names;
}

void read_router::require_collection(const wal::lane_key& key) {
    // Asked of the server, not the UUID cache: another client may have deleted it (or its
    // database) meanwhile.
    for (auto& i : ctx_.instances) i->forget(key);
    read(key, read_options{true}, [](chroma_collection&) {});
}

bool read_router::collection_exists(const wal::lane_key& key) {
    try {
        require_collection(key);
        return true;
    } catch (const not_found&) {
        return false;
    }
}

}  // namespace chromawal::detail
