"""chromawal: two or more Chroma servers used as one, through a write-ahead log in PostgreSQL.

A drop-in replacement for the chromadb Python client::

    import chromawal
    client = chromawal.Client(
        instances=[("a", "http://10.0.0.1:8000"), ("b", "http://10.0.0.2:8000")],
        log_url="postgresql://chromawal@10.0.0.3/chromawal",
    )
    docs = client.get_or_create_collection("docs")
    docs.add(ids=["a1"], embeddings=[[0.1, 0.2, 0.3]], documents=["hello"], metadatas=[{"document_id": "d1"}])
    docs.query(query_embeddings=[0.1, 0.2, 0.3], n_results=5, where={"document_id": "d1"})

``chromawal.HttpClient(host, port, ...)`` is the same API on one server without a log.
``await chromawal.AsyncHttpClient(...)`` and ``await chromawal.AsyncClient(...)`` are the async
clients (chromadb's AsyncHttpClient API). See docs/python.md.
"""
from . import _chromawal
from ._async import (
    AsyncClient,
    AsyncClientAPI,
    AsyncCollection,
    AsyncHttpClient,
    AsyncHttpClientAPI,
    AsyncReplicatedClientAPI,
)
from ._client import Client, HttpClient
from ._collection import Collection
from .errors import (
    AuthorizationError,
    BatchSizeExceededError,
    ChromaAuthError,
    ChromaConnectionError,
    ChromaError,
    ChromaTimeoutError,
    DuplicateIDError,
    IDAlreadyExistsError,
    InternalError,
    InvalidArgumentError,
    InvalidDimensionException,
    LogConflictError,
    LogUnavailableError,
    NoInstanceAvailableError,
    NotFoundError,
    OutcomeUnknownError,
    QuorumNotReachedError,
    ReplicationError,
    UniqueConstraintError,
    ValidationError,
    VersionMismatchError,
    WriteRejectedError,
    _from_native,
)
from .types import (
    DEFAULT_DATABASE,
    DEFAULT_TENANT,
    DeleteResult,
    GetResult,
    Include,
    QueryResult,
    ReplayReport,
    VerifyReport,
    WriteReceipt,
)

_chromawal._set_error_factory(_from_native)

library_version = _chromawal.library_version
__version__ = library_version()  # the C++ library's, written once in include/chromawal/version.hpp

__all__ = [
    "Client",
    "HttpClient",
    "Collection",
    "AsyncHttpClient",
    "AsyncClient",
    "AsyncClientAPI",
    "AsyncHttpClientAPI",
    "AsyncReplicatedClientAPI",
    "AsyncCollection",
    "ChromaError",
    "AuthorizationError",
    "BatchSizeExceededError",
    "ChromaAuthError",
    "ChromaConnectionError",
    "ChromaTimeoutError",
    "DuplicateIDError",
    "IDAlreadyExistsError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidDimensionException",
    "LogConflictError",
    "LogUnavailableError",
    "NoInstanceAvailableError",
    "NotFoundError",
    "OutcomeUnknownError",
    "QuorumNotReachedError",
    "ReplicationError",
    "UniqueConstraintError",
    "ValidationError",
    "VersionMismatchError",
    "WriteRejectedError",
    "GetResult",
    "QueryResult",
    "DeleteResult",
    "WriteReceipt",
    "ReplayReport",
    "VerifyReport",
    "Include",
    "DEFAULT_TENANT",
    "DEFAULT_DATABASE",
    "library_version",
    "__version__",
]
