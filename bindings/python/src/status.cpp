// ReplicatedClient's status, sync and dead-letter calls.
#include "bindings.hpp"
#include "options.hpp"
#include "replicated.hpp"

#include <pybind11/stl.h>

namespace cwpy {

void bind_status(py::class_<replicated_client>& cls) {
    cls.def("status_json",
            [](const replicated_client& s) {
                return with_client(*s.state, [](chromawal::client& c) { return c.status().to_json(); });
            })
        .def("status_prometheus",
             [](const replicated_client& s) {
                 return with_client(*s.state, [](chromawal::client& c) { return c.status().to_prometheus(); });
             })
        .def("metrics_address",
             [](const replicated_client& s) {
                 return with_client(*s.state, [](chromawal::client& c) { return c.metrics_address(); });
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
        .def("log_id",
             [](const replicated_client& s) {
                 return with_client(*s.state, [](chromawal::client& c) { return c.log_id(); });
             })
        .def("log_description",
             [](const replicated_client& s) {
                 return with_client(*s.state, [](chromawal::client& c) { return c.log_description(); });
             })
        .def(
            "take_over_instances",
            [](const replicated_client& s, const std::string& reason) {
                const std::vector<chromawal::takeover_step> steps =
                    with_client(*s.state, [&](chromawal::client& c) { return c.take_over_instances(reason); });
                py::list out;
                for (const auto& step : steps) {
                    py::dict d;
                    d["instance"] = step.instance;
                    d["previous_log"] = step.previous_log;
                    d["changed"] = step.changed;
                    out.append(d);
                }
                return out;
            },
            py::arg("reason"))
        .def("replay_dead_letters", [](const replicated_client& s) {
            const chromawal::replay_result r =
                with_client(*s.state, [](chromawal::client& c) { return c.replay_dead_letters(); });
            py::dict d;
            d["replayed"] = r.replayed;
            d["failed"] = r.failed;
            d["skipped"] = r.skipped;
            return d;
        });
}

}  // namespace cwpy
