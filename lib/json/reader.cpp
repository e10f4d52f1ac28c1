#include "json/reader.hpp"

#include <fmt/format.h>

namespace chromawal::json {

od::parser& thread_parser() {
    thread_local od::parser parser;
    return parser;
}

od::document parse(std::string& body) {
    if (body.capacity() < body.size() + simdjson::SIMDJSON_PADDING)
        body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
    od::document doc;
    auto ec = thread_parser().iterate(body.data(), body.size(), body.capacity()).get(doc);
    check(ec, "document");
    return doc;
}

void check(simdjson::error_code ec, std::string_view what) {
    if (ec != simdjson::SUCCESS) {
        throw decode_error(fmt::format("malformed JSON at {}: {}", what, simdjson::error_message(ec)));
    }
}

namespace {

metadata_value read_array(od::array arr) {
    // Element type decides the array's kind; mixed arrays are rejected (Chroma never stores them).
    metadata_value::array_string strings;
    metadata_value::array_int ints;
    metadata_value::array_float floats;
    metadata_value::array_bool bools;
    int kind = -1;  // 0 string, 1 int, 2 float, 3 bool
    for (auto element : arr) {
        od::value v = take(element, "metadata array element");
        od::json_type t = take(v.type(), "metadata array element type");
        int k;
        switch (t) {
            case od::json_type::string:
                k = 0;
                break;
            case od::json_type::number: {
                od::number_type nt = take(v.get_number_type(), "metadata number");
                k = nt == od::number_type::floating_point_number ? 2 : 1;
                break;
            }
            case od::json_type::boolean:
                k = 3;
                break;
            default:
                throw decode_error("metadata array holds a null, an array or an object");
        }
        if (kind == -1) kind = k;
        // An int inside a float array (e.g. [1.5, 2]) stays a float array.
        if (kind == 2 && k == 1) k = 2;
        if (kind == 1 && k == 2) {
            for (auto i : ints) floats.push_back(static_cast<double>(i));
            ints.clear();
            kind = 2;
        }
        if (k != kind) throw decode_error("metadata array mixes types");
        switch (k) {
            case 0:
                strings.emplace_back(take(v.get_string(), "metadata string"));
                break;
            case 1:
                ints.push_back(take(v.get_int64(), "metadata integer"));
                break;
            case 2:
                floats.push_back(take(v.get_double(), "metadata float"));
                break;
            default:
                bools.push_back(take(v.get_bool(), "metadata bool"));
                break;
        }
    }
    switch (kind) {
        case 0:
            return metadata_value(std::move(strings));
        case 1:
            return metadata_value(std::move(ints));
        case 2:
            return metadata_value(std::move(floats));
        case 3:
            return metadata_value(std::move(bools));
        default:
            return metadata_value(metadata_value::array_string{});
    }
}

}  // namespace

metadata_value read_metadata_value(od::value v) {
    od::json_type t = take(v.type(), "metadata value type");
    switch (t) {
        case od::json_type::null:
            return metadata_value(nullptr);
        case od::json_type::boolean:
            return metadata_value(take(v.get_bool(), "metadata bool"));
        case od::json_type::string:
            return metadata_value(std::string(take(v.get_string(), "metadata string")));
        case od::json_type::number: {
            od::number_type nt = take(v.get_number_type(), "metadata number");
            if (nt == od::number_type::floating_point_number)
                return metadata_value(take(v.get_double(), "metadata float"));
            if (nt == od::number_type::unsigned_integer) {
                // Above INT64_MAX: Chroma itself stores such a value as a float.
                return metadata_value(static_cast<double>(take(v.get_uint64(), "metadata integer")));
            }
            return metadata_value(take(v.get_int64(), "metadata integer"));
        }
        case od::json_type::array:
            return read_array(take(v.get_array(), "metadata array"));
        case od::json_type::object: {
            // Chroma has typed objects (e.g. sparse vectors, {"#type": ...}); keep them as text.
            std::string_view raw = take(take(v.get_object(), "metadata object").raw_json(), "metadata object");
            return metadata_value(std::string(raw));
        }
    }
    throw decode_error("unknown metadata value type");
}

metadata_map read_metadata(od::object obj) {
    metadata_map m;
    for (auto field : obj) {
        od::field f = take(std::move(field), "metadata field");
        std::string_view key = take(f.unescaped_key(), "metadata key");
        m.emplace(std::string(key), read_metadata_value(f.value()));
    }
    return m;
}

std::optional<std::string> read_optional_string(od::value v) {
    bool is_null = take(v.is_null(), "string or null");
    if (is_null) return std::nullopt;
    return std::string(take(v.get_string(), "string"));
}

bool valid_utf8(std::string_view s) noexcept { return simdjson::validate_utf8(s.data(), s.size()); }

std::string compact_object(std::string_view text, std::size_t keys) {
    std::string copy(text);
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    auto ec = parser.parse(copy).get(root);
    if (ec) throw decode_error(fmt::format("not valid JSON ({})", simdjson::error_message(ec)));
    simdjson::dom::object obj;
    if (root.get_object().get(obj)) throw decode_error("not a JSON object");
    if (keys == 0 && obj.size() == 0) throw decode_error("an empty JSON object");
    if (keys != 0 && obj.size() != keys)
        throw decode_error(fmt::format("a JSON object with {} key(s) expected, got {}", keys, obj.size()));
    return simdjson::minify(root);
}

}  // namespace chromawal::json
