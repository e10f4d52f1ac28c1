"""Every collection method, in chromadb's argument forms, on one server (HttpClient) and on the
replicated set (Client over two servers and PostgreSQL): the same calls, the same results."""
import numpy as np
import pytest

import chromawal


def _records(n, dim=3, prefix="id", doc_id="d1"):
    ids = [f"{prefix}{i}" for i in range(n)]
    emb = np.arange(n * dim, dtype=np.float32).reshape(n, dim) / 8.0
    docs = [f"document {prefix}{i} about topic {i % 3}" for i in range(n)]
    metas = [{"document_id": doc_id, "i": i, "score": i / 4.0, "even": i % 2 == 0, "topic": f"t{i % 3}"} for i in range(n)]
    return ids, emb, docs, metas


def _replicated(client):
    return isinstance(client, chromawal.Client)


# ---- embeddings in every form, numpy out ----


@pytest.mark.parametrize(
    "form",
    ["numpy2d_f32", "numpy2d_f64", "numpy2d_int", "list_of_lists", "list_of_arrays", "noncontiguous"],
)
def test_add_embedding_forms_round_trip(client, name, form):
    coll = client.create_collection(name)
    base = np.array([[0.5, -1.25, 3.0], [2.0, 0.125, -7.5]], dtype=np.float64)
    value = {
        "numpy2d_f32": base.astype(np.float32),
        "numpy2d_f64": base,
        "numpy2d_int": np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int64),
        "list_of_lists": base.tolist(),
        "list_of_arrays": [base[0], base[1]],
        "noncontiguous": np.asfortranarray(base),
    }[form]
    coll.add(ids=["a", "b"], embeddings=value)
    got = coll.get(ids=["a", "b"], include=["embeddings"])
    emb = got["embeddings"]
    assert isinstance(emb, np.ndarray)
    assert emb.dtype == np.float32 and emb.ndim == 2 and emb.shape == (2, 3)
    assert emb.flags["C_CONTIGUOUS"]
    expected = np.asarray(value, dtype=np.float32) if form != "list_of_arrays" else base.astype(np.float32)
    order = [got["ids"].index("a"), got["ids"].index("b")]
    np.testing.assert_array_equal(emb[order], expected)


def test_single_item_forms(client, name):
    coll = client.create_collection(name)
    # One id, one flat embedding, one document, one metadata dict: chromadb's OneOrMany forms.
    coll.add(ids="one", embeddings=[1.0, 2.0, 3.0], documents="the one", metadatas={"k": "v"})
    coll.add(ids="two", embeddings=np.array([4.0, 5.0, 6.0]), documents="the two", metadatas={"k": "w"})
    got = coll.get(ids="one", include=["embeddings", "documents", "metadatas"])
    assert got["ids"] == ["one"]
    assert got["documents"] == ["the one"]
    assert got["metadatas"] == [{"k": "v"}]
    np.testing.assert_array_equal(got["embeddings"], np.array([[1, 2, 3]], dtype=np.float32))
    assert coll.count() == 2
    q = coll.query(query_embeddings=[4.0, 5.0, 6.0], n_results=1)
    assert q["ids"] == [["two"]]


def test_get_result_shape_and_include(client, name):
    coll = client.create_collection(name)
    ids, emb, docs, metas = _records(5)
    coll.add(ids=ids, embeddings=emb, documents=docs, metadatas=metas, uris=[f"s3://b/{i}" for i in ids])

    r = coll.get()
    assert set(r) == {"ids", "embeddings", "documents", "uris", "data", "metadatas", "included"}
    assert r["included"] == ["metadatas", "documents"]
    assert r["embeddings"] is None and r["uris"] is None and r["data"] is None
    assert sorted(r["ids"]) == sorted(ids)
    by_id = dict(zip(r["ids"], r["metadatas"]))
    assert by_id["id3"] == metas[3]
    assert isinstance(by_id["id3"]["i"], int) and isinstance(by_id["id3"]["score"], float)
    assert isinstance(by_id["id3"]["even"], bool)

    r = coll.get(include=["uris"])
    assert r["documents"] is None and r["metadatas"] is None and r["embeddings"] is None
    assert sorted(r["uris"]) == sorted(f"s3://b/{i}" for i in ids)
    assert r["included"] == ["uris"]

    r = coll.get(include=[])
    assert sorted(r["ids"]) == sorted(ids)
    assert r["documents"] is None and r["metadatas"] is None

    r = coll.get(include=["embeddings"])
    assert r["embeddings"].shape == (5, 3)


def test_get_filters_limit_offset(client, name):
    coll = client.create_collection(name)
    ids, emb, docs, metas = _records(10)
    coll.add(ids=ids, embeddings=emb, documents=docs, metadatas=metas)

    def ids_of(**kw):
        return sorted(coll.get(**kw)["ids"])

    assert ids_of(where={"i": 3}) == ["id3"]
    assert ids_of(where={"i": {"$gte": 8}}) == ["id8", "id9"]
    assert ids_of(where={"i": {"$in": [1, 2]}}) == ["id1", "id2"]
    assert ids_of(where={"topic": {"$nin": ["t0", "t1"]}}) == ["id2", "id5", "id8"]
    assert ids_of(where={"$and": [{"even": True}, {"i": {"$lt": 4}}]}) == ["id0", "id2"]
    assert ids_of(where={"$or": [{"i": 1}, {"score": {"$gt": 2.0}}]}) == ["id1", "id9"]
    assert ids_of(where={"i": {"$ne": 0}}) == sorted(ids[1:])
    assert ids_of(where_document={"$contains": "id7 "}) == ["id7"]
    assert ids_of(where_document={"$regex": "topic [12]$"}) == sorted(i for k, i in enumerate(ids) if k % 3)
    assert ids_of(where_document={"$not_contains": "topic 0"}) == sorted(i for k, i in enumerate(ids) if k % 3)
    assert ids_of(ids=["id1", "id2", "id3"], where={"even": False}) == ["id1", "id3"]
    assert ids_of(ids="id4") == ["id4"]
    assert ids_of(where={"#document": {"$contains": "id5 "}}) == ["id5"]

    page = [coll.get(limit=3, offset=o)["ids"] for o in (0, 3, 6, 9)]
    assert [len(p) for p in page] == [3, 3, 3, 1]
    assert sorted(sum(page, [])) == sorted(ids)


def test_query_shapes(client, name):
    coll = client.create_collection(name)
    ids, emb, docs, metas = _records(12, dim=4)
    coll.add(ids=ids, embeddings=emb, documents=docs, metadatas=metas)

    # One query as a flat list.
    r = coll.query(query_embeddings=emb[5].tolist(), n_results=3)
    assert set(r) == {"ids", "embeddings", "documents", "uris", "data", "metadatas", "distances", "included"}
    assert r["included"] == ["metadatas", "documents", "distances"]
    assert r["ids"][0][0] == "id5" and len(r["ids"]) == 1 and len(r["ids"][0]) == 3
    assert r["distances"][0][0] == pytest.approx(0.0)
    assert r["distances"][0] == sorted(r["distances"][0])
    assert r["documents"][0][0] == docs[5] and r["metadatas"][0][0] == metas[5]
    assert r["embeddings"] is None and r["uris"] is None

    # Two queries as a 2-D array, with embeddings included: a list of 2-D float32 arrays.
    r = coll.query(query_embeddings=emb[[1, 10]], n_results=2, include=["embeddings", "distances"])
    assert [x[0] for x in r["ids"]] == ["id1", "id10"]
    assert isinstance(r["embeddings"], list) and len(r["embeddings"]) == 2
    for k, arr in enumerate(r["embeddings"]):
        assert isinstance(arr, np.ndarray) and arr.dtype == np.float32 and arr.shape == (2, 4)
        np.testing.assert_array_equal(arr[0], emb[[1, 10][k]])
    assert r["documents"] is None and r["metadatas"] is None

    # A list of arrays, where and where_document filters, an ids filter.
    r = coll.query(query_embeddings=[emb[0], emb[0]], n_results=5, where={"topic": "t1"})
    assert all(m["topic"] == "t1" for m in r["metadatas"][0])
    r = coll.query(query_embeddings=emb[0], n_results=5, where_document={"$contains": "topic 2"})
    assert set(r["ids"][0]) == {"id2", "id5", "id8", "id11"}
    r = coll.query(query_embeddings=emb[0], n_results=5, ids=["id7", "id9"])
    assert r["ids"] == [["id7", "id9"]]
    # n_results above the collection size returns everything.
    r = coll.query(query_embeddings=emb[0], n_results=100)
    assert len(r["ids"][0]) == 12


def test_update_and_upsert_semantics(client, name):
    coll = client.create_collection(name, embedding_function=None)  # documents updated without embeddings
    ids, emb, docs, metas = _records(3)
    coll.add(ids=ids, embeddings=emb, documents=docs, metadatas=metas)

    # update merges metadata key by key; None removes a key; documents without embeddings.
    coll.update(ids="id0", metadatas={"i": 100, "topic": None, "new": "x"}, documents="changed")
    got = coll.get(ids="id0", include=["metadatas", "documents", "embeddings"])
    assert got["documents"] == ["changed"]
    assert got["metadatas"][0] == {"document_id": "d1", "i": 100, "score": 0.0, "even": True, "new": "x"}
    np.testing.assert_array_equal(got["embeddings"][0], emb[0])

    coll.update(ids=["id1"], embeddings=[[9.0, 9.0, 9.0]])
    np.testing.assert_array_equal(coll.get(ids="id1", include=["embeddings"])["embeddings"][0], [9, 9, 9])
    coll.update(ids=["missing"], documents=["ignored"])  # a missing id is ignored
    assert coll.count() == 3

    # upsert: inserts new ids, merges existing ones.
    coll.upsert(ids=["id2", "id9"], embeddings=[[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]],
                metadatas=[{"i": -2}, {"fresh": True}], documents=["up2", "up9"])
    got = coll.get(ids=["id2", "id9"], include=["metadatas", "documents"])
    by = dict(zip(got["ids"], zip(got["documents"], got["metadatas"])))
    assert by["id2"] == ("up2", {**metas[2], "i": -2})
    assert by["id9"] == ("up9", {"fresh": True})
    assert coll.count() == 4

    # add of an existing id leaves the record unchanged (Chroma's semantics).
    coll.add(ids="id9", embeddings=[5.0, 5.0, 5.0], documents="not applied")
    assert coll.get(ids="id9")["documents"] == ["up9"]


def test_delete_forms(client, name):
    coll = client.create_collection(name)
    ids, emb, docs, metas = _records(10)
    for k in range(10):
        metas[k]["document_id"] = f"doc{k // 4}"
    coll.add(ids=ids, embeddings=emb, documents=docs, metadatas=metas)

    assert coll.delete(ids=["id0", "id1"]) == {"deleted": 2}
    assert coll.delete(ids="id2") == {"deleted": 1}
    # The replicated client logs a filter delete as the filter, each instance removing its own
    # matches (docs/design.md), and reports the first instance's count, as chromadb does.
    assert coll.delete(where={"i": {"$gte": 8}}) == {"deleted": 2}
    assert coll.delete(where_document={"$contains": "id7 "}) == {"deleted": 1}
    assert sorted(coll.get()["ids"]) == ["id3", "id4", "id5", "id6"]
    assert coll.delete(where={"document_id": "doc1"}, limit=1) == {"deleted": 1}
    assert coll.count() == 3
    assert coll.delete(where={"document_id": "nothing"}, limit=1) == {"deleted": 0}
    assert coll.delete_document("doc1") == {"deleted": 2}  # every chunk of one document
    assert sorted(coll.get()["ids"]) == ["id3"]
    if _replicated(client):
        receipt = coll.last_receipt
        assert receipt is not None and sorted(receipt["applied"]) == ["a", "b"] and not receipt["queued"]


def test_count_peek(client, name):
    coll = client.create_collection(name)
    assert coll.count() == 0
    assert coll.peek()["ids"] == []
    ids, emb, docs, metas = _records(15)
    coll.add(ids=ids, embeddings=emb, documents=docs, metadatas=metas)
    assert coll.count() == 15
    assert coll.count(read_level="index_only") == 15
    p = coll.peek()
    assert len(p["ids"]) == 10
    assert p["embeddings"].shape == (10, 3) and p["embeddings"].dtype == np.float32
    assert len(p["documents"]) == 10 and len(p["metadatas"]) == 10
    assert p["included"] == ["metadatas", "documents", "embeddings"]
    assert len(coll.peek(limit=4)["ids"]) == 4


def test_modify(client, name):
    coll = client.create_collection(name, metadata={"owner": "alice"})
    assert coll.metadata == {"owner": "alice"}
    coll.add(ids="x", embeddings=[1.0, 2.0])
    coll.modify(metadata={"owner": "bob", "n": 2})
    assert coll.metadata == {"owner": "bob", "n": 2}
    assert client.get_collection(name).metadata == {"owner": "bob", "n": 2}
    new = name + "-renamed"
    coll.modify(name=new)
    assert coll.name == new
    assert coll.count() == 1
    with pytest.raises(chromawal.NotFoundError, match="does not exist"):
        client.get_collection(name)
    again = client.get_collection(new)
    assert again.count() == 1 and again.metadata == {"owner": "bob", "n": 2}
    coll.modify(configuration={"hnsw": {"ef_search": 64}})
    assert coll.configuration_json["hnsw"]["ef_search"] == 64
    with pytest.raises(ValueError, match="Changing the distance function"):
        coll.modify(metadata={"hnsw:space": "cosine"})


def test_collection_calls(client, name):
    c1 = client.create_collection(name, metadata={"a": 1})
    assert repr(c1) == f"Collection(name={name})"
    assert c1.name == name and c1.tenant == "default_tenant" and c1.database == "default_database"
    assert c1.id.version == 4
    with pytest.raises(chromawal.ChromaError, match=r"already exists"):
        client.create_collection(name)
    same = client.get_or_create_collection(name, metadata={"ignored": True})
    assert same.metadata == {"a": 1}
    assert client.create_collection(name, get_or_create=True).metadata == {"a": 1}
    assert client.get_collection(name) == c1
    assert name in [c.name for c in client.list_collections()]
    n = client.count_collections()
    assert n >= 1
    assert len(client.list_collections(limit=1)) == 1
    assert client.list_collections(limit=0) == []

    cos = client.create_collection(name + "-cos", configuration={"hnsw": {"space": "cosine"}})
    assert cos.configuration_json["hnsw"]["space"] == "cosine"
    cos.add(ids=["p", "q"], embeddings=[[1.0, 0.0], [0.0, 2.0]])
    d = cos.query(query_embeddings=[3.0, 0.0], n_results=2)["distances"][0]
    assert d[0] == pytest.approx(0.0, abs=1e-6) and d[1] == pytest.approx(1.0, abs=1e-6)
    legacy = client.create_collection(name + "-ip", metadata={"hnsw:space": "ip"})
    assert legacy.configuration_json["hnsw"]["space"] == "ip"

    client.delete_collection(name)
    with pytest.raises(chromawal.NotFoundError, match=r"Collection \[.*\] does not exist"):
        client.get_collection(name)
    with pytest.raises(chromawal.NotFoundError):
        client.delete_collection(name)
    assert client.count_collections() == n + 1  # two created, one deleted


def test_metadata_value_types_round_trip(client, name):
    coll = client.create_collection(name)
    meta = {
        "s": "text", "u": "ünïcødé ✓", "empty": "", "i": -42, "big": 2**53 + 1, "f": 1.0, "g": 0.1,
        "t": True, "fa": False, "ls": ["a", "b"], "li": [1, 2, 3], "lf": [0.5, 1.5], "lb": [True, False],
    }
    coll.add(ids="m", embeddings=[0.0, 1.0], metadatas=meta)
    got = coll.get(ids="m")["metadatas"][0]
    assert got == meta
    assert type(got["f"]) is float and type(got["i"]) is int and type(got["t"]) is bool
    assert coll.get(where={"li": {"$contains": 2}})["ids"] == ["m"]
    assert coll.get(where={"ls": {"$not_contains": "z"}})["ids"] == ["m"]


def test_embedding_function_and_query_texts(client, name):
    calls = []

    class HashEF:
        def __call__(self, input):
            calls.append(list(input))
            return [[float(len(t)), float(sum(map(ord, t)) % 97), 1.0] for t in input]

    ef = HashEF()
    coll = client.create_collection(name, embedding_function=ef)
    coll.add(ids=["a", "b"], documents=["short", "a much longer document"])
    coll.upsert(ids="c", documents="mid length")
    assert coll.count() == 3
    r = coll.query(query_texts="short", n_results=1)
    assert r["ids"] == [["a"]]
    assert calls[0] == ["short", "a much longer document"]
    # get_collection with the embedding function again
    again = client.get_collection(name, embedding_function=ef)
    again.update(ids="a", documents="changed text")
    np.testing.assert_array_equal(again.get(ids="a", include=["embeddings"])["embeddings"][0],
                                  np.array(ef(["changed text"])[0], dtype=np.float32))


def test_data_loader_and_uris(client, name):
    coll = client.create_collection(name, data_loader=lambda uris: [u.upper() for u in uris])
    coll.add(ids=["a"], embeddings=[[1.0, 1.0]], uris=["file://x"])
    r = coll.get(include=["data"])
    assert r["data"] == ["FILE://X"]
    assert r["uris"] == ["file://x"] and r["included"] == ["data", "uris"]  # as chromadb
    r = coll.get(include=["documents"])
    assert r["uris"] is None and r["data"] is None
    r = coll.get(include=["data", "uris"])
    assert r["uris"] == ["file://x"]
    q = coll.query(query_embeddings=[1.0, 1.0], n_results=1, include=["data"])
    assert q["data"] == [["FILE://X"]]


def test_large_batch_is_split(client, name, rng):
    coll = client.create_collection(name)
    n = client.get_max_batch_size() + 17
    emb = rng.random((n, 8), dtype=np.float32)
    coll.add(ids=[str(i) for i in range(n)], embeddings=emb)
    assert coll.count() == n
    got = coll.get(ids=["0", str(n - 1)], include=["embeddings"])
    order = [got["ids"].index("0"), got["ids"].index(str(n - 1))]
    np.testing.assert_array_equal(got["embeddings"][order], emb[[0, n - 1]])
