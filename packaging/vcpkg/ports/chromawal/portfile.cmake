# An overlay port that builds the repository it lives in (packaging/vcpkg/ports/chromawal/ is
# four levels below the root): vcpkg install chromawal --overlay-ports=<repo>/packaging/vcpkg/ports
# A port in a registry would fetch a release instead:
#   vcpkg_from_github(OUT_SOURCE_PATH SOURCE_PATH REPO <owner>/chromawal REF "v${VERSION}" SHA512 <sha512> HEAD_REF main)
get_filename_component(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../../../.." ABSOLUTE)
if(NOT EXISTS "${SOURCE_PATH}/include/chromawal/version.hpp")
  message(FATAL_ERROR "chromawal's sources not found at ${SOURCE_PATH}: use this port from a clone of the repository")
endif()

vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
  FEATURES
    tools CHROMAWAL_BUILD_TOOLS
)

# BUILD_SHARED_LIBS follows the triplet's VCPKG_LIBRARY_LINKAGE (vcpkg_cmake_configure sets it).
vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS
    ${FEATURE_OPTIONS}
    -DCHROMAWAL_BUILD_TESTS=OFF
    -DCHROMAWAL_BUILD_EXAMPLES=OFF
    -DCHROMAWAL_BUILD_BENCH=OFF
    -DCHROMAWAL_INSTALL_CMAKEDIR=share/chromawal
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME chromawal CONFIG_PATH share/chromawal)
vcpkg_fixup_pkgconfig()

if("tools" IN_LIST FEATURES)
  vcpkg_copy_tools(TOOL_NAMES chromawal AUTO_CLEAN)
endif()

file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug/include" "${CURRENT_PACKAGES_DIR}/debug/share")

file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
