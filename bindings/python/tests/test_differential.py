"""Differential tests: the official chromadb client and each chromawal client run the same
generated operation sequences against real servers and must give the same results, and the same
errors (chromawal's class the official client's or a subclass of it, the same message).

Sequences are generated with hypothesis, like chromadb's own property tests: add, upsert, update,
delete by ids / where / where_document (with and without limit), get and query with every
include, ids, filters, limits and offsets, count, peek, and modify. Records use small integer
embeddings (exact distances) from a small id space, so that operations collide. derandomize=True:
the same examples on every run.

Needs the official client (packaging/requirements-test.txt installs it with hypothesis into the
venv of the wheel test); see official_chromadb() in conftest.py."""
import math
import os
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import pytest

import chromawal
from conftest import ChromaServer, HashEmbedding, PostgresServer, make_replicated, official_chromadb, unique

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError as e:  # pragma: no cover
    if os.environ.get("CHROMAWAL_TEST_REQUIRE_CHROMADB") == "1":
        raise
    pytest.skip(f"hypothesis is not installed ({e})", allow_module_level=True)

DIM = HashEmbedding.DIM
IDS = [f"r{i}" for i in range(8)]
WORDS = ["apple pie", "banana split", "cherry tart", "apple crumble", "plum"]

ids_st = st.lists(st.sampled_from(IDS), min_size=1, max_size=4, unique=True)
embedding_st = st.lists(st.integers(-3, 3).map(float), min_size=DIM, max_size=DIM)
metadata_st = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "k": st.sampled_from(["a", "b", "c"]),
            "n": st.integers(0, 5),
            "f": st.booleans(),
            "x": st.sampled_from([0.5, 1.5, 2.25]),
        },
    ),
)
document_st = st.one_of(st.none(), st.sampled_from(WORDS))
where_st = st.sampled_from(
    [
        {"k": "a"},
        {"n": {"$gt": 2}},
        {"n": {"$lte": 1}},
        {"$or": [{"k": "b"}, {"f": True}]},
        {"$and": [{"n": {"$gte": 1}}, {"k": {"$ne": "c"}}]},
        {"n": {"$in": [1, 3]}},
        {"k": {"$nin": ["a"]}},
        {"x": {"$lt": 2.0}},
    ]
)
where_document_st = st.sampled_from(
    [{"$contains": "apple"}, {"$not_contains": "tart"}, {"$or": [{"$contains": "plum"}, {"$contains": "split"}]}]
)
get_include_st = st.lists(st.sampled_from(["documents", "metadatas", "embeddings"]), unique=True)
query_include_st = st.lists(st.sampled_from(["documents", "metadatas", "embeddings", "distances"]), unique=True)

Op = Tuple[str, Dict[str, Any]]


@st.composite
def records(draw: Any, with_embeddings: bool = True) -> Dict[str, Any]:
    ids = draw(ids_st)
    n = len(ids)
    out: Dict[str, Any] = {"ids": ids}
    if with_embeddings:
        out["embeddings"] = [draw(embedding_st) for _ in range(n)]
    if draw(st.booleans()):
        metas = [draw(metadata_st) for _ in range(n)]
        # chromadb refuses empty metadata dicts in writes ("Expected metadata to be a non-empty dict").
        out["metadatas"] = [m if m else None for m in metas]
    if draw(st.booleans()):
        out["documents"] = [draw(document_st) or "plum" for _ in range(n)]
    return out


@st.composite
def update_records(draw: Any) -> Dict[str, Any]:
    out = draw(records(with_embeddings=False))
    if draw(st.booleans()):
        out["embeddings"] = [draw(embedding_st) for _ in out["ids"]]
    return out


@st.composite
def filters(draw: Any) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    which = draw(st.sampled_from(["ids", "where", "where_document", "where+doc", "none"]))
    if which in ("ids",):
        out["ids"] = draw(ids_st)
    if which in ("where", "where+doc"):
        out["where"] = draw(where_st)
    if which in ("where_document", "where+doc"):
        out["where_document"] = draw(where_document_st)
    return out


@st.composite
def operation(draw: Any) -> Op:
    kind = draw(st.sampled_from(["add", "upsert", "update", "delete", "get", "query", "count", "peek", "modify"]))
    if kind in ("add", "upsert"):
        return kind, draw(records())
    if kind == "update":
        return kind, draw(update_records())
    if kind == "delete":
        f = draw(filters())
        if not f:
            f = {"ids": draw(ids_st)}
        if ("where" in f or "where_document" in f) and draw(st.booleans()):
            f["limit"] = draw(st.integers(1, 3))
        return kind, f
    if kind == "get":
        f = draw(filters())
        f["include"] = draw(get_include_st)
        if draw(st.booleans()):
            f["limit"] = draw(st.integers(1, 5))
        if draw(st.booleans()):
            f["offset"] = draw(st.integers(0, 4))
        return kind, f
    if kind == "query":
        f = draw(filters())
        if "ids" in f and draw(st.booleans()):
            f["ids"] = []  # an empty id list selects nothing
        f["query_embeddings"] = [draw(embedding_st) for _ in range(draw(st.integers(1, 2)))]
        f["n_results"] = draw(st.integers(1, 4))
        f["include"] = draw(query_include_st)
        return kind, f
    if kind == "peek":
        return kind, {"limit": draw(st.integers(1, 5))}
    if kind == "modify":
        return kind, {"metadata": draw(st.sampled_from([{"v": 1}, {"v": 2, "w": "x"}]))}
    return kind, {}


# ---- running one operation on both, and comparing ----


def _plain(value: Any) -> Any:
    """Results as plain Python values (numpy arrays to lists, floats rounded)."""
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):  # key order is not kept by the server
        return {k: _plain(value[k]) for k in sorted(value)}
    if isinstance(value, (float, np.floating)):
        return round(float(value), 4) if math.isfinite(value) else value
    if isinstance(value, np.integer):
        return int(value)
    return value


def _rows(result: Dict[str, Any], keys: List[str]) -> List[Tuple[Any, ...]]:
    ids = result["ids"]
    return sorted(
        (tuple([ids[i]] + [repr(_plain(result[k][i])) if result.get(k) is not None else None for k in keys]))
        for i in range(len(ids))
    )


def _normal(kind: str, result: Any) -> Any:
    """What must be equal. get and peek: the records as a set (the order of equal rows aside);
    query: per query, the hits as a set, with their distances (ties may come in either order)."""
    if kind in ("get", "peek"):
        keys = [k for k in ("documents", "metadatas", "embeddings", "uris", "data") if k in result]
        nones = {k: result.get(k) is None for k in keys}
        return {"rows": _rows(result, keys), "none": nones, "included": sorted(result.get("included") or [])}
    if kind == "query":
        keys = [k for k in ("documents", "metadatas", "embeddings", "distances", "uris", "data") if k in result]
        per_query = []
        for qi in range(len(result["ids"])):
            one = {k: (result[k][qi] if result.get(k) is not None else None) for k in keys}
            one["ids"] = result["ids"][qi]
            per_query.append(_rows(one, keys))
        nones = {k: result.get(k) is None for k in keys}
        return {"hits": per_query, "none": nones, "included": sorted(result.get("included") or [])}
    return _plain(result)


def _run(coll: Any, kind: str, args: Dict[str, Any]) -> Tuple[str, Any]:
    try:
        if kind == "count":
            return "ok", coll.count()
        if kind == "modify":
            coll.modify(**args)
            return "ok", None
        return "ok", _normal(kind, getattr(coll, kind)(**args))
    except Exception as e:  # compared below
        return "error", e


def _same(kind: str, args: Dict[str, Any], theirs: Tuple[str, Any], ours: Tuple[str, Any]) -> None:
    what = f"{kind}({args})"
    if theirs[0] == "error" or ours[0] == "error":
        assert theirs[0] == ours[0], f"{what}: official -> {theirs[1]!r}, chromawal -> {ours[1]!r}"
        t, o = theirs[1], ours[1]
        assert isinstance(o, type(t)), f"{what}: official raised {type(t).__name__}, chromawal {type(o).__mro__}"
        assert str(o) == str(t), f"{what}: messages differ:\n official: {t}\n chromawal: {o}"
        return
    assert ours[1] == theirs[1], f"{what}:\n official:  {theirs[1]}\n chromawal: {ours[1]}"


def _check_sequence(official: Any, ours_client: Any, ops: List[Op], sync: Optional[Callable[[], None]] = None) -> None:
    name = unique("diff")
    theirs = official.create_collection(name + "-official", embedding_function=HashEmbedding())
    ours = ours_client.create_collection(name, embedding_function=HashEmbedding())
    try:
        # Every result is compared, the replicated client's filter deletes too: they are logged as
        # the filter (each instance removes its own matches: docs/design.md, "Deletion by
        # document") and report the count the first instance answered.
        for kind, args in ops:
            t, o = _run(theirs, kind, dict(args)), _run(ours, kind, dict(args))
            _same(kind, args, t, o)
        final = {"include": ["documents", "metadatas", "embeddings"]}
        _same("get", final, _run(theirs, "get", final), _run(ours, "get", final))
        if sync is not None:
            sync()
    finally:
        official.delete_collection(theirs.name)
        ours_client.delete_collection(ours.name)


SETTINGS = settings(
    max_examples=int(os.environ.get("CHROMAWAL_DIFFERENTIAL_EXAMPLES", "30")),
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def official(servers: List[ChromaServer]) -> Any:
    chromadb = official_chromadb()
    return chromadb.HttpClient(host="127.0.0.1", port=servers[0].port)


@pytest.fixture(scope="module")
def replicated_module(servers: List[ChromaServer], postgres: PostgresServer) -> Any:
    c = make_replicated(servers, postgres)
    yield c
    c.close()


@SETTINGS
@given(ops=st.lists(operation(), min_size=1, max_size=12))
def test_http_client_matches_the_official_client(official: Any, servers: List[ChromaServer], ops: List[Op]) -> None:
    _check_sequence(official, chromawal.HttpClient("127.0.0.1", servers[0].port), ops)


@SETTINGS
@given(ops=st.lists(operation(), min_size=1, max_size=12))
def test_replicated_client_matches_the_official_client(official: Any, replicated_module: Any, ops: List[Op]) -> None:
    def both_instances_identical() -> None:
        assert replicated_module.wait_until_synced(30), replicated_module.status()

    _check_sequence(official, replicated_module, ops, sync=both_instances_identical)


def test_collection_calls_match_the_official_client(official: Any, servers: List[ChromaServer], client: Any) -> None:
    """Collection create / get / modify / delete and their errors, both ways."""
    name = unique("calls")
    for c, suffix in ((official, "-o"), (client, "")):
        c.create_collection(name + suffix, metadata={"a": 1})
    steps: List[Tuple[str, Callable[[Any, str], Any]]] = [
        ("create existing", lambda c, n: c.create_collection(n)),
        ("get_or_create existing", lambda c, n: c.get_or_create_collection(n, metadata={"b": 2}).metadata),
        ("get", lambda c, n: (c.get_collection(n).name.endswith(n[-2:]), c.get_collection(n).metadata)),
        ("get missing", lambda c, n: c.get_collection(n + "-missing")),
        ("delete missing", lambda c, n: c.delete_collection(n + "-missing")),
        ("bad name", lambda c, n: c.create_collection("a")),
        ("modify", lambda c, n: (c.get_collection(n).modify(metadata={"z": 3}), c.get_collection(n).metadata)),
        ("delete", lambda c, n: c.delete_collection(n)),
        ("get deleted", lambda c, n: c.get_collection(n)),
    ]
    for label, f in steps:
        theirs = _call(lambda: f(official, name + "-o"))
        ours = _call(lambda: f(client, name))
        if theirs[0] == "ok" and ours[0] == "ok" and label == "get":
            theirs, ours = ("ok", theirs[1][1]), ("ok", ours[1][1])
        _same(label, {}, _mask(theirs, name + "-o", name), ours)


def _call(f: Callable[[], Any]) -> Tuple[str, Any]:
    try:
        return "ok", _plain(f())
    except Exception as e:
        return "error", e


def _mask(result: Tuple[str, Any], official_name: str, our_name: str) -> Tuple[str, Any]:
    """The official client's answer with its collection's name replaced by ours."""
    if result[0] == "error":
        e = result[1]
        return "error", type(e)(str(e).replace(official_name, our_name))
    return result
