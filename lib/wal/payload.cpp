#include "wal/payload.hpp"

#include "chroma/metadata_json.hpp"
#include "json/writer.hpp"

#include <chromawal/error.hpp>

#include <algorithm>
#include <cstring>
#include <unordered_set>

namespace chromawal::wal {

namespace {

constexpr std::uint8_t version = 1;
constexpr std::uint8_t flag_embeddings = 1, flag_documents = 2, flag_metadatas = 4, flag_uris = 8;
constexpr std::uint32_t null_length = 0xFFFFFFFFu;

void put_u32(std::string& out, std::uint32_t v) {
    const char b[4] = {static_cast<char>(v & 0xFF), static_cast<char>((v >> 8) & 0xFF),
                       static_cast<char>((v >> 16) & 0xFF), static_cast<char>((v >> 24) & 0xFF)};
    out.append(b, 4);
}

void put_bytes(std::string& out, std::string_view s) {
    put_u32(out, static_cast<std::uint32_t>(s.size()));
    out.append(s);
}

void put_optional(std::string& out, const std::optional<std::string>& s) {
    if (s) {
        put_bytes(out, *s);
    } else {
        put_u32(out, null_length);
    }
}

class reader {
public:
    explicit reader(std::string_view data) : data_(data) {}
    void need(std::size_t n) const {
        if (data_.size() - pos_ < n) throw error("corrupt log payload: truncated");
    }
    std::uint8_t u8() {
        need(1);
        return static_cast<std::uint8_t>(data_[pos_++]);
    }
    std::uint32_t u32() {
        need(4);
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<std::uint8_t>(data_[pos_ + i])} << (8 * i);
        pos_ += 4;
        return v;
    }
    std::string bytes(std::uint32_t n) {
        need(n);
        std::string s(data_.substr(pos_, n));
        pos_ += n;
        return s;
    }
    std::optional<std::string> optional() {
        const std::uint32_t n = u32();
        if (n == null_length) return std::nullopt;
        return bytes(n);
    }
    void floats(float* out, std::size_t n) {
        need(n * 4);
        if constexpr (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) {
            std::memcpy(out, data_.data() + pos_, n * 4);
        } else {
            for (std::size_t i = 0; i < n; ++i) {
                std::uint32_t u = 0;
                for (int b = 0; b < 4; ++b)
                    u |= std::uint32_t{static_cast<std::uint8_t>(data_[pos_ + i * 4 + b])} << (8 * b);
                std::memcpy(out + i, &u, 4);
            }
        }
        pos_ += n * 4;
    }
    bool done() const { return pos_ == data_.size(); }

private:
    std::string_view data_;
    std::size_t pos_ = 0;
};

}  // namespace

std::string encode_records(const record_set& r) {
    const std::size_t n = r.ids.size();
    const std::uint32_t dim = r.embeddings.empty() ? 0 : static_cast<std::uint32_t>(r.embeddings.dim());
    std::string out;
    out.reserve(16 + n * (24 + dim * 4));
    out.push_back(static_cast<char>(version));
    std::uint8_t flags = 0;
    if (!r.embeddings.empty()) flags |= flag_embeddings;
    if (!r.documents.empty()) flags |= flag_documents;
    if (!r.metadatas.empty()) flags |= flag_metadatas;
    if (!r.uris.empty()) flags |= flag_uris;
    out.push_back(static_cast<char>(flags));
    put_u32(out, static_cast<std::uint32_t>(n));
    put_u32(out, dim);
    for (const auto& id : r.ids) put_bytes(out, id);
    if (flags & flag_embeddings) {
        const std::size_t bytes = n * dim * sizeof(float);
        if constexpr (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) {
            out.append(reinterpret_cast<const char*>(r.embeddings.data()), bytes);
        } else {
            for (std::size_t i = 0; i < n * dim; ++i) {
                std::uint32_t u;
                std::memcpy(&u, r.embeddings.data() + i, 4);
                put_u32(out, u);
            }
        }
    }
    if (flags & flag_documents) {
        for (const auto& d : r.documents) put_optional(out, d);
    }
    if (flags & flag_metadatas) {
        std::string json;
        for (const auto& m : r.metadatas) {
            if (!m) {
                put_u32(out, null_length);
                continue;
            }
            json.clear();
            json::writer w(json);
            detail::write_metadata(w, *m);
            put_bytes(out, json);
        }
    }
    if (flags & flag_uris) {
        for (const auto& u : r.uris) put_optional(out, u);
    }
    return out;
}

records_payload decode_records(std::string_view payload) {
    reader in(payload);
    if (in.u8() != version) throw error("corrupt log payload: unknown version");
    const std::uint8_t flags = in.u8();
    const std::uint32_t n = in.u32();
    records_payload p;
    p.dim = in.u32();
    if (n > payload.size()) throw error("corrupt log payload: bad count");
    p.ids.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) p.ids.push_back(in.bytes(in.u32()));
    if (flags & flag_embeddings) {
        in.need(std::size_t{n} * p.dim * 4);
        p.embeddings.resize(std::size_t{n} * p.dim);
        in.floats(p.embeddings.data(), p.embeddings.size());
    }
    auto read_list = [&](std::vector<std::optional<std::string>>& v) {
        v.reserve(n);
        for (std::uint32_t i = 0; i < n; ++i) v.push_back(in.optional());
    };
    if ((p.has_documents = (flags & flag_documents) != 0)) read_list(p.documents);
    if ((p.has_metadatas = (flags & flag_metadatas) != 0)) read_list(p.metadatas);
    if ((p.has_uris = (flags & flag_uris) != 0)) read_list(p.uris);
    if (!in.done()) throw error("corrupt log payload: trailing bytes");
    return p;
}

records_payload slice_records(const records_payload& p, std::size_t first, std::size_t count) {
    records_payload c;
    c.dim = p.dim;
    c.has_documents = p.has_documents;
    c.has_metadatas = p.has_metadatas;
    c.has_uris = p.has_uris;
    c.ids.assign(p.ids.begin() + static_cast<std::ptrdiff_t>(first),
                 p.ids.begin() + static_cast<std::ptrdiff_t>(first + count));
    if (!p.embeddings.empty()) {
        c.embeddings.assign(p.embeddings.begin() + static_cast<std::ptrdiff_t>(first * p.dim),
                            p.embeddings.begin() + static_cast<std::ptrdiff_t>((first + count) * p.dim));
    }
    auto slice = [&](const std::vector<std::optional<std::string>>& v, std::vector<std::optional<std::string>>& out) {
        if (!v.empty())
            out.assign(v.begin() + static_cast<std::ptrdiff_t>(first),
                       v.begin() + static_cast<std::ptrdiff_t>(first + count));
    };
    slice(p.documents, c.documents);
    slice(p.metadatas, c.metadatas);
    slice(p.uris, c.uris);
    return c;
}

std::vector<records_payload> split_records(const records_payload& p, std::size_t max_records) {
    std::vector<records_payload> chunks;
    for (std::size_t start = 0; start < p.ids.size(); start += max_records) {
        chunks.push_back(slice_records(p, start, std::min(max_records, p.ids.size() - start)));
    }
    return chunks;
}

std::size_t record_bytes(const records_payload& p, std::size_t i, bool base64) {
    // As the single-server client's estimate (lib/api/chroma_client.cpp): a float32 is at most
    // 12 characters as a JSON number, 16/3 as base64; strings count with quotes and separators.
    std::size_t b = 16 + p.ids[i].size();
    if (!p.embeddings.empty()) b += static_cast<std::size_t>(p.dim) * (base64 ? 6 : 12);
    auto add = [&](const std::vector<std::optional<std::string>>& v) {
        if (i < v.size() && v[i]) b += v[i]->size() + 8;
    };
    add(p.documents);
    add(p.metadatas);
    add(p.uris);
    return b;
}

std::size_t payload_bytes(const records_payload& p, bool base64) {
    std::size_t total = 0;
    for (std::size_t i = 0; i < p.ids.size(); ++i) total += record_bytes(p, i, base64);
    return total;
}

std::vector<records_payload> split_records(const records_payload& p, std::size_t max_records, std::size_t max_bytes,
                                           bool base64) {
    std::vector<records_payload> chunks;
    const std::size_t n = p.ids.size();
    for (std::size_t first = 0; first < n;) {
        std::size_t count = 0, bytes = 0;
        while (first + count < n && count < max_records) {
            const std::size_t b = record_bytes(p, first + count, base64);
            if (count > 0 && bytes + b > max_bytes) break;
            bytes += b;
            ++count;
        }
        chunks.push_back(slice_records(p, first, count));
        first += count;
    }
    return chunks;
}

bool can_merge(const records_payload& a, const records_payload& b) {
    if (a.embeddings.empty() != b.embeddings.empty()) return false;
    if (!a.embeddings.empty() && a.dim != b.dim) return false;
    std::unordered_set<std::string_view> ids(a.ids.begin(), a.ids.end());
    for (const auto& id : b.ids) {
        if (ids.count(id)) return false;
    }
    return true;
}

void write_records_body(std::string& out, const std::vector<const records_payload*>& parts, bool base64) {
    bool docs = false, metas = false, uris = false, emb = false;
    std::size_t total = 0;
    for (const auto* p : parts) {
        docs |= p->has_documents;
        metas |= p->has_metadatas;
        uris |= p->has_uris;
        emb |= !p->embeddings.empty();
        total += p->ids.size() * (32 + p->dim * (base64 ? 6 : 12));
    }
    out.reserve(out.size() + total);
    json::writer w(out);
    w.begin_object().key("ids").begin_array();
    for (const auto* p : parts) {
        for (const auto& id : p->ids) w.string(id);
    }
    w.end_array();
    if (emb) {
        w.key("embeddings").begin_array();
        for (const auto* p : parts) {
            for (std::size_t i = 0; i < p->ids.size(); ++i) {
                const float* row = p->embeddings.data() + i * p->dim;
                if (base64) {
                    w.base64_floats(row, p->dim);
                } else {
                    w.float_array(row, p->dim);
                }
            }
        }
        w.end_array();
    }
    // A part without a field contributes nulls: "no value" for add, "unchanged" for update and
    // upsert, which is what leaving the field out meant for that part.
    auto list = [&](const char* key, bool any, bool records_payload::*has,
                    std::vector<std::optional<std::string>> records_payload::*values, bool raw) {
        if (!any) return;
        w.key(key).begin_array();
        for (const auto* p : parts) {
            for (std::size_t i = 0; i < p->ids.size(); ++i) {
                const auto* v = (p->*has) ? &(p->*values)[i] : nullptr;
                if (!v || !*v) {
                    w.null();
                } else if (raw) {
                    w.raw(**v);
                } else {
                    w.string(**v);
                }
            }
        }
        w.end_array();
    };
    list("documents", docs, &records_payload::has_documents, &records_payload::documents, false);
    list("metadatas", metas, &records_payload::has_metadatas, &records_payload::metadatas, true);
    list("uris", uris, &records_payload::has_uris, &records_payload::uris, false);
    w.end_object();
}

}  // namespace chromawal::wal
