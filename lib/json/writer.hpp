#pragma once
// A small, fast JSON text writer that appends to a std::string. The caller is responsible for
// structure (commas are handled; nesting correctness is the caller's): it is used only by
// the protocol encoder, whose shapes are fixed.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace chromawal::json {

class writer {
public:
    explicit writer(std::string& out) : out_(out) {}

    writer& begin_object() {
        sep();
        out_.push_back('{');
        first_ = true;
        return *this;
    }
    writer& end_object() {
        out_.push_back('}');
        first_ = false;
        return *this;
    }
    writer& begin_array() {
        sep();
        out_.push_back('[');
        first_ = true;
        return *this;
    }
    writer& end_array() {
        out_.push_back(']');
        first_ = false;
        return *this;
    }
    /// An object key; the next value follows without a comma.
    writer& key(std::string_view k);
    writer& string(std::string_view s);
    writer& integer(std::int64_t v);
    writer& unsigned_integer(std::uint64_t v);
    /// A double that stays a float on the other side: 1.0 is written "1.0", not "1".
    writer& floating(double v);
    /// A float32 written as its shortest round-trip text.
    writer& float32(float v);
    writer& boolean(bool v);
    writer& null();
    /// JSON text inserted as is (already validated).
    writer& raw(std::string_view json);
    /// A float32 vector as a JSON array of numbers.
    writer& float_array(const float* data, std::size_t n);
    /// A float32 vector as a base64 string of its little-endian bytes.
    writer& base64_floats(const float* data, std::size_t n);

    std::string& buffer() noexcept { return out_; }

private:
    void sep() {
        if (!first_) out_.push_back(',');
        first_ = false;
    }
    std::string& out_;
    bool first_ = true;
};

/// Appends `s` escaped for a JSON string (no quotes).
void append_escaped(std::string& out, std::string_view s);

}  // namespace chromawal::json
