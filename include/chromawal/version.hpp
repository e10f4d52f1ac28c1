#pragma once
/// @file
/// chromawal's version.

#include <chromawal/export.hpp>

#define CHROMAWAL_VERSION_MAJOR 0
#define CHROMAWAL_VERSION_MINOR 1
#define CHROMAWAL_VERSION_PATCH 0
#define CHROMAWAL_VERSION_STRING "0.1.0"

namespace chromawal {
/// The version of the library actually linked (may differ from the headers').
CHROMAWAL_API const char* version() noexcept;
}  // namespace chromawal
