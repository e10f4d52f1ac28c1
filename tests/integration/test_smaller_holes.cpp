// The smaller holes of issue 9 item 9, against real servers: record entries split and merged by
// size as well as by record count.
#include <catch2/catch.hpp>
#include <chromawal/chromawal.hpp>

#include "cluster.hpp"
#include "servers.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace cw = chromawal;
using namespace std::chrono_literals;

namespace {

using chromawal_test::cluster;
using chromawal_test::shared_pg;

struct batch_data {
    std::vector<float> embeddings;
    cw::record_set records;
};

// `n` records "prefix-0".. of dimension `dim`, each with a document of `doc_bytes` bytes.
std::unique_ptr<batch_data> make_batch(const std::string& prefix, int n, std::size_t dim = 4,
                                       std::size_t doc_bytes = 16) {
    auto b = std::make_unique<batch_data>();
    for (int i = 0; i < n; ++i) {
        b->records.ids.push_back(prefix + "-" + std::to_string(i));
        std::string doc = prefix + " " + std::to_string(i) + " ";
        doc.resize(std::max(doc_bytes, doc.size()), static_cast<char>('a' + i % 26));
        b->records.documents.emplace_back(std::move(doc));
        for (std::size_t k = 0; k < dim; ++k)
            b->embeddings.push_back(static_cast<float>((i * 131 + static_cast<int>(k) * 7) % 1000) / 997.0f);
    }
    b->records.embeddings = cw::embedding_view(b->embeddings, dim);
    return b;
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

bool wait_health(cw::client& c, const std::string& name, bool healthy) {
    return wait_until(
        [&] {
            for (const auto& i : c.status().instances) {
                if (i.name == name && i.healthy == healthy) return true;
            }
            return false;
        },
        10s);
}

}  // namespace

TEST_CASE("an entry larger than one request is split by size and arrives complete everywhere", "[replication]") {
    cluster k;
    cw::client_config config = k.config();
    // A write's requests all draw on one request_timeout: 48 MiB take longer than the usual 2 s
    // here (sanitizers, a shared machine).
    for (auto& i : config.instances) i.connection.request_timeout = 60s;
    cw::client client(config);
    auto coll = client.create_collection("big");
    // 24 documents of 2 MiB: 48 MiB in one add, above Chroma's 40 MiB body limit, though far
    // below its batch size in records.
    auto big = make_batch("big", 24, 4, 2u << 20);
    cw::write_receipt r;
    REQUIRE_NOTHROW(r = coll.add(big->records));
    CHECK(r.applied.size() == 2);
    REQUIRE(client.wait_until_synced(30s));
    for (const auto* s : {&k.a, &k.b}) {
        auto c = k.direct(*s).get_collection("big");
        CHECK(c.count() == 24);
        cw::get_options o;
        o.ids = {"big-23"};
        o.include = cw::include_fields::documents;
        const auto got = c.get(o);
        REQUIRE(got.documents.size() == 1);
        CHECK(got.documents.at(0) == big->records.documents.at(23));
    }
    const auto v = k.verify("big");
    INFO(v.summary());
    CHECK(v.identical());
}

TEST_CASE("consecutive entries merged for a replay stay within the request size", "[replication]") {
    cluster k;
    cw::client_config config = k.config();
    for (auto& i : config.instances) i.connection.use_base64 = false;  // embeddings as JSON numbers
    cw::client client(config);
    auto coll = client.create_collection("merged");
    k.b.kill9();
    REQUIRE(wait_health(client, "b", false));
    // Ten adds of 2 MiB of float32 each (about 5.5 MiB as JSON numbers): b replays them from
    // one read of the log (under its 24 MiB), and merged into one request they would be about
    // 55 MB, which Chroma refuses.
    constexpr int entries = 10;
    std::vector<std::unique_ptr<batch_data>> batches;
    for (int e = 0; e < entries; ++e) {
        batches.push_back(make_batch("m" + std::to_string(e), 512, 1024));
        coll.add(batches.back()->records);
    }
    k.b.restart();
    REQUIRE(client.wait_until_synced(60s));
    CHECK(client.dead_letters().empty());
    CHECK(k.direct(k.b).get_collection("merged").count() == 512 * entries);
    const auto v = k.verify("merged");
    INFO(v.summary());
    CHECK(v.identical());
}
