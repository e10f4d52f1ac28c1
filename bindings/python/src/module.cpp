// chromawal._chromawal: the native layer of the Python bindings.
//
// Thin classes over the C++ API; the chromadb-shaped API (argument forms, defaults, result
// dicts, validation wording, exception classes) is the Python package chromawal around it.
//
// Threads: every call converts its arguments with the GIL held, then releases the GIL for the
// C++ call (network and log I/O), then converts the result with the GIL held again. The C++
// clients are thread-safe; collection handles whose C++ counterpart mutates itself (modify)
// are copied before the GIL is released, so one Python object is safe from many threads.
#include "convert.hpp"

#include <chromawal/chromawal.hpp>

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace py = pybind11;
using namespace cwpy;

namespace {

// ---------------------------------------------------------------------------------------------
// Errors: C++ exceptions become instances of the Python classes of chromawal.errors, built by
// a factory that the package registers at import (chromawal.errors._from_native).

py::object* error_factory = nullptr;  // leaked on purpose: lives until the process ends

void raise_native(const char* kind, const std::exception& e, const py::dict& extra) {
    if (error_factory == nullptr || !*error_factory) {
        PyErr_SetString(PyExc_RuntimeError, e.what());
        return;
    }
    try {
        py::object exc = (*error_factory)(kind, e.what(), **extra);
        PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
    } catch (py::error_already_set& err) {
        err.restore();
    }
}

py::dict server_fields(int status, const std::string& name, const std::string& message) {
    py::dict d;
    d["status"] = status;
    d["error_name"] = name;
    d["server_message"] = message;
    return d;
}

void translate(std::exception_ptr p) {
    if (!p) return;
    try {
        std::rethrow_exception(p);
    } catch (const chromawal::write_rejected& e) {
        raise_native("write_rejected", e, server_fields(e.status(), e.error_name(), e.server_message()));
    } catch (const chromawal::not_found& e) {
        raise_native("not_found", e, server_fields(e.status(), e.error_name(), e.server_message()));
    } catch (const chromawal::already_exists& e) {
        raise_native("already_exists", e, server_fields(e.status(), e.error_name(), e.server_message()));
    } catch (const chromawal::server_rejected& e) {
        raise_native("server_rejected", e, server_fields(e.status(), e.error_name(), e.server_message()));
    } catch (const chromawal::server_error& e) {
        raise_native("server_error", e, server_fields(e.status(), e.error_name(), e.server_message()));
    } catch (const chromawal::timeout_error& e) {
        raise_native("timeout", e, py::dict());
    } catch (const chromawal::connection_error& e) {
        raise_native("connection", e, py::dict());
    } catch (const chromawal::log_unavailable& e) {
        raise_native("log_unavailable", e, py::dict());
    } catch (const chromawal::no_instance_available& e) {
        py::dict d;
        d["queued"] = e.queued();
        d["position"] = e.position();
        raise_native("no_instance_available", e, d);
    } catch (const chromawal::quorum_not_reached& e) {
        py::dict d;
        d["position"] = e.position();
        d["applied_count"] = e.applied_count();
        raise_native("quorum_not_reached", e, d);
    } catch (const chromawal::invalid_argument& e) {
        raise_native("invalid_argument", e, py::dict());
    } catch (const chromawal::error& e) {
        raise_native("error", e, py::dict());
    }
}

// ---------------------------------------------------------------------------------------------
// Options from the plain dicts the Python layer builds.

template <typename T>
T get_or(const py::dict& d, const char* key, T fallback) {
    if (!d.contains(key)) return fallback;
    py::object v = d[key];
    if (v.is_none()) return fallback;
    return v.cast<T>();
}

std::chrono::milliseconds seconds_to_ms(double s) {
    return std::chrono::milliseconds(static_cast<long long>(s * 1000.0 + 0.5));
}

chromawal::connection_options to_connection(const py::dict& d) {
    chromawal::connection_options o;
    o.base_url = get_or<std::string>(d, "base_url", o.base_url);
    o.tenant = get_or<std::string>(d, "tenant", o.tenant);
    o.database = get_or<std::string>(d, "database", o.database);
    o.headers = get_or<std::vector<std::pair<std::string, std::string>>>(d, "headers", {});
    if (d.contains("connect_timeout") && !d["connect_timeout"].is_none()) {
        o.connect_timeout = seconds_to_ms(d["connect_timeout"].cast<double>());
    }
    if (d.contains("request_timeout") && !d["request_timeout"].is_none()) {
        o.request_timeout = seconds_to_ms(d["request_timeout"].cast<double>());
    }
    o.verify_tls = get_or<bool>(d, "verify_tls", o.verify_tls);
    o.ca_file = get_or<std::string>(d, "ca_file", o.ca_file);
    o.use_base64 = get_or<bool>(d, "use_base64", o.use_base64);
    return o;
}

chromawal::read_policy to_read_policy(const std::string& s) {
    if (s == "primary_only") return chromawal::read_policy::primary_only;
    if (s == "primary_preferred") return chromawal::read_policy::primary_preferred;
    if (s == "replica_ratio") return chromawal::read_policy::replica_ratio;
    if (s == "nearest") return chromawal::read_policy::nearest;
    throw chromawal::invalid_argument(
        "invalid configuration: read_policy: expected one of primary_only, "
        "primary_preferred, replica_ratio, nearest, got '" +
        s + "'");
}

const char* read_policy_name(chromawal::read_policy p) {
    switch (p) {
        case chromawal::read_policy::primary_only:
            return "primary_only";
        case chromawal::read_policy::primary_preferred:
            return "primary_preferred";
        case chromawal::read_policy::replica_ratio:
            return "replica_ratio";
        case chromawal::read_policy::nearest:
            return "nearest";
    }
    return "primary_preferred";
}

const char* event_name(chromawal::event::kind k) {
    switch (k) {
        case chromawal::event::kind::instance_down:
            return "instance_down";
        case chromawal::event::kind::instance_up:
            return "instance_up";
        case chromawal::event::kind::entry_dead_lettered:
            return "entry_dead_lettered";
        case chromawal::event::kind::backlog_over_threshold:
            return "backlog_over_threshold";
    }
    return "unknown";
}

/// A Python callable kept by a C++ std::function that may be copied and destroyed on threads
/// without the GIL: the reference is dropped under the GIL (and leaked once Python is gone).
struct python_callback {
    py::object fn;
    explicit python_callback(py::object f) : fn(std::move(f)) {}
    python_callback(const python_callback&) = delete;
    python_callback& operator=(const python_callback&) = delete;
    ~python_callback() {
        if (!fn) return;
        if (!Py_IsInitialized()) {
            fn.release();
            return;
        }
        py::gil_scoped_acquire gil;
        fn = py::object();
    }
};

chromawal::client_config to_client_config(const py::dict& d) {
    chromawal::client_config c;
    for (const auto& item : d["instances"].cast<py::list>()) {
        auto i = item.cast<py::dict>();
        chromawal::instance_config ic;
        ic.name = i["name"].cast<std::string>();
        ic.connection = to_connection(i);
        ic.role = get_or<std::string>(i, "role", "replica") == "primary" ? chromawal::instance_config::role::primary
                                                                         : chromawal::instance_config::role::replica;
        c.instances.push_back(std::move(ic));
    }
    c.log_url = get_or<std::string>(d, "log_url", c.log_url);
    c.log_schema = get_or<std::string>(d, "log_schema", c.log_schema);
    c.tenant = get_or<std::string>(d, "tenant", c.tenant);
    c.database = get_or<std::string>(d, "database", c.database);
    c.write_quorum = get_or<std::size_t>(d, "write_quorum", c.write_quorum);
    c.read_policy = to_read_policy(get_or<std::string>(d, "read_policy", read_policy_name(c.read_policy)));
    c.replica_read_ratio = get_or<double>(d, "replica_read_ratio", c.replica_read_ratio);
    if (d.contains("sync_interval") && !d["sync_interval"].is_none()) {
        c.sync_interval = seconds_to_ms(d["sync_interval"].cast<double>());
    }
    if (d.contains("health_interval") && !d["health_interval"].is_none()) {
        c.health_interval = seconds_to_ms(d["health_interval"].cast<double>());
    }
    c.down_after_failures = get_or<int>(d, "down_after_failures", c.down_after_failures);
    c.up_after_successes = get_or<int>(d, "up_after_successes", c.up_after_successes);
    c.max_attempts = get_or<int>(d, "max_attempts", c.max_attempts);
    c.queue_when_unavailable = get_or<bool>(d, "queue_when_unavailable", c.queue_when_unavailable);
    if (d.contains("retention_hours") && !d["retention_hours"].is_none()) {
        c.retention = std::chrono::hours(d["retention_hours"].cast<long long>());
    }
    c.background_threads = get_or<bool>(d, "background_threads", c.background_threads);
    c.backlog_alert_threshold = get_or<std::int64_t>(d, "backlog_alert_threshold", c.backlog_alert_threshold);
    if (d.contains("on_event") && !d["on_event"].is_none()) {
        auto cb = std::make_shared<python_callback>(py::reinterpret_borrow<py::object>(d["on_event"]));
        c.on_event = [cb](const chromawal::event& e) {
            if (!Py_IsInitialized()) return;
            py::gil_scoped_acquire gil;
            try {
                py::dict ev;
                ev["type"] = event_name(e.type);
                ev["instance"] = e.instance;
                ev["message"] = e.message;
                cb->fn(ev);
            } catch (py::error_already_set& err) {
                err.discard_as_unraisable("chromawal on_event callback");
            }
        };
    }
    return c;
}

chromawal::collection_options to_collection_options(const py::handle& metadata, const py::handle& configuration_json,
                                                    const char* op) {
    chromawal::collection_options o;
    o.metadata = to_metadata(metadata, op);
    if (!configuration_json.is_none()) o.configuration_json = configuration_json.cast<std::string>();
    return o;
}

chromawal::modify_options to_modify_options(const py::handle& name, const py::handle& metadata,
                                            const py::handle& configuration_json) {
    chromawal::modify_options m;
    if (!name.is_none()) m.name = name.cast<std::string>();
    m.metadata = to_metadata(metadata, "modify");
    if (!configuration_json.is_none()) m.configuration_json = configuration_json.cast<std::string>();
    return m;
}

std::optional<std::size_t> to_limit(const py::handle& limit) {
    if (limit.is_none()) return std::nullopt;
    return limit.cast<std::size_t>();
}

chromawal::get_options to_get_options(const py::handle& ids, const py::handle& where, const py::handle& where_document,
                                      const py::handle& limit, std::size_t offset, unsigned include) {
    chromawal::get_options o;
    if (!ids.is_none()) o.ids = to_ids(ids, "get");
    o.where = to_where(where);
    o.where_document = to_where_document(where_document);
    o.limit = to_limit(limit);
    o.offset = offset;
    o.include = to_include(include);
    return o;
}

chromawal::delete_options to_delete_options(const py::handle& ids, const py::handle& where,
                                            const py::handle& where_document, const py::handle& limit) {
    chromawal::delete_options o;
    if (!ids.is_none()) o.ids = to_ids(ids, "delete");
    o.where = to_where(where);
    o.where_document = to_where_document(where_document);
    o.limit = to_limit(limit);
    return o;
}

chromawal::query_options to_query_options(const py::handle& embeddings, std::size_t n_results, const py::handle& ids,
                                          const py::handle& where, const py::handle& where_document, unsigned include) {
    chromawal::query_options o;
    o.query_embeddings = to_embedding_view(embeddings, "query_embeddings", "query");
    o.n_results = n_results;
    if (!ids.is_none()) {
        for (auto& s : to_strings(ids, "ID", false, "query")) o.ids.push_back(std::move(*s));
    }
    o.where = to_where(where);
    o.where_document = to_where_document(where_document);
    o.include = to_include(include);
    return o;
}

// ---------------------------------------------------------------------------------------------
// One server: chromawal::chroma_client.

struct http_collection {
    chromawal::chroma_collection handle;

    chromawal::chroma_collection copy() const { return handle; }  // under the GIL

    py::dict info() const { return from_collection_info(handle.info()); }

    void write(const char* op, const py::handle& ids, const py::handle& embeddings, const py::handle& metadatas,
               const py::handle& documents, const py::handle& uris) const {
        record_batch b = to_records(ids, embeddings, metadatas, documents, uris, op);
        auto h = copy();
        const std::string which(op);
        py::gil_scoped_release nogil;
        if (which == "add")
            h.add(b.records);
        else if (which == "upsert")
            h.upsert(b.records);
        else
            h.update(b.records);
    }

    std::size_t remove(const py::handle& ids, const py::handle& where, const py::handle& where_document,
                       const py::handle& limit) const {
        auto o = to_delete_options(ids, where, where_document, limit);
        auto h = copy();
        py::gil_scoped_release nogil;
        return h.delete_records(o);
    }

    py::dict get(const py::handle& ids, const py::handle& where, const py::handle& where_document,
                 const py::handle& limit, std::size_t offset, unsigned include) const {
        auto o = to_get_options(ids, where, where_document, limit, offset, include);
        auto h = copy();
        chromawal::get_result r;
        {
            py::gil_scoped_release nogil;
            r = h.get(o);
        }
        return from_get_result(std::move(r));
    }

    py::dict query(const py::handle& embeddings, std::size_t n_results, const py::handle& ids, const py::handle& where,
                   const py::handle& where_document, unsigned include) const {
        auto o = to_query_options(embeddings, n_results, ids, where, where_document, include);
        auto h = copy();
        chromawal::query_result r;
        {
            py::gil_scoped_release nogil;
            r = h.query(o);
        }
        return from_query_result(std::move(r));
    }

    std::size_t count() const {
        auto h = copy();
        py::gil_scoped_release nogil;
        return h.count();
    }

    py::dict peek(std::size_t limit) const {
        auto h = copy();
        chromawal::get_result r;
        {
            py::gil_scoped_release nogil;
            r = h.peek(limit);
        }
        return from_get_result(std::move(r));
    }

    void modify(const py::handle& name, const py::handle& metadata, const py::handle& configuration_json) {
        auto m = to_modify_options(name, metadata, configuration_json);
        auto h = copy();
        {
            py::gil_scoped_release nogil;
            h.modify(m);
        }
        handle = std::move(h);
    }
};

struct http_client {
    chromawal::chroma_client client;

    explicit http_client(const py::dict& options) : client(to_connection(options)) {}
    explicit http_client(chromawal::chroma_client c) : client(std::move(c)) {}

    template <typename F>
    auto nogil(F&& f) const {
        py::gil_scoped_release r;
        return f(client);
    }

    py::dict options() const {
        const auto& o = client.options();
        py::dict d;
        d["base_url"] = o.base_url;
        d["tenant"] = o.tenant;
        d["database"] = o.database;
        d["connect_timeout"] = static_cast<double>(o.connect_timeout.count()) / 1000.0;
        d["request_timeout"] = static_cast<double>(o.request_timeout.count()) / 1000.0;
        return d;
    }
};

http_collection make_http_collection(chromawal::chroma_collection c) { return http_collection{std::move(c)}; }

// ---------------------------------------------------------------------------------------------
// Replicated: chromawal::client.

/// Shared by a client and its collections; close() ends the C++ client once no call is using it.
struct replicated_state {
    std::mutex mutex;
    std::shared_ptr<chromawal::client> client;
    std::vector<chromawal::instance_config> instances;
    std::string tenant, database;
    std::string read_policy;
    std::size_t write_quorum = 1;
    bool queue_when_unavailable = false;

    std::shared_ptr<chromawal::client> get() {
        std::lock_guard<std::mutex> lock(mutex);
        if (!client) throw std::runtime_error("this chromawal.Client is closed");
        return client;
    }

    /// Call with the GIL held: the client's background threads are joined with it released.
    void close() {
        std::shared_ptr<chromawal::client> c;
        {
            std::lock_guard<std::mutex> lock(mutex);
            c = std::move(client);
        }
        if (c) {
            py::gil_scoped_release nogil;
            c.reset();
        }
    }

    ~replicated_state() {
        if (client && Py_IsInitialized() && PyGILState_Check()) {
            py::gil_scoped_release nogil;
            client.reset();
        }
    }
};

/// Runs f(client) with the GIL released; the client reference is dropped before the GIL is
/// taken again (the last reference joins background threads that may want the GIL).
template <typename F>
auto with_client(replicated_state& s, F&& f) {
    std::shared_ptr<chromawal::client> c = s.get();
    py::gil_scoped_release nogil;
    struct drop {
        std::shared_ptr<chromawal::client>& c;
        ~drop() { c.reset(); }
    } d{c};
    return f(*c);
}

chromawal::read_options reading(bool allow_stale) { return chromawal::read_options{allow_stale}; }

struct replicated_collection {
    std::shared_ptr<replicated_state> state;
    std::string name;
    std::mutex name_mutex;  // modify() renames

    replicated_collection(std::shared_ptr<replicated_state> s, std::string n)
        : state(std::move(s)), name(std::move(n)) {}

    std::string current_name() {
        std::lock_guard<std::mutex> lock(name_mutex);
        return name;
    }

    py::dict write(const char* op, const py::handle& ids, const py::handle& embeddings, const py::handle& metadatas,
                   const py::handle& documents, const py::handle& uris) {
        record_batch b = to_records(ids, embeddings, metadatas, documents, uris, op);
        const std::string n = current_name();
        const std::string which(op);
        auto r = with_client(*state, [&](chromawal::client& c) {
            auto coll = c.collection_by_name(n);
            if (which == "add") return coll.add(b.records);
            if (which == "upsert") return coll.upsert(b.records);
            return coll.update(b.records);
        });
        return from_receipt(r);
    }

    py::dict remove(const py::handle& ids, const py::handle& where, const py::handle& where_document,
                    const py::handle& limit) {
        auto o = to_delete_options(ids, where, where_document, limit);
        const std::string n = current_name();
        auto r = with_client(*state, [&](chromawal::client& c) { return c.collection_by_name(n).delete_records(o); });
        return from_receipt(r);
    }

    py::dict delete_document(const std::string& document_id, const std::string& key) {
        const std::string n = current_name();
        auto r = with_client(
            *state, [&](chromawal::client& c) { return c.collection_by_name(n).delete_document(document_id, key); });
        return from_receipt(r);
    }

    py::dict get(const py::handle& ids, const py::handle& where, const py::handle& where_document,
                 const py::handle& limit, std::size_t offset, unsigned include, bool allow_stale) {
        auto o = to_get_options(ids, where, where_document, limit, offset, include);
        const std::string n = current_name();
        auto r = with_client(
            *state, [&](chromawal::client& c) { return c.collection_by_name(n).get(o, reading(allow_stale)); });
        return from_get_result(std::move(r));
    }

    py::dict query(const py::handle& embeddings, std::size_t n_results, const py::handle& ids, const py::handle& where,
                   const py::handle& where_document, unsigned include, bool allow_stale) {
        auto o = to_query_options(embeddings, n_results, ids, where, where_document, include);
        const std::string n = current_name();
        auto r = with_client(
            *state, [&](chromawal::client& c) { return c.collection_by_name(n).query(o, reading(allow_stale)); });
        return from_query_result(std::move(r));
    }

    std::size_t count(bool allow_stale) {
        const std::string n = current_name();
        return with_client(*state,
                           [&](chromawal::client& c) { return c.collection_by_name(n).count(reading(allow_stale)); });
    }

    py::dict peek(std::size_t limit, bool allow_stale) {
        const std::string n = current_name();
        auto r = with_client(
            *state, [&](chromawal::client& c) { return c.collection_by_name(n).peek(limit, reading(allow_stale)); });
        return from_get_result(std::move(r));
    }

    py::dict modify(const py::handle& new_name, const py::handle& metadata, const py::handle& configuration_json) {
        auto m = to_modify_options(new_name, metadata, configuration_json);
        const std::string n = current_name();
        auto r = with_client(*state, [&](chromawal::client& c) {
            auto coll = c.collection_by_name(n);
            return coll.modify(m);
        });
        if (m.name) {
            std::lock_guard<std::mutex> lock(name_mutex);
            name = *m.name;
        }
        return from_receipt(r);
    }
};

struct replicated_client {
    std::shared_ptr<replicated_state> state = std::make_shared<replicated_state>();

    explicit replicated_client(chromawal::client_config config) {
        state->instances = config.instances;
        state->tenant = config.tenant;
        state->database = config.database;
        state->read_policy = read_policy_name(config.read_policy);
        state->write_quorum = config.write_quorum;
        state->queue_when_unavailable = config.queue_when_unavailable;
        std::shared_ptr<chromawal::client> c;
        {
            // Connects to the log store and migrates its schema: I/O, without the GIL.
            py::gil_scoped_release nogil;
            c = std::make_shared<chromawal::client>(std::move(config));
        }
        state->client = std::move(c);
    }

    static std::unique_ptr<replicated_client> from_dict(const py::dict& d) {
        return std::make_unique<replicated_client>(to_client_config(d));
    }
    static std::unique_ptr<replicated_client> from_env() {
        return std::make_unique<replicated_client>(chromawal::client_config::from_env());
    }

    /// A one-server client for instance i, with this client's tenant and database.
    http_client instance(std::size_t i) const {
        if (i >= state->instances.size()) throw py::index_error("instance index out of range");
        chromawal::connection_options o = state->instances[i].connection;
        o.tenant = state->tenant;
        o.database = state->database;
        return http_client(chromawal::chroma_client(o));
    }

    py::list instances() const {
        py::list out;
        for (const auto& i : state->instances) {
            py::dict d;
            d["name"] = i.name;
            d["url"] = i.connection.base_url;
            d["primary"] = i.role == chromawal::instance_config::role::primary;
            out.append(d);
        }
        return out;
    }
};

}  // namespace

PYBIND11_MODULE(_chromawal, m) {
    m.doc() = "Native layer of chromawal's Python bindings (use the chromawal package, not this module).";

    py::register_exception_translator(&translate);

    m.def("_set_error_factory", [](py::object f) {
        if (error_factory == nullptr) error_factory = new py::object();
        *error_factory = std::move(f);
    });
    m.def("library_version", [] { return std::string(chromawal::version()); });

    m.attr("INCLUDE_DOCUMENTS") = static_cast<unsigned>(chromawal::include::documents);
    m.attr("INCLUDE_EMBEDDINGS") = static_cast<unsigned>(chromawal::include::embeddings);
    m.attr("INCLUDE_METADATAS") = static_cast<unsigned>(chromawal::include::metadatas);
    m.attr("INCLUDE_DISTANCES") = static_cast<unsigned>(chromawal::include::distances);
    m.attr("INCLUDE_URIS") = static_cast<unsigned>(chromawal::include::uris);

    py::class_<http_collection>(m, "HttpCollection")
        .def("info", &http_collection::info)
        .def("write", &http_collection::write, py::arg("op"), py::arg("ids"), py::arg("embeddings"),
             py::arg("metadatas"), py::arg("documents"), py::arg("uris"))
        .def("delete", &http_collection::remove, py::arg("ids"), py::arg("where"), py::arg("where_document"),
             py::arg("limit"))
        .def("get", &http_collection::get, py::arg("ids"), py::arg("where"), py::arg("where_document"),
             py::arg("limit"), py::arg("offset"), py::arg("include"))
        .def("query", &http_collection::query, py::arg("embeddings"), py::arg("n_results"), py::arg("ids"),
             py::arg("where"), py::arg("where_document"), py::arg("include"))
        .def("count", &http_collection::count)
        .def("peek", &http_collection::peek, py::arg("limit"))
        .def("modify", &http_collection::modify, py::arg("name"), py::arg("metadata"), py::arg("configuration_json"));

    py::class_<http_client>(m, "HttpClient")
        .def(py::init<const py::dict&>(), py::arg("options"))
        .def("options", &http_client::options)
        .def("heartbeat", [](const http_client& s) { return s.nogil([](auto& c) { return c.heartbeat(); }); })
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
               const py::handle& configuration_json, bool get_or_create) {
                auto o = to_collection_options(metadata, configuration_json,
                                               get_or_create ? "get_or_create_collection" : "create_collection");
                return make_http_collection(s.nogil([&](auto& c) {
                    return get_or_create ? c.get_or_create_collection(name, o) : c.create_collection(name, o);
                }));
            },
            py::arg("name"), py::arg("metadata"), py::arg("configuration_json"), py::arg("get_or_create"))
        .def(
            "get_collection",
            [](const http_client& s, const std::string& name) {
                return make_http_collection(s.nogil([&](auto& c) { return c.get_collection(name); }));
            },
            py::arg("name"))
        .def(
            "get_collection_by_id",
            [](const http_client& s, const std::string& id) {
                return make_http_collection(s.nogil([&](auto& c) { return c.get_collection_by_id(id); }));
            },
            py::arg("id"))
        .def(
            "list_collections",
            [](const http_client& s, const py::handle& limit, std::size_t offset) {
                auto l = to_limit(limit);
                auto v = s.nogil([&](auto& c) { return c.list_collections(l, offset); });
                py::list out;
                for (auto& c : v) out.append(make_http_collection(std::move(c)));
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
                auto d = s.nogil([&](auto& c) { return c.get_database(name); });
                py::dict out;
                out["id"] = d.id;
                out["name"] = d.name;
                out["tenant"] = d.tenant;
                return out;
            },
            py::arg("name"))
        .def(
            "list_databases",
            [](const http_client& s, const py::handle& limit, std::size_t offset) {
                auto l = to_limit(limit);
                auto v = s.nogil([&](auto& c) { return c.list_databases(l, offset); });
                py::list out;
                for (const auto& d : v) {
                    py::dict o;
                    o["id"] = d.id;
                    o["name"] = d.name;
                    o["tenant"] = d.tenant;
                    out.append(o);
                }
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

    py::class_<replicated_collection>(m, "ReplicatedCollection")
        .def_property_readonly("name", &replicated_collection::current_name)
        .def("write", &replicated_collection::write, py::arg("op"), py::arg("ids"), py::arg("embeddings"),
             py::arg("metadatas"), py::arg("documents"), py::arg("uris"))
        .def("delete", &replicated_collection::remove, py::arg("ids"), py::arg("where"), py::arg("where_document"),
             py::arg("limit"))
        .def("delete_document", &replicated_collection::delete_document, py::arg("document_id"), py::arg("key"))
        .def("get", &replicated_collection::get, py::arg("ids"), py::arg("where"), py::arg("where_document"),
             py::arg("limit"), py::arg("offset"), py::arg("include"), py::arg("allow_stale"))
        .def("query", &replicated_collection::query, py::arg("embeddings"), py::arg("n_results"), py::arg("ids"),
             py::arg("where"), py::arg("where_document"), py::arg("include"), py::arg("allow_stale"))
        .def("count", &replicated_collection::count, py::arg("allow_stale"))
        .def("peek", &replicated_collection::peek, py::arg("limit"), py::arg("allow_stale"))
        .def("modify", &replicated_collection::modify, py::arg("name"), py::arg("metadata"),
             py::arg("configuration_json"));

    py::class_<replicated_client>(m, "ReplicatedClient")
        .def(py::init(&replicated_client::from_dict), py::arg("config"))
        .def_static("from_env", &replicated_client::from_env)
        .def("instances", &replicated_client::instances)
        .def("instance", &replicated_client::instance, py::arg("index"))
        .def_property_readonly("tenant", [](const replicated_client& s) { return s.state->tenant; })
        .def_property_readonly("database", [](const replicated_client& s) { return s.state->database; })
        .def_property_readonly("read_policy", [](const replicated_client& s) { return s.state->read_policy; })
        .def_property_readonly("write_quorum", [](const replicated_client& s) { return s.state->write_quorum; })
        .def_property_readonly("queue_when_unavailable",
                               [](const replicated_client& s) { return s.state->queue_when_unavailable; })
        .def(
            "collection",
            [](const replicated_client& s, const std::string& name) {
                with_client(*s.state, [&](chromawal::client& c) { (void)c.collection_by_name(name); });
                return std::make_unique<replicated_collection>(s.state, name);
            },
            py::arg("name"))
        .def(
            "create_collection",
            [](const replicated_client& s, const std::string& name, const py::handle& metadata,
               const py::handle& configuration_json, bool get_or_create) {
                auto o = to_collection_options(metadata, configuration_json,
                                               get_or_create ? "get_or_create_collection" : "create_collection");
                with_client(*s.state, [&](chromawal::client& c) {
                    if (get_or_create)
                        (void)c.get_or_create_collection(name, o);
                    else
                        (void)c.create_collection(name, o);
                });
                return std::make_unique<replicated_collection>(s.state, name);
            },
            py::arg("name"), py::arg("metadata"), py::arg("configuration_json"), py::arg("get_or_create"))
        .def(
            "get_collection",
            [](const replicated_client& s, const std::string& name) {
                with_client(*s.state, [&](chromawal::client& c) { (void)c.get_collection(name); });
                return std::make_unique<replicated_collection>(s.state, name);
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
        .def("status_json",
             [](const replicated_client& s) {
                 return with_client(*s.state, [](chromawal::client& c) { return c.status().to_json(); });
             })
        .def("status_prometheus",
             [](const replicated_client& s) {
                 return with_client(*s.state, [](chromawal::client& c) { return c.status().to_prometheus(); });
             })
        .def("sync_now",
             [](const replicated_client& s) { with_client(*s.state, [](chromawal::client& c) { c.sync_now(); }); })
        .def(
            "wait_until_synced",
            [](const replicated_client& s, double timeout) {
                return with_client(*s.state,
                                   [&](chromawal::client& c) { return c.wait_until_synced(seconds_to_ms(timeout)); });
            },
            py::arg("timeout"))
        .def("replay_dead_letters",
             [](const replicated_client& s) {
                 return with_client(*s.state, [](chromawal::client& c) { return c.replay_dead_letters(); });
             })
        .def("close", [](replicated_client& s) { s.state->close(); })
        .def_property_readonly("closed", [](const replicated_client& s) {
            std::lock_guard<std::mutex> lock(s.state->mutex);
            return !s.state->client;
        });

    m.def(
        "verify",
        [](const http_client& a, const http_client& b, const std::string& collection, std::size_t page_size,
           std::size_t max_listed) {
            chromawal::verify_report r;
            {
                py::gil_scoped_release nogil;
                r = chromawal::verify_collection(a.client, b.client, collection, page_size, max_listed);
            }
            return from_verify_report(r);
        },
        py::arg("a"), py::arg("b"), py::arg("collection"), py::arg("page_size") = 1000, py::arg("max_listed") = 100);
}
