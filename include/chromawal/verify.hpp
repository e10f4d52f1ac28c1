#pragma once
/// @file
/// Comparing the stored records of a collection on two Chroma instances.

#include <chromawal/chroma_client.hpp>
#include <chromawal/export.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chromawal {

/// How one collection differs between two instances (a and b).
struct CHROMAWAL_API verify_report {
    std::string collection_name;
    bool exists_a = false, exists_b = false;
    std::size_t records_a = 0, records_b = 0;
    std::vector<std::string> only_in_a;  ///< ids (at most `max_listed`)
    std::vector<std::string> only_in_b;
    std::vector<std::string> different;  ///< ids whose document, metadata or embedding differ
    /// Order-independent digests of every record on a and b (collection_digest::hex(); empty
    /// for a missing collection).
    std::string digest_a, digest_b;
    /// True when the records were compared id by id (the digests or counts differed, or
    /// verify_collection was asked for an exact comparison); false when equal digests sufficed.
    bool compared_ids = false;
    /// True when both hold exactly the same records (or neither has the collection).
    [[nodiscard]] bool identical() const noexcept {
        return exists_a == exists_b && records_a == records_b && only_in_a.empty() && only_in_b.empty() &&
               different.empty();
    }
    /// A one-paragraph human-readable summary.
    [[nodiscard]] std::string summary() const;
};

/// An order-independent digest of the stored records of one collection on one instance: the
/// sum (mod 2^128) of a 128-bit hash of each record's canonical bytes (id, document, metadata
/// with sorted keys and type tags, embedding float32 bits). Two instances holding the same
/// records have the same digest, whatever order the server returns them in.
struct CHROMAWAL_API collection_digest {
    bool exists = false;
    std::size_t records = 0;
    std::uint64_t high = 0, low = 0;
    /// 32 lowercase hex digits; empty when the collection does not exist.
    [[nodiscard]] std::string hex() const;
    friend bool operator==(const collection_digest& x, const collection_digest& y) noexcept {
        return x.exists == y.exists && x.records == y.records && x.high == y.high && x.low == y.low;
    }
    friend bool operator!=(const collection_digest& x, const collection_digest& y) noexcept { return !(x == y); }
};

/// How to read and report a comparison. Plain value with documented defaults.
struct compare_options {
    /// Records read per request (one page is held in memory at a time by a digest).
    std::size_t page_size = 1000;
    /// Ids listed per kind of difference in a verify_report (the counts are always exact).
    std::size_t max_listed = 100;
};

/// Reads every record of the collection in pages (holding one page at a time) and returns its
/// digest (options.max_listed is not used). @throws any error of chroma_client (transport, server).
CHROMAWAL_API collection_digest digest_collection(const chroma_client& c, std::string_view collection,
                                                  const compare_options& options = {});

/// Reads every record (ids, documents, metadata, embeddings) of the collection from both
/// instances, in pages, and compares them exactly (embeddings bit for bit as float32). Never
/// compares query results: HNSW top-k may legitimately differ between servers. Holds both
/// collections in memory. Fills the digests too.
/// @throws any error of chroma_client (transport, server).
CHROMAWAL_API verify_report verify_collection(const chroma_client& a, const chroma_client& b,
                                              std::string_view collection, const compare_options& options = {});

/// Digests first: computes both instances' collection_digest (one page in memory at a time)
/// and, only when the counts or digests differ, compares per id with verify_collection.
/// Records written while it runs may show up as differences: verify a quiet collection.
CHROMAWAL_API verify_report verify_collection_by_digest(const chroma_client& a, const chroma_client& b,
                                                        std::string_view collection,
                                                        const compare_options& options = {});

}  // namespace chromawal
