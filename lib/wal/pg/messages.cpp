#include "wal/pg/messages.hpp"

#include <chromawal/redact.hpp>

namespace chromawal::wal::pg {

std::string safe_message(std::string_view msg, const std::vector<std::string>& secrets) {
    const std::string hidden = chromawal::redact(msg, secrets);
    std::string out;
    out.reserve(hidden.size());
    for (const char c : hidden) {
        if (c == '\n' || c == '\r' || c == '\t') {
            if (!out.empty() && out.back() != ' ') out += ' ';
        } else {
            out += c;
        }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

std::string truncate_utf8(std::string_view s, std::size_t max) {
    if (s.size() <= max) return std::string(s);
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // not inside a code point
    return std::string(s.substr(0, n));
}

}  // namespace chromawal::wal::pg
