# Finds civetweb (the embedded HTTP server of the metrics listener) by its header and library,
# and defines the imported target chromawal::civetweb.
#
# Why not find_package(civetweb CONFIG): Debian's libcivetweb-dev ships a CMake package whose
# targets file also lists the civetweb executable (package `civetweb`) and fails when it is not
# installed. Installed next to chromawal-config.cmake, so that a consumer of a static chromawal
# finds it the same way (find_dependency(ChromawalCivetweb)).
include(FindPackageHandleStandardArgs)
include(CMakeFindDependencyMacro)

find_path(CHROMAWAL_CIVETWEB_INCLUDE_DIR civetweb.h)
find_library(CHROMAWAL_CIVETWEB_LIBRARY NAMES civetweb)
find_package_handle_standard_args(ChromawalCivetweb
  REQUIRED_VARS CHROMAWAL_CIVETWEB_LIBRARY CHROMAWAL_CIVETWEB_INCLUDE_DIR
  REASON_FAILURE_MESSAGE "install libcivetweb-dev (scripts/install-deps.sh)")
mark_as_advanced(CHROMAWAL_CIVETWEB_INCLUDE_DIR CHROMAWAL_CIVETWEB_LIBRARY)

if(ChromawalCivetweb_FOUND AND NOT TARGET chromawal::civetweb)
  find_dependency(Threads)
  add_library(chromawal::civetweb UNKNOWN IMPORTED)
  set_target_properties(chromawal::civetweb PROPERTIES
    IMPORTED_LOCATION "${CHROMAWAL_CIVETWEB_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CHROMAWAL_CIVETWEB_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "Threads::Threads;${CMAKE_DL_LIBS}")
endif()
