// One server: the Python-facing wrappers of chromawal::chroma_client and its collections.
#pragma once

#include <chromawal/chromawal.hpp>

#include <pybind11/pybind11.h>

#include <cstddef>
#include <utility>

namespace cwpy {

namespace py = pybind11;

/// HttpCollection: a chroma_collection handle. Calls copy the handle under the GIL and use the
/// copy without it; modify() stores the renamed handle back under the GIL.
struct http_collection {
    chromawal::chroma_collection handle;

    chromawal::chroma_collection copy() const { return handle; }  // under the GIL

    py::dict info() const;
    void write(const char* op, const py::handle& ids, const py::handle& embeddings, const py::handle& metadatas,
               const py::handle& documents, const py::handle& uris) const;
    std::size_t remove(const py::handle& ids, const py::handle& where, const py::handle& where_document,
                       const py::handle& limit) const;
    py::dict get(const py::handle& ids, const py::handle& where, const py::handle& where_document,
                 const py::handle& limit, std::size_t offset, unsigned include) const;
    py::dict query(const py::handle& embeddings, std::size_t n_results, const py::handle& ids, const py::handle& where,
                   const py::handle& where_document, unsigned include) const;
    std::size_t count() const;
    py::dict peek(std::size_t limit) const;
    void modify(const py::handle& name, const py::handle& metadata, const py::handle& configuration_json);
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
