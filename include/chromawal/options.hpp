#pragma once
/// @file
/// Connection options for one Chroma server.

#include <chromawal/types.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chromawal {

/// How to reach one Chroma server. Plain value with documented defaults.
struct connection_options {
    /// Scheme, host and port, e.g. "http://127.0.0.1:8000" or "https://chroma.internal".
    /// A path prefix (a reverse proxy's mount point) is kept; a trailing '/' is ignored.
    std::string base_url = "http://127.0.0.1:8000";
    std::string tenant = "default_tenant";
    std::string database = "default_database";
    /// Extra request headers, e.g. {"Authorization", "Bearer ..."} or {"X-Chroma-Token", ...}.
    /// Sent with every request; never logged.
    std::vector<std::pair<std::string, std::string>> headers;
    /// Time allowed to establish a connection.
    std::chrono::milliseconds connect_timeout{5000};
    /// Time allowed for a whole request, from sending to the last byte of the answer.
    std::chrono::milliseconds request_timeout{30000};
    /// Check the server's TLS certificate and host name (https only). On by default.
    bool verify_tls = true;
    /// A PEM file of CA certificates to trust instead of the system's (e.g. a private CA).
    std::string ca_file;
    /// Send write embeddings as base64 float32 when the server supports it (it is ~4x smaller
    /// and much cheaper to encode than decimal text). Off only for debugging.
    bool use_base64 = true;
};

/// Options for creating a collection.
struct collection_options {
    /// Collection metadata (Chroma rejects an empty map; leave unset for none).
    std::optional<chromawal::metadata_map> metadata;
    /// Distance function: "l2" (Chroma's default), "cosine" or "ip". Empty: server default.
    std::string space;
    /// Raw JSON for Chroma's `configuration` (e.g. `{"hnsw":{"ef_search":100}}`); when given,
    /// `space` must be empty.
    std::string configuration_json;
    /// Raw JSON for Chroma's collection `schema` (a JSON object, as the server's REST API takes it:
    /// chromadb's `Schema.serialize_to_json()`); empty: none. What the server does not support,
    /// it refuses.
    std::string schema_json;
};

}  // namespace chromawal
