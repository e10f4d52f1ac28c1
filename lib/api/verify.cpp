#include <chromawal/verify.hpp>

#include "api/verify_detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <optional>
#include <type_traits>

namespace chromawal {

namespace detail {

namespace {

// ---- canonical bytes ----

void put_u8(std::string& out, unsigned char v) { out += static_cast<char>(v); }

void put_u64(std::string& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

void put_bytes(std::string& out, std::string_view s) {
    put_u64(out, s.size());
    out.append(s.data(), s.size());
}

void put_double(std::string& out, double d) {
    if (d == 0) d = 0;  // -0.0 and 0.0 are the same value (metadata compares by value)
    std::uint64_t bits = 0;
    std::memcpy(&bits, &d, sizeof bits);
    put_u64(out, bits);
}

void put_value(std::string& out, const metadata_value& v) {
    std::visit(
        [&out](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::nullptr_t>) {
                put_u8(out, 'n');
            } else if constexpr (std::is_same_v<T, bool>) {
                put_u8(out, 'b');
                put_u8(out, x ? 1 : 0);
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
                put_u8(out, 'i');
                put_u64(out, static_cast<std::uint64_t>(x));
            } else if constexpr (std::is_same_v<T, double>) {
                put_u8(out, 'f');
                put_double(out, x);
            } else if constexpr (std::is_same_v<T, std::string>) {
                put_u8(out, 's');
                put_bytes(out, x);
            } else if constexpr (std::is_same_v<T, metadata_value::array_bool>) {
                put_u8(out, 'B');
                put_u64(out, x.size());
                for (bool e : x) put_u8(out, e ? 1 : 0);
            } else if constexpr (std::is_same_v<T, metadata_value::array_int>) {
                put_u8(out, 'I');
                put_u64(out, x.size());
                for (std::int64_t e : x) put_u64(out, static_cast<std::uint64_t>(e));
            } else if constexpr (std::is_same_v<T, metadata_value::array_float>) {
                put_u8(out, 'F');
                put_u64(out, x.size());
                for (double e : x) put_double(out, e);
            } else {
                put_u8(out, 'S');
                put_u64(out, x.size());
                for (const auto& e : x) put_bytes(out, e);
            }
        },
        v.value());
}

// ---- MurmurHash3 x64 128 (public domain, Austin Appleby), over the canonical bytes ----

std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

std::uint64_t fmix(std::uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

std::uint64_t load_u64(const unsigned char* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

hash128 murmur3_128(std::string_view data, std::uint64_t seed) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    const std::size_t len = data.size();
    const std::size_t blocks = len / 16;
    std::uint64_t h1 = seed, h2 = seed;
    const std::uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
    for (std::size_t i = 0; i < blocks; ++i) {
        std::uint64_t k1 = load_u64(p + i * 16), k2 = load_u64(p + i * 16 + 8);
        k1 *= c1;
        k1 = rotl(k1, 31);
        k1 *= c2;
        h1 ^= k1;
        h1 = rotl(h1, 27);
        h1 += h2;
        h1 = h1 * 5 + 0x52dce729;
        k2 *= c2;
        k2 = rotl(k2, 33);
        k2 *= c1;
        h2 ^= k2;
        h2 = rotl(h2, 31);
        h2 += h1;
        h2 = h2 * 5 + 0x38495ab5;
    }
    const unsigned char* tail = p + blocks * 16;
    std::uint64_t k1 = 0, k2 = 0;
    const std::size_t rest = len & 15;
    for (std::size_t i = rest; i > 8; --i) k2 ^= static_cast<std::uint64_t>(tail[i - 1]) << (8 * (i - 9));
    if (rest > 8) {
        k2 *= c2;
        k2 = rotl(k2, 33);
        k2 *= c1;
        h2 ^= k2;
    }
    for (std::size_t i = std::min<std::size_t>(rest, 8); i > 0; --i)
        k1 ^= static_cast<std::uint64_t>(tail[i - 1]) << (8 * (i - 1));
    if (rest > 0) {
        k1 *= c1;
        k1 = rotl(k1, 31);
        k1 *= c2;
        h1 ^= k1;
    }
    h1 ^= len;
    h2 ^= len;
    h1 += h2;
    h2 += h1;
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 += h2;
    h2 += h1;
    return hash128{h1, h2};
}

template <typename T>
const T* at_or_null(const std::vector<T>& v, std::size_t i) {
    return i < v.size() ? &v[i] : nullptr;
}

void append_page(get_result& all, get_result&& page) {
    const std::size_t dim = page.embeddings.dim();
    if (all.ids.empty()) all.embeddings.set_dim(dim);
    all.ids.insert(all.ids.end(), std::make_move_iterator(page.ids.begin()), std::make_move_iterator(page.ids.end()));
    auto& v = all.embeddings.values();
    v.insert(v.end(), page.embeddings.values().begin(), page.embeddings.values().end());
    all.documents.insert(all.documents.end(), std::make_move_iterator(page.documents.begin()),
                         std::make_move_iterator(page.documents.end()));
    all.metadatas.insert(all.metadatas.end(), std::make_move_iterator(page.metadatas.begin()),
                         std::make_move_iterator(page.metadatas.end()));
}

/// Calls `f` with every page of the collection; false when the collection does not exist.
template <typename F>
bool for_each_page(const chroma_client& c, std::string_view name, std::size_t page_size,
                   std::optional<collection_info>* info, F&& f) {
    std::optional<chroma_collection> coll;
    try {
        coll = c.get_collection(name);
    } catch (const not_found&) {
        return false;
    }
    if (info) *info = coll->info();
    if (page_size == 0) page_size = 1000;
    get_options o;
    o.include = include_fields::documents | include_fields::metadatas | include_fields::embeddings;
    o.limit = page_size;
    for (std::size_t offset = 0;; offset += page_size) {
        o.offset = offset;
        get_result page = coll->get(o);
        const std::size_t n = page.size();
        f(std::move(page));
        if (n < page_size) break;
    }
    return true;
}

/// Exact comparison of two stored records (embeddings bit for bit).
bool same_record(const get_result& ra, std::size_t i, const get_result& rb, std::size_t j) {
    auto doc = [](const get_result& r, std::size_t k) {
        const auto* d = at_or_null(r.documents, k);
        return d ? *d : std::nullopt;
    };
    auto meta = [](const get_result& r, std::size_t k) -> const std::optional<metadata_map>* {
        return at_or_null(r.metadatas, k);
    };
    if (doc(ra, i) != doc(rb, j)) return false;
    const auto* ma = meta(ra, i);
    const auto* mb = meta(rb, j);
    const bool has_a = ma && ma->has_value(), has_b = mb && mb->has_value();
    if (has_a != has_b || (has_a && **ma != **mb)) return false;
    const bool ea = i < ra.embeddings.rows(), eb = j < rb.embeddings.rows();
    if (ea != eb) return false;
    if (!ea) return true;
    const std::size_t da = ra.embeddings.dim(), db = rb.embeddings.dim();
    return da == db && std::memcmp(ra.embeddings.row(i), rb.embeddings.row(j), da * sizeof(float)) == 0;
}

}  // namespace

void canonical_record(const get_result& r, std::size_t i, std::string& out) {
    put_u8(out, 'R');
    put_bytes(out, r.ids[i]);
    const auto* doc = at_or_null(r.documents, i);
    if (doc && doc->has_value()) {
        put_u8(out, 'D');
        put_bytes(out, **doc);
    } else {
        put_u8(out, 'd');
    }
    const auto* meta = at_or_null(r.metadatas, i);
    if (meta && meta->has_value()) {
        put_u8(out, 'M');
        put_u64(out, (*meta)->size());
        for (const auto& [key, value] : **meta) {  // std::map: sorted by key bytes
            put_bytes(out, key);
            put_value(out, value);
        }
    } else {
        put_u8(out, 'm');
    }
    if (i < r.embeddings.rows()) {
        const std::size_t dim = r.embeddings.dim();
        put_u8(out, 'E');
        put_u64(out, dim);
        const float* row = r.embeddings.row(i);
        for (std::size_t k = 0; k < dim; ++k) {
            std::uint32_t bits = 0;
            std::memcpy(&bits, &row[k], sizeof bits);
            for (int s = 0; s < 4; ++s) out += static_cast<char>((bits >> (8 * s)) & 0xFF);
        }
    } else {
        put_u8(out, 'e');
    }
}

hash128 record_hash(const get_result& r, std::size_t i, std::string& scratch) {
    scratch.clear();
    canonical_record(r, i, scratch);
    return murmur3_128(scratch, 0x63686d7761ULL);  // "chmwa"
}

void add_to_digest(collection_digest& d, const hash128& h) noexcept {
    const std::uint64_t low = d.low + h.low;
    d.high += h.high + (low < d.low ? 1 : 0);
    d.low = low;
    ++d.records;
}

collection_snapshot read_snapshot(const chroma_client& c, std::string_view collection, std::size_t page_size) {
    collection_snapshot s;
    s.exists = for_each_page(c, collection, page_size, &s.info,
                             [&](get_result&& page) { append_page(s.records, std::move(page)); });
    s.order.resize(s.records.ids.size());
    std::iota(s.order.begin(), s.order.end(), 0);
    std::sort(s.order.begin(), s.order.end(),
              [&](std::size_t x, std::size_t y) { return s.records.ids[x] < s.records.ids[y]; });
    return s;
}

void diff_snapshots(const collection_snapshot& a, const collection_snapshot& b,
                    const std::function<void(difference, std::size_t, std::size_t)>& f) {
    constexpr std::size_t none = static_cast<std::size_t>(-1);
    const auto& ia = a.records.ids;
    const auto& ib = b.records.ids;
    std::size_t x = 0, y = 0;
    while (x < a.order.size() || y < b.order.size()) {
        if (y == b.order.size() || (x < a.order.size() && ia[a.order[x]] < ib[b.order[y]])) {
            f(difference::only_a, a.order[x++], none);
        } else if (x == a.order.size() || ib[b.order[y]] < ia[a.order[x]]) {
            f(difference::only_b, none, b.order[y++]);
        } else {
            if (!same_record(a.records, a.order[x], b.records, b.order[y]))
                f(difference::different, a.order[x], b.order[y]);
            ++x;
            ++y;
        }
    }
}

collection_digest snapshot_digest(const collection_snapshot& s) {
    collection_digest d;
    d.exists = s.exists;
    std::string scratch;
    for (std::size_t i = 0; i < s.records.ids.size(); ++i) add_to_digest(d, record_hash(s.records, i, scratch));
    return d;
}

std::vector<std::string> all_collection_names(const chroma_client& c) {
    constexpr std::size_t page = 1000;
    std::vector<std::string> names;
    for (std::size_t offset = 0;; offset += page) {
        const auto list = c.list_collections(page, offset);
        for (const auto& coll : list) names.push_back(coll.name());
        if (list.size() < page) break;
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
}

}  // namespace detail

std::string collection_digest::hex() const {
    if (!exists) return {};
    return fmt::format("{:016x}{:016x}", high, low);
}

std::string verify_report::summary() const {
    if (!exists_a && !exists_b) return fmt::format("collection '{}': on neither instance", collection_name);
    if (identical()) return fmt::format("collection '{}': identical ({} records)", collection_name, records_a);
    return fmt::format("collection '{}': DIFFERENT: {}{} records vs {}{}; {} only in a, {} only in b, {} differ",
                       collection_name, records_a, exists_a ? "" : " (missing)", records_b,
                       exists_b ? "" : " (missing)", only_in_a.size(), only_in_b.size(), different.size());
}

collection_digest digest_collection(const chroma_client& c, std::string_view collection,
                                    const compare_options& options) {
    const std::size_t page_size = options.page_size;
    collection_digest d;
    std::string scratch;
    d.exists = detail::for_each_page(c, collection, page_size, nullptr, [&](get_result&& page) {
        for (std::size_t i = 0; i < page.size(); ++i) detail::add_to_digest(d, detail::record_hash(page, i, scratch));
    });
    return d;
}

verify_report verify_collection(const chroma_client& a, const chroma_client& b, std::string_view collection,
                                const compare_options& options) {
    const std::size_t page_size = options.page_size;
    const std::size_t max_listed = options.max_listed;
    verify_report r;
    r.collection_name = std::string(collection);
    const detail::collection_snapshot sa = detail::read_snapshot(a, collection, page_size);
    const detail::collection_snapshot sb = detail::read_snapshot(b, collection, page_size);
    r.exists_a = sa.exists;
    r.exists_b = sb.exists;
    r.records_a = sa.records.size();
    r.records_b = sb.records.size();
    r.digest_a = detail::snapshot_digest(sa).hex();
    r.digest_b = detail::snapshot_digest(sb).hex();
    r.compared_ids = true;
    auto note = [max_listed](std::vector<std::string>& list, const std::string& id) {
        if (list.size() < max_listed) list.push_back(id);
    };
    detail::diff_snapshots(sa, sb, [&](detail::difference d, std::size_t i, std::size_t j) {
        switch (d) {
            case detail::difference::only_a:
                note(r.only_in_a, sa.records.ids[i]);
                break;
            case detail::difference::only_b:
                note(r.only_in_b, sb.records.ids[j]);
                break;
            case detail::difference::different:
                note(r.different, sa.records.ids[i]);
                break;
        }
    });
    return r;
}

verify_report verify_collection_by_digest(const chroma_client& a, const chroma_client& b, std::string_view collection,
                                          const compare_options& options) {
    const collection_digest da = digest_collection(a, collection, options);
    const collection_digest db = digest_collection(b, collection, options);
    if (da != db) {
        return verify_collection(a, b, collection, options);
    }
    verify_report r;
    r.collection_name = std::string(collection);
    r.exists_a = da.exists;
    r.exists_b = db.exists;
    r.records_a = da.records;
    r.records_b = db.records;
    r.digest_a = da.hex();
    r.digest_b = db.hex();
    return r;
}

}  // namespace chromawal
