"""Parity with the official chromadb client where the native (C++) layer decides: an empty id
list in query and get, the collection model's fields, and the count of a replicated delete."""
import numpy as np
import pytest


def _records(n, dim=2, doc_of=lambda i: f"doc{i % 3}"):
    ids = [f"r{i}" for i in range(n)]
    emb = np.array([[float(i), 0.0] + [0.0] * (dim - 2) for i in range(n)], dtype=np.float32)
    docs = [f"text {i}" for i in range(n)]
    metas = [{"i": i, "document_id": doc_of(i), "parity": "even" if i % 2 == 0 else "odd"} for i in range(n)]
    return ids, emb, docs, metas


# ---- ids=[]: restricts to no record (absent: no restriction) ----


def test_query_with_an_empty_id_list_finds_nothing(client, name):
    coll = client.create_collection(name)
    ids, emb, docs, metas = _records(6)
    coll.add(ids=ids, embeddings=emb, documents=docs, metadatas=metas)
    queries = [[0.0, 0.0], [5.0, 0.0]]

    everything = coll.query(query_embeddings=queries, n_results=2)
    assert [len(x) for x in everything["ids"]] == [2, 2]
    unset = coll.query(query_embeddings=queries, n_results=2, ids=None)
    assert unset["ids"] == everything["ids"]

    none = coll.query(
        query_embeddings=queries,
        n_results=2,
        ids=[],
        include=["documents", "metadatas", "distances", "embeddings"],
    )
    assert none["ids"] == [[], []]  # one empty list per query, as chromadb returns
    assert none["documents"] == [[], []]
    assert none["metadatas"] == [[], []]
    assert none["distances"] == [[], []]
    assert [len(e) for e in none["embeddings"]] == [0, 0]
    # Combined with a filter it still finds nothing.
    assert coll.query(query_embeddings=queries, n_results=2, ids=[], where={"parity": "odd"})["ids"] == [[], []]
    # A non-empty list still restricts.
    assert coll.query(query_embeddings=[[0.0, 0.0]], n_results=5, ids=["r4", "r5"])["ids"] == [["r4", "r5"]]


def test_get_with_an_empty_id_list_is_refused_as_chromadb_does(client, name):
    # chromadb validates get's ids: "Expected IDs to be a non-empty list" (ValueError). The
    # server itself would answer `"ids": []` with no records (the C++ API sends it so).
    coll = client.create_collection(name)
    ids, emb, docs, metas = _records(3)
    coll.add(ids=ids, embeddings=emb, documents=docs, metadatas=metas)
    with pytest.raises(ValueError, match="non-empty"):
        coll.get(ids=[])
    assert sorted(coll.get(ids=None)["ids"]) == ids


# ---- the collection model: version, log_position, serialized_schema ----


def test_info_carries_version_log_position_and_the_schema(client, name):
    coll = client.create_collection(name)
    ids, emb, docs, metas = _records(3)
    coll.add(ids=ids, embeddings=emb, documents=docs, metadatas=metas)
    coll._native.refresh()
    info = coll._native.info()
    assert {"version", "log_position", "serialized_schema"} <= set(info)
    assert isinstance(info["version"], int) and info["version"] >= 0
    assert isinstance(info["log_position"], int) and info["log_position"] >= 0
    schema = info["serialized_schema"]
    # Chroma 1.x describes every collection with a schema: {"defaults": ..., "keys": ...}.
    assert isinstance(schema, dict)
    assert "defaults" in schema and "keys" in schema
    assert "#embedding" in schema["keys"]


# ---- a replicated delete reports what it deleted ----


def test_replicated_filter_delete_returns_the_exact_count(replicated, name):
    replicated.create_collection(name)
    coll = replicated.get_collection(name)
    ids, emb, docs, metas = _records(12, doc_of=lambda i: f"doc{i // 4}")
    coll.add(ids=ids, embeddings=emb, documents=docs, metadatas=metas)

    r = coll.delete(where={"parity": "odd"})
    assert r == {"deleted": 6} and isinstance(r["deleted"], int)
    assert coll.last_receipt["position"] > 0
    assert coll.count() == 6  # r0 r2 r4 r6 r8 r10
    # Nothing matches: 0, and nothing is logged.
    assert coll.delete(where={"parity": "odd"}) == {"deleted": 0}
    assert coll.last_receipt["position"] == 0
    assert coll.delete(where_document={"$contains": "text 10"}) == {"deleted": 1}
    # ids together with a filter: the ids that match (r3 is gone already).
    assert coll.delete(ids=["r0", "r2", "r3"], where={"parity": "even"}) == {"deleted": 2}
    assert coll.delete_document("doc1") == {"deleted": 2}  # r4 r6
    assert sorted(coll.get()["ids"]) == ["r8"]
    more_ids, more_emb, more_docs, more_metas = _records(25)
    coll.add(ids=more_ids[20:], embeddings=more_emb[20:], documents=more_docs[20:], metadatas=more_metas[20:])
    assert coll.delete(where={"i": {"$gte": 20}}, limit=3) == {"deleted": 3}
    assert coll.count() == 3
    # An ids-only delete counts the ids sent, as Chroma does.
    assert coll.delete(ids=["gone", "also-gone"]) == {"deleted": 2}
    assert replicated.wait_until_synced(30)
    assert replicated.verify(name)["identical"]
