#include <chromawal/chroma_client.hpp>
#include <chromawal/version.hpp>

#include "api/connection.hpp"
#include "api/validate.hpp"
#include "chroma/protocol.hpp"
#include "http/transport.hpp"
#include "json/reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace chromawal {
namespace detail {

namespace {

void write_records(chroma_connection& c, const collection_info& info, const record_set& r, write_op op) {
    validate_records(r, op);
    const std::string what = fmt::format("{} to collection '{}'", op_name(op), info.name);
    const preflight_info pf = c.get_preflight();
    const bool base64 = c.options.use_base64 && pf.supports_base64_encoding;
    const std::size_t n = r.ids.size();
    const std::size_t max_records = pf.max_batch_size ? pf.max_batch_size : n;
    const std::size_t embedding_bytes = r.embeddings.empty() ? 0 : r.embeddings.dim() * (base64 ? 6 : 12);
    // Estimated encoded size of record i: ids, documents, uris and metadata count too, so
    // that no request approaches Chroma's 40 MiB body limit.
    auto record_bytes = [&](std::size_t i) {
        std::size_t b = 16 + r.ids[i].size() + embedding_bytes;
        if (i < r.documents.size() && r.documents[i]) b += r.documents[i]->size() + 8;
        if (i < r.uris.size() && r.uris[i]) b += r.uris[i]->size() + 8;
        if (i < r.metadatas.size() && r.metadatas[i]) {
            for (const auto& [k, v] : *r.metadatas[i]) {
                b += k.size() + 24;
                if (const auto* str = v.get_if<std::string>()) b += str->size();
                if (const auto* arr = v.get_if<metadata_value::array_string>()) {
                    for (const auto& x : *arr) b += x.size() + 4;
                }
            }
        }
        return b;
    };
    const std::string url = c.collection_url(info.id) + "/" + op_name(op);
    std::string body;
    for (std::size_t first = 0; first < n;) {
        std::size_t count = 0, bytes = 0;
        while (first + count < n && count < max_records) {
            const std::size_t b = record_bytes(first + count);
            if (count > 0 && bytes + b > max_request_bytes) break;
            bytes += b;
            ++count;
        }
        body.clear();
        chroma::encode_records(body, r, first, count, base64);
        c.call(method::post, url, body, what);
        first += count;
    }
}

std::string paging(std::optional<std::size_t> limit, std::size_t offset) {
    std::string q;
    if (limit) q += fmt::format("?limit={}", *limit);
    if (offset) q += fmt::format("{}offset={}", q.empty() ? "?" : "&", offset);
    return q;
}

}  // namespace
}  // namespace detail

using detail::chroma_connection;
using http::method;

// ---- chroma_collection ----

chroma_collection::chroma_collection(std::shared_ptr<chroma_connection> conn, collection_info info)
    : conn_(std::move(conn)), info_(std::move(info)) {}

void chroma_collection::add(const record_set& records) const {
    detail::write_records(*conn_, info_, records, detail::write_op::add);
}
void chroma_collection::upsert(const record_set& records) const {
    detail::write_records(*conn_, info_, records, detail::write_op::upsert);
}
void chroma_collection::update(const record_set& records) const {
    detail::write_records(*conn_, info_, records, detail::write_op::update);
}

std::size_t chroma_collection::delete_records(const delete_options& selector) const {
    detail::validate_delete(selector);
    const std::string what = fmt::format("delete from collection '{}'", info_.name);
    const std::string url = conn_->collection_url(info_.id) + "/delete";
    const std::size_t per_request = std::max<std::size_t>(1, conn_->get_preflight().max_batch_size);
    if (selector.ids.size() <= per_request) {
        auto r = conn_->call(method::post, url, chroma::encode_delete(selector), what);
        return chroma_connection::decode([&] { return chroma::decode_deleted(r.body); }, what);
    }
    // Many ids: several requests, each with the same where filters.
    std::size_t deleted = 0;
    delete_options part = selector;
    for (std::size_t first = 0; first < selector.ids.size(); first += per_request) {
        const auto begin = selector.ids.begin() + static_cast<std::ptrdiff_t>(first);
        part.ids.assign(begin, begin + static_cast<std::ptrdiff_t>(std::min(per_request, selector.ids.size() - first)));
        auto r = conn_->call(method::post, url, chroma::encode_delete(part), what);
        deleted += chroma_connection::decode([&] { return chroma::decode_deleted(r.body); }, what);
    }
    return deleted;
}

get_result chroma_collection::get(const get_options& options) const {
    detail::validate_get(options);
    const std::string what = fmt::format("get from collection '{}'", info_.name);
    auto r = conn_->call(method::post, conn_->collection_url(info_.id) + "/get", chroma::encode_get(options), what);
    return chroma_connection::decode([&] { return chroma::decode_get(r.body); }, what);
}

query_result chroma_collection::query(const query_options& options) const {
    detail::validate_query(options);
    const std::string what = fmt::format("query of collection '{}'", info_.name);
    auto r = conn_->call(method::post, conn_->collection_url(info_.id) + "/query", chroma::encode_query(options), what);
    return chroma_connection::decode([&] { return chroma::decode_query(r.body); }, what);
}

std::size_t chroma_collection::count() const {
    const std::string what = fmt::format("count of collection '{}'", info_.name);
    auto r = conn_->call(method::get, conn_->collection_url(info_.id) + "/count", {}, what);
    return chroma_connection::decode([&] { return static_cast<std::size_t>(chroma::decode_integer(r.body)); }, what);
}

get_result chroma_collection::peek(std::size_t limit) const {
    get_options o;
    o.limit = limit;
    o.include = include_fields::documents | include_fields::metadatas | include_fields::embeddings;
    return get(o);
}

void chroma_collection::modify(const modify_options& changes) {
    if (changes.name) detail::validate_collection_name(*changes.name);
    if (changes.metadata) detail::validate_collection_metadata(*changes.metadata, "modify");
    if (!changes.configuration_json.empty()) {
        try {
            (void)json::compact_object(changes.configuration_json, 0);
        } catch (const json::decode_error& e) {
            throw invalid_argument(
                fmt::format("Expected configuration_json to be a JSON object in modify: {}", e.what()));
        }
    }
    if (!changes.name && !changes.metadata && changes.configuration_json.empty()) return;
    const std::string what = fmt::format("modify of collection '{}'", info_.name);
    conn_->call(method::put, conn_->collection_url(info_.id), chroma::encode_modify(changes), what);
    if (changes.name) info_.name = *changes.name;
    if (changes.metadata) info_.metadata = changes.metadata;
}

// ---- chroma_client ----

chroma_client::chroma_client(connection_options options)
    : conn_(std::make_shared<chroma_connection>(std::move(options))) {}

const connection_options& chroma_client::options() const noexcept { return conn_->options; }

std::int64_t chroma_client::heartbeat() const {
    auto r = conn_->call(method::get, conn_->base + "/heartbeat", {}, "heartbeat");
    return chroma_connection::decode([&] { return chroma::decode_heartbeat(r.body); }, "heartbeat");
}

bool chroma_client::reset() const {
    auto r = conn_->call(method::post, conn_->base + "/reset", {}, "reset");
    return chroma_connection::decode(
        [&] {
            std::string_view body = r.body;
            while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) body.remove_suffix(1);
            if (body == "true") return true;
            if (body == "false") return false;
            throw json::decode_error("expected true or false");
        },
        "reset");
}

std::string chroma_client::version() const {
    auto r = conn_->call(method::get, conn_->base + "/version", {}, "version");
    return chroma_connection::decode([&] { return chroma::decode_string(r.body); }, "version");
}

preflight_info chroma_client::preflight() const { return conn_->get_preflight(); }

user_identity chroma_client::identity() const {
    auto r = conn_->call(method::get, conn_->base + "/auth/identity", {}, "identity");
    return chroma_connection::decode([&] { return chroma::decode_identity(r.body); }, "identity");
}

namespace {}  // namespace

chroma_collection chroma_client::create_collection(std::string_view name, const collection_options& options) const {
    detail::validate_collection_name(name);
    detail::validate_create_options(options);
    const std::string what = fmt::format("create collection '{}'", name);
    auto r = conn_->call(method::post, conn_->collections_base, chroma::encode_create_collection(name, options, false),
                         what);
    return chroma_collection(conn_, chroma_connection::decode([&] { return chroma::decode_collection(r.body); }, what));
}

chroma_collection chroma_client::get_or_create_collection(std::string_view name,
                                                          const collection_options& options) const {
    detail::validate_collection_name(name);
    detail::validate_create_options(options);
    const std::string what = fmt::format("get or create collection '{}'", name);
    auto r =
        conn_->call(method::post, conn_->collections_base, chroma::encode_create_collection(name, options, true), what);
    return chroma_collection(conn_, chroma_connection::decode([&] { return chroma::decode_collection(r.body); }, what));
}

chroma_collection chroma_client::get_collection(std::string_view name) const {
    detail::validate_name(name, "collection");
    const std::string what = fmt::format("get collection '{}'", name);
    auto r = conn_->call(method::get, conn_->collection_url(std::string(name)), {}, what);
    return chroma_collection(conn_, chroma_connection::decode([&] { return chroma::decode_collection(r.body); }, what));
}

chroma_collection chroma_client::get_collection_by_id(std::string_view id) const {
    detail::validate_name(id, "collection id");
    const std::string what = fmt::format("get collection by id '{}'", id);
    auto r = conn_->call(method::get, conn_->collections_base + "/by-id/" + http::encode_path_segment(id), {}, what);
    return chroma_collection(conn_, chroma_connection::decode([&] { return chroma::decode_collection(r.body); }, what));
}

std::vector<chroma_collection> chroma_client::list_collections(std::optional<std::size_t> limit,
                                                               std::size_t offset) const {
    auto r = conn_->call(method::get, conn_->collections_base + detail::paging(limit, offset), {}, "list collections");
    auto infos = chroma_connection::decode([&] { return chroma::decode_collections(r.body); }, "list collections");
    std::vector<chroma_collection> out;
    out.reserve(infos.size());
    for (auto& i : infos) out.push_back(chroma_collection(conn_, std::move(i)));
    return out;
}

std::size_t chroma_client::count_collections() const {
    // The count route sits beside "collections": .../databases/{d}/collections_count
    auto r = conn_->call(method::get, conn_->collections_base + "_count", {}, "count collections");
    return chroma_connection::decode([&] { return static_cast<std::size_t>(chroma::decode_integer(r.body)); },
                                     "count collections");
}

void chroma_client::delete_collection(std::string_view name) const {
    detail::validate_name(name, "collection");
    conn_->call(method::del, conn_->collection_url(std::string(name)), {}, fmt::format("delete collection '{}'", name));
}

void chroma_client::create_database(std::string_view name) const {
    detail::validate_name(name, "database");
    conn_->call(method::post, conn_->tenant_base + "/databases", chroma::encode_name(name),
                fmt::format("create database '{}'", name));
}

database_info chroma_client::get_database(std::string_view name) const {
    detail::validate_name(name, "database");
    const std::string what = fmt::format("get database '{}'", name);
    auto r = conn_->call(method::get, conn_->tenant_base + "/databases/" + http::encode_path_segment(name), {}, what);
    return chroma_connection::decode([&] { return chroma::decode_database(r.body); }, what);
}

std::vector<database_info> chroma_client::list_databases(std::optional<std::size_t> limit, std::size_t offset) const {
    auto r = conn_->call(method::get, conn_->tenant_base + "/databases" + detail::paging(limit, offset), {},
                         "list databases");
    return chroma_connection::decode([&] { return chroma::decode_databases(r.body); }, "list databases");
}

void chroma_client::delete_database(std::string_view name) const {
    detail::validate_name(name, "database");
    conn_->call(method::del, conn_->tenant_base + "/databases/" + http::encode_path_segment(name), {},
                fmt::format("delete database '{}'", name));
}

void chroma_client::create_tenant(std::string_view name) const {
    detail::validate_name(name, "tenant");
    conn_->call(method::post, conn_->base + "/tenants", chroma::encode_name(name),
                fmt::format("create tenant '{}'", name));
}

std::string chroma_client::get_tenant(std::string_view name) const {
    detail::validate_name(name, "tenant");
    const std::string what = fmt::format("get tenant '{}'", name);
    auto r = conn_->call(method::get, conn_->base + "/tenants/" + http::encode_path_segment(name), {}, what);
    return chroma_connection::decode([&] { return chroma::decode_tenant_name(r.body); }, what);
}

}  // namespace chromawal
