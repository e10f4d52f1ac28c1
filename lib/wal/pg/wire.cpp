#include "wal/pg/wire.hpp"

#include <cstring>
#include <limits>

#include "wal/pg/failure.hpp"

namespace chromawal::wal::pg {

void put_u16(std::string& out, std::uint16_t v) {
    out += static_cast<char>(v >> 8);
    out += static_cast<char>(v & 0xff);
}
void put_u32(std::string& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}
void put_u64(std::string& out, std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

std::uint64_t get_be(const char* p, int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

std::int64_t clamp_size(std::size_t n) {
    return n > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())
               ? std::numeric_limits<std::int64_t>::max()
               : static_cast<std::int64_t>(n);
}

void params::bind(std::vector<const char*>& values, std::vector<int>& lengths, std::vector<int>& formats) const {
    values.clear();
    lengths.clear();
    formats.assign(data_.size(), 1);
    for (std::size_t i = 0; i < data_.size(); ++i) {
        values.push_back(null_[i] ? nullptr : data_[i].data());
        lengths.push_back(static_cast<int>(data_[i].size()));
    }
}

namespace {

[[noreturn]] void bad_column(int col) {
    throw pg_failure("unexpected binary value in result column " + std::to_string(col), false);
}

}  // namespace

std::int64_t col_i64(const PGresult* r, int row, int col) {
    if (PQgetisnull(r, row, col)) return 0;
    if (PQgetlength(r, row, col) != 8) bad_column(col);
    return static_cast<std::int64_t>(get_be(PQgetvalue(r, row, col), 8));
}
std::int32_t col_i32(const PGresult* r, int row, int col) {
    if (PQgetisnull(r, row, col)) return 0;
    if (PQgetlength(r, row, col) != 4) bad_column(col);
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(get_be(PQgetvalue(r, row, col), 4)));
}
std::int16_t col_i16(const PGresult* r, int row, int col) {
    if (PQgetisnull(r, row, col)) return 0;
    if (PQgetlength(r, row, col) != 2) bad_column(col);
    return static_cast<std::int16_t>(static_cast<std::uint16_t>(get_be(PQgetvalue(r, row, col), 2)));
}
double col_f64(const PGresult* r, int row, int col) {
    if (PQgetisnull(r, row, col)) return 0;
    if (PQgetlength(r, row, col) != 8) bad_column(col);
    std::uint64_t bits = get_be(PQgetvalue(r, row, col), 8);
    double d = 0;
    std::memcpy(&d, &bits, sizeof d);
    return d;
}
bool col_bool(const PGresult* r, int row, int col) {
    if (PQgetisnull(r, row, col)) return false;
    if (PQgetlength(r, row, col) != 1) bad_column(col);
    return PQgetvalue(r, row, col)[0] != 0;
}
std::string col_bytes(const PGresult* r, int row, int col) {
    if (PQgetisnull(r, row, col)) return {};
    return std::string(PQgetvalue(r, row, col), static_cast<std::size_t>(PQgetlength(r, row, col)));
}

}  // namespace chromawal::wal::pg
