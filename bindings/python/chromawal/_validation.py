"""Normalisation and client-side validation, with the wording of chromadb's Python client
(chromadb/api/types.py and models/CollectionCommon.py, chromadb 1.5.9).

The checks that look at every value of a record (ids, documents, metadata) run in the
extension module while it converts them; this module handles the argument forms and the
checks on the shape of a call. Embeddings become ONE C-contiguous 2-D float32 numpy array.
"""
import functools
import json
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

import numpy as np
import numpy.typing as npt

from . import _chromawal
from .errors import InvalidArgumentError

T = TypeVar("T")

INCLUDE_VALUES = ("documents", "embeddings", "metadatas", "distances", "uris", "data")

_INCLUDE_BITS = {
    "documents": _chromawal.INCLUDE_DOCUMENTS,
    "embeddings": _chromawal.INCLUDE_EMBEDDINGS,
    "metadatas": _chromawal.INCLUDE_METADATAS,
    "distances": _chromawal.INCLUDE_DISTANCES,
    "uris": _chromawal.INCLUDE_URIS,
    "data": 0,  # client-side only: the data loader works on uris
}

_EMBEDDING_DTYPES = (np.float16, np.float32, np.float64, np.int32, np.int64)


def validation_context(name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """chromadb's decorator: appends " in {name}." to the message of any error raised."""

    def decorator(func: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> T:
            try:
                return func(*args, **kwargs)
            except Exception as e:
                msg = f"{str(e)} in {name}."
                e.args = (msg,) + e.args[1:] if e.args else ()
                raise

        return wrapper

    return decorator


def maybe_cast_one_to_many(target: Any) -> Optional[List[Any]]:
    if target is None:
        return None
    if isinstance(target, list):
        return target
    return [target]


# ---- embeddings ----


def _check_dtype(arr: npt.NDArray[Any], row: Any) -> None:
    if arr.dtype not in _EMBEDDING_DTYPES:
        raise ValueError(
            "Expected each value in the embedding to be a int or float, got an embedding with "
            f"{arr.dtype} - {row}"
        )


def _rows_of_arrays(target: List[Any]) -> npt.NDArray[Any]:
    for i, e in enumerate(target):
        if not isinstance(e, np.ndarray):
            raise ValueError(
                "Expected each embedding in the embeddings to be a numpy array, got "
                f"{list(set([type(x).__name__ for x in target]))}"
            )
        if e.ndim == 0:
            raise ValueError(f"Expected a 1-dimensional array, got a 0-dimensional array {e}")
        if e.size == 0:
            raise ValueError(
                "Expected each embedding in the embeddings to be a 1-dimensional numpy array with at least 1 "
                f"int/float value. Got a 1-dimensional numpy array with no values at pos {i}"
            )
        _check_dtype(e, e)
        if e.ndim != 1:
            raise ValueError(
                f"Expected each embedding in the embeddings to be a 1-dimensional numpy array, got {e.ndim} "
                f"dimensions at pos {i}"
            )
    dim = target[0].shape[0]
    if any(e.shape[0] != dim for e in target):
        raise InvalidArgumentError("Inconsistent dimensions in provided embeddings")
    out = np.empty((len(target), dim), dtype=np.float32)
    for i, e in enumerate(target):
        out[i] = e
    return out


def to_embedding_array(target: Any) -> Optional[npt.NDArray[Any]]:
    """chromadb's normalize_embeddings + validate_embeddings, producing one C-contiguous 2-D
    float32 array (no Python object per value)."""
    if target is None:
        return None
    try:
        empty = len(target) == 0
    except TypeError:
        empty = False
    if empty:
        raise ValueError(f"Expected Embeddings to be non-empty list or numpy array, got {target}")

    arr: Optional[npt.NDArray[Any]] = None
    if isinstance(target, np.ndarray):
        if target.ndim == 1:
            arr = target.reshape(1, -1)
        elif target.ndim == 2:
            arr = target
        if arr is not None:
            if arr.shape[1] == 0:
                raise ValueError(
                    "Expected each embedding in the embeddings to be a 1-dimensional numpy array with at least 1 "
                    "int/float value. Got a 1-dimensional numpy array with no values at pos 0"
                )
            _check_dtype(arr, arr[0])
            return np.ascontiguousarray(arr, dtype=np.float32)
    elif isinstance(target, list):
        first = target[0]
        if isinstance(first, (int, float)) and not isinstance(first, bool):
            # One embedding as a flat list.
            arr = np.array(target, dtype=np.float32)
            if arr.ndim != 1:
                raise ValueError(
                    "Expected embeddings to be a list of floats or ints, a list of lists, a numpy array, "
                    f"or a list of numpy arrays, got {target}"
                )
            return arr.reshape(1, -1)
        if isinstance(first, np.ndarray):
            return _rows_of_arrays(target)
        if isinstance(first, list):
            if len(first) == 0:
                raise ValueError(
                    "Expected each embedding in the embeddings to be a 1-dimensional numpy array with at least 1 "
                    "int/float value. Got a 1-dimensional numpy array with no values at pos 0"
                )
            if isinstance(first[0], (int, float)) and not isinstance(first[0], bool):
                dim = len(first)
                for row in target:
                    if not isinstance(row, (list, np.ndarray)) or len(row) != dim:
                        if isinstance(row, (list, np.ndarray)):
                            raise InvalidArgumentError("Inconsistent dimensions in provided embeddings")
                        break
                else:
                    arr = np.array(target, dtype=np.float32)
                    if arr.ndim == 2:
                        return arr
    raise ValueError(
        "Expected embeddings to be a list of floats or ints, a list of lists, a numpy array, "
        f"or a list of numpy arrays, got {target}"
    )


def embedding_count(arr: Optional[npt.NDArray[Any]]) -> Optional[int]:
    return None if arr is None else int(arr.shape[0])


# ---- record sets ----


def check_lengths(fields: Dict[str, Any]) -> None:
    """chromadb's _validate_record_set_length_consistency; `fields` in chromadb's key order,
    embeddings as a 2-D array (rows count)."""
    lengths = {k: len(v) for k, v in fields.items() if v is not None}
    if not lengths:
        raise ValueError(f"At least one of one of {', '.join(fields.keys())} must be provided")
    zero = [k for k, n in lengths.items() if n == 0]
    if zero:
        raise ValueError(f"Non-empty lists are required for {zero}")
    if len(set(lengths.values())) > 1:
        raise ValueError("Unequal lengths for fields: " + ", ".join(f"{k}: {n}" for k, n in lengths.items()))


# ---- filters ----

_WHERE_OPERATORS = ["$gt", "$gte", "$lt", "$lte", "$ne", "$eq", "$in", "$nin", "$contains", "$not_contains"]


def validate_where(where: Any) -> None:
    """chromadb's validate_where."""
    if not isinstance(where, dict):
        raise ValueError(f"Expected where to be a dict, got {where}")
    if len(where) != 1:
        raise ValueError(f"Expected where to have exactly one operator, got {where}")
    for key, value in where.items():
        if not isinstance(key, str):
            raise ValueError(f"Expected where key to be a str, got {key}")
        if key in ("$contains", "$not_contains"):
            raise ValueError(
                "Expected where key to be a metadata field name or a logical "
                f"operator ($and, $or), got {key}"
            )
        if key not in ("$and", "$or", "$in", "$nin") and not isinstance(value, (str, int, float, dict)):
            raise ValueError(f"Expected where value to be a str, int, float, or operator expression, got {value}")
        if key in ("$and", "$or"):
            if not isinstance(value, list):
                raise ValueError(
                    f"Expected where value for $and or $or to be a list of where expressions, got {value}"
                )
            if len(value) <= 1:
                raise ValueError(
                    "Expected where value for $and or $or to be a list with at least two where expressions, "
                    f"got {value}"
                )
            for expression in value:
                validate_where(expression)
        if isinstance(value, dict):
            if len(value) != 1:
                raise ValueError(f"Expected operator expression to have exactly one operator, got {value}")
            for operator, operand in value.items():
                if operator in ("$gt", "$gte", "$lt", "$lte"):
                    if not isinstance(operand, (int, float)):
                        raise ValueError(
                            f"Expected operand value to be an int or a float for operator {operator}, got {operand}"
                        )
                if operator in ("$in", "$nin"):
                    if not isinstance(operand, list):
                        raise ValueError(
                            f"Expected operand value to be an list for operator {operator}, got {operand}"
                        )
                if operator in ("$contains", "$not_contains"):
                    if key == "#document" and not isinstance(operand, str):
                        raise ValueError(
                            f"Expected operand value to be a str for operator {operator} on #document, got {operand}"
                        )
                    if not isinstance(operand, (str, int, float, bool)):
                        raise ValueError(
                            "Expected operand value to be a str, int, float, or bool for operator "
                            f"{operator}, got {operand}"
                        )
                if operator not in _WHERE_OPERATORS:
                    raise ValueError(
                        "Expected where operator to be one of $gt, $gte, $lt, $lte, $ne, $eq, $in, $nin, "
                        f"$contains, $not_contains, got {operator}"
                    )
                if not isinstance(operand, (str, int, float, bool, list)):
                    raise ValueError(
                        "Expected where operand value to be a str, int, float, bool, or list of those type, "
                        f"got {operand}"
                    )
                if isinstance(operand, list) and (
                    len(operand) == 0 or not all(isinstance(x, type(operand[0])) for x in operand)
                ):
                    raise ValueError(
                        "Expected where operand value to be a non-empty list, and all values to be of the same "
                        f"type got {operand}"
                    )


def validate_where_document(where_document: Any) -> None:
    """chromadb's validate_where_document."""
    if not isinstance(where_document, dict):
        raise ValueError(f"Expected where document to be a dictionary, got {where_document}")
    if len(where_document) != 1:
        raise ValueError(f"Expected where document to have exactly one operator, got {where_document}")
    for operator, operand in where_document.items():
        if operator not in ("$contains", "$not_contains", "$regex", "$not_regex", "$and", "$or"):
            raise ValueError(
                "Expected where document operator to be one of $contains, $not_contains, $regex, $not_regex, "
                f"$and, $or, got {operator}"
            )
        if operator in ("$and", "$or"):
            if not isinstance(operand, list):
                raise ValueError(
                    "Expected document value for $and or $or to be a list of where document expressions, "
                    f"got {operand}"
                )
            if len(operand) <= 1:
                raise ValueError(
                    "Expected document value for $and or $or to be a list with at least two where document "
                    f"expressions, got {operand}"
                )
            for expression in operand:
                validate_where_document(expression)
        elif not isinstance(operand, str):
            raise ValueError(
                f"Expected where document operand value for operator {operator} to be a str, got {operand}"
            )
        elif len(operand) == 0:
            raise ValueError(
                f"Expected where document operand value for operator {operator} to be a non-empty str"
            )


def filter_json(where: Any, where_document: Any) -> Tuple[Optional[str], Optional[str]]:
    """Validates both filters and returns their JSON text (None when not given)."""
    w = wd = None
    if where is not None:
        validate_where(where)
        # Not ASCII-escaped: a str with no UTF-8 form (a lone surrogate) must reach the
        # extension as such, which refuses it with ValidationError like any bad input.
        w = json.dumps(where, separators=(",", ":"), ensure_ascii=False)
    if where_document is not None:
        validate_where_document(where_document)
        wd = json.dumps(where_document, separators=(",", ":"), ensure_ascii=False)
    return w, wd


# ---- include, n_results, limits ----


def validate_include(include: Any, disallowed: Optional[List[str]] = None) -> None:
    """chromadb's validate_include."""
    if not isinstance(include, list):
        raise ValueError(f"Expected include to be a list, got {include}")
    for item in include:
        if not isinstance(item, str):
            raise ValueError(f"Expected include item to be a str, got {item}")
        if item not in INCLUDE_VALUES:
            raise ValueError(f"Expected include item to be one of {', '.join(INCLUDE_VALUES)}, got {item}")
        if disallowed is not None and item in disallowed:
            raise ValueError(f"Include item cannot be one of {', '.join(disallowed)}, got {item}")


def include_mask(include: Sequence[str]) -> int:
    mask = 0
    for item in include:
        mask |= _INCLUDE_BITS[item]
    if "data" in include:
        mask |= _INCLUDE_BITS["uris"]
    return mask


def validate_n_results(n_results: Any) -> int:
    """chromadb's validate_n_results (note: TypeError for a value <= 0, as chromadb)."""
    if not isinstance(n_results, int):
        raise ValueError(f"Expected requested number of results to be a int, got {n_results}")
    if n_results <= 0:
        raise TypeError(f"Number of requested results {n_results}, cannot be negative, or zero.")
    return n_results


def validate_limit(value: Any, what: str) -> Optional[int]:
    """limit / offset of get and list_collections: None or an int >= 0."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"Expected {what} to be a non-negative int, got {value}")
    if value < 0:
        raise ValueError(f"Expected {what} to be a non-negative int, got {value}")
    return value


def configuration_json(configuration: Optional[Dict[str, Any]]) -> Optional[str]:
    """A collection configuration dict as JSON (an embedding function object in it is not
    sent: chromawal computes embeddings client-side, in Python)."""
    if configuration is None:
        return None
    if not isinstance(configuration, dict):
        raise ValueError(f"Expected configuration to be a dict, got {configuration}")
    conf = {k: v for k, v in configuration.items() if k != "embedding_function"}
    if not conf:
        return None
    return json.dumps(conf, separators=(",", ":"))

