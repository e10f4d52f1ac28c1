// Options of the C++ API from the plain values and dicts the Python layer passes.
//
// Every function here runs with the GIL held.
#pragma once

#include <chromawal/chromawal.hpp>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cstddef>
#include <optional>

namespace cwpy {

namespace py = pybind11;

/// d[key] as T, or `fallback` when the key is missing or None.
template <typename T>
T get_or(const py::dict& d, const char* key, T fallback) {
    if (!d.contains(key)) return fallback;
    py::object v = d[key];
    if (v.is_none()) return fallback;
    return v.cast<T>();
}

/// Seconds (float) to milliseconds, rounded to nearest.
std::chrono::milliseconds seconds_to_ms(double s);

/// One server's connection: base_url, tenant, database, headers, timeouts (seconds), TLS.
chromawal::connection_options to_connection(const py::dict& d);

chromawal::collection_options to_collection_options(const py::handle& metadata, const py::handle& configuration_json,
                                                    const py::handle& schema_json, const char* op);
chromawal::modify_options to_modify_options(const py::handle& name, const py::handle& metadata,
                                            const py::handle& configuration_json);
std::optional<std::size_t> to_limit(const py::handle& limit);
chromawal::get_options to_get_options(const py::handle& ids, const py::handle& where, const py::handle& where_document,
                                      const py::handle& limit, std::size_t offset, unsigned include);
chromawal::delete_options to_delete_options(const py::handle& ids, const py::handle& where,
                                            const py::handle& where_document, const py::handle& limit);
chromawal::query_options to_query_options(const py::handle& embeddings, std::size_t n_results, const py::handle& ids,
                                          const py::handle& where, const py::handle& where_document, unsigned include);

}  // namespace cwpy
