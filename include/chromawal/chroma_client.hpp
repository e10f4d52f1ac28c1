#pragma once
/// @file
/// A client for one Chroma server (REST API v2): the layer that the replicated client is
/// built on, usable on its own when one server is all you have.

#include <chromawal/error.hpp>
#include <chromawal/export.hpp>
#include <chromawal/filter.hpp>
#include <chromawal/options.hpp>
#include <chromawal/types.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chromawal {

namespace detail {
class chroma_connection;
struct handle_access;
}  // namespace detail

/// Selects the records of a get. Empty fields select nothing by that criterion; all given
/// criteria combine with AND.
struct get_options {
    /// Restrict to these ids. Unset: no restriction by id; set to an empty list: no record
    /// matches (Chroma's `"ids": []`).
    std::optional<std::vector<std::string>> ids;
    chromawal::where_filter where;
    chromawal::document_filter where_document;
    std::optional<std::size_t> limit;
    std::size_t offset = 0;
    chromawal::include_fields include = default_get_include;
};

/// A nearest-neighbour query.
struct query_options {
    /// One or more query embeddings, all of the collection's dimension.
    embedding_view query_embeddings;
    std::size_t n_results = 10;
    /// Restrict the candidates to these ids. Unset: every record is a candidate; set to an
    /// empty list: none is, and each query finds nothing (as chromadb's `query(ids=[])`).
    std::optional<std::vector<std::string>> ids;
    chromawal::where_filter where;
    chromawal::document_filter where_document;
    chromawal::include_fields include = default_query_include;
};

/// Selects the records to delete: at least one of ids / where / where_document.
struct delete_options {
    std::vector<std::string> ids;
    chromawal::where_filter where;
    chromawal::document_filter where_document;
    /// Caps a where / where_document delete (not allowed with ids alone).
    std::optional<std::size_t> limit;
};

/// What to change with modify(); unset fields stay as they are.
struct modify_options {
    std::optional<std::string> name;
    /// Replaces the whole collection metadata (Chroma does not merge here).
    std::optional<chromawal::metadata_map> metadata;
    /// Raw JSON for the updatable part of the configuration, e.g. `{"hnsw":{"ef_search":64}}`.
    std::string configuration_json;
};

class chroma_client;

/// A handle to one collection on one server. Cheap to copy (it shares the client's
/// connection pool and holds the collection's description).
///
/// Thread-safety: every record operation (add, upsert, update, delete_records, get, query,
/// count, peek) may be called concurrently on the same handle. modify() updates the handle's
/// own description, so do not call it concurrently with other calls on the same handle.
/// Moved-from: a handle that was moved from may only be assigned to or destroyed.
class CHROMAWAL_API chroma_collection {
public:
    [[nodiscard]] const collection_info& info() const noexcept { return info_; }
    [[nodiscard]] const std::string& id() const noexcept { return info_.id; }
    [[nodiscard]] const std::string& name() const noexcept { return info_.name; }

    /// Adds records; ids that already exist are left unchanged (Chroma's semantics).
    /// Embeddings are required. Batches above the server's max batch size are sent as
    /// several requests, in order; a failure part-way leaves the earlier parts applied.
    /// @throws invalid_argument before sending anything when the records break a rule;
    ///         server_rejected / not_found, server_error, connection_error, timeout_error.
    void add(const record_set& records) const;
    /// Inserts new records and updates existing ones (metadata merged key by key).
    /// Embeddings are required. @throws as add().
    void upsert(const record_set& records) const;
    /// Updates existing records; missing ids are ignored by the server. @throws as add().
    void update(const record_set& records) const;
    /// Deletes the selected records and returns the server's count (for ids alone, Chroma
    /// counts the ids sent, existing or not). @throws invalid_argument with no selector.
    std::size_t delete_records(const delete_options& selector) const;
    /// @throws invalid_argument for `include_fields::distances`; server errors as add().
    [[nodiscard]] get_result get(const get_options& options = {}) const;
    /// @throws invalid_argument for n_results == 0 or no query embeddings.
    [[nodiscard]] query_result query(const query_options& options) const;
    [[nodiscard]] std::size_t count() const;
    /// The first `limit` records with documents, metadata and embeddings.
    [[nodiscard]] get_result peek(std::size_t limit = 10) const;
    /// Renames the collection and/or replaces its metadata / configuration.
    void modify(const modify_options& changes);

private:
    friend class chroma_client;
    friend struct detail::handle_access;
    chroma_collection(std::shared_ptr<detail::chroma_connection> conn, collection_info info);
    std::shared_ptr<detail::chroma_connection> conn_;
    collection_info info_;
};

/// A client for one Chroma server.
///
/// Construction is cheap and does no I/O: the first request connects. Connections are kept
/// alive and reused (a small pool grows to the number of threads using the client).
/// Thread-safety: one client (and copies of it, which share state) may be used from many
/// threads at once.
/// Exceptions: the client stays usable after any exception its calls throw.
/// Moved-from: a client that was moved from may only be assigned to or destroyed.
class CHROMAWAL_API chroma_client {
public:
    /// @throws invalid_argument for a malformed base_url or an empty tenant/database.
    explicit chroma_client(connection_options options = {});

    [[nodiscard]] const connection_options& options() const noexcept;

    /// The server's heartbeat in nanoseconds. @throws connection_error, timeout_error.
    std::int64_t heartbeat() const;
    /// The server's API version string (Chroma 1.x answers "1.0.0").
    std::string version() const;
    /// Max batch size and base64 support; fetched once, then cached.
    preflight_info preflight() const;
    std::size_t max_batch_size() const { return preflight().max_batch_size; }
    user_identity identity() const;
    /// POST /reset: the server deletes every tenant's data (as chromadb's Client.reset()). The server
    /// decides: one started without allow_reset refuses it (server_rejected, 403 "Reset is disabled
    /// by config"). @returns the server's answer (true).
    bool reset() const;

    /// @throws already_exists when the name is taken; server_rejected for an invalid name.
    chroma_collection create_collection(std::string_view name, const collection_options& options = {}) const;
    /// Returns the existing collection (options ignored) or creates it, in one request.
    chroma_collection get_or_create_collection(std::string_view name, const collection_options& options = {}) const;
    /// @throws not_found
    chroma_collection get_collection(std::string_view name) const;
    /// @throws not_found
    chroma_collection get_collection_by_id(std::string_view id) const;
    std::vector<chroma_collection> list_collections(std::optional<std::size_t> limit = std::nullopt,
                                                    std::size_t offset = 0) const;
    std::size_t count_collections() const;
    /// @throws not_found
    void delete_collection(std::string_view name) const;

    /// Database calls, in this client's tenant.
    void create_database(std::string_view name) const;
    database_info get_database(std::string_view name) const;
    std::vector<database_info> list_databases(std::optional<std::size_t> limit = std::nullopt,
                                              std::size_t offset = 0) const;
    void delete_database(std::string_view name) const;
    /// Tenant calls.
    void create_tenant(std::string_view name) const;
    /// @return the tenant's name. @throws not_found
    std::string get_tenant(std::string_view name) const;

private:
    friend struct detail::handle_access;
    explicit chroma_client(std::shared_ptr<detail::chroma_connection> conn) : conn_(std::move(conn)) {}
    std::shared_ptr<detail::chroma_connection> conn_;
};

}  // namespace chromawal
