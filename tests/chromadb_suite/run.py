"""Runs chromadb 1.5.9's own client tests (unchanged, from its source distribution) with the
official client, chromawal.HttpClient and the replicated chromawal.Client, and compares.

Usually started by scripts/chromadb-suite.sh; the interpreter that runs this file runs the tests
(it needs chromadb-client, pytest, hypothesis, chromawal, and tests/chromadb_suite/requirements.txt).

Steps:
  1. the sdist into build/chromadb-suite/ (downloaded once, pinned by URL and sha256);
  2. a test tree, build/chromadb-suite/tree/: chromadb/test/ from the sdist, with its conftest.py
     replaced by tests/chromadb_suite/chromadb_conftest.py and tests/chromadb_suite/
     overlay_conftest.py as the tree's root conftest (see both);
  3. for each client: fresh Chroma servers (scripts/chroma.sh start --allow-reset) on fresh data
     folders, then pytest over the selected files (SELECTED, below), with junit-xml output;
  4. the comparison: for each chromawal client, the share of the tests that pass with the
     official client that also pass with it. Exit status 1 when a share is below --threshold
     (0.95), or when fewer than --min-official (100) tests pass with the official client (a broken
     setup must not pass), 2 on a setup error.
"""
import argparse
import atexit
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BUILD = ROOT / "build" / "chromadb-suite"

SDIST_URL = (
    "https://files.pythonhosted.org/packages/92/d1/5e33b26985f0c7046a0be1cee2158ada1748ee700d2545057fde1468d74d/"
    "chromadb-1.5.9.tar.gz"
)
SDIST_SHA256 = "5c20e62a455c28bacac927f26116a73fd8e1799e0d908be8e8a4f02197a54731"
SDIST_PREFIX = "chromadb-1.5.9/"

# chromadb's test files that exercise the client API against a server (paths under
# chromadb/test/). The others, and why they are not run: docs/python.md, "chromadb's own client
# tests".
SELECTED = [
    "test_api.py",
    "test_multithreaded.py",
    "api/test_collection.py",
    "api/test_count_api.py",
    "api/test_delete_database.py",
    "api/test_get_database.py",
    "api/test_invalid_update.py",
    "api/test_limit_offset.py",
    "api/test_list_databases.py",
    "api/test_numpy_list_inputs.py",
    "api/test_schema_e2e.py",
    "client/test_database_tenant.py",
    "client/test_multiple_clients_concurrency.py",
    "configurations/test_collection_configuration.py",
    "data_loader/test_data_loader.py",
    "property/test_add.py",
    "property/test_collections.py",
    "property/test_collections_with_database_tenant.py",
    "property/test_embeddings.py",
    "property/test_filtering.py",
    "property/test_schema.py",
    "stress/test_many_collections.py",
]

# Tests of the selected files that are never run, with the reason (docs/python.md lists them).
NOT_RUNNABLE = {
    f"test_api.py::{name}": "an in-process persistent client (chromadb.api.segment.SegmentAPI, the "
    "local_persist_api fixture of test_api.py), which the HTTP-only client cannot run"
    for name in (
        "test_persist_index_loading",
        "test_persist_index_loading_embedding_function",
        "test_persist_index_get_or_create_embedding_function",
        "test_persist",
        "test_persist_index_loading_params",
    )
}
# Tests left out to keep the run short, unless --all.
SLOW = {
    "property/test_add.py::test_add_large":
        "time: 45,000-50,000 records, twice (about 70 s per client on a 2-core machine)",
    "test_multithreaded.py::test_multithreaded_add":
        "time: up to 10,000 records of up to 256 dimensions, 3 rounds, from up to 2 x cores threads "
        "(about 60 s per client)",
    "test_multithreaded.py::test_interleaved_add_query":
        "time: as test_multithreaded_add, with queries interleaved (about 60 s per client)",
}

CLIENTS = {  # name -> how many servers
    "official": 1,
    "chromawal-http": 1,
    "chromawal-replicated": 2,
}


def log(msg: str) -> None:
    print(f"chromadb-suite: {msg}", flush=True)


class SetupError(Exception):
    pass


# ---- 1. the sdist ---------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_sdist() -> Path:
    dest = BUILD / SDIST_URL.rsplit("/", 1)[1]
    if dest.exists() and sha256_of(dest) == SDIST_SHA256:
        return dest
    BUILD.mkdir(parents=True, exist_ok=True)
    part = dest.with_suffix(".part")
    local = os.environ.get("CHROMADB_SUITE_SDIST")
    if local:
        log(f"sdist: copying {local}")
        shutil.copyfile(local, part)
    else:
        log(f"sdist: downloading {SDIST_URL}")
        with urllib.request.urlopen(SDIST_URL, timeout=120) as r, open(part, "wb") as f:
            shutil.copyfileobj(r, f)
    got = sha256_of(part)
    if got != SDIST_SHA256:
        part.unlink()
        raise SetupError(f"the sdist's sha256 is {got}, expected {SDIST_SHA256}")
    part.replace(dest)
    return dest


# ---- 2. the test tree -----------------------------------------------------------------------


def prepare_tree(sdist: Path) -> Path:
    tree = BUILD / "tree"
    if tree.exists():
        shutil.rmtree(tree)
    pkg = tree / "chromadb"
    prefix = SDIST_PREFIX + "chromadb/test/"
    with tarfile.open(sdist, "r:gz") as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix) and (m.isfile() or m.isdir())]
        if not any(m.name == prefix + "test_api.py" for m in members):
            raise SetupError(f"{sdist} has no {prefix}test_api.py")
        for m in members:
            m.name = m.name[len(SDIST_PREFIX):]
            if ".." in Path(m.name).parts:
                raise SetupError(f"unsafe path in the sdist: {m.name}")
        if hasattr(tarfile, "data_filter"):  # Python >= 3.12 (and patched older ones)
            tar.extractall(tree, members=members, filter="data")
        else:
            tar.extractall(tree, members=members)
    (pkg / "test" / "conftest.py").rename(pkg / "test" / "conftest.py.chromadb")
    shutil.copyfile(HERE / "chromadb_conftest.py", pkg / "test" / "conftest.py")
    (pkg / "__init__.py").write_text(
        'raise ImportError("tests/chromadb_suite: the test tree\'s chromadb/ must not be imported; '
        'the installed chromadb is (overlay_conftest.py)")\n'
    )
    shutil.copyfile(HERE / "overlay_conftest.py", tree / "conftest.py")
    (tree / "pytest.ini").write_text(
        "[pytest]\n"
        "filterwarnings = ignore::DeprecationWarning\n"
    )
    return tree


# ---- 3. servers and runs --------------------------------------------------------------------


def free_port() -> int:
    out = subprocess.run(["bash", str(ROOT / "scripts" / "chroma.sh"), "free-port"], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return int(out.strip())


# Everything this runner started is killed on the way out, whatever happens.
_pytests: List[subprocess.Popen] = []
_servers: List["Server"] = []
_lock = threading.Lock()


def _kill_pytest(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # pytest runs in a session of its own
        except (ProcessLookupError, PermissionError):
            proc.kill()
    proc.wait()


@atexit.register
def _kill_all() -> None:
    with _lock:
        for proc in _pytests:
            try:
                _kill_pytest(proc)
            except Exception:
                pass
        for server in _servers:
            server.kill()


def _on_signal(signum: int, frame: object) -> None:
    _kill_all()
    os._exit(128 + signum)


class Server:
    """A Chroma server with allow_reset on a fresh data folder (scripts/chroma.sh start
    --allow-reset: the official client's and chromawal.HttpClient's reset() is the server's)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.pidfile = folder / "pid"
        self.log = folder / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        with _lock:
            _servers.append(self)
        r = subprocess.run(
            ["bash", str(ROOT / "scripts" / "chroma.sh"), "start", "--port", str(self.port),
             "--path", str(self.folder / "data"), "--pidfile", str(self.pidfile), "--log", str(self.log),
             "--allow-reset"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        if r.returncode != 0:
            raise SetupError(f"the server on port {self.port} did not start:\n{r.stdout[-3000:]}")

    def stop(self) -> subprocess.Popen:
        """Starts chroma.sh stop (TERM, then KILL); the caller waits."""
        return subprocess.Popen(["bash", str(ROOT / "scripts" / "chroma.sh"), "stop", "--pidfile", str(self.pidfile)],
                                stdin=subprocess.DEVNULL)

    def kill(self) -> None:
        """SIGKILL, for the way out (the pid is checked to be a chroma process, as chroma.sh does)."""
        try:
            pid = int(self.pidfile.read_text().strip())
            if b"chroma" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass


def run_client(kind: str, tree: Path, args: argparse.Namespace) -> Tuple[Path, float, int]:
    folder = BUILD / "runs" / kind
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    servers = [Server(folder / f"server-{chr(ord('a') + i)}") for i in range(CLIENTS[kind])]
    junit = folder / "junit.xml"
    started = time.time()
    try:
        for s in servers:
            s.start()
        env = dict(os.environ)
        # The tests run from the tree: relative entries of PYTHONPATH would point elsewhere.
        if env.get("PYTHONPATH"):
            env["PYTHONPATH"] = os.pathsep.join(
                str(Path(e).resolve()) if e else e for e in env["PYTHONPATH"].split(os.pathsep))
        env.update(
            ANONYMIZED_TELEMETRY="False",
            CHROMADB_SUITE_CLIENT=kind,
            CHROMADB_SUITE_SERVERS=",".join(s.url for s in servers),
            CHROMADB_SUITE_LOG_URL=f"sqlite:///{folder / 'log.db'}",
            CHROMADB_SUITE_MAX_EXAMPLES=str(args.max_examples),
            CHROMADB_SUITE_STEP_COUNT=str(args.step_count),
            PYTHONDONTWRITEBYTECODE="1",
        )
        # Variables of chromadb's conftest that would change what the tests do.
        for var in ("CHROMA_INTEGRATION_TEST", "CHROMA_INTEGRATION_TEST_ONLY", "CHROMA_CLUSTER_TEST_ONLY",
                    "CHROMA_RUST_BINDINGS_TEST_ONLY", "CHROMA_SERVER_HOST", "MULTI_REGION",
                    "PROPERTY_TESTING_PRESET"):
            env.pop(var, None)
        files = [str(Path("chromadb") / "test" / f) for f in args.files]
        deselect: List[str] = []
        for t in list(NOT_RUNNABLE) + ([] if args.all else list(SLOW)):
            deselect += ["--deselect", str(Path("chromadb") / "test" / t)]
        cmd = [sys.executable, "-m", "pytest", "-c", str(tree / "pytest.ini"), "--rootdir", str(tree),
               "-p", "no:cacheprovider", "-q", "-rfE", "--tb=short", f"--junitxml={junit}",
               "-o", "junit_family=xunit1", "--durations=25"] + deselect + args.pytest_args + files
        log(f"{kind}: {len(servers)} server(s) {', '.join(s.url for s in servers)}; pytest over {len(files)} files")
        with open(folder / "pytest.log", "w") as out:
            with _lock:
                proc = subprocess.Popen(cmd, cwd=tree, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True)
                _pytests.append(proc)
            try:
                rc = proc.wait(timeout=args.timeout)
            except subprocess.TimeoutExpired:
                _kill_pytest(proc)
                raise SetupError(f"{kind}: pytest did not finish within {args.timeout:.0f} s; {folder / 'pytest.log'}")
        if rc not in (0, 1) or not junit.exists():  # 1: some tests failed; anything else: broken
            tail = (folder / "pytest.log").read_text(errors="replace")[-4000:]
            raise SetupError(f"{kind}: pytest exited with {rc}; {folder / 'pytest.log'}:\n{tail}")
    finally:
        for stopping in [s.stop() for s in servers]:
            stopping.wait()
    return junit, time.time() - started, rc


# ---- 4. the comparison ----------------------------------------------------------------------


def outcomes(junit: Path) -> Dict[str, Tuple[str, str]]:
    """test id -> (passed | failed | error | skipped, message)."""
    result: Dict[str, Tuple[str, str]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
                message = (child.get("message") or "").strip().splitlines()[0:1]
                message = message[0][:200] if message else ""
                break
        # A test that passed but whose teardown erred has two entries: the error wins.
        if test_id in result and result[test_id][0] != "passed":
            continue
        result[test_id] = (outcome, message)
    return result


def counts(res: Dict[str, Tuple[str, str]]) -> str:
    c: Dict[str, int] = {}
    for outcome, _ in res.values():
        c[outcome] = c.get(outcome, 0) + 1
    return ", ".join(f"{k} {c[k]}" for k in ("passed", "failed", "error", "skipped") if k in c)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", default=",".join(CLIENTS),
                   help="comma-separated, among %(default)s (the official run is needed for the comparison)")
    p.add_argument("--files", nargs="+", default=SELECTED, help="test files under chromadb/test/")
    p.add_argument("--threshold", type=float, default=0.95)
    p.add_argument("--min-official", type=int, default=100,
                   help="fewer tests passing with the official client is a broken setup (%(default)s)")
    p.add_argument("--max-examples", type=int, default=int(os.environ.get("CHROMADB_SUITE_MAX_EXAMPLES", "5")),
                   help="hypothesis examples per property test (%(default)s)")
    p.add_argument("--step-count", type=int, default=int(os.environ.get("CHROMADB_SUITE_STEP_COUNT", "10")),
                   help="hypothesis steps per state machine example (%(default)s)")
    p.add_argument("--timeout", type=float, default=900, help="seconds per pytest run (%(default)s)")
    p.add_argument("--all", action="store_true", help="run the slow tests of SLOW too")
    p.add_argument("--sequential", action="store_true", help="run the clients one after the other")
    p.add_argument("pytest_args", nargs="*", help="after --: more pytest arguments (e.g. -k EXPR)")
    args = p.parse_args()
    kinds = [k.strip() for k in args.clients.split(",") if k.strip()]
    for k in kinds:
        if k not in CLIENTS:
            p.error(f"unknown client {k!r}")

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    started = time.time()
    try:
        import chromadb  # noqa: F401  (a clear message before anything starts)
        import hypothesis  # noqa: F401
        import pytest  # noqa: F401
        if any(k != "official" for k in kinds):
            import chromawal  # noqa: F401
    except ImportError as e:
        log(f"error: {e} (install packaging/requirements-test.txt and tests/chromadb_suite/requirements.txt, "
            "and chromawal)")
        return 2
    try:
        sdist = fetch_sdist()
        tree = prepare_tree(sdist)
        subprocess.run(["bash", str(ROOT / "scripts" / "chroma.sh"), "install"], check=True)
        results: Dict[str, Dict[str, Tuple[str, str]]] = {}
        times: Dict[str, float] = {}
        if args.sequential or len(kinds) == 1:
            for k in kinds:
                junit, secs, _ = run_client(k, tree, args)
                results[k], times[k] = outcomes(junit), secs
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(len(kinds)) as pool:
                futures = {k: pool.submit(run_client, k, tree, args) for k in kinds}
                for k in kinds:
                    junit, secs, _ = futures[k].result()
                    results[k], times[k] = outcomes(junit), secs
    except (SetupError, subprocess.CalledProcessError, OSError) as e:
        log(f"error: {e}")
        return 2

    for k in kinds:
        log(f"{k}: {counts(results[k])} ({times[k]:.0f} s)")
    status = compare(results, args)
    summary = {
        "files": args.files, "max_examples": args.max_examples, "step_count": args.step_count,
        "not_run": {**NOT_RUNNABLE, **({} if args.all else SLOW)},
        "results": {k: {t: list(v) for t, v in sorted(r.items())} for k, r in results.items()},
    }
    (BUILD / "summary.json").write_text(json.dumps(summary, indent=1))
    log(f"details: {BUILD / 'summary.json'}, {BUILD / 'runs'}/<client>/pytest.log; took {time.time() - started:.0f} s")
    return status


def compare(results: Dict[str, Dict[str, Tuple[str, str]]], args: argparse.Namespace) -> int:
    """Prints the figures; 1 when a chromawal client is below the threshold or the official run
    broke down."""
    if "official" not in results:
        log("no official run: nothing to compare with")
        return 0
    status = 0
    official = results["official"]
    reference = sorted(t for t, (o, _) in official.items() if o == "passed")
    broken = sorted(t for t, (o, _) in official.items() if o in ("failed", "error"))
    log(f"official: {len(reference)} passed, {sum(1 for o, _ in official.values() if o == 'skipped')} skipped, "
        f"{len(broken)} failed or erred")
    for t in broken:
        print(f"    {official[t][0]:8} {t}  {official[t][1]}")
    if len(reference) < args.min_official:
        log(f"FAIL: only {len(reference)} tests passed with the official client (at least {args.min_official} "
            f"expected): the setup is broken; see {BUILD / 'runs' / 'official' / 'pytest.log'}")
        status = 1
    for k, mine in results.items():
        if k == "official":
            continue
        missing = [t for t in reference if mine.get(t, ("not run", ""))[0] != "passed"]
        passed = len(reference) - len(missing)
        share = passed / len(reference) if reference else 0.0
        ok = share >= args.threshold
        log(f"{k}: {passed}/{len(reference)} of the tests that pass with the official client pass "
            f"({100 * share:.1f}%, {100 * args.threshold:.0f}% needed): {'ok' if ok else 'FAIL'}")
        for t in missing:
            outcome, message = mine.get(t, ("not run", ""))
            print(f"    {outcome:8} {t}  {message}")
        extra = sorted(t for t, (o, _) in mine.items() if o == "passed" and official.get(t, ("",))[0] != "passed")
        if extra:
            log(f"{k}: {len(extra)} tests pass with it but not with the official client (skipped or xfail "
                f"there): {', '.join(extra)}")
        if not ok:
            status = 1
    return status

if __name__ == "__main__":
    sys.exit(main())
