// One server: HttpCollection and HttpClient over chromawal::chroma_client.
#include "single_server.hpp"
#include "bindings.hpp"
#include "collection_api.hpp"
#include "convert.hpp"
#include "options.hpp"

#include <pybind11/stl.h>

#include <string>
#include <utility>

namespace cwpy {

py::dict database_dict(const chromawal::database_info& d) {
    py::dict out;
    out["id"] = d.id;
    out["name"] = d.name;
    out["tenant"] = d.tenant;
    return out;
}

// ---- HttpCollection ----

py::dict http_collection::info() const { return from_collection_info(handle.info()); }

void http_collection::refresh() {
    const auto c = client;
    const std::string id = handle.id();
    chromawal::chroma_collection h = [&] {
        py::gil_scoped_release nogil;
        return c.get_collection_by_id(id);
    }();
    handle = std::move(h);
}

namespace {

// A single server has no log to remember keys in: a key would promise what it cannot keep.
void refuse_idempotency_key(const std::string& key) {
    if (!key.empty()) {
        throw chromawal::invalid_argument(
            "idempotency_key needs the write-ahead log: use a replicated client (chromawal.Client)");
    }
}

}  // namespace

py::object http_collection::write(const char* op, const py::handle& ids, const py::handle& embeddings,
                                  const py::handle& metadatas, const py::handle& documents, const py::handle& uris,
                                  const std::string& idempotency_key) const {
    refuse_idempotency_key(idempotency_key);
    record_batch b = to_records(ids, embeddings, metadatas, documents, uris, op);
    auto h = copy();
    const std::string which(op);
    {
        py::gil_scoped_release nogil;
        if (which == "add")
            h.add(b.records);
        else if (which == "upsert")
            h.upsert(b.records);
        else
            h.update(b.records);
    }
    return py::none();
}

py::dict http_collection::remove(const py::handle& ids, const py::handle& where, const py::handle& where_document,
                                 const py::handle& limit, const std::string& idempotency_key) const {
    refuse_idempotency_key(idempotency_key);
    auto o = to_delete_options(ids, where, where_document, limit);
    auto h = copy();
    std::size_t deleted = 0;
    {
        py::gil_scoped_release nogil;
        deleted = h.delete_records(o);
    }
    return delete_result(py::int_(deleted), py::none());
}

py::dict http_collection::delete_document(const std::string& document_id, const std::string& key) const {
    // The selector of the replicated client's delete_document: where {key: document_id}.
    chromawal::delete_options o;
    o.where = chromawal::where_filter::eq(key, document_id);
    auto h = copy();
    std::size_t deleted = 0;
    {
        py::gil_scoped_release nogil;
        deleted = h.delete_records(o);
    }
    return delete_result(py::int_(deleted), py::none());
}

py::dict http_collection::get(const py::handle& ids, const py::handle& where, const py::handle& where_document,
                              const py::handle& limit, std::size_t offset, unsigned include,
                              bool /*allow_stale*/) const {
    auto o = to_get_options(ids, where, where_document, limit, offset, include);
    auto h = copy();
    chromawal::get_result r;
    {
        py::gil_scoped_release nogil;
        r = h.get(o);
    }
    return from_get_result(std::move(r));
}

py::dict http_collection::query(const py::handle& embeddings, std::size_t n_results, const py::handle& ids,
                                const py::handle& where, const py::handle& where_document, unsigned include,
                                bool /*allow_stale*/) const {
    auto o = to_query_options(embeddings, n_results, ids, where, where_document, include);
    auto h = copy();
    chromawal::query_result r;
    {
        py::gil_scoped_release nogil;
        r = h.query(o);
    }
    return from_query_result(std::move(r));
}

std::size_t http_collection::count(bool /*allow_stale*/) const {
    auto h = copy();
    py::gil_scoped_release nogil;
    return h.count();
}

py::dict http_collection::peek(std::size_t limit, bool /*allow_stale*/) const {
    auto h = copy();
    chromawal::get_result r;
    {
        py::gil_scoped_release nogil;
        r = h.peek(limit);
    }
    return from_get_result(std::move(r));
}

py::object http_collection::modify(const py::handle& name, const py::handle& metadata,
                                   const py::handle& configuration_json) {
    auto m = to_modify_options(name, metadata, configuration_json);
    auto h = copy();
    {
        py::gil_scoped_release nogil;
        h.modify(m);
    }
    handle = std::move(h);
    if (!configuration_json.is_none()) refresh();
    return py::none();
}

// ---- HttpClient ----

http_client::http_client(const py::dict& options) : client(to_connection(options)) {}

py::dict http_client::options() const {
    const auto& o = client.options();
    py::dict d;
    d["base_url"] = o.base_url;
    d["tenant"] = o.tenant;
    d["database"] = o.database;
    d["connect_timeout"] = static_cast<double>(o.connect_timeout.count()) / 1000.0;
    d["request_timeout"] = static_cast<double>(o.request_timeout.count()) / 1000.0;
    return d;
}

namespace {

http_collection make_http_collection(const http_client& s, chromawal::chroma_collection c) {
    return http_collection{s.client, std::move(c)};
}

}  // namespace

void bind_single_server(py::module_& m) {
    bind_collection_api<http_collection>(m, "HttpCollection",
                                         "A collection on one server (chromawal::chroma_collection).");

    py::class_<http_client>(m, "HttpClient")
        .def(py::init<const py::dict&>(), py::arg("options"))
        .def("options", &http_client::options)
        .def("heartbeat", [](const http_client& s) { return s.nogil([](auto& c) { return c.heartbeat(); }); })
        .def("reset", [](const http_client& s) { return s.nogil([](auto& c) { return c.reset(); }); })
        .def("version", [](const http_client& s) { return s.nogil([](auto& c) { return c.version(); }); })
        .def("preflight",
             [](const http_client& s) {
                 auto p = s.nogil([](auto& c) { return c.preflight(); });
                 py::dict d;
                 d["max_batch_size"] = p.max_batch_size;
                 d["supports_base64_encoding"] = p.supports_base64_encoding;
                 return d;
             })
        .def("identity",
             [](const http_client& s) {
                 auto u = s.nogil([](auto& c) { return c.identity(); });
                 py::dict d;
                 d["user_id"] = u.user_id;
                 d["tenant"] = u.tenant;
                 d["databases"] = u.databases;
                 return d;
             })
        .def(
            "create_collection",
            [](const http_client& s, const std::string& name, const py::handle& metadata,
               const py::handle& configuration_json, bool get_or_create, const py::handle& schema_json) {
                auto o = to_collection_options(metadata, configuration_json, schema_json,
                                               get_or_create ? "get_or_create_collection" : "create_collection");
                return make_http_collection(s, s.nogil([&](auto& c) {
                    return get_or_create ? c.get_or_create_collection(name, o) : c.create_collection(name, o);
                }));
            },
            py::arg("name"), py::arg("metadata"), py::arg("configuration_json"), py::arg("get_or_create"),
            py::arg("schema_json") = py::none())
        .def(
            "get_collection",
            [](const http_client& s, const std::string& name) {
                return make_http_collection(s, s.nogil([&](auto& c) { return c.get_collection(name); }));
            },
            py::arg("name"))
        .def(
            "get_collection_by_id",
            [](const http_client& s, const std::string& id) {
                return make_http_collection(s, s.nogil([&](auto& c) { return c.get_collection_by_id(id); }));
            },
            py::arg("id"))
        .def(
            "list_collections",
            [](const http_client& s, const py::handle& limit, std::size_t offset) {
                auto l = to_limit(limit);
                auto v = s.nogil([&](auto& c) { return c.list_collections(l, offset); });
                py::list out;
                for (auto& c : v) out.append(make_http_collection(s, std::move(c)));
                return out;
            },
            py::arg("limit"), py::arg("offset"))
        .def("count_collections",
             [](const http_client& s) { return s.nogil([](auto& c) { return c.count_collections(); }); })
        .def(
            "delete_collection",
            [](const http_client& s, const std::string& name) { s.nogil([&](auto& c) { c.delete_collection(name); }); },
            py::arg("name"))
        .def(
            "create_database",
            [](const http_client& s, const std::string& name) { s.nogil([&](auto& c) { c.create_database(name); }); },
            py::arg("name"))
        .def(
            "get_database",
            [](const http_client& s, const std::string& name) {
                return database_dict(s.nogil([&](auto& c) { return c.get_database(name); }));
            },
            py::arg("name"))
        .def(
            "list_databases",
            [](const http_client& s, const py::handle& limit, std::size_t offset) {
                auto l = to_limit(limit);
                auto v = s.nogil([&](auto& c) { return c.list_databases(l, offset); });
                py::list out;
                for (const auto& d : v) out.append(database_dict(d));
                return out;
            },
            py::arg("limit"), py::arg("offset"))
        .def(
            "delete_database",
            [](const http_client& s, const std::string& name) { s.nogil([&](auto& c) { c.delete_database(name); }); },
            py::arg("name"))
        .def(
            "create_tenant",
            [](const http_client& s, const std::string& name) { s.nogil([&](auto& c) { c.create_tenant(name); }); },
            py::arg("name"))
        .def(
            "get_tenant",
            [](const http_client& s, const std::string& name) {
                return s.nogil([&](auto& c) { return c.get_tenant(name); });
            },
            py::arg("name"));
}

}  // namespace cwpy
