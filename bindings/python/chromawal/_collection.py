"""Collection: chromadb's Collection API (names, arguments, defaults, result dicts) over
chromawal's native collections (one server, or the replicated set).

Both native collection classes (_chromawal.HttpCollection, _chromawal.ReplicatedCollection)
have the same methods and arguments and return results of the same shapes (see
src/collection_api.hpp), so one class serves both: the differences between one server and the
replicated set are decided in the native layer."""
import concurrent.futures
import json
import queue
import threading
import uuid
from typing import Any, Callable, Dict, List, Optional, Sequence, cast

import numpy as np
import numpy.typing as npt

from . import _compat
from . import _validation as v
from .types import (
    DeleteResult,
    Embeddings,
    GetResult,
    Include,
    OneOrManyDocuments,
    OneOrManyIDs,
    OneOrManyMetadatas,
    OneOrManyURIs,
    QueryResult,
    Where,
    WhereDocument,
    WriteReceipt,
)

_READ_LEVELS = ("index_and_wal", "index_only", "index_and_bounded_wal")
_UNSET = object()


def _embed(ef: Optional[Callable[..., Any]], inputs: List[Any], is_query: bool = False) -> Any:
    if ef is None:
        hint = "" if _compat.HAVE_CHROMADB else " (chromadb's default one needs the chromadb package)"
        raise ValueError(
            "You must provide an embedding function to compute embeddings"
            f"{hint}. https://docs.trychroma.com/guides/embeddings"
        )
    if is_query and hasattr(ef, "embed_query"):
        return ef.embed_query(input=inputs)
    return ef(input=inputs)



def _check_idempotency_key(op: str, key: Optional[str]) -> str:
    """The key as the native layer takes it ("" for none); a TypeError names a wrong type."""
    if key is None:
        return ""
    if not isinstance(key, str):
        raise TypeError(f"idempotency_key must be a str, got {type(key).__name__} in {op}.")
    if key == "":
        raise ValueError(f"idempotency_key must not be empty in {op}.")
    return key

class _Completer:
    """Completes the concurrent.futures.Future of asynchronous writes: one daemon thread waits
    for the native writes in submission order (those of one collection are answered in that
    order) and sets each future's result or exception, and its ``receipt`` attribute."""

    _lock = threading.Lock()
    _queue: "Optional[queue.SimpleQueue[Any]]" = None

    @classmethod
    def track(cls, pending: Any, future: "concurrent.futures.Future[Any]", result: Callable[[Any], Any]) -> None:
        with cls._lock:
            if cls._queue is None:
                cls._queue = queue.SimpleQueue()
                threading.Thread(target=cls._run, args=(cls._queue,), name="chromawal-futures", daemon=True).start()
            cls._queue.put((pending, future, result))

    @staticmethod
    def _run(q: "queue.SimpleQueue[Any]") -> None:
        while True:
            pending, future, result = q.get()
            try:
                answer = pending.wait()
            except BaseException as e:  # the write's error, as the synchronous call raises it
                future.set_exception(e)
                continue
            future.receipt = answer.get("receipt") if isinstance(answer, dict) and "deleted" in answer else answer
            future.set_result(result(answer))


def _started_future() -> "concurrent.futures.Future[Any]":
    f: "concurrent.futures.Future[Any]" = concurrent.futures.Future()
    f.set_running_or_notify_cancel()  # a logged write cannot be called back
    return f


class Collection:
    """A collection, with the methods of chromadb's ``Collection``.

    Returned by a client's ``create_collection`` / ``get_collection`` /
    ``get_or_create_collection`` / ``list_collections``. Safe to use from many threads.

    On a replicated :class:`chromawal.Client`, writes (add, upsert, update, delete, modify)
    go through the write-ahead log; ``last_receipt`` is this thread's receipt of its last
    write through this object. Reads accept ``allow_stale=True`` to read from an instance that
    has not applied this client's last write yet. On an :class:`chromawal.HttpClient` (one
    server, no log) ``last_receipt`` stays None and ``allow_stale`` changes nothing.
    """

    def __init__(
        self,
        native: Any,
        owner: Any = None,
        embedding_function: Optional[Callable[..., Any]] = None,
        data_loader: Optional[Callable[..., Any]] = None,
    ) -> None:
        # native: a _chromawal.HttpCollection or _chromawal.ReplicatedCollection.
        # owner: the client that returned this collection, for equality only.
        self._native = native
        self._owner = owner
        self._embedding_function = embedding_function
        self._data_loader = data_loader
        self._local = threading.local()
        # The collection's model (chromadb's, or the stand-in): made from the native description
        # when first needed, kept until modify() or refresh(), replaced by an assignment to
        # _model (as chromadb's tests do). None: not made yet.
        self._model_obj: Any = None
        # The embedding function the model's configuration names, with the configuration it was
        # built from: (configuration as JSON text, function).
        self._configured_ef: Any = _UNSET

    # ---- description ----

    def _ef(self) -> Any:
        """The embedding function documents and query texts go through, chosen as chromadb does:
        the one given (unless it is the default), else the one the current model's configuration
        names (built by chromadb; a configuration chromadb cannot load raises its ValueError
        here, at embedding time, as chromadb does), else the default (or None)."""
        ef = self._embedding_function
        if ef is not None and not _compat.is_default_embedding_function(ef):
            return ef
        conf = self.configuration_json
        key = json.dumps(conf, sort_keys=True, default=repr)
        cached = self._configured_ef
        if cached is _UNSET or cached[0] != key:
            cached = (key, _compat.embedding_function_of(conf))
            self._configured_ef = cached
        return cached[1] if cached[1] is not None else ef

    def _embed(self, input: Any, is_query: bool = False) -> Any:
        """chromadb's private ``Collection._embed``: `input` through the embedding function the
        collection uses (see :meth:`_ef`)."""
        return _embed(self._ef(), input, is_query)

    @property
    def _model(self) -> Any:
        """chromadb's collection model (chromadb.types.Collection) when chromadb is importable,
        else chromawal's stand-in with the same fields, as chromadb's ``Collection._model``: the
        description read when the object was made (replicated: from one instance), kept, and read
        again by modify() and refresh(). Assignable, as in chromadb: the collection's properties
        (name, id, metadata, configuration, the embedding function its configuration names) then
        follow the assigned model, while its requests still go to the collection it was obtained
        for (chromawal addresses collections by name on every instance)."""
        model = self._model_obj
        if model is None:
            model = self._model_obj = _compat.collection_model(self._native.info())
        return model

    @_model.setter
    def _model(self, model: Any) -> None:
        self._model_obj = model

    @property
    def name(self) -> str:
        # Without I/O when no model was made (a handle from the replicated client's collection()).
        model = self._model_obj
        return str(model.name) if model is not None else str(self._native.name)

    @property
    def id(self) -> uuid.UUID:
        """The collection's UUID. On a replicated client each instance has its own UUID; this
        is the one of the instance that described the collection (the primary when it is up)."""
        return cast(uuid.UUID, self._model.id)

    @property
    def metadata(self) -> Optional[Dict[str, Any]]:
        return cast(Optional[Dict[str, Any]], self._model.metadata)

    @property
    def configuration_json(self) -> Dict[str, Any]:
        return cast(Dict[str, Any], self._model.configuration_json)

    @property
    def configuration(self) -> Any:
        """The configuration as chromadb parses it (``load_collection_configuration_from_json``)
        when chromadb is importable, else the configuration JSON as a dict."""
        return _compat.configuration_of(self.configuration_json)

    @property
    def dimension(self) -> Optional[int]:
        return cast(Optional[int], self._model.dimension)

    @property
    def tenant(self) -> str:
        model = self._model_obj
        return str(model.tenant) if model is not None else str(self._native.tenant)

    @property
    def database(self) -> str:
        model = self._model_obj
        return str(model.database) if model is not None else str(self._native.database)

    @property
    def schema(self) -> Any:
        """The collection's schema as the server reports it: chromadb's ``Schema`` when chromadb
        is importable, else the serialized schema (a dict, or None)."""
        return _compat.schema_of(self._model.serialized_schema)

    @property
    def last_receipt(self) -> Optional[WriteReceipt]:
        """The receipt of this thread's last write through this object (replicated client
        only): log position, entry id, instances that applied it, queued."""
        return getattr(self._local, "receipt", None)

    def get_model(self) -> Any:
        """The collection's model, as chromadb's ``get_model()``: id, name, configuration_json,
        serialized_schema, metadata, dimension, tenant, database, version, log_position, by
        attribute and by item (chromadb's own model class when chromadb is importable)."""
        return self._model

    def refresh(self) -> None:
        """Reads the collection's description (metadata, configuration, ...) again (an assigned
        ``_model`` is replaced by it)."""
        self._native.refresh()
        self._model_obj = None

    def __repr__(self) -> str:
        return f"Collection(name={self.name})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Collection):
            return False
        return self._owner is other._owner and self.name == other.name

    def __hash__(self) -> int:
        return hash((id(self._owner), self.name))

    # ---- reads ----

    def count(self, read_level: str = "index_and_wal", *, allow_stale: bool = False) -> int:
        """The number of records. ``read_level`` is accepted for chromadb compatibility (a
        local Chroma server always reads index and WAL)."""
        level = getattr(read_level, "value", read_level)
        if level not in _READ_LEVELS:
            raise ValueError(f"Expected read_level to be one of {', '.join(_READ_LEVELS)}, got {read_level}")
        return int(self._native.count(allow_stale=allow_stale))

    @v.validation_context("get")
    def _prepare_get(self, ids: Any, where: Any, where_document: Any, limit: Any, offset: Any, include: Any) -> Any:
        unpacked = v.maybe_cast_one_to_many(ids)
        w, wd = v.filter_json(where, where_document)
        v.validate_include(include, ["distances"])
        if "data" in include and self._data_loader is None:
            raise ValueError("You must set a data loader on the collection if loading from URIs.")
        return unpacked, w, wd, v.validate_limit(limit, "limit"), v.validate_limit(offset, "offset") or 0

    def get(
        self,
        ids: Optional[OneOrManyIDs] = None,
        where: Optional[Where] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
        where_document: Optional[WhereDocument] = None,
        include: Include = ["metadatas", "documents"],  # noqa: B006 (chromadb's signature; never mutated)
        *,
        allow_stale: bool = False,
    ) -> GetResult:
        """Records by id and/or filters, in storage order. Embeddings come back as one 2-D
        float32 numpy array."""
        include = list(include) if isinstance(include, (list, tuple)) else include
        unpacked, w, wd, lim, off = self._prepare_get(ids, where, where_document, limit, offset, include)
        if "data" in include and "uris" not in include:
            include.append("uris")  # as chromadb: the data loader reads the uris, which are returned too
        mask = v.include_mask(include)
        r = self._native.get(unpacked, w, wd, lim, off, mask, allow_stale=allow_stale)
        return self._finish_get(r, include)

    def peek(self, limit: int = 10, *, allow_stale: bool = False) -> GetResult:
        """The first `limit` records with embeddings, documents and metadata."""
        lim = v.validate_limit(limit, "limit")
        r = self._native.peek(lim, allow_stale=allow_stale)
        include = ["metadatas", "documents", "embeddings"]
        r["data"] = None
        r["included"] = include
        return cast(GetResult, r)

    def _finish_get(self, r: Dict[str, Any], include: Sequence[str]) -> GetResult:
        r["data"] = None
        if "data" in include and self._data_loader is not None and r["uris"] is not None:
            r["data"] = self._data_loader(r["uris"])
        if "uris" not in include:
            r["uris"] = None
        r["included"] = include
        return cast(GetResult, r)

    @v.validation_context("query")
    def _prepare_query(
        self,
        query_embeddings: Any,
        query_texts: Any,
        query_images: Any,
        query_uris: Any,
        ids: Any,
        n_results: Any,
        where: Any,
        where_document: Any,
        include: Any,
    ) -> Any:
        embeddings = v.to_embedding_array(query_embeddings)
        texts = v.maybe_cast_one_to_many(query_texts)
        images = v.maybe_cast_one_to_many(query_images)
        uris = v.maybe_cast_one_to_many(query_uris)
        v.check_lengths({"embeddings": embeddings, "documents": texts, "images": images, "uris": uris})
        w, wd = v.filter_json(where, where_document)
        v.validate_include(include)
        v.validate_n_results(n_results)
        if "data" in include and self._data_loader is None:
            raise ValueError("You must set a data loader on the collection if loading from URIs.")
        if embeddings is None:
            embeddings = self._embed_inputs(texts, images, uris, ("documents", "images", "uris"), is_query=True)
        return embeddings, v.maybe_cast_one_to_many(ids), w, wd

    def query(
        self,
        query_embeddings: Optional[Embeddings] = None,
        query_texts: Optional[OneOrManyDocuments] = None,
        query_images: Optional[Any] = None,
        query_uris: Optional[OneOrManyURIs] = None,
        ids: Optional[OneOrManyIDs] = None,
        n_results: int = 10,
        where: Optional[Where] = None,
        where_document: Optional[WhereDocument] = None,
        include: Include = ["metadatas", "documents", "distances"],  # noqa: B006
        *,
        allow_stale: bool = False,
    ) -> QueryResult:
        """The `n_results` nearest neighbours of each query embedding. Every field of the
        result is a list with one entry per query; embeddings are a list of 2-D float32 arrays."""
        include = list(include) if isinstance(include, (list, tuple)) else include
        embeddings, filter_ids, w, wd = self._prepare_query(
            query_embeddings, query_texts, query_images, query_uris, ids, n_results, where, where_document, include
        )
        if "data" in include and "uris" not in include:
            include.append("uris")
        mask = v.include_mask(include)
        r = self._native.query(embeddings, n_results, filter_ids, w, wd, mask, allow_stale=allow_stale)
        r["data"] = None
        if "data" in include and self._data_loader is not None and r["uris"] is not None:
            r["data"] = [self._data_loader(u) for u in r["uris"]]
        if "uris" not in include:
            r["uris"] = None
        r["included"] = include
        return cast(QueryResult, r)

    # ---- writes ----

    def _embed_inputs(
        self,
        documents: Any,
        images: Any,
        uris: Any,
        fields: "tuple[str, ...]" = ("documents", "images", "uris"),
        is_query: bool = False,
    ) -> npt.NDArray[np.float32]:
        given = [name for name, value in (("documents", documents), ("images", images), ("uris", uris)) if value is not None]
        if len(given) != 1:
            raise ValueError(f"Exactly one of {', '.join(fields)} must be provided")
        if given[0] == "uris":
            if self._data_loader is None:
                raise ValueError("You must set a data loader on the collection if loading from URIs.")
            inputs = self._data_loader(uris)
        else:
            inputs = documents if documents is not None else images
        arr = v.to_embedding_array(_embed(self._ef(), inputs, is_query))
        assert arr is not None
        return arr

    def _prepare_records(
        self, op: str, ids: Any, embeddings: Any, metadatas: Any, documents: Any, images: Any, uris: Any
    ) -> Any:
        @v.validation_context(op)
        def prepare() -> Any:
            id_list = v.maybe_cast_one_to_many(ids)
            arr = v.to_embedding_array(embeddings)
            metas = v.maybe_cast_one_to_many(metadatas)
            docs = v.maybe_cast_one_to_many(documents)
            imgs = v.maybe_cast_one_to_many(images)
            uri_list = v.maybe_cast_one_to_many(uris)
            v.check_lengths(
                {
                    "ids": id_list,
                    "metadatas": metas,
                    "embeddings": arr,
                    "documents": docs,
                    "images": imgs,
                    "uris": uri_list,
                }
            )
            if arr is None:
                # chromadb computes embeddings with the collection's embedding function: add from
                # exactly one of documents / images / uris, upsert from documents or images,
                # update only when documents or images change. Without an embedding function,
                # chromawal updates documents without new embeddings.
                if op == "add":
                    arr = self._embed_inputs(docs, imgs, uri_list, ("documents", "images", "uris"))
                elif op == "upsert":
                    arr = self._embed_inputs(docs, imgs, None, ("documents", "images"))
                elif imgs is not None or (docs is not None and self._ef() is not None):
                    arr = self._embed_inputs(docs, imgs, None, ("documents", "images"))
            return id_list, arr, metas, docs, uri_list

        return prepare()

    def _write(
        self,
        op: str,
        ids: Any,
        embeddings: Any,
        metadatas: Any,
        documents: Any,
        images: Any,
        uris: Any,
        idempotency_key: Optional[str],
    ) -> None:
        id_list, arr, metas, docs, uri_list = self._prepare_records(
            op, ids, embeddings, metadatas, documents, images, uris
        )
        key = _check_idempotency_key(op, idempotency_key)
        owner = self._owner
        if owner is not None and not getattr(owner, "_split_batches", True):
            # split_batches=False: chromadb's refusal instead of chromawal's split.
            limit = owner._batch_limit()
            if len(id_list) > limit:
                raise ValueError(f"Batch size {len(id_list)} exceeds maximum batch size {limit}")
        if op == "update" and arr is None and metas is None and docs is None and uri_list is None:
            # Nothing to change: chromadb sends it and the server accepts it as a no-op; nothing
            # is logged or sent here (the C++ library refuses an update without fields).
            self._local.receipt = None
            return
        self._local.receipt = self._native.write(op, id_list, arr, metas, docs, uri_list, key)

    def add(
        self,
        ids: OneOrManyIDs,
        embeddings: Optional[Embeddings] = None,
        metadatas: Optional[OneOrManyMetadatas] = None,
        documents: Optional[OneOrManyDocuments] = None,
        images: Optional[Any] = None,
        uris: Optional[OneOrManyURIs] = None,
        idempotency_key: Optional[str] = None,
    ) -> None:
        """Adds records (ids that already exist are left unchanged, as Chroma does). Batches
        above the server's max batch size are split, not refused.

        ``idempotency_key`` (replicated client only) makes a retry safe: see :meth:`delete`."""
        self._write("add", ids, embeddings, metadatas, documents, images, uris, idempotency_key)

    def upsert(
        self,
        ids: OneOrManyIDs,
        embeddings: Optional[Embeddings] = None,
        metadatas: Optional[OneOrManyMetadatas] = None,
        documents: Optional[OneOrManyDocuments] = None,
        images: Optional[Any] = None,
        uris: Optional[OneOrManyURIs] = None,
        idempotency_key: Optional[str] = None,
    ) -> None:
        """Inserts new records and updates existing ones (metadata merged key by key)."""
        self._write("upsert", ids, embeddings, metadatas, documents, images, uris, idempotency_key)

    def update(
        self,
        ids: OneOrManyIDs,
        embeddings: Optional[Embeddings] = None,
        metadatas: Optional[OneOrManyMetadatas] = None,
        documents: Optional[OneOrManyDocuments] = None,
        images: Optional[Any] = None,
        uris: Optional[OneOrManyURIs] = None,
        idempotency_key: Optional[str] = None,
    ) -> None:
        """Updates existing records (missing ids are ignored by the server). Without an
        embedding function, documents are updated without new embeddings."""
        self._write("update", ids, embeddings, metadatas, documents, images, uris, idempotency_key)

    def _native_submit(self) -> Any:
        if not hasattr(self._native, "submit"):
            raise NotImplementedError(
                "asynchronous writes (add_async and the others) need the replicated client, chromawal.Client"
            )
        return self._native

    def _submit(
        self,
        op: str,
        ids: Any,
        embeddings: Any,
        metadatas: Any,
        documents: Any,
        images: Any,
        uris: Any,
        idempotency_key: Optional[str],
    ) -> "concurrent.futures.Future[None]":
        native = self._native_submit()
        id_list, arr, metas, docs, uri_list = self._prepare_records(
            op, ids, embeddings, metadatas, documents, images, uris
        )
        key = _check_idempotency_key(op, idempotency_key)
        future = _started_future()
        if op == "update" and arr is None and metas is None and docs is None and uri_list is None:
            future.receipt = None  # nothing to change: nothing logged (as update())
            future.set_result(None)
            return future
        pending = native.submit(op, id_list, arr, metas, docs, uri_list, key)
        _Completer.track(pending, future, lambda _receipt: None)
        return future

    def add_async(
        self,
        ids: OneOrManyIDs,
        embeddings: Optional[Embeddings] = None,
        metadatas: Optional[OneOrManyMetadatas] = None,
        documents: Optional[OneOrManyDocuments] = None,
        images: Optional[Any] = None,
        uris: Optional[OneOrManyURIs] = None,
        idempotency_key: Optional[str] = None,
    ) -> "concurrent.futures.Future[None]":
        """:meth:`add` without waiting (replicated client only): returns a
        ``concurrent.futures.Future`` at once, whose ``result()`` is what :meth:`add` returns
        (None) or raises its error, and whose ``receipt`` attribute holds the write's receipt
        once done. The writes of one collection are logged and applied in call order; a thread
        keeps several in flight (up to ``max_in_flight_writes`` per collection: the call waits
        while the window is full), so that every instance stays busy. Invalid input raises at
        the call (nothing logged). Reads see a write once its future is done."""
        return self._submit("add", ids, embeddings, metadatas, documents, images, uris, idempotency_key)

    def upsert_async(
        self,
        ids: OneOrManyIDs,
        embeddings: Optional[Embeddings] = None,
        metadatas: Optional[OneOrManyMetadatas] = None,
        documents: Optional[OneOrManyDocuments] = None,
        images: Optional[Any] = None,
        uris: Optional[OneOrManyURIs] = None,
        idempotency_key: Optional[str] = None,
    ) -> "concurrent.futures.Future[None]":
        """:meth:`upsert` without waiting: see :meth:`add_async`."""
        return self._submit("upsert", ids, embeddings, metadatas, documents, images, uris, idempotency_key)

    def update_async(
        self,
        ids: OneOrManyIDs,
        embeddings: Optional[Embeddings] = None,
        metadatas: Optional[OneOrManyMetadatas] = None,
        documents: Optional[OneOrManyDocuments] = None,
        images: Optional[Any] = None,
        uris: Optional[OneOrManyURIs] = None,
        idempotency_key: Optional[str] = None,
    ) -> "concurrent.futures.Future[None]":
        """:meth:`update` without waiting: see :meth:`add_async`."""
        return self._submit("update", ids, embeddings, metadatas, documents, images, uris, idempotency_key)

    def delete_async(
        self,
        ids: Optional[OneOrManyIDs] = None,
        where: Optional[Where] = None,
        where_document: Optional[WhereDocument] = None,
        limit: Optional[int] = None,
        idempotency_key: Optional[str] = None,
    ) -> "concurrent.futures.Future[DeleteResult]":
        """:meth:`delete` without waiting: the future's result is :meth:`delete`'s
        ``{"deleted": n}``; see :meth:`add_async`. A delete with a ``limit`` chooses its records
        (and is logged) before the call returns."""
        native = self._native_submit()
        request_ids, w, wd = self._prepare_delete(ids, where, where_document, limit)
        key = _check_idempotency_key("delete", idempotency_key)
        future = _started_future()
        pending = native.submit_delete(request_ids, w, wd, limit, key)
        _Completer.track(pending, future, lambda r: {"deleted": r["deleted"]})
        return future

    @v.validation_context("delete")
    def _prepare_delete(self, ids: Any, where: Any, where_document: Any, limit: Any) -> Any:
        if ids is None and where is None and where_document is None:
            raise ValueError("At least one of ids, where, or where_document must be provided")
        if limit is not None:
            if not isinstance(limit, int) or isinstance(limit, bool):
                raise TypeError("limit must be a non-negative integer")
            if limit < 0:
                raise ValueError("limit must be a non-negative integer")
        if limit is not None and where is None and where_document is None:
            raise ValueError("limit can only be specified when a where or where_document clause is provided")
        request_ids = v.maybe_cast_one_to_many(ids)
        w, wd = v.filter_json(where, where_document)
        return request_ids, w, wd

    def delete(
        self,
        ids: Optional[OneOrManyIDs] = None,
        where: Optional[Where] = None,
        where_document: Optional[WhereDocument] = None,
        limit: Optional[int] = None,
        idempotency_key: Optional[str] = None,
    ) -> DeleteResult:
        """Deletes the selected records; returns ``{"deleted": n}`` like chromadb.

        ``idempotency_key`` (on add / upsert / update / delete of a replicated client) makes a
        retry safe: a write whose key is already in the log is not logged again; the call returns
        the first write's outcome. Retry with the same key after
        :class:`~chromawal.OutcomeUnknownError`. The same key for a different write raises
        :class:`~chromawal.ValidationError`.

        On a replicated client the count is the answer of the first instance (primary first)
        that applied the delete during the call. When none did (the write was queued), only an
        ids-only delete has a count (Chroma counts the ids sent); a filter delete's ``deleted``
        is then None, and ``last_receipt`` tells where the delete was applied."""
        request_ids, w, wd = self._prepare_delete(ids, where, where_document, limit)
        key = _check_idempotency_key("delete", idempotency_key)
        return self._deleted(self._native.delete(request_ids, w, wd, limit, key))

    def delete_document(self, document_id: str, key: str = "document_id") -> DeleteResult:
        """Deletes every record whose metadata ``key`` equals ``document_id`` (all chunks of one
        document): ``delete(where={key: document_id})``."""
        if not isinstance(document_id, str) or not isinstance(key, str):
            raise TypeError("delete_document expects str document_id and key")
        return self._deleted(self._native.delete_document(document_id, key))

    def _deleted(self, r: Dict[str, Any]) -> DeleteResult:
        # The native {"deleted": int | None, "receipt": receipt | None}.
        self._local.receipt = r["receipt"]
        return {"deleted": r["deleted"]}

    def modify(
        self,
        name: Optional[str] = None,
        metadata: Optional[Dict[str, Any]] = None,
        configuration: Optional[Dict[str, Any]] = None,
    ) -> None:
        """Renames the collection and/or replaces its metadata (Chroma does not merge it)
        and/or updates its configuration (e.g. ``{"hnsw": {"ef_search": 64}}``)."""
        if metadata is not None:
            if "hnsw:space" in metadata if isinstance(metadata, dict) else False:
                raise ValueError(
                    "Changing the distance function of a collection once it is created is not supported currently."
                )
        conf = v.configuration_json(configuration)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Expected name to be a str, got {name}")
        self._local.receipt = self._native.modify(name, metadata, conf)
        self._model_obj = None  # the native description follows the change
