// The one redaction rule: URIs, libpq conninfo, query strings, JSON members, HTTP headers and
// known secrets are hidden; everything else is kept byte for byte.
#include <catch2/catch.hpp>
#include <chromawal/redact.hpp>

#include <string>
#include <vector>

using chromawal::redact;
using chromawal::secrets_in;

TEST_CASE("redact hides the password of a URI's user information", "[redact]") {
    CHECK(redact("postgresql://user:s3cret@db:5432/log") == "postgresql://user:***@db:5432/log");
    CHECK(redact("http://u:p%40ss@chroma-a:8000/api") == "http://u:***@chroma-a:8000/api");
    CHECK(redact("see https://u:x@h, then more") == "see https://u:***@h, then more");
    // No password, or no user information: unchanged.
    CHECK(redact("postgresql://user@db/log") == "postgresql://user@db/log");
    CHECK(redact("http://127.0.0.1:8000/api/v2") == "http://127.0.0.1:8000/api/v2");
    // Several URIs in a list.
    CHECK(redact("a=http://u:p1@h1:1,b=http://v:p2@h2:2") == "a=http://u:***@h1:1,b=http://v:***@h2:2");
}

TEST_CASE("redact hides secret keys in conninfo, queries, JSON and headers", "[redact]") {
    CHECK(redact("host=h password=x user=u") == "host=h password=*** user=u");
    CHECK(redact("host=h password = 'a b\\' c' user=u") == "host=h password = *** user=u");
    CHECK(redact("postgresql://db/log?sslmode=require&password=x&user=u") ==
          "postgresql://db/log?sslmode=require&password=***&user=u");
    CHECK(redact("PGPASSWORD=hunter2 sslpassword=k") == "PGPASSWORD=*** sslpassword=***");
    CHECK(redact(R"({"token": "abc", "name": "n"})") == R"({"token": ***, "name": "n"})");
    CHECK(redact("Authorization: Bearer abc.def") == "Authorization: Bearer ***");
    CHECK(redact("authorization=Basic dXNlcjpwYXNz") == "authorization=Basic ***");
    CHECK(redact("X-Chroma-Token: t0k3n") == "X-Chroma-Token: ***");
    CHECK(redact("x-api-key: k1, Cookie: c=1") == "x-api-key: ***, Cookie: ***");
}

TEST_CASE("redact keeps ordinary text and lines", "[redact]") {
    const std::string msg =
        "FATAL:  password authentication failed for user \"chromawal\"\nconnection to server failed: timeout";
    CHECK(redact(msg) == msg);
    CHECK(redact("") == "");
    CHECK(redact("tokens are counted, token count: 3 of 4") == "tokens are counted, token count: 3 of 4");
}

TEST_CASE("redact replaces known secrets wherever they appear", "[redact]") {
    CHECK(redact("libpq said: bad option hunter2 near x", {"hunter2"}) == "libpq said: bad option *** near x");
    CHECK(redact("abcabc", {"abc"}) == "******");
    // Shorter than 3 bytes: not replaced as a string (it would mangle text) ...
    CHECK(redact("a b c", {"a"}) == "a b c");
    // ... but still hidden where a pattern finds it.
    CHECK(redact("password=a", {"a"}) == "password=***");
    CHECK(redact("text", {""}) == "text");
}

TEST_CASE("secrets_in finds what redact hides", "[redact]") {
    CHECK(secrets_in("postgresql://user:s3cret@db/log") == std::vector<std::string>{"s3cret"});
    CHECK(secrets_in("host=h password='a b' user=u") == std::vector<std::string>{"a b"});
    CHECK(secrets_in("postgresql://u:p@db/log?password=q") == std::vector<std::string>{"p", "q"});
    CHECK(secrets_in("Authorization: Bearer abc") == std::vector<std::string>{"abc"});
    CHECK(secrets_in("http://127.0.0.1:8000").empty());
    CHECK(secrets_in("X-Request-Id: 42").empty());
}
