"""Installed as the root conftest.py of the prepared test tree (build/chromadb-suite/tree/) by
tests/chromadb_suite/run.py. It runs before any other conftest of the tree.

The tree holds chromadb 1.5.9's own tests (chromadb/test/ from its source distribution,
unchanged) under tree/chromadb/test/, with chromadb/test/conftest.py replaced by ours
(tests/chromadb_suite/chromadb_conftest.py). The installed `chromadb` (the chromadb-client
distribution) is imported first from site-packages, then the tree's chromadb/ folder is put first
on its package path: `chromadb.test` and `chromadb.test.*` are the tree's modules, every other
`chromadb.*` module the installed client's. The tree's chromadb/__init__.py only marks the folder
as a package for pytest's module names and is never executed (it raises ImportError if it is).
"""
import os
import sys
from pathlib import Path

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

_TREE_PKG = Path(__file__).resolve().parent / "chromadb"

for _name in [m for m in sys.modules if m == "chromadb.test" or m.startswith("chromadb.test.")]:
    del sys.modules[_name]  # a chromadb.test imported from site-packages by anything earlier

# pytest put the tree first on sys.path (for this file): import chromadb without it.
_saved_path = list(sys.path)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _TREE_PKG.parent]
try:
    import chromadb  # noqa: E402  (the installed client, from site-packages)
finally:
    sys.path[:] = _saved_path

if Path(chromadb.__file__).resolve().parent == _TREE_PKG:
    raise RuntimeError("chromadb was imported from the test tree, not from the installed client")
if str(_TREE_PKG) not in chromadb.__path__:
    chromadb.__path__.insert(0, str(_TREE_PKG))

import chromadb.test  # noqa: E402

if Path(chromadb.test.__file__).resolve().parent != _TREE_PKG / "test":
    raise RuntimeError(f"chromadb.test resolves to {chromadb.test.__file__}, not to the test tree")
