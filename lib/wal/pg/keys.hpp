#pragma once
// Identifiers and advisory-lock keys of the PostgreSQL log store.
//
// Owns: the schema-name check, the FNV-1a hash and the two-part keys of the advisory locks
// (migration lock, an instance's lane locks). A key is part of the on-database protocol:
// processes of different versions sharing a log must compute the same keys, so changing one
// is a breaking change. Calls: nothing but the standard library. Thread-safety: pure functions.

#include <cstdint>
#include <string>
#include <string_view>

namespace chromawal::wal::pg {

/// First key of the lock that serialises migrate() (second key: fnv1a32 of the schema).
inline constexpr std::int32_t migrate_lock_key = 0x63774d31;  // "cwM1"

/// [a-z_][a-z0-9_]*, at most 63 characters: safe to quote into SQL.
bool valid_schema(const std::string& s);

std::int32_t fnv1a32(std::string_view s);

/// First key of an instance's lane locks; the schema is mixed in so that two logs in one
/// database do not contend.
std::int32_t instance_lock_key(const std::string& schema, std::string_view instance);

/// Second key of a lane lock: the lane id's low 32 bits.
std::int32_t lane_lock_key(std::int64_t lane_id);

}  // namespace chromawal::wal::pg
