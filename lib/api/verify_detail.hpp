#pragma once
// The record comparison behind verify_collection, shared with the replicated client's repair:
// one reading of a collection, one canonical record hash, one per-id walk. Private.

#include <chromawal/verify.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chromawal::detail {

/// The 128-bit hash of one record's canonical bytes (see collection_digest).
struct hash128 {
    std::uint64_t high = 0, low = 0;
    friend bool operator==(const hash128& x, const hash128& y) noexcept { return x.high == y.high && x.low == y.low; }
};

/// Appends record `i` of `r` to `out` in canonical form: id, document, metadata (sorted keys,
/// type tags, -0.0 as 0.0), embedding float32 bits; absent fields are tagged as absent.
void canonical_record(const get_result& r, std::size_t i, std::string& out);
/// The hash of canonical_record (`scratch` is reused between calls).
hash128 record_hash(const get_result& r, std::size_t i, std::string& scratch);
/// Adds a record's hash into a digest (mod 2^128).
void add_to_digest(collection_digest& d, const hash128& h) noexcept;

/// Every record of one collection on one instance, as stored.
struct collection_snapshot {
    bool exists = false;
    std::optional<collection_info> info;
    get_result records;              ///< with documents, metadatas and embeddings
    std::vector<std::size_t> order;  ///< indices of `records` sorted by id
};

/// Reads the whole collection in pages. @throws any error of chroma_client.
collection_snapshot read_snapshot(const chroma_client& c, std::string_view collection, std::size_t page_size);

enum class difference { only_a, only_b, different };

/// Walks both snapshots in id order and calls `f` for every id that is not the same on both:
/// (only_a, index in a, npos), (only_b, npos, index in b), (different, index in a, index in b).
void diff_snapshots(const collection_snapshot& a, const collection_snapshot& b,
                    const std::function<void(difference, std::size_t, std::size_t)>& f);

/// The digest of a snapshot (what digest_collection would give for it).
collection_digest snapshot_digest(const collection_snapshot& s);

/// The names of every collection of the client's database, in pages.
std::vector<std::string> all_collection_names(const chroma_client& c);

}  // namespace chromawal::detail
