"""Error types and messages: chromadb's client-side validation (ValueError / TypeError with its
wording, " in <method>." appended), chromadb's exception classes for server errors, and
chromawal's own classes."""
import math
import re
import socket
import threading
import time

import numpy as np
import pytest

import chromawal
from chromawal import errors


@pytest.fixture
def coll(client, name):
    # No embedding function (chromadb's default one is used when chromadb is installed).
    c = client.create_collection(name, embedding_function=None)
    c.add(ids=["a", "b"], embeddings=[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], documents=["x", "y"])
    return c


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(ids=[], documents=[]), ValueError, r"^Non-empty lists are required for \['ids', 'documents'\] in add\.$"),
        (dict(ids=["a", "b"], embeddings=[[1.0, 2.0, 3.0]]), ValueError,
         r"^Unequal lengths for fields: ids: 2, embeddings: 1 in add\.$"),
        (dict(ids=[1], embeddings=[[1.0, 2.0, 3.0]]), ValueError, r"^Expected ID to be a str, got 1 in add\.$"),
        (dict(ids=["c", "c"], embeddings=[[1.0, 2.0, 3.0]] * 2), chromawal.DuplicateIDError,
         r"^Expected IDs to be unique, found duplicates of: c in add\.$"),
        (dict(ids=["c"], embeddings=[[1.0, 2.0, 3.0]], metadatas=[{}]), ValueError,
         r"^Expected metadata to be a non-empty dict, got 0 metadata attributes in add\.$"),
        (dict(ids=["c"], embeddings=[[1.0, 2.0, 3.0]], metadatas=[{"chroma:document": "x"}]), ValueError,
         r"reserved key chroma:document in add\.$"),
        (dict(ids=["c"], embeddings=[[1.0, 2.0, 3.0]], metadatas=[{1: "x"}]), TypeError,
         r"^Expected metadata key to be a str, got 1 which is a int in add\.$"),
        (dict(ids=["c"], embeddings=[[1.0, 2.0, 3.0]], metadatas=[{"k": {"nested": 1}}]), ValueError,
         r"Expected metadata value to be a str, int, float, bool, SparseVector, list, or None, got \{'nested': 1\} which is a dict in add\."),
        (dict(ids=["c"], embeddings=[[1.0, 2.0, 3.0]], metadatas=[{"k": [1, "a"]}]), ValueError,
         r"Expected metadata list value for key 'k' to contain only str, int, float, or bool"),
        (dict(ids=["c"], embeddings=[[1.0, 2.0, 3.0]], metadatas=[{"k": []}]), ValueError,
         r"Expected metadata list value for key 'k' to be non-empty in add\."),
        (dict(ids=["c"], embeddings=[[1.0, 2.0, 3.0]], metadatas=["text"]), ValueError,
         r"Expected metadata to be a dict or None, got str as metadata in add\."),
        (dict(ids=["c"], embeddings=[[1.0, 2.0, 3.0]], documents=[3]), ValueError,
         r"^Expected document to be a str, got 3 in add\.$"),
        (dict(ids=["c"], embeddings=[]), ValueError, r"Expected Embeddings to be non-empty list or numpy array"),
        (dict(ids=["c"], embeddings=["nope"]), ValueError, r"Expected embeddings to be a list of floats or ints"),
        (dict(ids=["c"], embeddings=np.array([[True, False, True]])), ValueError,
         r"Expected each value in the embedding to be a int or float"),
        (dict(ids=["c"], embeddings=[np.array([])]), ValueError, r"with at least 1 int/float value"),
        (dict(ids=["c"]), ValueError, r"^Exactly one of documents, images, uris must be provided in add\.$"),
        (dict(ids=["c"], documents=["no embedding function"]), ValueError,
         r"You must provide an embedding function to compute embeddings"),
    ],
)
def test_add_validation(coll, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        coll.add(**kwargs)
    assert coll.count() == 2  # nothing was written


def test_duplicate_id_error_is_not_a_value_error(coll):
    with pytest.raises(chromawal.DuplicateIDError) as e:
        coll.upsert(ids=["q", "q"], embeddings=[[1.0, 2.0, 3.0]] * 2)
    assert not isinstance(e.value, ValueError)
    assert isinstance(e.value, chromawal.ChromaError)
    assert str(e.value).endswith(" in upsert.")


def test_validation_checked_before_anything_is_sent(coll):
    # chromawal checks some rules chromadb leaves to the server: ValidationError is both a
    # ValueError and an InvalidArgumentError, so either expectation holds.
    for kwargs, match in [
        (dict(ids=[""], embeddings=[[1.0, 2.0, 3.0]]), "non-empty"),
        (dict(ids=["n"], embeddings=[[math.nan, 2.0, 3.0]]), "finite"),
        (dict(ids=["n"], embeddings=[[1.0, 2.0, 3.0]], metadatas=[{"k": None}]), "None"),
        (dict(ids=["n"], embeddings=[[1.0, 2.0, 3.0]], metadatas=[{"$k": 1}]), "'#' or '\\$'"),
    ]:
        with pytest.raises(chromawal.ValidationError, match=match) as e:
            coll.add(**kwargs)
        assert isinstance(e.value, ValueError) and isinstance(e.value, chromawal.InvalidArgumentError)
    assert coll.count() == 2


def test_ragged_embeddings(coll):
    with pytest.raises(chromawal.InvalidArgumentError, match="Inconsistent dimensions in provided embeddings"):
        coll.add(ids=["r1", "r2"], embeddings=[[1.0, 2.0, 3.0], [1.0, 2.0]])
    with pytest.raises(chromawal.InvalidArgumentError, match="Inconsistent dimensions"):
        coll.add(ids=["r1", "r2"], embeddings=[np.ones(3), np.ones(2)])


def test_get_query_delete_validation(coll):
    with pytest.raises(ValueError, match=r"^Expected IDs to be a non-empty list, got 0 IDs in get\.$"):
        coll.get(ids=[])
    with pytest.raises(ValueError, match=r"Include item cannot be one of distances, got distances in get\."):
        coll.get(include=["distances"])
    with pytest.raises(ValueError, match=r"Expected include item to be one of documents, embeddings, metadatas, "
                                         r"distances, uris, data, got bogus in get\."):
        coll.get(include=["bogus"])
    with pytest.raises(ValueError, match=r"Expected include to be a list, got documents in get\."):
        coll.get(include="documents")
    with pytest.raises(ValueError, match=r"data loader"):
        coll.get(include=["data"])
    with pytest.raises(ValueError, match=r"^Expected where to have exactly one operator, got .* in get\.$"):
        coll.get(where={"a": 1, "b": 2})
    with pytest.raises(ValueError, match=r"Expected where value for \$and or \$or to be a list with at least two"):
        coll.get(where={"$and": [{"a": 1}]})
    with pytest.raises(ValueError, match=r"Expected operand value to be an int or a float for operator \$gt"):
        coll.get(where={"a": {"$gt": "x"}})
    with pytest.raises(ValueError, match=r"Expected where operator to be one of"):
        coll.get(where={"a": {"$like": 1}})
    with pytest.raises(ValueError, match=r"Expected where operand value to be a non-empty list"):
        coll.get(where={"a": {"$in": []}})
    with pytest.raises(ValueError, match=r"Expected where key to be a metadata field name"):
        coll.get(where={"$contains": "x"})
    with pytest.raises(ValueError, match=r"Expected where document operator to be one of"):
        coll.get(where_document={"$like": "x"})
    with pytest.raises(ValueError, match=r"Expected where document operand value for operator \$contains to be a "
                                         r"non-empty str in get\."):
        coll.get(where_document={"$contains": ""})
    with pytest.raises(ValueError, match=r"Expected where document to be a dictionary"):
        coll.get(where_document="x")
    with pytest.raises(TypeError, match=r"limit"):
        coll.get(limit="3")

    with pytest.raises(TypeError, match=r"^Number of requested results 0, cannot be negative, or zero\. in query\.$"):
        coll.query(query_embeddings=[1.0, 2.0, 3.0], n_results=0)
    with pytest.raises(ValueError, match=r"Expected requested number of results to be a int, got 2.5 in query\."):
        coll.query(query_embeddings=[1.0, 2.0, 3.0], n_results=2.5)
    with pytest.raises(ValueError, match=r"At least one of one of embeddings, documents, images, uris must be "
                                         r"provided in query\."):
        coll.query()
    with pytest.raises(ValueError, match=r"You must provide an embedding function"):
        coll.query(query_texts=["no ef"])

    with pytest.raises(ValueError, match=r"^At least one of ids, where, or where_document must be provided in delete\.$"):
        coll.delete()
    with pytest.raises(ValueError, match=r"limit can only be specified when a where or where_document clause is "
                                         r"provided in delete\."):
        coll.delete(ids=["a"], limit=1)
    with pytest.raises(TypeError, match=r"limit must be a non-negative integer in delete\."):
        coll.delete(where={"a": 1}, limit="1")
    with pytest.raises(ValueError, match=r"limit must be a non-negative integer in delete\."):
        coll.delete(where={"a": 1}, limit=-1)
    assert coll.count() == 2


def test_server_errors_map_to_chromadb_classes(client, coll):
    with pytest.raises(chromawal.InvalidArgumentError, match=r"^Collection expecting embedding with dimension of 3, got 2$") as e:
        coll.add(ids=["d"], embeddings=[[1.0, 2.0]])
    assert e.value.status == 400 and e.value.error_name == "InvalidArgumentError"
    assert "dimension" in e.value.detail
    if isinstance(client, chromawal.Client):
        assert isinstance(e.value, chromawal.WriteRejectedError)
    with pytest.raises(chromawal.InvalidArgumentError, match="dimension"):
        coll.query(query_embeddings=[1.0, 2.0], n_results=1)
    # A where the client lets through and the server refuses.
    with pytest.raises(chromawal.InvalidArgumentError, match="Invalid where clause") as e:
        coll.get(where={"$foo": 1})
    assert not isinstance(e.value, ValueError)
    with pytest.raises(chromawal.InvalidArgumentError, match="Regex syntax"):
        coll.get(where_document={"$regex": "("})
    with pytest.raises(chromawal.NotFoundError, match=r"^Collection \[no-such-collection\] does not exist$") as e:
        client.get_collection("no-such-collection")
    assert e.value.code() == 404 and e.value.name() == "NotFoundError"
    with pytest.raises(chromawal.ChromaError) as e:
        client.create_collection(coll.name)
    assert isinstance(e.value, chromawal.UniqueConstraintError) and e.value.status == 409
    with pytest.raises((ValueError, chromawal.ChromaError), match="name"):
        client.create_collection("x")
    assert coll.count() == 2


def test_error_hierarchy():
    assert issubclass(chromawal.NotFoundError, chromawal.ChromaError)
    assert not issubclass(chromawal.NotFoundError, ValueError)
    assert issubclass(chromawal.ValidationError, ValueError)
    assert issubclass(chromawal.ChromaTimeoutError, TimeoutError)
    assert issubclass(chromawal.ChromaTimeoutError, chromawal.ChromaConnectionError)
    assert issubclass(chromawal.ChromaConnectionError, ConnectionError)
    for cls in (chromawal.LogUnavailableError, chromawal.NoInstanceAvailableError, chromawal.WriteRejectedError,
                chromawal.QuorumNotReachedError, chromawal.OutcomeUnknownError):
        assert issubclass(cls, chromawal.ReplicationError) and issubclass(cls, chromawal.ChromaError)
    assert errors.error_types["NotFoundError"] is chromawal.NotFoundError
    assert errors.error_types["ChromaError"] is chromawal.ChromaError
    assert chromawal.DuplicateIDError.name() == "DuplicateID"


def test_native_outcomes_carry_their_fields():
    e = errors._from_native("outcome_unknown", "in doubt", entry_id="k-1", position=7)
    assert isinstance(e, chromawal.OutcomeUnknownError) and e.entry_id == "k-1" and e.position == 7
    e = errors._from_native("connection", "refused", request_sent=False)
    assert isinstance(e, chromawal.ChromaConnectionError) and e.request_sent is False
    e = errors._from_native("timeout", "no answer", request_sent=True)
    assert isinstance(e, chromawal.ChromaTimeoutError) and e.request_sent is True


def test_http_client_connection_errors():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Nothing listens on the port.
    with pytest.raises(ValueError, match=r"^Could not connect to a Chroma server\. Are you sure it is running\?$"):
        chromawal.HttpClient("127.0.0.1", port)


def test_gil_released_during_io_and_timeout():
    # A "server" that accepts connections and never answers: the call blocks until the
    # request timeout; meanwhile other Python threads must run (the GIL is released).
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    port = srv.getsockname()[1]
    try:
        native = chromawal._chromawal.HttpClient(
            {"base_url": f"http://127.0.0.1:{port}", "request_timeout": 1.5, "connect_timeout": 1.0}
        )
        client = chromawal.HttpClient._from_native(native)
        ticks = 0
        done = threading.Event()
        caught = []

        def call():
            try:
                client.heartbeat()
            except Exception as e:  # noqa: BLE001
                caught.append(e)
            finally:
                done.set()

        t = threading.Thread(target=call)
        started = time.monotonic()
        t.start()
        while not done.is_set():
            ticks += 1
            time.sleep(0.001)
        t.join()
        elapsed = time.monotonic() - started
        assert 1.0 < elapsed < 10
        assert ticks > 200, f"the main thread ran only {ticks} times while the call blocked"
        assert len(caught) == 1 and isinstance(caught[0], chromawal.ChromaTimeoutError)
        assert isinstance(caught[0], TimeoutError)
    finally:
        srv.close()


LONE = "\ud800"  # a lone surrogate: a str with no UTF-8 form


@pytest.mark.parametrize(
    "kwargs, what",
    [
        (dict(ids=["ok", "bad" + LONE], embeddings=[[1.0, 2.0, 3.0]] * 2), "ID"),
        (dict(ids=["s"], embeddings=[[1.0, 2.0, 3.0]], documents=["x" + LONE]), "document"),
        (dict(ids=["s"], embeddings=[[1.0, 2.0, 3.0]], uris=[LONE]), "URI"),
        (dict(ids=["s"], embeddings=[[1.0, 2.0, 3.0]], metadatas=[{"k" + LONE: 1}]), "metadata key"),
        (dict(ids=["s"], embeddings=[[1.0, 2.0, 3.0]], metadatas=[{"k": LONE}]), "metadata value for key 'k'"),
        (dict(ids=["s"], embeddings=[[1.0, 2.0, 3.0]], metadatas=[{"k": ["a", LONE]}]),
         "metadata value for key 'k'"),
    ],
)
def test_text_without_utf8_form_is_a_validation_error(coll, kwargs, what):
    for write in (coll.add, coll.upsert, coll.update):
        with pytest.raises(chromawal.ValidationError, match="^Expected " + re.escape(what) +
                           r" to be valid UTF-8 text \(no lone surrogates\), got '.*\\ud800'") as e:
            write(**kwargs)
        assert isinstance(e.value, ValueError) and not isinstance(e.value, UnicodeError)
    assert coll.count() == 2  # nothing was written (or logged)


def test_filters_and_reads_without_utf8_form_are_validation_errors(coll):
    for call, what in [
        (lambda: coll.get(ids=[LONE]), "ID"),
        (lambda: coll.delete(ids=[LONE]), "ID"),
        (lambda: coll.get(where={"k": LONE}), "where"),
        (lambda: coll.get(where={LONE: 1}), "where"),
        (lambda: coll.get(where_document={"$contains": LONE}), "where document"),
        (lambda: coll.query(query_embeddings=[1.0, 2.0, 3.0], where={"k": {"$in": ["a", LONE]}}), "where"),
        (lambda: coll.delete(where={"k": LONE}), "where"),
    ]:
        with pytest.raises(chromawal.ValidationError, match="^Expected " + re.escape(what) + " to be valid UTF-8"):
            call()
    assert coll.count() == 2
