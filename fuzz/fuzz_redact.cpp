// libFuzzer target: the redaction rule. For any text and any known secret made of letters and
// digits (at least 3 bytes), the output never contains that secret, and no password of a URI
// or value of a secret key that secrets_in() finds survives redact() given those secrets.
#include <chromawal/redact.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void require(bool ok) {
    if (!ok) std::abort();
}

bool alnum(std::string_view s) {
    for (char c : s) {
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    // The first line is the known secret, the rest the text.
    const std::size_t nl = in.find('\n');
    const std::string secret(nl == std::string_view::npos ? std::string_view() : in.substr(0, nl));
    const std::string_view text = nl == std::string_view::npos ? in : in.substr(nl + 1);

    const std::string out = chromawal::redact(text, {secret});
    if (secret.size() >= 3 && alnum(secret)) require(out.find(secret) == std::string::npos);

    // What secrets_in() collects from a setting, redact() then hides wherever it appears
    // (checked for plain secrets, whose absence can be tested without ambiguity).
    const auto found = chromawal::secrets_in(text);
    const std::string hidden = chromawal::redact(text, found);
    for (const auto& f : found) {
        if (f.size() >= 3 && alnum(f)) require(hidden.find(f) == std::string::npos);
    }
    return 0;
}
