#pragma once
// Reading JSON with simdjson's on-demand API. Private: no simdjson type leaves lib/.

#include <chromawal/types.hpp>

#include <simdjson.h>

#include <string>
#include <string_view>

namespace chromawal::json {

namespace od = simdjson::ondemand;

/// Thrown (internally) when a response does not have the expected shape. The API layer
/// turns it into a chromawal::error naming the request.
class decode_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The calling thread's parser (parsers are not thread-safe; one per thread is reused).
od::parser& thread_parser();

/// Parses `body` in place: grows its capacity by simdjson's padding if needed (no copy of the
/// bytes when the capacity is already there).
od::document parse(std::string& body);

/// Converts a simdjson error into decode_error when set.
void check(simdjson::error_code ec, std::string_view what);

/// The value of a simdjson result, or decode_error naming `what`.
template <typename T>
T take(simdjson::simdjson_result<T> r, std::string_view what) {
    T value{};
    check(std::move(r).get(value), what);
    return value;
}

/// Reads a metadata object (values: null, bool, int, float, string, arrays of one type).
metadata_map read_metadata(od::object obj);
/// Reads a metadata value.
metadata_value read_metadata_value(od::value v);
/// Reads a string, or an empty optional for null.
std::optional<std::string> read_optional_string(od::value v);

/// True when `s` is valid UTF-8.
bool valid_utf8(std::string_view s) noexcept;

/// Checks that `text` is a JSON object with exactly `keys` keys (any number but none when 0), and returns it in compact
/// form (whitespace outside strings removed). @throws decode_error naming the problem.
std::string compact_object(std::string_view text, std::size_t keys);

}  // namespace chromawal::json
