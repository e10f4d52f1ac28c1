// Unit tests of the client-side validation (lib/api/validate.hpp).

#include <catch2/catch.hpp>

#include <chromawal/chroma_client.hpp>
#include <chromawal/error.hpp>

#include "api/validate.hpp"

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

using Catch::Matchers::Contains;
using chromawal::delete_options;
using chromawal::embedding_view;
using chromawal::get_options;
using chromawal::invalid_argument;
using chromawal::metadata_map;
using chromawal::metadata_value;
using chromawal::query_options;
using chromawal::record_set;
using chromawal::detail::validate_collection_metadata;
using chromawal::detail::validate_collection_name;
using chromawal::detail::validate_delete;
using chromawal::detail::validate_get;
using chromawal::detail::validate_name;
using chromawal::detail::validate_query;
using chromawal::detail::validate_records;
using chromawal::detail::write_op;

namespace {

constexpr float nan_f = std::numeric_limits<float>::quiet_NaN();
constexpr float inf_f = std::numeric_limits<float>::infinity();

// Three records of dimension 2; `flat` must outlive the returned set.
record_set three(const std::vector<float>& flat) {
    record_set r;
    r.ids = {"a", "b", "c"};
    r.embeddings = embedding_view(flat, 2);
    return r;
}

const std::vector<float> good_flat = {0.f, 1.f, 2.f, 3.f, 4.f, 5.f};

// Two records, embeddings included, with metadata `m` on the second record.
record_set with_metadata(metadata_map m) {
    record_set r;
    r.ids = {"a", "b"};
    r.embeddings = embedding_view(good_flat.data(), 2, 3);
    r.metadatas = {metadata_map{{"ok", 1}}, std::move(m)};
    return r;
}

}  // namespace

TEST_CASE("op_name", "[validate]") {
    CHECK(std::string(chromawal::detail::op_name(write_op::add)) == "add");
    CHECK(std::string(chromawal::detail::op_name(write_op::upsert)) == "upsert");
    CHECK(std::string(chromawal::detail::op_name(write_op::update)) == "update");
}

TEST_CASE("valid record sets pass", "[validate]") {
    record_set r = three(good_flat);
    CHECK_NOTHROW(validate_records(r, write_op::add));

    r.documents = {"doc a", std::nullopt, ""};
    r.uris = {std::nullopt, "s3://b", "file:///c"};
    r.metadatas = {metadata_map{{"s", "x"}, {"i", 1}, {"f", 1.5}, {"b", true}}, std::nullopt,
                   metadata_map{{"tags", metadata_value::array_string{"a", "b"}},
                                {"ints", metadata_value::array_int{1, 2}},
                                {"floats", metadata_value::array_float{0.5}},
                                {"bools", metadata_value::array_bool{true}},
                                {"unicode", "caf\xc3\xa9"},
                                {"colon:key", ""}}};
    CHECK_NOTHROW(validate_records(r, write_op::add));
    CHECK_NOTHROW(validate_records(r, write_op::upsert));
    CHECK_NOTHROW(validate_records(r, write_op::update));
}

TEST_CASE("ids: empty list, empty id, duplicates", "[validate]") {
    SECTION("empty list") {
        record_set r;
        CHECK_THROWS_AS(validate_records(r, write_op::add), invalid_argument);
        CHECK_THROWS_WITH(validate_records(r, write_op::add), Contains("non-empty list") && Contains("in add"));
        CHECK_THROWS_WITH(validate_records(r, write_op::update), Contains("in update"));
    }
    SECTION("empty-string id, index named") {
        record_set r = three(good_flat);
        r.ids[1] = "";
        CHECK_THROWS_AS(validate_records(r, write_op::upsert), invalid_argument);
        CHECK_THROWS_WITH(validate_records(r, write_op::upsert), Contains("index 1") && Contains("in upsert"));
    }
    SECTION("duplicates named") {
        const std::vector<float> flat(10, 0.5f);
        record_set r;
        r.ids = {"a", "b", "a", "c", "b"};
        r.embeddings = embedding_view(flat, 2);
        CHECK_THROWS_AS(validate_records(r, write_op::add), invalid_argument);
        CHECK_THROWS_WITH(validate_records(r, write_op::add),
                          Contains("Expected IDs to be unique") && Contains("duplicates of: a, b"));
    }
    SECTION("an id given three times is named once") {
        record_set r = three(good_flat);
        r.ids = {"x", "x", "x"};
        CHECK_THROWS_WITH(validate_records(r, write_op::add), Contains("duplicates of: x in add"));
    }
    SECTION("a long duplicate id is shortened") {
        const std::string long_id(100, 'z');
        const std::vector<float> flat(4, 0.5f);
        record_set r;
        r.ids = {long_id, long_id};
        r.embeddings = embedding_view(flat, 2);
        CHECK_THROWS_WITH(validate_records(r, write_op::add), Contains(std::string(37, 'z') + "..."));
    }
    SECTION("invalid UTF-8 id, index named") {
        record_set r = three(good_flat);
        r.ids[2] = "c\xff";
        CHECK_THROWS_AS(validate_records(r, write_op::add), invalid_argument);
        CHECK_THROWS_WITH(validate_records(r, write_op::add), Contains("index 2") && Contains("UTF-8"));
    }
}

TEST_CASE("unequal lengths name every field and its length", "[validate]") {
    const std::vector<float> one_row = {1.f, 2.f};
    record_set r;
    r.ids = {"a", "b"};
    r.embeddings = embedding_view(one_row, 2);
    CHECK_THROWS_AS(validate_records(r, write_op::add), invalid_argument);
    CHECK_THROWS_WITH(validate_records(r, write_op::add),
                      Contains("Unequal lengths for fields: ids: 2, embeddings: 1"));

    r = three(good_flat);
    r.documents = {"x"};
    r.metadatas = {std::nullopt, std::nullopt, std::nullopt, std::nullopt};
    CHECK_THROWS_WITH(validate_records(r, write_op::upsert),
                      Contains("ids: 3") && Contains("documents: 1") && Contains("metadatas: 4"));

    r = three(good_flat);
    r.uris = {"u"};
    CHECK_THROWS_WITH(validate_records(r, write_op::update), Contains("uris: 1"));
}

TEST_CASE("embeddings are required by add and upsert only", "[validate]") {
    record_set r;
    r.ids = {"a"};
    r.documents = {"doc"};
    CHECK_THROWS_AS(validate_records(r, write_op::add), invalid_argument);
    CHECK_THROWS_WITH(validate_records(r, write_op::add), Contains("embeddings") && Contains("add"));
    CHECK_THROWS_AS(validate_records(r, write_op::upsert), invalid_argument);
    CHECK_THROWS_WITH(validate_records(r, write_op::upsert), Contains("embeddings") && Contains("upsert"));
    CHECK_NOTHROW(validate_records(r, write_op::update));
}

TEST_CASE("update needs something to update", "[validate]") {
    record_set r;
    r.ids = {"a", "b"};
    CHECK_THROWS_AS(validate_records(r, write_op::update), invalid_argument);
    CHECK_THROWS_WITH(validate_records(r, write_op::update), Contains("at least one of") && Contains("update"));
    r.metadatas = {std::nullopt, metadata_map{{"k", nullptr}}};
    CHECK_NOTHROW(validate_records(r, write_op::update));
    r.metadatas.clear();
    r.uris = {"u1", "u2"};
    CHECK_NOTHROW(validate_records(r, write_op::update));
}

TEST_CASE("embedding values must be finite", "[validate]") {
    for (float bad : {nan_f, inf_f, -inf_f}) {
        std::vector<float> flat = good_flat;
        flat[3] = bad;  // row 1
        record_set r = three(flat);
        INFO("value " << bad);
        CHECK_THROWS_AS(validate_records(r, write_op::add), invalid_argument);
        CHECK_THROWS_WITH(validate_records(r, write_op::add), Contains("finite") && Contains("index 1"));
        CHECK_THROWS_AS(validate_records(r, write_op::update), invalid_argument);
    }
}

TEST_CASE("embedding shape", "[validate]") {
    SECTION("flat vector not a multiple of the dimension") {
        const std::vector<float> flat = {1.f, 2.f, 3.f, 4.f, 5.f};
        record_set r;
        r.ids = {"a", "b"};
        r.embeddings = embedding_view(flat, 2);
        CHECK_THROWS_AS(validate_records(r, write_op::add), invalid_argument);
        CHECK_THROWS_WITH(validate_records(r, write_op::add),
                          Contains("multiple of the dimension 2") && Contains("got 5"));
    }
    SECTION("dimension 0") {
        const std::vector<float> flat = {1.f, 2.f};
        record_set r;
        r.ids = {"a"};
        r.embeddings = embedding_view(flat, 0);
        CHECK_THROWS_AS(validate_records(r, write_op::add), invalid_argument);
        CHECK_THROWS_WITH(validate_records(r, write_op::add), Contains("dimension") && Contains("positive"));
        r.embeddings = embedding_view(flat.data(), 1, 0);
        CHECK_THROWS_WITH(validate_records(r, write_op::update), Contains("dimension") && Contains("positive"));
    }
    SECTION("null data pointer") {
        record_set r;
        r.ids = {"a"};
        r.embeddings = embedding_view(nullptr, 1, 3);
        CHECK_THROWS_AS(validate_records(r, write_op::add), invalid_argument);
    }
}

TEST_CASE("record metadata rules", "[validate]") {
    SECTION("empty dict rejected, index named") {
        const record_set r = with_metadata(metadata_map{});
        CHECK_THROWS_AS(validate_records(r, write_op::add), invalid_argument);
        CHECK_THROWS_WITH(validate_records(r, write_op::add), Contains("non-empty dict") && Contains("index 1"));
        CHECK_THROWS_AS(validate_records(r, write_op::update), invalid_argument);
    }
    SECTION("null value rejected in add, allowed in update and upsert") {
        const record_set r = with_metadata(metadata_map{{"gone", nullptr}});
        CHECK_THROWS_AS(validate_records(r, write_op::add), invalid_argument);
        CHECK_THROWS_WITH(validate_records(r, write_op::add), Contains("'gone'") && Contains("None"));
        CHECK_NOTHROW(validate_records(r, write_op::update));
        CHECK_NOTHROW(validate_records(r, write_op::upsert));
    }
    SECTION("reserved and malformed keys") {
        for (const char* key : {"", "#x", "$x", "#document", "chroma:document"}) {
            const record_set r = with_metadata(metadata_map{{key, 1}});
            INFO("key '" << key << "'");
            CHECK_THROWS_AS(validate_records(r, write_op::add), invalid_argument);
            CHECK_THROWS_AS(validate_records(r, write_op::upsert), invalid_argument);
            CHECK_THROWS_AS(validate_records(r, write_op::update), invalid_argument);
            CHECK_THROWS_WITH(validate_records(r, write_op::add), Contains("metadata") && Contains("key"));
        }
        CHECK_THROWS_WITH(validate_records(with_metadata(metadata_map{{"$x", 1}}), write_op::add), Contains("'$x'"));
        CHECK_THROWS_WITH(validate_records(with_metadata(metadata_map{{"chroma:document", 1}}), write_op::add),
                          Contains("chroma:document"));
    }
    SECTION("non-finite floats") {
        for (double bad : {std::nan(""), std::numeric_limits<double>::infinity()}) {
            const record_set r = with_metadata(metadata_map{{"f", bad}});
            CHECK_THROWS_AS(validate_records(r, write_op::upsert), invalid_argument);
            CHECK_THROWS_WITH(validate_records(r, write_op::upsert), Contains("'f'") && Contains("finite"));
            const record_set in_list = with_metadata(metadata_map{{"fl", metadata_value::array_float{1.0, bad}}});
            CHECK_THROWS_AS(validate_records(in_list, write_op::add), invalid_argument);
            CHECK_THROWS_WITH(validate_records(in_list, write_op::add), Contains("'fl'") && Contains("finite"));
        }
    }
    SECTION("empty lists") {
        for (const metadata_value& empty :
             {metadata_value(metadata_value::array_string{}), metadata_value(metadata_value::array_int{}),
              metadata_value(metadata_value::array_float{}), metadata_value(metadata_value::array_bool{})}) {
            const record_set r = with_metadata(metadata_map{{"list", empty}});
            CHECK_THROWS_AS(validate_records(r, write_op::add), invalid_argument);
            CHECK_THROWS_WITH(validate_records(r, write_op::update), Contains("'list'") && Contains("non-empty"));
        }
    }
    SECTION("invalid UTF-8") {
        const record_set value = with_metadata(metadata_map{{"s", "ok\xc3"}});
        CHECK_THROWS_AS(validate_records(value, write_op::add), invalid_argument);
        CHECK_THROWS_WITH(validate_records(value, write_op::add), Contains("'s'") && Contains("UTF-8"));
        const record_set key = with_metadata(metadata_map{{"k\xff", 1}});
        CHECK_THROWS_AS(validate_records(key, write_op::add), invalid_argument);
        const record_set list = with_metadata(metadata_map{{"l", metadata_value::array_string{"a", "\xe2\x82"}}});
        CHECK_THROWS_AS(validate_records(list, write_op::add), invalid_argument);
        CHECK_THROWS_WITH(validate_records(list, write_op::add), Contains("'l'") && Contains("UTF-8"));
    }
}

TEST_CASE("record metadata errors name the record's index", "[validate]") {
    // validate.hpp: messages "always name the offending field and index".
    CHECK_THROWS_WITH(validate_records(with_metadata(metadata_map{{"#x", 1}}), write_op::add), Contains("index 1"));
    CHECK_THROWS_WITH(validate_records(with_metadata(metadata_map{{"k", nullptr}}), write_op::add),
                      Contains("index 1"));
    CHECK_THROWS_WITH(validate_records(with_metadata(metadata_map{{"f", std::nan("")}}), write_op::add),
                      Contains("index 1"));
    CHECK_THROWS_WITH(validate_records(with_metadata(metadata_map{{"l", metadata_value::array_int{}}}), write_op::add),
                      Contains("index 1"));
    CHECK_THROWS_WITH(validate_records(with_metadata(metadata_map{{"s", "\xff"}}), write_op::add), Contains("index 1"));
}

TEST_CASE("documents and uris must be valid UTF-8", "[validate]") {
    record_set r = three(good_flat);
    r.documents = {"fine", std::nullopt, "bad \xc0\xaf"};
    CHECK_THROWS_AS(validate_records(r, write_op::add), invalid_argument);
    CHECK_THROWS_WITH(validate_records(r, write_op::add), Contains("document at index 2") && Contains("UTF-8"));

    r = three(good_flat);
    r.uris = {"\xed\xa0\x80", std::nullopt, "u"};  // an encoded surrogate is not valid UTF-8
    CHECK_THROWS_AS(validate_records(r, write_op::upsert), invalid_argument);
    CHECK_THROWS_WITH(validate_records(r, write_op::upsert), Contains("URI at index 0"));
}

TEST_CASE("validate_get", "[validate]") {
    get_options o;
    CHECK_NOTHROW(validate_get(o));
    o.ids = {"a", "b"};
    o.include = chromawal::include_fields::embeddings | chromawal::include_fields::uris;
    CHECK_NOTHROW(validate_get(o));

    o.include = chromawal::include_fields::documents | chromawal::include_fields::distances;
    CHECK_THROWS_AS(validate_get(o), invalid_argument);
    CHECK_THROWS_WITH(validate_get(o), Contains("distances") && Contains("get"));

    o = get_options{};
    o.ids = std::vector<std::string>{};  // an empty list is valid: it matches nothing
    CHECK_NOTHROW(validate_get(o));
    o.ids = {"a", ""};
    CHECK_THROWS_WITH(validate_get(o), Contains("index 1") && Contains("in get"));
    o.ids = {"a", "a"};
    CHECK_THROWS_WITH(validate_get(o), Contains("duplicates of: a"));
}

TEST_CASE("validate_query", "[validate]") {
    const std::vector<float> q = {0.1f, 0.2f, 0.3f, 0.4f};
    query_options o;
    o.query_embeddings = embedding_view(q, 2);
    CHECK_NOTHROW(validate_query(o));
    o.ids = {"x", "y"};
    CHECK_NOTHROW(validate_query(o));
    o.ids = std::vector<std::string>{};  // an empty list is valid: it matches nothing
    CHECK_NOTHROW(validate_query(o));

    SECTION("n_results 0") {
        o.n_results = 0;
        CHECK_THROWS_AS(validate_query(o), invalid_argument);
        CHECK_THROWS_WITH(validate_query(o), Contains("Number of requested results 0") && Contains("query"));
    }
    SECTION("no query embeddings") {
        o.query_embeddings = embedding_view();
        CHECK_THROWS_AS(validate_query(o), invalid_argument);
        CHECK_THROWS_WITH(validate_query(o), Contains("query_embeddings"));
    }
    SECTION("non-finite query embedding") {
        std::vector<float> bad = q;
        bad[2] = nan_f;
        o.query_embeddings = embedding_view(bad, 2);
        CHECK_THROWS_AS(validate_query(o), invalid_argument);
        CHECK_THROWS_WITH(validate_query(o), Contains("finite"));
    }
    SECTION("not a multiple of the dimension") {
        const std::vector<float> odd = {1.f, 2.f, 3.f};
        o.query_embeddings = embedding_view(odd, 2);
        CHECK_THROWS_AS(validate_query(o), invalid_argument);
        CHECK_THROWS_WITH(validate_query(o), Contains("multiple of the dimension 2"));
    }
    SECTION("dimension 0") {
        o.query_embeddings = embedding_view(q.data(), 2, 0);
        CHECK_THROWS_AS(validate_query(o), invalid_argument);
    }
    SECTION("bad ids") {
        o.ids = {"x", "x"};
        CHECK_THROWS_WITH(validate_query(o), Contains("duplicates of: x") && Contains("query"));
        o.ids = {""};
        CHECK_THROWS_AS(validate_query(o), invalid_argument);
    }
}

TEST_CASE("validate_delete", "[validate]") {
    delete_options o;
    CHECK_THROWS_AS(validate_delete(o), invalid_argument);
    CHECK_THROWS_WITH(validate_delete(o), Contains("ids, where, or where_document"));

    o.ids = {"a"};
    CHECK_NOTHROW(validate_delete(o));
    o.limit = 5;
    CHECK_THROWS_AS(validate_delete(o), invalid_argument);
    CHECK_THROWS_WITH(validate_delete(o), Contains("limit can only be specified"));

    o = delete_options{};
    o.where = chromawal::where_filter::eq("k", 1);
    CHECK_NOTHROW(validate_delete(o));
    o.limit = 0;
    CHECK_NOTHROW(validate_delete(o));

    o = delete_options{};
    o.where_document = chromawal::document_filter::contains("x");
    o.limit = 3;
    CHECK_NOTHROW(validate_delete(o));

    o = delete_options{};
    o.ids = {"a", ""};
    CHECK_THROWS_WITH(validate_delete(o), Contains("index 1") && Contains("delete"));
}

TEST_CASE("validate_collection_metadata", "[validate]") {
    CHECK_NOTHROW(validate_collection_metadata(metadata_map{{"a", 1}, {"b", 2.5}, {"c", "x"}, {"d", false}}, "create"));
    CHECK_THROWS_AS(validate_collection_metadata(metadata_map{}, "create"), invalid_argument);
    CHECK_THROWS_WITH(validate_collection_metadata(metadata_map{}, "create"),
                      Contains("non-empty") && Contains("create"));
    CHECK_THROWS_WITH(validate_collection_metadata(metadata_map{{"n", nullptr}}, "modify"),
                      Contains("'n'") && Contains("modify"));
    CHECK_THROWS_WITH(validate_collection_metadata(metadata_map{{"l", metadata_value::array_int{1}}}, "create"),
                      Contains("'l'") && Contains("list"));
    CHECK_THROWS_AS(validate_collection_metadata(metadata_map{{"f", std::nan("")}}, "create"), invalid_argument);
    CHECK_THROWS_AS(validate_collection_metadata(metadata_map{{"", 1}}, "create"), invalid_argument);
    CHECK_THROWS_AS(validate_collection_metadata(metadata_map{{"$x", 1}}, "create"), invalid_argument);
    CHECK_THROWS_AS(validate_collection_metadata(metadata_map{{"#x", 1}}, "create"), invalid_argument);
    CHECK_THROWS_AS(validate_collection_metadata(metadata_map{{"s", "\xff"}}, "create"), invalid_argument);
}

TEST_CASE("validate_collection_name", "[validate]") {
    for (const std::string& name : {std::string("abc"), std::string("A1b"), std::string("my-coll.v2_x"),
                                    std::string("0.0"), std::string("a--b"), std::string(512, 'n')}) {
        INFO("name '" << name << "'");
        CHECK_NOTHROW(validate_collection_name(name));
    }
    for (const std::string& name :
         {std::string(""), std::string("a"), std::string("ab"), std::string("-abc"), std::string("abc-"),
          std::string("_abc"), std::string("abc."), std::string(".abc"), std::string("a b"), std::string("abc/d"),
          std::string("ab\xc3\xa9"), std::string("\xc3\xa9xy"), std::string(513, 'n')}) {
        INFO("name '" << name << "'");
        CHECK_THROWS_AS(validate_collection_name(name), invalid_argument);
    }
    CHECK_THROWS_WITH(validate_collection_name("ab"), Contains("3-512 characters") && Contains("Got: ab"));
}

TEST_CASE("validate_name", "[validate]") {
    CHECK_NOTHROW(validate_name("default_tenant", "tenant"));
    CHECK_THROWS_AS(validate_name("", "tenant"), invalid_argument);
    CHECK_THROWS_WITH(validate_name("", "database"), Contains("database"));
    CHECK_THROWS_AS(validate_name("\xff", "tenant"), invalid_argument);
}
