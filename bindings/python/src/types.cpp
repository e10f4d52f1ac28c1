// Module-level values: the library's version and the include bits of get / query.
#include "bindings.hpp"

#include <chromawal/chromawal.hpp>

#include <string>

namespace cwpy {

void bind_types(py::module_& m) {
    m.def("library_version", [] { return std::string(chromawal::version()); });

    m.attr("INCLUDE_DOCUMENTS") = static_cast<unsigned>(chromawal::include_fields::documents);
    m.attr("INCLUDE_EMBEDDINGS") = static_cast<unsigned>(chromawal::include_fields::embeddings);
    m.attr("INCLUDE_METADATAS") = static_cast<unsigned>(chromawal::include_fields::metadatas);
    m.attr("INCLUDE_DISTANCES") = static_cast<unsigned>(chromawal::include_fields::distances);
    m.attr("INCLUDE_URIS") = static_cast<unsigned>(chromawal::include_fields::uris);
}

}  // namespace cwpy
