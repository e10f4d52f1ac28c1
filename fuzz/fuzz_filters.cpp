// libFuzzer target: filters given as raw JSON (where_filter::raw, document_filter::raw) and their
// combinations. Only chromawal::invalid_argument may escape. An accepted filter's JSON is its
// compact form, so accepting it again must give the same filter (a fixed point).
#include <chromawal/error.hpp>
#include <chromawal/filter.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void require(bool ok) {
    if (!ok) std::abort();
}

template <typename Filter>
void round_trip(std::string_view text) {
    Filter f;
    try {
        f = Filter::raw(text);
    } catch (const chromawal::invalid_argument&) {
        return;
    }
    require(!f.empty());
    const Filter again = Filter::raw(f.json());  // must not throw: it was accepted once
    require(again == f);
    // Combining accepted filters is always allowed.
    const Filter both = f && again;
    const Filter either = f || again;
    require(!both.empty() && !either.empty());
    require(Filter::raw(both.json()) == both);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    round_trip<chromawal::where_filter>(text);
    round_trip<chromawal::document_filter>(text);
    return 0;
}
