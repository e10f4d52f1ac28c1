#include "convert.hpp"

#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_set>
#include <utility>

namespace cwpy {

namespace {

std::string str_of(const py::handle& h) { return py::str(h).cast<std::string>(); }

std::string type_name(const py::handle& h) { return py::type::handle_of(h).attr("__name__").cast<std::string>(); }

[[noreturn]] void value_error(const std::string& message, const char* op) {
    throw py::value_error(message + " in " + op + ".");
}

[[noreturn]] void type_error(const std::string& message, const char* op) {
    throw py::type_error(message + " in " + op + ".");
}

[[noreturn]] void raise_python_error(const char* error_class, const std::string& message);

/// UTF-8 of a str object without a copy into a temporary Python object. A str that has no
/// UTF-8 form (a lone surrogate such as "\ud800") is bad input like any other: ValidationError
/// naming `what` (and " in {op}." when given), not a raw UnicodeEncodeError.
std::string_view utf8_view(PyObject* s, const std::string& what, const char* op = nullptr) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(s, &size);
    if (data == nullptr) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) throw py::error_already_set();
        PyErr_Clear();
        // ascii() escapes the surrogate, so the message itself is valid text.
        PyObject* shown = PyObject_ASCII(s);
        if (shown == nullptr) throw py::error_already_set();
        const std::string text = py::reinterpret_steal<py::str>(shown).cast<std::string>();
        raise_python_error("ValidationError", "Expected " + what +
                                                  " to be valid UTF-8 text (no lone surrogates), got " + text +
                                                  (op != nullptr ? std::string(" in ") + op + "." : std::string()));
    }
    return std::string_view(data, static_cast<std::size_t>(size));
}

py::str make_str(std::string_view s) {
    PyObject* o = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
    if (o == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::str>(o);
}

py::object make_optional_str(const std::optional<std::string>& s) {
    if (!s) return py::none();
    return make_str(*s);
}

[[noreturn]] void raise_python_error(const char* error_class, const std::string& message) {
    py::object cls = py::module_::import("chromawal.errors").attr(error_class);
    PyErr_SetObject(cls.ptr(), py::str(message).ptr());
    throw py::error_already_set();
}

// The kind of one list item for chromadb's rule "every item the same type": bool before int,
// exact types only (as chromadb's _validate_metadata_list_value).
enum class item_kind { other, boolean, integer, floating, string };

item_kind kind_of_item(PyObject* o) {
    if (PyBool_Check(o)) return item_kind::boolean;
    if (PyLong_CheckExact(o)) return item_kind::integer;
    if (PyFloat_CheckExact(o)) return item_kind::floating;
    if (PyUnicode_CheckExact(o)) return item_kind::string;
    return item_kind::other;
}

std::int64_t to_int64(PyObject* o, bool& overflow) {
    int of = 0;
    const long long v = PyLong_AsLongLongAndOverflow(o, &of);
    if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
    overflow = of != 0;
    return static_cast<std::int64_t>(v);
}

chromawal::metadata_value list_value(PyObject* list, const std::string& key, const char* op) {
    const Py_ssize_t n = PyList_GET_SIZE(list);
    if (n == 0) value_error("Expected metadata list value for key '" + key + "' to be non-empty", op);
    const item_kind first = kind_of_item(PyList_GET_ITEM(list, 0));
    for (Py_ssize_t i = 0; i < n; ++i) {
        const item_kind k = kind_of_item(PyList_GET_ITEM(list, i));
        if (k != first || k == item_kind::other) {
            value_error("Expected metadata list value for key '" + key +
                            "' to contain only str, int, float, or bool and all elements must be the same type, got " +
                            str_of(list),
                        op);
        }
    }
    switch (first) {
        case item_kind::boolean: {
            chromawal::metadata_value::array_bool a;
            a.reserve(static_cast<std::size_t>(n));
            for (Py_ssize_t i = 0; i < n; ++i) a.push_back(PyList_GET_ITEM(list, i) == Py_True);
            return chromawal::metadata_value(std::move(a));
        }
        case item_kind::integer: {
            chromawal::metadata_value::array_int a;
            a.reserve(static_cast<std::size_t>(n));
            for (Py_ssize_t i = 0; i < n; ++i) {
                bool overflow = false;
                const std::int64_t v = to_int64(PyList_GET_ITEM(list, i), overflow);
                if (overflow) {
                    value_error("Expected metadata list value for key '" + key +
                                    "' to hold integers that fit in 64 bits, got " + str_of(PyList_GET_ITEM(list, i)),
                                op);
                }
                a.push_back(v);
            }
            return chromawal::metadata_value(std::move(a));
        }
        case item_kind::floating: {
            chromawal::metadata_value::array_float a;
            a.reserve(static_cast<std::size_t>(n));
            for (Py_ssize_t i = 0; i < n; ++i) a.push_back(PyFloat_AS_DOUBLE(PyList_GET_ITEM(list, i)));
            return chromawal::metadata_value(std::move(a));
        }
        case item_kind::string: {
            chromawal::metadata_value::array_string a;
            a.reserve(static_cast<std::size_t>(n));
            for (Py_ssize_t i = 0; i < n; ++i)
                a.emplace_back(utf8_view(PyList_GET_ITEM(list, i), "metadata value for key '" + key + "'", op));
            return chromawal::metadata_value(std::move(a));
        }
        case item_kind::other:
            break;
    }
    value_error("unreachable", op);
}

chromawal::metadata_value scalar_value(PyObject* v, const std::string& key, const char* op) {
    if (v == Py_None) return chromawal::metadata_value(nullptr);
    if (PyBool_Check(v)) return chromawal::metadata_value(v == Py_True);
    if (PyLong_Check(v)) {
        bool overflow = false;
        const std::int64_t i = to_int64(v, overflow);
        if (!overflow) return chromawal::metadata_value(i);
        // Chroma stores an integer beyond 64 bits as a float; so does this client.
        const double d = PyLong_AsDouble(v);
        if (d == -1.0 && PyErr_Occurred()) throw py::error_already_set();
        return chromawal::metadata_value(d);
    }
    if (PyFloat_Check(v)) return chromawal::metadata_value(PyFloat_AS_DOUBLE(v));
    if (PyUnicode_Check(v)) {
        return chromawal::metadata_value(std::string(utf8_view(v, "metadata value for key '" + key + "'", op)));
    }
    if (PyList_Check(v)) return list_value(v, key, op);
    if (PyDict_Check(v)) {
        PyObject* t = PyDict_GetItemString(v, "#type");  // borrowed
        if (t != nullptr && PyUnicode_Check(t) &&
            utf8_view(t, "metadata value for key '" + key + "'", op) == "sparse_vector") {
            value_error("Expected metadata value for key '" + key +
                            "' to be a str, int, float, bool, list, or None: chromawal does not support "
                            "SparseVector metadata values",
                        op);
        }
    }
    value_error("Expected metadata value to be a str, int, float, bool, SparseVector, list, or None, got " + str_of(v) +
                    " which is a " + type_name(v),
                op);
}

}  // namespace

// ---- Python -> C++ ----

std::vector<std::string> to_ids(const py::handle& ids, const char* op) {
    if (!PyList_Check(ids.ptr())) value_error("Expected IDs to be a list, got " + type_name(ids) + " as IDs", op);
    const Py_ssize_t n = PyList_GET_SIZE(ids.ptr());
    if (n == 0) value_error("Expected IDs to be a non-empty list, got 0 IDs", op);
    std::vector<std::string> out;
    out.reserve(static_cast<std::size_t>(n));
    for (Py_ssize_t i = 0; i < n; ++i) {
        PyObject* item = PyList_GET_ITEM(ids.ptr(), i);
        if (!PyUnicode_Check(item)) value_error("Expected ID to be a str, got " + str_of(item), op);
        out.emplace_back(utf8_view(item, "ID", op));
    }
    // Duplicates: chromadb raises DuplicateIDError (a ChromaError, not a ValueError).
    std::unordered_set<std::string_view> seen;
    seen.reserve(out.size() * 2);
    std::vector<std::string_view> dups;
    std::unordered_set<std::string_view> dup_set;
    for (const auto& id : out) {
        if (!seen.insert(id).second && dup_set.insert(id).second) dups.push_back(id);
    }
    if (!dups.empty()) {
        std::string message;
        if (dups.size() < 10) {
            message = "Expected IDs to be unique, found duplicates of: ";
            for (std::size_t i = 0; i < dups.size(); ++i) message += (i ? ", " : "") + std::string(dups[i]);
        } else {
            std::string first, last;
            for (std::size_t i = 0; i < 5; ++i) first += (i ? ", " : "") + std::string(dups[i]);
            for (std::size_t i = dups.size() - 5; i < dups.size(); ++i) {
                last += (i + 5 == dups.size() ? "" : ", ") + std::string(dups[i]);
            }
            message = "Expected IDs to be unique, found " + std::to_string(dups.size()) + " duplicated IDs: " + first +
                      ", ..., " + last;
        }
        raise_python_error("DuplicateIDError", message + " in " + op + ".");
    }
    return out;
}

chromawal::embedding_view to_embedding_view(const py::handle& embeddings, const char* field, const char* op) {
    if (embeddings.is_none()) return {};
    if (!py::isinstance<py::array>(embeddings)) {
        type_error(std::string("internal: ") + field + " must reach the extension as a numpy array", op);
    }
    auto arr = py::reinterpret_borrow<py::array>(embeddings);
    if (arr.ndim() != 2 || !arr.dtype().is(py::dtype::of<float>()) || !(arr.flags() & py::array::c_style)) {
        type_error(std::string("internal: ") + field + " must reach the extension as a C-contiguous 2-D float32 array",
                   op);
    }
    return chromawal::embedding_view(static_cast<const float*>(arr.data()), static_cast<std::size_t>(arr.shape(0)),
                                     static_cast<std::size_t>(arr.shape(1)));
}

std::vector<std::optional<std::string>> to_strings(const py::handle& values, const char* what, bool nullable,
                                                   const char* op) {
    std::vector<std::optional<std::string>> out;
    if (values.is_none()) return out;
    if (!PyList_Check(values.ptr())) {
        value_error(std::string("Expected ") + what + "s to be a list, got " + type_name(values), op);
    }
    const Py_ssize_t n = PyList_GET_SIZE(values.ptr());
    out.reserve(static_cast<std::size_t>(n));
    for (Py_ssize_t i = 0; i < n; ++i) {
        PyObject* item = PyList_GET_ITEM(values.ptr(), i);
        if (item == Py_None && nullable) {
            out.emplace_back(std::nullopt);
        } else if (PyUnicode_Check(item)) {
            out.emplace_back(std::string(utf8_view(item, what, op)));
        } else {
            value_error(std::string("Expected ") + what + " to be a str, got " + str_of(item), op);
        }
    }
    return out;
}

std::optional<chromawal::metadata_map> to_metadata(const py::handle& value, const char* op) {
    PyObject* m = value.ptr();
    if (m == Py_None) return std::nullopt;
    if (!PyDict_Check(m)) {
        value_error("Expected metadata to be a dict or None, got " + type_name(value) + " as metadata", op);
    }
    if (PyDict_Size(m) == 0) value_error("Expected metadata to be a non-empty dict, got 0 metadata attributes", op);
    chromawal::metadata_map out;
    PyObject* key = nullptr;
    PyObject* v = nullptr;
    Py_ssize_t pos = 0;
    while (PyDict_Next(m, &pos, &key, &v)) {
        if (PyUnicode_Check(key) && utf8_view(key, "metadata key", op) == "chroma:document") {
            value_error("Expected metadata to not contain the reserved key chroma:document", op);
        }
        if (!PyUnicode_Check(key)) {
            type_error("Expected metadata key to be a str, got " + str_of(key) + " which is a " + type_name(key), op);
        }
        std::string k(utf8_view(key, "metadata key", op));
        chromawal::metadata_value mv = scalar_value(v, k, op);
        out.emplace(std::move(k), std::move(mv));
    }
    return out;
}

std::vector<std::optional<chromawal::metadata_map>> to_metadatas(const py::handle& values, const char* op) {
    std::vector<std::optional<chromawal::metadata_map>> out;
    if (values.is_none()) return out;
    if (!PyList_Check(values.ptr())) value_error("Expected metadatas to be a list, got " + str_of(values), op);
    const Py_ssize_t n = PyList_GET_SIZE(values.ptr());
    out.reserve(static_cast<std::size_t>(n));
    for (Py_ssize_t i = 0; i < n; ++i) out.push_back(to_metadata(PyList_GET_ITEM(values.ptr(), i), op));
    return out;
}

record_batch to_records(const py::handle& ids, const py::handle& embeddings, const py::handle& metadatas,
                        const py::handle& documents, const py::handle& uris, const char* op) {
    record_batch b;
    b.records.ids = to_ids(ids, op);
    b.embeddings_owner = py::reinterpret_borrow<py::object>(embeddings);
    b.records.embeddings = to_embedding_view(embeddings, "embeddings", op);
    // Documents may hold None only when embeddings are given (chromadb's rule).
    b.records.documents = to_strings(documents, "document", !embeddings.is_none(), op);
    b.records.metadatas = to_metadatas(metadatas, op);
    b.records.uris = to_strings(uris, "URI", true, op);
    return b;
}

chromawal::where_filter to_where(const py::handle& json_text) {
    if (json_text.is_none()) return {};
    return chromawal::where_filter::raw(utf8_view(json_text.ptr(), "where"));
}

chromawal::document_filter to_where_document(const py::handle& json_text) {
    if (json_text.is_none()) return {};
    return chromawal::document_filter::raw(utf8_view(json_text.ptr(), "where document"));
}

chromawal::include_fields to_include(unsigned mask) { return static_cast<chromawal::include_fields>(mask); }

// ---- C++ -> Python ----

namespace {

template <typename T, typename F>
py::list list_of(const std::vector<T>& v, F&& convert) {
    py::list out(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
        py::object o = convert(v[i]);
        PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), o.release().ptr());
    }
    return out;
}

py::list strings(const std::vector<std::string>& v) {
    return list_of(v, [](const std::string& s) -> py::object { return make_str(s); });
}

py::list optional_strings(const std::vector<std::optional<std::string>>& v) {
    return list_of(v, [](const std::optional<std::string>& s) { return make_optional_str(s); });
}

py::list metadatas(const std::vector<std::optional<chromawal::metadata_map>>& v) {
    return list_of(v, [](const std::optional<chromawal::metadata_map>& m) { return from_metadata(m); });
}

}  // namespace

py::object from_metadata_value(const chromawal::metadata_value& v) {
    using kind = chromawal::metadata_value::kind;
    switch (v.type()) {
        case kind::null:
            return py::none();
        case kind::boolean:
            return py::bool_(v.get<bool>());
        case kind::integer:
            return py::int_(v.get<std::int64_t>());
        case kind::floating:
            return py::float_(v.get<double>());
        case kind::string:
            return make_str(v.get<std::string>());
        case kind::bool_array: {
            const auto& a = v.get<chromawal::metadata_value::array_bool>();
            py::list out(a.size());
            for (std::size_t i = 0; i < a.size(); ++i) {
                PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), py::bool_(a[i]).release().ptr());
            }
            return std::move(out);
        }
        case kind::int_array:
            return list_of(v.get<chromawal::metadata_value::array_int>(),
                           [](std::int64_t i) -> py::object { return py::int_(i); });
        case kind::float_array:
            return list_of(v.get<chromawal::metadata_value::array_float>(),
                           [](double d) -> py::object { return py::float_(d); });
        case kind::string_array:
            return strings(v.get<chromawal::metadata_value::array_string>());
    }
    return py::none();
}

py::object from_metadata(const std::optional<chromawal::metadata_map>& m) {
    if (!m) return py::none();
    py::dict d;
    for (const auto& [k, v] : *m) d[make_str(k)] = from_metadata_value(v);
    return std::move(d);
}

py::array from_embeddings(chromawal::embedding_matrix&& m) {
    const auto rows = static_cast<py::ssize_t>(m.rows());
    const auto dim = static_cast<py::ssize_t>(m.dim());
    auto* owned = new std::vector<float>(std::move(m.values()));
    py::capsule owner(owned, [](void* p) { delete static_cast<std::vector<float>*>(p); });
    return py::array_t<float>({rows, dim},
                              {dim * static_cast<py::ssize_t>(sizeof(float)), static_cast<py::ssize_t>(sizeof(float))},
                              owned->data(), owner);
}

py::dict from_get_result(chromawal::get_result&& r) {
    using chromawal::include_fields;
    py::dict d;
    d["ids"] = strings(r.ids);
    d["embeddings"] = has(r.included, include_fields::embeddings) ? py::object(from_embeddings(std::move(r.embeddings)))
                                                                  : py::object(py::none());
    d["documents"] =
        has(r.included, include_fields::documents) ? py::object(optional_strings(r.documents)) : py::none();
    d["uris"] = has(r.included, include_fields::uris) ? py::object(optional_strings(r.uris)) : py::none();
    d["metadatas"] = has(r.included, include_fields::metadatas) ? py::object(metadatas(r.metadatas)) : py::none();
    return d;
}

py::dict from_query_result(chromawal::query_result&& r) {
    using chromawal::include_fields;
    const auto inc = r.included;
    const std::size_t n = r.results.size();
    py::list ids(n);
    py::list embeddings(n), documents(n), uris(n), metas(n), distances(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto& h = r.results[i];
        const auto at = static_cast<Py_ssize_t>(i);
        PyList_SET_ITEM(ids.ptr(), at, strings(h.ids).release().ptr());
        if (has(inc, include_fields::embeddings)) {
            PyList_SET_ITEM(embeddings.ptr(), at, from_embeddings(std::move(h.embeddings)).release().ptr());
        }
        if (has(inc, include_fields::documents))
            PyList_SET_ITEM(documents.ptr(), at, optional_strings(h.documents).release().ptr());
        if (has(inc, include_fields::uris)) PyList_SET_ITEM(uris.ptr(), at, optional_strings(h.uris).release().ptr());
        if (has(inc, include_fields::metadatas))
            PyList_SET_ITEM(metas.ptr(), at, metadatas(h.metadatas).release().ptr());
        if (has(inc, include_fields::distances)) {
            PyList_SET_ITEM(distances.ptr(), at,
                            list_of(h.distances, [](float f) -> py::object { return py::float_(f); }).release().ptr());
        }
    }
    py::dict d;
    d["ids"] = ids;
    d["embeddings"] = has(inc, include_fields::embeddings) ? py::object(embeddings) : py::none();
    d["documents"] = has(inc, include_fields::documents) ? py::object(documents) : py::none();
    d["uris"] = has(inc, include_fields::uris) ? py::object(uris) : py::none();
    d["metadatas"] = has(inc, include_fields::metadatas) ? py::object(metas) : py::none();
    d["distances"] = has(inc, include_fields::distances) ? py::object(distances) : py::none();
    return d;
}

py::dict from_collection_info(const chromawal::collection_info& info) {
    py::dict d;
    d["id"] = make_str(info.id);
    d["name"] = make_str(info.name);
    d["tenant"] = make_str(info.tenant);
    d["database"] = make_str(info.database);
    d["metadata"] = from_metadata(info.metadata);
    d["dimension"] = info.dimension ? py::object(py::int_(*info.dimension)) : py::none();
    d["configuration_json"] = make_str(info.configuration_json);
    // chromadb's CollectionModel fields; the schema parsed, as chromadb keeps it.
    d["version"] = py::int_(info.version);
    d["log_position"] = py::int_(info.log_position);
    if (info.schema_json.empty()) {
        d["serialized_schema"] = py::none();
    } else {
        d["serialized_schema"] = py::module_::import("json").attr("loads")(make_str(info.schema_json));
    }
    return d;
}

py::dict from_receipt(const chromawal::write_receipt& r) {
    py::dict d;
    d["position"] = r.position;
    d["entry_id"] = make_str(r.entry_id);
    d["applied"] = strings(r.applied);
    d["queued"] = r.queued;
    return d;
}

py::dict from_verify_report(const chromawal::verify_report& r) {
    py::dict d;
    d["collection"] = make_str(r.collection_name);
    d["identical"] = r.identical();
    d["exists_a"] = r.exists_a;
    d["exists_b"] = r.exists_b;
    d["records_a"] = r.records_a;
    d["records_b"] = r.records_b;
    d["only_in_a"] = strings(r.only_in_a);
    d["only_in_b"] = strings(r.only_in_b);
    d["different"] = strings(r.different);
    d["summary"] = make_str(r.summary());
    return d;
}

}  // namespace cwpy
