// One server: the Python-facing wrappers of chromawal::chroma_client and its collections.
#pragma once

#include <chromawal/chromawal.hpp>

#include <pybind11/pybind11.h>

#include <cstddef>
#include <string>
#include <utility>

namespace cwpy {

namespace py = pybind11;

/// HttpCollection: a chroma_collection handle, with the API of collection_api.hpp. Calls copy
/// the handle under the GIL and use the copy without it; modify() and refresh() store the new
/// handle back under the GIL.
struct http_collection {
    static constexpr bool replicated = false;

    chromawal::chroma_client client;  // the client that opened the collection (refresh)
    chromawal::chroma_collection handle;

    chromawal::chroma_collection copy() const { return handle; }  // under the GIL

    std::string current_name() const { return handle.name(); }
    std::string tenant() const { return client.options().tenant; }
    std::string database() const { return client.options().database; }
    py::dict info() const;
    void refresh();
    /// None: there is no log, so no receipt.
    py::object write(const char* op, const py::handle& ids, const py::handle& embeddings, const py::handle& metadatas,
                     const py::handle& documents, const py::handle& uris, const std::string& idempotency_key) const;
    /// {"deleted": the server's count, "receipt": None}.
    py::dict remove(const py::handle& ids, const py::handle& where, const py::handle& where_document,
                    const py::handle& limit, const std::string& idempotency_key) const;
    py::dict delete_document(const std::string& document_id, const std::string& key) const;
    // allow_stale: accepted for the one API; one server has a single copy, so it changes nothing.
    py::dict get(const py::handle& ids, const py::handle& where, const py::handle& where_document,
                 const py::handle& limit, std::size_t offset, unsigned include, bool allow_stale) const;
    py::dict query(const py::handle& embeddings, std::size_t n_results, const py::handle& ids, const py::handle& where,
                   const py::handle& where_document, unsigned include, bool allow_stale) const;
    std::size_t count(bool allow_stale) const;
    py::dict peek(std::size_t limit, bool allow_stale) const;
    /// None. A configuration change reads the description again (the server merges it).
    py::object modify(const py::handle& name, const py::handle& metadata, const py::handle& configuration_json);
};

/// HttpClient: a chroma_client (thread-safe; copies share connections).
struct http_client {
    chromawal::chroma_client client;

    explicit http_client(const py::dict& options);
    explicit http_client(chromawal::chroma_client c) : client(std::move(c)) {}

    /// f(client) with the GIL released.
    template <typename F>
    auto nogil(F&& f) const {
        py::gil_scoped_release r;
        return f(client);
    }

    py::dict options() const;
};

}  // namespace cwpy
