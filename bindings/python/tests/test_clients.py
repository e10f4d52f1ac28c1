"""Client-level calls: HttpClient (one server) specifics, many Python threads on one client,
and the installed package (stubs, py.typed)."""
import threading
from pathlib import Path

import numpy as np
import pytest

import chromawal
from conftest import make_rng, unique


def test_http_client_server_calls(http, servers):
    assert isinstance(http.heartbeat(), int) and http.heartbeat() > 0
    assert http.get_version() == "1.0.0"
    assert http.get_max_batch_size() == 5461
    assert http.get_pre_flight_checks()["supports_base64_encoding"] is True
    ident = http.get_user_identity()
    assert ident["tenant"] == "default_tenant"
    assert http.base_url == f"http://127.0.0.1:{servers[0].port}"
    # chromadb's positional form and the host-with-scheme form
    assert chromawal.HttpClient(f"http://127.0.0.1:{servers[0].port}").heartbeat() > 0
    assert chromawal.HttpClient("127.0.0.1", str(servers[0].port), False, {"X-Test": "1"}).heartbeat() > 0


def test_http_client_by_id_databases_tenants(http, name):
    coll = http.create_collection(name)
    same = http.get_collection_by_id(coll.id)
    assert same.name == name and same.id == coll.id
    with pytest.raises(chromawal.NotFoundError):
        http.get_collection_by_id("00000000-0000-4000-8000-000000000000")

    db = unique("db")
    http.create_database(db)
    assert http.get_database(db)["name"] == db
    assert db in [d["name"] for d in http.list_databases()]
    other = chromawal.HttpClient("127.0.0.1", int(http.base_url.rsplit(":", 1)[1]), database=db)
    c = other.create_collection("in-other-db")
    c.add(ids="x", embeddings=[1.0])
    assert other.count_collections() == 1
    assert "in-other-db" not in [x.name for x in http.list_collections()]
    http.set_database(db)
    assert http.get_collection("in-other-db").count() == 1
    http.set_database("default_database")
    other.delete_collection("in-other-db")
    http.delete_database(db)
    with pytest.raises(chromawal.NotFoundError):
        http.get_database(db)

    tenant = unique("tenant")
    http.create_tenant(tenant)
    assert http.get_tenant(tenant) == {"name": tenant}
    with pytest.raises(chromawal.ChromaError):
        http.create_tenant(tenant)


def test_context_manager_and_close(servers, postgres):
    from conftest import make_replicated

    with make_replicated(servers, postgres) as client:
        coll = client.create_collection(unique("ctx"))
        coll.add(ids="a", embeddings=[1.0, 2.0])
    assert client.closed
    with pytest.raises(RuntimeError, match="closed"):
        coll.count()
    client.close()  # idempotent


@pytest.mark.parametrize("kind", ["http", "replicated"])
def test_many_threads_one_client(kind, http, replicated, name):
    """One client shared by many Python threads: writes, reads and queries at once."""
    client = http if kind == "http" else replicated
    coll = client.create_collection(name)
    threads, per_thread, batches = 8, 10, 12
    errors = []
    barrier = threading.Barrier(threads)

    def work(t):
        try:
            rng = make_rng(t)  # one seeded generator per thread (Generators are not thread-safe)
            barrier.wait()
            for b in range(batches):
                ids = [f"t{t}-b{b}-{i}" for i in range(per_thread)]
                coll.add(ids=ids, embeddings=rng.random((per_thread, 8), dtype=np.float32),
                         documents=[f"doc {i}" for i in ids], metadatas=[{"thread": t, "batch": b}] * per_thread)
                got = coll.get(ids=ids, include=["metadatas"])
                assert sorted(got["ids"]) == sorted(ids)
                q = coll.query(query_embeddings=rng.random((2, 8)), n_results=3, where={"thread": t})
                assert len(q["ids"]) == 2 and all(len(x) <= 3 for x in q["ids"])
                if kind == "replicated":
                    assert coll.last_receipt is not None and not coll.last_receipt["queued"]
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(300)
    assert errors == []
    assert coll.count() == threads * per_thread * batches
    if kind == "replicated":
        assert client.wait_until_synced(60)
        assert client.verify(name)["identical"]


def test_package_is_typed():
    pkg = Path(chromawal.__file__).parent
    assert (pkg / "py.typed").exists()
    assert (pkg / "_chromawal.pyi").exists()
    assert chromawal.library_version() == chromawal.__version__
    for cls in (chromawal.Client, chromawal.HttpClient, chromawal.Collection):
        assert cls.__doc__
