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
