"""The version is written once, in include/chromawal/version.hpp: the Python package (module and
distribution metadata) says the same."""
import re
from importlib.metadata import version

import chromawal

from conftest import ROOT


def test_version_is_the_headers() -> None:
    text = (ROOT / "include" / "chromawal" / "version.hpp").read_text()
    parts = [re.search(rf"#define CHROMAWAL_VERSION_{p} +(\d+)", text) for p in ("MAJOR", "MINOR", "PATCH")]
    assert all(parts), "version.hpp: CHROMAWAL_VERSION_MAJOR/MINOR/PATCH not found"
    want = ".".join(m.group(1) for m in parts)
    assert chromawal.__version__ == want
    assert version("chromawal") == want  # pip installs the metadata too, with --target as well
