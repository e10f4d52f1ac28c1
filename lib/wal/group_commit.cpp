#include "wal/group_commit.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <utility>

#include "chromawal/error.hpp"

namespace chromawal::wal {
namespace {

std::vector<const new_entry*> pointers(const std::vector<new_entry>& entries) {
    std::vector<const new_entry*> out;
    out.reserve(entries.size());
    for (const auto& e : entries) out.push_back(&e);
    return out;
}

}  // namespace

group_commit::group_commit(std::unique_ptr<append_backend> backend, std::string name)
    : backend_(std::move(backend)), name_(std::move(name)) {}

group_commit::~group_commit() = default;

std::size_t group_commit::queued() const {
    std::lock_guard<std::mutex> lock(append_mutex_);
    std::size_t n = 0;
    for (const auto& q : append_queues_) n += q.second.size();
    return n;
}

struct group_commit::append_request {
    const std::vector<new_entry>* entries = nullptr;
    std::vector<appended> out;
    std::exception_ptr error;
    bool done = false;
    bool lead = false;
    std::condition_variable wake;
};

std::vector<appended> group_commit::append(const std::vector<new_entry>& entries) {
    if (entries.empty()) return {};
    const lane_key& lane = entries.front().lane;
    const bool one_lane =
        std::all_of(entries.begin(), entries.end(), [&](const new_entry& e) { return e.lane == lane; });
    // A rename moves its name to another lane: the calls behind it must go in later
    // transactions (to the lane holding the name then), so it is never combined.
    const bool rename =
        std::any_of(entries.begin(), entries.end(), [](const new_entry& e) { return !e.rename_to.empty(); });
    if (!one_lane || rename) {
        try {
            return backend_->append_now(pointers(entries));
        } catch (...) {
            std::rethrow_exception(backend_->public_error(std::current_exception()));
        }
    }

    std::string key = lane.tenant;
    key += '\0';
    key += lane.database;
    key += '\0';
    key += lane.collection;
    append_request self;
    self.entries = &entries;

    std::unique_lock<std::mutex> lock(append_mutex_);
    auto it = append_queues_.find(key);
    if (it == append_queues_.end()) {
        it = append_queues_.emplace(key, std::deque<append_request*>()).first;
    } else {
        it->second.push_back(&self);
        self.wake.wait(lock, [&] { return self.done || self.lead; });
        if (self.done) {
            if (self.error) std::rethrow_exception(self.error);
            return std::move(self.out);
        }
        it = append_queues_.find(key);  // still there: a lane's queue lives while it has a leader
    }

    // Leader: this call and whatever queued behind the previous round, within limits.
    constexpr std::size_t max_round_entries = 5000;
    constexpr std::size_t max_round_bytes = 8u << 20;
    std::deque<append_request*>& waiting = it->second;
    std::vector<append_request*> round;
    // However this ends, the calls of the round learn their outcome and the next waiting call
    // leads the next round (or the lane's queue goes).
    struct hand_over {
        group_commit& store;
        const std::string& key;
        std::deque<append_request*>& waiting;
        std::vector<append_request*>& round;
        append_request& self;
        ~hand_over() {
            std::lock_guard<std::mutex> guard(store.append_mutex_);
            for (auto* r : round) {
                if (r == &self) continue;
                if (!r->error && r->out.size() != r->entries->size()) {
                    r->error = std::make_exception_ptr(chromawal::error(store.name_ + ": append failed"));
                }
                r->done = true;
                r->wake.notify_one();
            }
            if (waiting.empty()) {
                store.append_queues_.erase(key);
            } else {
                append_request* next = waiting.front();
                waiting.pop_front();
                next->lead = true;
                next->wake.notify_one();
            }
        }
    };
    round.reserve(waiting.size() + 1);
    round.push_back(&self);
    std::size_t round_entries = entries.size();
    std::size_t round_bytes = 0;
    for (const auto& e : entries) round_bytes += e.payload.size();
    while (!waiting.empty()) {
        std::size_t bytes = 0;
        for (const auto& e : *waiting.front()->entries) bytes += e.payload.size();
        if (round_entries + waiting.front()->entries->size() > max_round_entries ||
            round_bytes + bytes > max_round_bytes) {
            break;
        }
        round_entries += waiting.front()->entries->size();
        round_bytes += bytes;
        round.push_back(waiting.front());
        waiting.pop_front();
    }
    lock.unlock();
    {
        hand_over done{*this, key, waiting, round, self};
        auto run_alone = [&](append_request& r) {
            try {
                r.out = backend_->append_now(pointers(*r.entries));
            } catch (...) {
                r.error = backend_->public_error(std::current_exception());
            }
        };
        if (round.size() == 1) {
            run_alone(self);
        } else {
            try {
                std::vector<const new_entry*> all;
                all.reserve(round_entries);
                for (auto* r : round) {
                    for (const auto& e : *r->entries) all.push_back(&e);
                }
                bool refused = false;
                std::vector<appended> out;
                try {
                    out = backend_->append_now(all);
                } catch (...) {
                    // e.g. a duplicate id, or the server refused the statement: nothing was committed
                    if (!backend_->refused(std::current_exception())) throw;
                    refused = true;
                }
                if (refused) {
                    // Find out which call it was: each on its own.
                    for (auto* r : round) run_alone(*r);
                } else {
                    std::size_t at = 0;
                    for (auto* r : round) {
                        r->out.assign(out.begin() + static_cast<std::ptrdiff_t>(at),
                                      out.begin() + static_cast<std::ptrdiff_t>(at + r->entries->size()));
                        at += r->entries->size();
                    }
                }
            } catch (...) {
                auto error = backend_->public_error(
                    std::current_exception());  // e.g. the store is away: the same for every call
                for (auto* r : round) {
                    if (r->out.size() != r->entries->size()) r->error = error;
                }
            }
        }
    }
    if (self.error) std::rethrow_exception(self.error);
    return std::move(self.out);
}

}  // namespace chromawal::wal
