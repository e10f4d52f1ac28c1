// Integration tests of record operations (add, upsert, update, delete, get, query, count,
// peek) against a real Chroma server. Each test works in its own uniquely named collection
// and deletes it at the end.
#include <catch2/catch.hpp>
#include <chromawal/chromawal.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "servers.hpp"

namespace cw = chromawal;

namespace {

cw::chroma_client make_client(const std::string& url, bool base64 = true) {
    cw::connection_options o;
    o.base_url = url;
    o.use_base64 = base64;
    return cw::chroma_client(o);
}

cw::chroma_client shared_client(bool base64 = true) {
    return make_client(chromawal_test::shared_chroma().url(), base64);
}

// A collection with a unique name, deleted when the test ends (pass or fail).
class scoped_collection {
public:
    scoped_collection(cw::chroma_client client, const std::string& prefix, const cw::collection_options& o = {})
        : client_(std::move(client)), coll_(client_.create_collection(chromawal_test::unique_name(prefix), o)) {}
    ~scoped_collection() {
        try {
            client_.delete_collection(coll_.name());
        } catch (...) {
        }
    }
    scoped_collection(const scoped_collection&) = delete;
    scoped_collection& operator=(const scoped_collection&) = delete;

    cw::chroma_collection& operator*() { return coll_; }
    cw::chroma_collection* operator->() { return &coll_; }

private:
    cw::chroma_client client_;
    cw::chroma_collection coll_;
};

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

std::string rid(int i) { return "r" + std::to_string(i); }
std::string rdoc(int i) { return "doc " + std::to_string(i) + (i % 2 == 0 ? " even" : " odd"); }

// Ten records r0..r9 of dimension 2 at (i, 0), so that the squared L2 distance from the
// origin is i*i; document "doc i even|odd"; metadata {i, parity, half = i/2.0}.
void add_ten(const cw::chroma_collection& c) {
    cw::record_set r;
    std::vector<float> flat;
    for (int i = 0; i < 10; ++i) {
        r.ids.push_back(rid(i));
        flat.push_back(static_cast<float>(i));
        flat.push_back(0.0f);
        r.documents.emplace_back(rdoc(i));
        r.metadatas.emplace_back(
            cw::metadata_map{{"i", i}, {"parity", i % 2 == 0 ? "even" : "odd"}, {"half", i * 0.5}});
    }
    r.embeddings = cw::embedding_view(flat, 2);
    c.add(r);
}

// Index of `id` in a result (fails the test when absent).
std::size_t index_of(const cw::get_result& r, const std::string& id) {
    auto it = std::find(r.ids.begin(), r.ids.end(), id);
    REQUIRE(it != r.ids.end());
    return static_cast<std::size_t>(it - r.ids.begin());
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("add then get by ids, where, where_document, limit, offset and include", "[integration][records]") {
    scoped_collection c(shared_client(), "it-get");
    add_ten(*c);
    REQUIRE(c->count() == 10);

    SECTION("everything, default include") {
        const cw::get_result r = c->get();
        CHECK(r.size() == 10);
        CHECK(r.included == cw::default_get_include);
        CHECK(r.documents.size() == 10);
        CHECK(r.metadatas.size() == 10);
        CHECK(r.embeddings.empty());
        CHECK(r.uris.empty());
        for (int i = 0; i < 10; ++i) {
            const std::size_t k = index_of(r, rid(i));
            CHECK(r.documents[k] == rdoc(i));
            REQUIRE(r.metadatas[k].has_value());
            CHECK(r.metadatas[k]->at("i") == cw::metadata_value(i));
        }
    }

    SECTION("by ids: only the existing ones, each with its own fields") {
        cw::get_options o;
        o.ids = {"r7", "r2", "missing"};
        const cw::get_result r = c->get(o);
        CHECK(sorted(r.ids) == std::vector<std::string>{"r2", "r7"});
        CHECK(r.documents[index_of(r, "r7")] == rdoc(7));
        CHECK(r.documents[index_of(r, "r2")] == rdoc(2));
    }

    SECTION("where") {
        cw::get_options o;
        o.where = cw::where_filter::eq("parity", "odd");
        CHECK(sorted(c->get(o).ids) == std::vector<std::string>{"r1", "r3", "r5", "r7", "r9"});
        o.where = cw::where_filter::gte("i", 7);
        CHECK(sorted(c->get(o).ids) == std::vector<std::string>{"r7", "r8", "r9"});
        o.where = cw::where_filter::eq("parity", "even") && cw::where_filter::lt("half", 2.0);
        CHECK(sorted(c->get(o).ids) == std::vector<std::string>{"r0", "r2"});
        o.where = cw::where_filter::in("i", cw::metadata_value::array_int{1, 4, 42});
        CHECK(sorted(c->get(o).ids) == std::vector<std::string>{"r1", "r4"});
        o.where = cw::where_filter::eq("i", 3) || cw::where_filter::eq("i", 6);
        CHECK(sorted(c->get(o).ids) == std::vector<std::string>{"r3", "r6"});
        o.where = cw::where_filter::document_contains("doc 5");
        CHECK(c->get(o).ids == std::vector<std::string>{"r5"});
        o.where = cw::where_filter::document_not_contains("even") && cw::where_filter::ne("i", 3) &&
                  cw::where_filter::lte("i", 5);
        CHECK(sorted(c->get(o).ids) == std::vector<std::string>{"r1", "r5"});
        o.where = cw::where_filter::nin("parity", cw::metadata_value::array_string{"even"});
        CHECK(c->get(o).size() == 5);
        o.where = cw::where_filter::any_of(
            {cw::where_filter::eq("i", 0),
             cw::where_filter::all_of({cw::where_filter::gt("half", 4.0), cw::where_filter()})});
        CHECK(sorted(c->get(o).ids) == std::vector<std::string>{"r0", "r9"});
    }

    SECTION("where_document, and every criterion combined with AND") {
        cw::get_options o;
        o.where_document = cw::document_filter::contains("even");
        CHECK(sorted(c->get(o).ids) == std::vector<std::string>{"r0", "r2", "r4", "r6", "r8"});
        o.where_document = cw::document_filter::regex("^doc [0-3] ");
        CHECK(sorted(c->get(o).ids) == std::vector<std::string>{"r0", "r1", "r2", "r3"});
        o.where_document = cw::document_filter::not_regex("[0-7]") || cw::document_filter::contains("doc 1 ");
        CHECK(sorted(c->get(o).ids) == std::vector<std::string>{"r1", "r8", "r9"});
        o.where_document = cw::document_filter::contains("odd") && cw::document_filter::not_contains("doc 3");
        CHECK(sorted(c->get(o).ids) == std::vector<std::string>{"r1", "r5", "r7", "r9"});
        o.where_document = cw::document_filter::not_contains("odd");
        o.where = cw::where_filter::gt("i", 3);
        o.ids = {"r2", "r4", "r5", "r6"};
        CHECK(sorted(c->get(o).ids) == std::vector<std::string>{"r4", "r6"});
    }

    SECTION("limit and offset page through every record exactly once") {
        cw::get_options o;
        o.limit = 3;
        std::vector<std::string> seen;
        for (std::size_t offset = 0; offset < 12; offset += 3) {
            o.offset = offset;
            const cw::get_result page = c->get(o);
            CHECK(page.size() == (offset < 9 ? 3u : 1u));
            seen.insert(seen.end(), page.ids.begin(), page.ids.end());
        }
        std::vector<std::string> all;
        for (int i = 0; i < 10; ++i) all.push_back(rid(i));
        CHECK(sorted(seen) == sorted(all));
        o.offset = 20;
        CHECK(c->get(o).empty());
        o.limit.reset();
        o.offset = 8;  // an offset alone skips records and returns the rest
        CHECK(c->get(o).size() == 2);
        o.offset = 0;
        o.limit = 0;
        CHECK(c->get(o).empty());
    }

    SECTION("include none returns ids only; include embeddings returns the vectors") {
        cw::get_options o;
        o.include = cw::include_fields::none;
        const cw::get_result bare = c->get(o);
        CHECK(bare.size() == 10);
        CHECK(bare.documents.empty());
        CHECK(bare.metadatas.empty());
        CHECK(bare.embeddings.empty());
        CHECK(bare.included == cw::include_fields::none);

        o.ids = {"r3", "r8"};
        o.include = cw::include_fields::embeddings;
        const cw::get_result e = c->get(o);
        REQUIRE(e.size() == 2);
        CHECK(e.included == cw::include_fields::embeddings);
        CHECK(e.documents.empty());
        REQUIRE(e.embeddings.rows() == 2);
        REQUIRE(e.embeddings.dim() == 2);
        CHECK(e.embeddings.row_vector(index_of(e, "r3")) == std::vector<float>{3.0f, 0.0f});
        CHECK(e.embeddings.row_vector(index_of(e, "r8")) == std::vector<float>{8.0f, 0.0f});
    }
}

TEST_CASE("embeddings round-trip exactly as float32, base64 and JSON encodings, several dimensions",
          "[integration][records]") {
    const float tricky[] = {0.1f,
                            -1.0f / 3.0f,
                            3.14159274f,
                            1e-7f,
                            16777217.0f,
                            std::numeric_limits<float>::max(),
                            -std::numeric_limits<float>::min(),
                            123456.789f,
                            2.0f / 3.0f,
                            1e10f,
                            std::nextafter(1.0f, 2.0f),
                            0.0f,
                            -42.5f,
                            7.0f,
                            std::numeric_limits<float>::epsilon()};
    constexpr std::size_t n_tricky = sizeof tricky / sizeof tricky[0];
    for (const bool base64 : {true, false}) {
        for (const std::size_t dim : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{5}}) {
            CAPTURE(base64, dim);
            scoped_collection c(shared_client(base64), "it-f32");
            const std::size_t rows = 4;
            std::vector<float> flat;
            cw::record_set r;
            for (std::size_t i = 0; i < rows; ++i) {
                r.ids.push_back("e" + std::to_string(i));
                for (std::size_t j = 0; j < dim; ++j) flat.push_back(tricky[(i * dim + j) % n_tricky]);
            }
            r.embeddings = cw::embedding_view(flat, dim);
            c->add(r);

            cw::get_options o;
            o.include = cw::include_fields::embeddings;
            const cw::get_result got = c->get(o);
            REQUIRE(got.size() == rows);
            REQUIRE(got.embeddings.dim() == dim);
            REQUIRE(got.embeddings.rows() == rows);
            for (std::size_t i = 0; i < rows; ++i) {
                const std::size_t k = index_of(got, r.ids[i]);
                for (std::size_t j = 0; j < dim; ++j) {
                    CAPTURE(i, j, flat[i * dim + j], got.embeddings.row(k)[j]);
                    CHECK(same_bits(got.embeddings.row(k)[j], flat[i * dim + j]));
                }
            }
            // The handle reports the dimension once it is fixed by the first add.
            CHECK(shared_client().get_collection(c->name()).info().dimension == static_cast<std::int64_t>(dim));
        }
    }
}

TEST_CASE("query: nearest first, distances ascending, with filters, ids and include", "[integration][records]") {
    scoped_collection c(shared_client(), "it-query");
    add_ten(*c);

    SECTION("one query embedding, squared L2 distances ascending") {
        const std::vector<float> q{0.5f, 0.0f};
        cw::query_options o;
        o.query_embeddings = cw::embedding_view(q, 2);
        o.n_results = 3;
        const cw::query_result r = c->query(o);
        REQUIRE(r.size() == 1);
        const cw::query_hits& h = r[0];
        REQUIRE(h.ids.size() == 3);
        CHECK(h.ids[0] != h.ids[1]);
        CHECK(sorted({h.ids[0], h.ids[1]}) == std::vector<std::string>{"r0", "r1"});  // both at 0.25
        CHECK(h.ids[2] == "r2");
        REQUIRE(h.distances.size() == 3);
        CHECK(h.distances[0] == Approx(0.25f).margin(1e-4));
        CHECK(h.distances[1] == Approx(0.25f).margin(1e-4));
        CHECK(h.distances[2] == Approx(2.25f).margin(1e-4));
        CHECK(r.included == cw::default_query_include);
        REQUIRE(h.documents.size() == 3);
        CHECK(h.documents[2] == rdoc(2));
        REQUIRE(h.metadatas.size() == 3);
        CHECK(h.metadatas[2]->at("i") == cw::metadata_value(2));
        CHECK(h.embeddings.empty());
    }

    SECTION("several query embeddings, one result list each, in order") {
        const std::vector<float> q{0.1f, 0.0f, 9.2f, 0.0f, 4.9f, 0.1f};
        cw::query_options o;
        o.query_embeddings = cw::embedding_view(q, 2);
        o.n_results = 4;
        const cw::query_result r = c->query(o);
        REQUIRE(r.size() == 3);
        CHECK(r[0].ids == std::vector<std::string>{"r0", "r1", "r2", "r3"});
        CHECK(r[1].ids == std::vector<std::string>{"r9", "r8", "r7", "r6"});
        CHECK(r[2].ids == std::vector<std::string>{"r5", "r4", "r6", "r3"});
        for (const cw::query_hits& h : r) {
            REQUIRE(h.distances.size() == 4);
            CHECK(std::is_sorted(h.distances.begin(), h.distances.end()));
        }
    }

    SECTION("where, where_document and ids restrict the candidates") {
        const std::vector<float> q{0.0f, 0.0f};
        cw::query_options o;
        o.query_embeddings = cw::embedding_view(q, 2);
        o.n_results = 3;
        o.where = cw::where_filter::eq("parity", "odd");
        CHECK(c->query(o)[0].ids == std::vector<std::string>{"r1", "r3", "r5"});
        o.where = {};
        o.where_document = cw::document_filter::contains("even");
        CHECK(c->query(o)[0].ids == std::vector<std::string>{"r0", "r2", "r4"});
        o.where_document = {};
        o.ids = {"r9", "r5", "r7"};
        CHECK(c->query(o)[0].ids == std::vector<std::string>{"r5", "r7", "r9"});
        o.where = cw::where_filter::gt("i", 5);
        CHECK(c->query(o)[0].ids == std::vector<std::string>{"r7", "r9"});
    }

    SECTION("include none and include embeddings") {
        const std::vector<float> q{8.0f, 0.0f};
        cw::query_options o;
        o.query_embeddings = cw::embedding_view(q, 2);
        o.n_results = 2;
        o.include = cw::include_fields::none;
        const cw::query_result bare = c->query(o);
        REQUIRE(bare.size() == 1);
        REQUIRE(bare[0].ids.size() == 2);
        CHECK(bare[0].ids[0] == "r8");
        CHECK((bare[0].ids[1] == "r7" || bare[0].ids[1] == "r9"));  // both at distance 1
        CHECK(bare[0].distances.empty());
        CHECK(bare[0].documents.empty());
        CHECK(bare[0].metadatas.empty());

        o.include = cw::include_fields::embeddings | cw::include_fields::distances;
        const cw::query_result e = c->query(o);
        REQUIRE(e[0].ids.size() == 2);
        REQUIRE(e[0].embeddings.rows() == 2);
        CHECK(e[0].embeddings.row_vector(0) == std::vector<float>{8.0f, 0.0f});
        CHECK(e[0].distances.at(0) == Approx(0.0f).margin(1e-6));
        CHECK(e[0].distances.at(1) == Approx(1.0f).margin(1e-4));
        CHECK(e.included == (cw::include_fields::embeddings | cw::include_fields::distances));
    }

    SECTION("n_results above the record count returns every record") {
        const std::vector<float> q{0.0f, 0.0f};
        cw::query_options o;
        o.query_embeddings = cw::embedding_view(q, 2);
        o.n_results = 25;
        const cw::query_result r = c->query(o);
        REQUIRE(r.size() == 1);
        CHECK(r[0].ids.size() == 10);
        CHECK(std::is_sorted(r[0].distances.begin(), r[0].distances.end()));
    }
}

TEST_CASE("empty results: a get or query that matches nothing", "[integration][records]") {
    scoped_collection c(shared_client(), "it-empty");

    SECTION("on an empty collection") {
        CHECK(c->count() == 0);
        const cw::get_result all = c->get();
        CHECK(all.empty());
        CHECK(c->peek().empty());
    }

    SECTION("with records that do not match") {
        add_ten(*c);
        cw::get_options g;
        g.ids = {"nope", "also-nope"};
        g.include = cw::include_fields::documents | cw::include_fields::metadatas | cw::include_fields::embeddings;
        const cw::get_result by_ids = c->get(g);
        CHECK(by_ids.ids.empty());
        CHECK(by_ids.documents.empty());
        CHECK(by_ids.metadatas.empty());
        CHECK(by_ids.embeddings.empty());
        CHECK(by_ids.embeddings.rows() == 0);

        g.ids.reset();
        g.where = cw::where_filter::eq("parity", "neither");
        CHECK(c->get(g).empty());
        g.where = {};
        g.where_document = cw::document_filter::contains("no such text");
        CHECK(c->get(g).empty());

        const std::vector<float> q{1.0f, 1.0f, 2.0f, 2.0f};
        cw::query_options o;
        o.query_embeddings = cw::embedding_view(q, 2);
        o.where = cw::where_filter::gt("i", 100);
        const cw::query_result r = c->query(o);
        REQUIRE(r.size() == 2);
        for (const cw::query_hits& h : r) {
            CHECK(h.ids.empty());
            CHECK(h.distances.empty());
            CHECK(h.documents.empty());
        }
    }
}

TEST_CASE("an empty id list matches no record; an unset one does not restrict (chromadb's ids=[])",
          "[integration][records]") {
    scoped_collection c(shared_client(), "it-empty-ids");
    add_ten(*c);
    const cw::include_fields every = cw::include_fields::documents | cw::include_fields::metadatas |
                                     cw::include_fields::embeddings | cw::include_fields::uris;

    const std::vector<float> q{1.0f, 1.0f, 2.0f, 2.0f};
    cw::query_options o;
    o.query_embeddings = cw::embedding_view(q, 2);
    o.n_results = 3;
    REQUIRE(c->query(o)[0].ids.size() == 3);  // unset: every record is a candidate
    o.ids = std::vector<std::string>{};
    o.include = every | cw::include_fields::distances;
    const cw::query_result none = c->query(o);
    REQUIRE(none.size() == 2);  // one (empty) result per query embedding
    for (const cw::query_hits& h : none) {
        CHECK(h.empty());
        CHECK(h.distances.empty());
        CHECK(h.documents.empty());
        CHECK(h.embeddings.rows() == 0);
    }
    CHECK(none.included == o.include);
    o.where = cw::where_filter::eq("parity", "odd");  // combined with a filter: still nothing
    CHECK(c->query(o)[0].empty());

    cw::get_options g;
    REQUIRE(c->get(g).size() == 10);
    g.ids = std::vector<std::string>{};
    g.include = every;
    const cw::get_result nothing = c->get(g);
    CHECK(nothing.empty());
    CHECK(nothing.metadatas.empty());
    CHECK(nothing.included == every);
    g.where = cw::where_filter::eq("parity", "even");
    CHECK(c->get(g).empty());
    g.ids.reset();
    CHECK(c->get(g).size() == 5);
}

TEST_CASE("update: embeddings, documents and merged metadata; nullopt leaves fields unchanged",
          "[integration][records]") {
    scoped_collection c(shared_client(), "it-update");
    {
        const std::vector<float> flat{1.0f, 1.0f, 2.0f, 2.0f};
        cw::record_set r;
        r.ids = {"a", "b"};
        r.embeddings = cw::embedding_view(flat, 2);
        r.documents = {std::string("doc a"), std::string("doc b")};
        r.metadatas = {cw::metadata_map{{"k1", 1}, {"k2", "two"}, {"k3", true}}, cw::metadata_map{{"k1", 10}}};
        c->add(r);
    }

    // Add of an existing id changes nothing (Chroma's semantics).
    {
        const std::vector<float> flat{9.0f, 9.0f};
        cw::record_set r;
        r.ids = {"a"};
        r.embeddings = cw::embedding_view(flat, 2);
        r.documents = {std::string("replaced?")};
        c->add(r);
    }

    {
        const std::vector<float> flat{5.0f, 6.0f, 7.0f, 8.0f};
        cw::record_set r;
        r.ids = {"a", "b"};
        r.embeddings = cw::embedding_view(flat, 2);
        r.documents = {std::nullopt, std::string("doc b v2")};
        r.metadatas = {cw::metadata_map{{"k2", "changed"}, {"k3", nullptr}, {"k4", 4.5}}, std::nullopt};
        c->update(r);
    }
    // Update without embeddings, and an update of a missing id (ignored by the server).
    {
        cw::record_set r;
        r.ids = {"b", "missing"};
        r.metadatas = {cw::metadata_map{{"k5", "five"}}, cw::metadata_map{{"x", 1}}};
        c->update(r);
    }

    CHECK(c->count() == 2);
    cw::get_options o;
    o.include = cw::include_fields::documents | cw::include_fields::metadatas | cw::include_fields::embeddings;
    const cw::get_result got = c->get(o);
    REQUIRE(sorted(got.ids) == std::vector<std::string>{"a", "b"});
    const std::size_t a = index_of(got, "a");
    const std::size_t b = index_of(got, "b");
    CHECK(got.documents[a] == std::string("doc a"));
    CHECK(got.documents[b] == std::string("doc b v2"));
    CHECK(got.embeddings.row_vector(a) == std::vector<float>{5.0f, 6.0f});
    CHECK(got.embeddings.row_vector(b) == std::vector<float>{7.0f, 8.0f});
    CHECK(got.metadatas[a] == cw::metadata_map{{"k1", 1}, {"k2", "changed"}, {"k4", 4.5}});
    CHECK(got.metadatas[b] == cw::metadata_map{{"k1", 10}, {"k5", "five"}});
}

TEST_CASE("upsert inserts new records and merges existing ones", "[integration][records]") {
    scoped_collection c(shared_client(), "it-upsert");
    {
        const std::vector<float> flat{1.0f, 0.0f};
        cw::record_set r;
        r.ids = {"old"};
        r.embeddings = cw::embedding_view(flat, 2);
        r.documents = {std::string("old doc")};
        r.metadatas = {cw::metadata_map{{"keep", "yes"}, {"drop", 1}, {"change", 1}}};
        c->add(r);
    }
    const std::vector<float> flat{0.0f, 1.0f, 3.0f, 4.0f};
    cw::record_set r;
    r.ids = {"old", "new"};
    r.embeddings = cw::embedding_view(flat, 2);
    r.documents = {std::nullopt, std::string("new doc")};
    r.metadatas = {cw::metadata_map{{"drop", nullptr}, {"change", 2}}, cw::metadata_map{{"fresh", true}}};
    c->upsert(r);

    CHECK(c->count() == 2);
    cw::get_options o;
    o.include = cw::include_fields::documents | cw::include_fields::metadatas | cw::include_fields::embeddings;
    const cw::get_result got = c->get(o);
    const std::size_t old_k = index_of(got, "old");
    const std::size_t new_k = index_of(got, "new");
    CHECK(got.documents[old_k] == std::string("old doc"));
    CHECK(got.documents[new_k] == std::string("new doc"));
    CHECK(got.metadatas[old_k] == cw::metadata_map{{"keep", "yes"}, {"change", 2}});
    CHECK(got.metadatas[new_k] == cw::metadata_map{{"fresh", true}});
    CHECK(got.embeddings.row_vector(old_k) == std::vector<float>{0.0f, 1.0f});
    CHECK(got.embeddings.row_vector(new_k) == std::vector<float>{3.0f, 4.0f});
}

TEST_CASE("delete_records by ids, where, where_document and limit", "[integration][records]") {
    scoped_collection c(shared_client(), "it-delete");
    add_ten(*c);

    cw::delete_options by_ids;
    by_ids.ids = {"r0", "r1", "never-existed"};
    CHECK(c->delete_records(by_ids) == 3);  // Chroma counts the ids sent
    CHECK(c->count() == 8);

    cw::delete_options by_where;
    by_where.where = cw::where_filter::eq("parity", "odd");
    CHECK(c->delete_records(by_where) == 4);  // r3 r5 r7 r9
    CHECK(c->count() == 4);

    cw::delete_options by_doc;
    by_doc.where_document = cw::document_filter::contains("doc 8");
    CHECK(c->delete_records(by_doc) == 1);
    CHECK(c->count() == 3);

    cw::delete_options limited;
    limited.where = cw::where_filter::eq("parity", "even");  // r2 r4 r6 remain
    limited.limit = 2;
    CHECK(c->delete_records(limited) == 2);
    CHECK(c->count() == 1);

    cw::delete_options none;
    none.where = cw::where_filter::eq("parity", "even");
    none.where_document = cw::document_filter::contains("odd");
    CHECK(c->delete_records(none) == 0);
    CHECK(c->count() == 1);
}

TEST_CASE("count and peek", "[integration][records]") {
    scoped_collection c(shared_client(), "it-peek");
    CHECK(c->count() == 0);
    add_ten(*c);
    {
        const std::vector<float> flat{10.0f, 0.0f, 11.0f, 0.0f};
        cw::record_set r;
        r.ids = {"r10", "r11"};
        r.embeddings = cw::embedding_view(flat, 2);
        c->add(r);
    }
    CHECK(c->count() == 12);

    const cw::get_result first = c->peek();
    CHECK(first.size() == 10);
    const cw::get_result three = c->peek(3);
    REQUIRE(three.size() == 3);
    CHECK(three.included ==
          (cw::include_fields::documents | cw::include_fields::metadatas | cw::include_fields::embeddings));
    CHECK(three.documents.size() == 3);
    CHECK(three.metadatas.size() == 3);
    REQUIRE(three.embeddings.rows() == 3);
    for (std::size_t k = 0; k < 3; ++k) {
        const int i = std::stoi(three.ids[k].substr(1));
        CHECK(three.embeddings.row_vector(k) == std::vector<float>{static_cast<float>(i), 0.0f});
    }
    CHECK(c->peek(100).size() == 12);
}

TEST_CASE("scalar metadata types round-trip; null in update removes a key", "[integration][records]") {
    scoped_collection c(shared_client(), "it-meta");
    using kind = cw::metadata_value::kind;
    cw::metadata_map m;
    m["int"] = 42;
    m["neg"] = -7;
    m["zero"] = 0;
    m["big"] = std::int64_t{9007199254740993};  // 2^53 + 1 stays exact
    m["float_one"] = 1.0;                       // stays a float
    m["quarter"] = 0.25;
    m["tenth"] = 0.1;
    m["third"] = -1.0 / 3.0;
    m["e20"] = 1e20;
    m["huge"] = 1e300;
    m["yes"] = true;
    m["no"] = false;
    m["str"] = "text";
    m["empty"] = "";
    const std::vector<float> flat{1.0f, 2.0f, 3.0f, 4.0f};
    cw::record_set r;
    r.ids = {"m", "plain"};
    r.embeddings = cw::embedding_view(flat, 2);
    r.metadatas = {m, std::nullopt};
    c->add(r);

    cw::get_options o;
    o.ids = {"m", "plain"};
    const cw::get_result got = c->get(o);
    REQUIRE(got.size() == 2);
    const auto& gm = got.metadatas[index_of(got, "m")];
    REQUIRE(gm.has_value());
    CHECK(*gm == m);
    CHECK(gm->at("int").type() == kind::integer);
    CHECK(gm->at("float_one").type() == kind::floating);
    CHECK(gm->at("float_one").get<double>() == 1.0);
    CHECK(gm->at("yes").type() == kind::boolean);
    CHECK(gm->at("big").get<std::int64_t>() == 9007199254740993);
    CHECK_FALSE(got.metadatas[index_of(got, "plain")].has_value());

    // Typed filters find the record by each kind.
    cw::get_options f;
    f.include = cw::include_fields::none;
    for (const cw::where_filter& w :
         {cw::where_filter::eq("int", 42), cw::where_filter::eq("float_one", 1.0), cw::where_filter::eq("yes", true),
          cw::where_filter::eq("str", "text"), cw::where_filter::lt("neg", -6), cw::where_filter::gt("quarter", 0.2),
          cw::where_filter::eq("big", std::int64_t{9007199254740993})}) {
        CAPTURE(w.json());
        f.where = w;
        CHECK(c->get(f).ids == std::vector<std::string>{"m"});
    }

    cw::record_set u;
    u.ids = {"m"};
    u.metadatas = {cw::metadata_map{{"int", nullptr}, {"str", "changed"}, {"added", 3}}};
    c->update(u);
    cw::metadata_map expected = m;
    expected.erase("int");
    expected["str"] = "changed";
    expected["added"] = 3;
    o.ids = {"m"};
    const cw::get_result after = c->get(o);
    REQUIRE(after.size() == 1);
    CHECK(after.metadatas[0] == expected);
    CHECK(after.metadatas[0]->count("int") == 0);
}

TEST_CASE("array metadata round-trips and $contains matches (dedicated server: upstream #7594)",
          "[integration][records][dedicated]") {
    // Array values leak across deleted collections on a shared server (chroma-core/chroma#7594),
    // so this test uses a server of its own, removed with its data at the end.
    chromawal_test::chroma_server server("it-arrays");
    server.start();
    const cw::chroma_client client = make_client(server.url());
    cw::chroma_collection c = client.create_collection(chromawal_test::unique_name("it-arrays"));

    using A = cw::metadata_value;
    const cw::metadata_map m1{{"tags", A::array_string{"red", "grün", "🚀"}},
                              {"nums", A::array_int{1, 2, 3}},
                              {"ws", A::array_float{0.5, 1.0, 2.5}},
                              {"flags", A::array_bool{true, false}},
                              {"scalar", 1}};
    const cw::metadata_map m2{{"tags", A::array_string{"blue"}}, {"nums", A::array_int{7}}};
    const std::vector<float> flat{1.0f, 0.0f, 0.0f, 1.0f};
    cw::record_set r;
    r.ids = {"x1", "x2"};
    r.embeddings = cw::embedding_view(flat, 2);
    r.metadatas = {m1, m2};
    c.add(r);

    const cw::get_result got = c.get();
    REQUIRE(got.size() == 2);
    CHECK(got.metadatas[index_of(got, "x1")] == m1);
    CHECK(got.metadatas[index_of(got, "x2")] == m2);
    CHECK(got.metadatas[index_of(got, "x1")]->at("ws").type() == A::kind::float_array);

    cw::get_options f;
    f.include = cw::include_fields::none;
    f.where = cw::where_filter::contains("tags", "🚀");
    CHECK(c.get(f).ids == std::vector<std::string>{"x1"});
    f.where = cw::where_filter::contains("nums", 7);
    CHECK(c.get(f).ids == std::vector<std::string>{"x2"});
    f.where = cw::where_filter::not_contains("tags", "blue");
    CHECK(c.get(f).ids == std::vector<std::string>{"x1"});
    f.where = cw::where_filter::contains("flags", false);
    CHECK(c.get(f).ids == std::vector<std::string>{"x1"});

    // Upsert replaces an array value as a whole.
    cw::record_set u;
    u.ids = {"x2"};
    u.embeddings = cw::embedding_view(flat.data(), 1, 2);
    u.metadatas = {cw::metadata_map{{"nums", A::array_int{8, 9}}}};
    c.upsert(u);
    f.where = cw::where_filter::contains("nums", 9);
    CHECK(c.get(f).ids == std::vector<std::string>{"x2"});
    f.where = cw::where_filter::contains("nums", 7);
    CHECK(c.get(f).empty());
}

TEST_CASE("unicode ids, documents and metadata round-trip exactly", "[integration][records]") {
    scoped_collection c(shared_client(), "it-unicode");
    const std::vector<std::string> ids{"ünïcödé-ÄÖÜß",
                                       "emoji-🚀🎉👩‍💻",
                                       "quote-\"x\"-'y'",
                                       "back\\slash\\\\",
                                       "new\nline\r\n",
                                       "tab\tand/slash and space",
                                       std::string("nul\0inside", 10),
                                       "日本語-中文-한국어"};
    const std::vector<std::optional<std::string>> docs{std::string("Grüße, 世界! 🌍"),
                                                       std::string("\"quoted\" and \\backslash\\"),
                                                       std::string("line one\nline two\ttabbed\r\n"),
                                                       std::string(""),
                                                       std::string("control \x01\x1f chars"),
                                                       std::string("math ∑∫√∞ and arrows ←→"),
                                                       std::string("{\"json\": [1, 2]}"),
                                                       std::string("zero width\u200bjoiner")};
    std::vector<std::optional<cw::metadata_map>> metas;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        metas.emplace_back(cw::metadata_map{{"ключ", "значение " + std::to_string(i)},
                                            {"emoji🔑", "🎉"},
                                            {"quo\"te", "va\"lue"},
                                            {"back\\slash", "c:\\path\\"},
                                            {"new\nline", "a\nb"},
                                            {"idx", static_cast<int>(i)}});
    }
    std::vector<float> flat;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        flat.push_back(static_cast<float>(i));
        flat.push_back(1.0f);
    }
    cw::record_set r;
    r.ids = ids;
    r.embeddings = cw::embedding_view(flat, 2);
    r.documents = docs;
    r.metadatas = metas;
    c->add(r);
    REQUIRE(c->count() == ids.size());

    cw::get_options o;
    o.ids = ids;
    const cw::get_result got = c->get(o);
    REQUIRE(got.size() == ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
        CAPTURE(i);
        const std::size_t k = index_of(got, ids[i]);
        CHECK(got.documents[k] == docs[i]);
        CHECK(got.metadatas[k] == metas[i]);
    }

    // One id at a time, and filters on non-ASCII values and text.
    for (const std::string& id : ids) {
        cw::get_options one;
        one.ids = {id};
        CHECK(c->get(one).ids == std::vector<std::string>{id});
    }
    cw::get_options f;
    f.where = cw::where_filter::eq("ключ", "значение 1");
    CHECK(c->get(f).ids == std::vector<std::string>{ids[1]});
    f.where = {};
    f.where_document = cw::document_filter::contains("世界! 🌍");
    CHECK(c->get(f).ids == std::vector<std::string>{ids[0]});
    f.where_document = cw::document_filter::contains("\"quoted\" and \\back");
    CHECK(c->get(f).ids == std::vector<std::string>{ids[1]});

    const std::vector<float> q{2.0f, 1.0f};
    cw::query_options qo;
    qo.query_embeddings = cw::embedding_view(q, 2);
    qo.n_results = 1;
    const cw::query_result hit = c->query(qo);
    REQUIRE(hit[0].ids.size() == 1);
    CHECK(hit[0].ids[0] == ids[2]);
    CHECK(hit[0].documents[0] == docs[2]);
    CHECK(hit[0].metadatas[0] == metas[2]);

    // Deleting by a non-ASCII id removes exactly that record.
    cw::delete_options d;
    d.ids = {ids[1], ids[6]};
    CHECK(c->delete_records(d) == 2);
    CHECK(c->count() == ids.size() - 2);
}

TEST_CASE("long ids and large documents round-trip", "[integration][records]") {
    scoped_collection c(shared_client(), "it-large");
    const std::string long_id = std::string(1000, 'i') + "🚀" + std::string(996, 'j');
    std::string big_doc;
    for (int i = 0; big_doc.size() < (1u << 20); ++i) big_doc += "Zeile " + std::to_string(i) + ": grüße 🌍\n";
    const std::vector<float> flat{1.0f, 2.0f};
    cw::record_set r;
    r.ids = {long_id};
    r.embeddings = cw::embedding_view(flat, 2);
    r.documents = {big_doc};
    c->add(r);
    cw::get_options o;
    o.ids = {long_id};
    const cw::get_result got = c->get(o);
    REQUIRE(got.ids == std::vector<std::string>{long_id});
    REQUIRE(got.documents.at(0).has_value());
    CHECK(got.documents[0]->size() == big_doc.size());
    CHECK(*got.documents[0] == big_doc);
}

TEST_CASE("uris round-trip when included", "[integration][records]") {
    scoped_collection c(shared_client(), "it-uris");
    const std::vector<float> flat{1.0f, 2.0f, 3.0f, 4.0f};
    cw::record_set r;
    r.ids = {"u1", "u2"};
    r.embeddings = cw::embedding_view(flat, 2);
    r.uris = {std::string("s3://bucket/ключ 1.png"), std::nullopt};
    c->add(r);
    cw::get_options o;
    o.include = cw::include_fields::uris;
    const cw::get_result got = c->get(o);
    REQUIRE(got.uris.size() == 2);
    CHECK(got.uris[index_of(got, "u1")] == std::string("s3://bucket/ключ 1.png"));
    CHECK_FALSE(got.uris[index_of(got, "u2")].has_value());
    CHECK(got.documents.empty());
}

TEST_CASE("a batch above the server's max batch size is split and every record arrives",
          "[integration][records][batch]") {
    const cw::chroma_client client = shared_client();
    scoped_collection c(client, "it-batch");
    const std::size_t max = client.max_batch_size();
    REQUIRE(max > 0);
    const std::size_t n = max + 7;
    std::vector<float> flat;
    flat.reserve(n * 2);
    cw::record_set r;
    for (std::size_t i = 0; i < n; ++i) {
        r.ids.push_back("b" + std::to_string(i));
        flat.push_back(static_cast<float>(i));
        flat.push_back(-static_cast<float>(i) / 4.0f);
        r.documents.emplace_back("d" + std::to_string(i));
    }
    r.embeddings = cw::embedding_view(flat, 2);
    c->add(r);
    CHECK(c->count() == n);

    // Records on both sides of the split point and at the end, with their own values.
    cw::get_options o;
    const std::vector<std::size_t> probe{0, max - 1, max, n - 1};
    o.ids.emplace();
    for (std::size_t i : probe) o.ids->push_back(r.ids[i]);
    o.include = cw::include_fields::documents | cw::include_fields::embeddings;
    const cw::get_result got = c->get(o);
    REQUIRE(got.size() == probe.size());
    for (std::size_t i : probe) {
        CAPTURE(i);
        const std::size_t k = index_of(got, r.ids[i]);
        CHECK(got.documents[k] == "d" + std::to_string(i));
        CHECK(got.embeddings.row_vector(k) == std::vector<float>{flat[2 * i], flat[2 * i + 1]});
    }

    // Upsert of the same ids is split too; then deleting them all, also above the batch size.
    for (auto& d : r.documents) d = *d + "!";
    c->upsert(r);
    o.ids = {r.ids[n - 1]};
    CHECK(c->get(o).documents.at(0) == "d" + std::to_string(n - 1) + "!");
    cw::delete_options d;
    d.ids = r.ids;
    CHECK(c->delete_records(d) == n);
    CHECK(c->count() == 0);
}

TEST_CASE("a batch whose embeddings exceed the server's 40 MiB body limit is split by size",
          "[integration][records][batch]") {
    // 1400 x 8192 float32 is 46 MB raw, about 61 MB as base64: one request would be refused
    // with 413, although the record count is far below max_batch_size.
    const cw::chroma_client client = shared_client();
    scoped_collection c(client, "it-bigdim");
    const std::size_t dim = 8192;
    const std::size_t n = 1400;
    REQUIRE(n < client.max_batch_size());
    std::vector<float> flat(n * dim);
    for (std::size_t i = 0; i < flat.size(); ++i) flat[i] = static_cast<float>(i % 1000) / 7.0f;
    cw::record_set r;
    for (std::size_t i = 0; i < n; ++i) r.ids.push_back("v" + std::to_string(i));
    r.embeddings = cw::embedding_view(flat, dim);
    c->add(r);
    CHECK(c->count() == n);
    cw::get_options o;
    o.ids = {"v0", "v" + std::to_string(n - 1)};
    o.include = cw::include_fields::embeddings;
    const cw::get_result got = c->get(o);
    REQUIRE(got.size() == 2);
    REQUIRE(got.embeddings.dim() == dim);
    CHECK(got.embeddings.row_vector(index_of(got, "v0")) == std::vector<float>(flat.begin(), flat.begin() + dim));
    CHECK(got.embeddings.row_vector(index_of(got, (*o.ids)[1])) == std::vector<float>(flat.end() - dim, flat.end()));
}
