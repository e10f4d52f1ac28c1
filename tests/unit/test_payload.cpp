// The log's binary record payload: round trips, merging into one request body, corruption.
#include <catch2/catch.hpp>

#include "wal/payload.hpp"

#include <simdjson.h>

#include <cstring>

namespace cw = chromawal;

namespace {

cw::record_set sample(std::vector<float>& emb) {
    emb = {1.5f, -2.25f, 0.1f, 3e-38f, -0.0f, 7.0f};
    cw::record_set r;
    r.ids = {"a", std::string("b\0c", 3), "ü🙂"};
    r.embeddings = cw::embedding_view(emb, 2);
    r.documents = {std::string("doc a"), std::nullopt, std::string("line\nbreak \"q\"")};
    r.metadatas = {cw::metadata_map{{"k", 1}, {"f", 1.0}, {"s", "x"}, {"b", true}}, std::nullopt,
                   cw::metadata_map{{"arr", cw::metadata_value::array_string{"p", "q"}}}};
    return r;
}

}  // namespace

TEST_CASE("record payloads round-trip exactly, embeddings as raw float32", "[payload]") {
    std::vector<float> emb;
    const cw::record_set r = sample(emb);
    const std::string bytes = cw::wal::encode_records(r);
    // Binary, not decimal text: the 6 floats take exactly 24 bytes somewhere in the payload.
    CHECK(bytes.find(std::string(reinterpret_cast<const char*>(emb.data()), 24)) != std::string::npos);

    const auto p = cw::wal::decode_records(bytes);
    CHECK(p.ids == r.ids);
    CHECK(p.dim == 2);
    REQUIRE(p.embeddings.size() == emb.size());
    CHECK(std::memcmp(p.embeddings.data(), emb.data(), emb.size() * sizeof(float)) == 0);
    CHECK(p.has_documents);
    CHECK(p.documents == r.documents);
    REQUIRE(p.metadatas.size() == 3);
    CHECK(p.metadatas[0] == std::optional<std::string>(R"({"b":true,"f":1.0,"k":1,"s":"x"})"));
    CHECK_FALSE(p.metadatas[1].has_value());
    CHECK_FALSE(p.has_uris);
}

TEST_CASE("an update payload without embeddings has none", "[payload]") {
    cw::record_set r;
    r.ids = {"x"};
    r.metadatas = {cw::metadata_map{{"gone", nullptr}}};
    const auto p = cw::wal::decode_records(cw::wal::encode_records(r));
    CHECK(p.embeddings.empty());
    CHECK(p.dim == 0);
    CHECK(p.metadatas[0] == std::optional<std::string>(R"({"gone":null})"));
}

TEST_CASE("merged payloads give one valid request body, nulls where a part lacks a field", "[payload]") {
    std::vector<float> emb;
    const auto p1 = cw::wal::decode_records(cw::wal::encode_records(sample(emb)));
    cw::record_set r2;
    std::vector<float> e2 = {9, 8};
    r2.ids = {"z"};
    r2.embeddings = cw::embedding_view(e2, 2);
    const auto p2 = cw::wal::decode_records(cw::wal::encode_records(r2));
    REQUIRE(cw::wal::can_merge(p1, p2));

    std::string body;
    cw::wal::write_records_body(body, {&p1, &p2}, false);
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    REQUIRE(parser.parse(body).get(doc) == simdjson::SUCCESS);
    CHECK(doc["ids"].get_array().size() == 4);
    CHECK(doc["embeddings"].get_array().size() == 4);
    CHECK(doc["documents"].at(3).is_null());
    CHECK(doc["metadatas"].at(3).is_null());
    CHECK(double(doc["embeddings"].at(3).at(0)) == 9.0);

    std::string b64;
    cw::wal::write_records_body(b64, {&p2}, true);
    CHECK(b64 == R"({"ids":["z"],"embeddings":["AAAQQQAAAEE="]})");
}

TEST_CASE("payloads that share an id, or differ in shape, are not merged", "[payload]") {
    std::vector<float> emb;
    const auto p1 = cw::wal::decode_records(cw::wal::encode_records(sample(emb)));
    cw::record_set same_id;
    std::vector<float> e = {1, 2};
    same_id.ids = {"a"};
    same_id.embeddings = cw::embedding_view(e, 2);
    CHECK_FALSE(cw::wal::can_merge(p1, cw::wal::decode_records(cw::wal::encode_records(same_id))));

    cw::record_set other_dim;
    std::vector<float> e3 = {1, 2, 3};
    other_dim.ids = {"q"};
    other_dim.embeddings = cw::embedding_view(e3, 3);
    CHECK_FALSE(cw::wal::can_merge(p1, cw::wal::decode_records(cw::wal::encode_records(other_dim))));

    cw::record_set no_emb;
    no_emb.ids = {"q"};
    no_emb.documents = {std::string("d")};
    CHECK_FALSE(cw::wal::can_merge(p1, cw::wal::decode_records(cw::wal::encode_records(no_emb))));
}

TEST_CASE("split_records cuts a payload into slices of the same shape", "[payload]") {
    std::vector<float> emb;
    const auto p = cw::wal::decode_records(cw::wal::encode_records(sample(emb)));
    const auto chunks = cw::wal::split_records(p, 2);
    REQUIRE(chunks.size() == 2);
    CHECK(chunks[0].ids == std::vector<std::string>(p.ids.begin(), p.ids.begin() + 2));
    CHECK(chunks[1].ids == std::vector<std::string>{p.ids[2]});
    CHECK(chunks[0].embeddings == std::vector<float>(p.embeddings.begin(), p.embeddings.begin() + 4));
    CHECK(chunks[1].embeddings == std::vector<float>(p.embeddings.begin() + 4, p.embeddings.end()));
    for (const auto& c : chunks) {
        CHECK(c.dim == p.dim);
        CHECK(c.has_documents == p.has_documents);
        CHECK(c.has_metadatas == p.has_metadatas);
        CHECK(c.has_uris == p.has_uris);
        CHECK(c.uris.empty());
    }
    CHECK(chunks[1].documents == std::vector<std::optional<std::string>>{p.documents[2]});
    CHECK(chunks[1].metadatas == std::vector<std::optional<std::string>>{p.metadatas[2]});

    const auto one = cw::wal::slice_records(p, 1, 1);
    CHECK(one.ids == std::vector<std::string>{p.ids[1]});
    CHECK_FALSE(one.documents[0].has_value());
    CHECK(cw::wal::split_records(p, 3).size() == 1);
    CHECK(cw::wal::split_records(p, 1).size() == 3);

    cw::record_set no_emb;
    no_emb.ids = {"q", "r"};
    no_emb.documents = {std::string("d"), std::nullopt};
    const auto halves = cw::wal::split_records(cw::wal::decode_records(cw::wal::encode_records(no_emb)), 1);
    REQUIRE(halves.size() == 2);
    CHECK(halves[1].embeddings.empty());
    CHECK(halves[1].documents == std::vector<std::optional<std::string>>{std::nullopt});
}

TEST_CASE("split_records also cuts by estimated request bytes; a record too large goes alone", "[payload]") {
    cw::record_set r;
    for (int i = 0; i < 5; ++i) {
        r.ids.push_back("id" + std::to_string(i));
        r.documents.emplace_back(std::string(i == 3 ? 5000 : 1000, 'x'));
    }
    const auto p = cw::wal::decode_records(cw::wal::encode_records(r));
    const std::size_t one = cw::wal::record_bytes(p, 0, true);
    CHECK(one > 1000);
    CHECK(cw::wal::payload_bytes(p, true) > 8000);
    // Two ordinary records fit in 2.5 of them; the 5000-byte one does not fit with anything.
    const auto chunks = cw::wal::split_records(p, 1000, one * 5 / 2, true);
    REQUIRE(chunks.size() == 4);
    CHECK(chunks[0].ids == std::vector<std::string>{"id0", "id1"});
    CHECK(chunks[1].ids == std::vector<std::string>{"id2"});
    CHECK(chunks[2].ids == std::vector<std::string>{"id3"});
    CHECK(chunks[3].ids == std::vector<std::string>{"id4"});
    // The record count still applies.
    CHECK(cw::wal::split_records(p, 1, 1u << 30, true).size() == 5);
    // Embeddings count more as JSON numbers than as base64.
    std::vector<float> emb(2 * 64, 0.5f);
    cw::record_set e;
    e.ids = {"a", "b"};
    e.embeddings = cw::embedding_view(emb, 64);
    const auto pe = cw::wal::decode_records(cw::wal::encode_records(e));
    CHECK(cw::wal::record_bytes(pe, 0, false) > cw::wal::record_bytes(pe, 0, true));
}

TEST_CASE("corrupt payloads are refused with chromawal::error", "[payload]") {
    std::vector<float> emb;
    const std::string bytes = cw::wal::encode_records(sample(emb));
    CHECK_THROWS_AS(cw::wal::decode_records(bytes.substr(0, bytes.size() - 1)), cw::error);
    CHECK_THROWS_AS(cw::wal::decode_records(bytes + "x"), cw::error);
    CHECK_THROWS_AS(cw::wal::decode_records(""), cw::error);
    std::string wrong_version = bytes;
    wrong_version[0] = 9;
    CHECK_THROWS_AS(cw::wal::decode_records(wrong_version), cw::error);
}
