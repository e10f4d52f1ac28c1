#pragma once
/// @file
/// Comparing the stored records of a collection on two Chroma instances.

#include <chromawal/chroma_client.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chromawal {

/// How one collection differs between two instances (a and b).
struct verify_report {
    std::string collection;
    bool exists_a = false, exists_b = false;
    std::size_t records_a = 0, records_b = 0;
    std::vector<std::string> only_in_a;  ///< ids (at most `max_listed`)
    std::vector<std::string> only_in_b;
    std::vector<std::string> different;  ///< ids whose document, metadata or embedding differ
    /// True when both hold exactly the same records (or neither has the collection).
    [[nodiscard]] bool identical() const noexcept {
        return exists_a == exists_b && records_a == records_b && only_in_a.empty() && only_in_b.empty() &&
               different.empty();
    }
    /// A one-paragraph human-readable summary.
    [[nodiscard]] std::string summary() const;
};

/// Reads every record (ids, documents, metadata, embeddings) of the collection from both
/// instances, in pages, and compares them exactly (embeddings bit for bit as float32). Never
/// compares query results: HNSW top-k may legitimately differ between servers.
/// @throws any error of chroma_client (transport, server).
verify_report verify_collection(const chroma_client& a, const chroma_client& b, std::string_view collection,
                                std::size_t page_size = 1000, std::size_t max_listed = 100);

}  // namespace chromawal
