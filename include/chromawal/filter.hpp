#pragma once
/// @file
/// Typed builders for Chroma's `where` (metadata; where_filter) and `where_document` (document
/// text; document_filter) filters, plus a raw-JSON form. A filter is an immutable value holding its JSON text;
/// building one validates it, so a filter that exists is well formed.
///
/// @code
/// using chromawal::where_filter;
/// auto w = where_filter::eq("source", "wiki") && where_filter::gte("year", 2020);
/// auto d = chromawal::document_filter::contains("chroma") || chromawal::document_filter::regex("^db");
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
class CHROMAWAL_API where_filter {
public:
    where_filter() = default;

    /// Equality and order. `$gt`/`$gte`/`$lt`/`$lte` take numbers only.
    /// @throws invalid_argument for an empty key, a key starting with '$', or a null/array
    ///         operand (or a non-numeric operand for an order operator).
    static where_filter eq(std::string_view key, const metadata_value& v);
    static where_filter ne(std::string_view key, const metadata_value& v);
    static where_filter gt(std::string_view key, const metadata_value& v);
    static where_filter gte(std::string_view key, const metadata_value& v);
    static where_filter lt(std::string_view key, const metadata_value& v);
    static where_filter lte(std::string_view key, const metadata_value& v);
    /// Membership: the operand is a non-empty array of one type.
    /// @throws invalid_argument for a scalar or an empty array.
    static where_filter in(std::string_view key, const metadata_value& values);
    static where_filter nin(std::string_view key, const metadata_value& values);
    /// Array metadata contains (or not) the scalar `v`.
    static where_filter contains(std::string_view key, const metadata_value& v);
    static where_filter not_contains(std::string_view key, const metadata_value& v);
    /// `{"#document": {"$contains": text}}` inside a where clause.
    static where_filter document_contains(std::string_view text);
    static where_filter document_not_contains(std::string_view text);

    /// Logical combinations; empty filters in the list are ignored, and a single remaining
    /// filter is returned as is. @throws invalid_argument when no filter remains.
    static where_filter all_of(std::vector<where_filter> clauses);
    static where_filter any_of(std::vector<where_filter> clauses);

    /// A filter given as JSON text, e.g. `{"age": {"$gt": 3}}`.
    /// @throws invalid_argument unless the text is a JSON object with exactly one key.
    static where_filter raw(std::string_view json);

    [[nodiscard]] bool empty() const noexcept { return json_.empty(); }
    /// The filter as compact JSON text ("" when empty).
    [[nodiscard]] const std::string& json() const noexcept { return json_; }

    friend where_filter operator&&(const where_filter& a, const where_filter& b) { return all_of({a, b}); }
    friend where_filter operator||(const where_filter& a, const where_filter& b) { return any_of({a, b}); }
    friend bool operator==(const where_filter& a, const where_filter& b) { return a.json_ == b.json_; }

private:
    explicit where_filter(std::string json) : json_(std::move(json)) {}
    std::string json_;
};

/// A document-text filter. Default-constructed means "no filter".
/// Thread-safety: an immutable value; safe to share.
class CHROMAWAL_API document_filter {
public:
    document_filter() = default;

    /// @throws invalid_argument for an empty text (Chroma's client rule).
    static document_filter contains(std::string_view text);
    static document_filter not_contains(std::string_view text);
    /// @throws invalid_argument for an empty pattern.
    static document_filter regex(std::string_view pattern);
    static document_filter not_regex(std::string_view pattern);
    static document_filter all_of(std::vector<document_filter> clauses);
    static document_filter any_of(std::vector<document_filter> clauses);
    /// @throws invalid_argument unless the text is a JSON object with exactly one key.
    static document_filter raw(std::string_view json);

    [[nodiscard]] bool empty() const noexcept { return json_.empty(); }
    [[nodiscard]] const std::string& json() const noexcept { return json_; }

    friend document_filter operator&&(const document_filter& a, const document_filter& b) { return all_of({a, b}); }
    friend document_filter operator||(const document_filter& a, const document_filter& b) { return any_of({a, b}); }
    friend bool operator==(const document_filter& a, const document_filter& b) { return a.json_ == b.json_; }

private:
    explicit document_filter(std::string json) : json_(std::move(json)) {}
    std::string json_;
};

}  // namespace chromawal
