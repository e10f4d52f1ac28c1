"""Async clients: ``await chromawal.AsyncHttpClient(...)`` (one server) and
``await chromawal.AsyncClient(...)`` (the replicated set), with chromadb's async API
(``chromadb.AsyncHttpClient``, ``AsyncClientAPI``, ``AsyncCollection``).

The async objects wrap the synchronous ones (:class:`chromawal.HttpClient`,
:class:`chromawal.Client`, :class:`chromawal.Collection`). Each call runs the synchronous call
on a worker thread of a thread pool that the async client owns, and the coroutine awaits its
result. The native calls release the GIL for their network and log I/O, so the event loop and
the other workers run meanwhile: up to ``max_workers`` calls are in progress at once.

The delegation is generic: a public method of the synchronous object that has no explicit
async twin here is still reachable on the async object, as a coroutine function that runs it
on the pool (``__getattr__``), with its results converted (a Collection becomes an
AsyncCollection, an HttpClient an AsyncHttpClientAPI). The main API is spelled out below with
its signatures, types and docstrings.
"""
import asyncio
import concurrent.futures
import contextvars
import functools
import itertools
import os
import threading
import uuid
import weakref
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Type, TypeVar, Union, cast

from ._client import Client, HttpClient, InstanceSpec, _ClientBase
from ._collection import Collection
from .errors import ChromaError
from .types import (
    DEFAULT_DATABASE,
    DEFAULT_TENANT,
    DeleteResult,
    Embeddings,
    GetResult,
    Include,
    OneOrManyDocuments,
    OneOrManyIDs,
    OneOrManyMetadatas,
    OneOrManyURIs,
    QueryResult,
    ReplayReport,
    VerifyReport,
    Where,
    WhereDocument,
    WriteReceipt,
)

T = TypeVar("T")

#: The worker threads' name prefix (they show as ``chromawal-async_0``, ``chromawal-async_1``...).
THREAD_NAME_PREFIX = "chromawal-async"

_CLOSED = "this chromawal async client is closed"


def default_max_workers() -> int:
    """The default pool size: ``min(32, CPUs + 4)``, concurrent.futures' default for I/O-bound
    work (a worker mostly waits on a server or the log, without the GIL)."""
    return min(32, (os.cpu_count() or 1) + 4)


# ---------------------------------------------------------------------------------------------
# The worker pool


class _Runner:
    """The thread pool of one async client, shared with the collections and the per-instance
    clients it hands out. Runs blocking calls for coroutines and keeps the calls in flight, so
    that closing waits for them."""

    def __init__(self, max_workers: Optional[int], executor: Optional[concurrent.futures.Executor]) -> None:
        if executor is not None:
            if max_workers is not None:
                raise ValueError("Expected max_workers or executor, not both")
            if not isinstance(executor, concurrent.futures.Executor):
                raise TypeError(f"Expected executor to be a concurrent.futures.Executor, got {executor!r}")
            self.executor: concurrent.futures.Executor = executor
            self.owned = False
        else:
            if max_workers is None:
                max_workers = default_max_workers()
            if not isinstance(max_workers, int) or isinstance(max_workers, bool):
                raise TypeError(f"Expected max_workers to be an int, got {max_workers!r}")
            if max_workers < 1:
                raise ValueError(f"Expected max_workers to be at least 1, got {max_workers}")
            self.executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=max_workers, thread_name_prefix=THREAD_NAME_PREFIX
            )
            self.owned = True
        self.max_workers = max_workers
        self.closed = False
        self._lock = threading.Lock()
        self._in_flight: "Set[concurrent.futures.Future[Any]]" = set()

    async def run(self, fn: Callable[[], T]) -> T:
        """fn() on a worker thread, in a copy of the caller's context (contextvars reach it, as
        with asyncio.to_thread). Cancelling the awaiting task cancels a call that has not
        started; one that has started runs to its end."""
        if self.closed:
            raise RuntimeError(_CLOSED)
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        future = self.executor.submit(context.run, fn)
        with self._lock:
            self._in_flight.add(future)
        future.add_done_callback(self._finished)
        return await asyncio.wrap_future(future, loop=loop)

    def _finished(self, future: "concurrent.futures.Future[Any]") -> None:
        with self._lock:
            self._in_flight.discard(future)

    def _drain_and_stop(self, finally_call: Optional[Callable[[], None]]) -> None:
        # Blocking: waits for the calls in flight, calls finally_call (closes the sync client),
        # then stops the pool's threads (only a pool this runner made).
        with self._lock:
            pending = list(self._in_flight)
        concurrent.futures.wait(pending)
        try:
            if finally_call is not None:
                finally_call()
        finally:
            if self.owned:
                self.executor.shutdown(wait=True)

    async def shut_down(self, finally_call: Optional[Callable[[], None]] = None) -> None:
        """Refuses new calls, waits (off the event loop) for those in flight, runs
        finally_call, and stops the pool's threads."""
        self.closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._drain_and_stop, finally_call)


# ---------------------------------------------------------------------------------------------
# Write receipts, per asyncio task

# The receipt of each collection's last write awaited in this context (asyncio gives each task
# a copy of its creator's context): {collection key: receipt}. Never mutated: a write stores a
# new dict, without the keys of collections that no longer exist.
_receipts: "contextvars.ContextVar[Dict[int, Optional[WriteReceipt]]]" = contextvars.ContextVar(
    "chromawal_async_receipts"
)
_live_collections: "weakref.WeakValueDictionary[int, AsyncCollection]" = weakref.WeakValueDictionary()
_keys = itertools.count()
_UNCHANGED = object()


def _remember_receipt(key: int, receipt: Optional[WriteReceipt]) -> None:
    old = _receipts.get({})
    new = {k: r for k, r in old.items() if k in _live_collections}
    new[key] = receipt
    _receipts.set(new)


# ---------------------------------------------------------------------------------------------
# Collection


class AsyncCollection:
    """A collection with the methods of chromadb's ``AsyncCollection``: ``add``, ``upsert``,
    ``update``, ``delete``, ``get``, ``query``, ``count``, ``peek`` and ``modify`` are
    coroutines; ``name``, ``id``, ``metadata``, ``configuration``, ``tenant``, ``database`` are
    plain properties that never do I/O.

    Returned by an async client's ``create_collection`` / ``get_collection`` /
    ``get_or_create_collection`` / ``list_collections``, which read the collection's
    description on a worker thread. Each call runs the synchronous :class:`chromawal.Collection`
    method of the same name on the client's worker pool, so arguments, defaults, results,
    errors and the embedding function (called on the worker thread) are the synchronous
    client's. Safe to use from many tasks at once.

    ``last_receipt`` (replicated client) is the receipt of the last write through this object
    awaited in the current asyncio task (the synchronous Collection's is per thread).
    """

    def __init__(self, collection: Collection, client: "AsyncClientAPI", *, described: bool = False) -> None:
        # described: the sync collection's description (id, metadata, ...) has been read, so
        # that its properties answer without I/O.
        self._sync = collection
        self._client = client
        self._described = described
        self._key = next(_keys)
        _live_collections[self._key] = self

    # ---- running calls ----

    async def _invoke(self, job: Callable[[], T]) -> T:
        # Runs job on the pool; keeps the receipt of a write it made, for this task.
        sync = self._sync

        def run() -> Any:
            before = sync.last_receipt
            result = job()
            after = sync.last_receipt  # the same worker thread: the sync receipt is per thread
            return result, (after if after is not before else _UNCHANGED)

        result, receipt = await self._client._run(run)
        if receipt is not _UNCHANGED:
            _remember_receipt(self._key, receipt)
        return cast(T, result)

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        fn = getattr(self._sync, method)
        adapt = self._client._adapt
        return await self._invoke(lambda: adapt(fn(*args, **kwargs)))

    def __getattr__(self, name: str) -> Any:
        # Any other public attribute of the sync Collection: a method becomes a coroutine
        # function running it on the pool; anything else is returned as it is.
        if name.startswith("_"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        attr = getattr(self._sync, name)
        if not callable(attr):
            return attr

        @functools.wraps(attr)
        async def method(*args: Any, **kwargs: Any) -> Any:
            return await self._call(name, *args, **kwargs)

        return method

    # ---- description (no I/O) ----

    @property
    def sync(self) -> Collection:
        """The wrapped synchronous collection (blocking; for use off the event loop)."""
        return self._sync

    def _description(self) -> Collection:
        if not self._described:
            raise RuntimeError(
                f"the description of collection {self.name!r} has not been read (a handle from "
                "collection(name), or the read failed): await its refresh() first"
            )
        return self._sync

    @property
    def name(self) -> str:
        return self._sync.name

    @property
    def id(self) -> uuid.UUID:
        """The collection's UUID (replicated: the one of the instance that described it)."""
        return self._description().id

    @property
    def metadata(self) -> Optional[Dict[str, Any]]:
        return self._description().metadata

    @property
    def configuration(self) -> Dict[str, Any]:
        return self._description().configuration

    @property
    def configuration_json(self) -> Dict[str, Any]:
        return self._description().configuration_json

    @property
    def dimension(self) -> Optional[int]:
        return self._description().dimension

    @property
    def tenant(self) -> str:
        return self._sync.tenant

    @property
    def database(self) -> str:
        return self._sync.database

    @property
    def schema(self) -> None:
        return None

    @property
    def last_receipt(self) -> Optional[WriteReceipt]:
        """The receipt of this task's last write through this object (replicated client only):
        log position, entry id, instances that applied it, queued. Writes awaited in other tasks
        (``asyncio.gather``, ``create_task``) set it in their own task."""
        return _receipts.get({}).get(self._key)

    def get_model(self) -> Dict[str, Any]:
        """The description read when the collection was obtained (or last refreshed): id,
        name, metadata, configuration_json, dimension, tenant, database."""
        return self._description().get_model()

    async def refresh(self) -> None:
        """Reads the collection's description (metadata, configuration, ...) again."""

        def job() -> None:
            self._sync.refresh()
            self._sync.get_model()

        await self._invoke(job)
        self._described = True

    def __repr__(self) -> str:
        return f"AsyncCollection(name={self.name})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AsyncCollection) and self._sync == other._sync

    def __hash__(self) -> int:
        return hash(self._sync)

    # ---- reads ----

    async def count(self, read_level: str = "index_and_wal", *, allow_stale: bool = False) -> int:
        """The number of records."""
        return int(await self._call("count", read_level, allow_stale=allow_stale))

    async def get(
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
        """Records by id and/or filters, as :meth:`chromawal.Collection.get`."""
        return cast(
            GetResult,
            await self._call(
                "get",
                ids=ids,
                where=where,
                limit=limit,
                offset=offset,
                where_document=where_document,
                include=include,
                allow_stale=allow_stale,
            ),
        )

    async def peek(self, limit: int = 10, *, allow_stale: bool = False) -> GetResult:
        """The first `limit` records with embeddings, documents and metadata."""
        return cast(GetResult, await self._call("peek", limit, allow_stale=allow_stale))

    async def query(
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
        """The `n_results` nearest neighbours of each query, as :meth:`chromawal.Collection.query`
        (``query_texts`` are embedded by the embedding function, on the worker thread)."""
        return cast(
            QueryResult,
            await self._call(
                "query",
                query_embeddings=query_embeddings,
                query_texts=query_texts,
                query_images=query_images,
                query_uris=query_uris,
                ids=ids,
                n_results=n_results,
                where=where,
                where_document=where_document,
                include=include,
                allow_stale=allow_stale,
            ),
        )

    # ---- writes ----

    async def add(
        self,
        ids: OneOrManyIDs,
        embeddings: Optional[Embeddings] = None,
        metadatas: Optional[OneOrManyMetadatas] = None,
        documents: Optional[OneOrManyDocuments] = None,
        images: Optional[Any] = None,
        uris: Optional[OneOrManyURIs] = None,
        idempotency_key: Optional[str] = None,
    ) -> None:
        """Adds records, as :meth:`chromawal.Collection.add`. Do not change the arguments (a
        numpy array, say) until the call has returned: a worker thread reads them."""
        await self._call(
            "add",
            ids=ids,
            embeddings=embeddings,
            metadatas=metadatas,
            documents=documents,
            images=images,
            uris=uris,
            idempotency_key=idempotency_key,
        )

    async def upsert(
        self,
        ids: OneOrManyIDs,
        embeddings: Optional[Embeddings] = None,
        metadatas: Optional[OneOrManyMetadatas] = None,
        documents: Optional[OneOrManyDocuments] = None,
        images: Optional[Any] = None,
        uris: Optional[OneOrManyURIs] = None,
        idempotency_key: Optional[str] = None,
    ) -> None:
        """Inserts new records and updates existing ones, as :meth:`chromawal.Collection.upsert`."""
        await self._call(
            "upsert",
            ids=ids,
            embeddings=embeddings,
            metadatas=metadatas,
            documents=documents,
            images=images,
            uris=uris,
            idempotency_key=idempotency_key,
        )

    async def update(
        self,
        ids: OneOrManyIDs,
        embeddings: Optional[Embeddings] = None,
        metadatas: Optional[OneOrManyMetadatas] = None,
        documents: Optional[OneOrManyDocuments] = None,
        images: Optional[Any] = None,
        uris: Optional[OneOrManyURIs] = None,
        idempotency_key: Optional[str] = None,
    ) -> None:
        """Updates existing records, as :meth:`chromawal.Collection.update`."""
        await self._call(
            "update",
            ids=ids,
            embeddings=embeddings,
            metadatas=metadatas,
            documents=documents,
            images=images,
            uris=uris,
            idempotency_key=idempotency_key,
        )

    async def delete(
        self,
        ids: Optional[OneOrManyIDs] = None,
        where: Optional[Where] = None,
        where_document: Optional[WhereDocument] = None,
        limit: Optional[int] = None,
        idempotency_key: Optional[str] = None,
    ) -> DeleteResult:
        """Deletes the selected records; ``{"deleted": n}``, as :meth:`chromawal.Collection.delete`."""
        return cast(
            DeleteResult,
            await self._call(
                "delete",
                ids=ids,
                where=where,
                where_document=where_document,
                limit=limit,
                idempotency_key=idempotency_key,
            ),
        )

    async def delete_document(self, document_id: str, key: str = "document_id") -> DeleteResult:
        """Deletes every record whose metadata ``key`` equals ``document_id``."""
        return cast(DeleteResult, await self._call("delete_document", document_id, key))

    async def modify(
        self,
        name: Optional[str] = None,
        metadata: Optional[Dict[str, Any]] = None,
        configuration: Optional[Dict[str, Any]] = None,
    ) -> None:
        """Renames the collection and/or replaces its metadata and/or updates its configuration,
        as :meth:`chromawal.Collection.modify`; the properties show the change afterwards."""
        sync = self._sync
        described = self._described

        def job() -> bool:
            sync.modify(name=name, metadata=metadata, configuration=configuration)
            if not described:
                return False
            try:
                sync.get_model()  # a configuration change is read back from a server
            except ChromaError:
                return False  # modified; the description is to be read again (refresh)
            return True

        self._described = await self._invoke(job)


# ---------------------------------------------------------------------------------------------
# Clients


class AsyncClientAPI:
    """What both async clients share: chromadb's ``AsyncClientAPI`` calls, as coroutines.

    Made by ``await chromawal.AsyncHttpClient(...)`` or ``await chromawal.AsyncClient(...)``.
    Owns a thread pool (``max_workers`` threads, default ``min(32, CPUs + 4)``) on which every
    call runs the synchronous client's method of the same name. ``await client.close()`` (or
    the end of an ``async with`` block) waits for the calls in flight, closes the synchronous
    client and stops the pool. Safe to use from many tasks at once.
    """

    _sync_type: Type[Any] = _ClientBase

    def __init__(
        self,
        client: Any,
        *,
        max_workers: Optional[int] = None,
        executor: Optional[concurrent.futures.Executor] = None,
    ) -> None:
        """Wraps an existing synchronous client, which the async client then owns (``close()``
        closes it). ``max_workers``: the size of the pool made for it; or ``executor``: a
        ``concurrent.futures.Executor`` to run the calls on instead, which ``close()`` leaves
        running."""
        if not isinstance(client, self._sync_type):
            raise TypeError(f"Expected a chromawal.{self._sync_type.__name__}, got {type(client).__name__}")
        self._init(client, _Runner(max_workers, executor), owns_runner=True)

    def _init(self, client: Any, runner: _Runner, owns_runner: bool) -> None:
        self._sync = client
        self._runner = runner
        self._owns_runner = owns_runner
        self._closed = False

    # ---- running calls ----

    async def _run(self, fn: Callable[[], T]) -> T:
        if self._closed:
            raise RuntimeError(_CLOSED)
        return await self._runner.run(fn)

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        fn = getattr(self._sync, method)
        return await self._run(lambda: self._adapt(fn(*args, **kwargs)))

    def _adapt(self, value: Any) -> Any:
        # On the worker thread: the async twin of what a sync call returned. A collection's
        # description is read here, off the event loop, so that its properties need no I/O.
        if isinstance(value, Collection):
            described = True
            try:
                value.get_model()
            except ChromaError:
                described = False  # e.g. created, but no instance answered since: refresh() later
            return AsyncCollection(value, self, described=described)
        if isinstance(value, list) and any(isinstance(x, Collection) for x in value):
            return [self._adapt(x) for x in value]
        if isinstance(value, HttpClient):
            client = AsyncHttpClientAPI.__new__(AsyncHttpClientAPI)
            client._init(value, self._runner, owns_runner=False)
            return client
        return value

    def __getattr__(self, name: str) -> Any:
        # Any other public attribute of the sync client: a method becomes a coroutine function
        # running it on the pool; anything else is returned as it is.
        if name.startswith("_"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        attr = getattr(self._sync, name)
        if not callable(attr):
            return attr

        @functools.wraps(attr)
        async def method(*args: Any, **kwargs: Any) -> Any:
            return await self._call(name, *args, **kwargs)

        return method

    # ---- the client ----

    @property
    def sync(self) -> Any:
        """The wrapped synchronous client (blocking; for use off the event loop)."""
        return self._sync

    @property
    def tenant(self) -> str:
        return str(self._sync.tenant)

    @property
    def database(self) -> str:
        return str(self._sync.database)

    @property
    def max_workers(self) -> Optional[int]:
        """The size of the pool this client made (None when it runs on a given executor)."""
        return self._runner.max_workers

    @property
    def closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        """Refuses new calls, waits for the calls in flight, closes the synchronous client (a
        replicated client stops its background threads) and stops the worker pool. Idempotent.
        A client handed out by another (``instance()``) only stops taking calls."""
        if self._closed:
            return
        self._closed = True
        if self._owns_runner:
            await self._runner.shut_down(self._sync.close)

    async def __aenter__(self: T) -> T:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"Async{self._sync!r}"

    # ---- server ----

    async def heartbeat(self) -> int:
        """The server's heartbeat in nanoseconds (replicated: the first instance that answers)."""
        return int(await self._call("heartbeat"))

    async def get_version(self) -> str:
        return str(await self._call("get_version"))

    async def get_max_batch_size(self) -> int:
        return int(await self._call("get_max_batch_size"))

    # ---- collections ----

    async def create_collection(
        self,
        name: str,
        configuration: Optional[Dict[str, Any]] = None,
        metadata: Optional[Dict[str, Any]] = None,
        embedding_function: Optional[Callable[..., Any]] = None,
        data_loader: Optional[Callable[..., Any]] = None,
        get_or_create: bool = False,
        schema: Any = None,
    ) -> AsyncCollection:
        """Creates a collection (UniqueConstraintError when it exists, unless get_or_create),
        as :meth:`chromawal.HttpClient.create_collection`. The embedding function is called on
        the worker threads (possibly several at once)."""
        return cast(
            AsyncCollection,
            await self._call(
                "create_collection",
                name,
                configuration=configuration,
                metadata=metadata,
                embedding_function=embedding_function,
                data_loader=data_loader,
                get_or_create=get_or_create,
                schema=schema,
            ),
        )

    async def get_or_create_collection(
        self,
        name: str,
        configuration: Optional[Dict[str, Any]] = None,
        metadata: Optional[Dict[str, Any]] = None,
        embedding_function: Optional[Callable[..., Any]] = None,
        data_loader: Optional[Callable[..., Any]] = None,
        schema: Any = None,
    ) -> AsyncCollection:
        """The existing collection (metadata and configuration ignored), or a new one."""
        return cast(
            AsyncCollection,
            await self._call(
                "get_or_create_collection",
                name,
                configuration=configuration,
                metadata=metadata,
                embedding_function=embedding_function,
                data_loader=data_loader,
                schema=schema,
            ),
        )

    async def get_collection(
        self,
        name: str,
        embedding_function: Optional[Callable[..., Any]] = None,
        data_loader: Optional[Callable[..., Any]] = None,
    ) -> AsyncCollection:
        """An existing collection; NotFoundError when there is none."""
        return cast(
            AsyncCollection,
            await self._call("get_collection", name, embedding_function=embedding_function, data_loader=data_loader),
        )

    async def list_collections(self, limit: Optional[int] = None, offset: Optional[int] = None) -> List[AsyncCollection]:
        """The collections, each described (replicated: one request per collection, on the
        worker thread)."""
        return cast(List[AsyncCollection], await self._call("list_collections", limit=limit, offset=offset))

    async def count_collections(self) -> int:
        return int(await self._call("count_collections"))

    async def delete_collection(self, name: str) -> None:
        await self._call("delete_collection", name)

    async def get_user_identity(self) -> Dict[str, Any]:
        return cast(Dict[str, Any], await self._call("get_user_identity"))

    async def get_collection_by_id(
        self,
        id: Any,
        embedding_function: Optional[Callable[..., Any]] = None,
        data_loader: Optional[Callable[..., Any]] = None,
    ) -> AsyncCollection:
        return cast(
            AsyncCollection,
            await self._call(
                "get_collection_by_id", id, embedding_function=embedding_function, data_loader=data_loader
            ),
        )

    def get_settings(self) -> Any:
        """The sync client's ``get_settings()`` (no I/O; not a coroutine, as in chromadb's
        async client)."""
        return self._sync.get_settings()

    async def reset(self) -> bool:
        """The synchronous client's ``reset()`` (the servers' reset, as chromadb's)."""
        return bool(await self._call("reset"))

    async def set_tenant(self, tenant: str, database: str = DEFAULT_DATABASE) -> None:
        """Switches tenant and database (checked on a server). Calls already in flight keep
        the previous ones. On the replicated client, creations and deletions go through the log."""
        await self._call("set_tenant", tenant, database)

    async def set_database(self, database: str) -> None:
        await self._call("set_database", database)

    async def create_database(self, name: str, tenant: str = DEFAULT_TENANT) -> None:
        await self._call("create_database", name, tenant)

    async def get_database(self, name: str, tenant: str = DEFAULT_TENANT) -> Dict[str, Any]:
        return cast(Dict[str, Any], await self._call("get_database", name, tenant))

    async def delete_database(self, name: str, tenant: str = DEFAULT_TENANT) -> None:
        await self._call("delete_database", name, tenant)

    async def list_databases(
        self, limit: Optional[int] = None, offset: Optional[int] = None, tenant: str = DEFAULT_TENANT
    ) -> List[Dict[str, Any]]:
        return cast(List[Dict[str, Any]], await self._call("list_databases", limit, offset, tenant))

    async def create_tenant(self, name: str) -> None:
        await self._call("create_tenant", name)

    async def get_tenant(self, name: str) -> Dict[str, Any]:
        return cast(Dict[str, Any], await self._call("get_tenant", name))


class AsyncHttpClientAPI(AsyncClientAPI):
    """The async twin of :class:`chromawal.HttpClient` (one Chroma server): made by
    ``await chromawal.AsyncHttpClient(host, port, ...)``, or ``AsyncHttpClientAPI(client)``
    around an existing HttpClient."""

    _sync_type = HttpClient

    @property
    def sync(self) -> HttpClient:
        return cast(HttpClient, self._sync)

    @property
    def base_url(self) -> str:
        return str(self._sync.base_url)

    async def get_pre_flight_checks(self) -> Dict[str, Any]:
        return cast(Dict[str, Any], await self._call("get_pre_flight_checks"))


class AsyncReplicatedClientAPI(AsyncClientAPI):
    """The async twin of :class:`chromawal.Client` (the replicated set): made by
    ``await chromawal.AsyncClient(instances, log_url, ...)``, or
    ``AsyncReplicatedClientAPI(client)`` around an existing Client."""

    _sync_type = Client

    @property
    def sync(self) -> Client:
        return cast(Client, self._sync)

    @property
    def closed(self) -> bool:
        return self._closed or bool(self._sync.closed)

    # ---- instances (no I/O) ----

    @property
    def instances(self) -> List[Dict[str, Any]]:
        """The instances: name, url, primary."""
        return cast(List[Dict[str, Any]], self._sync.instances)

    def instance(self, instance: Union[int, str]) -> AsyncHttpClientAPI:
        """An async one-server client for one instance (by name or index), bypassing the log,
        on this client's worker pool: for inspection and tests."""
        return cast(AsyncHttpClientAPI, self._adapt(self._sync.instance(instance)))

    def collection(
        self,
        name: str,
        embedding_function: Optional[Callable[..., Any]] = None,
        data_loader: Optional[Callable[..., Any]] = None,
    ) -> AsyncCollection:
        """A handle by name without any I/O (the collection may not exist), for writers that
        must keep logging while every instance is away. Its description (id, metadata,
        configuration) is not read: ``await handle.refresh()`` reads it."""
        return AsyncCollection(self._sync.collection(name, embedding_function, data_loader), self, described=False)

    @property
    def metrics_address(self) -> Optional[str]:
        """Where the metrics listener is bound (None without one)."""
        return cast(Optional[str], self._sync.metrics_address)

    @property
    def log_id(self) -> str:
        """This client's write-ahead log id (read once, when the client is made, on a worker;
        then kept)."""
        return str(self._sync.log_id)

    # ---- replication ----

    async def status(self) -> Dict[str, Any]:
        """Health and progress, as :meth:`chromawal.Client.status`."""
        return cast(Dict[str, Any], await self._call("status"))

    async def status_prometheus(self) -> str:
        return str(await self._call("status_prometheus"))

    async def sync_now(self) -> None:
        """One sync pass over every instance."""
        await self._call("sync_now")

    async def wait_until_synced(self, timeout: float = 30.0) -> bool:
        """Waits (on a worker thread) until every instance is healthy and has applied every
        entry; False when the timeout (seconds) passes first."""
        return bool(await self._call("wait_until_synced", timeout))

    async def take_over_instances(self, reason: str) -> List[Dict[str, Any]]:
        """Records this client's log on every instance, as :meth:`chromawal.Client.take_over_instances`."""
        return cast(List[Dict[str, Any]], await self._call("take_over_instances", reason))

    async def replay_dead_letters(self) -> ReplayReport:
        """Applies each dead-lettered entry again, as :meth:`chromawal.Client.replay_dead_letters`."""
        return cast(ReplayReport, await self._call("replay_dead_letters"))

    async def verify(
        self,
        collection_name: str,
        a: Optional[Union[int, str]] = None,
        b: Optional[Union[int, str]] = None,
        page_size: int = 1000,
        max_listed: int = 100,
    ) -> VerifyReport:
        """Compares the stored records of a collection on two instances, as :meth:`chromawal.Client.verify`."""
        return cast(
            VerifyReport,
            await self._call("verify", collection_name, a, b, page_size=page_size, max_listed=max_listed),
        )


# ---------------------------------------------------------------------------------------------
# Factories


async def _open(
    make: Callable[[], Any],
    cls: Type[AsyncClientAPI],
    max_workers: Optional[int],
    executor: Optional[concurrent.futures.Executor],
) -> Any:
    # Makes the synchronous client on a worker of a new pool (its construction does I/O); on
    # failure (or cancellation) stops the pool and closes a client made all the same.
    runner = _Runner(max_workers, executor)
    made: List[Any] = []

    def construct() -> Any:
        client = make()
        made.append(client)
        return client

    def close_made() -> None:
        for c in made:
            c.close()

    try:
        sync = await runner.run(construct)
    except BaseException:
        await runner.shut_down(close_made)
        raise
    client = cls.__new__(cls)
    client._init(sync, runner, owns_runner=True)
    return client


async def AsyncHttpClient(
    host: str = "localhost",
    port: int = 8000,
    ssl: bool = False,
    headers: Optional[Mapping[str, str]] = None,
    settings: Any = None,
    tenant: str = DEFAULT_TENANT,
    database: str = DEFAULT_DATABASE,
    *,
    max_workers: Optional[int] = None,
    executor: Optional[concurrent.futures.Executor] = None,
    **options: Any,
) -> AsyncHttpClientAPI:
    """An async client for one Chroma server, like ``await chromadb.AsyncHttpClient(...)``.

    The arguments are :class:`chromawal.HttpClient`'s (``options``: its keywords
    ``connect_timeout``, ``request_timeout``, ``verify_tls``, ``ca_file``, ``allow_reset``),
    plus ``max_workers``, the size of the worker pool the client owns (default
    ``min(32, CPUs + 4)``), or ``executor``, a ``concurrent.futures.Executor`` to run the calls
    on instead (not stopped by ``close()``). Connects (checking the tenant and database) on a
    worker thread."""
    return cast(
        AsyncHttpClientAPI,
        await _open(
            lambda: HttpClient(host, port, ssl, headers, settings, tenant, database, **options),
            AsyncHttpClientAPI,
            max_workers,
            executor,
        ),
    )


async def AsyncClient(
    instances: Optional[Sequence[InstanceSpec]] = None,
    log_url: Optional[str] = None,
    *,
    max_workers: Optional[int] = None,
    executor: Optional[concurrent.futures.Executor] = None,
    **options: Any,
) -> AsyncReplicatedClientAPI:
    """An async client for two or more Chroma servers used as one, through the write-ahead log.

    The arguments are :class:`chromawal.Client`'s (``options``: its keywords ``write_quorum``,
    ``read_policy``, ``on_event``, ...; no arguments: the ``CHROMAWAL_*`` variables), plus
    ``max_workers`` or ``executor`` as for :func:`AsyncHttpClient`. Opens the log on a worker
    thread. ``on_event`` is called on the client's background threads, not on the event loop
    (use ``loop.call_soon_threadsafe`` to hand an event to it)."""

    def make() -> Client:
        client = Client(instances, log_url, **options)
        try:
            client.log_id  # read once here, off the event loop; kept by the client
        except Exception:  # noqa: BLE001 - the log is away: the property reads it when asked
            pass
        return client

    return cast(AsyncReplicatedClientAPI, await _open(make, AsyncReplicatedClientAPI, max_workers, executor))
