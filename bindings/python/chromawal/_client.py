"""Clients: chromawal.Client (two or more Chroma servers as one, through the write-ahead log)
and chromawal.HttpClient (one server, like chromadb.HttpClient)."""
import atexit
import json
import re
import threading
import weakref
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import _chromawal
from . import _compat
from . import _validation as v
from ._collection import Collection
from .errors import (
    ChromaConnectionError,
    ChromaError,
    NoInstanceAvailableError,
    NotFoundError,
)
from .types import DEFAULT_DATABASE, DEFAULT_TENANT, ReplayReport, VerifyReport

InstanceSpec = Union[str, Tuple[str, str], Tuple[str, str, str], Mapping[str, Any]]



def _headers_list(headers: Optional[Union[Mapping[str, str], Sequence[Tuple[str, str]]]]) -> List[Tuple[str, str]]:
    if headers is None:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    out = []
    for k, val in items:
        if not isinstance(k, str) or not isinstance(val, str):
            raise TypeError(f"Expected headers to map str to str, got {k!r}: {val!r}")
        out.append((k, val))
    return out


def _schema_json(schema: Any) -> Optional[str]:
    """A collection schema as the server takes it: chromadb's ``Schema`` (its
    ``serialize_to_json()``) or the same as a dict; the server refuses what it does not support."""
    if schema is None:
        return None
    if hasattr(schema, "serialize_to_json"):
        return json.dumps(schema.serialize_to_json())
    if isinstance(schema, dict):
        return json.dumps(schema)
    raise TypeError(f"Expected schema to be a chromadb Schema or a dict, got {type(schema).__name__}")


def _check_collection_args(embedding_function: Any, schema: Any) -> None:
    if embedding_function is not None and not callable(embedding_function):
        raise ValueError(f"Expected embedding_function to be callable, got {embedding_function}")


def _create_configuration(
    configuration: Optional[Dict[str, Any]], metadata: Optional[Dict[str, Any]], ef: Any
) -> Tuple[Optional[str], Any]:
    """The configuration JSON of a create, as chromadb 1.x sends it (the embedding function's
    name and config kept in it, so that either client can open the collection), and the
    embedding function the collection object uses."""
    if configuration is None:
        configuration = {}
    if not isinstance(configuration, dict):
        raise ValueError(f"Expected configuration to be a dict, got {configuration}")
    conf = dict(configuration)
    conf_ef = conf.get("embedding_function")
    if conf_ef is not None and not callable(conf_ef):
        raise ValueError(f"Expected the configuration's embedding_function to be callable, got {conf_ef}")
    _compat.check_conflict_on_create(ef, conf_ef)
    if ef is not None and conf_ef is None:
        conf["embedding_function"] = ef
    if not conf:
        return None, ef
    as_json = _compat.configuration_to_json(conf, metadata)
    return json.dumps(as_json, separators=(",", ":")), (ef if ef is not None else conf_ef)


def _persisted_ef(native: Any) -> Optional[Dict[str, Any]]:
    text = native.info().get("configuration_json") or "{}"
    conf = json.loads(text) if isinstance(text, str) else dict(text)
    ef = conf.get("embedding_function") if isinstance(conf, dict) else None
    return ef if isinstance(ef, dict) else None


def _check_persisted(native: Any, ef: Any) -> None:
    # Only a given, non-default embedding function can conflict (chromadb's rule); the
    # description is read only then.
    if ef is not None and not _compat.is_default_embedding_function(ef):
        _compat.check_conflict_on_get(ef, _persisted_ef(native))


class _ClientBase:
    """What both clients share: chromadb's collection calls on the client."""

    tenant: str = DEFAULT_TENANT
    database: str = DEFAULT_DATABASE
    _allow_reset: bool = False
    _split_batches: bool = True
    _max_batch_size: Optional[int] = None
    _native: Any  # the native client (_chromawal.HttpClient or ReplicatedClient)

    def _batch_limit(self) -> int:
        # The server's max batch size, asked once (chromadb asks on every write).
        if self._max_batch_size is None:
            self._max_batch_size = self.get_max_batch_size()
        return self._max_batch_size

    def get_max_batch_size(self) -> int:
        raise NotImplementedError

    # Implemented by each client.
    _native: Any  # the C++ client (HttpClient or ReplicatedClient of _chromawal)

    def _native_create(
        self,
        name: str,
        metadata: Any,
        configuration_json: Optional[str],
        get_or_create: bool,
        schema_json: Optional[str] = None,
    ) -> Any:
        return self._native.create_collection(name, metadata, configuration_json, get_or_create, schema_json)

    def _native_get(self, name: str) -> Any:
        return self._native.get_collection(name)

    def _wrap(self, native: Any, embedding_function: Any = None, data_loader: Any = None) -> Collection:
        # The native collection (either class: they have one API) holds what the Collection
        # needs; the client is passed only for Collection equality.
        return Collection(native, self, embedding_function, data_loader)

    def _names(self, limit: Optional[int], offset: int) -> List[str]:
        raise NotImplementedError

    # ---- collections ----

    def create_collection(
        self,
        name: str,
        configuration: Optional[Dict[str, Any]] = None,
        metadata: Optional[Dict[str, Any]] = None,
        embedding_function: Optional[Callable[..., Any]] = _compat.DEFAULT,
        data_loader: Optional[Callable[..., Any]] = None,
        get_or_create: bool = False,
        schema: Any = None,
    ) -> Collection:
        """Creates a collection (UniqueConstraintError, a ChromaError, when it exists, unless
        get_or_create). `configuration`: e.g. ``{"hnsw": {"space": "cosine"}}``; the legacy
        ``metadata={"hnsw:space": "cosine"}`` works too. `embedding_function` (any chromadb
        embedding function, or a callable ``f(input=[...]) -> embeddings``) computes embeddings
        client-side when documents are given without embeddings. As in chromadb, the embedding
        function's name and config are kept in the collection's configuration, and the default is
        chromadb's default embedding function when chromadb is importable (none without it)."""
        ef = _compat.resolve_embedding_function(embedding_function)
        _check_collection_args(ef, schema)
        conf, collection_ef = _create_configuration(configuration, metadata, ef)
        native = self._native_create(name, metadata, conf, bool(get_or_create), _schema_json(schema))
        if get_or_create:
            _check_persisted(native, ef)
        return self._wrap(native, collection_ef, data_loader)

    def get_or_create_collection(
        self,
        name: str,
        configuration: Optional[Dict[str, Any]] = None,
        metadata: Optional[Dict[str, Any]] = None,
        embedding_function: Optional[Callable[..., Any]] = _compat.DEFAULT,
        data_loader: Optional[Callable[..., Any]] = None,
        schema: Any = None,
    ) -> Collection:
        """The existing collection (metadata and configuration ignored; an embedding function
        other than the one it keeps raises chromadb's ValueError), or a new one."""
        return self.create_collection(
            name, configuration, metadata, embedding_function, data_loader, get_or_create=True, schema=schema
        )

    def get_collection(
        self,
        name: str,
        embedding_function: Optional[Callable[..., Any]] = _compat.DEFAULT,
        data_loader: Optional[Callable[..., Any]] = None,
    ) -> Collection:
        """An existing collection; NotFoundError when there is none. Without an embedding
        function, the one its configuration names is used (built by chromadb, when importable);
        another one than that raises chromadb's ValueError."""
        ef = _compat.resolve_embedding_function(embedding_function)
        _check_collection_args(ef, None)
        native = self._native_get(name)
        _check_persisted(native, ef)
        return self._wrap(native, ef, data_loader)

    def list_collections(self, limit: Optional[int] = None, offset: Optional[int] = None) -> List[Collection]:
        lim = v.validate_limit(limit, "limit")
        off = v.validate_limit(offset, "offset") or 0
        return self._list(lim, off)

    def _list(self, limit: Optional[int], offset: int) -> List[Collection]:
        raise NotImplementedError

    def count_collections(self) -> int:
        raise NotImplementedError

    def delete_collection(self, name: str) -> None:
        raise NotImplementedError

    def reset(self) -> bool:
        """Deletes every collection of this tenant and database, through the log (the replicated
        client; a server reset would bypass the log and the instances' record of it). Allowed
        only when the client was created with ``allow_reset=True``."""
        if not self._allow_reset:
            err = ChromaError("Reset is disabled by config")
            err.status = 403
            raise err
        for c in self.list_collections():
            try:
                self.delete_collection(c.name)
            except NotFoundError:
                pass
        return True

    # ---- private attributes of chromadb's Client that code (chromadb's own tests) reads ----

    @property
    def _server(self) -> Any:
        """chromadb's ``Client._server`` is the API object that makes the server calls (its
        ``FastAPI`` for an HTTP client, a ``SegmentAPI`` in-process); here the native client that
        makes chromawal's. A private-compatibility shim: chromadb's test invariants check
        ``isinstance(client._server, SegmentAPI)`` (an in-process server, which this never is)."""
        return self._native

    @property
    def _system(self) -> Any:
        """chromadb's ``Client._system`` reduced to what code reads of it: ``settings``, this
        client's :meth:`get_settings`. A private-compatibility shim."""
        return _compat.SystemView(self.get_settings())

    def get_settings(self) -> Any:
        raise NotImplementedError

    def __enter__(self) -> "_ClientBase":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------------------------
# One server


class HttpClient(_ClientBase):
    """A client for one Chroma server, with chromadb.HttpClient's arguments and methods.

    ``chromawal.HttpClient(host, port, ssl, headers, settings, tenant, database)`` connects
    like ``chromadb.HttpClient`` (and checks that the tenant and database exist). There is no
    log: use :class:`chromawal.Client` for replication. Thread-safe.

    ``split_batches`` (True): a write above the server's max batch size is split into several
    requests; False raises chromadb's ``ValueError("Batch size N exceeds maximum batch size M")``
    before anything is sent.
    """

    def __init__(
        self,
        host: str = "localhost",
        port: int = 8000,
        ssl: bool = False,
        headers: Optional[Mapping[str, str]] = None,
        settings: Any = None,
        tenant: str = DEFAULT_TENANT,
        database: str = DEFAULT_DATABASE,
        *,
        connect_timeout: float = 5.0,
        request_timeout: float = 30.0,
        verify_tls: bool = True,
        ca_file: Optional[str] = None,
        allow_reset: Optional[bool] = None,
        split_batches: bool = True,
    ) -> None:
        host = str(host)
        self._split_batches = bool(split_batches)
        port = int(port)
        ssl = bool(ssl)
        if "://" in host:
            base_url = host.rstrip("/")
            if not re.search(r":\d+$", base_url.split("://", 1)[1].split("/", 1)[0]):
                base_url = f"{base_url}:{port}"
        else:
            h = f"[{host}]" if ":" in host and not host.startswith("[") else host
            base_url = f"{'https' if ssl else 'http'}://{h}:{port}"
        if allow_reset is None:
            allow_reset = bool(getattr(settings, "allow_reset", False))
        self._allow_reset = allow_reset
        self._given_settings = settings
        self._options: Dict[str, Any] = {
            "base_url": base_url,
            "headers": _headers_list(headers),
            "connect_timeout": float(connect_timeout),
            "request_timeout": float(request_timeout),
            "verify_tls": bool(verify_tls),
            "ca_file": ca_file or "",
        }
        self._set(str(tenant), str(database))

    @classmethod
    def _from_native(cls, native: Any, allow_reset: bool = False) -> "HttpClient":
        self = cls.__new__(cls)
        opts = native.options()
        self._options = {"base_url": opts["base_url"]}
        self._given_settings = None
        self._native = native
        self.tenant = opts["tenant"]
        self.database = opts["database"]
        self._allow_reset = allow_reset
        return self

    def _make_native(self, tenant: str, database: str) -> Any:
        return _chromawal.HttpClient(dict(self._options, tenant=tenant, database=database))

    def _set(self, tenant: str, database: str) -> None:
        native = self._make_native(tenant, database)
        try:
            native.get_tenant(tenant)
            native.get_database(database)
        except ChromaConnectionError:
            raise ValueError("Could not connect to a Chroma server. Are you sure it is running?") from None
        self._native = native
        self.tenant = tenant
        self.database = database

    def set_tenant(self, tenant: str, database: str = DEFAULT_DATABASE) -> None:
        self._set(tenant, database)

    def set_database(self, database: str) -> None:
        self._set(self.tenant, database)

    @property
    def base_url(self) -> str:
        return str(self._options["base_url"])

    def __repr__(self) -> str:
        return f"HttpClient({self.base_url!r}, tenant={self.tenant!r}, database={self.database!r})"

    # ---- server ----

    def heartbeat(self) -> int:
        """The server's heartbeat in nanoseconds."""
        return int(self._native.heartbeat())

    def get_version(self) -> str:
        return str(self._native.version())

    def get_max_batch_size(self) -> int:
        return int(self._native.preflight()["max_batch_size"])

    def get_pre_flight_checks(self) -> Dict[str, Any]:
        return dict(self._native.preflight())

    def get_user_identity(self) -> Dict[str, Any]:
        return dict(self._native.identity())

    def reset(self) -> bool:
        """Resets the server (POST /reset: every tenant's data is deleted), as chromadb's
        HttpClient does. The server decides: one started without ``allow_reset`` refuses it
        (ChromaError "Reset is disabled by config")."""
        return bool(self._native.reset())

    def get_settings(self) -> Any:
        """The settings chromadb's HttpClient reports: a ``chromadb.config.Settings`` when
        chromadb is importable (the one passed as ``settings=``, updated as chromadb does), else
        a stand-in with the same fields (``chroma_server_host``, ``chroma_server_http_port``,
        ``chroma_server_ssl_enabled``, ``chroma_server_headers``, ``allow_reset``, ...)."""
        headers = dict(self._options.get("headers") or [])
        return _compat.settings_for(self.base_url, headers, self._allow_reset, self._given_settings)

    # ---- collections ----

    def get_collection_by_id(
        self,
        id: Any,
        embedding_function: Optional[Callable[..., Any]] = _compat.DEFAULT,
        data_loader: Optional[Callable[..., Any]] = None,
    ) -> Collection:
        ef = _compat.resolve_embedding_function(embedding_function)
        _check_collection_args(ef, None)
        native = self._native.get_collection_by_id(str(id))
        _check_persisted(native, ef)
        return self._wrap(native, ef, data_loader)

    def _list(self, limit: Optional[int], offset: int) -> List[Collection]:
        ef = _compat.resolve_embedding_function(_compat.DEFAULT)
        return [self._wrap(c, ef) for c in self._native.list_collections(limit, offset)]

    def count_collections(self) -> int:
        return int(self._native.count_collections())

    def delete_collection(self, name: str) -> None:
        self._native.delete_collection(name)

    # ---- databases and tenants (chromadb's AdminClient calls) ----

    def _for_tenant(self, tenant: Optional[str]) -> Any:
        if tenant is None or tenant == self.tenant:
            return self._native
        return self._make_native(tenant, self.database)

    def create_database(self, name: str, tenant: str = DEFAULT_TENANT) -> None:
        self._for_tenant(tenant).create_database(name)

    def get_database(self, name: str, tenant: str = DEFAULT_TENANT) -> Dict[str, Any]:
        return dict(self._for_tenant(tenant).get_database(name))

    def delete_database(self, name: str, tenant: str = DEFAULT_TENANT) -> None:
        self._for_tenant(tenant).delete_database(name)

    def list_databases(
        self, limit: Optional[int] = None, offset: Optional[int] = None, tenant: str = DEFAULT_TENANT
    ) -> List[Dict[str, Any]]:
        lim = v.validate_limit(limit, "limit")
        off = v.validate_limit(offset, "offset") or 0
        return [dict(d) for d in self._for_tenant(tenant).list_databases(lim, off)]

    def create_tenant(self, name: str) -> None:
        self._native.create_tenant(name)

    def get_tenant(self, name: str) -> Dict[str, Any]:
        return {"name": str(self._native.get_tenant(name))}


# ---------------------------------------------------------------------------------------------
# Replicated

_open_clients: "weakref.WeakSet[Client]" = weakref.WeakSet()
_open_lock = threading.Lock()


@atexit.register
def _close_all() -> None:
    # Stop background threads while the interpreter is still fully alive.
    with _open_lock:
        clients = list(_open_clients)
    for c in clients:
        try:
            c.close()
        except Exception:  # pragma: no cover - best effort at exit
            pass


def _name_from_url(url: str) -> str:
    host = url.split("://", 1)[-1].split("/", 1)[0]
    return re.sub(r"[^A-Za-z0-9._-]", "_", host) or "instance"


def _instances(
    instances: Sequence[InstanceSpec],
    headers: List[Tuple[str, str]],
    connect_timeout: float,
    request_timeout: float,
    verify_tls: bool,
    ca_file: Optional[str],
) -> List[Dict[str, Any]]:
    if isinstance(instances, (str, bytes)) or not isinstance(instances, (list, tuple)):
        raise TypeError(
            "Expected instances to be a list of URLs, (name, url) tuples or dicts, "
            f"got {type(instances).__name__}"
        )
    out: List[Dict[str, Any]] = []
    for i, spec in enumerate(instances):
        d: Dict[str, Any]
        if isinstance(spec, str):
            d = {"url": spec}
        elif isinstance(spec, (tuple, list)) and 2 <= len(spec) <= 3 and all(isinstance(x, str) for x in spec):
            d = {"name": spec[0], "url": spec[1]}
            if len(spec) == 3:
                d["role"] = spec[2]
        elif isinstance(spec, Mapping):
            d = dict(spec)
            if "url" not in d and "base_url" in d:
                d["url"] = d.pop("base_url")
            if "url" not in d:
                raise ValueError(f"Expected instances[{i}] to have a 'url', got {spec}")
        else:
            raise TypeError(f"Expected instances[{i}] to be a URL, a (name, url) tuple or a dict, got {spec!r}")
        url = str(d["url"]).rstrip("/")
        if "://" not in url:
            url = "http://" + url
        role = d.get("role")
        if role not in (None, "primary", "replica"):
            raise ValueError(f"Expected instances[{i}] role to be 'primary' or 'replica', got {role!r}")
        out.append(
            {
                "name": str(d.get("name") or _name_from_url(url)),
                "base_url": url,
                "role": role,
                "headers": _headers_list(d["headers"]) if d.get("headers") is not None else list(headers),
                "connect_timeout": float(d.get("connect_timeout", connect_timeout)),
                "request_timeout": float(d.get("request_timeout", request_timeout)),
                "verify_tls": bool(d.get("verify_tls", verify_tls)),
                "ca_file": d.get("ca_file", ca_file) or "",
            }
        )
    # The first instance is the primary unless a role is given.
    if out and not any(x["role"] == "primary" for x in out) and not any(x["role"] for x in out):
        out[0]["role"] = "primary"
    for x in out:
        x["role"] = x["role"] or "replica"
    return out


class Client(_ClientBase):
    """Two or more Chroma servers used as one, through a write-ahead log in PostgreSQL.

    A drop-in for ``chromadb.HttpClient``: the same collection calls, each write validated,
    appended to the log, applied to every healthy instance and replayed, in order, to any
    instance that missed it. Reads go to a healthy instance that has this client's last write.

    ``instances``: a list of URLs (``"http://10.0.0.1:8000"``), ``(name, url)`` tuples or
    dicts (``{"name", "url", "role": "primary"|"replica", "headers", "request_timeout", ...}``).
    Names key each instance's progress in the log: keep them stable (for a URL alone the name
    is derived from its host and port). The first instance is the primary unless roles are given.

    ``log_url``: the log. ``"sqlite:///abs/path.db"`` (or ``"sqlite:relative/path.db"``) is an
    SQLite file, for writers on one host; a PostgreSQL URI (``"postgresql://user@host/db"``) or
    libpq conninfo is for writers on several hosts. None: ``CHROMAWAL_LOG_URL``; when that is unset
    too, libpq's PG* variables if any is set, else an SQLite file in ``$XDG_STATE_HOME/chromawal/``
    (or ``~/.local/state/chromawal/``) named after the instance set, announced once by a
    ``log_default`` event. Construction opens the log and creates or migrates its schema; it
    does not need any Chroma instance to be up.

    ``metrics_address``: ``"127.0.0.1:9464"`` starts a listener in this process serving
    ``/metrics`` (Prometheus), ``/health`` and ``/status`` (port 0: a free one, see the
    ``metrics_address`` property). ``alert_webhook_url``: every event is POSTed there as JSON
    with a Slack-compatible ``text`` field, from a background queue; the URL is a secret and
    never printed. See docs/operations.md.

    ``split_batches`` (True): a write above the instances' smallest max batch size is one log
    entry applied in several requests; False raises chromadb's ``ValueError("Batch size N exceeds
    maximum batch size M")`` before anything is logged.

    ``max_in_flight_writes`` (8): the writes of one collection in flight at once, the window of
    the asynchronous writes (``collection.add_async`` and the others, which return a
    ``concurrent.futures.Future``). Concurrent writes to one collection, from several threads
    or in flight together, are appended to the log together and merged into one request per
    instance.

    Thread-safe. ``close()`` (or the end of a ``with`` block, or interpreter exit) stops the
    background threads; entries still pending stay in the log for the next client.
    """

    def __init__(
        self,
        instances: Optional[Sequence[InstanceSpec]] = None,
        log_url: Optional[str] = None,
        *,
        write_quorum: int = 1,
        ack_after_quorum: bool = False,
        max_in_flight_writes: int = 8,
        read_policy: str = "primary_preferred",
        replica_read_ratio: float = 0.8,
        queue_when_unavailable: bool = False,
        tenant: str = DEFAULT_TENANT,
        database: str = DEFAULT_DATABASE,
        headers: Optional[Mapping[str, str]] = None,
        log_schema: str = "chromawal",
        connect_timeout: float = 5.0,
        request_timeout: float = 30.0,
        verify_tls: bool = True,
        ca_file: Optional[str] = None,
        sync_interval: float = 0.5,
        health_interval: float = 1.0,
        down_after_failures: int = 2,
        up_after_successes: int = 3,
        min_down_time: float = 1.0,
        max_attempts: int = 8,
        retention_hours: int = 24 * 7,
        background_threads: bool = True,
        backlog_alert_threshold: int = 10000,
        on_event: Optional[Callable[[Dict[str, str]], None]] = None,
        metrics_address: Optional[str] = None,
        alert_webhook_url: Optional[str] = None,
        allow_reset: bool = False,
        split_batches: bool = True,
    ) -> None:
        self._allow_reset = bool(allow_reset)
        self._split_batches = bool(split_batches)
        self._headers = dict(_headers_list(headers))
        if instances is None:
            if log_url is not None:
                raise ValueError("Expected instances together with log_url (or neither, to read CHROMAWAL_* variables)")
            native = _chromawal.ReplicatedClient.from_env()
        else:
            if on_event is not None and not callable(on_event):
                raise TypeError("Expected on_event to be callable")
            for label, value in (
                ("write_quorum", write_quorum),
                ("max_in_flight_writes", max_in_flight_writes),
                ("down_after_failures", down_after_failures),
                ("up_after_successes", up_after_successes),
                ("max_attempts", max_attempts),
                ("retention_hours", retention_hours),
                ("backlog_alert_threshold", backlog_alert_threshold),
            ):
                if not isinstance(value, int) or isinstance(value, bool):
                    raise TypeError(f"Expected {label} to be an int, got {value!r}")
            if write_quorum < 1:
                raise ValueError(f"Expected write_quorum to be at least 1, got {write_quorum}")
            config = {
                "instances": _instances(
                    instances, _headers_list(headers), connect_timeout, request_timeout, verify_tls, ca_file
                ),
                "log_url": log_url or "",
                "log_schema": log_schema,
                "tenant": tenant,
                "database": database,
                "write_quorum": write_quorum,
                "ack_after_quorum": bool(ack_after_quorum),
                "max_in_flight_writes": max_in_flight_writes,
                "read_policy": read_policy,
                "replica_read_ratio": float(replica_read_ratio),
                "queue_when_unavailable": bool(queue_when_unavailable),
                "sync_interval": float(sync_interval),
                "health_interval": float(health_interval),
                "down_after_failures": down_after_failures,
                "up_after_successes": up_after_successes,
                "min_down_time": float(min_down_time),
                "max_attempts": max_attempts,
                "retention_hours": retention_hours,
                "background_threads": bool(background_threads),
                "backlog_alert_threshold": backlog_alert_threshold,
                "on_event": on_event,
                "metrics_address": metrics_address,
                "alert_webhook_url": alert_webhook_url,
            }
            native = _chromawal.ReplicatedClient(config)
        self._native = native
        self._instance_info = [dict(i) for i in native.instances()]
        self._direct = [native.instance(i) for i in range(len(self._instance_info))]
        try:
            self._check_tenant_and_database()
        except BaseException:
            native.close()
            raise
        with _open_lock:
            _open_clients.add(self)

    def _check_tenant_and_database(self) -> None:
        """NotFoundError (the server's) when the tenant or database does not exist, as chromadb's
        clients check at construction. The instances are asked in order (primary first) until
        one has both; the error is raised only when every instance that answered lacks one (an
        instance may lack a database another has while it catches up). When no instance answers
        (a degraded start), nothing is checked: the client starts, and a missing database shows
        as the server's error in the first call an instance answers."""
        missing: Optional[NotFoundError] = None
        for d in self._direct:
            try:
                d.get_tenant(self.tenant)
                d.get_database(self.database)
                return
            except NotFoundError as e:
                missing = missing or e
            except ChromaError:
                continue  # no answer (or an unusable one) from this instance: it decides nothing
        if missing is not None:
            raise missing

    @classmethod
    def from_env(cls, *, allow_reset: bool = False) -> "Client":
        """The configuration from CHROMAWAL_INSTANCES ("name=url,name=url"; the first is the
        primary), CHROMAWAL_LOG_URL, CHROMAWAL_WRITE_QUORUM, CHROMAWAL_READ_POLICY, ... (see
        docs/python.md)."""
        return cls(allow_reset=allow_reset)

    def close(self) -> None:
        """Stops the health monitor and the sync thread. Idempotent."""
        self._native.close()

    @property
    def closed(self) -> bool:
        return bool(self._native.closed)

    def __repr__(self) -> str:
        names = ", ".join(f"{i['name']}={i['url']}" for i in self._instance_info)
        return f"Client([{names}], tenant={self.tenant!r}, database={self.database!r})"

    # ---- instances ----

    @property
    def instances(self) -> List[Dict[str, Any]]:
        """The instances: name, url, primary."""
        return [dict(i) for i in self._instance_info]

    def _index(self, instance: Union[int, str]) -> int:
        if isinstance(instance, int):
            if not 0 <= instance < len(self._instance_info):
                raise IndexError(f"instance index {instance} out of range")
            return instance
        for i, info in enumerate(self._instance_info):
            if info["name"] == instance:
                return i
        raise KeyError(f"no instance named {instance!r}")

    def instance(self, instance: Union[int, str]) -> HttpClient:
        """A one-server client for one instance (by name or index), bypassing the log: for
        inspection and tests. Writes made through it are not replicated."""
        return HttpClient._from_native(self._direct[self._index(instance)])

    def _first_answer(self, what: str, f: Callable[[Any], Any]) -> Any:
        errors = []
        for i, d in enumerate(self._direct):
            try:
                return f(d)
            except ChromaConnectionError as e:
                errors.append(f"{self._instance_info[i]['name']}: {e}")
        raise NoInstanceAvailableError(f"{what}: no instance answered ({'; '.join(errors)})")

    def heartbeat(self) -> int:
        """The heartbeat (ns) of the first instance that answers (primary first)."""
        return int(self._first_answer("heartbeat", lambda d: d.heartbeat()))

    def get_version(self) -> str:
        return str(self._first_answer("get_version", lambda d: d.version()))

    def get_user_identity(self) -> Dict[str, Any]:
        """The caller as the first instance that answers (primary first) sees it."""
        return dict(self._first_answer("get_user_identity", lambda d: d.identity()))

    def get_settings(self) -> Any:
        """The settings chromadb's HttpClient would report for the primary instance (its host,
        port, TLS and this client's headers; ``allow_reset``): a ``chromadb.config.Settings``
        when chromadb is importable, else a stand-in with the same fields."""
        url = str(self._instance_info[0]["url"])
        return _compat.settings_for(url, self._headers, self._allow_reset)

    def get_max_batch_size(self) -> int:
        """The smallest max batch size among the instances that answer. chromawal splits
        larger batches itself, so this is informational."""
        sizes = []
        for d in self._direct:
            try:
                sizes.append(int(d.preflight()["max_batch_size"]))
            except ChromaConnectionError:
                pass
        if not sizes:
            raise NoInstanceAvailableError("get_max_batch_size: no instance answered")
        return min(sizes)

    # ---- collections ----

    def collection(
        self,
        name: str,
        embedding_function: Optional[Callable[..., Any]] = None,
        data_loader: Optional[Callable[..., Any]] = None,
    ) -> Collection:
        """A handle by name without any I/O (the collection may not exist): for writers that
        must keep logging while every instance is away (with queue_when_unavailable=True)."""
        return self._wrap(self._native.collection(name), embedding_function, data_loader)

    def get_collection_by_id(
        self,
        id: Any,
        embedding_function: Optional[Callable[..., Any]] = _compat.DEFAULT,
        data_loader: Optional[Callable[..., Any]] = None,
    ) -> Collection:
        """The collection whose UUID on any instance is `id` (each instance gives a collection
        its own UUID; the one ``collection.id`` shows, or any other instance's)."""
        key = str(id)
        errors = []
        for i, d in enumerate(self._direct):
            try:
                name = str(d.get_collection_by_id(key).name)
            except NotFoundError:
                continue
            except ChromaConnectionError as e:
                errors.append(f"{self._instance_info[i]['name']}: {e}")
                continue
            return self.get_collection(name, embedding_function=embedding_function, data_loader=data_loader)
        if errors:
            raise NoInstanceAvailableError(
                f"get_collection_by_id: no instance that answered knows {key} ({'; '.join(errors)})"
            )
        raise NotFoundError(f"Collection [{key}] does not exist.")

    def _list(self, limit: Optional[int], offset: int) -> List[Collection]:
        ef = _compat.resolve_embedding_function(_compat.DEFAULT)
        return [self._wrap(self._native.collection(n), ef) for n in self._native.list_collections(limit, offset)]

    def count_collections(self) -> int:
        return len(self._native.list_collections(None, 0))

    def delete_collection(self, name: str) -> None:
        """Deletes the collection on every instance, through the log."""
        self._native.delete_collection(name)

    def reset(self, wait: float = 30.0) -> bool:  # type: ignore[override]
        """As chromadb's: every instance's server resets (every tenant's data is deleted; a server
        started without ``allow_reset`` refuses). Refused client-side unless the client was made
        with ``allow_reset=True``. Not logged: made only once every instance is up and has applied
        every log entry (waited for up to ``wait`` seconds, else ``NoInstanceAvailableError`` and
        nothing is reset); nothing may write meanwhile. For tests."""
        if not self._allow_reset:
            err = ChromaError("Reset is disabled by config")
            err.status = 403
            raise err
        self._native.reset(float(wait))
        return True

    # ---- tenant and database of later calls; databases and tenants through the log ----

    @property
    def tenant(self) -> str:
        """The tenant of this client's later collection calls (``set_tenant``)."""
        return str(self._native.tenant)

    @property
    def database(self) -> str:
        """The database of this client's later collection calls (``set_database``)."""
        return str(self._native.database)

    def set_tenant(self, tenant: str, database: str = DEFAULT_DATABASE) -> None:
        """As chromadb's: later collection calls use this tenant and database (collections
        already obtained keep theirs). Both must exist (asked on a healthy instance)."""
        self.get_tenant(tenant)
        self.get_database(database, tenant=tenant)
        self._native.set_tenant(tenant, database)

    def set_database(self, database: str) -> None:
        self.get_database(database, tenant=self.tenant)
        self._native.set_database(database)

    def create_database(self, name: str, tenant: str = DEFAULT_TENANT) -> None:
        """Creates the database on every instance, through the log (an instance that is away
        gets it on recovery). Raises ``UniqueConstraintError``-like ``ChromaError`` when it
        exists, as chromadb."""
        self._native.create_database(name, tenant)

    def get_database(self, name: str, tenant: str = DEFAULT_TENANT) -> Dict[str, Any]:
        return dict(self._native.get_database(name, tenant))

    def delete_database(self, name: str, tenant: str = DEFAULT_TENANT) -> None:
        """Deletes the database (and its collections) on every instance, through the log: on each
        instance only after everything logged for its collections before is applied there."""
        self._native.delete_database(name, tenant)

    def list_databases(
        self, limit: Optional[int] = None, offset: Optional[int] = None, tenant: str = DEFAULT_TENANT
    ) -> List[Dict[str, Any]]:
        """The tenant's databases, from a healthy instance (without chromawal's own
        ``chromawal_meta``)."""
        lim = v.validate_limit(limit, "limit")
        off = v.validate_limit(offset, "offset") or 0
        return [dict(d) for d in self._native.list_databases(lim, off, tenant)]

    def create_tenant(self, name: str) -> None:
        """Creates the tenant on every instance, through the log."""
        self._native.create_tenant(name)

    def get_tenant(self, name: str) -> Dict[str, Any]:
        return {"name": str(self._native.get_tenant(name))}

    # ---- replication ----

    def status(self) -> Dict[str, Any]:
        """Health and progress: ``{"sync_running", "log": {"reachable", "pending", "applied",
        "rejected", "abandoned", "dead", "oldest_pending_age_seconds"}, "instances": [{"name",
        "url", "primary", "healthy", "last_error", "success_rate", "latency_ms", "applied",
        "lag_entries", "lag_seconds"}]}``."""
        return dict(json.loads(self._native.status_json()))

    def status_prometheus(self) -> str:
        """The status in Prometheus' text format (0.0.4, HELP and TYPE for every family): the
        same text as the metrics listener's ``/metrics``."""
        return str(self._native.status_prometheus())

    @property
    def metrics_address(self) -> Optional[str]:
        """Where the metrics listener (``metrics_address=``) is bound, ``"127.0.0.1:41234"``
        with the real port when port 0 was asked for; None without a listener."""
        address = str(self._native.metrics_address())
        return address or None

    def sync_now(self) -> None:
        """One synchronous sync pass over every instance (the background thread does this too)."""
        self._native.sync_now()

    def wait_until_synced(self, timeout: float = 30.0) -> bool:
        """Waits until every instance is healthy and has applied every entry; False when the
        timeout (seconds) passes first."""
        return bool(self._native.wait_until_synced(float(timeout)))

    @property
    def log_id(self) -> str:
        """This client's write-ahead log id (made once, when the log was created)."""
        return str(self._native.log_id())

    def take_over_instances(self, reason: str) -> List[Dict[str, Any]]:
        """Records this client's log on every instance, replacing another log's record, so that
        this log drives them and clients of the other log refuse to write (``LogConflictError``).
        Use it only when the other log is retired. Audited: each instance's record keeps the
        previous log, the time, the host and ``reason``. Returns one ``{"instance",
        "previous_log", "changed"}`` per instance."""
        if not isinstance(reason, str):
            raise TypeError(f"Expected reason to be a str, got {reason!r}")
        return [dict(d) for d in self._native.take_over_instances(reason)]

    def replay_dead_letters(self) -> ReplayReport:
        """Applies each entry dead-lettered on an instance to that instance again, under its lane
        lock (waited for at most the instance's request timeout).

        Returns counts: ``replayed`` (no longer dead letters), ``failed`` (failed again: still
        dead letters, with the new error, as ``chromawal status`` shows) and ``skipped`` (the lane stayed
        busy; unchanged, replay again later). Raises LogUnavailableError when the log is down."""
        r = self._native.replay_dead_letters()
        return ReplayReport(replayed=int(r["replayed"]), failed=int(r["failed"]), skipped=int(r["skipped"]))

    def verify(
        self,
        collection_name: str,
        a: Optional[Union[int, str]] = None,
        b: Optional[Union[int, str]] = None,
        page_size: int = 1000,
        max_listed: int = 100,
    ) -> VerifyReport:
        """Compares the stored records (ids, documents, metadata, embeddings bit for bit) of a
        collection on two instances (default: the first two). Returns a dict with
        ``identical``, record counts, ``only_in_a``, ``only_in_b``, ``different`` and a
        ``summary``."""
        if len(self._direct) < 2 and (a is None or b is None):
            raise ValueError("verify needs two instances")
        ia = self._index(0 if a is None else a)
        ib = self._index(1 if b is None else b)
        report = dict(_chromawal.verify(self._direct[ia], self._direct[ib], collection_name, page_size, max_listed))
        report["a"] = self._instance_info[ia]["name"]
        report["b"] = self._instance_info[ib]["name"]
        return report  # type: ignore[return-value]
