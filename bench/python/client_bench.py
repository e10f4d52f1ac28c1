#!/usr/bin/env python3
"""Python client benchmark: chromawal vs plain HTTP from Python, in one run.

The workload of bench/client_bench.cpp (docs/benchmarks.md), with the same data (the same
xorshift32 generator, seeds and order, so every client sends bit-identical vectors):

  add    10,000 records in 100 sequential add calls of 100 records; each record has a
         384-dim float32 embedding, a document "document N about topic K" and metadata
         {"source": "bench", "index": N, "score": <float in [0,1)>, "topic": "tK"}
  query  200 sequential queries of one embedding, n_results 10, Chroma's default include
         (documents, metadatas, distances)

Clients, each on a fresh collection, over ROUNDS rounds, the order rotating by one client each
round; before every timed phase the script waits until the servers (and PostgreSQL) together
use under 0.1 of a core for a second (/proc/PID/stat, at most 90 s):

  plain-http          http.client with keep-alive, json.dumps / json.loads, write embeddings
                      as base64 float32 (ndarray.tobytes), query embeddings as JSON lists:
                      what chromadb's HTTP client sends, done as cheaply as Python allows
  chromawal-http      chromawal.HttpClient (one server, no log): the same server work
  chromawal-replicated
                      chromawal.Client over two servers and PostgreSQL (every write logged
                      and applied to both); shown for the cost of replication, not as a
                      like-for-like comparison (twice the server work on the same machine)
  chromawal-replicated-pipelined
                      the same client's add_async, a window of --window writes in flight
                      (add phase only); left out, and said so, when the chromawal module has
                      no add_async

Inputs are built before the clock starts: per batch a float32 numpy array, the documents
and the metadata dicts; per query a 1-D float32 array. Both clients get the same objects.

Prints one RESULT line per client, round and phase (wall time, records/s, the process's CPU
time per record, and the servers' CPU time from /proc), then the medians and the ratios.

Usage:
  bench/python/client_bench.py                       starts its own servers with scripts/
  bench/python/client_bench.py --url http://H:P      one running server (no replicated run)
  options: --rounds N (3) --records N --dim N --batch N --queries N --window N (8) --no-replicated
"""
import argparse
import base64
import http.client
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

import chromawal

ROOT = Path(__file__).resolve().parents[2]
RECORD_SEED = 0x9E3779B9
QUERY_SEED = 0x85EBCA6B
TOPICS = 16
BASE = "/tenants/default_tenant/databases/default_database/collections"


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
        """(next() >> 8) / 2^23 - 1 into a float32 array, exactly as the C++ bench."""
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


def make_data(records: int, dim: int, batch: int, queries: int) -> Tuple[List[Dict[str, Any]], List[np.ndarray], str]:
    rng = XorShift32(RECORD_SEED)
    batches = []
    for first in range(0, records, batch):
        n = min(batch, records - first)
        emb = np.empty((n, dim), dtype=np.float32)
        ids, docs, metas = [], [], []
        for k, i in enumerate(range(first, first + n)):
            rng.fill_signed_unit(emb[k])
            score = rng.unit()
            topic = rng.next() % TOPICS
            ids.append(f"id-{i}")
            docs.append(f"document {i} about topic {topic}")
            metas.append({"source": "bench", "index": i, "score": score, "topic": f"t{topic}"})
        batches.append({"ids": ids, "embeddings": emb, "documents": docs, "metadatas": metas})
    qrng = XorShift32(QUERY_SEED)
    qv = np.empty(queries * dim, dtype=np.float32)
    qrng.fill_signed_unit(qv)
    qs = [qv[q * dim : (q + 1) * dim] for q in range(queries)]
    return batches, qs, f"{rng.s:08x}{qrng.s:08x}"


# --- plain HTTP from Python ------------------------------------------------------------------------


class PlainHttp:
    """What a Python HTTP client of Chroma does, written as cheaply as Python allows."""

    def __init__(self, url: str) -> None:
        u = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port or 80, timeout=60)
        self.prefix = "/api/v2"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        self.conn.request(method, self.prefix + path, body=data, headers=headers)
        r = self.conn.getresponse()
        text = r.read()
        if r.status >= 300:
            raise RuntimeError(f"{method} {path}: HTTP {r.status}: {text[:200]!r}")
        return json.loads(text) if text else None

    def create(self, name: str) -> str:
        return str(self.call("POST", BASE, {"name": name})["id"])

    def delete(self, name: str) -> None:
        self.call("DELETE", f"{BASE}/{name}")

    def add(self, cid: str, b: Dict[str, Any]) -> None:
        emb = b["embeddings"]
        body = {
            "ids": b["ids"],
            "embeddings": [base64.b64encode(row.tobytes()).decode("ascii") for row in emb],
            "documents": b["documents"],
            "metadatas": b["metadatas"],
        }
        self.call("POST", f"{BASE}/{cid}/add", body)

    def query(self, cid: str, q: np.ndarray) -> Dict[str, Any]:
        body = {"query_embeddings": [q.tolist()], "n_results": 10, "include": ["metadatas", "documents", "distances"]}
        return dict(self.call("POST", f"{BASE}/{cid}/query", body))

    def count(self, cid: str) -> int:
        return int(self.call("GET", f"{BASE}/{cid}/count"))


# --- servers ----------------------------------------------------------------------------------------


def run(*args: str) -> str:
    return subprocess.run(list(args), check=True, stdout=subprocess.PIPE, text=True).stdout.strip()


class Servers:
    def __init__(self, n: int, with_pg: bool) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="chromawal-pybench-", dir="/tmp"))
        os.chmod(self.tmp, 0o755)
        self.ports: List[int] = []
        self.log_url = ""
        run("bash", str(ROOT / "scripts/chroma.sh"), "install")
        for i in range(n):
            port = int(run("bash", str(ROOT / "scripts/chroma.sh"), "free-port"))
            d = self.tmp / f"chroma{i}"
            run("bash", str(ROOT / "scripts/chroma.sh"), "start", "--port", str(port), "--path", str(d / "data"),
                "--pidfile", str(d / "pid"), "--log", str(d / "log"))
            self.ports.append(port)
        if with_pg:
            self.log_url = run("bash", str(ROOT / "scripts/postgres.sh"), "start", str(self.tmp / "pg")).splitlines()[-1]

    def pids(self) -> List[int]:
        return [int((self.tmp / f"chroma{i}" / "pid").read_text()) for i in range(len(self.ports))]

    def postmaster(self) -> List[int]:
        """PostgreSQL's postmaster (its backends are its children), when it runs."""
        if not self.log_url:
            return []
        return [int((self.tmp / "pg" / "data" / "postmaster.pid").read_text().split()[0])]

    def stop(self) -> None:
        for i in range(len(self.ports)):
            subprocess.run(["bash", str(ROOT / "scripts/chroma.sh"), "stop", "--pidfile",
                            str(self.tmp / f"chroma{i}" / "pid")])
        if self.log_url:
            subprocess.run(["bash", str(ROOT / "scripts/postgres.sh"), "stop", str(self.tmp / "pg"), "immediate"])
        shutil.rmtree(self.tmp, ignore_errors=True)


def proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def tree_cpu(root: int) -> float:
    """CPU seconds of a process and its live descendants (PostgreSQL's backends)."""
    children: Dict[int, List[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    total, todo = 0.0, [root]
    while todo:
        p = todo.pop()
        c = proc_cpu(p)
        total += 0.0 if c != c else c
        todo.extend(children.get(p, []))
    return total


# The processes that must be idle before a timed phase: the Chroma servers and PostgreSQL.
IDLE_PIDS: List[int] = []


def wait_idle(pids: List[int], cores: float = 0.1, quiet: float = 1.0, timeout: float = 90.0) -> float:
    """Waits until the process trees of pids together use under `cores` of a core in every
    200 ms window for `quiet` seconds in a row (Chroma goes on indexing after add has returned);
    gives up after `timeout` seconds, and says so. Returns the seconds waited."""
    if not pids:
        return 0.0
    t0 = time.perf_counter()
    quiet_since = t0
    c0, w0 = sum(tree_cpu(p) for p in pids), time.perf_counter()
    while True:
        time.sleep(0.2)
        c1, w1 = sum(tree_cpu(p) for p in pids), time.perf_counter()
        if (c1 - c0) / (w1 - w0) >= cores:
            quiet_since = w1
        c0, w0 = c1, w1
        if w1 - quiet_since >= quiet:
            return w1 - t0
        if w1 - t0 > timeout:
            print(f"  (servers still busy after {timeout:.0f} s; measuring anyway)", flush=True)
            return w1 - t0


# --- the runs ---------------------------------------------------------------------------------------

Results = Dict[Tuple[str, str], List[Dict[str, float]]]


def timed(name: str, phase: str, n: int, server_pids: List[int], fn: Callable[[], None], results: Results) -> None:
    wait_idle(IDLE_PIDS)
    s0 = sum(proc_cpu(p) for p in server_pids)
    c0 = time.process_time()
    t0 = time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    server = sum(proc_cpu(p) for p in server_pids) - s0
    r = {"wall_s": wall, "per_s": n / wall, "cpu_us": cpu * 1e6 / n, "server_us": server * 1e6 / n}
    results.setdefault((name, phase), []).append(r)
    print(f"RESULT client={name} phase={phase} records={n} wall_s={wall:.3f} records_per_s={n / wall:.1f} "
          f"cpu_s={cpu:.3f} cpu_us_per_record={r['cpu_us']:.1f} server_cpu_s={server:.2f} "
          f"server_cpu_us_per_record={r['server_us']:.1f}", flush=True)


def bench_plain(url: str, name: str, batches: List[Dict[str, Any]], qs: List[np.ndarray], pids: List[int],
                results: Results) -> Tuple[int, int]:
    c = PlainHttp(url)
    cid = c.create(name)
    def adds() -> None:
        for b in batches:
            c.add(cid, b)

    timed("plain-http", "add", sum(len(b["ids"]) for b in batches), pids, adds, results)
    count = c.count(cid)
    hits = [0]

    def queries() -> None:
        for q in qs:
            hits[0] += len(c.query(cid, q)["ids"][0])

    timed("plain-http", "query", len(qs), pids, queries, results)
    c.delete(name)
    return count, hits[0]


def bench_chromawal(label: str, client: Any, name: str, batches: List[Dict[str, Any]], qs: List[np.ndarray],
                    pids: List[int], results: Results) -> Tuple[int, int]:
    coll = client.create_collection(name)
    def adds() -> None:
        for b in batches:
            coll.add(**b)

    timed(label, "add", sum(len(b["ids"]) for b in batches), pids, adds, results)
    count = coll.count()
    hits = [0]

    def queries() -> None:
        for q in qs:
            hits[0] += len(coll.query(query_embeddings=q, n_results=10)["ids"][0])

    timed(label, "query", len(qs), pids, queries, results)
    client.delete_collection(name)
    return count, hits[0]


def bench_pipelined(client: Any, name: str, batches: List[Dict[str, Any]], window: int, pids: List[int],
                    results: Results) -> int:
    """add_async with at most `window` writes in flight, then the rest collected; add phase only."""
    coll = client.create_collection(name)

    def adds() -> None:
        in_flight: List[Any] = []
        for b in batches:
            if len(in_flight) >= window:
                in_flight.pop(0).result()
            in_flight.append(coll.add_async(**b))
        for f in in_flight:
            f.result()

    timed("chromawal-replicated-pipelined", "add", sum(len(b["ids"]) for b in batches), pids, adds, results)
    count = coll.count()
    client.delete_collection(name)
    return count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="a running Chroma server (default: start one with scripts/chroma.sh)")
    ap.add_argument("--server-pid", type=int, help="with --url: the server's pid, for its CPU time")
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", 3)))
    ap.add_argument("--window", type=int, default=8, help="writes in flight in the pipelined case (8)")
    ap.add_argument("--records", type=int, default=int(os.environ.get("RECORDS", 10000)))
    ap.add_argument("--dim", type=int, default=int(os.environ.get("DIM", 384)))
    ap.add_argument("--batch", type=int, default=int(os.environ.get("BATCH", 100)))
    ap.add_argument("--queries", type=int, default=int(os.environ.get("QUERIES", 200)))
    ap.add_argument("--no-replicated", action="store_true", help="skip the chromawal.Client run")
    args = ap.parse_args()
    replicated = not args.no_replicated and not args.url

    print("== machine")
    print(f"cpus:    {os.cpu_count()}")
    try:
        model = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        model = "unknown"
    print(f"cpu:     {model}")
    print(f"python:  {sys.executable} {platform.python_version()}, numpy {np.__version__}, "
          f"chromawal {chromawal.__version__} (library {chromawal.library_version()})")
    print(f"load:    {' '.join(open('/proc/loadavg').read().split()[:3])}")
    print(f"== workload: {args.records} records x {args.dim} dims in batches of {args.batch}; {args.queries} queries")

    t0 = time.perf_counter()
    batches, qs, check = make_data(args.records, args.dim, args.batch, args.queries)
    print(f"data generated in {time.perf_counter() - t0:.1f} s; CHECK data={check}")

    servers: Optional[Servers] = None
    try:
        if args.url:
            url = args.url.rstrip("/")
            pids = [args.server_pid] if args.server_pid else []
        else:
            servers = Servers(2 if replicated else 1, replicated)
            url = f"http://127.0.0.1:{servers.ports[0]}"
            pids = servers.pids()
        host, port = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port
        cw_http = chromawal.HttpClient(host, port)
        cw_repl = None
        if replicated and servers:
            cw_repl = chromawal.Client([(f"s{i}", f"http://127.0.0.1:{p}") for i, p in enumerate(servers.ports)],
                                       log_url=servers.log_url, log_schema="pybench")
        results: Results = {}
        expected = (args.records, args.queries * min(10, args.records))
        if servers:
            IDLE_PIDS[:] = servers.pids() + servers.postmaster()
        elif pids:
            IDLE_PIDS[:] = pids
        cases = ["plain-http", "chromawal-http"]
        if cw_repl is not None:
            cases.append("chromawal-replicated")
            probe = cw_repl.get_or_create_collection("pybench-probe")
            if hasattr(probe, "add_async"):
                cases.append("chromawal-replicated-pipelined")
            else:
                print("(chromawal-replicated-pipelined left out: this chromawal module has no add_async)")
            cw_repl.delete_collection("pybench-probe")
        for r in range(args.rounds):
            order = cases[r % len(cases):] + cases[:r % len(cases)]
            print(f"== round {r + 1}/{args.rounds}: {', '.join(order)}")
            for case in order:
                if case == "plain-http":
                    got = bench_plain(url, f"pybench-plain-{r}", batches, qs, pids[:1], results)
                elif case == "chromawal-http":
                    got = bench_chromawal(case, cw_http, f"pybench-cw-{r}", batches, qs, pids[:1], results)
                elif case == "chromawal-replicated":
                    got = bench_chromawal(case, cw_repl, f"pybench-repl-{r}", batches, qs, pids, results)
                else:
                    got = (bench_pipelined(cw_repl, f"pybench-pipe-{r}", batches, args.window, pids, results),
                           expected[1])
                assert got == expected, f"{case}: count/hits {got} != {expected}"
        if cw_repl is not None:
            cw_repl.close()

        print("\n== medians over rounds")
        print(f"{'client':<22} {'phase':<6} {'records/s':>10} {'client CPU us/rec':>18} {'server CPU us/rec':>18}")
        med: Dict[Tuple[str, str], Dict[str, float]] = {}
        for (name, phase), rs in results.items():
            med[(name, phase)] = {k: statistics.median(x[k] for x in rs) for k in rs[0]}
        for (name, phase), m in sorted(med.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            print(f"{name:<22} {phase:<6} {m['per_s']:>10.1f} {m['cpu_us']:>18.1f} {m['server_us']:>18.1f}")
        print("\n== ratios to plain-http (records/s: higher is better; client CPU: lower is better)")
        print("   of the medians, and in brackets the median of the ratios within each round")
        for name in ("chromawal-http", "chromawal-replicated", "chromawal-replicated-pipelined"):
            for phase in ("add", "query"):
                if (name, phase) not in med:
                    continue
                m, p = med[(name, phase)], med[("plain-http", phase)]
                mine, base = results[(name, phase)], results[("plain-http", phase)]
                paired_rate = statistics.median(a["per_s"] / b["per_s"] for a, b in zip(mine, base))
                paired_cpu = statistics.median(a["cpu_us"] / b["cpu_us"] for a, b in zip(mine, base))
                print(f"{name:<22} {phase:<6} records/s x{m['per_s'] / p['per_s']:.2f} (x{paired_rate:.2f})   "
                      f"client CPU x{m['cpu_us'] / p['cpu_us']:.2f} (x{paired_cpu:.2f})")
        return 0
    finally:
        if servers:
            servers.stop()


if __name__ == "__main__":
    sys.exit(main())
