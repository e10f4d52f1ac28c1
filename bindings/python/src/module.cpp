// chromawal._chromawal: the native layer of the Python bindings.
//
// Thin classes over the C++ API; the chromadb-shaped API (argument forms, defaults, result
// dicts, validation wording, exception classes) is the Python package chromawal around it.
//
// Threads: every call converts its arguments with the GIL held, then releases the GIL for the
// C++ call (network and log I/O), then converts the result with the GIL held again. The C++
// clients are thread-safe; collection handles whose C++ counterpart mutates itself (modify)
// are copied before the GIL is released, so one Python object is safe from many threads.
//
// Layout (each file binds one part):
//   errors.cpp         C++ exceptions -> chromawal.errors classes
//   types.cpp          library_version, INCLUDE_* bits
//   collection_api.hpp the one API of both collection classes (bind_collection_api)
//   single_server.cpp  HttpCollection, HttpClient         (chromawal::chroma_client)
//   replicated.cpp     ReplicatedCollection, ReplicatedClient (chromawal::client)
//   status.cpp         ReplicatedClient's status / sync / dead-letter calls
//   verify.cpp         verify() over two HttpClients
//   config.cpp         Python dict -> chromawal::client_config
//   options.cpp        Python arguments -> connection / collection / read / delete options
//   convert.cpp        records, filters and results between Python and C++
#include "bindings.hpp"
#include "replicated.hpp"  // bind_replicated returns py::class_<replicated_client>

PYBIND11_MODULE(_chromawal, m) {
    m.doc() = "Native layer of chromawal's Python bindings (use the chromawal package, not this module).";

    cwpy::bind_errors(m);
    cwpy::bind_types(m);
    cwpy::bind_single_server(m);
    auto replicated_client = cwpy::bind_replicated(m);
    cwpy::bind_status(replicated_client);
    cwpy::bind_verify(m);
}
