// Replicated: ReplicatedCollection and ReplicatedClient over chromawal::client (the status
// calls are in status.cpp).
#include "replicated.hpp"

#include "bindings.hpp"
#include "collection_api.hpp"
#include "config.hpp"
#include "convert.hpp"
#include "options.hpp"

#include <pybind11/stl.h>

#include <exception>
#include <string>
#include <utility>

namespace cwpy {

namespace {

chromawal::read_options reading(bool allow_stale) { return chromawal::read_options{allow_stale}; }

}  // namespace

// ---- describing a collection ----

chromawal::collection_info replicated_state::describe(const std::string& tenant, const std::string& database,
                                                      const std::string& name) const {
    std::exception_ptr not_found;
    std::string unreachable;
    for (std::size_t i = 0; i < direct.size(); ++i) {
        try {
            if (tenant == this->tenant && database == this->database) return direct[i].get_collection(name).info();
            chromawal::connection_options o = instances[i].connection;
            o.tenant = tenant;
            o.database = database;
            return chromawal::chroma_client(o).get_collection(name).info();
        } catch (const chromawal::not_found&) {
            if (!not_found) not_found = std::current_exception();
        } catch (const chromawal::connection_error& e) {  // timeouts included
            if (!unreachable.empty()) unreachable += "; ";
            unreachable += instances[i].name + ": " + e.what();
        }
    }
    if (not_found) std::rethrow_exception(not_found);
    throw chromawal::no_instance_available(
        "describe collection '" + name + "': no instance answered (" + unreachable + ")", false, 0);
}

// ---- ReplicatedCollection ----

std::string replicated_collection::current_name() {
    std::lock_guard<std::mutex> lock(name_mutex);
    return name;
}

py::dict replicated_collection::info() {
    if (!model) {
        const std::string n = current_name();
        chromawal::collection_info described;
        {
            py::gil_scoped_release nogil;
            described = state->describe(tenant_, database_, n);
        }
        model = from_collection_info(described);
    }
    return py::reinterpret_steal<py::dict>(PyDict_Copy(model.ptr()));
}

void replicated_collection::refresh() { model = py::object(); }

py::object replicated_collection::write(const char* op, const py::handle& ids, const py::handle& embeddings,
                                        const py::handle& metadatas, const py::handle& documents,
                                        const py::handle& uris, const std::string& idempotency_key) {
    record_batch b = to_records(ids, embeddings, metadatas, documents, uris, op);
    const std::string n = current_name();
    const std::string which(op);
    chromawal::write_options wo;
    wo.idempotency_key = idempotency_key;
    auto r = with_client(*state, [&](chromawal::client& c) {
        auto coll = handle(c, n);
        if (which == "add") return coll.add(b.records, wo);
        if (which == "upsert") return coll.upsert(b.records, wo);
        return coll.update(b.records, wo);
    });
    return from_receipt(r);
}

pending_write replicated_collection::submit(const char* op, const py::handle& ids, const py::handle& embeddings,
                                            const py::handle& metadatas, const py::handle& documents,
                                            const py::handle& uris, const std::string& idempotency_key) {
    record_batch b = to_records(ids, embeddings, metadatas, documents, uris, op);
    const std::string n = current_name();
    const std::string which(op);
    chromawal::write_options wo;
    wo.idempotency_key = idempotency_key;
    pending_write p;
    p.answer = with_client(*state, [&](chromawal::client& c) {
        auto coll = handle(c, n);
        if (which == "add") return coll.add_async(b.records, wo);
        if (which == "upsert") return coll.upsert_async(b.records, wo);
        return coll.update_async(b.records, wo);
    });
    return p;
}

pending_write replicated_collection::submit_delete(const py::handle& ids, const py::handle& where,
                                                   const py::handle& where_document, const py::handle& limit,
                                                   const std::string& idempotency_key) {
    auto o = to_delete_options(ids, where, where_document, limit);
    chromawal::write_options wo;
    wo.idempotency_key = idempotency_key;
    const std::string n = current_name();
    pending_write p;
    p.is_delete = true;
    p.ids_only = !ids.is_none() && where.is_none() && where_document.is_none();
    p.ids = p.ids_only ? py::len(ids) : 0;
    p.answer = with_client(*state, [&](chromawal::client& c) { return handle(c, n).delete_async(o, wo); });
    return p;
}

py::object pending_write::wait() {
    if (!answer.valid()) throw py::value_error("this write was already waited for");
    chromawal::write_receipt r;
    {
        py::gil_scoped_release nogil;
        r = answer.get();
    }
    if (!is_delete) return from_receipt(r);
    py::object deleted = py::none();
    if (r.deleted)
        deleted = py::int_(*r.deleted);
    else if (ids_only)
        deleted = py::int_(ids);
    return delete_result(std::move(deleted), from_receipt(r));
}

py::dict replicated_collection::remove(const py::handle& ids, const py::handle& where, const py::handle& where_document,
                                       const py::handle& limit, const std::string& idempotency_key) {
    auto o = to_delete_options(ids, where, where_document, limit);
    chromawal::write_options wo;
    wo.idempotency_key = idempotency_key;
    const std::string n = current_name();
    auto r = with_client(*state, [&](chromawal::client& c) { return handle(c, n).delete_records(o, wo); });
    // The first instance's count; with no answer in the call, Chroma's count of an ids-only
    // delete is the number of ids sent, and a filter's is unknown (None).
    py::object deleted = py::none();
    if (r.deleted)
        deleted = py::int_(*r.deleted);
    else if (!ids.is_none() && where.is_none() && where_document.is_none())
        deleted = py::int_(py::len(ids));
    return delete_result(std::move(deleted), from_receipt(r));
}

py::dict replicated_collection::delete_document(const std::string& document_id, const std::string& key) {
    const std::string n = current_name();
    auto r = with_client(*state, [&](chromawal::client& c) { return handle(c, n).delete_document(document_id, key); });
    return delete_result(r.deleted ? py::object(py::int_(*r.deleted)) : py::object(py::none()), from_receipt(r));
}

py::dict replicated_collection::get(const py::handle& ids, const py::handle& where, const py::handle& where_document,
                                    const py::handle& limit, std::size_t offset, unsigned include, bool allow_stale) {
    auto o = to_get_options(ids, where, where_document, limit, offset, include);
    const std::string n = current_name();
    auto r = with_client(*state, [&](chromawal::client& c) { return handle(c, n).get(o, reading(allow_stale)); });
    return from_get_result(std::move(r));
}

py::dict replicated_collection::query(const py::handle& embeddings, std::size_t n_results, const py::handle& ids,
                                      const py::handle& where, const py::handle& where_document, unsigned include,
                                      bool allow_stale) {
    auto o = to_query_options(embeddings, n_results, ids, where, where_document, include);
    const std::string n = current_name();
    auto r = with_client(*state, [&](chromawal::client& c) { return handle(c, n).query(o, reading(allow_stale)); });
    return from_query_result(std::move(r));
}

std::size_t replicated_collection::count(bool allow_stale) {
    const std::string n = current_name();
    return with_client(*state, [&](chromawal::client& c) { return handle(c, n).count(reading(allow_stale)); });
}

py::dict replicated_collection::peek(std::size_t limit, bool allow_stale) {
    const std::string n = current_name();
    auto r = with_client(*state, [&](chromawal::client& c) { return handle(c, n).peek(limit, reading(allow_stale)); });
    return from_get_result(std::move(r));
}

py::object replicated_collection::modify(const py::handle& new_name, const py::handle& metadata,
                                         const py::handle& configuration_json) {
    auto m = to_modify_options(new_name, metadata, configuration_json);
    const std::string n = current_name();
    auto r = with_client(*state, [&](chromawal::client& c) {
        auto coll = handle(c, n);
        return coll.modify(m);
    });
    if (m.name) {
        std::lock_guard<std::mutex> lock(name_mutex);
        name = *m.name;
    }
    if (model) {
        if (m.name && !m.name->empty()) model["name"] = *m.name;
        if (!metadata.is_none() && PyObject_IsTrue(metadata.ptr()) == 1) {
            model["metadata"] = py::reinterpret_borrow<py::object>(reinterpret_cast<PyObject*>(&PyDict_Type))(metadata);
        }
        if (!configuration_json.is_none()) model = py::object();
    }
    return from_receipt(r);
}

// ---- ReplicatedClient ----

replicated_client::replicated_client(chromawal::client_config config) {
    state->instances = config.instances;
    state->tenant = config.tenant;
    state->database = config.database;
    state->read_policy = chromawal::to_string(config.read_policy);
    state->write_quorum = config.write_quorum;
    state->queue_when_unavailable = config.queue_when_unavailable;
    std::shared_ptr<chromawal::client> c;
    {
        // Connects to the log store and migrates its schema: I/O, without the GIL.
        py::gil_scoped_release nogil;
        c = std::make_shared<chromawal::client>(std::move(config));
    }
    state->client = std::move(c);
    for (const auto& i : state->instances) {
        chromawal::connection_options o = i.connection;
        o.tenant = state->tenant;
        o.database = state->database;
        state->direct.emplace_back(std::move(o));
    }
}

std::unique_ptr<replicated_client> replicated_client::from_dict(const py::dict& d) {
    return std::make_unique<replicated_client>(to_client_config(d));
}

std::unique_ptr<replicated_client> replicated_client::from_env() {
    return std::make_unique<replicated_client>(chromawal::client_config::from_env());
}

http_client replicated_client::instance(std::size_t i) const {
    if (i >= state->direct.size()) throw py::index_error("instance index out of range");
    return http_client(state->direct[i]);
}

py::list replicated_client::instances() const {
    py::list out;
    for (const auto& i : state->instances) {
        py::dict d;
        d["name"] = i.name;
        d["url"] = i.connection.base_url;
        d["primary"] = i.role == chromawal::instance_role::primary;
        out.append(d);
    }
    return out;
}

py::class_<replicated_client> bind_replicated(py::module_& m) {
    py::class_<pending_write>(m, "PendingWrite", "An asynchronous write of the replicated client.")
        .def("wait", &pending_write::wait)
        .def("done", &pending_write::done);
    bind_collection_api<replicated_collection>(m, "ReplicatedCollection",
                                               "A collection of the replicated client (chromawal::collection).")
        .def("submit", &replicated_collection::submit, py::arg("op"), py::arg("ids"), py::arg("embeddings"),
             py::arg("metadatas"), py::arg("documents"), py::arg("uris"), py::arg("idempotency_key") = std::string())
        .def("submit_delete", &replicated_collection::submit_delete, py::arg("ids"), py::arg("where"),
             py::arg("where_document"), py::arg("limit"), py::arg("idempotency_key") = std::string());

    py::class_<replicated_client> cls(m, "ReplicatedClient");
    cls.def(py::init(&replicated_client::from_dict), py::arg("config"))
        .def_static("from_env", &replicated_client::from_env)
        .def("instances", &replicated_client::instances)
        .def("instance", &replicated_client::instance, py::arg("index"))
        .def_property_readonly("tenant",
                               [](const replicated_client& s) {
                                   return with_client(*s.state, [](chromawal::client& c) { return c.tenant(); });
                               })
        .def_property_readonly("database",
                               [](const replicated_client& s) {
                                   return with_client(*s.state, [](chromawal::client& c) { return c.database(); });
                               })
        .def(
            "set_tenant",
            [](const replicated_client& s, const std::string& tenant, const std::string& database) {
                with_client(*s.state, [&](chromawal::client& c) { c.set_tenant(tenant, database); });
            },
            py::arg("tenant"), py::arg("database"))
        .def(
            "set_database",
            [](const replicated_client& s, const std::string& database) {
                with_client(*s.state, [&](chromawal::client& c) { c.set_database(database); });
            },
            py::arg("database"))
        .def(
            "create_database",
            [](const replicated_client& s, const std::string& name, const std::string& tenant) {
                return from_receipt(
                    with_client(*s.state, [&](chromawal::client& c) { return c.create_database(name, tenant); }));
            },
            py::arg("name"), py::arg("tenant"))
        .def(
            "delete_database",
            [](const replicated_client& s, const std::string& name, const std::string& tenant) {
                return from_receipt(
                    with_client(*s.state, [&](chromawal::client& c) { return c.delete_database(name, tenant); }));
            },
            py::arg("name"), py::arg("tenant"))
        .def(
            "get_database",
            [](const replicated_client& s, const std::string& name, const std::string& tenant) {
                return database_dict(
                    with_client(*s.state, [&](chromawal::client& c) { return c.get_database(name, tenant); }));
            },
            py::arg("name"), py::arg("tenant"))
        .def(
            "list_databases",
            [](const replicated_client& s, const py::handle& limit, std::size_t offset, const std::string& tenant) {
                auto l = to_limit(limit);
                auto v =
                    with_client(*s.state, [&](chromawal::client& c) { return c.list_databases(l, offset, tenant); });
                py::list out;
                for (const auto& d : v) out.append(database_dict(d));
                return out;
            },
            py::arg("limit"), py::arg("offset"), py::arg("tenant"))
        .def(
            "create_tenant",
            [](const replicated_client& s, const std::string& name) {
                return from_receipt(with_client(*s.state, [&](chromawal::client& c) { return c.create_tenant(name); }));
            },
            py::arg("name"))
        .def(
            "get_tenant",
            [](const replicated_client& s, const std::string& name) {
                return with_client(*s.state, [&](chromawal::client& c) { return c.get_tenant(name); });
            },
            py::arg("name"))
        .def_property_readonly("read_policy", [](const replicated_client& s) { return s.state->read_policy; })
        .def_property_readonly("write_quorum", [](const replicated_client& s) { return s.state->write_quorum; })
        .def_property_readonly("queue_when_unavailable",
                               [](const replicated_client& s) { return s.state->queue_when_unavailable; })
        .def(
            "collection",
            [](const replicated_client& s, const std::string& name) {
                auto h = with_client(*s.state, [&](chromawal::client& c) { return c.collection_by_name(name); });
                return std::make_unique<replicated_collection>(s.state, h);
            },
            py::arg("name"))
        .def(
            "create_collection",
            [](const replicated_client& s, const std::string& name, const py::handle& metadata,
               const py::handle& configuration_json, bool get_or_create, const py::handle& schema_json) {
                auto o = to_collection_options(metadata, configuration_json, schema_json,
                                               get_or_create ? "get_or_create_collection" : "create_collection");
                auto h = with_client(*s.state, [&](chromawal::client& c) {
                    return get_or_create ? c.get_or_create_collection(name, o) : c.create_collection(name, o);
                });
                return std::make_unique<replicated_collection>(s.state, h);
            },
            py::arg("name"), py::arg("metadata"), py::arg("configuration_json"), py::arg("get_or_create"),
            py::arg("schema_json") = py::none())
        .def(
            "get_collection",
            [](const replicated_client& s, const std::string& name) {
                auto h = with_client(*s.state, [&](chromawal::client& c) { return c.get_collection(name); });
                return std::make_unique<replicated_collection>(s.state, h);
            },
            py::arg("name"))
        .def(
            "list_collections",
            [](const replicated_client& s, const py::handle& limit, std::size_t offset) {
                auto l = to_limit(limit);
                return with_client(*s.state, [&](chromawal::client& c) { return c.list_collections(l, offset); });
            },
            py::arg("limit"), py::arg("offset"))
        .def(
            "delete_collection",
            [](const replicated_client& s, const std::string& name) {
                with_client(*s.state, [&](chromawal::client& c) { c.delete_collection(name); });
            },
            py::arg("name"))
        .def(
            "reset",
            [](const replicated_client& s, double wait) {
                const auto ms = std::chrono::milliseconds(static_cast<std::int64_t>(wait * 1000.0));
                with_client(*s.state, [&](chromawal::client& c) { c.reset(ms); });
            },
            py::arg("wait"))
        .def("close", [](replicated_client& s) { s.state->close(); })
        .def_property_readonly("closed", [](const replicated_client& s) {
            std::lock_guard<std::mutex> lock(s.state->mutex);
            return !s.state->client;
        });
    return cls;
}

}  // namespace cwpy
