import os
import re

from conan import ConanFile
from conan.errors import ConanException
from conan.tools.build import check_min_cppstd
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load, rm, rmdir

required_conan_version = ">=2.0.9"


class ChromawalConan(ConanFile):
    name = "chromawal"
    description = "Replicated, write-ahead-logged client for self-hosted Chroma"
    license = "Apache-2.0"
    # No url/homepage yet: the project has no public address to name (Conan Center needs both).
    topics = ("chroma", "vector-database", "replication", "write-ahead-log", "postgresql")
    package_type = "library"
    settings = "os", "arch", "compiler", "build_type"
    options = {
        "shared": [True, False],
        "fPIC": [True, False],
        "with_tools": [True, False],
    }
    default_options = {
        "shared": False,
        "fPIC": True,
        "with_tools": False,
    }

    # This recipe lives in the repository (packaging/conan/) and packages the sources around
    # it; a Conan Center recipe would instead download a release archive in source().
    @property
    def _repo_root(self):
        return os.path.join(self.recipe_folder, "..", "..")

    # The private dependencies, Conan Center references. One list: a new dependency is one line
    # here (and one in packaging/conan/profiles/debian for the system-package test).
    # Each maps to the reference and to the library's link name (used only when the dependency is
    # the system's, see package_info()).
    @property
    def _dependencies(self):
        return {
            "libcurl": ("libcurl/[>=7.78.0 <9]", "curl"),
            "libpq": ("libpq/[>=14 <18]", "pq"),
            "simdjson": ("simdjson/[>=3.0.1 <4]", "simdjson"),
            "fmt": ("fmt/[>=9.1.0 <12]", "fmt"),
            "sqlite3": ("sqlite3/[>=3.40.0 <4]", "sqlite3"),
            "civetweb": ("civetweb/[>=1.15 <2]", "civetweb"),
        }

    def set_version(self):
        # The version is written once, in include/chromawal/version.hpp.
        text = load(self, os.path.join(self._repo_root, "include", "chromawal", "version.hpp"))
        parts = [re.search(rf"#define CHROMAWAL_VERSION_{p} +(\d+)", text) for p in ("MAJOR", "MINOR", "PATCH")]
        if not all(parts):
            raise ConanException("include/chromawal/version.hpp: CHROMAWAL_VERSION_MAJOR/MINOR/PATCH not found")
        self.version = ".".join(m.group(1) for m in parts)

    def export_sources(self):
        for pattern in ("CMakeLists.txt", "LICENSE", "cmake/*", "include/*", "lib/*", "tools/*"):
            copy(self, pattern, src=self._repo_root, dst=self.export_sources_folder)

    def config_options(self):
        if self.settings.os == "Windows":
            del self.options.fPIC

    def configure(self):
        if self.options.shared:
            self.options.rm_safe("fPIC")

    def layout(self):
        cmake_layout(self, src_folder=".")

    def requirements(self):
        # All private to the library: no dependency's type appears in a public header. A static
        # chromawal still needs them at link time, which Conan's default traits handle.
        for ref, _ in self._dependencies.values():
            self.requires(ref)
        if self.options.with_tools:
            self.requires("cli11/[>=2.1.2 <3]", visible=False)

    def validate(self):
        if self.settings.compiler.get_safe("cppstd"):
            check_min_cppstd(self, 17)

    def generate(self):
        tc = CMakeToolchain(self)
        tc.cache_variables["CHROMAWAL_BUILD_TESTS"] = False
        tc.cache_variables["CHROMAWAL_BUILD_EXAMPLES"] = False
        tc.cache_variables["CHROMAWAL_BUILD_BENCH"] = False
        tc.cache_variables["CHROMAWAL_BUILD_FUZZERS"] = False
        tc.cache_variables["CHROMAWAL_BUILD_TOOLS"] = bool(self.options.with_tools)
        tc.cache_variables["CHROMAWAL_INSTALL"] = True
        tc.generate()
        # Conan Center's packages already carry the names CMakeLists.txt asks find_package() for
        # (CURL, PostgreSQL, simdjson, fmt, SQLite3, CLI11; civetweb through cmake/FindChromawalCivetweb.cmake,
        # which finds the library on the paths the toolchain gives). Dependencies from [platform_requires] get no
        # generated file: find_package() then falls back to the system's Find modules and configs.
        deps = CMakeDeps(self)
        deps.generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def package(self):
        copy(self, "LICENSE", src=self.source_folder, dst=os.path.join(self.package_folder, "licenses"))
        cmake = CMake(self)
        cmake.install()
        # Conan's generators describe the package; the project's own files would compete.
        rmdir(self, os.path.join(self.package_folder, "lib", "cmake"))
        rmdir(self, os.path.join(self.package_folder, "lib", "pkgconfig"))
        rm(self, "*.pdb", self.package_folder, recursive=True)

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "chromawal")
        self.cpp_info.set_property("cmake_target_name", "chromawal::chromawal")
        self.cpp_info.set_property("pkg_config_name", "chromawal")
        self.cpp_info.libs = ["chromawal"]
        if self.options.shared:
            self.cpp_info.defines = ["CHROMAWAL_SHARED"]
        if self.settings.os in ("Linux", "FreeBSD"):
            self.cpp_info.system_libs.extend(["pthread", "dl"])
        if not self.options.shared:
            # A dependency declared in a profile's [platform_requires] has no package and so no
            # cpp_info to propagate: a static chromawal names the system's library itself.
            direct = {"direct": True}
            everything = {r.ref.name for r, _ in self.dependencies.filter(direct, remove_system=False).items()}
            packaged = {r.ref.name for r, _ in self.dependencies.filter(direct).items()}
            for name, (_, link_name) in self._dependencies.items():
                if name in everything - packaged:
                    self.cpp_info.system_libs.append(link_name)
