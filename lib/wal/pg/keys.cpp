#include "wal/pg/keys.hpp"

#include <algorithm>

namespace chromawal::wal::pg {

bool valid_schema(const std::string& s) {
    if (s.empty() || s.size() > 63) return false;
    if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return false;
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

std::int32_t fnv1a32(std::string_view s) {
    std::uint32_t h = 2166136261u;
    for (char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 16777619u;
    }
    return static_cast<std::int32_t>(h);
}

std::int32_t instance_lock_key(const std::string& schema, std::string_view instance) {
    std::string s = schema;
    s += '\0';
    s.append(instance.data(), instance.size());
    std::int32_t k = fnv1a32(s);
    return k == migrate_lock_key ? k ^ 1 : k;
}

std::int32_t lane_lock_key(std::int64_t lane_id) {
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(static_cast<std::uint64_t>(lane_id)));
}

}  // namespace chromawal::wal::pg
