#pragma once
// The failure of one PostgreSQL statement or connection attempt, as the store's parts pass it
// on before the store turns it into a chromawal error.
//
// Owns: pg_failure (part of the connection pool's concern; on its own so that the wire format
// helpers can throw it without depending on the pool). Calls: nothing. Thread-safety: a value.

#include <stdexcept>
#include <string>
#include <utility>

namespace chromawal::wal::pg {

/// A failure of one statement or connection attempt. The message never holds a secret.
class pg_failure : public std::runtime_error {
public:
    pg_failure(const std::string& message, bool broken, std::string sqlstate = {}, std::string constraint = {})
        : std::runtime_error(message),
          broken_(broken),
          sqlstate_(std::move(sqlstate)),
          constraint_(std::move(constraint)) {}
    /// The same failure, known to have happened before the statement was handed to the
    /// connection (so the server cannot have run it).
    pg_failure before_sending() const {
        pg_failure f(*this);
        f.sent_ = false;
        return f;
    }
    /// The connection is unusable (or its state unknown) and must be discarded.
    bool broken() const noexcept { return broken_; }
    const std::string& sqlstate() const noexcept { return sqlstate_; }
    const std::string& constraint() const noexcept { return constraint_; }
    /// False when the statement certainly never reached the server.
    bool statement_sent() const noexcept { return sent_; }
    /// The connection can never succeed as configured (SQLSTATE class 28, invalid
    /// authorization; 3D000, no such database; 22023, a setting libpq rejects): retrying will
    /// not help until the configuration changes.
    bool refused() const noexcept {
        return sqlstate_.compare(0, 2, "28") == 0 || sqlstate_ == "3D000" || sqlstate_ == "22023";
    }

private:
    bool broken_;
    bool sent_ = true;
    std::string sqlstate_;
    std::string constraint_;
};

}  // namespace chromawal::wal::pg
