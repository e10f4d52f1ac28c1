#include <chromawal/version.hpp>

namespace chromawal {
const char* version() noexcept { return CHROMAWAL_VERSION_STRING; }
}  // namespace chromawal
