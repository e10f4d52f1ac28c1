#pragma once
// Base64 (RFC 4648, standard alphabet, padded) of float32 vectors as little-endian bytes,
// the form Chroma accepts for write embeddings.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chromawal::json {

/// Appends the base64 text of `size` bytes.
void append_base64(std::string& out, const unsigned char* bytes, std::size_t size);
/// Appends the base64 text of n float32 values in little-endian byte order.
void append_base64_floats(std::string& out, const float* data, std::size_t n);
/// Decodes base64 text; returns false on a character outside the alphabet or bad padding.
bool decode_base64(std::string_view text, std::vector<unsigned char>& out);

}  // namespace chromawal::json
