// The request bodies a group's appliers share (fresh_entries): a body is shared only among
// appliers that hold every entry it merged. An applier that was behind reads the log, and may
// merge entries appended after the group; reusing its body, or its count, in an applier that
// holds only the group's entries ran past the end of that applier's entries (found by the
// concurrency torture test under AddressSanitizer).
#include <catch2/catch.hpp>

#include "replication/applier.hpp"

#include <memory>
#include <string>
#include <vector>

namespace cd = chromawal::detail;
namespace wal = chromawal::wal;

namespace {

// Entries at positions first .. first + n - 1 of lane 7.
cd::fresh_entries make_fresh(std::int64_t first, std::size_t n) {
    std::vector<wal::entry> es(n);
    for (std::size_t i = 0; i < n; ++i) {
        es[i].lane_id = 7;
        es[i].position = first + static_cast<std::int64_t>(i);
    }
    return cd::fresh_entries(std::move(es));
}

cd::fresh_entries::request body(std::size_t used, const std::string& text) {
    return cd::fresh_entries::request{used, std::make_shared<const std::string>(text)};
}

}  // namespace

TEST_CASE("fresh_entries: a body is shared only by appliers that hold what it merged", "[unit][groups]") {
    const cd::fresh_entries fresh = make_fresh(10, 3);  // positions 10, 11, 12

    SECTION("a body within the entries is found by an applier holding all of them") {
        fresh.keep({10, 1000, false}, body(3, "three"));
        const auto found = fresh.find({10, 1000, false}, 3);
        REQUIRE(found);
        CHECK(found->used == 3);
        CHECK(*found->body == "three");
        // Another key (merging off, or another encoding) is another request.
        CHECK_FALSE(fresh.find({10, 0, false}, 3));
        CHECK_FALSE(fresh.find({10, 1000, true}, 3));
    }
    SECTION("a body that merged entries appended after these is not kept") {
        // Built by an applier that read the log (positions 10 .. 14).
        fresh.keep({10, 1000, false}, body(5, "five"));
        CHECK_FALSE(fresh.find({10, 1000, false}, 5));
        fresh.keep({12, 1000, false}, body(2, "two"));
        CHECK_FALSE(fresh.find({12, 1000, false}, 2));
        // Nor one starting before them.
        fresh.keep({9, 1000, false}, body(2, "before"));
        CHECK_FALSE(fresh.find({9, 1000, false}, 2));
    }
    SECTION("a body is not reused by an applier that holds fewer entries than it merged") {
        fresh.keep({11, 1000, false}, body(2, "two"));
        CHECK_FALSE(fresh.find({11, 1000, false}, 1));
        const auto found = fresh.find({11, 1000, false}, 2);
        REQUIRE(found);
        CHECK(found->used == 2);
    }
}

TEST_CASE("fresh_entries: marking an entry rejected drops the bodies built before", "[unit][groups]") {
    cd::fresh_entries fresh = make_fresh(1, 2);
    fresh.keep({1, 1000, false}, body(2, "both"));
    REQUIRE(fresh.find({1, 1000, false}, 2));
    fresh.set_rejected(1);
    CHECK(fresh.entries()[1].state == wal::entry_state::rejected);
    CHECK(fresh.entries()[0].state == wal::entry_state::pending);
    CHECK_FALSE(fresh.find({1, 1000, false}, 2));
}
