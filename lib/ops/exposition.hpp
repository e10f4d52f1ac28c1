#pragma once
// The one Prometheus text exposition (format 0.0.4) of chromawal: status_report::to_prometheus(),
// the metrics listener's GET /metrics and `chromawal status --format prometheus` all print
// this. The families, their types and meanings are listed in docs/operations.md.
//
// Owns: metric names, HELP texts, label escaping. May touch: nothing but the report.
// Thread-safety: a pure function.

#include <chromawal/client.hpp>

#include <string>

namespace chromawal::detail {

/// Every family with its HELP and TYPE lines, even one without samples.
std::string prometheus_exposition(const status_report& s);

/// A label value escaped for the text format (backslash, double quote, newline).
std::string escape_label_value(std::string_view v);

}  // namespace chromawal::detail
