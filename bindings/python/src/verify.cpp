// verify(): compares a collection on two servers, record by record.
#include "bindings.hpp"
#include "convert.hpp"
#include "single_server.hpp"

#include <cstddef>
#include <string>

namespace cwpy {

void bind_verify(py::module_& m) {
    m.def(
        "verify",
        [](const http_client& a, const http_client& b, const std::string& collection, std::size_t page_size,
           std::size_t max_listed) {
            chromawal::verify_report r;
            {
                py::gil_scoped_release nogil;
                r = chromawal::verify_collection(a.client, b.client, collection,
                                                 chromawal::compare_options{page_size, max_listed});
            }
            return from_verify_report(r);
        },
        py::arg("a"), py::arg("b"), py::arg("collection"), py::arg("page_size") = 1000, py::arg("max_listed") = 100);
}

}  // namespace cwpy
