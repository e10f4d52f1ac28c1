#include "json/writer.hpp"

#include "json/base64.hpp"

#include <charconv>
#include <cmath>
#include <cstring>

namespace chromawal::json {

namespace {
constexpr char hex_digits[] = "0123456789abcdef";
}

void append_escaped(std::string& out, std::string_view s) {
    const char* p = s.data();
    const char* end = p + s.size();
    const char* run = p;
    for (; p != end; ++p) {
        const auto c = static_cast<unsigned char>(*p);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(run, static_cast<std::size_t>(p - run));
        switch (c) {
            case '"':
                out.append("\\\"");
                break;
            case '\\':
                out.append("\\\\");
                break;
            case '\n':
                out.append("\\n");
                break;
            case '\r':
                out.append("\\r");
                break;
            case '\t':
                out.append("\\t");
                break;
            case '\b':
                out.append("\\b");
                break;
            case '\f':
                out.append("\\f");
                break;
            default: {
                char u[6] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 0xF]};
                out.append(u, 6);
            }
        }
        run = p + 1;
    }
    out.append(run, static_cast<std::size_t>(end - run));
}

writer& writer::key(std::string_view k) {
    sep();
    out_.push_back('"');
    append_escaped(out_, k);
    out_.append("\":");
    first_ = true;  // the value that follows takes no comma
    return *this;
}

writer& writer::string(std::string_view s) {
    sep();
    out_.push_back('"');
    append_escaped(out_, s);
    out_.push_back('"');
    return *this;
}

writer& writer::integer(std::int64_t v) {
    sep();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
    return *this;
}

writer& writer::unsigned_integer(std::uint64_t v) {
    sep();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
    return *this;
}

writer& writer::floating(double v) {
    sep();
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
    // Keep floats floats: Chroma distinguishes 1 (int) from 1.0 (float).
    if (std::memchr(buf, '.', static_cast<std::size_t>(r.ptr - buf)) == nullptr &&
        std::memchr(buf, 'e', static_cast<std::size_t>(r.ptr - buf)) == nullptr) {
        out_.append(".0");
    }
    return *this;
}

writer& writer::float32(float v) {
    sep();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
    return *this;
}

writer& writer::boolean(bool v) {
    sep();
    out_.append(v ? "true" : "false");
    return *this;
}

writer& writer::null() {
    sep();
    out_.append("null");
    return *this;
}

writer& writer::raw(std::string_view json) {
    sep();
    out_.append(json);
    return *this;
}

writer& writer::float_array(const float* data, std::size_t n) {
    sep();
    out_.push_back('[');
    char buf[24];
    for (std::size_t i = 0; i < n; ++i) {
        if (i) out_.push_back(',');
        auto r = std::to_chars(buf, buf + sizeof buf, data[i]);
        out_.append(buf, r.ptr);
    }
    out_.push_back(']');
    return *this;
}

writer& writer::base64_floats(const float* data, std::size_t n) {
    sep();
    out_.push_back('"');
    append_base64_floats(out_, data, n);
    out_.push_back('"');
    return *this;
}

}  // namespace chromawal::json
