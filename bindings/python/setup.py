"""Builds chromawal's extension module (chromawal._chromawal) with CMake.

pyproject.toml holds the metadata; this file only teaches setuptools' build_ext to run
CMake on CMakeLists.txt of this folder, which builds the C++ library of the repository
(two levels up, or CHROMAWAL_SOURCE_DIR) statically into the extension.

Environment:
  CHROMAWAL_SOURCE_DIR     the repository root (default: ../.. of this file)
  CHROMAWAL_PY_BUILD_DIR   a persistent CMake build folder (default: setuptools' build_temp),
                           so that repeated installs rebuild only what changed
  CHROMAWAL_JOBS           parallel build jobs (default: the number of cores)
  CHROMAWAL_BUILD_TYPE     CMake build type (default: Release)
  CMAKE_ARGS               extra CMake arguments, space-separated
"""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent


def library_version() -> str:
    """The version, written once for the whole project: in include/chromawal/version.hpp."""
    root = Path(os.environ.get("CHROMAWAL_SOURCE_DIR") or HERE.parent.parent)
    text = (root / "include" / "chromawal" / "version.hpp").read_text()
    parts = [re.search(rf"#define CHROMAWAL_VERSION_{p} (\d+)", text) for p in ("MAJOR", "MINOR", "PATCH")]
    if not all(parts):
        raise RuntimeError("include/chromawal/version.hpp: CHROMAWAL_VERSION_MAJOR/MINOR/PATCH not found")
    return ".".join(m.group(1) for m in parts)


class CMakeExtension(Extension):
    def __init__(self, name: str) -> None:
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext: Extension) -> None:
        out_dir = Path(self.get_ext_fullpath(ext.name)).resolve().parent
        build_dir = Path(os.environ.get("CHROMAWAL_PY_BUILD_DIR") or (Path(self.build_temp) / "cmake")).resolve()
        build_dir.mkdir(parents=True, exist_ok=True)
        build_type = os.environ.get("CHROMAWAL_BUILD_TYPE", "Release")
        args = [
            f"-DCMAKE_BUILD_TYPE={build_type}",
            f"-DCHROMAWAL_PY_OUTPUT_DIR={out_dir}",
            f"-DPython_EXECUTABLE={sys.executable}",
            f"-DPYTHON_EXECUTABLE={sys.executable}",
        ]
        source_dir = os.environ.get("CHROMAWAL_SOURCE_DIR")
        if source_dir:
            args.append(f"-DCHROMAWAL_SOURCE_DIR={Path(source_dir).resolve()}")
        args += shlex.split(os.environ.get("CMAKE_ARGS", ""))
        jobs = os.environ.get("CHROMAWAL_JOBS") or str(os.cpu_count() or 2)
        subprocess.run(["cmake", "-S", str(HERE), "-B", str(build_dir), *args], check=True)
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "_chromawal", "-j", jobs], check=True)


setup(
    version=library_version(),
    ext_modules=[CMakeExtension("chromawal._chromawal")],
    cmdclass={"build_ext": CMakeBuild},
)
