// Python dict -> chromawal::client_config (see config.hpp).
#include "config.hpp"

#include "options.hpp"

#include <chromawal/client.hpp>

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace cwpy {

namespace {

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

}  // namespace

chromawal::client_config to_client_config(const py::dict& d) {
    chromawal::client_config c;
    for (const auto& item : d["instances"].cast<py::list>()) {
        auto i = item.cast<py::dict>();
        chromawal::instance_config ic;
        ic.name = i["name"].cast<std::string>();
        ic.connection = to_connection(i);
        ic.role = get_or<std::string>(i, "role", "replica") == "primary" ? chromawal::instance_role::primary
                                                                         : chromawal::instance_role::replica;
        c.instances.push_back(std::move(ic));
    }
    // Every other keyword goes through the library's configuration module (the same names,
    // parser and messages as the environment and the command). Python gives intervals in
    // seconds and the retention in hours.
    for (const auto& item : d) {
        const auto key = item.first.cast<std::string>();
        if (key == "instances" || key == "on_event" || item.second.is_none()) continue;
        if (key == "background_threads") {
            c.background_threads = item.second.cast<bool>();
            continue;
        }
        std::string value = py::str(item.second).cast<std::string>();
        if (key == "sync_interval" || key == "health_interval" || key == "min_down_time") {
            c.set(key, value + "s");
        } else if (key == "retention_hours") {
            c.set("retention", value + "h");
        } else {
            c.set(key, value);
        }
    }
    if (d.contains("on_event") && !d["on_event"].is_none()) {
        auto cb = std::make_shared<python_callback>(py::reinterpret_borrow<py::object>(d["on_event"]));
        c.on_event = [cb](const chromawal::event& e) {
            if (!Py_IsInitialized()) return;
            py::gil_scoped_acquire gil;
            try {
                py::dict ev;
                ev["type"] = chromawal::to_string(e.type);
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

}  // namespace cwpy
