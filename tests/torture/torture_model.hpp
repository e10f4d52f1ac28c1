// The kill -9 torture test's operation stream and its model of what the instances must hold.
//
// Shared by the writer (tests/torture/torture_writer.cpp), which generates the stream, and the
// driver (test_torture.cpp), which checks the instances against it at the end.
//
// The stream. Operation j (numbered from 1, never reused: a restarted writer continues after the
// highest number it finds in its intents file) is one of add, upsert, update, delete by ids and
// delete by where, on one of two collections, chosen by a generator seeded with (seed, j). A record
// created by operation j is named "o<j>-<k>" and carries the metadata "grp" = "g<j>" for life, so
// a delete by where {"grp": "g<j>"} removes exactly the surviving records that operation j created.
// Every record's content (document, metadata, embedding) is a function of its id and of the
// operation that last wrote it: content_of(id, op).
//
// The files. Before it calls the library, the writer appends the operation to "intents" (fsync'd);
// when the call RETURNED successfully it appends the same line to "acks" (fsync'd). So "acks"
// claims nothing that did not return, and "intents" names every id that can possibly exist.
//
// The model. Acknowledged operations are certain. An operation with an intent but no
// acknowledgement (killed mid-call, or the call threw) may or may not be in the log, so each
// record it touches gets two possible states: `cur` (without it) and `alt` (with it). The writer
// never targets such an uncertain record again, nor a group that holds one, so every record has
// at most one unacknowledged operation in its history. At the end, a certain record must be
// exactly `cur` on both instances; an uncertain one `cur` or `alt`, identically on both, and
// consistently for all records of one operation (a logged entry is applied whole, everywhere).
#pragma once

#include <chromawal/chromawal.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace torture {

namespace cw = chromawal;

constexpr std::size_t dim = 8;
inline const char* const collection_names[2] = {"torture-0", "torture-1"};

inline std::uint64_t mix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

inline std::uint64_t fnv1a(const void* data, std::size_t n, std::uint64_t h = 1469598103934665603ull) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}
inline std::uint64_t fnv1a(const std::string& s, std::uint64_t h = 1469598103934665603ull) {
    return fnv1a(s.data(), s.size(), h);
}

/// The operation that created a record: "o<j>-<k>" -> j.
inline std::int64_t creator_of(const std::string& id) {
    if (id.size() < 2 || id[0] != 'o') throw std::logic_error("not a torture id: " + id);
    return std::stoll(id.substr(1, id.find('-') - 1));
}
inline std::string group_of(const std::string& id) { return "g" + std::to_string(creator_of(id)); }

struct content {
    std::string document;
    cw::metadata_map metadata;
    std::vector<float> embedding;
};

/// What operation `op` writes to record `id`.
inline content content_of(const std::string& id, std::int64_t op) {
    content c;
    c.document = "doc " + id + " written by op " + std::to_string(op);
    c.metadata = cw::metadata_map{{"grp", group_of(id)}, {"op", op}, {"id", id}};
    const std::uint64_t base = fnv1a(id) ^ mix64(static_cast<std::uint64_t>(op));
    for (std::size_t k = 0; k < dim; ++k) {
        // 24 random bits: exactly representable as float32, in [-1, 1).
        const auto bits = static_cast<std::uint32_t>(mix64(base + k) >> 40);
        c.embedding.push_back(static_cast<float>(bits) / 8388608.0f - 1.0f);
    }
    return c;
}

enum class op_kind { add, upsert, update, delete_ids, delete_where };

inline const char* kind_name(op_kind k) {
    switch (k) {
        case op_kind::add:
            return "add";
        case op_kind::upsert:
            return "upsert";
        case op_kind::update:
            return "update";
        case op_kind::delete_ids:
            return "delete";
        case op_kind::delete_where:
            return "delete_where";
    }
    return "?";
}

struct op {
    std::int64_t j = 0;
    op_kind kind = op_kind::add;
    int coll = 0;
    std::vector<std::string> ids;  ///< add/upsert/update/delete_ids
    std::string group;             ///< delete_where
    std::uint64_t hash = 0;        ///< of what the operation writes (see op_hash)
};

/// A digest of everything the operation sends: ids and, for writes, each record's content.
inline std::uint64_t op_hash(const op& o) {
    std::uint64_t h = fnv1a(std::string(kind_name(o.kind)) + " " + std::to_string(o.coll));
    if (o.kind == op_kind::delete_where) return fnv1a(o.group, h);
    for (const auto& id : o.ids) {
        h = fnv1a(id + "\n", h);
        if (o.kind == op_kind::delete_ids) continue;
        const content c = content_of(id, o.j);
        h = fnv1a(c.document + "\n", h);
        for (const auto& [k, v] : c.metadata) {
            h = fnv1a(k + "=", h);
            if (const auto* s = v.get_if<std::string>()) h = fnv1a(*s + ";", h);
            if (const auto* n = v.get_if<std::int64_t>()) h = fnv1a(std::to_string(*n) + ";", h);
        }
        h = fnv1a(c.embedding.data(), c.embedding.size() * sizeof(float), h);
    }
    return h;
}

/// "<j> <kind> <collection index> <hash hex> <id,id,...|group>"
inline std::string format_line(const op& o) {
    std::ostringstream s;
    s << o.j << ' ' << kind_name(o.kind) << ' ' << o.coll << ' ' << std::hex << o.hash << std::dec << ' ';
    if (o.kind == op_kind::delete_where) {
        s << o.group;
    } else {
        for (std::size_t i = 0; i < o.ids.size(); ++i) s << (i ? "," : "") << o.ids[i];
    }
    return s.str();
}

inline op parse_line(const std::string& line) {
    std::istringstream s(line);
    op o;
    std::string kind, targets;
    s >> o.j >> kind >> o.coll >> std::hex >> o.hash >> std::dec >> targets;
    if (!s || o.j <= 0 || o.coll < 0 || o.coll > 1 || targets.empty()) {
        throw std::runtime_error("malformed operation line: '" + line + "'");
    }
    if (kind == "add") {
        o.kind = op_kind::add;
    } else if (kind == "upsert") {
        o.kind = op_kind::upsert;
    } else if (kind == "update") {
        o.kind = op_kind::update;
    } else if (kind == "delete") {
        o.kind = op_kind::delete_ids;
    } else if (kind == "delete_where") {
        o.kind = op_kind::delete_where;
    } else {
        throw std::runtime_error("unknown operation in line: '" + line + "'");
    }
    if (o.kind == op_kind::delete_where) {
        o.group = targets;
    } else {
        std::size_t start = 0;
        while (start <= targets.size()) {
            const std::size_t comma = targets.find(',', start);
            o.ids.push_back(targets.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
    }
    return o;
}

/// The complete lines of a file (a trailing line without '\n' was cut by a kill: ignored).
inline std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t nl; (nl = all.find('\n', start)) != std::string::npos; start = nl + 1) {
        if (nl > start) lines.push_back(all.substr(start, nl - start));
    }
    return lines;
}

/// One record's state: absent, or present with content_of(id, op).
struct rec {
    bool present = false;
    std::int64_t op = 0;
    friend bool operator==(const rec& a, const rec& b) { return a.present == b.present && a.op == b.op; }
    friend bool operator!=(const rec& a, const rec& b) { return !(a == b); }
};

struct slot {
    rec cur;  ///< the state without the unacknowledged operation (if any)
    bool certain = true;
    rec alt;                   ///< the state with it
    std::int64_t unacked = 0;  ///< that operation's number
};

class model {
public:
    std::map<std::string, slot> slots[2];  ///< per collection, by id
    std::set<std::int64_t> unacked_ops;
    std::int64_t max_op = 0;
    std::size_t acked = 0;

    /// The ids an operation touches (a delete by where: every record its group ever had).
    std::vector<std::string> affected(const op& o) const {
        if (o.kind != op_kind::delete_where) return o.ids;
        std::vector<std::string> ids;
        for (const auto& [id, s] : slots[o.coll]) {
            if (group_of(id) == o.group) ids.push_back(id);
        }
        return ids;
    }

    static rec after(const op& o, const rec& r) {
        switch (o.kind) {
            case op_kind::add:
                return r.present ? r : rec{true, o.j};  // add leaves existing ids alone
            case op_kind::upsert:
                return rec{true, o.j};
            case op_kind::update:
                return r.present ? rec{true, o.j} : r;  // update skips missing ids
            case op_kind::delete_ids:
            case op_kind::delete_where:
                return rec{};
        }
        return r;
    }

    /// Applies an operation in stream order: for certain if acknowledged, as a second possible
    /// state otherwise.
    void apply(const op& o, bool acknowledged) {
        if (o.j <= max_op) throw std::logic_error("operation numbers must increase: " + std::to_string(o.j));
        max_op = o.j;
        auto& coll = slots[o.coll];
        if (acknowledged) {
            ++acked;
        } else {
            unacked_ops.insert(o.j);
        }
        for (const auto& id : affected(o)) {
            slot& s = coll[id];
            if (acknowledged) {
                // An earlier unacknowledged entry precedes this one in the log: both branches move.
                s.cur = after(o, s.cur);
                if (!s.certain) s.alt = after(o, s.alt);
            } else {
                if (!s.certain) {
                    throw std::logic_error("record " + id + " touched by two unacknowledged operations (" +
                                           std::to_string(s.unacked) + ", " + std::to_string(o.j) + ")");
                }
                s.certain = false;
                s.alt = after(o, s.cur);
                s.unacked = o.j;
            }
        }
    }

    /// Records that are certainly present: what updates, upserts and deletes may target.
    std::vector<std::string> targetable(int c) const {
        std::vector<std::string> ids;
        for (const auto& [id, s] : slots[c]) {
            if (s.certain && s.cur.present) ids.push_back(id);
        }
        return ids;
    }

    /// Groups all of whose records are certain, with at least one present.
    std::vector<std::string> targetable_groups(int c) const {
        std::map<std::string, std::pair<bool, bool>> g;  // group -> (all certain, some present)
        for (const auto& [id, s] : slots[c]) {
            auto& e = g.try_emplace(group_of(id), true, false).first->second;
            e.first = e.first && s.certain;
            e.second = e.second || (s.certain && s.cur.present);
        }
        std::vector<std::string> out;
        for (const auto& [name, e] : g) {
            if (e.first && e.second) out.push_back(name);
        }
        return out;
    }
};

/// Rebuilds the model from the writer's files: every intent in order, acknowledged or not.
/// @throws std::runtime_error when an acknowledgement has no identical intent.
inline model load(const std::string& intents_path, const std::string& acks_path) {
    std::map<std::int64_t, std::string> acked;
    for (const auto& line : read_lines(acks_path)) acked[parse_line(line).j] = line;
    model m;
    std::size_t matched = 0;
    for (const auto& line : read_lines(intents_path)) {
        const op o = parse_line(line);
        const auto it = acked.find(o.j);
        if (it != acked.end()) {
            if (it->second != line) throw std::runtime_error("acknowledgement differs from intent: " + it->second);
            ++matched;
        }
        m.apply(o, it != acked.end());
    }
    if (matched != acked.size()) throw std::runtime_error("an acknowledged operation has no intent");
    return m;
}

/// Operation j of the stream, given the model of everything before it.
inline op generate(std::uint64_t seed, std::int64_t j, const model& m) {
    std::mt19937_64 r(mix64(seed) ^ mix64(static_cast<std::uint64_t>(j) * 0x2545f4914f6cdd1dull));
    op o;
    o.j = j;
    o.coll = static_cast<int>(r() % 2);
    auto fresh = [&](std::size_t n) {
        for (std::size_t k = 0; k < n; ++k) o.ids.push_back("o" + std::to_string(j) + "-" + std::to_string(k));
    };
    auto pick = [&](std::vector<std::string> from, std::size_t n) {
        n = std::min(n, from.size());
        for (std::size_t k = 0; k < n; ++k) {  // partial Fisher-Yates: n distinct picks
            std::swap(from[k], from[k + r() % (from.size() - k)]);
            o.ids.push_back(from[k]);
        }
    };
    const auto roll = r() % 100;
    const auto targets = m.targetable(o.coll);
    if (roll < 30 || targets.empty()) {
        o.kind = op_kind::add;
        fresh(1 + r() % 8);
    } else if (roll < 50) {
        o.kind = op_kind::upsert;
        fresh(1 + r() % 3);
        pick(targets, r() % 4);
    } else if (roll < 70) {
        o.kind = op_kind::update;
        pick(targets, 1 + r() % 6);
    } else if (roll < 88) {
        o.kind = op_kind::delete_ids;
        pick(targets, 1 + r() % 4);
    } else {
        const auto groups = m.targetable_groups(o.coll);
        if (groups.empty()) {
            o.kind = op_kind::add;
            fresh(1 + r() % 8);
        } else {
            o.kind = op_kind::delete_where;
            o.group = groups[r() % groups.size()];
        }
    }
    o.hash = op_hash(o);
    return o;
}

}  // namespace torture
