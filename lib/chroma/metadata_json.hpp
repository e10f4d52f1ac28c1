#pragma once
// Writing metadata as JSON (shared by filters and the protocol encoder).

#include <chromawal/types.hpp>

#include "json/writer.hpp"

namespace chromawal::detail {

void write_metadata_value(json::writer& w, const metadata_value& v);
void write_metadata(json::writer& w, const metadata_map& m);

}  // namespace chromawal::detail
