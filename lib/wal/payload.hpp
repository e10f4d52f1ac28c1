#pragma once
// Log entry payloads. Record writes (add, upsert, update) are stored in a compact binary form
// with embeddings as raw little-endian float32 (never decimal text) and metadata as compact
// JSON; other operations store the Chroma request body they replay. No header, token or
// instance-specific id (collection UUID) is ever part of a payload.
//
// Binary record payload, version 1 (all integers little-endian):
//   u8 version, u8 flags (1 embeddings, 2 documents, 4 metadatas, 8 uris), u32 count, u32 dim,
//   count x (u32 len, bytes) ids,
//   count*dim x f32 embeddings                          (if flag 1)
//   count x (u32 len | 0xFFFFFFFF for null, bytes) for documents, metadatas, uris (if flagged)

#include <chromawal/chroma_client.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chromawal::wal {

/// The decoded form of a record payload, ready to be re-encoded as a request body.
struct records_payload {
    std::vector<std::string> ids;
    std::vector<float> embeddings;  // count * dim, empty when not given
    std::uint32_t dim = 0;
    bool has_documents = false, has_metadatas = false, has_uris = false;
    std::vector<std::optional<std::string>> documents;
    std::vector<std::optional<std::string>> metadatas;  // compact JSON objects
    std::vector<std::optional<std::string>> uris;
};

/// Encodes (already validated) records.
std::string encode_records(const record_set& records);
/// @throws chromawal::error on a corrupt payload.
records_payload decode_records(std::string_view payload);

/// The request body of add/upsert/update for several payloads merged in order. The caller
/// guarantees that they share embedding presence and dimension and have disjoint ids.
void write_records_body(std::string& out, const std::vector<const records_payload*>& parts, bool base64);

/// Records [first, first + count) of `p`, with the same shape (dimension and which fields it
/// has). The caller guarantees first + count <= p.ids.size().
records_payload slice_records(const records_payload& p, std::size_t first, std::size_t count);

/// `p` cut into consecutive slices of at most `max_records` records each (max_records > 0).
std::vector<records_payload> split_records(const records_payload& p, std::size_t max_records);

/// The estimated size of record `i` of `p` in a request body (embeddings as base64 or as JSON
/// numbers; ids, documents, metadata and URIs with their JSON overhead). An estimate, not an
/// exact count: callers keep well below the server's body limit.
std::size_t record_bytes(const records_payload& p, std::size_t i, bool base64);
/// The estimated request-body size of all of `p` (the sum of record_bytes).
std::size_t payload_bytes(const records_payload& p, bool base64);

/// `p` cut into consecutive slices of at most `max_records` records (max_records > 0) and at
/// most `max_bytes` estimated bytes each; a slice holds at least one record, so a single record
/// larger than `max_bytes` goes alone.
std::vector<records_payload> split_records(const records_payload& p, std::size_t max_records, std::size_t max_bytes,
                                           bool base64);

/// True when the two payloads can go into one request (same shape, disjoint ids).
bool can_merge(const records_payload& a, const records_payload& b);

}  // namespace chromawal::wal
