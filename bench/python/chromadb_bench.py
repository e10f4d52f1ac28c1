#!/usr/bin/env python3
"""Python client benchmark: chromawal vs the official chromadb client, in one run.

The same workload through four clients (cases), each on fresh collections, in one run:

  official              chromadb.HttpClient (PyPI chromadb-client, pinned in
                        packaging/requirements-test.txt) on server a
  chromawal-http        chromawal.HttpClient on server a: the same server work
  chromawal-replicated  chromawal.Client over servers a and b with an SQLite log (a file in
                        this run's temporary folder): every write is logged, then applied to
                        BOTH servers, so its server work is double; compare it with
  official-two          two chromadb.HttpClients, each batch added to a and to b at once on
                        two threads, no log: the naive way to write to two servers with the
                        official client (add phases only; its reads would be official's)

Workload (inputs built before any clock starts; every case gets the same objects):

  add    --records records (2,000) in sequential add calls of --batch records, once per batch
         size (10 and 100), each batch size on a fresh collection. A record: a 384-dim float32
         embedding (a numpy array, one 2-D array per call), a document "document N about
         topic K", metadata {"source": "bench", "index": N, "score": <float>, "topic": "tK"}.
         The data is bit-identical to bench/client_bench.cpp's (same xorshift32 generator and
         seeds; CHECK data=... is the generators' final state).
  query  --queries sequential queries (200) of one embedding (a 1x384 array) on the collection
         of the last add phase, n_results=10, the default include (documents, metadatas,
         distances).

Collections are created with embedding_function=None: the official client's default embedding
function (an ONNX model) is never loaded; embeddings are always passed explicitly.

Measured per case, round and phase:
  records/s       records (or queries) divided by the phase's wall time (perf_counter)
  client CPU      time.process_time() delta of this Python process: user + system CPU of all
                  its threads (chromawal's worker and background threads, the SQLite log's
                  work and official-two's two threads included). The servers are separate
                  processes and are not counted here.
  server CPU      the Chroma servers' CPU from /proc/PID/stat (10 ms resolution), when their
                  pids are known (servers started here, or --server-pids)

Order: the cases rotate each round (round 1: official, chromawal-http, chromawal-replicated,
official-two; round 2 starts with chromawal-http; ...). Before every timed phase the script
waits until the servers together use less than 0.1 of a core for a second (Chroma indexes in
the background after an add returns), so that one case's left-over work does not land on the
next. Each client is created before its case and closed after it, so chromawal.Client's
background threads never run while another case is measured.

Reported: the median of the rounds per case and phase, the ratios of the medians (and, in
brackets, the median of the ratios within each round), and whether the goal (issue 10 item 8) is
met: chromawal's records/s at least the official client's, with at most a third of its client
CPU per record. Held to the goal: chromawal-http vs official (all phases), chromawal-replicated
vs official-two (adds: both write to two servers) and chromawal-replicated vs official (queries:
both read from one server). It is printed, never asserted; the exit status is 1 only on an error
or a wrong count.

Usage (see bench/python/README.md):
  PYTHONPATH=<chromawal site> <venv with chromadb-client>/bin/python bench/python/chromadb_bench.py
  options: --records N (2000) --batch 10,100 --queries N (200) --rounds N (3) --dim N (384)
           --instances a=URL,b=URL (running servers; otherwise two are started with
           scripts/chroma.sh and stopped at the end) --server-pids PID,PID
           --cases official,chromawal-http,chromawal-replicated,official-two
           --profile CASE (after the rounds, run that case once more under cProfile, not counted)
"""
import os

# The official client must not phone home; set before chromadb (or chromawal, which imports it) loads.
os.environ["ANONYMIZED_TELEMETRY"] = "False"

import argparse
import concurrent.futures
import cProfile
import platform
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

try:
    import chromadb
    from chromadb.config import Settings
except ImportError as e:
    sys.exit(f"chromadb_bench: cannot import the official client ({e}); install chromadb-client==1.5.9 "
             "(packaging/requirements-test.txt) in this interpreter's environment: see bench/python/README.md")
try:
    import chromawal
except ImportError as e:
    sys.exit(f"chromadb_bench: cannot import chromawal ({e}); put the installed package on PYTHONPATH "
             "or install the wheel: see bench/python/README.md")

ROOT = Path(__file__).resolve().parents[2]
CHROMA_SH = ROOT / "scripts" / "chroma.sh"
RECORD_SEED = 0x9E3779B9
QUERY_SEED = 0x85EBCA6B
TOPICS = 16
CASES = ["official", "chromawal-http", "chromawal-replicated", "official-two"]
GOAL_RATE = 1.0      # chromawal records/s / official records/s, at least
GOAL_CPU = 1.0 / 3   # chromawal client CPU per record / official's, at most


# --- the data of bench/client_bench.cpp -------------------------------------------------------------


class XorShift32:
    def __init__(self, seed: int) -> None:
        self.s = seed or 1

    def next(self) -> int:
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s

    def fill_signed_unit(self, out: np.ndarray) -> None:
        """(next() >> 8) / 2^23 - 1 into a float32 array (exact in float32), as the C++ bench."""
        s = self.s
        vals = [0] * out.size
        for i in range(out.size):
            s ^= (s << 13) & 0xFFFFFFFF
            s ^= s >> 17
            s ^= (s << 5) & 0xFFFFFFFF
            vals[i] = s >> 8
        self.s = s
        out[:] = np.array(vals, dtype=np.float64) / 8388608.0 - 1.0

    def unit(self) -> float:
        return (self.next() >> 8) / 16777216.0


Batch = Dict[str, Any]


def make_data(records: int, dim: int, batch_sizes: List[int], queries: int) -> Tuple[Dict[int, List[Batch]], List[np.ndarray], str]:
    rng = XorShift32(RECORD_SEED)
    emb = np.empty((records, dim), dtype=np.float32)
    ids, docs, metas = [], [], []
    for i in range(records):
        rng.fill_signed_unit(emb[i])
        score = rng.unit()
        topic = rng.next() % TOPICS
        ids.append(f"id-{i}")
        docs.append(f"document {i} about topic {topic}")
        metas.append({"source": "bench", "index": i, "score": score, "topic": f"t{topic}"})
    batches: Dict[int, List[Batch]] = {}
    for b in batch_sizes:
        # Separate lists per call (what a caller hands over); the embedding rows are one C-contiguous
        # float32 array per call.
        batches[b] = [
            {"ids": ids[f:f + b], "embeddings": np.ascontiguousarray(emb[f:f + b]), "documents": docs[f:f + b],
             "metadatas": metas[f:f + b]}
            for f in range(0, records, b)
        ]
    qrng = XorShift32(QUERY_SEED)
    qv = np.empty((queries, dim), dtype=np.float32)
    qrng.fill_signed_unit(qv.reshape(-1))
    qs = [np.ascontiguousarray(qv[q:q + 1]) for q in range(queries)]
    return batches, qs, f"{rng.s:08x}{qrng.s:08x}"


# --- servers ----------------------------------------------------------------------------------------


def run(args: List[str], timeout: float = 900) -> str:
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout.strip()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Servers:
    """Two Chroma servers on 127.0.0.1 started with scripts/chroma.sh (as the Python tests'
    conftest does), each in a folder of this run's temporary directory. stop() kills exactly the
    pids it started (Chroma ignores SIGTERM; a throwaway server needs no clean stop)."""

    def __init__(self, tmp: Path, names: List[str]) -> None:
        self.tmp = tmp
        self.names = names
        self.ports: List[int] = []
        self.started: List[int] = []

    def start(self) -> None:
        run(["bash", str(CHROMA_SH), "install"])
        for name in self.names:
            d = self.tmp / f"chroma-{name}"
            port = int(run(["bash", str(CHROMA_SH), "free-port"]))
            run(["bash", str(CHROMA_SH), "start", "--port", str(port), "--path", str(d / "data"),
                 "--pidfile", str(d / "pid"), "--log", str(d / "log")], timeout=600)
            self.ports.append(port)
            self.started.append(int((d / "pid").read_text().strip()))

    def urls(self) -> List[str]:
        return [f"http://127.0.0.1:{p}" for p in self.ports]

    def stop(self) -> None:
        for pid in self.started:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if b"chroma" not in cmdline:  # a recycled pid is not ours
                continue
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            deadline = time.time() + 10
            while alive(pid) and time.time() < deadline:
                time.sleep(0.02)
        self.started = []


def proc_cpu(pid: int) -> float:
    """utime + stime of one process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def servers_cpu(pids: List[int]) -> float:
    try:
        return sum(proc_cpu(p) for p in pids)
    except (OSError, IndexError, ValueError):
        return float("nan")


def host_port(url: str) -> Tuple[str, int]:
    u = urllib.parse.urlsplit(url)
    return u.hostname or "127.0.0.1", u.port or (443 if u.scheme == "https" else 80)


def wait_idle(pids: List[int], limit_cores: float = 0.1, quiet: float = 1.0, timeout: float = 90.0) -> float:
    """Waits until the servers together use under limit_cores in every 200 ms window for `quiet`
    seconds in a row; returns the seconds waited (or gives up after timeout, and says so)."""
    if not pids:
        return 0.0
    t0 = time.perf_counter()
    quiet_since = t0
    c0, w0 = servers_cpu(pids), t0
    while True:
        time.sleep(0.2)
        c1, w1 = servers_cpu(pids), time.perf_counter()
        used = (c1 - c0) / (w1 - w0)
        if used != used:
            return w1 - t0
        if used >= limit_cores:
            quiet_since = w1
        c0, w0 = c1, w1
        if w1 - quiet_since >= quiet:
            return w1 - t0
        if w1 - t0 > timeout:
            print(f"  (servers still busy after {timeout:.0f} s: {used:.2f} cores; measuring anyway)", flush=True)
            return w1 - t0


# --- the cases ---------------------------------------------------------------------------------------

Result = Dict[str, float]
Results = Dict[Tuple[str, str], List[Result]]


class Bench:
    def __init__(self, args: argparse.Namespace, urls: List[str], pids: List[int], log_url: str, database: str,
                 batches: Dict[int, List[Batch]], qs: List[np.ndarray]) -> None:
        self.args = args
        self.urls = urls
        self.pids = pids
        self.log_url = log_url
        self.database = database
        self.batches = batches
        self.qs = qs
        self.results: Results = {}
        self.profiler: Optional[cProfile.Profile] = None  # set: an extra, unrecorded run under cProfile
        self.seq = 0

    def name(self, case: str) -> str:
        self.seq += 1
        return f"pybench-{case}-{os.getpid()}-{self.seq}"

    def timed(self, case: str, phase: str, n: int, fn: Callable[[], None]) -> None:
        waited = wait_idle(self.pids)
        s0 = servers_cpu(self.pids)
        c0 = time.process_time()
        t0 = time.perf_counter()
        if self.profiler is not None:
            self.profiler.enable()
        try:
            fn()
        finally:
            if self.profiler is not None:
                self.profiler.disable()
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
        server = servers_cpu(self.pids) - s0
        r = {"wall_s": wall, "per_s": n / wall, "cpu_us": cpu * 1e6 / n, "server_us": server * 1e6 / n}
        if self.profiler is not None:
            print(f"  (profiled, not counted) case={case} phase={phase} records_per_s={n / wall:.1f} "
                  f"cpu_us_per_record={r['cpu_us']:.1f}", flush=True)
            return
        self.results.setdefault((case, phase), []).append(r)
        print(f"RESULT case={case} phase={phase} records={n} wall_s={wall:.3f} records_per_s={n / wall:.1f} "
              f"cpu_s={cpu:.3f} cpu_us_per_record={r['cpu_us']:.1f} server_cpu_s={server:.2f} "
              f"server_cpu_us_per_record={r['server_us']:.1f} idle_wait_s={waited:.1f}", flush=True)

    def official_client(self, url: str) -> Any:
        host, port = host_port(url)
        return chromadb.HttpClient(host=host, port=port, ssl=url.startswith("https"), database=self.database,
                                   settings=Settings(anonymized_telemetry=False))

    def check(self, case: str, what: str, got: int, want: int) -> None:
        if got != want:
            raise RuntimeError(f"{case}: {what} {got}, expected {want}")

    def run_case(self, case: str) -> None:
        N = self.args.records
        if case == "official-two":
            self.run_official_two()
            return
        if case == "official":
            client: Any = self.official_client(self.urls[0])
        elif case == "chromawal-http":
            host, port = host_port(self.urls[0])
            client = chromawal.HttpClient(host, port, ssl=self.urls[0].startswith("https"), database=self.database)
        else:
            client = chromawal.Client([("a", self.urls[0]), ("b", self.urls[1])], log_url=self.log_url,
                                      database=self.database)
        names: List[str] = []
        try:
            coll = None
            for b, batches in self.batches.items():
                names.append(self.name(case))
                coll = client.create_collection(names[-1], embedding_function=None)

                def adds(coll: Any = coll, batches: List[Batch] = batches) -> None:
                    for x in batches:
                        coll.add(**x)

                self.timed(case, f"add-b{b}", N, adds)
                self.check(case, f"count after add-b{b}", coll.count(), N)
            if self.qs and coll is not None:
                hits = [0]

                def queries(coll: Any = coll) -> None:
                    for q in self.qs:
                        hits[0] += len(coll.query(query_embeddings=q, n_results=10)["ids"][0])

                self.timed(case, "query", len(self.qs), queries)
                self.check(case, "query hits", hits[0], len(self.qs) * min(10, N))
            if case == "chromawal-replicated":
                # Both servers must hold every record (the write returned after both applied it).
                for inst in ("a", "b"):
                    self.check(case, f"count on {inst}", client.instance(inst).get_collection(names[-1]).count(), N)
        finally:
            for n in names:
                try:
                    client.delete_collection(n)
                except Exception as e:  # the run's database is deleted at the end anyway
                    print(f"  (could not delete {n}: {e})")
            if hasattr(client, "close"):
                client.close()

    def run_official_two(self) -> None:
        N = self.args.records
        clients = [self.official_client(u) for u in self.urls[:2]]
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
        names: List[str] = []
        try:
            for b, batches in self.batches.items():
                names.append(self.name("official-two"))
                colls = [c.create_collection(names[-1], embedding_function=None) for c in clients]

                def adds(colls: List[Any] = colls, batches: List[Batch] = batches) -> None:
                    for x in batches:
                        fs = [pool.submit(lambda c=c: c.add(**x)) for c in colls]
                        for f in fs:
                            f.result()

                self.timed("official-two", f"add-b{b}", N, adds)
                for i, c in enumerate(colls):
                    self.check("official-two", f"count on {'ab'[i]} after add-b{b}", c.count(), N)
        finally:
            pool.shutdown()
            for c in clients:
                for n in names:
                    try:
                        c.delete_collection(n)
                    except Exception as e:
                        print(f"  (could not delete {n}: {e})")


# --- report ------------------------------------------------------------------------------------------


def report(results: Results, cases: List[str], phases: List[str]) -> None:
    med: Dict[Tuple[str, str], Result] = {k: {f: statistics.median(r[f] for r in rs) for f in rs[0]}
                                          for k, rs in results.items()}
    print("\n== medians over rounds (client CPU: this Python process; server CPU: all Chroma servers)")
    print(f"{'phase':<9} {'case':<22} {'records/s':>10} {'client CPU us/rec':>18} {'server CPU us/rec':>18}")
    for phase in phases:
        for case in cases:
            m = med.get((case, phase))
            if m:
                print(f"{phase:<9} {case:<22} {m['per_s']:>10.1f} {m['cpu_us']:>18.1f} {m['server_us']:>18.1f}")

    def ratio(a: str, b: str, phase: str) -> Optional[Tuple[float, float, float, float]]:
        if (a, phase) not in med or (b, phase) not in med:
            return None
        ma, mb = med[(a, phase)], med[(b, phase)]
        ra, rb = results[(a, phase)], results[(b, phase)]
        paired_rate = statistics.median(x["per_s"] / y["per_s"] for x, y in zip(ra, rb))
        paired_cpu = statistics.median(x["cpu_us"] / y["cpu_us"] for x, y in zip(ra, rb))
        return ma["per_s"] / mb["per_s"], paired_rate, ma["cpu_us"] / mb["cpu_us"], paired_cpu

    print("\n== ratios (records/s: higher is better; client CPU per record: lower is better)")
    print("   of the medians, and in brackets the median of the ratios within each round")
    pairs = [("chromawal-http", "official"), ("chromawal-replicated", "official"),
             ("chromawal-replicated", "official-two"), ("official-two", "official")]
    for a, b in pairs:
        for phase in phases:
            r = ratio(a, b, phase)
            if r:
                print(f"{phase:<9} {a + ' / ' + b:<40} records/s x{r[0]:.2f} (x{r[1]:.2f})   "
                      f"client CPU x{r[2]:.2f} (x{r[3]:.2f})")

    print(f"\n== goal (issue 10 item 8): records/s >= x{GOAL_RATE:.2f} the official client's and client CPU per "
          f"record <= x{GOAL_CPU:.2f} of it (printed, not asserted)")
    # Held to the goal: the like-for-like pairs. The replicated client's writes go to both servers (double
    # the server work), so they are compared with official-two; its reads go to one server, as official's.
    goal_pairs = [("chromawal-http", "official", phases, "like for like"),
                  ("chromawal-replicated", "official-two", [p for p in phases if p != "query"],
                   "both write to two servers; chromawal also logs"),
                  ("chromawal-replicated", "official", ["query"], "reads from one server")]
    for a, b, ph, note in goal_pairs:
        for phase in ph:
            r = ratio(a, b, phase)
            if not r:
                continue
            ok_rate, ok_cpu = r[0] >= GOAL_RATE, r[2] <= GOAL_CPU
            verdict = "MET" if ok_rate and ok_cpu else "NOT MET"
            print(f"{phase:<9} {a + ' vs ' + b:<39} {verdict:<8} records/s x{r[0]:.2f} "
                  f"({'ok' if ok_rate else 'short'}), client CPU x{r[2]:.2f} ({'ok' if ok_cpu else 'over'})  [{note}]")


# --- main --------------------------------------------------------------------------------------------


def int_list(s: str) -> List[int]:
    return [int(x) for x in s.split(",") if x.strip()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=2000, help="records per add phase (2000)")
    ap.add_argument("--batch", type=int_list, default=[10, 100], help="batch sizes, comma-separated (10,100)")
    ap.add_argument("--queries", type=int, default=200, help="queries per case (200; 0: no query phase)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds, the order of cases rotating (3)")
    ap.add_argument("--dim", type=int, default=384, help="embedding dimension (384)")
    ap.add_argument("--instances", help="a=URL,b=URL: running Chroma servers instead of starting two")
    ap.add_argument("--server-pids", type=int_list, default=[],
                    help="with --instances: the servers' pids, for their CPU and the wait for idle servers")
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma-separated subset of {','.join(CASES)}")
    ap.add_argument("--profile", choices=CASES, help="after the rounds, run this case once more under cProfile")
    args = ap.parse_args()
    cases = [c for c in CASES if c in args.cases.split(",")]
    unknown = set(args.cases.split(",")) - set(CASES)
    if unknown or not cases:
        ap.error(f"unknown cases {sorted(unknown)}; choose from {CASES}")
    if not args.batch or min(args.batch) < 1 or args.records < 1 or args.rounds < 1:
        ap.error("--batch, --records and --rounds must be positive")

    print("== machine")
    try:
        model = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        model = "unknown"
    print(f"cpus:      {os.cpu_count()} ({model})")
    print(f"python:    {sys.executable} {platform.python_version()}, numpy {np.__version__}")
    print(f"clients:   chromadb {chromadb.__version__} ({Path(chromadb.__file__).parent}), "
          f"chromawal {chromawal.__version__} (library {chromawal.library_version()}, {Path(chromawal.__file__).parent})")
    print(f"load:      {' '.join(open('/proc/loadavg').read().split()[:3])}")
    print(f"== workload: {args.records} records x {args.dim} dims per add phase, batches of "
          f"{', '.join(map(str, args.batch))}; {args.queries} queries (n_results 10); {args.rounds} rounds; "
          f"cases {', '.join(cases)}")
    print("   client CPU = time.process_time() of this process (all its threads; the servers are not in it)")

    t0 = time.perf_counter()
    batches, qs, check = make_data(args.records, args.dim, args.batch, args.queries)
    print(f"data generated in {time.perf_counter() - t0:.1f} s; CHECK data={check}", flush=True)

    # SIGTERM (and SIGHUP) end the run through the finally below, like Ctrl-C.
    def on_signal(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    tmp = Path(tempfile.mkdtemp(prefix="chromawal-pybench-", dir="/tmp"))
    servers: Optional[Servers] = None
    admin: Optional[Any] = None
    database = f"pybench_{os.getpid()}_{int(time.time())}"
    try:
        if args.instances:
            spec = dict(x.split("=", 1) for x in args.instances.split(","))
            if set(spec) != {"a", "b"}:
                ap.error("--instances takes a=URL,b=URL")
            urls = [spec["a"].rstrip("/"), spec["b"].rstrip("/")]
            pids = args.server_pids
            if not pids:
                print("   (no --server-pids: no server CPU figures and no wait for idle servers)")
        else:
            servers = Servers(tmp, ["a", "b"])
            servers.start()
            urls, pids = servers.urls(), list(servers.started)
        print(f"servers:   a={urls[0]} b={urls[1]}" + (f" (pids {pids[0]}, {pids[1]})" if len(pids) == 2 else ""))
        # A database of this run's own on both servers: fresh collections, and a database that no other
        # chromawal log drives (one log per instance set and database: docs/design.md).
        admins = [chromawal.HttpClient(*host_port(u), ssl=u.startswith("https")) for u in urls]
        for a in admins:
            a.create_database(database)
        admin = admins
        log_url = f"sqlite:///{tmp}/chromawal-log.db"
        print(f"database:  {database} on both servers; chromawal.Client log: {log_url}", flush=True)
        bench = Bench(args, urls, pids, log_url, database, batches, qs)
        phases = [f"add-b{b}" for b in args.batch] + (["query"] if args.queries else [])
        for r in range(args.rounds):
            order = cases[r % len(cases):] + cases[:r % len(cases)]
            print(f"== round {r + 1}/{args.rounds}: {', '.join(order)}", flush=True)
            for case in order:
                bench.run_case(case)
        report(bench.results, cases, phases)
        if args.profile:
            bench.profiler = cProfile.Profile(time.process_time)
            print(f"\n== {args.profile} once more under cProfile (not counted above)", flush=True)
            bench.run_case(args.profile)
            print("cProfile of the timed calls only, in CPU time of this process (time.process_time), top 25 by tottime")
            pstats.Stats(bench.profiler).sort_stats("tottime").print_stats(25)
            bench.profiler = None
        print(f"\nload at the end: {' '.join(open('/proc/loadavg').read().split()[:3])}")
        return 0
    except (RuntimeError, chromawal.ChromaError) as e:
        print(f"chromadb_bench: error: {e}", file=sys.stderr)
        return 1
    finally:
        if admin is not None:
            for a in admin:
                try:
                    a.delete_database(database)
                except Exception:
                    pass
        if servers is not None:
            servers.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
