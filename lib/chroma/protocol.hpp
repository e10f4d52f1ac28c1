#pragma once
// Chroma REST v2: request bodies and response decoding. Pure functions over strings, so that
// they are unit-tested without a server (and fuzzed, later).

#include <chromawal/chroma_client.hpp>

#include "json/writer.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chromawal::chroma {

// ---- requests ----

/// The body of add / upsert / update for records [first, first + count).
/// `base64`: embeddings as base64 float32 strings (add, upsert, update all accept them).
void encode_records(std::string& out, const record_set& records, std::size_t first, std::size_t count, bool base64);
std::string encode_get(const get_options& options);
std::string encode_query(const query_options& options);
std::string encode_delete(const delete_options& options);
std::string encode_create_collection(std::string_view name, const collection_options& options, bool get_or_create);
std::string encode_modify(const modify_options& changes);
std::string encode_name(std::string_view name);  // {"name": ...}

/// Chroma's include names, e.g. ["documents","metadatas"].
void write_include(json::writer& w, include_fields set);

// ---- responses ----

struct error_body {
    std::string name;
    std::string message;
};
/// Chroma's {"error": name, "message": text}; for a non-JSON body, name is empty and message
/// is the body (shortened).
error_body decode_error(std::string& body);

/// Chroma's answer to a rename onto a name that a collection of the database holds (checked on
/// Chroma 1.x, the single-node server: HTTP 500, a SQLite UNIQUE constraint). The writer refuses
/// such a rename before logging it with this same error, as the official client reports it.
inline constexpr std::string_view name_taken_error_name = "InternalError";
inline constexpr std::string_view name_taken_message =
    "Database error: error returned from database: (code: 2067) UNIQUE constraint failed: collections.name, "
    "collections.database_id";
/// Whether an error answer is that refusal.
bool is_name_taken(int status, std::string_view server_message);

collection_info decode_collection(std::string& body);
std::vector<collection_info> decode_collections(std::string& body);
get_result decode_get(std::string& body);
query_result decode_query(std::string& body);
preflight_info decode_preflight(std::string& body);
std::int64_t decode_heartbeat(std::string& body);
std::string decode_string(std::string& body);     // a bare JSON string ("1.0.0")
std::uint64_t decode_integer(std::string& body);  // a bare JSON integer (counts)
std::size_t decode_deleted(std::string& body);    // {"deleted": n}, or {} -> 0
user_identity decode_identity(std::string& body);
database_info decode_database(std::string& body);
std::vector<database_info> decode_databases(std::string& body);
std::string decode_tenant_name(std::string& body);

// ---- log payloads (request bodies stored in the log, read back when replaying) ----

/// The "new_name" of a modify request body (see encode_modify), or nothing when the body has
/// none or is not a JSON object with a string "new_name". Never throws on a malformed body.
std::optional<std::string> decode_modify_new_name(std::string_view body);

}  // namespace chromawal::chroma
