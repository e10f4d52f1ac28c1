// Unit tests of Chroma's REST v2 request bodies and response decoding (lib/chroma/protocol.hpp).

#include <catch2/catch.hpp>

#include <chromawal/chroma_client.hpp>

#include "api/validate.hpp"
#include "chroma/protocol.hpp"
#include "json/base64.hpp"
#include "json/reader.hpp"

#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace chroma = chromawal::chroma;
using chromawal::collection_options;
using chromawal::delete_options;
using chromawal::document_filter;
using chromawal::embedding_view;
using chromawal::get_options;
using chromawal::include_fields;
using chromawal::metadata_map;
using chromawal::metadata_value;
using chromawal::modify_options;
using chromawal::query_options;
using chromawal::record_set;
using chromawal::where_filter;
using chromawal::json::decode_error;

namespace {

bool valid_json(const std::string& text) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    return parser.parse(text).get(root) == simdjson::SUCCESS;
}

std::string b64_row(std::vector<float> v) {
    std::string out;
    chromawal::json::append_base64_floats(out, v.data(), v.size());
    return out;
}

std::string include_json(include_fields set) {
    std::string out;
    chromawal::json::writer w(out);
    chroma::write_include(w, set);
    return out;
}

std::string records_json(const record_set& r, std::size_t first, std::size_t count, bool base64) {
    std::string out;
    chroma::encode_records(out, r, first, count, base64);
    CHECK(valid_json(out));
    return out;
}

const std::vector<float> flat = {1.f, 2.f, 0.5f, -1.f, 0.1f, 3.f};

record_set sample_records() {
    record_set r;
    r.ids = {"a", "b", "c"};
    r.embeddings = embedding_view(flat, 2);
    r.documents = {"doc \"a\"", std::nullopt, ""};
    r.metadatas = {metadata_map{{"k", 1}}, std::nullopt, metadata_map{{"k", "v"}}};
    r.uris = {std::nullopt, "s3://b", std::nullopt};
    return r;
}

}  // namespace

// ---- requests ----

TEST_CASE("write_include names Chroma's include values", "[protocol][encode]") {
    CHECK(include_json(include_fields::none) == "[]");
    CHECK(include_json(chromawal::default_get_include) == R"(["documents","metadatas"])");
    CHECK(include_json(chromawal::default_query_include) == R"(["documents","metadatas","distances"])");
    CHECK(include_json(include_fields::documents | include_fields::embeddings | include_fields::metadatas |
                       include_fields::distances | include_fields::uris) ==
          R"(["documents","embeddings","metadatas","distances","uris"])");
    CHECK(include_json(include_fields::uris | include_fields::embeddings) == R"(["embeddings","uris"])");
}

TEST_CASE("encode_records: decimal embeddings", "[protocol][encode]") {
    const record_set r = sample_records();
    CHECK(records_json(r, 0, 3, false) == R"({"ids":["a","b","c"],"embeddings":[[1,2],[0.5,-1],[0.1,3]],)"
                                          R"("documents":["doc \"a\"",null,""],"metadatas":[{"k":1},null,{"k":"v"}],)"
                                          R"("uris":[null,"s3://b",null]})");
}

TEST_CASE("encode_records: base64 embeddings", "[protocol][encode]") {
    const record_set r = sample_records();
    CHECK(records_json(r, 0, 3, true) ==
          R"({"ids":["a","b","c"],"embeddings":[")" + b64_row({1.f, 2.f}) + R"(",")" + b64_row({0.5f, -1.f}) +
              R"(",")" + b64_row({0.1f, 3.f}) +
              R"("],"documents":["doc \"a\"",null,""],"metadatas":[{"k":1},null,{"k":"v"}],)"
              R"("uris":[null,"s3://b",null]})");
    CHECK(b64_row({1.f, 2.f}) == "AACAPwAAAEA=");

    // The strings decode back to the exact float32 values.
    simdjson::dom::parser parser;
    const std::string body = records_json(r, 0, 3, true);
    simdjson::dom::array rows;
    REQUIRE(parser.parse(body)["embeddings"].get_array().get(rows) == simdjson::SUCCESS);
    std::size_t i = 0;
    for (auto row : rows) {
        std::string_view text;
        REQUIRE(row.get_string().get(text) == simdjson::SUCCESS);
        std::vector<unsigned char> bytes;
        REQUIRE(chromawal::json::decode_base64(text, bytes));
        REQUIRE(bytes.size() == 8);
        float back[2];
        std::memcpy(back, bytes.data(), 8);
        CHECK(back[0] == flat[2 * i]);
        CHECK(back[1] == flat[2 * i + 1]);
        ++i;
    }
    CHECK(i == 3);
}

TEST_CASE("encode_records: a slice [first, first + count)", "[protocol][encode]") {
    const record_set r = sample_records();
    CHECK(records_json(r, 1, 2, false) == R"({"ids":["b","c"],"embeddings":[[0.5,-1],[0.1,3]],"documents":[null,""],)"
                                          R"("metadatas":[null,{"k":"v"}],"uris":["s3://b",null]})");
    CHECK(records_json(r, 0, 1, true) == R"({"ids":["a"],"embeddings":[")" + b64_row({1.f, 2.f}) +
                                             R"("],"documents":["doc \"a\""],"metadatas":[{"k":1}],"uris":[null]})");
    CHECK(records_json(r, 2, 1, false) ==
          R"({"ids":["c"],"embeddings":[[0.1,3]],"documents":[""],"metadatas":[{"k":"v"}],"uris":[null]})");
}

TEST_CASE("encode_records: fields not given are left out", "[protocol][encode]") {
    record_set r;
    r.ids = {"x", "y"};
    CHECK(records_json(r, 0, 2, true) == R"({"ids":["x","y"]})");
    r.documents = {std::nullopt, "d"};
    CHECK(records_json(r, 0, 2, false) == R"({"ids":["x","y"],"documents":[null,"d"]})");
    r.documents.clear();
    r.metadatas = {metadata_map{{"gone", nullptr}}, std::nullopt};
    CHECK(records_json(r, 0, 2, false) == R"({"ids":["x","y"],"metadatas":[{"gone":null},null]})");
}

TEST_CASE("encode_records: metadata value types are written exactly", "[protocol][encode]") {
    record_set r;
    r.ids = {"m"};
    r.metadatas = {metadata_map{
        {"b", true},
        {"bf", false},
        {"i", -7},
        {"max", std::numeric_limits<std::int64_t>::max()},
        {"min", std::numeric_limits<std::int64_t>::min()},
        {"f", 1.0},
        {"g", 0.1},
        {"h", -2.5e-7},
        {"s", "line\n\"q\" caf\xc3\xa9"},
        {"sa", metadata_value::array_string{"a", "b\\"}},
        {"ia", metadata_value::array_int{1, -2}},
        {"fa", metadata_value::array_float{1.0, 2.5}},
        {"ba", metadata_value::array_bool{true, false}},
        {"n", nullptr},
    }};
    // std::map keeps the keys sorted.
    CHECK(records_json(r, 0, 1, false) ==
          "{\"ids\":[\"m\"],\"metadatas\":[{\"b\":true,\"ba\":[true,false],\"bf\":false,\"f\":1.0,"
          "\"fa\":[1.0,2.5],\"g\":0.1,\"h\":-2.5e-07,\"i\":-7,\"ia\":[1,-2],\"max\":9223372036854775807,"
          "\"min\":-9223372036854775808,\"n\":null,\"s\":\"line\\n\\\"q\\\" caf\xc3\xa9\","
          "\"sa\":[\"a\",\"b\\\\\"]}]}");
}

TEST_CASE("encode_get", "[protocol][encode]") {
    get_options o;
    CHECK(chroma::encode_get(o) == R"({"include":["documents","metadatas"]})");

    o.ids = {"a", "b"};
    o.where = where_filter::eq("k", 1.0);
    o.where_document = document_filter::contains("x");
    o.limit = 10;
    o.offset = 5;
    o.include = include_fields::embeddings | include_fields::uris;
    const std::string body = chroma::encode_get(o);
    CHECK(body == R"({"ids":["a","b"],"where":{"k":{"$eq":1.0}},"where_document":{"$contains":"x"},)"
                  R"("limit":10,"offset":5,"include":["embeddings","uris"]})");
    CHECK(valid_json(body));

    get_options zero;
    zero.limit = 0;
    zero.include = include_fields::none;
    CHECK(chroma::encode_get(zero) == R"({"limit":0,"include":[]})");

    // Set but empty is not unset: it is sent, and Chroma then matches no record.
    get_options no_ids;
    no_ids.ids = std::vector<std::string>{};
    CHECK(chroma::encode_get(no_ids) == R"({"ids":[],"include":["documents","metadatas"]})");
    no_ids.ids.reset();
    CHECK(chroma::encode_get(no_ids) == R"({"include":["documents","metadatas"]})");

    get_options raw;
    raw.where = where_filter::raw(R"( {"$or": [{"a": 1}, {"b": {"$ne": "x"}}]} )");
    CHECK(chroma::encode_get(raw) ==
          R"({"where":{"$or":[{"a":1},{"b":{"$ne":"x"}}]},"include":["documents","metadatas"]})");
}

TEST_CASE("encode_query", "[protocol][encode]") {
    const std::vector<float> q = {0.1f, 0.2f, -3.f, 0.020000005f};
    query_options o;
    o.query_embeddings = embedding_view(q, 2);
    CHECK(chroma::encode_query(o) == R"({"query_embeddings":[[0.1,0.2],[-3,0.020000005]],"n_results":10,)"
                                     R"("include":["documents","metadatas","distances"]})");

    o.n_results = 3;
    o.ids = {"x"};
    o.where = where_filter::gt("year", 2020) && where_filter::eq("src", "wiki");
    o.where_document = document_filter::regex("^db");
    o.include = include_fields::distances | include_fields::embeddings;
    const std::string body = chroma::encode_query(o);
    CHECK(body == R"({"query_embeddings":[[0.1,0.2],[-3,0.020000005]],"n_results":3,"ids":["x"],)"
                  R"("where":{"$and":[{"year":{"$gt":2020}},{"src":{"$eq":"wiki"}}]},)"
                  R"("where_document":{"$regex":"^db"},"include":["embeddings","distances"]})");
    CHECK(valid_json(body));

    // An empty id list restricts the candidates to none (chromadb's query(ids=[])).
    query_options none;
    none.query_embeddings = embedding_view(q, 4);
    none.ids = std::vector<std::string>{};
    none.include = include_fields::none;
    CHECK(chroma::encode_query(none) ==
          R"({"query_embeddings":[[0.1,0.2,-3,0.020000005]],"n_results":10,"ids":[],"include":[]})");
}

TEST_CASE("encode_delete", "[protocol][encode]") {
    delete_options o;
    o.ids = {"a", "b"};
    CHECK(chroma::encode_delete(o) == R"({"ids":["a","b"]})");

    o = delete_options{};
    o.where = where_filter::in("tag", metadata_value::array_string{"x", "y"});
    o.where_document = document_filter::not_contains("z");
    o.limit = 5;
    const std::string body = chroma::encode_delete(o);
    CHECK(body == R"({"where":{"tag":{"$in":["x","y"]}},"where_document":{"$not_contains":"z"},"limit":5})");
    CHECK(valid_json(body));

    CHECK(chroma::encode_delete(delete_options{}) == "{}");
}

TEST_CASE("encode_create_collection", "[protocol][encode]") {
    collection_options o;
    CHECK(chroma::encode_create_collection("docs", o, false) == R"({"name":"docs","get_or_create":false})");

    o.metadata = metadata_map{{"owner", "me"}, {"v", 2}, {"w", 0.5}};
    o.space = "cosine";
    const std::string body = chroma::encode_create_collection("docs", o, true);
    CHECK(body == R"({"name":"docs","metadata":{"owner":"me","v":2,"w":0.5},)"
                  R"("configuration":{"hnsw":{"space":"cosine"}},"get_or_create":true})");
    CHECK(valid_json(body));

    collection_options raw;
    raw.configuration_json = R"({"hnsw":{"ef_search":100}})";
    CHECK(chroma::encode_create_collection("c\"x", raw, false) ==
          R"({"name":"c\"x","configuration":{"hnsw":{"ef_search":100}},"get_or_create":false})");

    collection_options with_schema;
    with_schema.schema_json = R"({"defaults":{},"keys":{}})";
    CHECK(chroma::encode_create_collection("s", with_schema, false) ==
          R"({"name":"s","schema":{"defaults":{},"keys":{}},"get_or_create":false})");
}

TEST_CASE("create options: configuration and schema must be JSON objects, refused before anything is sent",
          "[validate]") {
    collection_options o;
    o.schema_json = "{not json";
    CHECK_THROWS_WITH(chromawal::detail::validate_create_options(o),
                      Catch::Contains("Expected schema_json to be a JSON object"));
    o.schema_json = "[1]";
    CHECK_THROWS_AS(chromawal::detail::validate_create_options(o), chromawal::invalid_argument);
    o.schema_json = R"({"keys":{}})";
    CHECK_NOTHROW(chromawal::detail::validate_create_options(o));
    o.configuration_json = "nope";
    CHECK_THROWS_WITH(chromawal::detail::validate_create_options(o),
                      Catch::Contains("Expected configuration_json to be a JSON object"));
    collection_options both;
    both.space = "cosine";
    both.configuration_json = "{}";
    CHECK_THROWS_AS(chromawal::detail::validate_create_options(both), chromawal::invalid_argument);
}

TEST_CASE("encode_modify and encode_name", "[protocol][encode]") {
    CHECK(chroma::encode_modify(modify_options{}) == "{}");
    modify_options c;
    c.name = "renamed";
    CHECK(chroma::encode_modify(c) == R"({"new_name":"renamed"})");
    c.metadata = metadata_map{{"k", "v"}, {"f", 1.0}};
    c.configuration_json = R"({"hnsw":{"ef_search":64}})";
    const std::string body = chroma::encode_modify(c);
    CHECK(body ==
          R"({"new_name":"renamed","new_metadata":{"f":1.0,"k":"v"},"new_configuration":{"hnsw":{"ef_search":64}}})");
    CHECK(valid_json(body));

    CHECK(chroma::encode_name("tenant_1") == R"({"name":"tenant_1"})");
    CHECK(chroma::encode_name("a\\b") == R"({"name":"a\\b"})");
}

TEST_CASE("decode_modify_new_name reads back the new name of a modify body", "[protocol][decode]") {
    modify_options c;
    c.name = "re\"named";
    c.metadata = metadata_map{{"k", "v"}};
    CHECK(chroma::decode_modify_new_name(chroma::encode_modify(c)) == std::optional<std::string>("re\"named"));
    CHECK_FALSE(chroma::decode_modify_new_name(chroma::encode_modify(modify_options{})).has_value());
    CHECK_FALSE(chroma::decode_modify_new_name(R"({"new_name":7})").has_value());
    CHECK_FALSE(chroma::decode_modify_new_name("[1,2]").has_value());
    CHECK_FALSE(chroma::decode_modify_new_name("not json").has_value());
    CHECK_FALSE(chroma::decode_modify_new_name("").has_value());
}

// ---- responses ----

TEST_CASE("decode_get on a realistic response", "[protocol][decode]") {
    std::string body = R"({"ids":["id1","id2","id3"],)"
                       R"("embeddings":[[0.1,0.2,0.3],[1.0,2,3],[-0.5,0.020000005,1.6199999]],)"
                       R"("documents":["doc one",null,"caf\u00e9"],)"
                       R"("uris":null,)"
                       R"("metadatas":[null,)"
                       R"({"i":1,"f":1.0,"b":true,"s":"x","u":"\u65e5\u672c \ud83d\ude00","e":"",)"
                       R"("sa":["a","b"],"ia":[1,2],"fa":[1.5,2],"ba":[true,false]},)"
                       R"({"neg":-5,"big":9007199254740993,"g":0.1}],)"
                       R"("include":["documents","metadatas","embeddings"]})";
    const chromawal::get_result r = chroma::decode_get(body);

    CHECK(r.ids == std::vector<std::string>{"id1", "id2", "id3"});
    CHECK(r.size() == 3);
    CHECK(r.included == (include_fields::documents | include_fields::metadatas | include_fields::embeddings));

    REQUIRE(r.embeddings.rows() == 3);
    REQUIRE(r.embeddings.dim() == 3);
    CHECK(r.embeddings.row_vector(0) == std::vector<float>{0.1f, 0.2f, 0.3f});
    CHECK(r.embeddings.row_vector(1) == std::vector<float>{1.f, 2.f, 3.f});
    CHECK(r.embeddings.row_vector(2) == std::vector<float>{-0.5f, 0.020000005f, 1.6199999f});

    REQUIRE(r.documents.size() == 3);
    CHECK(r.documents[0] == std::optional<std::string>("doc one"));
    CHECK_FALSE(r.documents[1].has_value());
    CHECK(r.documents[2] == std::optional<std::string>("caf\xc3\xa9"));

    CHECK(r.uris.empty());

    REQUIRE(r.metadatas.size() == 3);
    CHECK_FALSE(r.metadatas[0].has_value());
    REQUIRE(r.metadatas[1].has_value());
    const metadata_map& m = *r.metadatas[1];
    CHECK(m.size() == 10);
    CHECK(m.at("i").type() == metadata_value::kind::integer);
    CHECK(m.at("i") == metadata_value(1));
    CHECK(m.at("f").type() == metadata_value::kind::floating);
    CHECK(m.at("f") == metadata_value(1.0));
    CHECK(m.at("b") == metadata_value(true));
    CHECK(m.at("s") == metadata_value("x"));
    CHECK(m.at("u") == metadata_value("\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"));
    CHECK(m.at("e") == metadata_value(""));
    CHECK(m.at("sa") == metadata_value(metadata_value::array_string{"a", "b"}));
    CHECK(m.at("ia") == metadata_value(metadata_value::array_int{1, 2}));
    CHECK(m.at("fa") == metadata_value(metadata_value::array_float{1.5, 2.0}));
    CHECK(m.at("ba") == metadata_value(metadata_value::array_bool{true, false}));
    REQUIRE(r.metadatas[2].has_value());
    CHECK(r.metadatas[2]->at("neg") == metadata_value(-5));
    CHECK(r.metadatas[2]->at("big") == metadata_value(std::int64_t{9007199254740993}));
    CHECK(r.metadatas[2]->at("g") == metadata_value(0.1));
}

TEST_CASE("decode_get with fields left out", "[protocol][decode]") {
    std::string body =
        R"({"ids":["a"],"embeddings":null,"documents":null,"uris":["u"],"metadatas":null,"include":["uris"]})";
    const auto r = chroma::decode_get(body);
    CHECK(r.ids == std::vector<std::string>{"a"});
    CHECK(r.embeddings.empty());
    CHECK(r.embeddings.rows() == 0);
    CHECK(r.documents.empty());
    CHECK(r.metadatas.empty());
    CHECK(r.uris == std::vector<std::optional<std::string>>{std::string("u")});
    CHECK(r.included == include_fields::uris);

    std::string empty = R"({"ids":[],"embeddings":[],"documents":[],"uris":null,"metadatas":[],"include":[]})";
    const auto e = chroma::decode_get(empty);
    CHECK(e.empty());
    CHECK(e.embeddings.empty());
    CHECK(e.included == include_fields::none);
}

TEST_CASE("decode_get keeps the body's bytes and pads it", "[protocol][decode]") {
    std::string body = R"({"ids":["a"],"include":[]})";
    body.shrink_to_fit();
    const std::string copy = body;
    const auto r = chroma::decode_get(body);
    CHECK(r.ids == std::vector<std::string>{"a"});
    CHECK(body == copy);
    CHECK(body.capacity() >= body.size() + simdjson::SIMDJSON_PADDING);
}

TEST_CASE("decode_query with two queries", "[protocol][decode]") {
    std::string body = R"({"ids":[["a","b"],["c"]],)"
                       R"("embeddings":[[[1,2],[3,4]],[[0.5,-0.5]]],)"
                       R"("documents":[["da",null],["dc"]],)"
                       R"("uris":null,)"
                       R"("metadatas":[[{"k":1},null],[{"k":2.5,"t":["x"]}]],)"
                       R"("distances":[[0.020000005,1.6199999],[0.5]],)"
                       R"("include":["metadatas","documents","distances","embeddings"]})";
    const chromawal::query_result r = chroma::decode_query(body);
    REQUIRE(r.size() == 2);
    const include_fields expected =
        include_fields::metadatas | include_fields::documents | include_fields::distances | include_fields::embeddings;
    CHECK(r.included == expected);

    const auto& q0 = r[0];
    CHECK(q0.included == expected);
    CHECK(q0.ids == std::vector<std::string>{"a", "b"});
    CHECK(q0.distances == std::vector<float>{0.020000005f, 1.6199999f});
    REQUIRE(q0.embeddings.rows() == 2);
    CHECK(q0.embeddings.dim() == 2);
    CHECK(q0.embeddings.values() == std::vector<float>{1.f, 2.f, 3.f, 4.f});
    REQUIRE(q0.documents.size() == 2);
    CHECK(q0.documents[0] == std::optional<std::string>("da"));
    CHECK_FALSE(q0.documents[1].has_value());
    REQUIRE(q0.metadatas.size() == 2);
    CHECK(q0.metadatas[0]->at("k") == metadata_value(1));
    CHECK_FALSE(q0.metadatas[1].has_value());
    CHECK(q0.uris.empty());

    const auto& q1 = r[1];
    CHECK(q1.included == expected);
    CHECK(q1.ids == std::vector<std::string>{"c"});
    CHECK(q1.distances == std::vector<float>{0.5f});
    CHECK(q1.embeddings.row_vector(0) == std::vector<float>{0.5f, -0.5f});
    CHECK(q1.documents == std::vector<std::optional<std::string>>{std::string("dc")});
    REQUIRE(q1.metadatas.size() == 1);
    CHECK(q1.metadatas[0]->at("k").type() == metadata_value::kind::floating);
    CHECK(q1.metadatas[0]->at("t") == metadata_value(metadata_value::array_string{"x"}));

    std::size_t n = 0;
    for (const auto& hits : r) n += hits.size();
    CHECK(n == 3);
}

TEST_CASE("decode_query with queries that found nothing", "[protocol][decode]") {
    std::string body = R"({"ids":[[],[]],"embeddings":null,"documents":[[],[]],"uris":null,)"
                       R"("metadatas":[[],[]],"distances":[[],[]],"include":["documents","metadatas","distances"]})";
    const auto r = chroma::decode_query(body);
    REQUIRE(r.size() == 2);
    CHECK(r[0].empty());
    CHECK(r[1].empty());
    CHECK(r[1].distances.empty());
}

TEST_CASE("decode_collection", "[protocol][decode]") {
    const std::string config = R"({"hnsw":{"space":"l2","ef_construction":100,"ef_search":100,"max_neighbors":16,)"
                               R"("resize_factor":1.2,"sync_threshold":1000},"spann":null,"embedding_function":null})";
    SECTION("metadata and dimension null") {
        std::string body = R"({"id":"0968b5d4-5bd8-4b77-a2b8-1f7c0b1a2c3d","name":"docs","configuration_json":)" +
                           config +
                           R"(,"schema":{"defaults":{},"keys":{}},"metadata":null,"dimension":null,)"
                           R"("tenant":"default_tenant","database":"default_database","log_position":0,"version":0})";
        const auto c = chroma::decode_collection(body);
        CHECK(c.id == "0968b5d4-5bd8-4b77-a2b8-1f7c0b1a2c3d");
        CHECK(c.name == "docs");
        CHECK(c.tenant == "default_tenant");
        CHECK(c.database == "default_database");
        CHECK_FALSE(c.metadata.has_value());
        CHECK_FALSE(c.dimension.has_value());
        CHECK(c.configuration_json == config);
        CHECK(c.version == 0);
        CHECK(c.log_position == 0);
        CHECK(c.schema_json == R"({"defaults":{},"keys":{}})");
    }
    SECTION("version, log_position and the schema as the server writes them") {
        const std::string schema =
            R"({"defaults":{"int":{"int_inverted_index":{"enabled":true,"config":{}}}},)"
            R"("keys":{"#embedding":{"float_list":{"vector_index":{"enabled":true,"config":{"space":"l2"}}}}}})";
        std::string body = R"({"id":"x","name":"n","configuration_json":)" + config + R"(,"schema":)" + schema +
                           "  \n"
                           R"(,"metadata":null,"dimension":2,"log_position":17,"version":3})";
        const auto c = chroma::decode_collection(body);
        CHECK(c.version == 3);
        CHECK(c.log_position == 17);
        CHECK(c.schema_json == schema);  // the object's text, without the whitespace after it
        CHECK(valid_json(c.schema_json));
        CHECK(c.dimension == std::optional<std::int64_t>(2));
    }
    SECTION("schema null or absent, version and log_position absent") {
        std::string null_schema = R"({"id":"x","name":"n","schema":null,"version":null,"log_position":null})";
        const auto c = chroma::decode_collection(null_schema);
        CHECK(c.schema_json.empty());
        CHECK(c.version == 0);
        CHECK(c.log_position == 0);
        std::string absent = R"({"id":"x","name":"n"})";
        const auto d = chroma::decode_collection(absent);
        CHECK(d.schema_json.empty());
        CHECK(d.version == 0);
        CHECK(d.log_position == 0);
    }
    SECTION("metadata object and dimension set") {
        std::string body = R"({"id":"x","name":"n","configuration_json":)" + config +
                           R"(,"metadata":{"owner":"me","v":2,"f":1.0},"dimension":384,"tenant":"t","database":"d"})";
        const auto c = chroma::decode_collection(body);
        REQUIRE(c.metadata.has_value());
        CHECK(c.metadata->size() == 3);
        CHECK(c.metadata->at("owner") == metadata_value("me"));
        CHECK(c.metadata->at("v") == metadata_value(2));
        CHECK(c.metadata->at("f").type() == metadata_value::kind::floating);
        CHECK(c.dimension == std::optional<std::int64_t>(384));
        CHECK(c.configuration_json == config);
        CHECK(valid_json(c.configuration_json));
    }
    SECTION("configuration_json from pretty-printed JSON is the object's text") {
        std::string body =
            "{\n  \"id\": \"x\",\n  \"configuration_json\": {\"hnsw\": {\"space\": \"ip\"}}  \n,"
            "  \"name\": \"n\"\n}";
        const auto c = chroma::decode_collection(body);
        CHECK(c.configuration_json == R"({"hnsw": {"space": "ip"}})");
        CHECK(c.name == "n");
    }
    SECTION("configuration_json carries no trailing whitespace of any kind (CRLF, tab)") {
        std::string crlf = "{\r\n\"configuration_json\": {\"a\":1}\r\n,\r\n\"name\": \"n\"\r\n}";
        CHECK(chroma::decode_collection(crlf).configuration_json == R"({"a":1})");
        std::string tab = "{\"configuration_json\":{\"a\":1}\t,\"name\":\"n\"}";
        CHECK(chroma::decode_collection(tab).configuration_json == R"({"a":1})");
    }
}

TEST_CASE("decode_collections", "[protocol][decode]") {
    std::string body = R"([{"id":"1","name":"a","configuration_json":{},"metadata":null,"dimension":null,)"
                       R"("tenant":"t","database":"d"},)"
                       R"({"id":"2","name":"b","configuration_json":{"hnsw":{}},"metadata":{"k":true},)"
                       R"("dimension":3,"tenant":"t","database":"d"}])";
    const auto cs = chroma::decode_collections(body);
    REQUIRE(cs.size() == 2);
    CHECK(cs[0].name == "a");
    CHECK(cs[0].configuration_json == "{}");
    CHECK_FALSE(cs[0].metadata.has_value());
    CHECK(cs[1].id == "2");
    CHECK(cs[1].metadata->at("k") == metadata_value(true));
    CHECK(cs[1].dimension == std::optional<std::int64_t>(3));
    CHECK(cs[1].configuration_json == R"({"hnsw":{}})");
    CHECK(cs[1].version == 0);
    CHECK(cs[1].schema_json.empty());

    std::string none = "[]";
    CHECK(chroma::decode_collections(none).empty());
}

TEST_CASE("is_name_taken recognises Chroma's refusal of a rename onto a taken name", "[protocol][decode]") {
    // The body the server answers (checked live), as decode_error reads it.
    std::string body = R"({"error":"InternalError","message":")" + std::string(chroma::name_taken_message) + R"("})";
    const auto e = chroma::decode_error(body);
    CHECK(e.name == chroma::name_taken_error_name);
    CHECK(chroma::is_name_taken(500, e.message));
    CHECK_FALSE(chroma::is_name_taken(400, e.message));
    CHECK_FALSE(
        chroma::is_name_taken(500, "Database error: error returned from database: (code: 5) database is locked"));
    CHECK_FALSE(chroma::is_name_taken(500, "UNIQUE constraint failed: embeddings.id"));
}

TEST_CASE("decode_error", "[protocol][decode]") {
    std::string json_body = R"({"error":"NotFoundError","message":"Collection [nope] does not exist"})";
    auto e = chroma::decode_error(json_body);
    CHECK(e.name == "NotFoundError");
    CHECK(e.message == "Collection [nope] does not exist");

    std::string text_body = "Payload too large";
    e = chroma::decode_error(text_body);
    CHECK(e.name.empty());
    CHECK(e.message == "Payload too large");

    std::string empty_body;
    e = chroma::decode_error(empty_body);
    CHECK(e.name.empty());
    CHECK(e.message.empty());

    std::string long_body(2000, 'x');
    e = chroma::decode_error(long_body);
    CHECK(e.name.empty());
    CHECK(e.message == std::string(500, 'x') + "...");

    std::string not_object = R"("oops")";
    e = chroma::decode_error(not_object);
    CHECK(e.name.empty());
    CHECK(e.message == R"("oops")");
}

TEST_CASE("decode of the small responses", "[protocol][decode]") {
    std::string preflight = R"({"max_batch_size":5461,"supports_base64_encoding":true})";
    const auto p = chroma::decode_preflight(preflight);
    CHECK(p.max_batch_size == 5461);
    CHECK(p.supports_base64_encoding);

    std::string heartbeat = R"({"nanosecond heartbeat": 123})";
    CHECK(chroma::decode_heartbeat(heartbeat) == 123);
    std::string big_heartbeat = R"({"nanosecond heartbeat":1718000000123456789})";
    CHECK(chroma::decode_heartbeat(big_heartbeat) == 1718000000123456789);

    std::string version = R"("1.0.0")";
    CHECK(chroma::decode_string(version) == "1.0.0");

    std::string integer = "42";
    CHECK(chroma::decode_integer(integer) == 42);
    std::string spaced = " 7\n";
    CHECK(chroma::decode_integer(spaced) == 7);

    std::string deleted = R"({"deleted":3})";
    CHECK(chroma::decode_deleted(deleted) == 3);
    std::string nothing = "{}";
    CHECK(chroma::decode_deleted(nothing) == 0);
    std::string empty;
    CHECK(chroma::decode_deleted(empty) == 0);
    std::string other_first = R"({"other":[1,2],"deleted":2})";
    CHECK(chroma::decode_deleted(other_first) == 2);

    std::string identity = R"({"user_id":"","tenant":"default_tenant","databases":["default_database"]})";
    const auto u = chroma::decode_identity(identity);
    CHECK(u.user_id.empty());
    CHECK(u.tenant == "default_tenant");
    CHECK(u.databases == std::vector<std::string>{"default_database"});

    std::string database = R"({"id":"00000000-0000-0000-0000-000000000000","name":"db","tenant":"t"})";
    const auto d = chroma::decode_database(database);
    CHECK(d.id == "00000000-0000-0000-0000-000000000000");
    CHECK(d.name == "db");
    CHECK(d.tenant == "t");

    std::string databases = R"([{"id":"1","name":"a","tenant":"t"},{"id":"2","name":"b","tenant":"t"}])";
    const auto ds = chroma::decode_databases(databases);
    REQUIRE(ds.size() == 2);
    CHECK(ds[1].name == "b");

    std::string tenant = R"({"name":"acme","resource_name":null})";
    CHECK(chroma::decode_tenant_name(tenant) == "acme");
}

TEST_CASE("malformed bodies throw json::decode_error", "[protocol][decode]") {
    auto get = [](std::string body) { return chroma::decode_get(body); };
    CHECK_THROWS_AS(get("not json"), decode_error);
    CHECK_THROWS_AS(get(""), decode_error);
    CHECK_THROWS_AS(get("[]"), decode_error);
    CHECK_THROWS_AS(get(R"({"ids":[1,2]})"), decode_error);
    CHECK_THROWS_AS(get(R"({"ids":"a"})"), decode_error);
    CHECK_THROWS_AS(get(R"({"ids":["a","b")"), decode_error);
    CHECK_THROWS_AS(get(R"({"ids":["a"],"embeddings":[[1,2],[3]]})"), decode_error);
    CHECK_THROWS_AS(get(R"({"embeddings":[["x"]]})"), decode_error);
    CHECK_THROWS_AS(get(R"({"metadatas":[{"a":[1,"x"]}]})"), decode_error);
    CHECK_THROWS_AS(get(R"({"metadatas":[{"a":[null]}]})"), decode_error);
    CHECK_THROWS_AS(get(R"({"metadatas":[5]})"), decode_error);
    CHECK_THROWS_AS(get(R"({"documents":[5]})"), decode_error);
    CHECK_THROWS_AS(get(R"({"include":[1]})"), decode_error);

    auto query = [](std::string body) { return chroma::decode_query(body); };
    CHECK_THROWS_AS(query(R"({"ids":["a"]})"), decode_error);
    CHECK_THROWS_AS(query(R"({"distances":[["x"]]})"), decode_error);
    CHECK_THROWS_AS(query("{"), decode_error);

    auto collection = [](std::string body) { return chroma::decode_collection(body); };
    CHECK_THROWS_AS(collection(R"({"id":5})"), decode_error);
    CHECK_THROWS_AS(collection(R"({"dimension":"x"})"), decode_error);
    CHECK_THROWS_AS(collection(R"({"metadata":[]})"), decode_error);
    CHECK_THROWS_AS(collection("[]"), decode_error);
    auto collections = [](std::string body) { return chroma::decode_collections(body); };
    CHECK_THROWS_AS(collections("{}"), decode_error);
    CHECK_THROWS_AS(collections("[1]"), decode_error);

    auto preflight = [](std::string body) { return chroma::decode_preflight(body); };
    CHECK_THROWS_AS(preflight(R"({"max_batch_size":"x"})"), decode_error);
    auto heartbeat = [](std::string body) { return chroma::decode_heartbeat(body); };
    CHECK_THROWS_AS(heartbeat("{}"), decode_error);
    CHECK_THROWS_AS(heartbeat("[]"), decode_error);
    CHECK_THROWS_AS(heartbeat(R"({"nanosecond heartbeat":"soon"})"), decode_error);
    auto integer = [](std::string body) { return chroma::decode_integer(body); };
    CHECK_THROWS_AS(integer("abc"), decode_error);
    CHECK_THROWS_AS(integer("-1"), decode_error);
    CHECK_THROWS_AS(integer("1.5"), decode_error);
    CHECK_THROWS_AS(integer(""), decode_error);
    auto deleted = [](std::string body) { return chroma::decode_deleted(body); };
    CHECK_THROWS_AS(deleted(R"({"deleted":-1})"), decode_error);
    CHECK_THROWS_AS(deleted("[]"), decode_error);
    auto str = [](std::string body) { return chroma::decode_string(body); };
    CHECK_THROWS_AS(str("1"), decode_error);
    auto tenant = [](std::string body) { return chroma::decode_tenant_name(body); };
    CHECK_THROWS_AS(tenant("{}"), decode_error);
}
