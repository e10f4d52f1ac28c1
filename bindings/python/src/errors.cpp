// C++ exceptions become instances of the Python classes of chromawal.errors, built by a factory
// that the package registers at import (chromawal.errors._from_native).
#include "bindings.hpp"

#include <chromawal/chromawal.hpp>

#include <exception>
#include <string>
#include <utility>

namespace cwpy {

namespace {

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

template <typename E>
py::dict server_fields(const E& e) {
    py::dict d;
    d["status"] = e.status();
    d["error_name"] = e.error_name();
    d["server_message"] = e.server_message();
    d["trace_id"] = e.trace_id();
    return d;
}

void translate(std::exception_ptr p) {
    if (!p) return;
    try {
        std::rethrow_exception(p);
    } catch (const chromawal::write_rejected& e) {
        raise_native("write_rejected", e, server_fields(e));
    } catch (const chromawal::not_found& e) {
        raise_native("not_found", e, server_fields(e));
    } catch (const chromawal::already_exists& e) {
        raise_native("already_exists", e, server_fields(e));
    } catch (const chromawal::server_rejected& e) {
        raise_native("server_rejected", e, server_fields(e));
    } catch (const chromawal::server_error& e) {
        raise_native("server_error", e, server_fields(e));
    } catch (const chromawal::timeout_error& e) {
        py::dict d;
        d["request_sent"] = e.request_sent();
        raise_native("timeout", e, d);
    } catch (const chromawal::connection_error& e) {
        py::dict d;
        d["request_sent"] = e.request_sent();
        raise_native("connection", e, d);
    } catch (const chromawal::log_unavailable& e) {
        raise_native("log_unavailable", e, py::dict());
    } catch (const chromawal::outcome_unknown& e) {
        py::dict d;
        d["entry_id"] = e.entry_id();
        d["position"] = e.position();
        raise_native("outcome_unknown", e, d);
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
    } catch (const chromawal::log_conflict& e) {
        raise_native("log_conflict", e, py::dict());
    } catch (const chromawal::invalid_argument& e) {
        raise_native("invalid_argument", e, py::dict());
    } catch (const chromawal::error& e) {
        raise_native("error", e, py::dict());
    }
}

}  // namespace

void bind_errors(py::module_& m) {
    py::register_exception_translator(&translate);

    m.def("_set_error_factory", [](py::object f) {
        if (error_factory == nullptr) error_factory = new py::object();
        *error_factory = std::move(f);
    });
}

}  // namespace cwpy
