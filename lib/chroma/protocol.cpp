#include "chroma/protocol.hpp"

#include "chroma/metadata_json.hpp"
#include "json/reader.hpp"
#include "json/writer.hpp"

#include <fmt/format.h>

#include <cctype>

namespace chromawal {
namespace detail {

void write_metadata_value(json::writer& w, const metadata_value& v) {
    std::visit(
        [&w](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::nullptr_t>) {
                w.null();
            } else if constexpr (std::is_same_v<T, bool>) {
                w.boolean(x);
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
                w.integer(x);
            } else if constexpr (std::is_same_v<T, double>) {
                w.floating(x);
            } else if constexpr (std::is_same_v<T, std::string>) {
                w.string(x);
            } else {
                w.begin_array();
                for (const auto& e : x) {
                    using E = std::decay_t<decltype(e)>;
                    if constexpr (std::is_same_v<E, std::string>) {
                        w.string(e);
                    } else if constexpr (std::is_same_v<E, std::int64_t>) {
                        w.integer(e);
                    } else if constexpr (std::is_same_v<E, double>) {
                        w.floating(e);
                    } else {
                        w.boolean(static_cast<bool>(e));
                    }
                }
                w.end_array();
            }
        },
        v.value());
}

void write_metadata(json::writer& w, const metadata_map& m) {
    w.begin_object();
    for (const auto& [k, v] : m) {
        w.key(k);
        write_metadata_value(w, v);
    }
    w.end_object();
}

}  // namespace detail

namespace chroma {

namespace {

namespace od = json::od;
using json::take;

void write_ids(json::writer& w, const std::vector<std::string>& ids, std::size_t first, std::size_t count) {
    w.begin_array();
    for (std::size_t i = first; i < first + count; ++i) w.string(ids[i]);
    w.end_array();
}

void write_optional_strings(json::writer& w, const std::vector<std::optional<std::string>>& v, std::size_t first,
                            std::size_t count) {
    w.begin_array();
    for (std::size_t i = first; i < first + count; ++i) {
        if (v[i]) {
            w.string(*v[i]);
        } else {
            w.null();
        }
    }
    w.end_array();
}

void write_filters(json::writer& w, const where_filter& wh, const document_filter& wd) {
    if (!wh.empty()) w.key("where").raw(wh.json());
    if (!wd.empty()) w.key("where_document").raw(wd.json());
}

include_fields parse_include_name(std::string_view s) {
    if (s == "documents") return include_fields::documents;
    if (s == "embeddings") return include_fields::embeddings;
    if (s == "metadatas") return include_fields::metadatas;
    if (s == "distances") return include_fields::distances;
    if (s == "uris") return include_fields::uris;
    return include_fields::none;
}

include_fields read_include(od::value v) {
    include_fields set = include_fields::none;
    for (auto e : take(v.get_array(), "include")) {
        od::value item = take(e, "include item");
        set = set | parse_include_name(take(item.get_string(), "include item"));
    }
    return set;
}

std::vector<std::string> read_string_array(od::value v, std::string_view what) {
    std::vector<std::string> out;
    for (auto e : take(v.get_array(), what)) {
        od::value item = take(e, what);
        out.emplace_back(take(item.get_string(), what));
    }
    return out;
}

std::vector<std::optional<std::string>> read_optional_strings(od::value v, std::string_view what) {
    std::vector<std::optional<std::string>> out;
    for (auto e : take(v.get_array(), what)) out.push_back(json::read_optional_string(take(e, what)));
    return out;
}

std::vector<std::optional<metadata_map>> read_metadatas(od::value v) {
    std::vector<std::optional<metadata_map>> out;
    for (auto e : take(v.get_array(), "metadatas")) {
        od::value item = take(e, "metadata");
        if (take(item.is_null(), "metadata")) {
            out.emplace_back(std::nullopt);
        } else {
            out.emplace_back(json::read_metadata(take(item.get_object(), "metadata")));
        }
    }
    return out;
}

// Appends rows of numbers into one flat float buffer; every row must have the same length.
embedding_matrix read_embeddings(od::value v) {
    std::vector<float> values;
    std::size_t dim = 0;
    std::size_t rows = 0;
    for (auto row_result : take(v.get_array(), "embeddings")) {
        od::value row = take(row_result, "embedding");
        std::size_t n = 0;
        for (auto x : take(row.get_array(), "embedding")) {
            values.push_back(static_cast<float>(take(take(x, "embedding value").get_double(), "embedding value")));
            ++n;
        }
        if (rows == 0) {
            dim = n;
            values.reserve(values.size() * 16);  // grow once the first row tells us the dimension
        } else if (n != dim) {
            throw json::decode_error("embeddings of different dimensions in one response");
        }
        ++rows;
    }
    return embedding_matrix(std::move(values), dim);
}

std::vector<float> read_floats(od::value v, std::string_view what) {
    std::vector<float> out;
    for (auto x : take(v.get_array(), what)) {
        out.push_back(static_cast<float>(take(take(x, what).get_double(), what)));
    }
    return out;
}

bool field_is_null(od::value& v, std::string_view what) { return take(v.is_null(), what); }

// The text of an object value as the server wrote it, without the whitespace that follows it
// (raw_json runs up to the next token).
std::string raw_object(od::value& v, std::string_view what) {
    std::string text(take(take(v.get_object(), what).raw_json(), what));
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    return text;
}

collection_info read_collection(od::object obj) {
    collection_info info;
    for (auto field_result : obj) {
        od::field f = take(std::move(field_result), "collection field");
        std::string_view key = take(f.unescaped_key(), "collection key");
        od::value v = f.value();
        if (key == "id") {
            info.id = std::string(take(v.get_string(), "collection id"));
        } else if (key == "name") {
            info.name = std::string(take(v.get_string(), "collection name"));
        } else if (key == "tenant") {
            info.tenant = std::string(take(v.get_string(), "collection tenant"));
        } else if (key == "database") {
            info.database = std::string(take(v.get_string(), "collection database"));
        } else if (key == "metadata") {
            if (!field_is_null(v, "collection metadata"))
                info.metadata = json::read_metadata(take(v.get_object(), "collection metadata"));
        } else if (key == "dimension") {
            if (!field_is_null(v, "dimension")) info.dimension = take(v.get_int64(), "dimension");
        } else if (key == "configuration_json") {
            info.configuration_json = raw_object(v, "configuration_json");
        } else if (key == "schema") {
            if (!field_is_null(v, "schema")) info.schema_json = raw_object(v, "schema");
        } else if (key == "version") {
            if (!field_is_null(v, "version")) info.version = take(v.get_int64(), "version");
        } else if (key == "log_position") {
            if (!field_is_null(v, "log_position")) info.log_position = take(v.get_int64(), "log_position");
        }
    }
    return info;
}

database_info read_database(od::object obj) {
    database_info d;
    for (auto field_result : obj) {
        od::field f = take(std::move(field_result), "database field");
        std::string_view key = take(f.unescaped_key(), "database key");
        od::value v = f.value();
        if (key == "id")
            d.id = std::string(take(v.get_string(), "database id"));
        else if (key == "name")
            d.name = std::string(take(v.get_string(), "database name"));
        else if (key == "tenant")
            d.tenant = std::string(take(v.get_string(), "database tenant"));
    }
    return d;
}

}  // namespace

void write_include(json::writer& w, include_fields set) {
    w.begin_array();
    if (has(set, include_fields::documents)) w.string("documents");
    if (has(set, include_fields::embeddings)) w.string("embeddings");
    if (has(set, include_fields::metadatas)) w.string("metadatas");
    if (has(set, include_fields::distances)) w.string("distances");
    if (has(set, include_fields::uris)) w.string("uris");
    w.end_array();
}

void encode_records(std::string& out, const record_set& r, std::size_t first, std::size_t count, bool base64) {
    const std::size_t dim = r.embeddings.dim();
    // One reservation for the whole body: base64 is 4/3 of 4 bytes per float, decimal ~11.
    out.reserve(out.size() + count * (64 + (r.embeddings.empty() ? 0 : dim * (base64 ? 6 : 12))));
    json::writer w(out);
    w.begin_object();
    w.key("ids");
    write_ids(w, r.ids, first, count);
    if (!r.embeddings.empty()) {
        w.key("embeddings").begin_array();
        for (std::size_t i = first; i < first + count; ++i) {
            if (base64) {
                w.base64_floats(r.embeddings.row(i), dim);
            } else {
                w.float_array(r.embeddings.row(i), dim);
            }
        }
        w.end_array();
    }
    if (!r.documents.empty()) {
        w.key("documents");
        write_optional_strings(w, r.documents, first, count);
    }
    if (!r.metadatas.empty()) {
        w.key("metadatas").begin_array();
        for (std::size_t i = first; i < first + count; ++i) {
            if (r.metadatas[i]) {
                detail::write_metadata(w, *r.metadatas[i]);
            } else {
                w.null();
            }
        }
        w.end_array();
    }
    if (!r.uris.empty()) {
        w.key("uris");
        write_optional_strings(w, r.uris, first, count);
    }
    w.end_object();
}

std::string encode_get(const get_options& o) {
    std::string out;
    json::writer w(out);
    w.begin_object();
    // An empty list is sent as it is: Chroma answers it with no records (checked live).
    if (o.ids) {
        w.key("ids");
        write_ids(w, *o.ids, 0, o.ids->size());
    }
    write_filters(w, o.where, o.where_document);
    if (o.limit) w.key("limit").unsigned_integer(*o.limit);
    if (o.offset) w.key("offset").unsigned_integer(o.offset);
    w.key("include");
    write_include(w, o.include);
    w.end_object();
    return out;
}

std::string encode_query(const query_options& o) {
    std::string out;
    const auto& e = o.query_embeddings;
    out.reserve(128 + e.rows() * e.dim() * 12);
    json::writer w(out);
    w.begin_object();
    w.key("query_embeddings").begin_array();
    for (std::size_t i = 0; i < e.rows(); ++i) w.float_array(e.row(i), e.dim());
    w.end_array();
    w.key("n_results").unsigned_integer(o.n_results);
    // An empty list is sent as it is: Chroma answers each query with no hits (checked live).
    if (o.ids) {
        w.key("ids");
        write_ids(w, *o.ids, 0, o.ids->size());
    }
    write_filters(w, o.where, o.where_document);
    w.key("include");
    write_include(w, o.include);
    w.end_object();
    return out;
}

std::string encode_delete(const delete_options& o) {
    std::string out;
    json::writer w(out);
    w.begin_object();
    if (!o.ids.empty()) {
        w.key("ids");
        write_ids(w, o.ids, 0, o.ids.size());
    }
    write_filters(w, o.where, o.where_document);
    if (o.limit) w.key("limit").unsigned_integer(*o.limit);
    w.end_object();
    return out;
}

std::string encode_create_collection(std::string_view name, const collection_options& o, bool get_or_create) {
    std::string out;
    json::writer w(out);
    w.begin_object();
    w.key("name").string(name);
    if (o.metadata) {
        w.key("metadata");
        detail::write_metadata(w, *o.metadata);
    }
    if (!o.configuration_json.empty()) {
        w.key("configuration").raw(o.configuration_json);
    } else if (!o.space.empty()) {
        w.key("configuration")
            .begin_object()
            .key("hnsw")
            .begin_object()
            .key("space")
            .string(o.space)
            .end_object()
            .end_object();
    }
    if (!o.schema_json.empty()) w.key("schema").raw(o.schema_json);
    w.key("get_or_create").boolean(get_or_create);
    w.end_object();
    return out;
}

std::string encode_modify(const modify_options& c) {
    std::string out;
    json::writer w(out);
    w.begin_object();
    if (c.name) w.key("new_name").string(*c.name);
    if (c.metadata) {
        w.key("new_metadata");
        detail::write_metadata(w, *c.metadata);
    }
    if (!c.configuration_json.empty()) w.key("new_configuration").raw(c.configuration_json);
    w.end_object();
    return out;
}

std::string encode_name(std::string_view name) {
    std::string out;
    json::writer w(out);
    w.begin_object().key("name").string(name).end_object();
    return out;
}

bool is_name_taken(int status, std::string_view server_message) {
    return status == 500 && server_message.find("UNIQUE constraint failed: collections.name") != std::string_view::npos;
}

error_body decode_error(std::string& body) {
    error_body e;
    try {
        auto doc = json::parse(body);
        od::object obj = take(doc.get_object(), "error");
        for (auto field_result : obj) {
            od::field f = take(std::move(field_result), "error field");
            std::string_view key = take(f.unescaped_key(), "error key");
            od::value v = f.value();
            if (key == "error")
                e.name = std::string(take(v.get_string(), "error name"));
            else if (key == "message")
                e.message = std::string(take(v.get_string(), "error message"));
        }
        return e;
    } catch (const json::decode_error&) {
        e = {};
        e.message = body.size() > 500 ? body.substr(0, 500) + "..." : body;
        return e;
    }
}

collection_info decode_collection(std::string& body) {
    auto doc = json::parse(body);
    return read_collection(take(doc.get_object(), "collection"));
}

std::vector<collection_info> decode_collections(std::string& body) {
    auto doc = json::parse(body);
    std::vector<collection_info> out;
    for (auto e : take(doc.get_array(), "collections")) {
        od::value v = take(e, "collection");
        out.push_back(read_collection(take(v.get_object(), "collection")));
    }
    return out;
}

get_result decode_get(std::string& body) {
    auto doc = json::parse(body);
    get_result r;
    for (auto field_result : take(doc.get_object(), "get result")) {
        od::field f = take(std::move(field_result), "get result field");
        std::string_view key = take(f.unescaped_key(), "get result key");
        od::value v = f.value();
        if (field_is_null(v, key)) continue;
        if (key == "ids")
            r.ids = read_string_array(v, "ids");
        else if (key == "embeddings")
            r.embeddings = read_embeddings(v);
        else if (key == "documents")
            r.documents = read_optional_strings(v, "documents");
        else if (key == "metadatas")
            r.metadatas = read_metadatas(v);
        else if (key == "uris")
            r.uris = read_optional_strings(v, "uris");
        else if (key == "include")
            r.included = read_include(v);
    }
    return r;
}

query_result decode_query(std::string& body) {
    auto doc = json::parse(body);
    query_result r;
    auto at = [&r](std::size_t i) -> query_hits& {
        if (r.results.size() <= i) r.results.resize(i + 1);
        return r.results[i];
    };
    for (auto field_result : take(doc.get_object(), "query result")) {
        od::field f = take(std::move(field_result), "query result field");
        std::string_view key = take(f.unescaped_key(), "query result key");
        od::value v = f.value();
        if (field_is_null(v, key)) continue;
        if (key == "include") {
            r.included = read_include(v);
            continue;
        }
        if (key != "ids" && key != "embeddings" && key != "documents" && key != "metadatas" && key != "uris" &&
            key != "distances") {
            continue;  // a field this client does not know (e.g. "data"): ignore it
        }
        std::size_t i = 0;
        for (auto per_query : take(v.get_array(), key)) {
            od::value q = take(per_query, key);
            if (field_is_null(q, key)) {
                ++i;
                continue;
            }
            query_hits& h = at(i++);
            if (key == "ids")
                h.ids = read_string_array(q, "ids");
            else if (key == "embeddings")
                h.embeddings = read_embeddings(q);
            else if (key == "documents")
                h.documents = read_optional_strings(q, "documents");
            else if (key == "metadatas")
                h.metadatas = read_metadatas(q);
            else if (key == "uris")
                h.uris = read_optional_strings(q, "uris");
            else if (key == "distances")
                h.distances = read_floats(q, "distances");
        }
    }
    for (auto& h : r.results) h.included = r.included;
    return r;
}

preflight_info decode_preflight(std::string& body) {
    auto doc = json::parse(body);
    preflight_info p;
    for (auto field_result : take(doc.get_object(), "pre-flight")) {
        od::field f = take(std::move(field_result), "pre-flight field");
        std::string_view key = take(f.unescaped_key(), "pre-flight key");
        od::value v = f.value();
        if (key == "max_batch_size")
            p.max_batch_size = static_cast<std::size_t>(take(v.get_uint64(), "max_batch_size"));
        else if (key == "supports_base64_encoding")
            p.supports_base64_encoding = take(v.get_bool(), "supports_base64_encoding");
    }
    return p;
}

std::int64_t decode_heartbeat(std::string& body) {
    auto doc = json::parse(body);
    for (auto field_result : take(doc.get_object(), "heartbeat")) {
        od::field f = take(std::move(field_result), "heartbeat field");
        od::value v = f.value();
        return static_cast<std::int64_t>(take(v.get_uint64(), "heartbeat"));
    }
    throw json::decode_error("empty heartbeat");
}

std::string decode_string(std::string& body) {
    auto doc = json::parse(body);
    return std::string(take(doc.get_string(), "string"));
}

std::uint64_t decode_integer(std::string& body) {
    auto doc = json::parse(body);
    return take(doc.get_uint64(), "integer");
}

std::size_t decode_deleted(std::string& body) {
    if (body.empty()) return 0;
    auto doc = json::parse(body);
    for (auto field_result : take(doc.get_object(), "delete result")) {
        od::field f = take(std::move(field_result), "delete result field");
        std::string_view key = take(f.unescaped_key(), "delete result key");
        if (key == "deleted") return static_cast<std::size_t>(take(f.value().get_uint64(), "deleted"));
    }
    return 0;
}

user_identity decode_identity(std::string& body) {
    auto doc = json::parse(body);
    user_identity u;
    for (auto field_result : take(doc.get_object(), "identity")) {
        od::field f = take(std::move(field_result), "identity field");
        std::string_view key = take(f.unescaped_key(), "identity key");
        od::value v = f.value();
        if (key == "user_id")
            u.user_id = std::string(take(v.get_string(), "user_id"));
        else if (key == "tenant")
            u.tenant = std::string(take(v.get_string(), "tenant"));
        else if (key == "databases")
            u.databases = read_string_array(v, "databases");
    }
    return u;
}

database_info decode_database(std::string& body) {
    auto doc = json::parse(body);
    return read_database(take(doc.get_object(), "database"));
}

std::vector<database_info> decode_databases(std::string& body) {
    auto doc = json::parse(body);
    std::vector<database_info> out;
    for (auto e : take(doc.get_array(), "databases")) {
        od::value v = take(e, "database");
        out.push_back(read_database(take(v.get_object(), "database")));
    }
    return out;
}

std::string decode_tenant_name(std::string& body) {
    auto doc = json::parse(body);
    for (auto field_result : take(doc.get_object(), "tenant")) {
        od::field f = take(std::move(field_result), "tenant field");
        std::string_view key = take(f.unescaped_key(), "tenant key");
        if (key == "name") return std::string(take(f.value().get_string(), "tenant name"));
    }
    throw json::decode_error("tenant without a name");
}

std::optional<std::string> decode_modify_new_name(std::string_view body) {
    // A parser of its own (not the thread's): the caller may be in the middle of decoding.
    od::parser p;
    std::string padded(body);
    padded.reserve(padded.size() + simdjson::SIMDJSON_PADDING);
    auto doc = p.iterate(padded.data(), padded.size(), padded.capacity());
    std::string_view new_name;
    if (doc.find_field("new_name").get_string().get(new_name) == simdjson::SUCCESS) return std::string(new_name);
    return std::nullopt;
}

}  // namespace chroma
}  // namespace chromawal
