#pragma once
/// @file
/// Value types shared by every chromawal API: metadata, embeddings, record sets, results.
/// All are plain values: copyable, movable, not synchronised (share them read-only, or copy).

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace chromawal {

/// One metadata value: null, bool, integer, float, string, or a non-empty array of one of
/// bool / integer / float / string. Null is only meaningful in update and upsert, where it
/// removes the key.
class metadata_value {
public:
    using array_bool = std::vector<bool>;
    using array_int = std::vector<std::int64_t>;
    using array_float = std::vector<double>;
    using array_string = std::vector<std::string>;
    using storage = std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, array_bool, array_int,
                                 array_float, array_string>;

    /// The kinds, in the order of the variant's alternatives.
    enum class kind { null, boolean, integer, floating, string, bool_array, int_array, float_array, string_array };

    metadata_value() noexcept : v_(nullptr) {}
    metadata_value(std::nullptr_t) noexcept : v_(nullptr) {}
    metadata_value(bool b) noexcept : v_(b) {}
    template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
    metadata_value(T i) noexcept : v_(static_cast<std::int64_t>(i)) {}
    template <typename T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
    metadata_value(T d) noexcept : v_(static_cast<double>(d)) {}
    metadata_value(const char* s) : v_(std::string(s)) {}
    metadata_value(std::string s) noexcept : v_(std::move(s)) {}
    metadata_value(array_bool a) noexcept : v_(std::move(a)) {}
    metadata_value(array_int a) noexcept : v_(std::move(a)) {}
    metadata_value(array_float a) noexcept : v_(std::move(a)) {}
    metadata_value(array_string a) noexcept : v_(std::move(a)) {}

    [[nodiscard]] kind type() const noexcept { return static_cast<kind>(v_.index()); }
    [[nodiscard]] bool is_null() const noexcept { return v_.index() == 0; }
    /// Typed access; throws std::bad_variant_access on a kind mismatch.
    template <typename T>
    [[nodiscard]] const T& get() const {
        return std::get<T>(v_);
    }
    /// Typed access; nullptr on a kind mismatch.
    template <typename T>
    [[nodiscard]] const T* get_if() const noexcept {
        return std::get_if<T>(&v_);
    }
    [[nodiscard]] const storage& value() const noexcept { return v_; }

    friend bool operator==(const metadata_value& a, const metadata_value& b) { return a.v_ == b.v_; }
    friend bool operator!=(const metadata_value& a, const metadata_value& b) { return !(a == b); }

private:
    storage v_;
};

/// Record or collection metadata: key -> value, keys sorted.
using metadata_map = std::map<std::string, metadata_value, std::less<>>;

/// A non-owning view of `rows` embeddings of `dim` float32 values each, stored contiguously
/// (row-major). The caller's buffer must outlive the call it is passed to; nothing is copied
/// until the request is encoded.
class embedding_view {
public:
    embedding_view() noexcept = default;
    embedding_view(const float* data, std::size_t rows, std::size_t dim) noexcept
        : data_(data), rows_(rows), dim_(dim) {}
    /// A flat vector of rows*dim values; the row count is flat.size() / dim.
    embedding_view(const std::vector<float>& flat, std::size_t dim) noexcept
        : data_(flat.data()), rows_(dim == 0 ? 0 : flat.size() / dim), dim_(dim), flat_size_(flat.size()) {}

    [[nodiscard]] const float* data() const noexcept { return data_; }
    [[nodiscard]] std::size_t rows() const noexcept { return rows_; }
    [[nodiscard]] std::size_t dim() const noexcept { return dim_; }
    [[nodiscard]] bool empty() const noexcept { return rows_ == 0 && flat_size_ == 0; }
    [[nodiscard]] const float* row(std::size_t i) const noexcept { return data_ + i * dim_; }
    /// Number of floats the caller passed (rows*dim, or the flat vector's size when built
    /// from a vector whose size is not a multiple of dim; validation reports that).
    [[nodiscard]] std::size_t value_count() const noexcept { return flat_size_ ? flat_size_ : rows_ * dim_; }
    /// The view of rows [first, first + count).
    [[nodiscard]] embedding_view slice(std::size_t first, std::size_t count) const noexcept {
        return embedding_view(data_ + first * dim_, count, dim_);
    }

private:
    const float* data_ = nullptr;
    std::size_t rows_ = 0;
    std::size_t dim_ = 0;
    std::size_t flat_size_ = 0;
};

/// Owning row-major matrix of float32 embeddings (what reads return).
class embedding_matrix {
public:
    embedding_matrix() = default;
    embedding_matrix(std::vector<float> values, std::size_t dim) : values_(std::move(values)), dim_(dim) {}

    [[nodiscard]] std::size_t rows() const noexcept { return dim_ == 0 ? 0 : values_.size() / dim_; }
    [[nodiscard]] std::size_t dim() const noexcept { return dim_; }
    [[nodiscard]] bool empty() const noexcept { return values_.empty(); }
    [[nodiscard]] const float* row(std::size_t i) const noexcept { return values_.data() + i * dim_; }
    /// Row i as a vector (a copy, for convenience).
    [[nodiscard]] std::vector<float> row_vector(std::size_t i) const {
        return std::vector<float>(row(i), row(i) + dim_);
    }
    [[nodiscard]] const std::vector<float>& values() const noexcept { return values_; }
    [[nodiscard]] std::vector<float>& values() noexcept { return values_; }
    void set_dim(std::size_t d) noexcept { dim_ = d; }
    [[nodiscard]] embedding_view view() const noexcept { return embedding_view(values_.data(), rows(), dim_); }

private:
    std::vector<float> values_;
    std::size_t dim_ = 0;
};

/// Which fields a get or query returns. Combine with `|`.
enum class include_fields : unsigned {
    none = 0,
    documents = 1u << 0,
    embeddings = 1u << 1,
    metadatas = 1u << 2,
    distances = 1u << 3,  ///< query only
    uris = 1u << 4,
};
constexpr include_fields operator|(include_fields a, include_fields b) noexcept {
    return static_cast<include_fields>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr include_fields operator&(include_fields a, include_fields b) noexcept {
    return static_cast<include_fields>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}
constexpr bool has(include_fields set, include_fields flag) noexcept { return (set & flag) != include_fields::none; }
/// Chroma's defaults.
constexpr include_fields default_get_include = include_fields::documents | include_fields::metadatas;
constexpr include_fields default_query_include =
    include_fields::documents | include_fields::metadatas | include_fields::distances;

/// The records of one add, upsert or update. Every field but `ids` may be left empty,
/// meaning "not given"; a given field has one entry per id. In update and upsert a
/// std::nullopt document/metadata leaves that record's field unchanged, and a null metadata
/// value removes that key.
struct record_set {
    std::vector<std::string> ids;
    embedding_view embeddings;
    std::vector<std::optional<std::string>> documents;
    std::vector<std::optional<metadata_map>> metadatas;
    std::vector<std::optional<std::string>> uris;
};

/// Records returned by get (and each query's hits, below). A field that was not included is
/// empty; `included` says which were.
struct get_result {
    std::vector<std::string> ids;
    embedding_matrix embeddings;
    std::vector<std::optional<std::string>> documents;
    std::vector<std::optional<metadata_map>> metadatas;
    std::vector<std::optional<std::string>> uris;
    include_fields included = include_fields::none;

    [[nodiscard]] std::size_t size() const noexcept { return ids.size(); }
    [[nodiscard]] bool empty() const noexcept { return ids.empty(); }
};

/// The hits of one query embedding, nearest first.
struct query_hits : get_result {
    std::vector<float> distances;
};

/// The result of a query: one entry per query embedding, in order.
struct query_result {
    std::vector<query_hits> results;
    include_fields included = include_fields::none;

    [[nodiscard]] std::size_t size() const noexcept { return results.size(); }
    [[nodiscard]] const query_hits& operator[](std::size_t i) const { return results[i]; }
    [[nodiscard]] auto begin() const noexcept { return results.begin(); }
    [[nodiscard]] auto end() const noexcept { return results.end(); }
};

/// A collection as the server describes it.
struct collection_info {
    std::string id;  ///< this server's UUID for the collection
    std::string name;
    std::string tenant;
    std::string database;
    std::optional<chromawal::metadata_map> metadata;
    std::optional<std::int64_t> dimension;  ///< unset until the first add
    std::string configuration_json;         ///< the server's configuration_json, raw JSON text
    std::int64_t version = 0;               ///< the server's collection version
    std::int64_t log_position = 0;          ///< the server's position in its own log
    /// The server's `schema` object as raw JSON text (chromadb's `serialized_schema`); empty
    /// when the server sent none (or null).
    std::string schema_json;
};

/// What the server's pre-flight check reports.
struct preflight_info {
    std::size_t max_batch_size = 0;
    bool supports_base64_encoding = false;
};

/// The caller as the server sees it (GET /auth/identity).
struct user_identity {
    std::string user_id;
    std::string tenant;
    std::vector<std::string> databases;
};

struct database_info {
    std::string id;
    std::string name;
    std::string tenant;
};

}  // namespace chromawal
