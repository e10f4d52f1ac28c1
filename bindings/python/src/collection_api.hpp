// The one native collection API, bound for both collection classes (HttpCollection over one
// server, ReplicatedCollection over the replicated set), so that the Python Collection calls
// either the same way, without knowing which it holds.
//
//   name, replicated, tenant, database                      read-only properties
//   info() -> dict                   id, name, tenant, database, metadata, dimension,
//                                    configuration_json (text), version, log_position,
//                                    serialized_schema (dict, or None when the server sent
//                                    none); replicated: read once from the first instance that
//                                    answers (id, version and log_position are that
//                                    instance's own), then kept until refresh/modify
//   refresh() -> None                reads the description again
//   write(op, ids, embeddings, metadatas, documents, uris, idempotency_key) -> receipt | None
//   delete(ids, where, where_document, limit) -> {"deleted": int | None, "receipt": receipt | None}
//   delete_document(document_id, key)         -> {"deleted": int | None, "receipt": receipt | None}
//   get(ids, where, where_document, limit, offset, include, allow_stale=False) -> dict
//   query(embeddings, n_results, ids, where, where_document, include, allow_stale=False) -> dict
//   count(allow_stale=False) -> int
//   peek(limit, allow_stale=False) -> dict
//   modify(name, metadata, configuration_json) -> receipt | None
//
// A receipt is {"position", "entry_id", "applied", "queued"} (replicated writes); one server
// has no log and returns None. One server has a single copy to read: allow_stale changes
// nothing there. `deleted` is the server's count on one server; replicated, the count of the
// first instance that applied the delete during the call, else the number of ids for an
// ids-only delete and None for a filter (queued: no server has answered).
#pragma once

#include <pybind11/pybind11.h>

namespace cwpy {

namespace py = pybind11;

/// Binds class C under `name` with the methods above (C implements them with these names).
template <typename C>
py::class_<C> bind_collection_api(py::module_& m, const char* name, const char* doc) {
    py::class_<C> cls(m, name, doc);
    cls.def_property_readonly("name", &C::current_name)
        .def_property_readonly("replicated", [](const C&) { return C::replicated; })
        .def_property_readonly("tenant", &C::tenant)
        .def_property_readonly("database", &C::database)
        .def("info", &C::info)
        .def("refresh", &C::refresh)
        .def("write", &C::write, py::arg("op"), py::arg("ids"), py::arg("embeddings"), py::arg("metadatas"),
             py::arg("documents"), py::arg("uris"), py::arg("idempotency_key") = std::string())
        .def("delete", &C::remove, py::arg("ids"), py::arg("where"), py::arg("where_document"), py::arg("limit"),
             py::arg("idempotency_key") = std::string())
        .def("delete_document", &C::delete_document, py::arg("document_id"), py::arg("key"))
        .def("get", &C::get, py::arg("ids"), py::arg("where"), py::arg("where_document"), py::arg("limit"),
             py::arg("offset"), py::arg("include"), py::arg("allow_stale") = false)
        .def("query", &C::query, py::arg("embeddings"), py::arg("n_results"), py::arg("ids"), py::arg("where"),
             py::arg("where_document"), py::arg("include"), py::arg("allow_stale") = false)
        .def("count", &C::count, py::arg("allow_stale") = false)
        .def("peek", &C::peek, py::arg("limit"), py::arg("allow_stale") = false)
        .def("modify", &C::modify, py::arg("name"), py::arg("metadata"), py::arg("configuration_json"));
    return cls;
}

/// {"deleted": deleted, "receipt": receipt}: what delete / delete_document return.
inline py::dict delete_result(py::object deleted, py::object receipt) {
    py::dict d;
    d["deleted"] = std::move(deleted);
    d["receipt"] = std::move(receipt);
    return d;
}

}  // namespace cwpy
