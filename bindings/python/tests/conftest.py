"""Real servers for the Python tests: Chroma 1.x servers and a PostgreSQL cluster, started with
the repository's scripts (scripts/chroma.sh, scripts/postgres.sh), killed and removed at the
end. Nothing is skipped: a server that cannot start fails the tests that need it.

Run from the repository root with the installed module on the path, e.g.
    PYTHONPATH=build/python/site /usr/bin/python3 -m pytest bindings/python/tests
"""
import itertools
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
import zlib
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Union

import numpy as np
import pytest

# The official client, when installed (the wheel test installs it: packaging/requirements-test.txt),
# must not phone home from the tests.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

try:
    import chromawal
except ImportError as e:  # pragma: no cover - a clear message instead of a collection error
    raise ImportError(
        f"cannot import the chromawal module ({e}); install it first, e.g. "
        "/usr/bin/python3 -m pip install --no-build-isolation --no-index --no-deps --target build/python/site "
        "./bindings/python, then run pytest from the repository root with PYTHONPATH=build/python/site"
    ) from e
if not hasattr(chromawal, "_chromawal"):  # pragma: no cover
    raise ImportError(f"chromawal was imported from {chromawal.__file__} without its extension module")

ROOT = Path(os.environ.get("CHROMAWAL_SOURCE_DIR") or Path(__file__).resolve().parents[3])
CHROMA_SH = ROOT / "scripts" / "chroma.sh"
POSTGRES_SH = ROOT / "scripts" / "postgres.sh"


def _run(args: List[str], timeout: float = 300) -> str:
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout.strip()


def heartbeat(port: int, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=timeout) as r:
            return r.status == 200
    except Exception:
        return False


class ChromaServer:
    """One real Chroma server on 127.0.0.1 (scripts/chroma.sh). kill9() is a real crash of the
    server process; restart() brings it back on the same port and data folder."""

    def __init__(self, root: Path, name: str, allow_reset: bool = False) -> None:
        self.name = name
        self.allow_reset = allow_reset
        self.dir = root / name
        self.data = self.dir / "data"
        self.pidfile = self.dir / "pid"
        self.log = self.dir / "log"
        self.port = int(_run(["bash", str(CHROMA_SH), "free-port"]))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pid(self) -> Optional[int]:
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def start(self) -> None:
        _run(
            ["bash", str(CHROMA_SH), "start", "--port", str(self.port), "--path", str(self.data),
             "--pidfile", str(self.pidfile), "--log", str(self.log)]
            + (["--allow-reset"] if self.allow_reset else []),
            timeout=600,
        )

    def running(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    def kill9(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            # Reap it if it is our child's child (it is not: chroma.sh start detaches it).
            time.sleep(0.02)
        while heartbeat(self.port, 0.2):  # the port must be free before a restart
            time.sleep(0.05)
        self.pidfile.unlink(missing_ok=True)

    def restart(self) -> None:
        self.kill9()
        self.start()

    def pause(self) -> None:
        pid = self.pid()
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        pid = self.pid()
        assert pid is not None
        os.kill(pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.running():
            self.kill9()  # Chroma ignores SIGTERM; a throwaway server needs no clean stop


class PostgresServer:
    """A throwaway PostgreSQL cluster (scripts/postgres.sh)."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "pg"
        self.uri = ""

    def start(self) -> str:
        self.uri = _run(["bash", str(POSTGRES_SH), "start", str(self.dir)], timeout=300).splitlines()[-1]
        return self.uri

    def stop_immediate(self) -> None:
        _run(["bash", str(POSTGRES_SH), "stop", str(self.dir), "immediate"])


@pytest.fixture(scope="session")
def tmp_root() -> Iterator[Path]:
    # Under /tmp: PostgreSQL runs as user postgres and must traverse every parent folder.
    d = Path(tempfile.mkdtemp(prefix="cwpy-", dir=os.environ.get("CHROMAWAL_TEST_TMP", "/tmp")))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def chroma_install() -> None:
    _run(["bash", str(CHROMA_SH), "install"], timeout=900)


@pytest.fixture(scope="session")
def servers(tmp_root: Path, chroma_install: None) -> Iterator[List[ChromaServer]]:
    """Two Chroma servers shared by the tests that do not kill servers."""
    s = [ChromaServer(tmp_root, "shared-a"), ChromaServer(tmp_root, "shared-b")]
    try:
        for x in s:
            x.start()
        yield s
    finally:
        for x in s:
            x.stop()


@pytest.fixture(scope="session")
def postgres(tmp_root: Path) -> Iterator[PostgresServer]:
    pg = PostgresServer(tmp_root)
    pg.start()
    try:
        yield pg
    finally:
        try:
            pg.stop_immediate()
        except Exception:
            pass


# ---- deterministic test data ----

SEED = 1234


def make_rng(*key: Union[int, str]) -> np.random.Generator:
    """A numpy Generator seeded from SEED and `key` (ints as they are, strings by CRC-32: not
    hash(), which changes from one run to the next), so that every run writes the same data."""
    entropy = [SEED] + [zlib.crc32(k.encode()) if isinstance(k, str) else int(k) for k in key]
    return np.random.default_rng(entropy)


@pytest.fixture
def rng() -> np.random.Generator:
    """A numpy Generator with a fixed seed, for a test's random embeddings."""
    return make_rng()


@pytest.fixture
def py_rng() -> random.Random:
    """A random.Random with a fixed seed, for a test's random choices."""
    return random.Random(SEED)


@pytest.fixture(autouse=True)
def _seed_global_rngs() -> None:
    """Seeds the global generators too, so that a stray random.random() / np.random.rand()
    in a test or a helper still gives the same data on every run."""
    random.seed(SEED)
    np.random.seed(SEED)


_counter = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_counter)}"


@pytest.fixture
def name() -> str:
    """A fresh collection name."""
    return unique("coll")


def replicated_options(servers: List[ChromaServer], postgres: PostgresServer, **kw: Any) -> Dict[str, Any]:
    """The options of a test's replicated client (sync or async): the shared servers as instances,
    a log schema of its own, short intervals and timeouts; `kw` overrides."""
    opts: Dict[str, Any] = dict(
        instances=[(s.name.split("-")[-1], s.url) for s in servers],
        log_url=postgres.uri,
        log_schema=unique("t").replace("-", "_"),
        health_interval=0.1,
        sync_interval=0.1,
        connect_timeout=1.0,
        request_timeout=3.0,
        allow_reset=True,
    )
    opts.update(kw)
    return opts


def make_replicated(servers: List[ChromaServer], postgres: PostgresServer, **kw: Any) -> chromawal.Client:
    opts = replicated_options(servers, postgres, **kw)
    instances = opts.pop("instances")
    client = chromawal.Client(instances, **opts)
    # The servers live for the whole session and every test has a log of its own; one log per
    # instance set is enforced (LogConflictError), so each test's log takes the instances over.
    # test_replication.py::test_a_second_log_is_refused_until_it_takes_over tests the guard.
    # A client started with its log down cannot take over (nor write): leave it as it is.
    if all(s.running() for s in servers) and client.status()["log"]["reachable"]:
        client.take_over_instances("pytest: a fresh log per test on session-wide servers")
    return client


@pytest.fixture
def replicated(servers: List[ChromaServer], postgres: PostgresServer) -> Iterator[chromawal.Client]:
    c = make_replicated(servers, postgres)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def http(servers: List[ChromaServer]) -> chromawal.HttpClient:
    return chromawal.HttpClient("127.0.0.1", servers[0].port, allow_reset=True)


@pytest.fixture(params=["http", "replicated"])
def client(request: Any, servers: List[ChromaServer], postgres: PostgresServer) -> Iterator[Any]:
    """The same chromadb-shaped API on one server (HttpClient) and on the replicated set."""
    if request.param == "http":
        yield chromawal.HttpClient("127.0.0.1", servers[0].port)
        return
    # A request timeout that a loaded machine meets (make_replicated's 3 s is for the tests
    # that make instances fail; these only compare results).
    c = make_replicated(servers, postgres, request_timeout=15.0)
    try:
        before = {x.name for x in c.list_collections()}
        yield c
        # Whatever the test wrote, both instances must hold the same records.
        assert c.wait_until_synced(30), c.status()
        for coll in sorted({x.name for x in c.list_collections()} - before):
            report = c.verify(coll)
            assert report["identical"], report["summary"]
    finally:
        c.close()


class HashEmbedding:
    """A deterministic embedding function for both clients (no model download): each text to
    small integers from its CRC-32, so that distances stay exact."""

    DIM = 3

    def __init__(self, salt: str = "") -> None:
        self.salt = salt

    def __call__(self, input: List[str]) -> List[np.ndarray]:
        out = []
        for text in input:
            h = zlib.crc32((self.salt + str(text)).encode())
            out.append(np.array([float((h >> (8 * i)) % 7 - 3) for i in range(self.DIM)], dtype=np.float32))
        return out

    def embed_query(self, input: List[str]) -> List[np.ndarray]:
        return self(input)

    @staticmethod
    def name() -> str:
        return "chromawal-test-hash"

    def get_config(self) -> Dict[str, Any]:
        return {"salt": self.salt}

    @staticmethod
    def build_from_config(config: Dict[str, Any]) -> "HashEmbedding":
        return HashEmbedding(str(config.get("salt", "")))

    def is_legacy(self) -> bool:
        return False

    @staticmethod
    def default_space() -> str:
        return "l2"

    @staticmethod
    def supported_spaces() -> List[str]:
        return ["l2", "cosine", "ip"]


class OtherEmbedding(HashEmbedding):
    """Another embedding function (another name), for the conflict checks."""

    @staticmethod
    def name() -> str:
        return "chromawal-test-other"


def official_chromadb() -> Any:
    """The official ``chromadb`` module, the reference of the differential tests. Skips the test
    when it is not installed, unless CHROMAWAL_TEST_REQUIRE_CHROMADB=1 (as scripts/test-packages.sh
    sets it for the suite against the installed wheel, whose venv has it): then a missing chromadb
    fails the test."""
    try:
        import chromadb
    except ImportError as e:
        if os.environ.get("CHROMAWAL_TEST_REQUIRE_CHROMADB") == "1":
            pytest.fail(f"the official chromadb client is required (CHROMAWAL_TEST_REQUIRE_CHROMADB=1): {e}")
        pytest.skip("the official chromadb client is not installed (packaging/requirements-test.txt has it)")
    return chromadb


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, interval: float = 0.05) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
