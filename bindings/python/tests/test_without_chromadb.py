"""chromawal without the official client installed: its own error hierarchy and the stand-ins
for chromadb's settings and collection model. Run in a child interpreter in which ``import
chromadb`` fails, so that this holds whether or not chromadb is installed here."""
import subprocess
import sys
import textwrap
from typing import List

import chromawal
from conftest import ChromaServer

_BLOCK = """
import sys
class _NoChromadb:
    def find_spec(self, name, path=None, target=None):
        if name == "chromadb" or name.startswith("chromadb."):
            raise ImportError("chromadb is blocked for this test")
        return None
sys.meta_path.insert(0, _NoChromadb())
"""


def _run_without_chromadb(code: str) -> str:
    script = _BLOCK + textwrap.dedent(code)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_errors_stand_alone_without_chromadb() -> None:
    out = _run_without_chromadb(
        """
        import chromawal
        from chromawal import errors
        assert "chromadb" not in sys.modules
        assert errors.ChromaError.__mro__[1] is Exception, errors.ChromaError.__mro__
        e = errors.NotFoundError("Collection [x] does not exist")
        assert e.code() == 404 and e.name() == "NotFoundError" and e.message() == "Collection [x] does not exist"
        assert issubclass(errors.ValidationError, ValueError)
        assert issubclass(errors.ValidationError, errors.InvalidArgumentError)
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_settings_and_model_stand_ins_without_chromadb(servers: List[ChromaServer]) -> None:
    out = _run_without_chromadb(
        f"""
        import uuid
        import chromawal
        c = chromawal.HttpClient("127.0.0.1", {servers[0].port}, allow_reset=True)
        s = c.get_settings()
        assert type(s).__module__ == "chromawal._compat", type(s)
        assert s.chroma_server_http_port == {servers[0].port} and s["allow_reset"] is True
        name = "nochromadb-" + uuid.uuid4().hex[:8]
        coll = c.create_collection(name, metadata={{"m": 1}})
        m = coll.get_model()
        assert type(m).__module__ == "chromawal._compat", type(m)
        assert m.id == coll.id and m["name"] == name and m["metadata"] == {{"m": 1}}
        assert isinstance(m.version, int) and isinstance(m.log_position, int)
        assert m["configuration"] == coll.configuration == coll.configuration_json
        assert m["nope"] is None
        c.delete_collection(name)
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_this_interpreter_uses_chromadb_when_installed() -> None:
    # The other side of the two tests above: with chromadb importable here, chromawal's base
    # error is chromadb's.
    if "chromadb" in sys.modules or _importable("chromadb"):
        import chromadb.errors

        assert issubclass(chromawal.ChromaError, chromadb.errors.ChromaError)
    else:
        assert chromawal.ChromaError.__mro__[1] is Exception


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
