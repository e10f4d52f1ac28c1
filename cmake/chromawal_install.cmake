# Install rules: the library, its public headers, a CMake package config
# (find_package(chromawal CONFIG) -> chromawal::chromawal) and a pkg-config file.
include(CMakePackageConfigHelpers)

# Where the CMake package files go; the vcpkg port puts them under share/chromawal, its layout.
set(CHROMAWAL_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/chromawal" CACHE STRING
    "Install folder of chromawal's CMake package files, relative to the prefix")
set(CHROMAWAL_CMAKE_DIR "${CHROMAWAL_INSTALL_CMAKEDIR}")

install(TARGETS chromawal EXPORT chromawal-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/chromawal DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT chromawal-targets NAMESPACE chromawal:: DESTINATION ${CHROMAWAL_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/chromawal-config.cmake.in
  ${PROJECT_BINARY_DIR}/chromawal-config.cmake
  INSTALL_DESTINATION ${CHROMAWAL_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/chromawal-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/chromawal-config.cmake ${PROJECT_BINARY_DIR}/chromawal-config-version.cmake
              ${PROJECT_SOURCE_DIR}/cmake/FindChromawalCivetweb.cmake
  DESTINATION ${CHROMAWAL_CMAKE_DIR})

# pkg-config: a static library needs its private dependencies on the consumer's link line; a
# shared one's users get CHROMAWAL_SHARED, as through the CMake package (include/chromawal/export.hpp).
# civetweb ships no .pc file: it is named as a library (-lcivetweb -ldl).
if(BUILD_SHARED_LIBS)
  set(CHROMAWAL_PC_REQUIRES_PRIVATE "libcurl libpq sqlite3 simdjson fmt")
  set(CHROMAWAL_PC_REQUIRES "")
  set(CHROMAWAL_PC_LIBS "")
  set(CHROMAWAL_PC_LIBS_PRIVATE "-lcivetweb -ldl")
  set(CHROMAWAL_PC_DEFINES " -DCHROMAWAL_SHARED")
else()
  set(CHROMAWAL_PC_REQUIRES "libcurl libpq sqlite3 simdjson fmt")
  set(CHROMAWAL_PC_REQUIRES_PRIVATE "")
  set(CHROMAWAL_PC_LIBS " -lcivetweb -ldl")
  set(CHROMAWAL_PC_LIBS_PRIVATE "")
  set(CHROMAWAL_PC_DEFINES "")
endif()
# Relocatable: the prefix is found from the .pc file's own place, so `cmake --install --prefix`
# to any folder gives a working file.
file(RELATIVE_PATH CHROMAWAL_PC_PREFIX "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
configure_file(${PROJECT_SOURCE_DIR}/cmake/chromawal.pc.in ${PROJECT_BINARY_DIR}/chromawal.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/chromawal.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
