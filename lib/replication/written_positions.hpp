#pragma once
// Read-your-writes bookkeeping: per collection, the lane and the position of this client's last
// write. The writer notes positions; the read router asks which position a read must see.
//
// Owns: the map of last written positions (nothing else). May touch: nothing.
// Thread-safety: every member function is safe from any thread (one mutex).

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace chromawal::detail {

class written_positions {
public:
    void note(const std::string& collection, std::int64_t lane_id, std::int64_t position) {
        std::lock_guard<std::mutex> lock(mutex_);
        auto& w = last_written_[collection];
        w.first = lane_id;
        w.second = std::max(w.second, position);
    }

    /// {lane id, position} of the last write to `collection`, or {0, 0} when there was none.
    std::pair<std::int64_t, std::int64_t> last(const std::string& collection) const {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = last_written_.find(collection);
        if (it != last_written_.end()) return it->second;
        return {0, 0};
    }

private:
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::pair<std::int64_t, std::int64_t>> last_written_;
};

}  // namespace chromawal::detail
