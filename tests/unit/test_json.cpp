// Unit tests of the JSON text writer and of base64 (lib/json).

#include <catch2/catch.hpp>

#include "json/base64.hpp"
#include "json/writer.hpp"

#include <simdjson.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace json = chromawal::json;

namespace {

template <typename F>
std::string write(F&& f) {
    std::string out;
    json::writer w(out);
    f(w);
    return out;
}

std::string escaped(std::string_view s) {
    std::string out;
    json::append_escaped(out, s);
    return out;
}

bool valid_json(const std::string& text) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    return parser.parse(text).get(root) == simdjson::SUCCESS;
}

std::string b64(std::string_view s) {
    std::string out;
    json::append_base64(out, reinterpret_cast<const unsigned char*>(s.data()), s.size());
    return out;
}

std::string decoded(std::string_view text) {
    std::vector<unsigned char> bytes;
    REQUIRE(json::decode_base64(text, bytes));
    return std::string(bytes.begin(), bytes.end());
}

}  // namespace

TEST_CASE("append_escaped escapes quotes, backslashes and control characters", "[json][writer]") {
    CHECK(escaped("plain text") == "plain text");
    CHECK(escaped("") == "");
    CHECK(escaped("say \"hi\"") == "say \\\"hi\\\"");
    CHECK(escaped("a\\b") == "a\\\\b");
    CHECK(escaped("\n\r\t\b\f") == "\\n\\r\\t\\b\\f");
    CHECK(escaped(std::string_view("\0", 1)) == "\\u0000");
    CHECK(escaped("\x01\x1f") == "\\u0001\\u001f");
    CHECK(escaped("\x0b") == "\\u000b");
    CHECK(escaped("x\x1ey") == "x\\u001ey");
    // '/' and DEL need no escape.
    CHECK(escaped("a/b\x7f") == "a/b\x7f");
}

TEST_CASE("append_escaped passes UTF-8 through unchanged", "[json][writer]") {
    const std::string utf8 = "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80";  // café 日本 😀
    CHECK(escaped(utf8) == utf8);
    const std::string mixed = "\xc3\xa9\"\n\xf0\x9f\x98\x80";
    CHECK(escaped(mixed) == "\xc3\xa9\\\"\\n\xf0\x9f\x98\x80");
}

TEST_CASE("append_escaped appends to what is already there", "[json][writer]") {
    std::string out = "prefix:";
    json::append_escaped(out, "a\"b");
    CHECK(out == "prefix:a\\\"b");
}

TEST_CASE("escaped strings parse back to the original text", "[json][writer]") {
    std::string all;
    for (int c = 1; c < 0x80; ++c) all.push_back(static_cast<char>(c));
    all += "\xc3\xa9\xf0\x9f\x98\x80";
    const std::string text = write([&](json::writer& w) { w.string(all); });
    simdjson::dom::parser parser;
    std::string_view back;
    REQUIRE(parser.parse(text).get_string().get(back) == simdjson::SUCCESS);
    CHECK(back == all);
}

TEST_CASE("writer strings and keys are quoted and escaped", "[json][writer]") {
    CHECK(write([](json::writer& w) { w.string("a\"b"); }) == "\"a\\\"b\"");
    CHECK(write([](json::writer& w) { w.begin_object().key("k\ney").string("v").end_object(); }) ==
          "{\"k\\ney\":\"v\"}");
    CHECK(write([](json::writer& w) { w.string(""); }) == "\"\"");
}

TEST_CASE("writer integers", "[json][writer]") {
    CHECK(write([](json::writer& w) { w.integer(0); }) == "0");
    CHECK(write([](json::writer& w) { w.integer(-42); }) == "-42");
    CHECK(write([](json::writer& w) { w.integer(std::numeric_limits<std::int64_t>::max()); }) == "9223372036854775807");
    CHECK(write([](json::writer& w) { w.integer(std::numeric_limits<std::int64_t>::min()); }) ==
          "-9223372036854775808");
    CHECK(write([](json::writer& w) { w.unsigned_integer(std::numeric_limits<std::uint64_t>::max()); }) ==
          "18446744073709551615");
    CHECK(write([](json::writer& w) { w.unsigned_integer(7); }) == "7");
}

TEST_CASE("writer booleans and null", "[json][writer]") {
    CHECK(write([](json::writer& w) { w.boolean(true); }) == "true");
    CHECK(write([](json::writer& w) { w.boolean(false); }) == "false");
    CHECK(write([](json::writer& w) { w.null(); }) == "null");
}

TEST_CASE("writer floating keeps floats floats", "[json][writer]") {
    CHECK(write([](json::writer& w) { w.floating(1.0); }) == "1.0");
    CHECK(write([](json::writer& w) { w.floating(0.0); }) == "0.0");
    CHECK(write([](json::writer& w) { w.floating(-0.0); }) == "-0.0");
    CHECK(write([](json::writer& w) { w.floating(-3.0); }) == "-3.0");
    CHECK(write([](json::writer& w) { w.floating(100.0); }) == "100.0");
    CHECK(write([](json::writer& w) { w.floating(0.5); }) == "0.5");
    CHECK(write([](json::writer& w) { w.floating(0.1); }) == "0.1");
    // Exponent forms are floats for every JSON reader already; no ".0" glued after the exponent.
    const std::string big = write([](json::writer& w) { w.floating(1e300); });
    CHECK(big.find('e') != std::string::npos);
    CHECK(big.find(".0") == std::string::npos);
    CHECK(valid_json(big));
}

TEST_CASE("writer floating round-trips doubles exactly", "[json][writer]") {
    const double values[] = {0.1,
                             1.0,
                             -0.0,
                             1e300,
                             -1e300,
                             5e-324,
                             2.2250738585072014e-308,
                             1.7976931348623157e308,
                             1.0 / 3.0,
                             123456789.125,
                             9007199254740993.0,
                             1e16,
                             1e21,
                             123456789012345678901.0,
                             -2.5e-7};
    for (double v : values) {
        const std::string text = write([v](json::writer& w) { w.floating(v); });
        INFO("value " << v << " written as " << text);
        CHECK(valid_json(text));
        char* end = nullptr;
        const double back = std::strtod(text.c_str(), &end);
        CHECK(end == text.c_str() + text.size());
        CHECK(std::memcmp(&back, &v, sizeof v) == 0);  // exact, including the sign of zero
        // It must read as a float, not an integer: a '.' or an exponent.
        CHECK(text.find_first_of(".eE") != std::string::npos);
    }
}

TEST_CASE("writer float32 writes the shortest round-trip text", "[json][writer]") {
    CHECK(write([](json::writer& w) { w.float32(0.1f); }) == "0.1");
    CHECK(write([](json::writer& w) { w.float32(0.5f); }) == "0.5");
    CHECK(write([](json::writer& w) { w.float32(0.020000005f); }) == "0.020000005");
    CHECK(write([](json::writer& w) { w.float32(1.6199999f); }) == "1.6199999");
    CHECK(write([](json::writer& w) { w.float32(-2.0f); }) == "-2");

    std::mt19937 rng(12345);
    std::uniform_real_distribution<float> dist(-1000.0f, 1000.0f);
    std::vector<float> values = {std::numeric_limits<float>::max(),
                                 std::numeric_limits<float>::min(),
                                 std::numeric_limits<float>::denorm_min(),
                                 -0.0f,
                                 1e-30f,
                                 3.4e38f};
    for (int i = 0; i < 200; ++i) values.push_back(dist(rng));
    for (float v : values) {
        const std::string text = write([v](json::writer& w) { w.float32(v); });
        INFO("value " << v << " written as " << text);
        char* end = nullptr;
        const float back = std::strtof(text.c_str(), &end);
        CHECK(end == text.c_str() + text.size());
        CHECK(std::memcmp(&back, &v, sizeof v) == 0);
        // Shortest: never more than 9 significant digits (plus sign, point, exponent).
        CHECK(text.size() <= 15);
    }
}

TEST_CASE("writer float_array round-trips float32 values", "[json][writer]") {
    const std::vector<float> v = {0.1f, -1.5f, 3.0f, 1e-7f, 0.020000005f};
    const std::string text = write([&](json::writer& w) { w.float_array(v.data(), v.size()); });
    CHECK(text == "[0.1,-1.5,3,1e-07,0.020000005]");
    CHECK(valid_json(text));
    CHECK(write([](json::writer& w) { w.float_array(nullptr, 0); }) == "[]");
}

TEST_CASE("writer puts commas between array elements and object members", "[json][writer]") {
    CHECK(write([](json::writer& w) { w.begin_array().end_array(); }) == "[]");
    CHECK(write([](json::writer& w) { w.begin_object().end_object(); }) == "{}");
    CHECK(write([](json::writer& w) { w.begin_array().integer(1).integer(2).integer(3).end_array(); }) == "[1,2,3]");
    CHECK(write([](json::writer& w) {
              w.begin_array().string("a").null().boolean(true).floating(2.0).raw("{\"x\":1}").end_array();
          }) == "[\"a\",null,true,2.0,{\"x\":1}]");
    CHECK(write([](json::writer& w) {
              w.begin_object().key("a").integer(1).key("b").string("x").key("c").null().end_object();
          }) == "{\"a\":1,\"b\":\"x\",\"c\":null}");
}

TEST_CASE("writer nests arrays and objects", "[json][writer]") {
    const std::string text = write([](json::writer& w) {
        w.begin_object();
        w.key("ids").begin_array().string("a").string("b").end_array();
        w.key("nested").begin_object().key("empty").begin_array().end_array().key("obj").begin_object().end_object();
        w.key("deep").begin_array().begin_array().integer(1).end_array().begin_array().end_array().end_array();
        w.end_object();
        w.key("after").boolean(false);
        w.key("list").begin_array().begin_object().key("k").integer(1).end_object().begin_object().end_object();
        w.end_array();
        w.end_object();
    });
    CHECK(text ==
          "{\"ids\":[\"a\",\"b\"],\"nested\":{\"empty\":[],\"obj\":{},\"deep\":[[1],[]]},\"after\":false,"
          "\"list\":[{\"k\":1},{}]}");
    CHECK(valid_json(text));
}

TEST_CASE("writer appends to the existing buffer and exposes it", "[json][writer]") {
    std::string out = "X";
    json::writer w(out);
    w.begin_array().integer(1).end_array();
    CHECK(&w.buffer() == &out);
    CHECK(out == "X[1]");
}

TEST_CASE("base64 of the RFC 4648 test vectors", "[json][base64]") {
    CHECK(b64("") == "");
    CHECK(b64("f") == "Zg==");
    CHECK(b64("fo") == "Zm8=");
    CHECK(b64("foo") == "Zm9v");
    CHECK(b64("foob") == "Zm9vYg==");
    CHECK(b64("fooba") == "Zm9vYmE=");
    CHECK(b64("foobar") == "Zm9vYmFy");

    CHECK(decoded("") == "");
    CHECK(decoded("Zg==") == "f");
    CHECK(decoded("Zm8=") == "fo");
    CHECK(decoded("Zm9v") == "foo");
    CHECK(decoded("Zm9vYg==") == "foob");
    CHECK(decoded("Zm9vYmE=") == "fooba");
    CHECK(decoded("Zm9vYmFy") == "foobar");
}

TEST_CASE("base64 uses the standard alphabet, all 64 characters", "[json][base64]") {
    std::string bytes;
    for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
    const std::string text = b64(bytes);
    CHECK(text.size() == 344);
    CHECK(text.substr(0, 4) == "AAEC");
    CHECK(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") ==
          std::string::npos);
    CHECK(b64("\xfb\xff") == "+/8=");
    CHECK(decoded(text) == bytes);
}

TEST_CASE("base64 of every length agrees with a character-at-a-time encoding", "[json][base64]") {
    // The encoder takes six bytes at a time while eight remain, then three, then the tail: each
    // length up to 64 crosses those boundaries differently.
    const auto reference = [](const std::string& in) {
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        std::string out;
        std::size_t i = 0;
        for (; i + 3 <= in.size(); i += 3) {
            const unsigned v = (unsigned(static_cast<unsigned char>(in[i])) << 16) |
                               (unsigned(static_cast<unsigned char>(in[i + 1])) << 8) |
                               unsigned(static_cast<unsigned char>(in[i + 2]));
            for (int k = 3; k >= 0; --k) out.push_back(alphabet[(v >> (6 * k)) & 63]);
        }
        if (in.size() - i == 1) {
            const unsigned v = unsigned(static_cast<unsigned char>(in[i])) << 16;
            out += {alphabet[v >> 18], alphabet[(v >> 12) & 63], '=', '='};
        } else if (in.size() - i == 2) {
            const unsigned v = (unsigned(static_cast<unsigned char>(in[i])) << 16) |
                               (unsigned(static_cast<unsigned char>(in[i + 1])) << 8);
            out += {alphabet[v >> 18], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63], '='};
        }
        return out;
    };
    std::mt19937 rng(7);
    for (std::size_t n = 0; n <= 64; ++n) {
        for (int trial = 0; trial < 8; ++trial) {
            std::string bytes(n, '\0');
            for (auto& c : bytes) c = static_cast<char>(rng() & 0xFF);
            INFO("length " << n);
            const std::string text = b64(bytes);
            CHECK(text == reference(bytes));
            CHECK(decoded(text) == bytes);
        }
    }
}

TEST_CASE("base64 appends to the existing text", "[json][base64]") {
    std::string out = "\"";
    const unsigned char bytes[] = {'f', 'o', 'o'};
    json::append_base64(out, bytes, 3);
    CHECK(out == "\"Zm9v");
}

TEST_CASE("base64 floats are little-endian float32 bytes", "[json][base64]") {
    const float one = 1.0f;  // 0x3f800000 -> bytes 00 00 80 3f
    std::string out;
    json::append_base64_floats(out, &one, 1);
    CHECK(out == "AACAPw==");

    const std::string text = write([](json::writer& w) {
        const float v[] = {1.0f, 2.0f};
        w.begin_array().base64_floats(v, 2).base64_floats(v, 1).end_array();
    });
    CHECK(text == "[\"AACAPwAAAEA=\",\"AACAPw==\"]");
}

TEST_CASE("base64 floats round-trip through decode_base64", "[json][base64]") {
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7},
                          std::size_t{128}, std::size_t{384}, std::size_t{1536}}) {
        std::vector<float> v(n);
        for (auto& x : v) x = dist(rng);
        if (n > 2) {
            v[0] = -0.0f;
            v[1] = std::numeric_limits<float>::denorm_min();
        }
        std::string text;
        json::append_base64_floats(text, v.data(), v.size());
        INFO("n = " << n);
        CHECK(text.size() == (n * 4 + 2) / 3 * 4);
        std::vector<unsigned char> bytes;
        REQUIRE(json::decode_base64(text, bytes));
        REQUIRE(bytes.size() == n * sizeof(float));
        std::vector<float> back(n);
        if (n) std::memcpy(back.data(), bytes.data(), bytes.size());
        CHECK((n == 0 || std::memcmp(back.data(), v.data(), n * sizeof(float)) == 0));
    }
}

TEST_CASE("decode_base64 rejects bad characters and bad padding", "[json][base64]") {
    std::vector<unsigned char> out;
    CHECK_FALSE(json::decode_base64("Zm9", out));    // length not a multiple of 4
    CHECK_FALSE(json::decode_base64("Zm9vY", out));  // length not a multiple of 4
    CHECK_FALSE(json::decode_base64("Zm9!", out));   // character outside the alphabet
    CHECK_FALSE(json::decode_base64("Zm9-", out));   // URL-safe alphabet is not accepted
    CHECK_FALSE(json::decode_base64("Zm9_", out));
    CHECK_FALSE(json::decode_base64("Zm 9", out));       // whitespace
    CHECK_FALSE(json::decode_base64("Zm9v\nYg=", out));  // newline
    CHECK_FALSE(json::decode_base64("Z===", out));       // padding too early in the group
    CHECK_FALSE(json::decode_base64("====", out));
    CHECK_FALSE(json::decode_base64("Zg=A", out));      // data after padding
    CHECK_FALSE(json::decode_base64("Zg==Zm9v", out));  // padding before the last group
    CHECK_FALSE(json::decode_base64(std::string_view("Zm9\0", 4), out));
    CHECK_FALSE(json::decode_base64("Zm9\xc3", out));

    // A failed decode followed by a good one leaves only the good bytes.
    CHECK(json::decode_base64("Zm9v", out));
    CHECK(out == std::vector<unsigned char>{'f', 'o', 'o'});
}
