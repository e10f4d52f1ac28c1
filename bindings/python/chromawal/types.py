"""Result and argument types, shaped like chromadb's (chromadb.api.types)."""
import sys
from typing import Any, Dict, List, Mapping, Optional, Union

import numpy as np
import numpy.typing as npt

if sys.version_info >= (3, 8):
    from typing import Literal, TypedDict
else:  # pragma: no cover
    from typing_extensions import Literal, TypedDict

ID = str
IDs = List[ID]
Document = str
Documents = List[Optional[Document]]
URI = str
URIs = List[Optional[URI]]
MetadataValue = Union[str, int, float, bool, None, List[str], List[int], List[float], List[bool]]
Metadata = Dict[str, MetadataValue]
Metadatas = List[Optional[Metadata]]
# The one-or-many argument forms of chromadb (a single item, or a list).
OneOrManyIDs = Union[ID, List[ID]]
OneOrManyDocuments = Union[Document, List[Document], List[Optional[Document]]]
OneOrManyURIs = Union[URI, List[URI], List[Optional[URI]]]
OneOrManyMetadatas = Union[Mapping[str, Any], List[Dict[str, Any]], List[Optional[Dict[str, Any]]]]
Where = Dict[str, Any]
WhereDocument = Dict[str, Any]
IncludeItem = Literal["documents", "embeddings", "metadatas", "distances", "uris", "data"]
Include = List[IncludeItem]
# Accepted embedding forms: one vector (list of numbers or 1-D array), a list of vectors,
# a 2-D array, or a list of 1-D arrays.
Embeddings = Union[List[float], List[List[float]], npt.NDArray[Any], List[npt.NDArray[Any]]]


class GetResult(TypedDict):
    ids: List[ID]
    embeddings: Optional[npt.NDArray[np.float32]]  # 2-D float32 (rows x dim)
    documents: Optional[List[Optional[Document]]]
    uris: Optional[List[Optional[URI]]]
    data: Optional[Any]
    metadatas: Optional[List[Optional[Metadata]]]
    included: Include


class QueryResult(TypedDict):
    ids: List[List[ID]]
    embeddings: Optional[List[npt.NDArray[np.float32]]]  # one 2-D float32 array per query
    documents: Optional[List[List[Optional[Document]]]]
    uris: Optional[List[List[Optional[URI]]]]
    data: Optional[List[Any]]
    metadatas: Optional[List[List[Optional[Metadata]]]]
    distances: Optional[List[List[float]]]
    included: Include


class DeleteResult(TypedDict):
    deleted: Optional[int]


class WriteReceipt(TypedDict):
    position: int  # position in the collection's lane of the log
    entry_id: str  # the log entry's idempotency id
    applied: List[str]  # instances that applied it before the call returned
    queued: bool  # applied nowhere yet; pending for the sync thread


class ReplayReport(TypedDict):
    """What ``ReplicatedClient.replay_dead_letters()`` did with the dead letters it found."""

    replayed: int  #: applied again; no longer dead letters
    failed: int  #: failed again; still dead letters, with the new error (``chromawal status``)
    skipped: int  #: the lane stayed busy longer than the request timeout; unchanged, replay later


class VerifyReport(TypedDict):
    collection: str
    a: str
    b: str
    identical: bool
    exists_a: bool
    exists_b: bool
    records_a: int
    records_b: int
    only_in_a: List[str]
    only_in_b: List[str]
    different: List[str]
    summary: str


DEFAULT_TENANT = "default_tenant"
DEFAULT_DATABASE = "default_database"
