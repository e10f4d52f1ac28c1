#pragma once
// libpq's binary wire format: statement parameters in, result columns out.
//
// Owns: the type OIDs the store uses, the big-endian put/get helpers, `params` (the binary
// parameters of one statement), `result` (a PGresult that clears itself) and the col_*
// decoders. Calls: libpq's result accessors only (no connection, no I/O); a malformed column
// throws pg_failure. Thread-safety: values and pure functions; a params or result object is
// used by one thread at a time.

#include <libpq-fe.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chromawal::wal::pg {

// Type OIDs (pg_type.dat; stable across releases).
inline constexpr Oid oid_bool = 16;
inline constexpr Oid oid_bytea = 17;
inline constexpr Oid oid_int8 = 20;
inline constexpr Oid oid_int2 = 21;
inline constexpr Oid oid_int4 = 23;
inline constexpr Oid oid_text = 25;
inline constexpr Oid oid_float8 = 701;
inline constexpr Oid oid_bytea_array = 1001;
inline constexpr Oid oid_int2_array = 1005;
inline constexpr Oid oid_int4_array = 1007;
inline constexpr Oid oid_text_array = 1009;

void put_u16(std::string& out, std::uint16_t v);
void put_u32(std::string& out, std::uint32_t v);
void put_u64(std::string& out, std::uint64_t v);
std::uint64_t get_be(const char* p, int n);

/// A size as an int8 parameter (capped at the largest int8).
std::int64_t clamp_size(std::size_t n);

/// Parameters of one statement, every one in binary format.
class params {
public:
    params& i64(std::int64_t v) {
        std::string s;
        put_u64(s, static_cast<std::uint64_t>(v));
        return add(std::move(s));
    }
    params& i32(std::int32_t v) {
        std::string s;
        put_u32(s, static_cast<std::uint32_t>(v));
        return add(std::move(s));
    }
    params& i16(std::int16_t v) {
        std::string s;
        put_u16(s, static_cast<std::uint16_t>(v));
        return add(std::move(s));
    }
    params& f64(double v) {
        std::uint64_t bits = 0;
        std::memcpy(&bits, &v, sizeof bits);
        std::string s;
        put_u64(s, bits);
        return add(std::move(s));
    }
    params& boolean(bool v) { return add(std::string(1, v ? '\1' : '\0')); }
    params& text(std::string_view v) { return add(std::string(v)); }
    params& bytes(std::string_view v) { return add(std::string(v)); }
    params& null() {
        data_.emplace_back();
        null_.push_back(true);
        return *this;
    }
    /// A one-dimensional array; `elements` are the binary forms of its (non-null) elements.
    template <class Range, class Encode>
    params& array(Oid element_type, const Range& elements, Encode encode) {
        std::string s;
        std::size_t n = std::size(elements);
        put_u32(s, n == 0 ? 0 : 1);  // dimensions
        put_u32(s, 0);               // no nulls
        put_u32(s, element_type);
        if (n > 0) {
            put_u32(s, static_cast<std::uint32_t>(n));
            put_u32(s, 1);  // lower bound
        }
        for (const auto& e : elements) {
            std::size_t len_at = s.size();
            put_u32(s, 0);
            encode(s, e);
            auto len = static_cast<std::uint32_t>(s.size() - len_at - 4);
            for (int i = 0; i < 4; ++i) s[len_at + i] = static_cast<char>((len >> (24 - 8 * i)) & 0xff);
        }
        return add(std::move(s));
    }
    params& text_array(const std::vector<std::string_view>& v) {
        return array(oid_text, v, [](std::string& s, std::string_view e) { s.append(e.data(), e.size()); });
    }
    params& text_array(const std::vector<std::string>& v) {
        return array(oid_text, v, [](std::string& s, const std::string& e) { s += e; });
    }

    int size() const { return static_cast<int>(data_.size()); }
    /// Pointer arrays for libpq; valid until the next change.
    void bind(std::vector<const char*>& values, std::vector<int>& lengths, std::vector<int>& formats) const;

private:
    params& add(std::string s) {
        data_.push_back(std::move(s));
        null_.push_back(false);
        return *this;
    }
    std::vector<std::string> data_;
    std::vector<bool> null_;
};

struct result_deleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using result = std::unique_ptr<PGresult, result_deleter>;

// Column decoders of a binary result; NULL reads as 0, false or empty.
std::int64_t col_i64(const PGresult* r, int row, int col);
std::int32_t col_i32(const PGresult* r, int row, int col);
std::int16_t col_i16(const PGresult* r, int row, int col);
double col_f64(const PGresult* r, int row, int col);
bool col_bool(const PGresult* r, int row, int col);
std::string col_bytes(const PGresult* r, int row, int col);

}  // namespace chromawal::wal::pg
