#pragma once
// Client-side validation, before anything is sent (or, later, logged). Messages follow the
// wording of Chroma's own client where it has one, and always name the offending field and
// index. Each function throws chromawal::invalid_argument.

#include <chromawal/chroma_client.hpp>

#include <cstddef>
#include <string_view>

namespace chromawal::detail {

enum class write_op { add, upsert, update };
const char* op_name(write_op op) noexcept;

void validate_records(const record_set& records, write_op op);
void validate_get(const get_options& options);
void validate_query(const query_options& options);
void validate_delete(const delete_options& options);
/// Collection metadata (create / modify): non-empty, no null values, no arrays.
void validate_collection_metadata(const metadata_map& m, std::string_view where);
/// create_collection's options: metadata, space, configuration_json and schema_json (JSON objects).
void validate_create_options(const collection_options& o);
/// Chroma's name rule: 3-512 characters from [a-zA-Z0-9._-], starting and ending with [a-zA-Z0-9].
void validate_collection_name(std::string_view name);
/// A tenant or database name: non-empty, valid UTF-8.
void validate_name(std::string_view name, std::string_view what);
inline constexpr std::size_t max_idempotency_key_bytes = 256;
/// write_options::idempotency_key: empty, or 1-256 bytes of valid UTF-8 without NUL.
void validate_idempotency_key(std::string_view key);

}  // namespace chromawal::detail
