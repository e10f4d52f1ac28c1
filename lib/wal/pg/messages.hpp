#pragma once
// Messages of the PostgreSQL log store: what leaves it as an error text, and what it stores.
//
// Owns: making libpq's messages safe to show (chromawal::redact, the project's one redaction
// rule, given the store's known passwords) and one line long; cutting error texts to a stored
// size. Calls: chromawal::redact. Thread-safety: pure functions, safe from any thread.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chromawal::wal::pg {

/// The message with every secret hidden (chromawal::redact with the known `secrets`), on one
/// line (libpq's messages span several).
std::string safe_message(std::string_view msg, const std::vector<std::string>& secrets);

/// At most `max` bytes of `s`, never cutting a UTF-8 code point.
std::string truncate_utf8(std::string_view s, std::size_t max);

}  // namespace chromawal::wal::pg
