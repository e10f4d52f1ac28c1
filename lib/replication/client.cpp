// The public replicated API: thin wrappers over detail::replicated_client.
#include <chromawal/client.hpp>

#include "api/validate.hpp"
#include "replication/log_identity.hpp"
#include "replication/replicated_client.hpp"
#include "wal/open_log_store.hpp"

#include <fmt/format.h>

#include <mutex>
#include <string>

namespace chromawal {

// ---- collection ----

struct collection::shared_name {
    mutable std::mutex mutex;
    std::string value;
    std::string tenant, database;  // fixed
    wal::lane_key key() const {
        std::lock_guard<std::mutex> lock(mutex);
        return wal::lane_key{tenant, database, value};
    }
};

collection::collection(std::shared_ptr<detail::replicated_client> impl, std::string tenant, std::string database,
                       std::string name)
    : impl_(std::move(impl)), name_(std::make_shared<shared_name>()) {
    name_->value = std::move(name);
    name_->tenant = std::move(tenant);
    name_->database = std::move(database);
}

std::string collection::name() const {
    std::lock_guard<std::mutex> lock(name_->mutex);
    return name_->value;
}
const std::string& collection::tenant() const noexcept { return name_->tenant; }
const std::string& collection::database() const noexcept { return name_->database; }

write_receipt collection::add(const record_set& records, const write_options& options) const {
    return impl_->write_records(name_->key(), wal::op_kind::add, records, options);
}
write_receipt collection::upsert(const record_set& records, const write_options& options) const {
    return impl_->write_records(name_->key(), wal::op_kind::upsert, records, options);
}
write_receipt collection::update(const record_set& records, const write_options& options) const {
    return impl_->write_records(name_->key(), wal::op_kind::update, records, options);
}
write_receipt collection::delete_records(const delete_options& selector, const write_options& options) const {
    return impl_->write_delete(name_->key(), selector, options);
}

std::future<write_receipt> collection::add_async(const record_set& records, const write_options& options) const {
    return impl_->submit_records(name_->key(), wal::op_kind::add, records, options);
}
std::future<write_receipt> collection::upsert_async(const record_set& records, const write_options& options) const {
    return impl_->submit_records(name_->key(), wal::op_kind::upsert, records, options);
}
std::future<write_receipt> collection::update_async(const record_set& records, const write_options& options) const {
    return impl_->submit_records(name_->key(), wal::op_kind::update, records, options);
}
std::future<write_receipt> collection::delete_async(const delete_options& selector,
                                                    const write_options& options) const {
    return impl_->submit_delete(name_->key(), selector, options);
}

write_receipt collection::delete_document(std::string_view document_id, std::string_view key) const {
    delete_options d;
    d.where = where_filter::eq(key, std::string(document_id));
    return impl_->write_delete(name_->key(), d, {});
}

get_result collection::get(const get_options& options, read_options read) const {
    detail::validate_get(options);
    get_result r;
    impl_->read(name_->key(), read, [&](chroma_collection& c) { r = c.get(options); });
    return r;
}

query_result collection::query(const query_options& options, read_options read) const {
    detail::validate_query(options);
    query_result r;
    impl_->read(name_->key(), read, [&](chroma_collection& c) { r = c.query(options); });
    return r;
}

std::size_t collection::count(read_options read) const {
    std::size_t n = 0;
    impl_->read(name_->key(), read, [&](chroma_collection& c) { n = c.count(); });
    return n;
}

get_result collection::peek(std::size_t limit, read_options read) const {
    get_result r;
    impl_->read(name_->key(), read, [&](chroma_collection& c) { r = c.peek(limit); });
    return r;
}

write_receipt collection::modify(const modify_options& changes) const {
    const wal::lane_key key = name_->key();
    const std::string& old_name = key.collection;
    write_receipt r = impl_->write_modify(key, changes);
    if (changes.name) {
        std::lock_guard<std::mutex> lock(name_->mutex);
        // Renamed concurrently through another copy meanwhile: keep the name of the later one.
        if (name_->value == old_name) name_->value = *changes.name;
    }
    return r;
}

// ---- client ----

client::client(client_config config) {
    config.validate();
    // Each concurrent apply holds one connection for its lane lock and may need a second one to
    // record an outcome: size the pool for every instance applying at once, with room to spare.
    const std::size_t connections = std::max<std::size_t>(16, config.instances.size() * 4 + 4);
    wal::opened_store opened = wal::open_log_store(config, connections);
    impl_ = std::make_shared<detail::replicated_client>(std::move(config), std::move(opened.store),
                                                        std::move(opened.default_note));
    impl_->start_background();
}

client::~client() {
    if (impl_) impl_->stop_background();
}
client::client(client&&) noexcept = default;
client& client::operator=(client&& other) noexcept {
    if (this != &other) {
        if (impl_) impl_->stop_background();
        impl_ = std::move(other.impl_);
    }
    return *this;
}

namespace {
wal::lane_key in_scope(const wal::lane_key& scope, std::string name) {
    return wal::lane_key{scope.tenant, scope.database, std::move(name)};
}
}  // namespace

collection client::create_collection(std::string_view name, const collection_options& options) {
    const wal::lane_key key = in_scope(impl_->scope(), std::string(name));
    detail::validate_collection_name(key.collection);
    if (impl_->collection_exists(key)) {
        throw already_exists(409, "ChromaError", fmt::format("Collection [{}] already exists", key.collection),
                             fmt::format("create collection '{}'", key.collection));
    }
    impl_->write_create(key, options);
    return collection(impl_, key.tenant, key.database, key.collection);
}

collection client::get_or_create_collection(std::string_view name, const collection_options& options) {
    const wal::lane_key key = in_scope(impl_->scope(), std::string(name));
    impl_->write_get_or_create(key, options);
    return collection(impl_, key.tenant, key.database, key.collection);
}

collection client::get_collection(std::string_view name) {
    const wal::lane_key key = in_scope(impl_->scope(), std::string(name));
    impl_->require_collection(key);  // the server's not_found (with its trace id)
    return collection(impl_, key.tenant, key.database, key.collection);
}

collection client::collection_by_name(std::string_view name) {
    detail::validate_collection_name(name);
    const wal::lane_key key = in_scope(impl_->scope(), std::string(name));
    return collection(impl_, key.tenant, key.database, key.collection);
}

collection client::collection_by_name(std::string_view name, std::string_view tenant, std::string_view database) {
    detail::validate_collection_name(name);
    detail::validate_name(tenant, "tenant");
    detail::validate_name(database, "database");
    return collection(impl_, std::string(tenant), std::string(database), std::string(name));
}

std::vector<std::string> client::list_collections(std::optional<std::size_t> limit, std::size_t offset) {
    return impl_->list_collections(impl_->scope(), limit, offset);
}

void client::delete_collection(std::string_view name) {
    const wal::lane_key key = in_scope(impl_->scope(), std::string(name));
    if (!impl_->collection_exists(key)) {
        throw not_found(404, "NotFoundError", fmt::format("Collection [{}] does not exist", key.collection),
                        fmt::format("delete collection '{}'", key.collection));
    }
    impl_->write_delete_collection(key);
}

void client::set_tenant(std::string_view tenant, std::string_view database) {
    detail::validate_name(tenant, "tenant");
    detail::validate_name(database, "database");
    impl_->set_scope(std::string(tenant), std::string(database));
}

void client::set_database(std::string_view database) {
    detail::validate_name(database, "database");
    impl_->set_scope(impl_->scope().tenant, std::string(database));
}

std::string client::tenant() const { return impl_->scope().tenant; }
std::string client::database() const { return impl_->scope().database; }

namespace {
std::string tenant_or(const detail::replicated_client& impl, std::string_view tenant) {
    return tenant.empty() ? impl.scope().tenant : std::string(tenant);
}
}  // namespace

write_receipt client::create_database(std::string_view name, std::string_view tenant) {
    return impl_->create_database(tenant_or(*impl_, tenant), std::string(name));
}

write_receipt client::delete_database(std::string_view name, std::string_view tenant) {
    return impl_->delete_database(tenant_or(*impl_, tenant), std::string(name));
}

database_info client::get_database(std::string_view name, std::string_view tenant) {
    detail::validate_name(name, "database");
    const wal::lane_key scope = wal::database_lane(tenant_or(*impl_, tenant), std::string(name));
    database_info out;
    impl_->read_any(scope, "get database", [&](const chroma_client& c) { out = c.get_database(name); });
    return out;
}

std::vector<database_info> client::list_databases(std::optional<std::size_t> limit, std::size_t offset,
                                                  std::string_view tenant) {
    const wal::lane_key scope = wal::database_lane(tenant_or(*impl_, tenant), impl_->scope().database);
    std::vector<database_info> all;
    impl_->read_any(scope, "list databases", [&](const chroma_client& c) { all = c.list_databases(); });
    std::vector<database_info> out;
    std::size_t skipped = 0;
    for (auto& d : all) {
        if (d.name == detail::meta_database) continue;
        if (skipped < offset) {
            ++skipped;
            continue;
        }
        if (limit && out.size() >= *limit) break;
        out.push_back(std::move(d));
    }
    return out;
}

write_receipt client::create_tenant(std::string_view name) { return impl_->create_tenant(std::string(name)); }

std::string client::get_tenant(std::string_view name) {
    detail::validate_name(name, "tenant");
    std::string out;
    impl_->read_any(wal::database_lane(std::string(name), impl_->scope().database), "get tenant",
                    [&](const chroma_client& c) { out = c.get_tenant(name); });
    return out;
}

void client::reset(std::chrono::milliseconds wait) { impl_->reset(wait); }

status_report client::status() const { return impl_->status(); }
std::string client::metrics_address() const { return impl_->metrics_address(); }
void client::sync_now() { impl_->sync_pass(); }
bool client::wait_until_synced(std::chrono::milliseconds timeout) { return impl_->wait_until_synced(timeout); }
replay_result client::replay_dead_letters() { return impl_->replay_dead_letters(); }
std::string client::log_id() const { return impl_->log_identity().id; }
std::string client::log_description() const { return impl_->log_identity().description; }
std::vector<takeover_step> client::take_over_instances(const std::string& reason) {
    return impl_->take_over_instances(reason);
}
std::vector<dead_letter_info> client::dead_letters(std::size_t limit) const { return impl_->dead_letters(limit); }

verify_result client::verify(std::string_view instance_a, std::string_view instance_b, const verify_options& options) {
    return impl_->verify(instance_a, instance_b, options);
}

repair_result client::repair(std::string_view source, std::string_view target,
                             const std::vector<std::string>& collections) {
    return impl_->repair(source, target, collections);
}

std::int64_t client::prune() { return impl_->prune(); }

std::vector<apply_history_entry> client::apply_history(std::string_view instance, std::string_view collection) const {
    return impl_->apply_history(instance, collection);
}

}  // namespace chromawal
