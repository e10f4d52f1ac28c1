// Replicated: the Python-facing wrappers of chromawal::client and its collections.
#pragma once

#include "single_server.hpp"

#include <chromawal/chromawal.hpp>

#include <pybind11/pybind11.h>

#include <chrono>
#include <cstddef>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace cwpy {

namespace py = pybind11;

/// Shared by a client and its collections; close() ends the C++ client once no call is using it.
struct replicated_state {
    std::mutex mutex;
    std::shared_ptr<chromawal::client> client;
    std::vector<chromawal::instance_config> instances;
    /// One-server clients of the instances, with this client's tenant and database (same
    /// order as `instances`): Client.instance(), verify, and describing collections. They do
    /// not need the replicated client, so they work after close() too.
    std::vector<chromawal::chroma_client> direct;
    std::string tenant, database;  // the configured ones (of `direct`)
    std::string read_policy;
    std::size_t write_quorum = 1;
    bool queue_when_unavailable = false;

    std::shared_ptr<chromawal::client> get() {
        std::lock_guard<std::mutex> lock(mutex);
        if (!client) throw std::runtime_error("this chromawal.Client is closed");
        return client;
    }

    /// Call with the GIL held: the client's background threads are joined with it released.
    void close() {
        std::shared_ptr<chromawal::client> c;
        {
            std::lock_guard<std::mutex> lock(mutex);
            c = std::move(client);
        }
        if (c) {
            py::gil_scoped_release nogil;
            c.reset();
        }
    }

    /// The collection's description from the first instance that has it (primary first):
    /// not_found when an instance answered that it has none, no_instance_available when none
    /// answered. Call without the GIL.
    chromawal::collection_info describe(const std::string& tenant, const std::string& database,
                                        const std::string& name) const;

    ~replicated_state() {
        if (client && Py_IsInitialized() && PyGILState_Check()) {
            py::gil_scoped_release nogil;
            client.reset();
        }
    }
};

/// Runs f(client) with the GIL released; the client reference is dropped before the GIL is
/// taken again (the last reference joins background threads that may want the GIL).
template <typename F>
auto with_client(replicated_state& s, F&& f) {
    std::shared_ptr<chromawal::client> c = s.get();
    py::gil_scoped_release nogil;
    struct drop {
        std::shared_ptr<chromawal::client>& c;
        ~drop() { c.reset(); }
    } d{c};
    return f(*c);
}

/// PendingWrite: an asynchronous write (submit / submit_delete). wait() blocks without the GIL
/// and returns what write / delete return, or raises the write's error.
struct pending_write {
    std::future<chromawal::write_receipt> answer;
    bool is_delete = false;
    bool ids_only = false;  // a delete by ids alone: its count without an answer is len(ids)
    std::size_t ids = 0;
    py::object wait();
    bool done() const { return answer.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }
};

/// ReplicatedCollection: a collection of the replicated client by name (modify renames it),
/// with the API of collection_api.hpp.
struct replicated_collection {
    static constexpr bool replicated = true;

    std::shared_ptr<replicated_state> state;
    std::string name;
    std::mutex name_mutex;           // modify() renames
    std::string tenant_, database_;  // fixed: those of the client when the handle was made
    /// The description (a dict), read from an instance on first use; null until then and after
    /// refresh(). Only touched with the GIL held.
    py::object model;

    replicated_collection(std::shared_ptr<replicated_state> s, const chromawal::collection& c)
        : state(std::move(s)), name(c.name()), tenant_(c.tenant()), database_(c.database()) {}

    std::string current_name();
    std::string tenant() const { return tenant_; }
    std::string database() const { return database_; }
    /// This handle's collection (by its current name) in its tenant and database.
    chromawal::collection handle(chromawal::client& c, const std::string& n) const {
        return c.collection_by_name(n, tenant_, database_);
    }
    py::dict info();
    void refresh();
    /// The write's receipt.
    py::object write(const char* op, const py::handle& ids, const py::handle& embeddings, const py::handle& metadatas,
                     const py::handle& documents, const py::handle& uris, const std::string& idempotency_key);
    /// Asynchronous write / remove: the same arguments; the records are encoded before it
    /// returns (the caller's buffers may go). Waits (without the GIL) while the window is full.
    pending_write submit(const char* op, const py::handle& ids, const py::handle& embeddings,
                         const py::handle& metadatas, const py::handle& documents, const py::handle& uris,
                         const std::string& idempotency_key);
    pending_write submit_delete(const py::handle& ids, const py::handle& where, const py::handle& where_document,
                                const py::handle& limit, const std::string& idempotency_key);
    /// {"deleted": the first instance's count (without an answer in the call: len(ids) for an
    /// ids-only delete, else None); "receipt": the receipt}.
    py::dict remove(const py::handle& ids, const py::handle& where, const py::handle& where_document,
                    const py::handle& limit, const std::string& idempotency_key);
    py::dict delete_document(const std::string& document_id, const std::string& key);
    py::dict get(const py::handle& ids, const py::handle& where, const py::handle& where_document,
                 const py::handle& limit, std::size_t offset, unsigned include, bool allow_stale);
    py::dict query(const py::handle& embeddings, std::size_t n_results, const py::handle& ids, const py::handle& where,
                   const py::handle& where_document, unsigned include, bool allow_stale);
    std::size_t count(bool allow_stale);
    py::dict peek(std::size_t limit, bool allow_stale);
    /// The receipt; the kept description follows the new name and metadata (a configuration
    /// change drops it, to be read again).
    py::object modify(const py::handle& new_name, const py::handle& metadata, const py::handle& configuration_json);
};

/// ReplicatedClient: a chromawal::client, closed by close() or when the last reference goes.
struct replicated_client {
    std::shared_ptr<replicated_state> state = std::make_shared<replicated_state>();

    explicit replicated_client(chromawal::client_config config);

    static std::unique_ptr<replicated_client> from_dict(const py::dict& d);
    static std::unique_ptr<replicated_client> from_env();

    /// A one-server client for instance i, with this client's tenant and database.
    http_client instance(std::size_t i) const;
    py::list instances() const;
};

}  // namespace cwpy
