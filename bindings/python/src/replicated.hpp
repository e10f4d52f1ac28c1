// Replicated: the Python-facing wrappers of chromawal::client and its collections.
#pragma once

#include "single_server.hpp"

#include <chromawal/chromawal.hpp>

#include <pybind11/pybind11.h>

#include <cstddef>
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
    std::string tenant, database;
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

/// ReplicatedCollection: a collection of the replicated client, by name (modify renames it).
struct replicated_collection {
    std::shared_ptr<replicated_state> state;
    std::string name;
    std::mutex name_mutex;  // modify() renames

    replicated_collection(std::shared_ptr<replicated_state> s, std::string n)
        : state(std::move(s)), name(std::move(n)) {}

    std::string current_name();

    py::dict write(const char* op, const py::handle& ids, const py::handle& embeddings, const py::handle& metadatas,
                   const py::handle& documents, const py::handle& uris);
    py::dict remove(const py::handle& ids, const py::handle& where, const py::handle& where_document,
                    const py::handle& limit);
    py::dict delete_document(const std::string& document_id, const std::string& key);
    py::dict get(const py::handle& ids, const py::handle& where, const py::handle& where_document,
                 const py::handle& limit, std::size_t offset, unsigned include, bool allow_stale);
    py::dict query(const py::handle& embeddings, std::size_t n_results, const py::handle& ids, const py::handle& where,
                   const py::handle& where_document, unsigned include, bool allow_stale);
    std::size_t count(bool allow_stale);
    py::dict peek(std::size_t limit, bool allow_stale);
    py::dict modify(const py::handle& new_name, const py::handle& metadata, const py::handle& configuration_json);
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
