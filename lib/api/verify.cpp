#include <chromawal/verify.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <optional>

namespace chromawal {

namespace {

struct snapshot {
    bool exists = false;
    get_result records;
    std::vector<std::size_t> order;  // indices sorted by id
};

void append(get_result& all, get_result&& page) {
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

snapshot read_all(const chroma_client& c, std::string_view name, std::size_t page_size) {
    snapshot s;
    std::optional<chroma_collection> coll;
    try {
        coll = c.get_collection(name);
    } catch (const not_found&) {
        return s;
    }
    s.exists = true;
    get_options o;
    o.include = include::documents | include::metadatas | include::embeddings;
    o.limit = page_size;
    for (std::size_t offset = 0;; offset += page_size) {
        o.offset = offset;
        get_result page = coll->get(o);
        const std::size_t n = page.size();
        append(s.records, std::move(page));
        if (n < page_size) break;
    }
    s.order.resize(s.records.ids.size());
    std::iota(s.order.begin(), s.order.end(), 0);
    std::sort(s.order.begin(), s.order.end(),
              [&](std::size_t x, std::size_t y) { return s.records.ids[x] < s.records.ids[y]; });
    return s;
}

bool same_record(const snapshot& a, std::size_t i, const snapshot& b, std::size_t j) {
    const auto& ra = a.records;
    const auto& rb = b.records;
    auto opt = [](const auto& v, std::size_t k) { return k < v.size() ? v[k] : std::nullopt; };
    if (opt(ra.documents, i) != opt(rb.documents, j)) return false;
    if (opt(ra.metadatas, i) != opt(rb.metadatas, j)) return false;
    const std::size_t da = ra.embeddings.dim(), db = rb.embeddings.dim();
    const bool ea = i < ra.embeddings.rows(), eb = j < rb.embeddings.rows();
    if (ea != eb) return false;
    if (!ea) return true;
    return da == db && std::memcmp(ra.embeddings.row(i), rb.embeddings.row(j), da * sizeof(float)) == 0;
}

}  // namespace

std::string verify_report::summary() const {
    if (!exists_a && !exists_b) return fmt::format("collection '{}': on neither instance", collection);
    if (identical()) return fmt::format("collection '{}': identical ({} records)", collection, records_a);
    return fmt::format("collection '{}': DIFFERENT: {}{} records vs {}{}; {} only in a, {} only in b, {} differ",
                       collection, records_a, exists_a ? "" : " (missing)", records_b, exists_b ? "" : " (missing)",
                       only_in_a.size(), only_in_b.size(), different.size());
}

verify_report verify_collection(const chroma_client& a, const chroma_client& b, std::string_view collection,
                                std::size_t page_size, std::size_t max_listed) {
    verify_report r;
    r.collection = std::string(collection);
    const snapshot sa = read_all(a, collection, page_size);
    const snapshot sb = read_all(b, collection, page_size);
    r.exists_a = sa.exists;
    r.exists_b = sb.exists;
    r.records_a = sa.records.size();
    r.records_b = sb.records.size();
    auto note = [max_listed](std::vector<std::string>& list, const std::string& id) {
        if (list.size() < max_listed) list.push_back(id);
    };
    std::size_t x = 0, y = 0;
    while (x < sa.order.size() || y < sb.order.size()) {
        if (y == sb.order.size() ||
            (x < sa.order.size() && sa.records.ids[sa.order[x]] < sb.records.ids[sb.order[y]])) {
            note(r.only_in_a, sa.records.ids[sa.order[x++]]);
        } else if (x == sa.order.size() || sb.records.ids[sb.order[y]] < sa.records.ids[sa.order[x]]) {
            note(r.only_in_b, sb.records.ids[sb.order[y++]]);
        } else {
            if (!same_record(sa, sa.order[x], sb, sb.order[y])) note(r.different, sa.records.ids[sa.order[x]]);
            ++x;
            ++y;
        }
    }
    return r;
}

}  // namespace chromawal
