"""The build backend of the chromawal Python package (PEP 517, in-tree: pyproject.toml's
backend-path).

scikit-build-core builds the package whenever it is importable, which it always is in an isolated
build (pip's default: pyproject.toml's build-system.requires, pinned, come from the package index).
Where it is not, that is `pip install --no-build-isolation --no-index` with Debian's packages
(Debian 12 has no scikit-build-core), setuptools builds it instead with setup.py, which runs the
same CMakeLists.txt. Both routes are tested by scripts/test.sh and scripts/test-packages.sh.
"""
import sys

try:
    from scikit_build_core.build import *  # noqa: F401,F403
    from scikit_build_core.build import __all__  # noqa: F401
except ImportError:
    print("chromawal: scikit-build-core is not installed here; building with setuptools and setup.py",
          file=sys.stderr)
    from setuptools.build_meta import *  # noqa: F401,F403
    from setuptools.build_meta import __all__  # noqa: F401
