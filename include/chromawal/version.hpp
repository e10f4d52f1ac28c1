#pragma once
/// @file
/// chromawal's version.

#include <chromawal/export.hpp>

// The version, written only here: CMakeLists.txt reads these three numbers, and
// CHROMAWAL_VERSION_STRING is made from them.
#define CHROMAWAL_VERSION_MAJOR 0
#define CHROMAWAL_VERSION_MINOR 1
#define CHROMAWAL_VERSION_PATCH 0
#define CHROMAWAL_VERSION_STRINGIFY_(x) #x
#define CHROMAWAL_VERSION_STRINGIFY(x) CHROMAWAL_VERSION_STRINGIFY_(x)
/// "MAJOR.MINOR.PATCH", a string literal.
#define CHROMAWAL_VERSION_STRING                         \
    CHROMAWAL_VERSION_STRINGIFY(CHROMAWAL_VERSION_MAJOR) \
    "." CHROMAWAL_VERSION_STRINGIFY(CHROMAWAL_VERSION_MINOR) "." CHROMAWAL_VERSION_STRINGIFY(CHROMAWAL_VERSION_PATCH)

namespace chromawal {
/// The version of the library actually linked (may differ from the headers').
CHROMAWAL_API const char* version() noexcept;
}  // namespace chromawal
