#pragma once
// Group commit, store-neutral: concurrent single-lane appends combined into one transaction.
//
// In a store where the appends of one lane serialise until they commit (PostgreSQL: the lane's
// row lock), concurrent single-lane appends from several threads would each pay a whole commit
// in turn. Instead, calls that arrive while an append of their lane is running queue up, and the
// first of them then appends the whole queue in one transaction (group commit): each call still
// gets consecutive positions, in one transaction, durable on return. If such a combined append
// is refused (a duplicate id), its calls are appended one by one, so only the offender fails.
// An append spanning several lanes, or holding a rename, is not combined.
//
// Owns: the per-lane queues, the choice of the round's leader, the round limits (5,000 entries,
// 8 MiB of payload) and handing each call its share of the positions or its error.
// Calls: only its append_backend (the store's one append transaction and how its failures
// read), from the threads that call append(). Thread-safety: append() may be called from any
// number of threads; one mutex guards the queues and is never held while a transaction runs.
// At most one transaction per lane runs from here at a time.

#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "wal/log_store.hpp"

namespace chromawal::wal {

/// What group_commit needs of a store.
class append_backend {
public:
    virtual ~append_backend() = default;
    /// One append transaction for `entries` (each call's entries in the order given, so a
    /// call's positions are consecutive when they are of one lane); durable on return.
    virtual std::vector<appended> append_now(const std::vector<const new_entry*>& entries) = 0;
    /// Whether `error`, thrown by append_now, means the store refused that append and committed
    /// nothing (e.g. a duplicate idempotency id): a combined round is then redone call by call.
    virtual bool refused(const std::exception_ptr& error) const = 0;
    /// The exception the caller of append() sees for `error`, thrown by append_now.
    virtual std::exception_ptr public_error(const std::exception_ptr& error) const = 0;
};

class group_commit {
public:
    /// @param name names the store in the one error of this class's own ("<name>: append failed").
    group_commit(std::unique_ptr<append_backend> backend, std::string name);
    ~group_commit();
    group_commit(const group_commit&) = delete;
    group_commit& operator=(const group_commit&) = delete;

    /// log_store::append(): single-lane calls are combined with concurrent ones of their lane.
    std::vector<appended> append(const std::vector<new_entry>& entries);
    /// How many calls wait behind a running append of their lane (a snapshot; for tests and
    /// monitoring: the queue lives in this process, so the store cannot show it).
    std::size_t queued() const;

private:
    struct append_request;
    std::unique_ptr<append_backend> backend_;
    std::string name_;
    mutable std::mutex append_mutex_;
    /// Per lane with an append running: the calls waiting to go in the next round.
    std::unordered_map<std::string, std::deque<append_request*>> append_queues_;
};

}  // namespace chromawal::wal
