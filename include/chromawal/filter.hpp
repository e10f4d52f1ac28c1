#pragma once
/// @file
/// Typed builders for Chroma's `where` (metadata) and `where_document` (document text)
/// filters, plus a raw-JSON form. A filter is an immutable value holding its JSON text;
/// building one validates it, so a filter that exists is well formed.
///
/// @code
/// using chromawal::where;
/// auto w = where::eq("source", "wiki") && where::gte("year", 2020);
/// auto d = chromawal::where_document::contains("chroma") || chromawal::where_document::regex("^db");
/// @endcode

#include <chromawal/export.hpp>
#include <chromawal/types.hpp>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace chromawal {

/// A metadata filter. Default-constructed means "no filter".
/// Thread-safety: an immutable value; safe to share.
class CHROMAWAL_API where {
public:
    where() = default;

    /// Equality and order. `$gt`/`$gte`/`$lt`/`$lte` take numbers only.
    /// @throws invalid_argument for an empty key, a key starting with '$', or a null/array
    ///         operand (or a non-numeric operand for an order operator).
    static where eq(std::string_view key, const metadata_value& v);
    static where ne(std::string_view key, const metadata_value& v);
    static where gt(std::string_view key, const metadata_value& v);
    static where gte(std::string_view key, const metadata_value& v);
    static where lt(std::string_view key, const metadata_value& v);
    static where lte(std::string_view key, const metadata_value& v);
    /// Membership: the operand is a non-empty array of one type.
    /// @throws invalid_argument for a scalar or an empty array.
    static where in(std::string_view key, const metadata_value& values);
    static where nin(std::string_view key, const metadata_value& values);
    /// Array metadata contains (or not) the scalar `v`.
    static where contains(std::string_view key, const metadata_value& v);
    static where not_contains(std::string_view key, const metadata_value& v);
    /// `{"#document": {"$contains": text}}` inside a where clause.
    static where document_contains(std::string_view text);
    static where document_not_contains(std::string_view text);

    /// Logical combinations; empty filters in the list are ignored, and a single remaining
    /// filter is returned as is. @throws invalid_argument when no filter remains.
    static where all_of(std::vector<where> clauses);
    static where any_of(std::vector<where> clauses);

    /// A filter given as JSON text, e.g. `{"age": {"$gt": 3}}`.
    /// @throws invalid_argument unless the text is a JSON object with exactly one key.
    static where raw(std::string_view json);

    [[nodiscard]] bool empty() const noexcept { return json_.empty(); }
    /// The filter as compact JSON text ("" when empty).
    [[nodiscard]] const std::string& json() const noexcept { return json_; }

    friend where operator&&(const where& a, const where& b) { return all_of({a, b}); }
    friend where operator||(const where& a, const where& b) { return any_of({a, b}); }
    friend bool operator==(const where& a, const where& b) { return a.json_ == b.json_; }

private:
    explicit where(std::string json) : json_(std::move(json)) {}
    std::string json_;
};

/// A document-text filter. Default-constructed means "no filter".
/// Thread-safety: an immutable value; safe to share.
class CHROMAWAL_API where_document {
public:
    where_document() = default;

    /// @throws invalid_argument for an empty text (Chroma's client rule).
    static where_document contains(std::string_view text);
    static where_document not_contains(std::string_view text);
    /// @throws invalid_argument for an empty pattern.
    static where_document regex(std::string_view pattern);
    static where_document not_regex(std::string_view pattern);
    static where_document all_of(std::vector<where_document> clauses);
    static where_document any_of(std::vector<where_document> clauses);
    /// @throws invalid_argument unless the text is a JSON object with exactly one key.
    static where_document raw(std::string_view json);

    [[nodiscard]] bool empty() const noexcept { return json_.empty(); }
    [[nodiscard]] const std::string& json() const noexcept { return json_; }

    friend where_document operator&&(const where_document& a, const where_document& b) { return all_of({a, b}); }
    friend where_document operator||(const where_document& a, const where_document& b) { return any_of({a, b}); }
    friend bool operator==(const where_document& a, const where_document& b) { return a.json_ == b.json_; }

private:
    explicit where_document(std::string json) : json_(std::move(json)) {}
    std::string json_;
};

}  // namespace chromawal
