#pragma once
/// @file
/// The exception hierarchy of chromawal.
///
/// Every exception the library throws derives from chromawal::error. The subclasses are named
/// for what the caller can do next:
///
/// - invalid_argument: the input broke a rule, checked before any request. Fix the input.
/// - not_found: the server has no such collection, database or tenant. Create it, or stop.
/// - already_exists: the name is taken. Get it instead.
/// - server_rejected: any other 4xx answer from the server. Fix the request.
/// - server_error: a 5xx answer. Maybe retry later.
/// - connection_error: could not connect, or the connection broke. Retry later (a write may have
///   been applied unless request_sent() is false).
/// - timeout_error: no answer within the request timeout. As connection_error.
/// - log_unavailable: the write-ahead log store is unreachable; nothing was logged or applied.
///   Retry later.
/// - outcome_unknown: the log went away at a step that cannot be undone; the write may or may
///   not be logged. Retry with the same idempotency key.
/// - no_instance_available: no instance could apply a logged write. See queued(): abandoned
///   (never applied), or pending and applied on recovery.
/// - write_rejected: an instance rejected a logged write as invalid; never replayed. Fix the input.
/// - quorum_not_reached: fewer instances than write_quorum applied it; it stays logged and will
///   be applied. Wait, or alert.
/// - log_conflict: an instance is recorded for another write-ahead log; nothing was logged.
///   Fix the configuration, or take the instances over (client::take_over_instances).
///
/// No exception of libcurl, simdjson or libpq ever escapes the API.

#include <chromawal/export.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

namespace chromawal {

/// Root of every exception thrown by chromawal. Thread-safe to copy and read.
class CHROMAWAL_API error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
    /// True when the same call may succeed if retried later (transport problems, 5xx).
    [[nodiscard]] virtual bool retryable() const noexcept { return false; }
};

/// The caller's input breaks a rule (Chroma's client rules). Nothing was sent or logged.
class CHROMAWAL_API invalid_argument : public error {
public:
    using error::error;
};

/// The server answered with a 4xx status. Carries the HTTP status and Chroma's error name
/// (e.g. "InvalidArgumentError", "ChromaError") and message.
class CHROMAWAL_API server_rejected : public error {
public:
    /// @param context what was being done, e.g. "add to collection 'docs'" (prefixes what()).
    /// @param trace_id the answer's `chroma-trace-id` header (empty when it had none).
    server_rejected(int status, std::string error_name, std::string server_message, const std::string& context = {},
                    std::string trace_id = {});
    [[nodiscard]] int status() const noexcept { return status_; }
    /// Chroma's error name from the response body; empty when the body was not JSON.
    [[nodiscard]] const std::string& error_name() const noexcept { return name_; }
    /// Chroma's error message from the response body (or the plain-text body).
    [[nodiscard]] const std::string& server_message() const noexcept { return message_; }
    /// The server's `chroma-trace-id` response header, to find the request in the server's
    /// traces (chromadb's `ChromaError.trace_id`); empty when the answer had none.
    [[nodiscard]] const std::string& trace_id() const noexcept { return trace_id_; }

private:
    int status_;
    std::string name_;
    std::string message_;
    std::string trace_id_;
};

/// 404: the collection, database or tenant does not exist on the server.
class CHROMAWAL_API not_found : public server_rejected {
public:
    using server_rejected::server_rejected;
};

/// 409: a collection, database or tenant with that name already exists.
class CHROMAWAL_API already_exists : public server_rejected {
public:
    using server_rejected::server_rejected;
};

/// The server answered with a 5xx status.
class CHROMAWAL_API server_error : public error {
public:
    /// Parameters as server_rejected's.
    server_error(int status, std::string error_name, std::string server_message, const std::string& context = {},
                 std::string trace_id = {});
    [[nodiscard]] int status() const noexcept { return status_; }
    [[nodiscard]] const std::string& error_name() const noexcept { return name_; }
    [[nodiscard]] const std::string& server_message() const noexcept { return message_; }
    /// The server's `chroma-trace-id` response header; empty when the answer had none.
    [[nodiscard]] const std::string& trace_id() const noexcept { return trace_id_; }
    [[nodiscard]] bool retryable() const noexcept override { return true; }

private:
    int status_;
    std::string name_;
    std::string message_;
    std::string trace_id_;
};

/// The server could not be reached, or the connection broke before a full answer arrived.
/// A write that failed this way may or may not have been applied, unless request_sent() is
/// false.
class CHROMAWAL_API connection_error : public error {
public:
    /// @param request_sent false only when the request certainly never reached the server.
    explicit connection_error(const std::string& what, bool request_sent = true)
        : error(what), request_sent_(request_sent) {}
    [[nodiscard]] bool retryable() const noexcept override { return true; }
    /// False when the request certainly never reached the server (the name did not resolve, the
    /// connection was refused or timed out, the TLS handshake failed, no byte of the request
    /// was sent): a write that failed this way was not applied. True when it may have been.
    [[nodiscard]] bool request_sent() const noexcept { return request_sent_; }

private:
    bool request_sent_;
};

/// No complete answer within the request timeout (a hung or overloaded server).
/// A write that failed this way may or may not have been applied (see request_sent()).
class CHROMAWAL_API timeout_error : public connection_error {
public:
    using connection_error::connection_error;
};

/// The write-ahead log store could not be reached, or failed the statement. For a write:
/// nothing was logged and nothing was applied anywhere.
class CHROMAWAL_API log_unavailable : public error {
public:
    using error::error;
    [[nodiscard]] bool retryable() const noexcept override { return true; }
};

/// A write was logged, but no instance confirmed applying it. queued() false: it reached no
/// instance at all (nothing was sent, or every request was refused before it was sent) and
/// queue_when_unavailable is off (the default); the entry is marked abandoned and will never be
/// applied. queued() true: the entry stays pending and the sync thread applies it on recovery;
/// that is the outcome with queue_when_unavailable on, and also whenever a request was sent and
/// no answer came (the instance may have applied it, so it is never abandoned).
class CHROMAWAL_API no_instance_available : public error {
public:
    no_instance_available(const std::string& what, bool queued, std::int64_t position)
        : error(what), queued_(queued), position_(position) {}
    [[nodiscard]] bool queued() const noexcept { return queued_; }
    [[nodiscard]] std::int64_t position() const noexcept { return position_; }

private:
    bool queued_;
    std::int64_t position_;
};

/// What became of a write is not known: the answer to a step that cannot be undone was lost
/// (the log store went away while committing the entry, or while deciding to abandon it). The
/// entry may be in the log, and may be applied later or not at all. entry_id() names it; a
/// retry with the same idempotency key (write_options) is safe: it returns the first write's
/// receipt if that one was logged, and logs it once otherwise. A retry without the key may
/// apply the write twice.
class CHROMAWAL_API outcome_unknown : public error {
public:
    outcome_unknown(const std::string& what, std::string entry_id, std::int64_t position = 0)
        : error(what), entry_id_(std::move(entry_id)), position_(position) {}
    /// The log entry's id (the idempotency key, when the write carried one).
    [[nodiscard]] const std::string& entry_id() const noexcept { return entry_id_; }
    /// The entry's position in its collection's lane when it is known to be logged; 0 otherwise.
    [[nodiscard]] std::int64_t position() const noexcept { return position_; }

private:
    std::string entry_id_;
    std::int64_t position_;
};

/// An instance rejected a logged write as invalid (a 4xx that every instance would give, such
/// as a dimension mismatch). The entry is marked rejected and never replayed.
class CHROMAWAL_API write_rejected : public server_rejected {
public:
    using server_rejected::server_rejected;
};

/// The write is logged and was applied to fewer instances than the write quorum. It stays
/// pending and the sync thread applies it when the instances return; do not retry the write.
class CHROMAWAL_API quorum_not_reached : public error {
public:
    quorum_not_reached(const std::string& what, std::int64_t position, std::size_t applied)
        : error(what), position_(position), applied_(applied) {}
    [[nodiscard]] std::int64_t position() const noexcept { return position_; }
    [[nodiscard]] std::size_t applied_count() const noexcept { return applied_; }

private:
    std::int64_t position_;
    std::size_t applied_;
};

/// An instance is recorded for another write-ahead log than this client's: two logs driving
/// one instance set would apply writes in no common order and diverge. Writes are refused
/// (nothing is logged or applied) until the configuration is fixed, or an operator takes the
/// instances over for this log (client::take_over_instances, `chromawal takeover`).
class CHROMAWAL_API log_conflict : public error {
public:
    using error::error;
};

}  // namespace chromawal
