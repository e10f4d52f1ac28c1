// Conversions between Python objects and chromawal's C++ values, for the extension module.
//
// Every function here runs with the GIL held. Arguments arrive already normalised by the
// Python layer (chromawal/_collection.py): lists instead of single items, embeddings as one
// C-contiguous 2-D float32 numpy array. The per-record checks that need to look at every
// value (metadata, documents, URIs) happen here, while converting, with the wording of
// chromadb's Python client; they raise ValueError / TypeError.
#pragma once

#include <chromawal/chromawal.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <optional>
#include <string>
#include <vector>

namespace cwpy {

namespace py = pybind11;

// ---- Python -> C++ ----

/// A record batch ready for the C++ API. `records.embeddings` points into `embeddings`, which
/// keeps the numpy buffer alive (and must not be released before the call returns).
struct record_batch {
    chromawal::record_set records;
    py::object embeddings_owner;
};

/// ids: a list of str (checked by the Python layer; re-checked here, cheaply).
std::vector<std::string> to_ids(const py::handle& ids, const char* op);

/// embeddings: None or a C-contiguous 2-D float32 numpy array. Returns an empty view for None.
chromawal::embedding_view to_embedding_view(const py::handle& embeddings, const char* field, const char* op);

/// documents / uris: None or a list of (str | None). `nullable`: None entries are allowed.
std::vector<std::optional<std::string>> to_strings(const py::handle& values, const char* what, bool nullable,
                                                   const char* op);

/// One metadata dict (or None) in chromadb's rules; `op` names the call for the message.
std::optional<chromawal::metadata_map> to_metadata(const py::handle& value, const char* op);

/// metadatas: None or a list of (dict | None).
std::vector<std::optional<chromawal::metadata_map>> to_metadatas(const py::handle& values, const char* op);

record_batch to_records(const py::handle& ids, const py::handle& embeddings, const py::handle& metadatas,
                        const py::handle& documents, const py::handle& uris, const char* op);

/// where / where_document: None or JSON text (the Python layer runs json.dumps).
chromawal::where_filter to_where(const py::handle& json_text);
chromawal::document_filter to_where_document(const py::handle& json_text);

/// chromawal::include_fields from the bit mask the Python layer computes (values of the enum).
chromawal::include_fields to_include(unsigned mask);

// ---- C++ -> Python ----

py::object from_metadata_value(const chromawal::metadata_value& v);
py::object from_metadata(const std::optional<chromawal::metadata_map>& m);
/// Rows x dim float32 array that takes over the matrix's buffer (no copy, no per-float objects).
py::array from_embeddings(chromawal::embedding_matrix&& m);
/// chromadb's GetResult without "data" and "included" (the Python layer adds them).
py::dict from_get_result(chromawal::get_result&& r);
/// chromadb's QueryResult without "data" and "included": each field nested per query.
py::dict from_query_result(chromawal::query_result&& r);
py::dict from_collection_info(const chromawal::collection_info& info);
py::dict from_receipt(const chromawal::write_receipt& r);
py::dict database_dict(const chromawal::database_info& d);  // {id, name, tenant}
py::dict from_verify_report(const chromawal::verify_report& r);

}  // namespace cwpy
