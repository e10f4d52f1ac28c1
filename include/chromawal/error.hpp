#pragma once
/// @file
/// The exception hierarchy of chromawal.
///
/// Every exception the library throws derives from chromawal::error. The subclasses are named
/// for what the caller can do next:
///
/// | type               | cause                                              | what to do          |
/// |--------------------|----------------------------------------------------|---------------------|
/// | invalid_argument   | the input broke a rule, checked before any request | fix the input       |
/// | not_found          | the server has no such collection/database/tenant  | create it, or stop  |
/// | already_exists     | the name is taken                                   | get it instead      |
/// | server_rejected    | any other 4xx answer from the server               | fix the request     |
/// | server_error       | a 5xx answer                                       | maybe retry later   |
/// | connection_error   | could not connect, or the connection broke         | retry later         |
/// | timeout_error      | no answer within the request timeout               | retry later (the write may have been
/// applied) | | log_unavailable    | the write-ahead log store is unreachable; nothing was logged or applied | retry
/// later | | no_instance_available | no instance could apply a logged write             | see queued(): abandoned, or
/// applied on recovery | | write_rejected     | an instance rejected a logged write as invalid; never replayed | fix
/// the input | | quorum_not_reached | fewer instances than write_quorum applied it; it stays logged and will be applied
/// | wait, or alert |
///
/// No exception of libcurl, simdjson or libpq ever escapes the API.

#include <chromawal/export.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

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
    server_rejected(int status, std::string error_name, std::string server_message, const std::string& context = {});
    [[nodiscard]] int status() const noexcept { return status_; }
    /// Chroma's error name from the response body; empty when the body was not JSON.
    [[nodiscard]] const std::string& error_name() const noexcept { return name_; }
    /// Chroma's error message from the response body (or the plain-text body).
    [[nodiscard]] const std::string& server_message() const noexcept { return message_; }

private:
    int status_;
    std::string name_;
    std::string message_;
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
    server_error(int status, std::string error_name, std::string server_message, const std::string& context = {});
    [[nodiscard]] int status() const noexcept { return status_; }
    [[nodiscard]] const std::string& error_name() const noexcept { return name_; }
    [[nodiscard]] const std::string& server_message() const noexcept { return message_; }
    [[nodiscard]] bool retryable() const noexcept override { return true; }

private:
    int status_;
    std::string name_;
    std::string message_;
};

/// The server could not be reached, or the connection broke before a full answer arrived.
/// A write that failed this way may or may not have been applied.
class CHROMAWAL_API connection_error : public error {
public:
    using error::error;
    [[nodiscard]] bool retryable() const noexcept override { return true; }
};

/// No complete answer within the request timeout (a hung or overloaded server).
/// A write that failed this way may or may not have been applied.
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

/// A write was logged, but no instance could apply it. With queue_when_unavailable off (the
/// default) the entry is marked abandoned and will never be applied (queued() is false); with
/// it on, the entry stays pending and the sync thread applies it on recovery (queued() true).
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

}  // namespace chromawal
