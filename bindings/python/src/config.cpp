// Python dict -> chromawal::client_config (see config.hpp).
#include "config.hpp"

#include "options.hpp"

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace cwpy {

namespace {

chromawal::read_mode to_read_policy(const std::string& s) {
    if (s == "primary_only") return chromawal::read_mode::primary_only;
    if (s == "primary_preferred") return chromawal::read_mode::primary_preferred;
    if (s == "replica_ratio") return chromawal::read_mode::replica_ratio;
    if (s == "nearest") return chromawal::read_mode::nearest;
    throw chromawal::invalid_argument(
        "invalid configuration: read_policy: expected one of primary_only, "
        "primary_preferred, replica_ratio, nearest, got '" +
        s + "'");
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

}  // namespace

const char* read_policy_name(chromawal::read_mode p) {
    switch (p) {
        case chromawal::read_mode::primary_only:
            return "primary_only";
        case chromawal::read_mode::primary_preferred:
            return "primary_preferred";
        case chromawal::read_mode::replica_ratio:
            return "replica_ratio";
        case chromawal::read_mode::nearest:
            return "nearest";
    }
    return "primary_preferred";
}

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

}  // namespace cwpy
