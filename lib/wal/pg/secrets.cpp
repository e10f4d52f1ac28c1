#include "wal/pg/secrets.hpp"

namespace chromawal::wal::pg {
namespace {

bool ieq_prefix(std::string_view s, std::size_t at, std::string_view word) {
    if (s.size() - at < word.size()) return false;
    for (std::size_t i = 0; i < word.size(); ++i) {
        char c = s[at + i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != word[i]) return false;
    }
    return true;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

std::string redact(std::string msg, const std::vector<std::string>& secrets) {
    for (const auto& secret : secrets) {
        if (secret.empty()) continue;
        for (std::size_t at = msg.find(secret); at != std::string::npos; at = msg.find(secret, at + 3))
            msg.replace(at, secret.size(), "***");
    }
    std::string out;
    out.reserve(msg.size());
    for (std::size_t i = 0; i < msg.size();) {
        if (ieq_prefix(msg, i, "password")) {
            std::size_t j = i + 8;
            while (j < msg.size() && is_space(msg[j])) ++j;
            if (j < msg.size() && (msg[j] == '=' || msg[j] == ':')) {
                ++j;
                while (j < msg.size() && is_space(msg[j])) ++j;
                if (j < msg.size() && (msg[j] == '\'' || msg[j] == '"')) {
                    char quote = msg[j++];
                    while (j < msg.size() && msg[j] != quote) j += (msg[j] == '\\' && j + 1 < msg.size()) ? 2 : 1;
                    if (j < msg.size()) ++j;
                } else {
                    while (j < msg.size() && !is_space(msg[j]) && msg[j] != '&') ++j;
                }
                out += "password=***";
                i = j;
                continue;
            }
        }
        if (msg.compare(i, 3, "://") == 0) {
            // scheme://user:secret@host -> scheme://user:***@host
            std::size_t end = i + 3;
            while (end < msg.size() && !is_space(msg[end]) && msg[end] != '/') ++end;
            std::size_t at = msg.rfind('@', end);
            if (at != std::string::npos && at > i + 3 && at < end) {
                std::size_t colon = msg.find(':', i + 3);
                out.append(msg, i, 3);
                if (colon != std::string::npos && colon < at) {
                    out.append(msg, i + 3, colon + 1 - (i + 3));
                    out += "***";
                    out.append(msg, at, end - at);
                } else {
                    out.append(msg, i + 3, end - (i + 3));
                }
                i = end;
                continue;
            }
        }
        char c = msg[i++];
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
