#pragma once
/// @file
/// Hiding secrets in text that is about to be shown: the one redaction rule of chromawal.
///
/// Every message, status field and line the `chromawal` command prints passes through
/// chromawal::redact() (the library uses the same function internally), so one rule decides
/// what counts as a secret. It is public so that an application can print its own
/// configuration (a log URL, an instance URL, a header) the same way.
///
/// Thread-safety: the functions are pure; call them from any thread. Cost: one pass over the
/// text per known secret, and one more.

#include <chromawal/export.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace chromawal {

/// Returns `text` with every secret replaced by `***`:
/// - each of `known_secrets` that is at least 3 bytes long, wherever it appears (shorter ones
///   would mangle ordinary text; they are still hidden wherever the patterns below find them);
/// - the password of a URI's user information (`scheme://user:secret@host` becomes
///   `scheme://user:***@host`);
/// - the value of every `key=value` or `key: value` whose key names a secret (case-insensitive:
///   it contains `password`, `passwd`, `secret`, `token`, `apikey`, `api_key`, `api-key`,
///   `authorization`, `cookie` or `credential`), as in a libpq conninfo (`password='x y'`), a
///   URI query (`?password=x&sslmode=require`), a JSON member (`"token": "x"`) or an HTTP
///   header (`Authorization: Bearer x`; the scheme word is kept, the credential hidden).
/// The text keeps its lines and everything else byte for byte.
CHROMAWAL_API std::string redact(std::string_view text, const std::vector<std::string>& known_secrets = {});

/// The secret parts of one setting, to pass to redact() later: the password of a URI's user
/// information, every value of a secret key (as above) in a conninfo or URI query, and the
/// value of an HTTP header line `Name: value` whose name names a secret. Empty when none.
CHROMAWAL_API std::vector<std::string> secrets_in(std::string_view setting);

}  // namespace chromawal
