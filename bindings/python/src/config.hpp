// The replicated client's configuration from the dict that chromawal.Client builds.
//
// The per-instance connection options come from the dict; every other setting goes through
// chromawal::client_config::set(), the library's one configuration module.
#pragma once

#include <chromawal/chromawal.hpp>

#include <pybind11/pybind11.h>

namespace cwpy {

namespace py = pybind11;

/// chromawal::client_config from {"instances": [{"name", "base_url", "role", headers, timeouts,
/// TLS...}], "log_url", "log_schema", "tenant", "database", "write_quorum", "read_policy", ...};
/// missing or None keys keep the C++ defaults. Runs with the GIL held; the on_event callable is
/// called with the GIL taken by the client's threads.
/// @throws chromawal::invalid_argument naming a bad or unknown setting; py::cast_error for a
///         wrong type.
chromawal::client_config to_client_config(const py::dict& d);

}  // namespace cwpy
