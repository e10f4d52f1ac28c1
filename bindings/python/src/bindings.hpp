// The parts of the extension module chromawal._chromawal, one function per file, called in
// order by module.cpp (PYBIND11_MODULE).
#pragma once

#include <pybind11/pybind11.h>

namespace cwpy {

namespace py = pybind11;

struct replicated_client;  // replicated.hpp

/// errors.cpp: the exception translator and _set_error_factory.
void bind_errors(py::module_& m);
/// types.cpp: library_version and the INCLUDE_* bits.
void bind_types(py::module_& m);
/// single_server.cpp: HttpCollection and HttpClient (chromawal::chroma_client).
void bind_single_server(py::module_& m);
/// replicated.cpp: ReplicatedCollection and ReplicatedClient (chromawal::client), without the
/// status calls; returns the ReplicatedClient class for bind_status.
py::class_<replicated_client> bind_replicated(py::module_& m);
/// status.cpp: ReplicatedClient's status, sync and dead-letter calls.
void bind_status(py::class_<replicated_client>& cls);
/// verify.cpp: verify(a, b, collection) over two HttpClients.
void bind_verify(py::module_& m);

}  // namespace cwpy
