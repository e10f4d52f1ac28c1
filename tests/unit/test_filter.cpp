// Unit tests of the where / where_document builders (include/chromawal/filter.hpp).

#include <catch2/catch.hpp>

#include <chromawal/error.hpp>
#include <chromawal/filter.hpp>

#include <simdjson.h>

#include <cmath>
#include <limits>
#include <string>

using Catch::Matchers::Contains;
using chromawal::document_filter;
using chromawal::invalid_argument;
using chromawal::metadata_value;
using chromawal::where_filter;

namespace {

bool valid_json(const std::string& text) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    return parser.parse(text).get(root) == simdjson::SUCCESS;
}

}  // namespace

TEST_CASE("default filters are empty", "[filter]") {
    CHECK(where_filter().empty());
    CHECK(where_filter().json().empty());
    CHECK(document_filter().empty());
    CHECK(document_filter().json().empty());
    CHECK_FALSE(where_filter::eq("a", 1).empty());
}

TEST_CASE("where comparison builders produce Chroma's JSON", "[filter]") {
    CHECK(where_filter::eq("source", "wiki").json() == R"({"source":{"$eq":"wiki"}})");
    CHECK(where_filter::ne("source", "wiki").json() == R"({"source":{"$ne":"wiki"}})");
    CHECK(where_filter::eq("flag", true).json() == R"({"flag":{"$eq":true}})");
    CHECK(where_filter::ne("flag", false).json() == R"({"flag":{"$ne":false}})");
    CHECK(where_filter::gt("year", 2020).json() == R"({"year":{"$gt":2020}})");
    CHECK(where_filter::gte("year", 2020).json() == R"({"year":{"$gte":2020}})");
    CHECK(where_filter::lt("score", 0.5).json() == R"({"score":{"$lt":0.5}})");
    CHECK(where_filter::lte("score", -1.25).json() == R"({"score":{"$lte":-1.25}})");
    CHECK(where_filter::eq("n", std::int64_t{-9223372036854775807 - 1}).json() ==
          R"({"n":{"$eq":-9223372036854775808}})");
    for (const auto& w : {where_filter::eq("a", 1), where_filter::gt("b", 2.5), where_filter::eq("c", "x")})
        CHECK(valid_json(w.json()));
}

TEST_CASE("where keeps int and float operands apart", "[filter]") {
    CHECK(where_filter::eq("x", 1).json() == R"({"x":{"$eq":1}})");
    CHECK(where_filter::eq("x", 1.0).json() == R"({"x":{"$eq":1.0}})");
    CHECK(where_filter::gt("x", 2.0f).json() == R"({"x":{"$gt":2.0}})");
    CHECK(where_filter::lte("x", 0.0).json() == R"({"x":{"$lte":0.0}})");
    CHECK_FALSE(where_filter::eq("x", 1) == where_filter::eq("x", 1.0));
}

TEST_CASE("where escapes keys and string operands", "[filter]") {
    CHECK(where_filter::eq("we\"ird", "a\\b\n").json() == R"({"we\"ird":{"$eq":"a\\b\n"}})");
    CHECK(where_filter::eq("caf\xc3\xa9", "\xe6\x97\xa5").json() == "{\"caf\xc3\xa9\":{\"$eq\":\"\xe6\x97\xa5\"}}");
    CHECK(where_filter::eq("k", "").json() == R"({"k":{"$eq":""}})");
}

TEST_CASE("where membership builders take non-empty lists", "[filter]") {
    CHECK(where_filter::in("tag", metadata_value::array_string{"a", "b"}).json() == R"({"tag":{"$in":["a","b"]}})");
    CHECK(where_filter::nin("tag", metadata_value::array_string{"a"}).json() == R"({"tag":{"$nin":["a"]}})");
    CHECK(where_filter::in("n", metadata_value::array_int{1, 2, 3}).json() == R"({"n":{"$in":[1,2,3]}})");
    CHECK(where_filter::in("f", metadata_value::array_float{1.0, 2.5}).json() == R"({"f":{"$in":[1.0,2.5]}})");
    CHECK(where_filter::nin("b", metadata_value::array_bool{true, false}).json() == R"({"b":{"$nin":[true,false]}})");
}

TEST_CASE("where contains builders match array metadata", "[filter]") {
    CHECK(where_filter::contains("tags", "red").json() == R"({"tags":{"$contains":"red"}})");
    CHECK(where_filter::not_contains("tags", "red").json() == R"({"tags":{"$not_contains":"red"}})");
    CHECK(where_filter::contains("nums", 3).json() == R"({"nums":{"$contains":3}})");
    CHECK(where_filter::contains("fl", 1.0).json() == R"({"fl":{"$contains":1.0}})");
    CHECK(where_filter::not_contains("bs", true).json() == R"({"bs":{"$not_contains":true}})");
}

TEST_CASE("where document_contains uses the #document key", "[filter]") {
    CHECK(where_filter::document_contains("chroma").json() == R"({"#document":{"$contains":"chroma"}})");
    CHECK(where_filter::document_not_contains("a \"q\"").json() == R"({"#document":{"$not_contains":"a \"q\""}})");
    CHECK_THROWS_AS(where_filter::document_contains(""), invalid_argument);
    CHECK_THROWS_AS(where_filter::document_not_contains(""), invalid_argument);
    CHECK_THROWS_WITH(where_filter::document_contains(""), Contains("non-empty"));
}

TEST_CASE("where combinations", "[filter]") {
    const where_filter a = where_filter::eq("a", 1);
    const where_filter b = where_filter::gt("b", 2.5);
    const where_filter c = where_filter::eq("c", "x");

    CHECK((a && b).json() == R"({"$and":[{"a":{"$eq":1}},{"b":{"$gt":2.5}}]})");
    CHECK((a || b).json() == R"({"$or":[{"a":{"$eq":1}},{"b":{"$gt":2.5}}]})");
    CHECK(where_filter::all_of({a, b, c}).json() ==
          R"({"$and":[{"a":{"$eq":1}},{"b":{"$gt":2.5}},{"c":{"$eq":"x"}}]})");
    CHECK(where_filter::any_of({a, b, c}).json() == R"({"$or":[{"a":{"$eq":1}},{"b":{"$gt":2.5}},{"c":{"$eq":"x"}}]})");
    CHECK(((a && b) || c).json() == R"({"$or":[{"$and":[{"a":{"$eq":1}},{"b":{"$gt":2.5}}]},{"c":{"$eq":"x"}}]})");
    CHECK(valid_json(((a && b) || c).json()));

    SECTION("a single clause is returned as is") {
        CHECK(where_filter::all_of({a}) == a);
        CHECK(where_filter::any_of({b}) == b);
    }
    SECTION("empty clauses are ignored") {
        CHECK(where_filter::all_of({where_filter(), a, where_filter()}) == a);
        CHECK((a && where_filter()) == a);
        CHECK((where_filter() || b) == b);
        CHECK(where_filter::any_of({a, where_filter(), b}) == (a || b));
    }
    SECTION("no clause left is an error") {
        CHECK_THROWS_AS(where_filter::all_of({}), invalid_argument);
        CHECK_THROWS_AS(where_filter::any_of({where_filter(), where_filter()}), invalid_argument);
        CHECK_THROWS_AS(where_filter() && where_filter(), invalid_argument);
        CHECK_THROWS_WITH(where_filter::all_of({}), Contains("$and"));
        CHECK_THROWS_WITH(where_filter::any_of({}), Contains("$or"));
    }
}

TEST_CASE("where_filter::raw accepts a one-key JSON object, compacted", "[filter]") {
    CHECK(where_filter::raw(R"({"age": {"$gt": 3}})").json() == R"({"age":{"$gt":3}})");
    CHECK(where_filter::raw(" {\n\t\"$and\" : [ {\"a\" : 1} , {\"b\" : {\"$in\" : [ \"x y\" ]}} ] }\n").json() ==
          R"({"$and":[{"a":1},{"b":{"$in":["x y"]}}]})");
    // A float operand stays a float, and string content (spaces included) is kept.
    CHECK(where_filter::raw(R"({"x": {"$eq": 1.0}})").json() == R"({"x":{"$eq":1.0}})");
    CHECK(where_filter::raw(R"({"x": {"$eq": "a  b"}})").json() == R"({"x":{"$eq":"a  b"}})");
    CHECK(where_filter::raw(R"({"a":{"$eq":1}})") == where_filter::eq("a", 1));
}

TEST_CASE("where_filter::raw rejects anything but a one-key object", "[filter]") {
    CHECK_THROWS_AS(where_filter::raw("[1, 2]"), invalid_argument);
    CHECK_THROWS_WITH(where_filter::raw("[1, 2]"), Contains("not a JSON object"));
    CHECK_THROWS_WITH(where_filter::raw("\"text\""), Contains("not a JSON object"));
    CHECK_THROWS_AS(where_filter::raw(R"({"a": 1, "b": 2})"), invalid_argument);
    CHECK_THROWS_WITH(where_filter::raw(R"({"a": 1, "b": 2})"), Contains("got 2"));
    CHECK_THROWS_WITH(where_filter::raw("{}"), Contains("got 0"));
    CHECK_THROWS_AS(where_filter::raw(R"({"a": )"), invalid_argument);
    CHECK_THROWS_WITH(where_filter::raw(R"({"a": )"), Contains("not valid JSON"));
    CHECK_THROWS_WITH(where_filter::raw(""), Contains("not valid JSON"));
    CHECK_THROWS_WITH(where_filter::raw("{'a': 1}"), Contains("not valid JSON"));
    CHECK_THROWS_WITH(where_filter::raw(R"({"a": 1} x)"), Contains("not valid JSON"));
    // Every message says which filter it is about.
    CHECK_THROWS_WITH(where_filter::raw("[]"), Contains("where"));
}

TEST_CASE("where rejects invalid operands", "[filter]") {
    SECTION("order operators take numbers only") {
        CHECK_THROWS_AS(where_filter::gt("x", "abc"), invalid_argument);
        CHECK_THROWS_AS(where_filter::gte("x", true), invalid_argument);
        CHECK_THROWS_AS(where_filter::lt("x", "1"), invalid_argument);
        CHECK_THROWS_AS(where_filter::lte("x", false), invalid_argument);
        CHECK_THROWS_WITH(where_filter::gt("x", "abc"), Contains("$gt") && Contains("'x'") && Contains("int or float"));
    }
    SECTION("membership operators take a non-empty list") {
        CHECK_THROWS_AS(where_filter::in("x", 1), invalid_argument);
        CHECK_THROWS_AS(where_filter::nin("x", "a"), invalid_argument);
        CHECK_THROWS_AS(where_filter::in("x", metadata_value::array_string{}), invalid_argument);
        CHECK_THROWS_AS(where_filter::nin("x", metadata_value::array_int{}), invalid_argument);
        CHECK_THROWS_AS(where_filter::in("x", nullptr), invalid_argument);
        CHECK_THROWS_WITH(where_filter::in("x", 1), Contains("$in") && Contains("list"));
        CHECK_THROWS_WITH(where_filter::in("x", metadata_value::array_string{}), Contains("non-empty"));
    }
    SECTION("scalar operators reject null and lists") {
        CHECK_THROWS_AS(where_filter::eq("x", nullptr), invalid_argument);
        CHECK_THROWS_AS(where_filter::ne("x", metadata_value()), invalid_argument);
        CHECK_THROWS_AS(where_filter::eq("x", metadata_value::array_int{1}), invalid_argument);
        CHECK_THROWS_AS(where_filter::contains("x", metadata_value::array_string{"a"}), invalid_argument);
        CHECK_THROWS_AS(where_filter::not_contains("x", nullptr), invalid_argument);
        CHECK_THROWS_WITH(where_filter::eq("x", nullptr), Contains("None"));
        CHECK_THROWS_WITH(where_filter::eq("x", metadata_value::array_int{1}), Contains("list"));
    }
    SECTION("non-finite numbers") {
        CHECK_THROWS_AS(where_filter::eq("x", std::nan("")), invalid_argument);
        CHECK_THROWS_AS(where_filter::gt("x", std::numeric_limits<double>::infinity()), invalid_argument);
        CHECK_THROWS_WITH(where_filter::lt("x", -std::numeric_limits<double>::infinity()), Contains("finite"));
    }
    SECTION("non-finite numbers inside a membership list") {
        // Written as is they would make the filter invalid JSON ([nan]).
        CHECK_THROWS_AS(where_filter::in("x", metadata_value::array_float{1.0, std::nan("")}), invalid_argument);
        CHECK_THROWS_AS(where_filter::nin("x", metadata_value::array_float{std::numeric_limits<double>::infinity()}),
                        invalid_argument);
    }
    SECTION("invalid UTF-8") {
        CHECK_THROWS_AS(where_filter::eq("x", "\xff"), invalid_argument);
        CHECK_THROWS_AS(where_filter::eq("\xc3", 1), invalid_argument);
        CHECK_THROWS_AS(where_filter::in("x", metadata_value::array_string{"ok", "\xff"}), invalid_argument);
        CHECK_THROWS_AS(where_filter::document_contains("\xc3("), invalid_argument);
    }
}

TEST_CASE("where rejects empty and operator-like keys", "[filter]") {
    CHECK_THROWS_AS(where_filter::eq("", 1), invalid_argument);
    CHECK_THROWS_AS(where_filter::in("", metadata_value::array_int{1}), invalid_argument);
    CHECK_THROWS_AS(where_filter::contains("", "a"), invalid_argument);
    CHECK_THROWS_WITH(where_filter::eq("", 1), Contains("non-empty"));
    CHECK_THROWS_AS(where_filter::eq("$and", 1), invalid_argument);
    CHECK_THROWS_AS(where_filter::gt("$x", 1), invalid_argument);
    CHECK_THROWS_AS(where_filter::nin("$x", metadata_value::array_int{1}), invalid_argument);
    CHECK_THROWS_WITH(where_filter::eq("$and", 1), Contains("'$and'"));
}

TEST_CASE("where_document builders produce Chroma's JSON", "[filter]") {
    CHECK(document_filter::contains("chroma").json() == R"({"$contains":"chroma"})");
    CHECK(document_filter::not_contains("chroma").json() == R"({"$not_contains":"chroma"})");
    CHECK(document_filter::regex("^db[0-9]+\\s").json() == R"({"$regex":"^db[0-9]+\\s"})");
    CHECK(document_filter::not_regex("x|y").json() == R"({"$not_regex":"x|y"})");
    CHECK(document_filter::contains("caf\xc3\xa9 \"q\"").json() == "{\"$contains\":\"caf\xc3\xa9 \\\"q\\\"\"}");
}

TEST_CASE("where_document combinations", "[filter]") {
    const auto a = document_filter::contains("a");
    const auto b = document_filter::regex("^b");
    CHECK((a && b).json() == R"({"$and":[{"$contains":"a"},{"$regex":"^b"}]})");
    CHECK((a || b).json() == R"({"$or":[{"$contains":"a"},{"$regex":"^b"}]})");
    CHECK(document_filter::all_of({a, b, a}).json() ==
          R"({"$and":[{"$contains":"a"},{"$regex":"^b"},{"$contains":"a"}]})");
    CHECK(document_filter::any_of({a}) == a);
    CHECK(document_filter::all_of({document_filter(), b}) == b);
    CHECK_THROWS_AS(document_filter::all_of({}), invalid_argument);
    CHECK_THROWS_AS(document_filter::any_of({document_filter()}), invalid_argument);
    CHECK_THROWS_WITH(document_filter::any_of({}), Contains("where_document"));
}

TEST_CASE("where_document rejects empty text", "[filter]") {
    CHECK_THROWS_AS(document_filter::contains(""), invalid_argument);
    CHECK_THROWS_AS(document_filter::not_contains(""), invalid_argument);
    CHECK_THROWS_AS(document_filter::regex(""), invalid_argument);
    CHECK_THROWS_AS(document_filter::not_regex(""), invalid_argument);
    CHECK_THROWS_WITH(document_filter::contains(""), Contains("$contains") && Contains("non-empty"));
    CHECK_THROWS_WITH(document_filter::regex(""), Contains("$regex"));
}

TEST_CASE("document_filter::raw", "[filter]") {
    CHECK(document_filter::raw(R"( { "$contains" : "a b" } )").json() == R"({"$contains":"a b"})");
    CHECK_THROWS_AS(document_filter::raw(R"({"$contains":"a","$regex":"b"})"), invalid_argument);
    CHECK_THROWS_AS(document_filter::raw("null"), invalid_argument);
    CHECK_THROWS_AS(document_filter::raw("{"), invalid_argument);
    CHECK_THROWS_WITH(document_filter::raw("[]"), Contains("where_document") && Contains("not a JSON object"));
}
