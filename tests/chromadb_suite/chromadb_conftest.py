"""Our replacement for chromadb 1.5.9's chromadb/test/conftest.py, for running chromadb's own tests
(unchanged) against an external Chroma server through one of three clients. Copied over
chromadb/test/conftest.py in the prepared tree by tests/chromadb_suite/run.py; not a conftest of
this repository (its name keeps pytest from loading it here).

chromadb's conftest starts Python servers and in-process systems (which need the full chromadb
package, not the HTTP-only chromadb-client). This one provides the same fixtures (`client`,
`client_factories`, `http_client`, `database_name`) and the names the test modules import from
chromadb.test.conftest, with a client of the kind CHROMADB_SUITE_CLIENT names:

  official              chromadb.HttpClient (the reference)
  chromawal-http        chromawal.HttpClient
  chromawal-replicated  chromawal.Client over every server of CHROMADB_SUITE_SERVERS, with the log
                        CHROMADB_SUITE_LOG_URL (an SQLite file)

Environment (set by run.py): CHROMADB_SUITE_SERVERS (comma-separated http://host:port; started with
allow_reset), CHROMADB_SUITE_MAX_EXAMPLES and CHROMADB_SUITE_STEP_COUNT (hypothesis).
"""
import logging
import os
import random
import threading
import uuid
import zlib
from typing import Any, Callable, Dict, Generator, List, Optional, Tuple, cast
from urllib.parse import urlsplit

import hypothesis
import numpy as np
import pytest

import chromadb
from chromadb.api.types import Documents, Embeddings
from chromadb.config import DEFAULT_DATABASE, DEFAULT_TENANT, Settings

logger = logging.getLogger(__name__)

CLIENT_KIND = os.environ.get("CHROMADB_SUITE_CLIENT", "official")
KINDS = ("official", "chromawal-http", "chromawal-replicated")
if CLIENT_KIND not in KINDS:
    raise ValueError(f"CHROMADB_SUITE_CLIENT={CLIENT_KIND!r}: expected one of {KINDS}")
SERVERS = [u.strip() for u in os.environ.get("CHROMADB_SUITE_SERVERS", "").split(",") if u.strip()]
LOG_URL = os.environ.get("CHROMADB_SUITE_LOG_URL", "")

if CLIENT_KIND != "official":
    import chromawal

# ---- hypothesis: few examples, the same ones on every run (derandomized) --------------------

MAX_EXAMPLES = int(os.environ.get("CHROMADB_SUITE_MAX_EXAMPLES", "5"))
STEP_COUNT = int(os.environ.get("CHROMADB_SUITE_STEP_COUNT", "10"))

hypothesis.settings.register_profile(
    "chromadb-suite",
    max_examples=MAX_EXAMPLES,
    stateful_step_count=STEP_COUNT,
    deadline=None,
    derandomize=True,  # the three clients see the same examples
    database=None,  # no .hypothesis/ folder
    print_blob=True,
    # No shrinking: a failing example is reported as found (shrinking costs minutes per failure).
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.reuse, hypothesis.Phase.generate],
    suppress_health_check=[
        hypothesis.HealthCheck.data_too_large,
        hypothesis.HealthCheck.large_base_example,
        hypothesis.HealthCheck.function_scoped_fixture,
        hypothesis.HealthCheck.too_slow,
        hypothesis.HealthCheck.filter_too_much,
    ],
)
hypothesis.settings.load_profile("chromadb-suite")

# ---- the names the test modules import from chromadb.test.conftest ------------------------

# An external single-node Rust server: what chromadb's CHROMA_INTEGRATION_TEST_ONLY mode tests.
NOT_CLUSTER_ONLY = True
MULTI_REGION_ENABLED = False
MULTI_REGION_TOPOLOGY = "tilt-spanning"
DEFAULT_MCMR_DATABASE = f"{MULTI_REGION_TOPOLOGY}+{DEFAULT_DATABASE}"
COMPACTION_SLEEP = 120
is_spann_disabled_mode = True  # a single-node server refuses SPANN
skip_reason_spann_disabled = "SPANN creation/modification disallowed in Rust bindings or integration test mode"
skip_reason_spann_enabled = "SPANN creation/modification allowed in Rust bindings or integration test mode"


def reset(api: Any) -> None:
    api.reset()


def override_hypothesis_profile(
    fast: Optional[hypothesis.settings] = None,
    normal: Optional[hypothesis.settings] = None,
    slow: Optional[hypothesis.settings] = None,
) -> hypothesis.settings:
    """chromadb's per-test settings for its "fast" profile, capped at ours (fewer examples or
    steps than ours are kept)."""
    overrides: Dict[str, Any] = {"deadline": None}
    if fast is not None:
        overrides["max_examples"] = min(int(fast.max_examples), MAX_EXAMPLES)
        overrides["stateful_step_count"] = min(int(fast.stateful_step_count), STEP_COUNT)
    return hypothesis.settings(hypothesis.settings.default, **overrides)


def skip_if_not_cluster() -> pytest.MarkDecorator:
    return pytest.mark.skipif(NOT_CLUSTER_ONLY, reason="Requires Kubernetes to be running with a valid config")


def multi_region_test(test_func: Callable[..., Any]) -> Any:
    return pytest.mark.test_with_multi_region(test_func)


test_with_multi_region = multi_region_test


def is_client_in_process(client: Any) -> bool:
    return client.get_settings().chroma_server_http_port is None


def fastapi_fixture_admin_and_singleton_tenant_db_user(*args: Any, **kwargs: Any) -> Any:
    pytest.skip("needs a server with token authentication started by chromadb's own conftest")


# ---- clients -------------------------------------------------------------------------------


def _host_port(url: str) -> Tuple[str, int]:
    u = urlsplit(url)
    return str(u.hostname), int(u.port or 8000)


def _settings() -> Settings:
    return Settings(allow_reset=True, anonymized_telemetry=False)


_take_over_lock = threading.Lock()
_taken_over = False


def make_client(tenant: str = DEFAULT_TENANT, database: str = DEFAULT_DATABASE, settings: Any = None) -> Any:
    """A client of the kind under test, on the run's server(s)."""
    global _taken_over
    if not SERVERS:
        raise RuntimeError("CHROMADB_SUITE_SERVERS is not set (run tests/chromadb_suite/run.py)")
    host, port = _host_port(SERVERS[0])
    if CLIENT_KIND == "official":
        return chromadb.HttpClient(host=host, port=port, settings=_settings(), tenant=tenant, database=database)
    if CLIENT_KIND == "chromawal-http":
        return chromawal.HttpClient(
            host, port, settings=_settings(), tenant=tenant, database=database, allow_reset=True
        )
    client = chromawal.Client(
        instances=[(chr(ord("a") + i), url) for i, url in enumerate(SERVERS)],
        log_url=LOG_URL,
        tenant=tenant,
        database=database,
        allow_reset=True,
        sync_interval=0.1,
        health_interval=0.2,
    )
    with _take_over_lock:
        if not _taken_over:
            # The servers are fresh for this run and the log is this run's: one take-over makes
            # this log theirs whatever an earlier run recorded on them.
            client.take_over_instances("chromadb's own client tests (tests/chromadb_suite)")
            _taken_over = True
    return client


def admin_for(client: Any) -> Any:
    """chromadb's AdminClient for the official client; chromawal's clients carry the database
    and tenant calls themselves (the replicated one has none: its tests fail, as they should)."""
    if CLIENT_KIND == "official":
        host, port = _host_port(SERVERS[0])
        return chromadb.AdminClient(Settings(allow_reset=True, anonymized_telemetry=False,
                                             chroma_api_impl="chromadb.api.fastapi.FastAPI",
                                             chroma_server_host=host, chroma_server_http_port=port))
    return client


def close_client(client: Any) -> None:
    try:
        if CLIENT_KIND == "official":
            client.clear_system_cache()
        else:
            client.close()
    except Exception:  # pragma: no cover - teardown only
        logger.exception("closing a client")


class _System:
    """What the tests read of chromadb's System through the factories: its settings."""

    def __init__(self) -> None:
        self.settings = _settings()

    def reset_state(self) -> None:
        pass


class ClientFactories:
    """chromadb's ClientFactories, creating clients of the kind under test."""

    def __init__(self, system: Any = None):
        self._system = system or _System()
        self._created_clients: List[Any] = []
        self._lock = threading.Lock()

    def _keep(self, client: Any) -> Any:
        with self._lock:
            self._created_clients.append(client)
        return client

    def create_client(self, *args: Any, **kwargs: Any) -> Any:
        tenant = kwargs.get("tenant", args[0] if args else DEFAULT_TENANT)
        database = kwargs.get("database", args[1] if len(args) > 1 else DEFAULT_DATABASE)
        return self._keep(make_client(tenant=tenant, database=database))

    def create_client_from_system(self) -> Any:
        return self._keep(make_client())

    def create_admin_client(self, *args: Any, **kwargs: Any) -> Any:
        return self._keep(admin_for(make_client()))

    def create_admin_client_from_system(self) -> Any:
        return self._keep(admin_for(make_client()))

    def close(self) -> None:
        while self._created_clients:
            close_client(self._created_clients.pop())


@pytest.fixture(scope="function")
def client_factories() -> Generator[ClientFactories, None, None]:
    factories = ClientFactories()
    yield factories
    factories.close()


def create_database(client: Any, database_name: str) -> None:
    admin_for(client).create_database(database_name)


def create_isolated_database(client: Any) -> None:
    """Creates an isolated database for a test and switches the client to it."""
    database = "test_" + str(uuid.uuid4())
    create_database(client, database)
    client.set_database(database)


@pytest.fixture
def database_name(request: pytest.FixtureRequest) -> str:
    return cast(str, getattr(request, "param", DEFAULT_DATABASE))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_name" in metafunc.fixturenames:
        metafunc.parametrize("database_name", [pytest.param(DEFAULT_DATABASE, id="classic")], indirect=True)


@pytest.fixture(scope="function")
def client(database_name: str) -> Generator[Any, None, None]:
    c = make_client(database=database_name)
    try:
        yield c
    finally:
        close_client(c)


@pytest.fixture(scope="function")
def http_client(database_name: str) -> Generator[Any, None, None]:
    c = make_client(database=database_name)
    try:
        yield c
    finally:
        close_client(c)


def _not_here(what: str) -> Callable[..., Any]:
    def fixture() -> None:
        pytest.skip(f"needs {what}, which chromadb's own conftest provides and an external HTTP server cannot")

    return fixture


# The fixtures of chromadb's conftest that need in-process systems or servers of their own.
system = pytest.fixture(_not_here("an in-process chromadb System"), name="system")
api = pytest.fixture(_not_here("an in-process chromadb System"), name="api")
sqlite = pytest.fixture(_not_here("an in-process SQLite system"), name="sqlite")
sqlite_persistent = pytest.fixture(_not_here("an in-process persistent SQLite system"), name="sqlite_persistent")
client_ssl = pytest.fixture(_not_here("a TLS server started by the test"), name="client_ssl")
system_auth = pytest.fixture(_not_here("a server with authentication started by the test"), name="system_auth")
api_wrong_cred = pytest.fixture(_not_here("a server with authentication started by the test"), name="api_wrong_cred")
api_with_server_auth = pytest.fixture(_not_here("a server with authentication"), name="api_with_server_auth")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "dual_database: run test with both databases")
    config.addinivalue_line("markers", "test_with_multi_region: run test with MCMR database when MULTI_REGION_ENABLED")


# ---- the same data for every client ---------------------------------------------------------


@pytest.fixture(autouse=True)
def _seed_global_rngs(request: pytest.FixtureRequest) -> None:
    """Some tests draw sizes and data from the global generators (random.randint, np.random):
    seeded from the test's id, each client gets the same data on every run."""
    seed = zlib.crc32(request.node.nodeid.encode())
    random.seed(seed)
    np.random.seed(seed)


# ---- no model downloads ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_default_embedding_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """chromadb's default embedding function downloads an ONNX model when first called: a test
    that reaches it is skipped (with every client alike)."""

    reason = "uses chromadb's default embedding function (its ONNX model is downloaded when first used)"

    # chromadb checks an embedding function's __call__ signature: (self, input).
    def refuse_call(self: Any, input: Any) -> Any:
        pytest.skip(reason)

    def refuse_download(self: Any) -> None:
        pytest.skip(reason)

    import chromadb.api.types as types

    monkeypatch.setattr(types.DefaultEmbeddingFunction, "__call__", refuse_call)
    try:
        from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2
    except Exception:  # pragma: no cover - depends on the installed client
        return
    monkeypatch.setattr(ONNXMiniLM_L6_V2, "__call__", refuse_call)
    monkeypatch.setattr(ONNXMiniLM_L6_V2, "_download_model_if_not_exists", refuse_download)


@pytest.fixture
def mock_embeddings() -> Callable[[Documents], Embeddings]:
    def _mock_embeddings(input: Documents) -> Embeddings:
        return [np.array([0.1, 0.2, 0.3], dtype=np.float32) for _ in input]

    return _mock_embeddings
