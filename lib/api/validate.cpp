#include "api/validate.hpp"

#include "json/reader.hpp"

#include <fmt/format.h>

#include <cmath>
#include <string>
#include <unordered_set>

namespace chromawal::detail {

const char* op_name(write_op op) noexcept {
    switch (op) {
        case write_op::add:
            return "add";
        case write_op::upsert:
            return "upsert";
        case write_op::update:
            return "update";
    }
    return "write";
}

namespace {

[[noreturn]] void fail(const std::string& message) { throw invalid_argument(message); }

std::string shorten(std::string_view s) {
    if (s.size() <= 40) return std::string(s);
    return std::string(s.substr(0, 37)) + "...";
}

void check_utf8(std::string_view s, std::string_view what, std::string_view in) {
    if (!json::valid_utf8(s)) fail(fmt::format("Expected {} to be valid UTF-8 text in {}.", what, in));
}

void validate_ids(const std::vector<std::string>& ids, std::string_view in, bool allow_empty_list) {
    if (ids.empty()) {
        if (allow_empty_list) return;
        fail(fmt::format("Expected IDs to be a non-empty list, got 0 IDs in {}.", in));
    }
    std::unordered_set<std::string_view> seen, reported;
    seen.reserve(ids.size() * 2);
    std::vector<std::string_view> duplicates;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const std::string& id = ids[i];
        if (id.empty())
            fail(fmt::format("Expected ID to be a non-empty str, got an empty ID at index {} in {}.", i, in));
        check_utf8(id, fmt::format("ID at index {}", i), in);
        if (!seen.insert(id).second && reported.insert(id).second && duplicates.size() < 5) duplicates.push_back(id);
    }
    if (!duplicates.empty()) {
        std::string list;
        for (auto d : duplicates) list += (list.empty() ? "" : ", ") + shorten(d);
        fail(fmt::format("Expected IDs to be unique, found duplicates of: {} in {}.", list, in));
    }
}

void validate_key(std::string_view key, std::string_view what, std::string_view in) {
    if (key.empty()) fail(fmt::format("Expected {} keys to be non-empty strings in {}.", what, in));
    if (key.front() == '#' || key.front() == '$') {
        fail(fmt::format("Expected {} key to not start with '#' or '$', got '{}' in {}.", what, shorten(key), in));
    }
    if (key == "chroma:document") {
        fail(fmt::format("Expected {} key 'chroma:document' to be unused: it is reserved by Chroma, in {}.", what, in));
    }
    check_utf8(key, fmt::format("{} key", what), in);
}

void validate_value(const metadata_value& v, std::string_view key, std::string_view what, std::string_view in,
                    bool allow_null, bool allow_arrays) {
    using kind = metadata_value::kind;
    switch (v.type()) {
        case kind::null:
            if (!allow_null) {
                fail(
                    fmt::format("Expected {} value for '{}' to be a str, int, float, bool or list, got None "
                                "(None removes a key only in update and upsert) in {}.",
                                what, shorten(key), in));
            }
            break;
        case kind::floating:
            if (!std::isfinite(v.get<double>())) {
                fail(fmt::format("Expected {} value for '{}' to be a finite number, got {} in {}.", what, shorten(key),
                                 v.get<double>(), in));
            }
            break;
        case kind::string:
            check_utf8(v.get<std::string>(), fmt::format("{} value for '{}'", what, shorten(key)), in);
            break;
        case kind::bool_array:
        case kind::int_array:
        case kind::float_array:
        case kind::string_array: {
            if (!allow_arrays)
                fail(fmt::format("Expected {} value for '{}' to not be a list in {}.", what, shorten(key), in));
            bool empty = std::visit(
                [](const auto& a) {
                    if constexpr (std::is_same_v<std::decay_t<decltype(a)>, std::nullptr_t> ||
                                  std::is_arithmetic_v<std::decay_t<decltype(a)>> ||
                                  std::is_same_v<std::decay_t<decltype(a)>, std::string>) {
                        return false;
                    } else {
                        return a.empty();
                    }
                },
                v.value());
            if (empty)
                fail(fmt::format("Expected {} list value for '{}' to be non-empty in {}.", what, shorten(key), in));
            if (const auto* fa = v.get_if<metadata_value::array_float>()) {
                for (double d : *fa) {
                    if (!std::isfinite(d))
                        fail(
                            fmt::format("Expected {} list '{}' to hold finite numbers in {}.", what, shorten(key), in));
                }
            }
            if (const auto* sa = v.get_if<metadata_value::array_string>()) {
                for (const auto& s : *sa) check_utf8(s, fmt::format("{} list '{}'", what, shorten(key)), in);
            }
            break;
        }
        default:
            break;
    }
}

void validate_record_metadata(const metadata_map& m, std::size_t index, write_op op) {
    const char* in = op_name(op);
    if (m.empty()) {
        fail(
            fmt::format("Expected metadata to be a non-empty dict, got {{}} at index {} in {} "
                        "(use std::nullopt for no metadata).",
                        index, in));
    }
    const std::string what = fmt::format("metadata at index {}", index);
    for (const auto& [key, value] : m) {
        validate_key(key, what, in);
        validate_value(value, key, what, in, op != write_op::add, true);
    }
}

}  // namespace

void validate_records(const record_set& r, write_op op) {
    const char* in = op_name(op);
    validate_ids(r.ids, in, false);
    const std::size_t n = r.ids.size();

    const embedding_view& e = r.embeddings;
    if (e.empty()) {
        if (op != write_op::update) {
            fail(
                fmt::format("Expected embeddings for every record in {}: chromawal computes no embeddings "
                            "(there is no embedding function), so {} needs them.",
                            in, in));
        }
    } else {
        if (e.dim() == 0) fail(fmt::format("Expected embedding dimension to be positive, got 0 in {}.", in));
        if (e.data() == nullptr)
            fail(fmt::format("Expected embeddings to point at data, got a null pointer in {}.", in));
        if (e.value_count() % e.dim() != 0) {
            fail(fmt::format("Expected embeddings to hold a multiple of the dimension {} values, got {} in {}.",
                             e.dim(), e.value_count(), in));
        }
    }

    // Equal lengths, named like Chroma's "Unequal lengths for fields: ids: 2, embeddings: 1".
    std::string unequal;
    auto check_len = [&](const char* field, std::size_t len, bool given) {
        if (given && len != n) unequal += fmt::format(", {}: {}", field, len);
    };
    check_len("embeddings", e.rows(), !e.empty());
    check_len("documents", r.documents.size(), !r.documents.empty());
    check_len("metadatas", r.metadatas.size(), !r.metadatas.empty());
    check_len("uris", r.uris.size(), !r.uris.empty());
    if (!unequal.empty()) fail(fmt::format("Unequal lengths for fields: ids: {}{} in {}.", n, unequal, in));

    if (op == write_op::update && e.empty() && r.documents.empty() && r.metadatas.empty() && r.uris.empty()) {
        fail("Expected at least one of embeddings, documents, metadatas or uris to update in update.");
    }

    if (!e.empty()) {
        const float* p = e.data();
        const std::size_t count = e.rows() * e.dim();
        for (std::size_t i = 0; i < count; ++i) {
            if (!std::isfinite(p[i])) {
                fail(fmt::format("Expected embeddings to be finite numbers, got {} in the embedding at index {} in {}.",
                                 p[i], i / e.dim(), in));
            }
        }
    }
    for (std::size_t i = 0; i < r.documents.size(); ++i) {
        if (r.documents[i]) check_utf8(*r.documents[i], fmt::format("document at index {}", i), in);
    }
    for (std::size_t i = 0; i < r.uris.size(); ++i) {
        if (r.uris[i]) check_utf8(*r.uris[i], fmt::format("URI at index {}", i), in);
    }
    for (std::size_t i = 0; i < r.metadatas.size(); ++i) {
        if (r.metadatas[i]) validate_record_metadata(*r.metadatas[i], i, op);
    }
}

void validate_get(const get_options& o) {
    if (o.ids) validate_ids(*o.ids, "get", true);
    if (has(o.include, include_fields::distances)) {
        fail(
            "Expected include to be a subset of documents, embeddings, metadatas, uris, got distances in get "
            "(distances exist only for query).");
    }
}

void validate_query(const query_options& o) {
    const embedding_view& e = o.query_embeddings;
    if (e.empty() || e.rows() == 0) fail("Expected query_embeddings to hold at least one embedding in query.");
    if (e.dim() == 0) fail("Expected embedding dimension to be positive, got 0 in query.");
    if (e.value_count() % e.dim() != 0) {
        fail(fmt::format("Expected query_embeddings to hold a multiple of the dimension {} values, got {} in query.",
                         e.dim(), e.value_count()));
    }
    const float* p = e.data();
    for (std::size_t i = 0; i < e.rows() * e.dim(); ++i) {
        if (!std::isfinite(p[i]))
            fail(fmt::format("Expected query embeddings to be finite numbers, got {} in query.", p[i]));
    }
    if (o.n_results == 0) fail("Number of requested results 0, cannot be negative, or zero. in query.");
    if (o.ids) validate_ids(*o.ids, "query", true);
}

void validate_delete(const delete_options& o) {
    if (o.ids.empty() && o.where.empty() && o.where_document.empty()) {
        fail("You must provide either ids, where, or where_document to delete. in delete.");
    }
    if (o.limit && o.where.empty() && o.where_document.empty()) {
        fail("limit can only be specified when a where or where_document clause is provided in delete.");
    }
    validate_ids(o.ids, "delete", true);
}

void validate_collection_metadata(const metadata_map& m, std::string_view in) {
    if (m.empty())
        fail(fmt::format("Expected collection metadata to be a non-empty dict in {} (leave it unset for none).", in));
    for (const auto& [key, value] : m) {
        validate_key(key, "collection metadata", in);
        validate_value(value, key, "collection metadata", in, false, false);
    }
}

void validate_collection_name(std::string_view name) {
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
    bool ok = name.size() >= 3 && name.size() <= 512 && alnum(name.front()) && alnum(name.back());
    for (char c : name) ok = ok && (alnum(c) || c == '.' || c == '_' || c == '-');
    if (!ok) {
        fail(
            // The server's words (so that chromawal and chromadb's client say the same).
            fmt::format("Validation error: name: Expected a name containing 3-512 characters from [a-zA-Z0-9._-], "
                        "starting and ending with a character in [a-zA-Z0-9]. Got: {}",
                        shorten(name)));
    }
}

void validate_name(std::string_view name, std::string_view what) {
    if (name.empty()) fail(fmt::format("Expected the {} name to be non-empty.", what));
    if (!json::valid_utf8(name)) fail(fmt::format("Expected the {} name to be valid UTF-8.", what));
}

void validate_idempotency_key(std::string_view key) {
    if (key.empty()) return;  // none: a random entry id
    if (key.size() > max_idempotency_key_bytes) {
        fail(fmt::format("Expected the idempotency key to be at most {} bytes, got {}.", max_idempotency_key_bytes,
                         key.size()));
    }
    if (key.find('\0') != std::string_view::npos) fail("Expected the idempotency key to contain no NUL character.");
    if (!json::valid_utf8(key)) fail("Expected the idempotency key to be valid UTF-8.");
}

void validate_create_options(const collection_options& o) {
    if (o.metadata) validate_collection_metadata(*o.metadata, "create_collection");
    if (!o.space.empty() && o.space != "l2" && o.space != "cosine" && o.space != "ip") {
        throw invalid_argument(fmt::format("Expected space to be one of l2, cosine, ip, got '{}'", o.space));
    }
    if (!o.space.empty() && !o.configuration_json.empty()) {
        throw invalid_argument("Expected either space or configuration_json in create_collection, not both");
    }
    auto object = [](const std::string& text, const char* what) {
        if (text.empty()) return;
        try {
            (void)json::compact_object(text, 0);
        } catch (const json::decode_error& e) {
            throw invalid_argument(fmt::format("Expected {} to be a JSON object: {}", what, e.what()));
        }
    };
    object(o.configuration_json, "configuration_json");
    object(o.schema_json, "schema_json");
}

}  // namespace chromawal::detail
