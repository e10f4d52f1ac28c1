"""Exception classes of chromawal.

The classes of chromadb's ``chromadb.errors`` are defined here under the same names, with the
same ``code()`` / ``name()`` / ``message()`` methods, so that code written against chromadb
catches the same errors. When the ``chromadb`` package is importable (the official client,
``chromadb`` or ``chromadb-client``), each of them is also a subclass of chromadb's class of the
same name: ``except chromadb.errors.NotFoundError`` catches chromawal's ``NotFoundError``, and
``except chromadb.errors.ChromaError`` catches every error chromawal raises for a failed
operation. (Importing chromadb costs about a second; chromawal does it once, at import.) Errors reported by a Chroma server are mapped by the server's error
name, as chromadb does (``{"error": "NotFoundError", ...}`` -> :class:`NotFoundError`), and
``str(e)`` is the server's message, as with chromadb.

chromawal adds:

* :class:`ValidationError` (a :class:`ValueError` *and* an :class:`InvalidArgumentError`):
  input that breaks a rule, found before anything was sent or logged, by checks that
  chromadb leaves to the server (empty ids, NaN embeddings, None metadata values in add...).
* :class:`ChromaConnectionError` / :class:`ChromaTimeoutError` (also the built-in
  ``ConnectionError`` / ``TimeoutError``): a server could not be reached or did not answer.
* The outcomes of replication, all :class:`ReplicationError`: :class:`LogUnavailableError`,
  :class:`OutcomeUnknownError`, :class:`NoInstanceAvailableError`, :class:`WriteRejectedError`, :class:`QuorumNotReachedError`, :class:`LogConflictError`.

Every :class:`ChromaError` raised by chromawal has the attributes ``status`` (HTTP status or
None), ``error_name`` (Chroma's error name or None), ``server_message``, ``trace_id`` (the
server's ``chroma-trace-id`` response header of an error the server answered, as chromadb's;
None otherwise) and ``detail`` (the full description from the C++ library, with the operation
and the server it concerns).
"""
from typing import Any, Callable, Dict, Optional, Tuple, Type, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])


def _override(f: _F) -> _F:
    """Marks a method as an override, as the ``overrides`` package's decorator does: chromadb's
    error classes check it (EnforceOverrides) when a subclass is created."""
    f.__override__ = True  # type: ignore[attr-defined]
    return f


_chromadb_errors: Any = None
try:  # The official client, when installed: its error classes become our bases.
    from chromadb import errors as _chromadb_errors  # type: ignore[no-redef]
except Exception:  # not installed, or broken: chromawal's own hierarchy alone
    _chromadb_errors = None


def _also(name: str) -> Tuple[type, ...]:
    """chromadb's class `name`, as an extra base, when chromadb is importable and has it."""
    cls = getattr(_chromadb_errors, name, None) if _chromadb_errors is not None else None
    return (cls,) if isinstance(cls, type) else ()

__all__ = [
    "ChromaError",
    "InvalidDimensionException",
    "IDAlreadyExistsError",
    "ChromaAuthError",
    "DuplicateIDError",
    "InvalidArgumentError",
    "InvalidUUIDError",
    "InvalidHTTPVersion",
    "AuthorizationError",
    "NotFoundError",
    "UniqueConstraintError",
    "BatchSizeExceededError",
    "VersionMismatchError",
    "InternalError",
    "RateLimitError",
    "BackoffError",
    "QuotaError",
    "StaleReadError",
    "ValidationError",
    "ChromaConnectionError",
    "ChromaTimeoutError",
    "ReplicationError",
    "LogConflictError",
    "LogUnavailableError",
    "OutcomeUnknownError",
    "NoInstanceAvailableError",
    "WriteRejectedError",
    "QuorumNotReachedError",
    "error_types",
]


class ChromaError(*(_also("ChromaError") or (Exception,))):  # type: ignore[misc]
    """Base of every error chromawal raises for a failed operation (as chromadb's; a
    ``chromadb.errors.ChromaError`` when chromadb is importable)."""

    trace_id: Optional[str] = None
    status: Optional[int] = None
    error_name: Optional[str] = None
    server_message: Optional[str] = None
    detail: Optional[str] = None

    _code: int = 400
    _name: str = "ChromaError"

    @_override
    def code(self) -> int:
        """An appropriate HTTP status for this error (chromadb's, per class)."""
        return self._code

    @_override
    def message(self) -> str:
        return ", ".join(str(a) for a in self.args)

    @classmethod
    @_override
    def name(cls) -> str:
        """The error's name (chromadb's, per class)."""
        return cls._name


class InvalidDimensionException(ChromaError, *_also("InvalidDimensionException")):  # type: ignore[misc]
    _code = 400
    _name = "InvalidDimension"


class IDAlreadyExistsError(ChromaError, *_also("IDAlreadyExistsError")):  # type: ignore[misc]
    _code = 409
    _name = "IDAlreadyExists"


class ChromaAuthError(ChromaError, *_also("ChromaAuthError")):  # type: ignore[misc]
    _code = 403
    _name = "AuthError"

    @_override
    def message(self) -> str:
        return "Forbidden"  # chromadb's


class DuplicateIDError(ChromaError, *_also("DuplicateIDError")):  # type: ignore[misc]
    _code = 400
    _name = "DuplicateID"


class InvalidArgumentError(ChromaError, *_also("InvalidArgumentError")):  # type: ignore[misc]
    _code = 400
    _name = "InvalidArgument"


class InvalidUUIDError(ChromaError, *_also("InvalidUUIDError")):  # type: ignore[misc]
    _code = 400
    _name = "InvalidUUID"


class InvalidHTTPVersion(ChromaError, *_also("InvalidHTTPVersion")):  # type: ignore[misc]
    _code = 400
    _name = "InvalidHTTPVersion"


class AuthorizationError(ChromaError, *_also("AuthorizationError")):  # type: ignore[misc]
    _code = 401
    _name = "AuthorizationError"


class NotFoundError(ChromaError, *_also("NotFoundError")):  # type: ignore[misc]
    _code = 404
    _name = "NotFoundError"


class UniqueConstraintError(ChromaError, *_also("UniqueConstraintError")):  # type: ignore[misc]
    _code = 409
    _name = "UniqueConstraintError"


class BatchSizeExceededError(ChromaError, *_also("BatchSizeExceededError")):  # type: ignore[misc]
    _code = 413
    _name = "BatchSizeExceededError"


class VersionMismatchError(ChromaError, *_also("VersionMismatchError")):  # type: ignore[misc]
    _code = 500
    _name = "VersionMismatchError"


class InternalError(ChromaError, *_also("InternalError")):  # type: ignore[misc]
    _code = 500
    _name = "InternalError"


class RateLimitError(ChromaError, *_also("RateLimitError")):  # type: ignore[misc]
    _code = 429
    _name = "RateLimitError"


class BackoffError(ChromaError, *_also("BackoffError")):  # type: ignore[misc]
    _code = 429
    _name = "Backoff"


class QuotaError(ChromaError, *_also("QuotaError")):  # type: ignore[misc]
    _code = 400
    _name = "QuotaError"


class StaleReadError(ChromaError, *_also("StaleReadError")):  # type: ignore[misc]
    _code = 412
    _name = "StaleReadError"


# chromadb's table from the server's error name to the class.
error_types: Dict[str, Type[ChromaError]] = {
    "InvalidDimension": InvalidDimensionException,
    "InvalidArgumentError": InvalidArgumentError,
    "IDAlreadyExists": IDAlreadyExistsError,
    "DuplicateID": DuplicateIDError,
    "InvalidUUID": InvalidUUIDError,
    "InvalidHTTPVersion": InvalidHTTPVersion,
    "AuthorizationError": AuthorizationError,
    "NotFoundError": NotFoundError,
    "BatchSizeExceededError": BatchSizeExceededError,
    "VersionMismatchError": VersionMismatchError,
    "RateLimitError": RateLimitError,
    "Backoff": BackoffError,
    "AuthError": ChromaAuthError,
    "UniqueConstraintError": UniqueConstraintError,
    "QuotaError": QuotaError,
    "StaleReadError": StaleReadError,
    "InternalError": InternalError,
    "ChromaError": ChromaError,
}


# ---- chromawal's own ----


class ValidationError(InvalidArgumentError, ValueError):
    """The input broke a rule, found before any request was sent or anything was logged.

    Both a ValueError (what chromadb raises for its client-side checks) and an
    InvalidArgumentError (what chromadb gets from the server for the checks it leaves to
    the server)."""

    _code = 400
    _name = "InvalidArgumentError"


class ChromaConnectionError(ChromaError, ConnectionError):
    """A Chroma server could not be reached, or the connection broke before a full answer.
    A write that failed this way may or may not have been applied, unless ``request_sent`` is
    False (the request certainly never reached the server)."""

    request_sent: bool = True
    _code = 503
    _name = "ConnectionError"


class ChromaTimeoutError(ChromaConnectionError, TimeoutError):
    """No complete answer within the request timeout (a hung or overloaded server)."""

    _code = 504
    _name = "TimeoutError"


class ReplicationError(ChromaError):
    """Base of the outcomes of the replicated write path."""

    _code = 503
    _name = "ReplicationError"


class LogUnavailableError(ReplicationError):
    """The write-ahead log (PostgreSQL) could not be reached: nothing was logged or applied.
    Retry later."""

    _code = 503
    _name = "LogUnavailableError"


class OutcomeUnknownError(ReplicationError):
    """What became of a write is not known: the log store went away at a step that cannot be
    undone (committing the entry, or abandoning it). ``entry_id`` names the log entry (the
    ``idempotency_key`` when the write carried one); ``position`` is its log position when it is
    known to be logged, else 0. Retrying with the same ``idempotency_key`` is safe; a retry
    without one may apply the write twice."""

    entry_id: str = ""
    position: int = 0
    _code = 503
    _name = "OutcomeUnknownError"


class NoInstanceAvailableError(ReplicationError):
    """No instance could apply a logged write (or serve a read).

    ``queued`` is True when the write stays pending in the log and will be applied when an
    instance returns (``queue_when_unavailable=True``; a request that was sent and got no
    answer, so that it may have been applied; or a read that waits for this client's last
    write); False when the write reached no instance and the entry was abandoned: it will never
    be applied.
    ``position`` is the entry's position in its collection's lane of the log."""

    queued: bool = False
    position: int = 0
    _code = 503
    _name = "NoInstanceAvailableError"


class WriteRejectedError(ReplicationError):
    """An instance rejected a logged write as invalid (e.g. a dimension mismatch); the entry
    is marked rejected and never replayed. The instance's error is also raised as its chromadb
    class: ``except InvalidArgumentError`` catches a rejected dimension mismatch too."""

    _code = 400
    _name = "WriteRejectedError"


class QuorumNotReachedError(ReplicationError):
    """The write is logged and was applied to fewer instances than ``write_quorum``. It stays
    pending and is applied when the instances return: do not retry it.
    ``position``: its log position; ``applied_count``: how many instances applied it."""

    position: int = 0
    applied_count: int = 0
    _code = 503
    _name = "QuorumNotReachedError"


class LogConflictError(ReplicationError):
    """An instance is recorded for another write-ahead log than this client's: two logs
    driving one instance set would diverge, so the write was refused and nothing was logged.
    Fix the configuration, or take the instances over for this log
    (``ReplicatedClient.take_over_instances(reason)``, ``chromawal takeover``)."""

    _code = 409
    _name = "LogConflictError"


_rejected_classes: Dict[Type[ChromaError], Type[WriteRejectedError]] = {}


def _write_rejected_class(base: Type[ChromaError]) -> Type[WriteRejectedError]:
    """WriteRejectedError that is also `base` (the chromadb class of the server's error)."""
    if base is ChromaError:
        return WriteRejectedError
    cls = _rejected_classes.get(base)
    if cls is None:
        cls = type(
            "WriteRejected" + base.__name__,
            (WriteRejectedError, base),
            {"__module__": __name__, "__doc__": WriteRejectedError.__doc__},
        )
        _rejected_classes[base] = cls
    return cls


def _server_class(kind: str, status: Optional[int], error_name: Optional[str]) -> Type[ChromaError]:
    if kind == "not_found":
        return NotFoundError
    if kind == "already_exists":
        return UniqueConstraintError
    cls = error_types.get(error_name or "")
    if cls is not None and cls is not ChromaError:
        return cls
    if kind == "server_error" and (cls is None):
        return InternalError
    return ChromaError


def _from_native(
    kind: str,
    message: str,
    status: Optional[int] = None,
    error_name: Optional[str] = None,
    server_message: Optional[str] = None,
    queued: Optional[bool] = None,
    position: Optional[int] = None,
    applied_count: Optional[int] = None,
    request_sent: Optional[bool] = None,
    entry_id: Optional[str] = None,
    trace_id: Optional[str] = None,
) -> BaseException:
    """Builds the Python exception for a C++ exception (called by the extension module)."""
    exc: ChromaError
    if kind == "invalid_argument":
        cls: Type[ChromaError] = (
            DuplicateIDError if message.startswith("Expected IDs to be unique") else ValidationError
        )
        exc = cls(message)
    elif kind in ("not_found", "already_exists", "server_rejected", "server_error", "write_rejected"):
        base = _server_class(kind, status, error_name)
        cls = _write_rejected_class(base) if kind == "write_rejected" else base
        exc = cls(server_message or message)
        exc.status = status
        exc.error_name = error_name or None
        exc.server_message = server_message
        if trace_id:  # the server's chroma-trace-id header, as chromadb keeps it
            exc.trace_id = trace_id
    elif kind in ("timeout", "connection"):
        ce = ChromaTimeoutError(message) if kind == "timeout" else ChromaConnectionError(message)
        ce.request_sent = True if request_sent is None else bool(request_sent)
        exc = ce
    elif kind == "log_unavailable":
        exc = LogUnavailableError(message)
    elif kind == "outcome_unknown":
        ou = OutcomeUnknownError(message)
        ou.entry_id = entry_id or ""
        ou.position = int(position or 0)
        exc = ou
    elif kind == "no_instance_available":
        nia = NoInstanceAvailableError(message)
        nia.queued = bool(queued)
        nia.position = int(position or 0)
        exc = nia
    elif kind == "log_conflict":
        exc = LogConflictError(message)
    elif kind == "quorum_not_reached":
        q = QuorumNotReachedError(message)
        q.position = int(position or 0)
        q.applied_count = int(applied_count or 0)
        exc = q
    else:
        exc = ChromaError(message)
    exc.detail = message
    return exc
