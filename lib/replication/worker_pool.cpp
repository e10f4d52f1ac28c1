// worker_pool: see worker_pool.hpp.
#include "replication/worker_pool.hpp"

#include <utility>

namespace chromawal::detail {

worker_pool::~worker_pool() {
    std::vector<std::thread> done;
    {
        std::unique_lock<std::mutex> lock(m_);
        stopping_ = true;
        cv_.notify_all();
        exited_.wait(lock, [&] { return alive_ == 0; });  // every queued task has run
        done.swap(finished_);
        for (auto& t : running_) done.push_back(std::move(t));  // none left: alive_ is 0
        running_.clear();
    }
    for (auto& t : done) t.join();
}

void worker_pool::run(std::function<void()> task) {
    std::vector<std::thread> done;
    {
        std::lock_guard<std::mutex> lock(m_);
        tasks_.push_back(std::move(task));
        done.swap(finished_);
        if (idle_count_ >= tasks_.size()) {
            cv_.notify_one();
        } else {
            ++alive_;
            auto self = running_.emplace(running_.end());
            *self = std::thread([this, self] { work(self); });
        }
    }
    for (auto& t : done) t.join();
}

std::size_t worker_pool::threads() const {
    std::lock_guard<std::mutex> lock(m_);
    return alive_;
}

void worker_pool::work(std::list<std::thread>::iterator self) {
    std::unique_lock<std::mutex> lock(m_);
    for (;;) {
        if (tasks_.empty()) {
            if (stopping_) break;
            ++idle_count_;
            const bool woken = cv_.wait_for(lock, idle_, [&] { return !tasks_.empty() || stopping_; });
            --idle_count_;
            if (!woken) break;  // idle too long
            continue;
        }
        std::function<void()> task = std::move(tasks_.front());
        tasks_.pop_front();
        lock.unlock();
        task();
        task = nullptr;  // what it captured goes before the pool may be destroyed
        lock.lock();
    }
    --alive_;
    finished_.push_back(std::move(*self));  // joined by another thread once this one has returned
    running_.erase(self);
    exited_.notify_all();
}

}  // namespace chromawal::detail
