#!/usr/bin/env python3
"""Ingest chunked documents through chromawal, from Python.

What a typical ingestion service does, on two Chroma servers used as one:

1. split documents into chunks and add them with a ``document_id`` metadata value (the
   embeddings come from an embedding function passed to the collection, as with chromadb);
2. keep ingesting while one instance is killed with SIGKILL, and after it is restarted: the
   write-ahead log (the embedded SQLite default, or PostgreSQL) catches it up;
3. delete one whole document (every chunk of it) with a metadata filter;
4. query, print the status, and check that both instances hold identical records.

Usage:
    examples/python/ingest.py [--postgres]
        starts two Chroma servers (scripts/chroma.sh of this repository) and stops them at the
        end. The client is given no log: it uses the embedded SQLite default (here in a
        throwaway XDG_STATE_HOME); --postgres starts a PostgreSQL (scripts/postgres.sh) for it;
    examples/python/ingest.py --instances a=http://10.0.0.1:8000,b=http://10.0.0.2:8000 \\
                              [--log-url postgresql://chromawal@10.0.0.3/chromawal]
        uses running servers (then nothing is killed or restarted); without --log-url, the
        default log in ~/.local/state/chromawal/.

Needs the chromawal Python module (see docs/python.md).
"""
import argparse
import hashlib
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import chromawal

ROOT = Path(__file__).resolve().parents[2]
DIM = 64

# --- a tiny deterministic embedding function (no model download) ------------------------------


class HashingEmbeddingFunction:
    """Bag of hashed words, L2-normalised: similar texts get similar vectors. Any chromadb
    embedding function (OpenAI, sentence-transformers, ...) can be passed the same way."""

    def __call__(self, input: List[str]) -> List[List[float]]:
        out = []
        for text in input:
            v = [0.0] * DIM
            for word in text.lower().split():
                h = int.from_bytes(hashlib.blake2b(word.strip(".,;:").encode(), digest_size=4).digest(), "little")
                v[h % DIM] += 1.0 if (h >> 16) & 1 else -1.0
            norm = math.sqrt(sum(x * x for x in v)) or 1.0
            out.append([x / norm for x in v])
        return out


# --- documents ---------------------------------------------------------------------------------

TOPICS = {
    "postgres": "PostgreSQL stores the write-ahead log durably and every write is appended before it is applied",
    "chroma": "Chroma is a vector database that answers nearest neighbour queries over embeddings",
    "failover": "when an instance fails the other instances keep serving reads and writes until it returns",
    "recovery": "a restarted instance is caught up in log order exactly once by the sync thread",
    "python": "the Python bindings keep the chromadb API so that switching is a change of one constructor",
    "metadata": "chunks carry a document id in their metadata so a whole document can be deleted at once",
}


def make_documents(n: int) -> List[Tuple[str, str]]:
    docs = []
    names = list(TOPICS)
    for d in range(n):
        topic = names[d % len(names)]
        sentences = [f"Document {d} is about {topic}.", TOPICS[topic] + "."]
        sentences += [f"Paragraph {p} of document {d} adds detail number {p * 7 + d} about {topic}." for p in range(9)]
        docs.append((f"doc-{d:02d}", " ".join(sentences)))
    return docs


def chunk(text: str, words: int = 24) -> List[str]:
    w = text.split()
    return [" ".join(w[i : i + words]) for i in range(0, len(w), words)]


def ingest(coll: chromawal.Collection, doc_id: str, text: str) -> chromawal.WriteReceipt:
    pieces = chunk(text)
    coll.add(
        ids=[f"{doc_id}#{i}" for i in range(len(pieces))],
        documents=pieces,
        metadatas=[{"document_id": doc_id, "chunk": i, "chunks": len(pieces)} for i in range(len(pieces))],
    )
    receipt = coll.last_receipt  # where the write is in the log, and where it was applied
    assert receipt is not None
    return receipt


# --- servers (when the example starts its own) ---------------------------------------------------


def run(*args: str) -> str:
    return subprocess.run(list(args), check=True, stdout=subprocess.PIPE, text=True).stdout.strip()


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


class Servers:
    def __init__(self, postgres: bool) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="chromawal-ingest-", dir="/tmp"))
        os.chmod(self.tmp, 0o755)
        self.chroma: Dict[str, int] = {}
        self.pg = self.tmp / "pg" if postgres else None

    def start(self) -> Tuple[List[Tuple[str, str]], Optional[str]]:
        log_url = None
        if self.pg:
            print("starting PostgreSQL and two Chroma servers (scripts/postgres.sh, scripts/chroma.sh) ...")
            log_url = run("bash", str(ROOT / "scripts/postgres.sh"), "start", str(self.pg)).splitlines()[-1]
        else:
            print("starting two Chroma servers (scripts/chroma.sh); the log: the embedded SQLite default ...")
            # No log configured: the client's default, in a state directory of this run's own.
            os.environ["XDG_STATE_HOME"] = str(self.tmp / "state")
            for var in ("CHROMAWAL_LOG_URL", "PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER",
                        "PGPASSWORD", "PGSERVICE", "PGSERVICEFILE", "PGPASSFILE", "PGOPTIONS", "PGSSLMODE"):
                os.environ.pop(var, None)
        for name in ("a", "b"):
            self.chroma[name] = int(run("bash", str(ROOT / "scripts/chroma.sh"), "free-port"))
            self.start_chroma(name)
        return [(n, f"http://127.0.0.1:{p}") for n, p in self.chroma.items()], log_url

    def start_chroma(self, name: str) -> None:
        d = self.tmp / name
        run("bash", str(ROOT / "scripts/chroma.sh"), "start", "--port", str(self.chroma[name]), "--path",
            str(d / "data"), "--pidfile", str(d / "pid"), "--log", str(d / "log"))

    def kill9(self, name: str) -> None:
        pidfile = self.tmp / name / "pid"
        pid = int(pidfile.read_text())
        os.kill(pid, signal.SIGKILL)
        while alive(pid):
            time.sleep(0.02)
        pidfile.unlink()

    def stop(self) -> None:
        for name in self.chroma:
            subprocess.run(["bash", str(ROOT / "scripts/chroma.sh"), "stop", "--pidfile", str(self.tmp / name / "pid")])
        if self.pg:
            subprocess.run(["bash", str(ROOT / "scripts/postgres.sh"), "stop", str(self.pg), "immediate"])
        shutil.rmtree(self.tmp, ignore_errors=True)


# --- output ---------------------------------------------------------------------------------------


def print_status(client: chromawal.Client, title: str) -> None:
    s = client.status()
    log = s["log"]
    print(f"  status ({title}): log {'reachable' if log['reachable'] else 'UNREACHABLE'}, "
          f"{log['pending']} pending, {log['applied']} applied everywhere")
    for i in s["instances"]:
        print(f"    {i['name']:<3} {'up  ' if i['healthy'] else 'DOWN'} {'primary' if i['primary'] else 'replica'}"
              f"  applied {i['applied']:4d}  lag {i['lag_entries']:3d} entries {i['lag_seconds']:6.2f} s"
              + ("" if i["healthy"] or not i["last_error"] else f"  (last error: {i['last_error'].split(': ')[-1][:60]})"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instances", help="name=url,name=url (the first is the primary); default: start servers")
    ap.add_argument("--log-url", help="the log: a PostgreSQL URI or conninfo, or sqlite:///path.db "
                                      "(default: the embedded SQLite default)")
    ap.add_argument("--postgres", action="store_true", help="start a PostgreSQL for the log (without --instances)")
    ap.add_argument("--documents", type=int, default=12)
    args = ap.parse_args()

    servers: Optional[Servers] = None
    if args.instances:
        instances = [(x.split("=", 1)[0], x.split("=", 1)[1]) for x in args.instances.split(",")]
        log_url = args.log_url
    else:
        servers = Servers(args.postgres)
    try:
        if servers:
            instances, log_url = servers.start()
        client = chromawal.Client(
            instances,
            log_url=log_url,
            health_interval=0.2,
            sync_interval=0.2,
            request_timeout=5.0,
            connect_timeout=1.0,
        )
        with client:
            print(f"client: {client}")
            coll = client.get_or_create_collection(
                "ingest-example", metadata={"purpose": "chromawal Python example"},
                embedding_function=HashingEmbeddingFunction(),
            )
            docs = make_documents(args.documents)
            half = len(docs) // 2

            print(f"\ningesting {half} documents ...")
            for doc_id, text in docs[:half]:
                r = ingest(coll, doc_id, text)
                print(f"  {doc_id}: log position {r['position']:3d}, applied on {', '.join(r['applied'])}")
            print_status(client, "after the first half")

            victim = instances[-1][0]
            if servers:
                print(f"\ninstance {victim}: kill -9 (a crash), then ingesting the rest ...")
                servers.kill9(victim)
            for doc_id, text in docs[half:]:
                r = ingest(coll, doc_id, text)
                print(f"  {doc_id}: log position {r['position']:3d}, applied on {', '.join(r['applied']) or '(queued)'}")
            print_status(client, f"{victim} down" if servers else "all ingested")

            if servers:
                print(f"\ninstance {victim}: restarted; the sync thread catches it up ...")
                servers.start_chroma(victim)
            if not client.wait_until_synced(60):
                print("  not caught up within 60 s", file=sys.stderr)
                print_status(client, "timeout")
                return 1
            print_status(client, "caught up")

            doomed = docs[1][0]
            before = coll.count()
            print(f"\ndeleting every chunk of {doomed} (where document_id == {doomed!r}) ...")
            coll.delete(where={"document_id": doomed})
            print(f"  records: {before} -> {coll.count()}; chunks of {doomed} left: "
                  f"{len(coll.get(where={'document_id': doomed})['ids'])}")

            question = "how is a restarted instance caught up"
            hits = coll.query(query_texts=question, n_results=3, include=["documents", "metadatas", "distances"])
            print(f"\nquery: {question!r}")
            documents, metadatas, distances = hits["documents"], hits["metadatas"], hits["distances"]
            assert documents is not None and metadatas is not None and distances is not None
            for doc, meta, dist in zip(documents[0], metadatas[0], distances[0]):
                where = f"{meta['document_id']}#{meta['chunk']}" if meta else "?"
                print(f"  {dist:6.3f}  {where}: {(doc or '')[:70]}...")

            assert client.wait_until_synced(60)
            report = client.verify(coll.name)
            print(f"\nverify: {report['summary']}")
            print_status(client, "final")
            return 0 if report["identical"] else 1
    finally:
        if servers:
            servers.stop()


if __name__ == "__main__":
    sys.exit(main())
