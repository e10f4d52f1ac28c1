// The alert webhook's queue and sender (see alerts.hpp).
#include "ops/alerts.hpp"

#include <chromawal/redact.hpp>

#include "http/transport.hpp"
#include "json/writer.hpp"

#include <fmt/format.h>

namespace chromawal::detail {

namespace {
constexpr int attempts = 4;
constexpr std::chrono::milliseconds attempt_timeout{5000};
constexpr std::chrono::milliseconds first_retry_delay{1000};
}  // namespace

alert_queue::alert_queue(std::string url, std::vector<std::string> secrets, metrics_registry& metrics)
    : url_(std::move(url)), secrets_(std::move(secrets)), metrics_(metrics) {
    thread_ = std::thread([this] { run(); });
}

alert_queue::~alert_queue() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::string alert_queue::body(const event& e, double epoch_seconds, const std::vector<std::string>& secrets) {
    const std::string message = redact(e.message, secrets);
    const std::string instance = redact(e.instance, secrets);
    std::string text = fmt::format("chromawal: {}", to_string(e.type));
    if (!instance.empty()) text += fmt::format(" on instance '{}'", instance);
    if (!message.empty()) text += ": " + message;
    std::string out;
    json::writer w(out);
    w.begin_object();
    w.key("text").string(text);
    w.key("event").string(to_string(e.type));
    w.key("instance").string(instance);
    w.key("message").string(message);
    w.key("time").floating(epoch_seconds);
    w.end_object();
    return out;
}

void alert_queue::post(const event& e) {
    const auto now = std::chrono::steady_clock::now();
    const std::string key = fmt::format("{}\n{}\n{}", to_string(e.type), e.instance, e.message);
    const double epoch = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::string text = body(e, epoch, secrets_);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) return;
        if (recent_.size() > 1024) {
            for (auto it = recent_.begin(); it != recent_.end();) {
                it = now - it->second >= dedup_window ? recent_.erase(it) : std::next(it);
            }
        }
        auto found = recent_.find(key);
        if (found != recent_.end() && now - found->second < dedup_window) {
            metrics_.count_alert(alert_outcome::duplicate);
            return;
        }
        if (queue_.size() >= capacity) {
            metrics_.count_alert(alert_outcome::dropped);
            return;
        }
        recent_[key] = now;
        queue_.push_back(std::move(text));
    }
    wake_.notify_one();
}

void alert_queue::run() {
    http::transport_options options;
    options.request_timeout = attempt_timeout;
    options.connect_timeout = attempt_timeout;
    options.user_agent = "chromawal-alerts";
    http::transport transport(options);
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        const std::string payload = std::move(queue_.front());
        queue_.pop_front();
        bool sent = false;
        auto delay = first_retry_delay;
        for (int attempt = 1; attempt <= attempts && !sent; ++attempt) {
            lock.unlock();
            bool retry = true;
            try {
                const http::response r = transport.request(http::method::post, url_, payload);
                sent = r.status >= 200 && r.status < 300;
                // A 4xx other than "too many requests" will not change by itself.
                retry = !(r.status >= 400 && r.status < 500 && r.status != 429);
            } catch (const std::exception&) {
                // Its message may quote the URL, which is a secret: only the count is kept.
            }
            lock.lock();
            if (sent || !retry || attempt == attempts) break;
            if (wake_.wait_for(lock, delay, [this] { return stopping_; })) return;
            delay *= 2;
        }
        metrics_.count_alert(sent ? alert_outcome::sent : alert_outcome::failed);
    }
}

}  // namespace chromawal::detail
