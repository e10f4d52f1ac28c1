"""The async clients (chromawal.AsyncHttpClient, chromawal.AsyncClient) against real servers:
the API round trip on one server and on the replicated set, concurrent calls on the worker pool
(genuinely overlapping, the GIL released in the native call), errors of the same classes as the
synchronous client's, and closing. Each test runs its coroutine with asyncio.run (pytest-asyncio
is not used)."""
import asyncio
import concurrent.futures
import socket
import threading
import uuid
from typing import List

import numpy as np
import pytest

import chromawal
from chromawal._async import THREAD_NAME_PREFIX
from conftest import ChromaServer, PostgresServer, replicated_options, unique

KINDS = ["http", "replicated"]


async def open_async(kind, servers, postgres, **kw):
    """An async client on the shared servers: one server, or the replicated set with a log of its
    own that takes the instances over (as conftest.make_replicated does for the sync client)."""
    if kind == "http":
        return await chromawal.AsyncHttpClient("127.0.0.1", servers[0].port, allow_reset=True, **kw)
    opts = replicated_options(servers, postgres, **kw)
    client = await chromawal.AsyncClient(opts.pop("instances"), **opts)
    assert isinstance(client, chromawal.AsyncReplicatedClientAPI)
    await client.take_over_instances("pytest: a fresh log per test on session-wide servers")
    return client


async def assert_identical(client, *names):
    """Replicated: every instance has applied everything, and holds the same records."""
    if isinstance(client, chromawal.AsyncReplicatedClientAPI):
        assert await client.wait_until_synced(60), await client.status()
        for n in names:
            report = await client.verify(n)
            assert report["identical"], report["summary"]


def embed(input):
    """A deterministic embedding function (3 dimensions), recording the threads it runs on."""
    embed.threads.add(threading.current_thread())
    return [[float(len(t)), float(sum(map(ord, t)) % 97), 1.0] for t in input]


embed.threads = set()


# ---- the API, end to end ----


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip(kind, servers, postgres, name):
    async def main():
        async with await open_async(kind, servers, postgres) as client:
            assert isinstance(await client.heartbeat(), int)
            assert await client.get_version() == "1.0.0"
            assert await client.get_max_batch_size() == 5461
            assert client.tenant == "default_tenant" and client.database == "default_database"
            before = await client.count_collections()

            coll = await client.create_collection(name, metadata={"owner": "async"}, embedding_function=embed)
            assert isinstance(coll, chromawal.AsyncCollection)
            assert coll.name == name and coll.metadata == {"owner": "async"}
            assert isinstance(coll.id, uuid.UUID) and coll.get_model()["name"] == name
            assert coll.tenant == "default_tenant" and coll.database == "default_database"

            ids = [f"id{i}" for i in range(6)]
            emb = np.arange(18, dtype=np.float32).reshape(6, 3)
            await coll.add(ids=ids, embeddings=emb, documents=[f"doc {i}" for i in ids],
                           metadatas=[{"document_id": "d1" if i < 4 else "d2", "i": i} for i in range(6)])
            if kind == "replicated":
                receipt = coll.last_receipt
                assert receipt is not None and sorted(receipt["applied"]) == ["a", "b"]
            else:
                assert coll.last_receipt is None
            assert await coll.count() == 6

            got = await coll.get(ids=["id1", "id4"], include=["embeddings", "metadatas", "documents"])
            order = [got["ids"].index("id1"), got["ids"].index("id4")]
            np.testing.assert_array_equal(got["embeddings"][order], emb[[1, 4]])
            assert [got["metadatas"][j]["i"] for j in order] == [1, 4]
            assert sorted((await coll.get(where={"document_id": "d2"}))["ids"]) == ["id4", "id5"]

            hits = await coll.query(query_embeddings=emb[2], n_results=2)
            assert hits["ids"][0][0] == "id2" and len(hits["ids"][0]) == 2
            # documents without embeddings: the embedding function runs on a worker thread
            embed.threads.clear()
            await coll.upsert(ids=["t1", "id0"], documents=["hello there", "doc id0 again"])
            assert embed.threads and threading.current_thread() not in embed.threads
            assert all(t.name.startswith(THREAD_NAME_PREFIX) for t in embed.threads)
            by_text = await coll.query(query_texts="hello there", n_results=1, include=["documents"])
            assert by_text["ids"] == [["t1"]] and by_text["documents"] == [["hello there"]]
            await coll.update(ids="id5", metadatas={"document_id": "d2", "i": 50})
            assert (await coll.get(ids="id5"))["metadatas"] == [{"document_id": "d2", "i": 50}]
            assert (await coll.peek(limit=3))["embeddings"].shape == (3, 3)

            assert await coll.delete(ids=["t1"]) == {"deleted": 1}
            await coll.delete(where={"document_id": "d2"})
            await coll.delete_document("d1")
            assert await coll.count() == 0

            renamed = unique("renamed")
            await coll.modify(name=renamed, metadata={"owner": "async", "v": 2})
            assert coll.name == renamed and coll.metadata == {"owner": "async", "v": 2}
            await coll.modify(configuration={"hnsw": {"ef_search": 64}})
            assert coll.configuration["hnsw"]["ef_search"] == 64
            again = await client.get_collection(renamed)
            assert again == coll and again.metadata == {"owner": "async", "v": 2}
            same = await client.get_or_create_collection(renamed, metadata={"ignored": True})
            assert same == coll and same.metadata == {"owner": "async", "v": 2}
            listed = await client.list_collections()
            assert renamed in [c.name for c in listed]
            assert all(isinstance(c, chromawal.AsyncCollection) for c in listed)
            assert await client.count_collections() == before + 1

            await coll.add(ids="last", embeddings=[1.0, 2.0, 3.0])
            await assert_identical(client, renamed)
            await client.delete_collection(renamed)
            with pytest.raises(chromawal.NotFoundError):
                await client.get_collection(renamed)
            assert await client.count_collections() == before

    asyncio.run(main())


def test_http_client_calls(servers):
    async def main():
        async with await chromawal.AsyncHttpClient(f"http://127.0.0.1:{servers[0].port}") as client:
            assert client.base_url == f"http://127.0.0.1:{servers[0].port}"
            assert (await client.get_user_identity())["tenant"] == "default_tenant"
            assert (await client.get_pre_flight_checks())["max_batch_size"] == 5461

            coll = await client.create_collection(unique("byid"))
            by_id = await client.get_collection_by_id(coll.id)
            assert by_id == coll and by_id.id == coll.id

            db = unique("db")
            await client.create_database(db)
            assert (await client.get_database(db))["name"] == db
            assert db in [d["name"] for d in await client.list_databases()]
            await client.set_database(db)
            assert client.database == db
            inner = await client.create_collection("in-db")
            await inner.add(ids="x", embeddings=[1.0])
            assert await client.count_collections() == 1
            await client.delete_collection("in-db")
            await client.set_tenant("default_tenant", "default_database")
            assert client.database == "default_database"
            await client.delete_database(db)
            with pytest.raises(chromawal.NotFoundError):
                await client.get_database(db)

            tenant = unique("tenant")
            await client.create_tenant(tenant)
            assert await client.get_tenant(tenant) == {"name": tenant}
            await client.delete_collection(coll.name)

    asyncio.run(main())


def test_replicated_extras(servers, postgres, name):
    async def main():
        async with await open_async("replicated", servers, postgres) as client:
            assert [i["name"] for i in client.instances] == ["a", "b"]
            assert client.metrics_address is None
            assert client.log_id and isinstance(client.log_id, str)
            status = await client.status()
            assert status["log"]["reachable"] and len(status["instances"]) == 2
            assert "chromawal" in await client.status_prometheus()
            db = unique("adb").replace("_", "-")
            await client.create_database(db)
            await client.set_database(db)
            assert client.database == db
            inner = await client.create_collection("in-adb")
            await inner.add(ids="x", embeddings=[1.0])
            assert await inner.count() == 1
            await client.set_database("default_database")
            await client.delete_database(db)
            with pytest.raises(chromawal.NotFoundError):
                await client.get_database(db)

            # A handle without I/O: no description until refresh().
            handle = client.collection(name)
            with pytest.raises(RuntimeError, match="refresh"):
                handle.id
            await client.create_collection(name)
            await handle.refresh()
            assert isinstance(handle.id, uuid.UUID) and handle.metadata is None

            # Receipts per task: a write awaited in another task sets it there, not here.
            await handle.add(ids="r1", embeddings=[1.0, 0.0])
            mine = handle.last_receipt
            assert mine is not None and not mine["queued"]

            async def elsewhere():
                await handle.add(ids="r2", embeddings=[0.0, 1.0])
                return handle.last_receipt

            theirs = await asyncio.create_task(elsewhere())
            assert theirs["position"] > mine["position"]
            assert handle.last_receipt == mine

            await client.sync_now()
            assert await client.wait_until_synced(60)
            assert (await client.verify(name))["identical"]
            assert (await client.verify(name, "b", "a"))["records_a"] == 2
            assert await client.replay_dead_letters() == {"replayed": 0, "failed": 0, "skipped": 0}

            # One instance, directly, on the same worker pool.
            a = client.instance("a")
            assert isinstance(a, chromawal.AsyncHttpClientAPI) and a.max_workers == client.max_workers
            assert await (await a.get_collection(name)).count() == 2
            await a.close()  # a handed-out client stops taking calls; the pool stays
            with pytest.raises(RuntimeError, match="closed"):
                await a.heartbeat()
            assert await client.heartbeat() > 0
        assert client.closed and client.sync.closed

    asyncio.run(main())


def test_generic_delegation(servers, name, monkeypatch):
    """A sync method without an explicit async twin is awaitable all the same, on a worker thread,
    with a returned Collection converted."""
    monkeypatch.setattr(chromawal.HttpClient, "fetch_by_name", lambda self, n: self.get_collection(n), raising=False)
    monkeypatch.setattr(
        chromawal.Collection, "where_am_i", lambda self, x: (x, threading.current_thread().name), raising=False
    )

    async def main():
        async with await chromawal.AsyncHttpClient("127.0.0.1", servers[0].port, max_workers=3) as client:
            assert client.max_workers == 3
            await client.create_collection(name)
            assert asyncio.iscoroutinefunction(client.fetch_by_name)
            coll = await client.fetch_by_name(name)
            assert isinstance(coll, chromawal.AsyncCollection) and isinstance(coll.id, uuid.UUID)
            assert coll == await client.get_collection(name)
            x, thread = await coll.where_am_i(7)
            assert x == 7 and thread.startswith(THREAD_NAME_PREFIX)
            assert coll.sync.where_am_i(1)[1] == threading.current_thread().name  # the sync one blocks
            with pytest.raises(AttributeError):
                client.no_such_method
            await client.delete_collection(name)

    asyncio.run(main())


# ---- concurrency ----


@pytest.mark.parametrize("kind", KINDS)
def test_concurrent_adds_all_land(kind, servers, postgres, name):
    async def main():
        async with await open_async(kind, servers, postgres, max_workers=8) as client:
            coll = await client.create_collection(name)
            n, per = 48, 5
            rng = np.random.default_rng(10)
            batches = [rng.random((per, 8), dtype=np.float32) for _ in range(n)]

            async def add(b):
                await coll.add(ids=[f"b{b}-{i}" for i in range(per)], embeddings=batches[b],
                               metadatas=[{"batch": b}] * per)

            await asyncio.gather(*(add(b) for b in range(n)))
            assert await coll.count() == n * per
            got = await coll.get(include=[])
            assert sorted(got["ids"]) == sorted(f"b{b}-{i}" for b in range(n) for i in range(per))
            counts = await asyncio.gather(*(coll.count() for _ in range(16)))
            assert counts == [n * per] * 16
            await assert_identical(client, name)
            await client.delete_collection(name)

    asyncio.run(main())


@pytest.mark.parametrize("kind", KINDS)
def test_calls_overlap_on_worker_threads(kind, servers, postgres, name):
    """k adds whose embedding function waits at a k-party barrier: they can only all return if k
    calls are in progress at once, on k different worker threads (a deterministic check)."""
    k = 4
    barrier = threading.Barrier(k, timeout=60)
    lock = threading.Lock()
    running = [0, 0]  # now, most at once
    threads = set()

    def slow_embed(input):
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
            threads.add(threading.current_thread())
        try:
            barrier.wait()  # BrokenBarrierError (the add fails) unless k calls overlap
        finally:
            with lock:
                running[0] -= 1
        return [[1.0, float(len(t)), 0.0] for t in input]

    async def main():
        async with await open_async(kind, servers, postgres, max_workers=k) as client:
            coll = await client.create_collection(name, embedding_function=slow_embed)
            await asyncio.gather(*(coll.add(ids=f"doc{i}", documents=f"text {i}") for i in range(k)))
            assert running == [0, k]
            assert len(threads) == k and threading.current_thread() not in threads
            assert all(t.name.startswith(THREAD_NAME_PREFIX) for t in threads)
            assert await coll.count() == k
            await assert_identical(client, name)
            await client.delete_collection(name)

    asyncio.run(main())


def test_a_native_call_waiting_on_a_server_blocks_nothing_else(servers):
    """A call stuck in the C++ layer (a "server" that never answers) holds one worker, without the
    GIL: the event loop and the other workers serve other calls meanwhile."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    port = srv.getsockname()[1]
    got_request = threading.Event()
    release = threading.Event()

    def serve():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            conn.recv(65536)
            got_request.set()
            release.wait(60)
            conn.close()  # an empty reply: the stuck call fails at once

    threading.Thread(target=serve, daemon=True).start()
    native = chromawal._chromawal.HttpClient(
        {"base_url": f"http://127.0.0.1:{port}", "request_timeout": 60.0, "connect_timeout": 5.0}
    )

    async def main():
        pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="shared-pool")
        try:
            stuck_client = chromawal.AsyncHttpClientAPI(chromawal.HttpClient._from_native(native), executor=pool)
            live = chromawal.AsyncHttpClientAPI(chromawal.HttpClient("127.0.0.1", servers[0].port), executor=pool)
            assert stuck_client.max_workers is None
            stuck = asyncio.ensure_future(stuck_client.heartbeat())
            loop = asyncio.get_running_loop()
            assert await loop.run_in_executor(None, got_request.wait, 60)  # the request is in C++ now
            for _ in range(5):
                assert await live.heartbeat() > 0  # on the pool's other worker
            assert await live.count_collections() >= 0
            assert not stuck.done()
            release.set()
            with pytest.raises(chromawal.ChromaConnectionError):
                await stuck
            await stuck_client.close()
            await live.close()
            assert pool.submit(lambda: 42).result() == 42  # a given executor is left running
        finally:
            pool.shutdown()

    try:
        asyncio.run(main())
    finally:
        release.set()
        srv.close()


# ---- errors ----


@pytest.mark.parametrize("kind", KINDS)
def test_errors_are_the_sync_clients(kind, servers, postgres, name):
    """Each failing call raises the class (and message) the synchronous client raises for it."""

    async def main():
        async with await open_async(kind, servers, postgres) as client:
            coll = await client.create_collection(name)
            await coll.add(ids=["a", "b"], embeddings=[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
            sync_client, sync_coll = client.sync, coll.sync
            missing = unique("missing")
            cases = [
                ("get_collection missing", lambda c, x: c.get_collection(missing)),
                ("create existing", lambda c, x: c.create_collection(name)),
                ("empty ids", lambda c, x: x.add(ids=[], documents=[])),
                ("duplicate ids", lambda c, x: x.add(ids=["c", "c"], embeddings=[[1.0, 2.0, 3.0]] * 2)),
                ("no embedding function", lambda c, x: x.add(ids=["c"], documents=["text"])),
                ("nan", lambda c, x: x.add(ids=["c"], embeddings=[[1.0, float("nan"), 3.0]])),
                ("n_results 0", lambda c, x: x.query(query_embeddings=[1.0, 2.0, 3.0], n_results=0)),
                ("dimension", lambda c, x: x.add(ids=["c"], embeddings=[[1.0, 2.0]])),
                ("delete nothing", lambda c, x: x.delete()),
                ("bad where", lambda c, x: x.get(where={"$nope": 1})),
                ("bad key", lambda c, x: x.add(ids=["c"], embeddings=[[1.0, 2.0, 3.0]], idempotency_key=3)),
            ]
            if kind == "http":
                cases.append(("key without log", lambda c, x: x.add(ids=["c"], embeddings=[[1.0, 2.0, 3.0]],
                                                                    idempotency_key="k")))
            for label, call in cases:
                with pytest.raises(Exception) as sync_error:
                    call(sync_client, sync_coll)
                with pytest.raises(Exception) as async_error:
                    await call(client, coll)
                assert type(async_error.value) is type(sync_error.value), label
                assert str(async_error.value) == str(sync_error.value), label
            with pytest.raises(chromawal.NotFoundError, match="does not exist"):
                await client.get_collection(missing)
            with pytest.raises(chromawal.InvalidArgumentError):
                await coll.add(ids=["c"], embeddings=[[1.0, 2.0]])
            assert await coll.count() == 2  # nothing failing was written
            await assert_identical(client, name)
            await client.delete_collection(name)

    asyncio.run(main())


def test_failed_construction_raises_and_stops_its_pool(servers, postgres):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there

    def workers():
        return {t for t in threading.enumerate() if t.name.startswith(THREAD_NAME_PREFIX)}

    async def main():
        before = workers()
        with pytest.raises(ValueError, match=r"^Could not connect to a Chroma server\. Are you sure it is running\?$"):
            await chromawal.AsyncHttpClient("127.0.0.1", port)
        with pytest.raises(TypeError, match="write_quorum"):
            await chromawal.AsyncClient([("a", servers[0].url)], log_url=postgres.uri, write_quorum="2")
        assert workers() <= before  # the pools made for them are stopped
        with pytest.raises(ValueError, match="max_workers or executor"):
            await chromawal.AsyncHttpClient("127.0.0.1", servers[0].port, max_workers=2,
                                            executor=concurrent.futures.ThreadPoolExecutor(1))
        with pytest.raises(ValueError, match="at least 1"):
            await chromawal.AsyncHttpClient("127.0.0.1", servers[0].port, max_workers=0)
        with pytest.raises(TypeError, match="HttpClient"):
            chromawal.AsyncHttpClientAPI(object())

    asyncio.run(main())


# ---- closing ----


@pytest.mark.parametrize("kind", KINDS)
def test_close_and_context_manager(kind, servers, postgres, name):
    async def main():
        async with await open_async(kind, servers, postgres) as client:
            coll = await client.create_collection(name, embedding_function=embed)
            embed.threads.clear()
            await coll.add(ids=["x", "y"], documents=["one", "two"])
            used = set(embed.threads)
            assert used and all(t.is_alive() for t in used)
            await assert_identical(client, name)
            await client.delete_collection(name)
        assert client.closed
        assert not any(t.is_alive() for t in used)  # the pool's threads are stopped
        if kind == "replicated":
            assert client.sync.closed  # and the background threads of the sync client
        with pytest.raises(RuntimeError, match="closed"):
            await client.heartbeat()
        with pytest.raises(RuntimeError, match="closed"):
            await coll.count()
        await client.close()  # idempotent

        # Without a with block: close() by hand.
        other = await open_async(kind, servers, postgres)
        assert await other.heartbeat() > 0
        await other.close()
        with pytest.raises(RuntimeError, match="closed"):
            await other.list_collections()

    asyncio.run(main())


def test_close_waits_for_calls_in_flight(servers, name):
    entered = threading.Event()
    release = threading.Event()

    def blocking_embed(input):
        entered.set()
        assert release.wait(60)
        return [[1.0, 2.0] for _ in input]

    async def main():
        client = await chromawal.AsyncHttpClient("127.0.0.1", servers[0].port)
        coll = await client.create_collection(name, embedding_function=blocking_embed)
        adding = asyncio.ensure_future(coll.add(ids="only", documents="the one"))
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, entered.wait, 60)
        closing = asyncio.ensure_future(client.close())
        done, _ = await asyncio.wait({closing}, timeout=0.2)
        assert not done  # the add is still in progress: close waits for it
        assert client.closed
        with pytest.raises(RuntimeError, match="closed"):
            await coll.count()  # no new call once closing
        release.set()
        await closing
        assert adding.done() and adding.exception() is None  # the call in flight completed

    asyncio.run(main())
    sync = chromawal.HttpClient("127.0.0.1", servers[0].port)
    assert sync.get_collection(name).count() == 1
    sync.delete_collection(name)


def test_package_exports_and_docs():
    for obj in (chromawal.AsyncHttpClient, chromawal.AsyncClient, chromawal.AsyncClientAPI,
                chromawal.AsyncHttpClientAPI, chromawal.AsyncReplicatedClientAPI, chromawal.AsyncCollection):
        assert obj.__doc__ and obj.__name__ in chromawal.__all__
    assert asyncio.iscoroutinefunction(chromawal.AsyncHttpClient)
    assert asyncio.iscoroutinefunction(chromawal.AsyncClient)
    for method in ("add", "upsert", "update", "delete", "get", "query", "count", "peek", "modify"):
        assert asyncio.iscoroutinefunction(getattr(chromawal.AsyncCollection, method)), method
    for method in ("create_collection", "get_collection", "get_or_create_collection", "list_collections",
                   "count_collections", "delete_collection", "heartbeat", "get_version", "reset",
                   "get_max_batch_size", "close"):
        assert asyncio.iscoroutinefunction(getattr(chromawal.AsyncClientAPI, method)), method


def test_async_clients_have_the_chromadb_client_calls(servers: List[ChromaServer], postgres: PostgresServer) -> None:
    async def main() -> None:
        http = await chromawal.AsyncHttpClient("127.0.0.1", servers[0].port, allow_reset=True)
        rep = await chromawal.AsyncClient(
            [(s.name.split("-")[-1], s.url) for s in servers],
            log_url=postgres.uri,
            log_schema=unique("t").replace("-", "_"),
            allow_reset=True,
        )
        try:
            await rep.take_over_instances("pytest: a fresh log on session-wide servers")
            for c in (http, rep):
                s = c.get_settings()  # plain call, as chromadb's async client
                assert s.chroma_server_http_port == servers[0].port and s.allow_reset is True
                assert (await c.get_user_identity())["tenant"] == "default_tenant"
            name = unique("async-by-id")
            coll = await rep.create_collection(name)
            got = await rep.get_collection_by_id(coll.id)
            assert isinstance(got, chromawal.AsyncCollection) and got.name == name
        finally:
            await http.close()
            await rep.close()

    asyncio.run(main())
