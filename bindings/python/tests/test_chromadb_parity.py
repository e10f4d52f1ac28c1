"""chromawal as a drop-in for the official chromadb client: its error classes, the client calls
chromadb's tests and users rely on (get_settings, get_user_identity, get_collection_by_id), and
the collection model. Each test checks chromawal's own promise; with the official client
installed, the test also compares against it on the same server (see official_chromadb())."""
import re
import uuid
from pathlib import Path
from typing import Any, List

import numpy as np
import pytest

import chromawal
from conftest import ChromaServer, HashEmbedding, OtherEmbedding, official_chromadb, unique


def _coll(client: Any, name: str) -> Any:
    c = client.create_collection(name, metadata={"owner": "parity"}, configuration={"hnsw": {"space": "cosine"}})
    c.add(ids=["a", "b"], embeddings=[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], documents=["x", "y"])
    return c


# ---- errors ----


def test_errors_are_chromadbs_when_it_is_installed(client: Any) -> None:
    with pytest.raises(chromawal.NotFoundError) as raised:
        client.get_collection(unique("missing"))
    err = raised.value
    assert err.code() == 404 and err.name() == "NotFoundError"
    assert "does not exist" in str(err)
    chromadb = official_chromadb()
    assert isinstance(err, chromadb.errors.NotFoundError)
    assert isinstance(err, chromadb.errors.ChromaError)
    # Every class named like one of chromadb's is a subclass of it.
    for cls_name, cls in vars(chromadb.errors).items():
        ours = getattr(chromawal.errors, cls_name, None)
        if isinstance(cls, type) and issubclass(cls, Exception) and ours is not None:
            assert issubclass(ours, cls), cls_name
    # The replication outcomes too, through the base class.
    assert issubclass(chromawal.LogUnavailableError, chromadb.errors.ChromaError)
    assert issubclass(chromawal.ValidationError, chromadb.errors.InvalidArgumentError)


def test_error_messages_are_the_official_clients(servers: List[ChromaServer], http: chromawal.HttpClient) -> None:
    chromadb = official_chromadb()
    official = chromadb.HttpClient(host="127.0.0.1", port=servers[0].port)
    missing = unique("missing")
    with pytest.raises(chromadb.errors.NotFoundError) as theirs:
        official.get_collection(missing)
    with pytest.raises(chromadb.errors.NotFoundError) as ours:
        http.get_collection(missing)
    assert str(ours.value) == str(theirs.value)
    name = unique("dup")
    http.create_collection(name)
    with pytest.raises(chromadb.errors.ChromaError) as theirs_dup:
        official.create_collection(name)
    with pytest.raises(chromadb.errors.ChromaError) as ours_dup:
        http.create_collection(name)
    # The server names this error "ChromaError"; chromawal raises the more precise
    # UniqueConstraintError, a subclass of the class the official client raises.
    assert isinstance(ours_dup.value, type(theirs_dup.value))
    assert isinstance(ours_dup.value, chromadb.errors.UniqueConstraintError)
    assert str(ours_dup.value) == str(theirs_dup.value)


def test_server_errors_carry_the_trace_id(client: Any, servers: List[ChromaServer], name: str) -> None:
    # The server's chroma-trace-id header, as chromadb keeps it (its test_error_includes_trace_id).
    with pytest.raises(chromawal.ChromaError) as raised:
        client.get_collection(unique("missing"))
    trace_id = raised.value.trace_id
    assert isinstance(trace_id, str) and trace_id != ""
    # A write the server refuses (on the replicated client: a rejection through the log).
    coll = client.create_collection(name, embedding_function=None)
    coll.add(ids=["a"], embeddings=[[1.0, 2.0, 3.0]])
    with pytest.raises(chromawal.InvalidArgumentError) as refused:
        coll.add(ids=["b"], embeddings=[[1.0, 2.0]])
    assert isinstance(refused.value.trace_id, str) and refused.value.trace_id != ""
    # Client-side checks reach no server: no trace id.
    with pytest.raises(chromawal.ValidationError) as local:
        coll.add(ids=[""], embeddings=[[1.0, 2.0, 3.0]])
    assert local.value.trace_id is None
    chromadb = official_chromadb()
    official = chromadb.HttpClient(host="127.0.0.1", port=servers[0].port)
    with pytest.raises(chromadb.errors.ChromaError) as theirs:
        official.get_collection(unique("missing"))
    # The same header as the official client reads (a 32-digit hex id; all zeros when the server traces nothing).
    assert re.fullmatch(r"[0-9a-f]{32}", theirs.value.trace_id) and re.fullmatch(r"[0-9a-f]{32}", trace_id)


# ---- the client ----


def test_get_settings_describes_the_server(servers: List[ChromaServer]) -> None:
    http = chromawal.HttpClient("127.0.0.1", servers[0].port, allow_reset=True, headers={"x-team": "ingest"})
    s = http.get_settings()
    assert s.chroma_server_host == "127.0.0.1"
    assert s.chroma_server_http_port == servers[0].port
    assert s["chroma_server_http_port"] == servers[0].port
    assert s.chroma_server_ssl_enabled is False
    assert s.allow_reset is True
    assert s.chroma_server_headers == {"x-team": "ingest"}
    assert s.chroma_api_impl == "chromadb.api.fastapi.FastAPI"


def test_replicated_get_settings_is_the_primarys(replicated: chromawal.Client, servers: List[ChromaServer]) -> None:
    s = replicated.get_settings()
    assert s.chroma_server_http_port == servers[0].port
    assert s.allow_reset is True


def test_get_settings_is_chromadbs_settings_when_installed(servers: List[ChromaServer]) -> None:
    chromadb = official_chromadb()
    given = chromadb.config.Settings(allow_reset=True)
    http = chromawal.HttpClient("127.0.0.1", servers[0].port, settings=given)
    s = http.get_settings()
    assert isinstance(s, chromadb.config.Settings)
    official = chromadb.HttpClient(host="127.0.0.1", port=servers[0].port, settings=chromadb.config.Settings(allow_reset=True))
    theirs = official.get_settings()
    for field in ("chroma_api_impl", "chroma_server_host", "chroma_server_http_port", "chroma_server_ssl_enabled", "allow_reset"):
        assert getattr(s, field) == getattr(theirs, field), field


def test_get_user_identity(client: Any) -> None:
    who = client.get_user_identity()
    assert who["tenant"] == "default_tenant"
    assert "default_database" in who["databases"]


def test_replicated_get_collection_by_id_takes_any_instances_id(replicated: chromawal.Client, name: str) -> None:
    c = replicated.create_collection(name)
    c.add(ids=["a"], embeddings=[[1.0, 2.0]])
    assert replicated.wait_until_synced(30)
    ids = {uuid.UUID(str(replicated.instance(i).get_collection(name).id)) for i in range(2)}
    assert len(ids) == 2  # each instance has its own UUID for the collection
    for cid in ids:
        got = replicated.get_collection_by_id(cid)
        assert got.name == name
        assert got.count() == 1
    with pytest.raises(chromawal.NotFoundError, match="does not exist"):
        replicated.get_collection_by_id(uuid.uuid4())


def test_http_get_collection_by_id(http: chromawal.HttpClient, name: str) -> None:
    c = http.create_collection(name)
    assert http.get_collection_by_id(c.id).name == name
    with pytest.raises(chromawal.NotFoundError):
        http.get_collection_by_id(uuid.uuid4())


# ---- the collection model ----


def test_model_has_chromadbs_fields(client: Any, name: str) -> None:
    c = _coll(client, name)
    m = c.get_model()
    assert m is not None
    assert m.id == c.id and m["id"] == c.id
    assert m.name == name and m["name"] == name
    assert m.metadata == {"owner": "parity"} and m["metadata"] == {"owner": "parity"}
    assert m.configuration_json["hnsw"]["space"] == "cosine"
    assert m["configuration_json"]["hnsw"]["space"] == "cosine"
    assert m.tenant == "default_tenant" and m.database == "default_database"
    assert client.get_collection(name).get_model().dimension == 3  # a fresh description
    assert isinstance(m.version, int) and isinstance(m.log_position, int)
    assert m["no such field"] is None
    assert c._model["id"] == c.id
    assert c.configuration_json["hnsw"]["space"] == "cosine"


def test_model_and_configuration_are_the_official_clients(servers: List[ChromaServer], http: chromawal.HttpClient, name: str) -> None:
    chromadb = official_chromadb()
    c = _coll(http, name)
    official = chromadb.HttpClient(host="127.0.0.1", port=servers[0].port)
    theirs = official.get_collection(name)
    c = http.get_collection(name)  # described after the add, as `theirs` (dimension 3)
    ours = c.get_model()
    assert isinstance(ours, type(theirs.get_model()))
    for field in type(theirs.get_model()).model_fields:
        assert getattr(ours, field) == getattr(theirs.get_model(), field), field
    assert ours == theirs.get_model()
    # chromadb's parsed configuration: equal but for the embedding function objects (two
    # instances of the same class).
    ours_conf, theirs_conf = dict(c.configuration), dict(theirs.configuration)
    ours_ef, theirs_ef = ours_conf.pop("embedding_function", None), theirs_conf.pop("embedding_function", None)
    assert ours_conf == theirs_conf
    assert type(ours_ef) is type(theirs_ef)
    assert type(c.schema) is type(theirs.schema)
    assert c.schema.serialize_to_json() == theirs.schema.serialize_to_json()
    assert c.id == theirs.id and c.metadata == theirs.metadata


def test_model_is_assignable_and_the_collection_follows_it(client: Any, name: str) -> None:
    # chromadb's Collection derives its properties and its embedding function from `_model`,
    # which its tests replace or edit (configurations/test_collection_configuration.py).
    client.create_collection(name, embedding_function=HashEmbedding("m")).add(ids=["a"], documents=["apple"])
    c = client.get_collection(name)  # no function given: the configuration's is used
    assert c._model is c._model  # kept, so that an edit of it sticks
    unknown_ef = {"embedding_function": {"type": "known", "name": "no-such-function", "config": {}}}
    other = type(c._model)(
        id=uuid.uuid4(), name=name + "-shown", configuration_json=unknown_ef, serialized_schema=None,
        metadata={"k": 1}, dimension=None, tenant=c.tenant, database=c.database,
    )
    c._model = other
    assert c._model is other and c.get_model() is other
    assert (c.name, c.id, c.metadata, c.configuration_json) == (name + "-shown", other.id, {"k": 1}, unknown_ef)
    official_chromadb()  # chromadb loads the configuration (without it, it stays JSON and names no function)
    with pytest.raises(ValueError, match="no-such-function"):
        c.configuration
    with pytest.raises(ValueError, match="no-such-function"):
        c._embed(["x"])
    with pytest.raises(ValueError, match="no-such-function"):
        c.add(ids=["b"], documents=["banana"])
    with pytest.raises(ValueError, match="no-such-function"):
        c.query(query_texts=["apple"], n_results=1)
    # refresh() reads the server's description again; then an edit of the kept model in place.
    c.refresh()
    assert c.name == name and c.configuration_json["embedding_function"]["name"] == "chromawal-test-hash"
    c._model.configuration_json = {"hnsw": {"space": "l2"}, "spann": {"space": "l2"}, "embedding_function": {"type": "legacy"}}
    with pytest.raises(ValueError, match="hnsw and spann cannot both be provided"):
        c.upsert(ids=["b"], documents=["banana"])
    assert c.count() == 1  # nothing was written
    c.refresh()
    c.add(ids=["b"], documents=["banana"])  # the stored configuration's function again
    got = c.get(ids=["b"], include=["embeddings"])
    np.testing.assert_allclose(got["embeddings"][0], HashEmbedding("m")(["banana"])[0])


def test_numpy_embeddings_in_results(client: Any, name: str) -> None:
    c = _coll(client, name)
    got = c.get(ids=["a"], include=["embeddings"])
    assert isinstance(got["embeddings"], np.ndarray)
    np.testing.assert_allclose(got["embeddings"][0], [1.0, 0.0, 0.0])


# ---- embedding functions, kept in the configuration as chromadb 1.x keeps them ----


def test_embedding_function_is_kept_in_the_configuration(client: Any, name: str) -> None:
    c = client.create_collection(name, embedding_function=HashEmbedding("s1"))
    ef = c.configuration_json["embedding_function"]
    assert ef == {"name": "chromawal-test-hash", "type": "known", "config": {"salt": "s1"}}
    assert c.configuration_json["hnsw"]["space"] == "l2"  # the function's default space
    c.add(ids=["a", "b"], documents=["apple", "banana"])
    got = c.get(ids=["a"], include=["embeddings"])
    np.testing.assert_allclose(got["embeddings"][0], HashEmbedding("s1")(["apple"])[0])
    hits = c.query(query_texts=["banana"], n_results=1)
    assert hits["ids"] == [["b"]]
    # Another function than the one kept: chromadb's ValueError, on get and get_or_create.
    with pytest.raises(ValueError, match="Embedding function conflict: new: chromawal-test-other vs persisted: chromawal-test-hash"):
        client.get_collection(name, embedding_function=OtherEmbedding())
    with pytest.raises(ValueError, match="Embedding function conflict"):
        client.get_or_create_collection(name, embedding_function=OtherEmbedding())
    # Given twice, differently: refused before anything is sent.
    with pytest.raises(ValueError, match="Multiple embedding functions provided"):
        client.create_collection(
            unique("two-efs"), embedding_function=OtherEmbedding(), configuration={"embedding_function": HashEmbedding()}
        )
    # The same one is fine.
    assert client.get_collection(name, embedding_function=HashEmbedding("s1")).count() == 2


def test_either_client_opens_the_others_collections(servers: List[ChromaServer], http: chromawal.HttpClient) -> None:
    chromadb = official_chromadb()
    official = chromadb.HttpClient(host="127.0.0.1", port=servers[0].port)
    ours_name, theirs_name = unique("ef-ours"), unique("ef-theirs")
    http.create_collection(ours_name, embedding_function=HashEmbedding("k"), metadata={"m": 1})
    official.create_collection(theirs_name, embedding_function=HashEmbedding("k"), metadata={"m": 1})
    ours_cfg = http.get_collection(ours_name).configuration_json
    theirs_cfg = official.get_collection(theirs_name).configuration_json
    assert ours_cfg == theirs_cfg  # the same configuration on the server, embedding function included
    # Each opens the other's collection without being given the function: it is built from the
    # configuration, and documents and query texts are embedded with it.
    official.get_collection(ours_name).add(ids=["x"], documents=["cherry"])
    http.get_collection(theirs_name).add(ids=["x"], documents=["cherry"])
    for reader, n in ((official, ours_name), (http, theirs_name), (official, theirs_name), (http, ours_name)):
        hits = reader.get_collection(n).query(query_texts=["cherry"], n_results=1, include=["distances"])
        assert hits["ids"] == [["x"]] and hits["distances"][0][0] == pytest.approx(0.0)


def test_the_default_embedding_function_is_chromadbs(servers: List[ChromaServer], http: chromawal.HttpClient) -> None:
    chromadb = official_chromadb()
    official = chromadb.HttpClient(host="127.0.0.1", port=servers[0].port)
    ours_name, theirs_name = unique("default-ours"), unique("default-theirs")
    ours = http.create_collection(ours_name)
    theirs = official.create_collection(theirs_name)
    assert ours.configuration_json == theirs.configuration_json
    assert ours.configuration_json["embedding_function"]["name"] == "default"
    # Documents without embeddings go through chromadb's default function: the same outcome
    # (here, without onnxruntime installed, the same error).
    outcome = []
    for c in (theirs, ours):
        try:
            c.add(ids=["a"], documents=["hello"])
            outcome.append(("ok", c.count()))
        except Exception as e:  # compared
            outcome.append(("error", type(e).__name__, str(e)))
    assert outcome[0] == outcome[1]


def test_hnsw_and_spann_together_are_refused_before_sending(client: Any, name: str) -> None:
    with pytest.raises(ValueError, match="hnsw and spann cannot both be provided"):
        client.create_collection(name, configuration={"hnsw": {"space": "l2"}, "spann": {"space": "l2"}})
    with pytest.raises(chromawal.NotFoundError):
        client.get_collection(name)  # nothing was created (or logged)


def test_split_batches_false_refuses_as_chromadb(servers: List[ChromaServer], postgres: Any, name: str) -> None:
    from conftest import make_replicated

    http = chromawal.HttpClient("127.0.0.1", servers[0].port, split_batches=False)
    rep = make_replicated(servers, postgres, split_batches=False, request_timeout=30.0)  # big adds
    try:
        for client in (http, rep):
            n = client.get_max_batch_size() + 1
            coll = client.create_collection(unique(name))
            with pytest.raises(ValueError, match=rf"^Batch size {n} exceeds maximum batch size {n - 1}$"):
                coll.add(ids=[str(i) for i in range(n)], embeddings=np.zeros((n, 2), dtype=np.float32))
            assert coll.count() == 0  # nothing sent, nothing logged
            coll.add(ids=[str(i) for i in range(n - 1)], embeddings=np.zeros((n - 1, 2), dtype=np.float32))
            assert coll.count() == n - 1
    finally:
        rep.close()


def test_http_reset_is_the_servers(http: chromawal.HttpClient, tmp_root: Path) -> None:
    # The shared servers run without allow_reset: refused as chromadb's client sees it.
    with pytest.raises(chromawal.ChromaError, match="Reset is disabled by config"):
        http.reset()
    server = ChromaServer(tmp_root, unique("resettable"), allow_reset=True)
    server.start()
    try:
        c = chromawal.HttpClient("127.0.0.1", server.port)
        c.create_collection("doomed-1")
        c.create_database("doomed_db")
        assert c.reset() is True
        assert c.count_collections() == 0
        with pytest.raises(chromawal.NotFoundError):
            c.get_database("doomed_db")
    finally:
        server.stop()


# ---- private attributes of chromadb's client that its own tests read ----


def test_private_compatibility_shims(client: Any) -> None:
    # client/test_multiple_clients_concurrency.py passes client._system.settings on to new clients.
    settings = client._system.settings
    expected = client.get_settings()
    assert (settings.chroma_server_host, settings.chroma_server_http_port, settings.allow_reset) == (
        expected.chroma_server_host, expected.chroma_server_http_port, expected.allow_reset,
    )
    # property/invariants.py's collection_deleted takes the in-process branch only when
    # client._server is chromadb's SegmentAPI: chromawal's is the native client, which is not.
    assert client._server is client._native
    official_chromadb()
    from chromadb.api.segment import SegmentAPI  # what the invariant imports

    assert not isinstance(client._server, SegmentAPI)


# ---- renames ----


def test_rename_onto_an_existing_name_is_the_official_clients_error(client: Any, servers: List[ChromaServer], name: str) -> None:
    client.create_collection(name + "-x")
    c = client.create_collection(name + "-y", embedding_function=None)
    with pytest.raises(chromawal.InternalError) as ours:
        c.modify(name=name + "-x")
    assert c.name == name + "-y"
    chromadb = official_chromadb()
    official = chromadb.HttpClient(host="127.0.0.1", port=servers[0].port)
    with pytest.raises(chromadb.errors.ChromaError) as theirs:
        official.get_collection(name + "-y").modify(name=name + "-x")
    assert isinstance(ours.value, type(theirs.value)) and type(theirs.value) is chromadb.errors.InternalError
    assert str(ours.value) == str(theirs.value)
    # The collection goes on (on the replicated client nothing was logged, so nothing holds up its lane).
    c.add(ids=["a"], embeddings=[[1.0, 2.0]])
    assert c.count() == 1
    client.delete_collection(name + "-y")
    assert name + "-y" not in [x.name for x in client.list_collections()]


def test_schema_is_sent_as_chromadb_sends_it(client: Any, servers: List[ChromaServer]) -> None:
    """``schema=`` reaches the server as chromadb's serialisation (on every instance, through the
    log, for the replicated client); the official client reads back the same schema."""
    chromadb = official_chromadb()
    from chromadb.api.types import IntInvertedIndexConfig, Schema

    schema = Schema().delete_index(config=IntInvertedIndexConfig(), key="year")
    name = unique("schema")
    coll = client.create_collection(name, schema=schema, embedding_function=None)
    assert coll.schema is not None
    sent = schema.serialize_to_json()["keys"]["year"]
    assert coll.schema.serialize_to_json()["keys"]["year"] == sent
    for s in servers if isinstance(client, chromawal.Client) else servers[:1]:
        official = chromadb.HttpClient(host="127.0.0.1", port=s.port)
        assert official.get_collection(name).schema.serialize_to_json()["keys"]["year"] == sent
    with pytest.raises(TypeError, match="Expected schema to be a chromadb Schema or a dict"):
        client.create_collection(unique("schema"), schema=42)
    client.delete_collection(name)
