"""The package's version for scikit-build-core (pyproject.toml, [[tool.dynamic-metadata]]):
read from include/chromawal/version.hpp, where the version is written once.

The header is at ../../include in the repository and at cpp/include in the sdist, which carries
the C++ sources under cpp/ (pyproject.toml, sdist.force-include)."""
import re
from pathlib import Path


def version_header() -> Path:
    for candidate in (Path("cpp/include/chromawal/version.hpp"), Path("../../include/chromawal/version.hpp")):
        if candidate.is_file():
            return candidate
    raise RuntimeError("chromawal: include/chromawal/version.hpp not found in ./cpp or ../..")


def read_version(header: Path) -> str:
    text = header.read_text(encoding="utf-8")
    parts = [re.search(rf"#define CHROMAWAL_VERSION_{p} +(\d+)", text) for p in ("MAJOR", "MINOR", "PATCH")]
    if not all(parts):
        raise RuntimeError(f"{header}: CHROMAWAL_VERSION_MAJOR/MINOR/PATCH not found")
    return ".".join(m.group(1) for m in parts)


def dynamic_metadata(settings, _project):
    """The dynamic-metadata 0.3 protocol: returns the fields it provides, here the version."""
    if settings:
        raise RuntimeError(f"chromawal_version takes no settings, got {sorted(settings)}")
    return {"version": read_version(version_header())}
