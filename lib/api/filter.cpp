#include <chromawal/error.hpp>
#include <chromawal/filter.hpp>

#include "chroma/metadata_json.hpp"
#include "json/reader.hpp"
#include "json/writer.hpp"

#include <fmt/format.h>

#include <cmath>

namespace chromawal {

namespace {

using kind = metadata_value::kind;

bool is_array(const metadata_value& v) {
    switch (v.type()) {
        case kind::bool_array:
        case kind::int_array:
        case kind::float_array:
        case kind::string_array:
            return true;
        default:
            return false;
    }
}

bool is_number(const metadata_value& v) { return v.type() == kind::integer || v.type() == kind::floating; }

void check_key(std::string_view key, std::string_view op) {
    if (key.empty()) throw invalid_argument(fmt::format("Expected where key to be a non-empty str in {}.", op));
    if (key.front() == '$') {
        throw invalid_argument(
            fmt::format("Expected where key to be a metadata_map key, got operator-like '{}' in {}.", key, op));
    }
    if (!json::valid_utf8(key)) throw invalid_argument(fmt::format("Expected where key to be valid UTF-8 in {}.", op));
}

std::string field_clause(std::string_view key, std::string_view op, const metadata_value& v) {
    std::string out;
    json::writer w(out);
    w.begin_object().key(key).begin_object().key(op);
    detail::write_metadata_value(w, v);
    w.end_object().end_object();
    return out;
}

std::string scalar_clause(std::string_view key, std::string_view op, const metadata_value& v, bool numeric_only) {
    check_key(key, op);
    if (v.is_null() || is_array(v)) {
        throw invalid_argument(fmt::format("Expected where operand of {} for '{}' to be a str, int, float or bool{}",
                                           op, key, v.is_null() ? ", got None" : ", got a list"));
    }
    if (numeric_only && !is_number(v)) {
        throw invalid_argument(fmt::format("Expected where operand of {} for '{}' to be an int or float.", op, key));
    }
    if (v.type() == kind::floating && !std::isfinite(v.get<double>())) {
        throw invalid_argument(fmt::format("Expected where operand of {} for '{}' to be finite.", op, key));
    }
    if (v.type() == kind::string && !json::valid_utf8(v.get<std::string>())) {
        throw invalid_argument(fmt::format("Expected where operand of {} for '{}' to be valid UTF-8.", op, key));
    }
    return field_clause(key, op, v);
}

std::string list_clause(std::string_view key, std::string_view op, const metadata_value& v) {
    check_key(key, op);
    if (!is_array(v))
        throw invalid_argument(fmt::format("Expected where operand of {} for '{}' to be a list.", op, key));
    bool empty = std::visit(
        [](const auto& a) {
            using T = std::decay_t<decltype(a)>;
            if constexpr (std::is_same_v<T, metadata_value::array_bool> ||
                          std::is_same_v<T, metadata_value::array_int> ||
                          std::is_same_v<T, metadata_value::array_float> ||
                          std::is_same_v<T, metadata_value::array_string>) {
                return a.empty();
            } else {
                return false;
            }
        },
        v.value());
    if (empty)
        throw invalid_argument(fmt::format("Expected where operand of {} for '{}' to be a non-empty list.", op, key));
    if (const auto* floats = v.get_if<metadata_value::array_float>()) {
        for (double d : *floats) {
            if (!std::isfinite(d)) {
                throw invalid_argument(
                    fmt::format("Expected where operand of {} for '{}' to hold finite numbers.", op, key));
            }
        }
    }
    if (const auto* strings = v.get_if<metadata_value::array_string>()) {
        for (const auto& s : *strings) {
            if (!json::valid_utf8(s)) {
                throw invalid_argument(
                    fmt::format("Expected where operand of {} for '{}' to be valid UTF-8.", op, key));
            }
        }
    }
    return field_clause(key, op, v);
}

template <typename Filter>
std::string combine(std::vector<Filter>& clauses, std::string_view op, std::string_view kind_name) {
    std::vector<const std::string*> parts;
    for (const auto& c : clauses) {
        if (!c.empty()) parts.push_back(&c.json());
    }
    if (parts.empty())
        throw invalid_argument(fmt::format("Expected at least one non-empty {} clause in {}.", kind_name, op));
    if (parts.size() == 1) return *parts.front();
    std::string out;
    json::writer w(out);
    w.begin_object().key(op).begin_array();
    for (const auto* p : parts) w.raw(*p);
    w.end_array().end_object();
    return out;
}

std::string text_clause(std::string_view op, std::string_view text, std::string_view what) {
    if (text.empty()) throw invalid_argument(fmt::format("Expected {} operand of {} to be a non-empty str.", what, op));
    if (!json::valid_utf8(text))
        throw invalid_argument(fmt::format("Expected {} operand of {} to be valid UTF-8.", what, op));
    std::string out;
    json::writer w(out);
    w.begin_object().key(op).string(text).end_object();
    return out;
}

std::string raw_clause(std::string_view text, std::string_view what) {
    try {
        return json::compact_object(text, 1);
    } catch (const json::decode_error& e) {
        throw invalid_argument(fmt::format("Expected {} to be a JSON object with exactly one key: {}", what, e.what()));
    }
}

}  // namespace

where_filter where_filter::eq(std::string_view k, const metadata_value& v) {
    return where_filter(scalar_clause(k, "$eq", v, false));
}
where_filter where_filter::ne(std::string_view k, const metadata_value& v) {
    return where_filter(scalar_clause(k, "$ne", v, false));
}
where_filter where_filter::gt(std::string_view k, const metadata_value& v) {
    return where_filter(scalar_clause(k, "$gt", v, true));
}
where_filter where_filter::gte(std::string_view k, const metadata_value& v) {
    return where_filter(scalar_clause(k, "$gte", v, true));
}
where_filter where_filter::lt(std::string_view k, const metadata_value& v) {
    return where_filter(scalar_clause(k, "$lt", v, true));
}
where_filter where_filter::lte(std::string_view k, const metadata_value& v) {
    return where_filter(scalar_clause(k, "$lte", v, true));
}
where_filter where_filter::in(std::string_view k, const metadata_value& v) {
    return where_filter(list_clause(k, "$in", v));
}
where_filter where_filter::nin(std::string_view k, const metadata_value& v) {
    return where_filter(list_clause(k, "$nin", v));
}
where_filter where_filter::contains(std::string_view k, const metadata_value& v) {
    return where_filter(scalar_clause(k, "$contains", v, false));
}
where_filter where_filter::not_contains(std::string_view k, const metadata_value& v) {
    return where_filter(scalar_clause(k, "$not_contains", v, false));
}
where_filter where_filter::document_contains(std::string_view text) {
    std::string out;
    json::writer w(out);
    w.begin_object().key("#document").raw(text_clause("$contains", text, "where #document")).end_object();
    return where_filter(std::move(out));
}
where_filter where_filter::document_not_contains(std::string_view text) {
    std::string out;
    json::writer w(out);
    w.begin_object().key("#document").raw(text_clause("$not_contains", text, "where #document")).end_object();
    return where_filter(std::move(out));
}
where_filter where_filter::all_of(std::vector<where_filter> c) { return where_filter(combine(c, "$and", "where")); }
where_filter where_filter::any_of(std::vector<where_filter> c) { return where_filter(combine(c, "$or", "where")); }
where_filter where_filter::raw(std::string_view json) { return where_filter(raw_clause(json, "where")); }

document_filter document_filter::contains(std::string_view t) {
    return document_filter(text_clause("$contains", t, "where_document"));
}
document_filter document_filter::not_contains(std::string_view t) {
    return document_filter(text_clause("$not_contains", t, "where_document"));
}
document_filter document_filter::regex(std::string_view p) {
    return document_filter(text_clause("$regex", p, "where_document"));
}
document_filter document_filter::not_regex(std::string_view p) {
    return document_filter(text_clause("$not_regex", p, "where_document"));
}
document_filter document_filter::all_of(std::vector<document_filter> c) {
    return document_filter(combine(c, "$and", "where_document"));
}
document_filter document_filter::any_of(std::vector<document_filter> c) {
    return document_filter(combine(c, "$or", "where_document"));
}
document_filter document_filter::raw(std::string_view json) {
    return document_filter(raw_clause(json, "where_document"));
}

}  // namespace chromawal
