// The one redaction rule (see include/chromawal/redact.hpp). Owns: recognising secrets in
// text (URI user information, secret-named keys, known secret strings). Calls nothing but the
// standard library, so every layer, the command and the bindings may use it.
#include <chromawal/redact.hpp>

#include <algorithm>
#include <cstddef>

namespace chromawal {
namespace {

constexpr std::string_view mask = "***";
constexpr std::size_t min_known_secret = 3;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool is_key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
}

/// Whether a key (any case) names a secret.
bool secret_key(std::string_view key) {
    static constexpr std::string_view words[] = {"password", "passwd",  "secret", "token",      "apikey",
                                                 "api_key",  "api-key", "cookie", "credential", "authorization"};
    std::string k(key);
    std::transform(k.begin(), k.end(), k.begin(), lower);
    return std::any_of(std::begin(words), std::end(words),
                       [&](std::string_view w) { return k.find(w) != std::string::npos; });
}

bool ieq(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

/// A secret value found in the text: [begin, end) is replaced by the mask.
struct span {
    std::size_t begin, end;
};

/// The end of the value starting at `p` (after a separator): a quoted string, or up to the next
/// space or separator of a list or query.
std::size_t value_end(std::string_view s, std::size_t p) {
    if (p < s.size() && (s[p] == '\'' || s[p] == '"')) {
        const char quote = s[p++];
        while (p < s.size() && s[p] != quote) p += (s[p] == '\\' && p + 1 < s.size()) ? 2 : 1;
        return p < s.size() ? p + 1 : p;
    }
    while (p < s.size() && !is_space(s[p]) && s[p] != '&' && s[p] != ',' && s[p] != ';' && s[p] != '}' && s[p] != ']' &&
           s[p] != ')')
        ++p;
    return p;
}

/// If a secret key ends at `key_end` (exclusive) and is followed by `=` or `:`, the span of its
/// value. `key_begin` is where the key starts.
bool secret_value_after_key(std::string_view s, std::size_t key_begin, std::size_t key_end, span& out) {
    if (!secret_key(s.substr(key_begin, key_end - key_begin))) return false;
    std::size_t p = key_end;
    if (p < s.size() && (s[p] == '"' || s[p] == '\'')) ++p;  // "token": ...
    while (p < s.size() && (s[p] == ' ' || s[p] == '\t')) ++p;
    if (p >= s.size() || (s[p] != '=' && s[p] != ':')) return false;
    ++p;
    // "a://b" after a key is a URL, not a value: the URI rule handles its user information.
    if (p + 1 < s.size() && s[p] == '/' && s[p + 1] == '/') return false;
    while (p < s.size() && (s[p] == ' ' || s[p] == '\t')) ++p;
    if (p >= s.size()) return false;
    // Authorization: Bearer <credential>: keep the scheme word.
    const std::size_t word_end = std::min(s.find(' ', p), s.size());
    const std::string_view word = s.substr(p, word_end - p);
    if (word_end < s.size() && (ieq(word, "bearer") || ieq(word, "basic") || ieq(word, "token") || ieq(word, "digest")))
        p = word_end + 1;
    const std::size_t end = value_end(s, p);
    if (end == p) return false;
    out = {p, end};
    return true;
}

/// If a URI's authority starts at `p` (just after "://") and has a password, its span.
bool userinfo_password(std::string_view s, std::size_t p, span& out) {
    std::size_t end = p;
    while (end < s.size() && !is_space(s[end]) && s[end] != '/' && s[end] != '?' && s[end] != '#') ++end;
    const std::size_t at = s.substr(p, end - p).rfind('@');
    if (at == std::string_view::npos) return false;
    const std::size_t colon = s.substr(p, at).find(':');
    if (colon == std::string_view::npos) return false;
    out = {p + colon + 1, p + at};
    return out.end > out.begin;
}

/// Every secret the patterns recognise, in order, not overlapping.
std::vector<span> find_secrets(std::string_view s) {
    std::vector<span> found;
    std::size_t i = 0;
    while (i < s.size()) {
        span sp{};
        if (s.compare(i, 3, "://") == 0 && userinfo_password(s, i + 3, sp)) {
            found.push_back(sp);
            i = sp.end;
            continue;
        }
        if (is_key_char(s[i]) && (i == 0 || !is_key_char(s[i - 1]))) {
            std::size_t key_end = i;
            while (key_end < s.size() && is_key_char(s[key_end])) ++key_end;
            if (secret_value_after_key(s, i, key_end, sp)) {
                found.push_back(sp);
                i = sp.end;
                continue;
            }
            i = key_end;
            continue;
        }
        ++i;
    }
    return found;
}

std::string unquote(std::string_view v) {
    if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"') && v.back() == v.front()) {
        std::string out;
        for (std::size_t i = 1; i + 1 < v.size(); ++i) {
            if (v[i] == '\\' && i + 2 < v.size()) ++i;
            out += v[i];
        }
        return out;
    }
    return std::string(v);
}

}  // namespace

std::string redact(std::string_view text, const std::vector<std::string>& known_secrets) {
    std::string s(text);
    for (const auto& secret : known_secrets) {
        if (secret.size() < min_known_secret) continue;
        for (std::size_t at = s.find(secret); at != std::string::npos; at = s.find(secret, at + mask.size()))
            s.replace(at, secret.size(), mask);
    }
    const std::vector<span> found = find_secrets(s);
    if (found.empty()) return s;
    std::string out;
    out.reserve(s.size());
    std::size_t from = 0;
    for (const span& sp : found) {
        out.append(s, from, sp.begin - from);
        out += mask;
        from = sp.end;
    }
    out.append(s, from, std::string::npos);
    return out;
}

std::vector<std::string> secrets_in(std::string_view setting) {
    std::vector<std::string> out;
    for (const span& sp : find_secrets(setting)) {
        std::string v = unquote(setting.substr(sp.begin, sp.end - sp.begin));
        if (!v.empty() && std::find(out.begin(), out.end(), v) == out.end()) out.push_back(std::move(v));
    }
    return out;
}

}  // namespace chromawal
