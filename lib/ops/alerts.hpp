#pragma once
// The alert webhook (client_config::alert_webhook_url): every event is posted as JSON with a
// Slack-compatible "text" field, from a background thread, so that a slow or dead webhook never
// delays the thread that saw the event (a writer, the sync or health thread).
//
// Owns: a bounded queue of events (capacity 256; an event that finds it full is dropped and
// counted), the thread that posts them (each with up to 4 attempts, 1 s, 2 s, 4 s apart, 5 s
// per attempt), and the de-duplication window (an event identical to one accepted less than
// 60 s ago, same kind, instance and message, is counted and not sent again).
// May touch: http::transport (libcurl), json::writer, chromawal::redact, metrics_registry.
// Thread-safety: post() may be called from any thread at once and only takes the queue's mutex
// (never held across I/O). The webhook URL is a secret: it is never put in a message, a log
// or a metric; a failed post is counted, its error is not kept.

#include <chromawal/client.hpp>

#include "ops/metrics.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace chromawal::detail {

class alert_queue {
public:
    static constexpr std::size_t capacity = 256;
    static constexpr std::chrono::seconds dedup_window{60};

    /// `secrets`: hidden from every message posted (client_config::secrets()).
    alert_queue(std::string url, std::vector<std::string> secrets, metrics_registry& metrics);
    /// Stops the thread: the post in progress ends within its timeout, queued events are dropped.
    ~alert_queue();
    alert_queue(const alert_queue&) = delete;
    alert_queue& operator=(const alert_queue&) = delete;

    /// Queues the event (or counts it as a duplicate, or as dropped when the queue is full).
    void post(const event& e);

    /// The JSON body posted for an event (tests, and docs/operations.md shows one).
    static std::string body(const event& e, double epoch_seconds, const std::vector<std::string>& secrets);

private:
    void run();

    const std::string url_;
    const std::vector<std::string> secrets_;
    metrics_registry& metrics_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::string> queue_;                                        // bodies, ready to post
    std::map<std::string, std::chrono::steady_clock::time_point> recent_;  // de-duplication
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace chromawal::detail
