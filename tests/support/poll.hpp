// Test support: waiting for a condition by polling it with a deadline, never by sleeping for a
// guessed time. Header-only; standard library and the public chromawal API.
#pragma once

#include <chromawal/chromawal.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace chromawal_test {

/// Polls `done` every 10 ms until it holds or `limit` passes; true when it held.
inline bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

/// Whether the client's health monitor has instance `name` marked healthy now.
inline bool instance_healthy(chromawal::client& c, const std::string& name) {
    for (const auto& i : c.status().instances) {
        if (i.name == name) return i.healthy;
    }
    return false;
}

/// Polls until the health monitor marks instance `name` healthy (or unhealthy), with a deadline.
inline bool wait_health(chromawal::client& c, const std::string& name, bool healthy,
                        std::chrono::milliseconds limit = std::chrono::seconds(15)) {
    return eventually([&] { return instance_healthy(c, name) == healthy; }, limit);
}

}  // namespace chromawal_test
