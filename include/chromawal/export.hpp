#pragma once
/// @file
/// CHROMAWAL_API: marks what a shared chromawal exports (the library is compiled with hidden
/// visibility by default, so anything not marked stays internal).
///
/// The build system defines CHROMAWAL_LIB_EXPORT while compiling a shared chromawal, and
/// CHROMAWAL_SHARED for the programs that use it (the CMake package and the pkg-config file do
/// this). With neither (a static chromawal) the macro is empty.
///
/// Marked: the classes with functions defined in the library, every exception class (so that
/// their typeinfo and vtables are the library's own and a catch in the program matches what
/// the library throws) and the free functions. Header-only types need no mark.

#if defined(_WIN32) && defined(CHROMAWAL_LIB_EXPORT)
#define CHROMAWAL_API __declspec(dllexport)
#elif defined(_WIN32) && defined(CHROMAWAL_SHARED)
#define CHROMAWAL_API __declspec(dllimport)
#elif defined(CHROMAWAL_LIB_EXPORT) || defined(CHROMAWAL_SHARED)
#define CHROMAWAL_API __attribute__((visibility("default")))
#else
#define CHROMAWAL_API
#endif
