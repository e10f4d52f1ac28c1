#include "options.hpp"

#include "convert.hpp"

#include <string>
#include <utility>
#include <vector>

namespace cwpy {

std::chrono::milliseconds seconds_to_ms(double s) {
    return std::chrono::milliseconds(static_cast<long long>(s * 1000.0 + 0.5));
}

chromawal::connection_options to_connection(const py::dict& d) {
    chromawal::connection_options o;
    o.base_url = get_or<std::string>(d, "base_url", o.base_url);
    o.tenant = get_or<std::string>(d, "tenant", o.tenant);
    o.database = get_or<std::string>(d, "database", o.database);
    o.headers = get_or<std::vector<std::pair<std::string, std::string>>>(d, "headers", {});
    if (d.contains("connect_timeout") && !d["connect_timeout"].is_none()) {
        o.connect_timeout = seconds_to_ms(d["connect_timeout"].cast<double>());
    }
    if (d.contains("request_timeout") && !d["request_timeout"].is_none()) {
        o.request_timeout = seconds_to_ms(d["request_timeout"].cast<double>());
    }
    o.verify_tls = get_or<bool>(d, "verify_tls", o.verify_tls);
    o.ca_file = get_or<std::string>(d, "ca_file", o.ca_file);
    o.use_base64 = get_or<bool>(d, "use_base64", o.use_base64);
    return o;
}

chromawal::collection_options to_collection_options(const py::handle& metadata, const py::handle& configuration_json,
                                                    const py::handle& schema_json, const char* op) {
    chromawal::collection_options o;
    o.metadata = to_metadata(metadata, op);
    if (!configuration_json.is_none()) o.configuration_json = configuration_json.cast<std::string>();
    if (!schema_json.is_none()) o.schema_json = schema_json.cast<std::string>();
    return o;
}

chromawal::modify_options to_modify_options(const py::handle& name, const py::handle& metadata,
                                            const py::handle& configuration_json) {
    chromawal::modify_options m;
    if (!name.is_none()) m.name = name.cast<std::string>();
    m.metadata = to_metadata(metadata, "modify");
    if (!configuration_json.is_none()) m.configuration_json = configuration_json.cast<std::string>();
    return m;
}

std::optional<std::size_t> to_limit(const py::handle& limit) {
    if (limit.is_none()) return std::nullopt;
    return limit.cast<std::size_t>();
}

chromawal::get_options to_get_options(const py::handle& ids, const py::handle& where, const py::handle& where_document,
                                      const py::handle& limit, std::size_t offset, unsigned include) {
    chromawal::get_options o;
    if (!ids.is_none()) o.ids = to_ids(ids, "get");
    o.where = to_where(where);
    o.where_document = to_where_document(where_document);
    o.limit = to_limit(limit);
    o.offset = offset;
    o.include = to_include(include);
    return o;
}

chromawal::delete_options to_delete_options(const py::handle& ids, const py::handle& where,
                                            const py::handle& where_document, const py::handle& limit) {
    chromawal::delete_options o;
    if (!ids.is_none()) o.ids = to_ids(ids, "delete");
    o.where = to_where(where);
    o.where_document = to_where_document(where_document);
    o.limit = to_limit(limit);
    return o;
}

chromawal::query_options to_query_options(const py::handle& embeddings, std::size_t n_results, const py::handle& ids,
                                          const py::handle& where, const py::handle& where_document, unsigned include) {
    chromawal::query_options o;
    o.query_embeddings = to_embedding_view(embeddings, "query_embeddings", "query");
    o.n_results = n_results;
    // None: no restriction; a list, even an empty one, restricts the candidates to it (an
    // empty list finds nothing, as in chromadb).
    if (!ids.is_none()) {
        auto& list = o.ids.emplace();
        for (auto& s : to_strings(ids, "ID", false, "query")) list.push_back(std::move(*s));
    }
    o.where = to_where(where);
    o.where_document = to_where_document(where_document);
    o.include = to_include(include);
    return o;
}

}  // namespace cwpy
