#pragma once
// Secrets in messages of the PostgreSQL log store.
//
// Owns: removing passwords from libpq's messages (redact) and cutting error texts to a stored
// size (truncate_utf8). Calls: nothing but the standard library. Thread-safety: pure
// functions, safe from any thread.
//
// To be replaced by the project-wide redaction module: callers only use redact(msg, secrets).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chromawal::wal::pg {

/// Removes secrets from a message: the known passwords, any `password=value` and the password
/// of any `scheme://user:password@` URI; makes it one line.
std::string redact(std::string msg, const std::vector<std::string>& secrets);

/// At most `max` bytes of `s`, never cutting a UTF-8 code point.
std::string truncate_utf8(std::string_view s, std::size_t max);

}  // namespace chromawal::wal::pg
