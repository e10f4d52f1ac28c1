// libFuzzer target: every Chroma response decoder (lib/chroma/protocol.hpp) on arbitrary bytes.
// A malformed answer may only raise json::decode_error (which the API turns into
// chromawal::error) or chromawal::error; anything else escaping, or any sanitizer report, is a
// bug. Decoded values must also be internally consistent where the library promises it.
#include <chromawal/error.hpp>

#include "chroma/protocol.hpp"
#include "json/reader.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

using namespace chromawal;

void require(bool ok) {
    if (!ok) std::abort();
}

void check_matrix(const embedding_matrix& m) {
    if (m.dim() > 0) require(m.values().size() == m.rows() * m.dim());
}

template <typename F>
void decode(const std::string& input, F&& f) {
    std::string body = input;  // each decoder gets its own copy (they parse in place)
    try {
        f(body);
    } catch (const json::decode_error&) {
    } catch (const chromawal::error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);

    // Never throws: a body that is not Chroma's error JSON becomes the message itself.
    {
        std::string body = input;
        (void)chroma::decode_error(body);
    }
    decode(input, [](std::string& b) { (void)chroma::decode_collection(b); });
    decode(input, [](std::string& b) { (void)chroma::decode_collections(b); });
    decode(input, [](std::string& b) { check_matrix(chroma::decode_get(b).embeddings); });
    decode(input, [](std::string& b) {
        for (const auto& h : chroma::decode_query(b)) check_matrix(h.embeddings);
    });
    decode(input, [](std::string& b) { (void)chroma::decode_preflight(b); });
    decode(input, [](std::string& b) { (void)chroma::decode_heartbeat(b); });
    decode(input, [](std::string& b) { (void)chroma::decode_string(b); });
    decode(input, [](std::string& b) { (void)chroma::decode_integer(b); });
    decode(input, [](std::string& b) { (void)chroma::decode_deleted(b); });
    decode(input, [](std::string& b) { (void)chroma::decode_identity(b); });
    decode(input, [](std::string& b) { (void)chroma::decode_database(b); });
    decode(input, [](std::string& b) { (void)chroma::decode_databases(b); });
    decode(input, [](std::string& b) { (void)chroma::decode_tenant_name(b); });
    return 0;
}
