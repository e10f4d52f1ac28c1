// Module-level values: the library's version and the include bits of get / query.
#include "bindings.hpp"

#include <chromawal/chromawal.hpp>

#include <string>

namespace cwpy {

void bind_types(py::module_& m) {
    m.def("library_version", [] { return std::string(chromawal::version()); });

    m.attr("INCLUDE_DOCUMENTS") = static_cast<unsigned>(chromawal::include::documents);
    m.attr("INCLUDE_EMBEDDINGS") = static_cast<unsigned>(chromawal::include::embeddings);
    m.attr("INCLUDE_METADATAS") = static_cast<unsigned>(chromawal::include::metadatas);
    m.attr("INCLUDE_DISTANCES") = static_cast<unsigned>(chromawal::include::distances);
    m.attr("INCLUDE_URIS") = static_cast<unsigned>(chromawal::include::uris);
}

}  // namespace cwpy
