"""What chromawal takes from the official ``chromadb`` client when it is importable, and the
stand-ins it uses when it is not: the settings object (``get_settings()``), the collection model
(``collection._model`` / ``get_model()``), and the parsing of a collection's configuration and
schema. With chromadb installed these are chromadb's own types, so code written against it (and
its tests) sees what it expects; without it, small classes with the same attribute and item
access."""
import json
import uuid
from typing import Any, Dict, Iterator, Mapping, Optional, Tuple, cast
from urllib.parse import urlsplit

try:  # the official client (``chromadb`` or ``chromadb-client``), when installed
    from chromadb.config import Settings as _ChromadbSettings  # type: ignore[import-not-found]
    from chromadb.types import Collection as _ChromadbModel  # type: ignore[import-not-found]
    from chromadb.api.collection_configuration import (  # type: ignore[import-not-found]
        load_collection_configuration_from_json as _load_configuration,
    )
    from chromadb.api.collection_configuration import (  # type: ignore[import-not-found]
        create_collection_configuration_to_json as _configuration_to_json,
        validate_embedding_function_conflict_on_create as _conflict_on_create,
        validate_embedding_function_conflict_on_get as _conflict_on_get,
    )
    from chromadb.api.types import Schema as _ChromadbSchema  # type: ignore[import-not-found]
    from chromadb.utils.embedding_functions import (  # type: ignore[import-not-found]
        DefaultEmbeddingFunction as _DefaultEmbeddingFunction,
    )
except Exception:  # not installed, or a version without these: the stand-ins below
    _ChromadbSettings = None
    _ChromadbModel = None
    _load_configuration = None
    _ChromadbSchema = None
    _configuration_to_json = None
    _conflict_on_create = None
    _conflict_on_get = None
    _DefaultEmbeddingFunction = None

HAVE_CHROMADB = _ChromadbModel is not None

_FASTAPI = "chromadb.api.fastapi.FastAPI"


class Settings:
    """A stand-in for ``chromadb.config.Settings`` when chromadb is not installed: the fields
    that describe an HTTP client, by attribute (``s.chroma_server_http_port``) and by item
    (``s["allow_reset"]``)."""

    chroma_api_impl: str = _FASTAPI
    chroma_server_host: Optional[str] = None
    chroma_server_http_port: Optional[int] = None
    chroma_server_ssl_enabled: Optional[bool] = False
    chroma_server_ssl_verify: Optional[Any] = None
    chroma_server_headers: Optional[Dict[str, str]] = None
    allow_reset: bool = False
    is_persistent: bool = False
    persist_directory: str = "./chroma"

    def __init__(self, **fields: Any) -> None:
        for k, val in fields.items():
            setattr(self, k, val)

    def __getitem__(self, key: str) -> Any:
        if not hasattr(self, key):
            raise ValueError(f"Invalid setting: {key}")
        return getattr(self, key)

    def __repr__(self) -> str:
        # The headers may carry a token: shown by name only.
        headers = sorted((self.chroma_server_headers or {}).keys())
        return (
            f"Settings(chroma_api_impl={self.chroma_api_impl!r}, chroma_server_host={self.chroma_server_host!r}, "
            f"chroma_server_http_port={self.chroma_server_http_port!r}, "
            f"chroma_server_ssl_enabled={self.chroma_server_ssl_enabled!r}, headers={headers}, "
            f"allow_reset={self.allow_reset!r})"
        )


class SystemView:
    """What code reads of chromadb's ``System`` (a client's ``_system``): its ``settings``. A
    private-compatibility shim: chromawal has no System (no in-process components)."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def __repr__(self) -> str:
        return f"SystemView(settings={self.settings!r})"


def _host_port_ssl(base_url: str) -> Tuple[str, Optional[int], bool]:
    parts = urlsplit(base_url)
    ssl = parts.scheme == "https"
    port = parts.port if parts.port is not None else (443 if ssl else 80)
    return parts.hostname or "", port, ssl


def settings_for(
    base_url: str, headers: Optional[Mapping[str, str]], allow_reset: bool, given: Any = None
) -> Any:
    """The settings chromadb's HttpClient would report for a client of `base_url`: chromadb's
    Settings when it is installed (`given`, the caller's own settings object, updated as chromadb
    does), else the stand-in."""
    host, port, ssl = _host_port_ssl(base_url)
    fields: Dict[str, Any] = {
        "chroma_api_impl": _FASTAPI,
        "chroma_server_host": host,
        "chroma_server_http_port": port,
        "chroma_server_ssl_enabled": ssl,
        "chroma_server_headers": dict(headers) if headers else None,
        "allow_reset": bool(allow_reset),
    }
    if _ChromadbSettings is not None:
        settings = given if isinstance(given, _ChromadbSettings) else _ChromadbSettings()
        for k, val in fields.items():
            setattr(settings, k, val)
        return settings
    return Settings(**fields)


def _parse_json(text: Any) -> Optional[Dict[str, Any]]:
    if text is None or text == "":
        return None
    if isinstance(text, str):
        value = json.loads(text)
        return value if isinstance(value, dict) else None
    return dict(text)


class CollectionModel:
    """A stand-in for chromadb's collection model (``chromadb.types.Collection``) when chromadb
    is not installed: ``id``, ``name``, ``configuration_json``, ``serialized_schema``,
    ``metadata``, ``dimension``, ``tenant``, ``database``, ``version``, ``log_position``, by
    attribute and by item (``model["id"]``; an unknown key gives None, as chromadb's)."""

    _fields = (
        "id",
        "name",
        "configuration_json",
        "serialized_schema",
        "metadata",
        "dimension",
        "tenant",
        "database",
        "version",
        "log_position",
    )

    def __init__(self, **fields: Any) -> None:
        for k in self._fields:
            setattr(self, k, fields.get(k))

    def __getitem__(self, key: str) -> Any:
        if key == "configuration":
            return self.get_configuration()
        return getattr(self, key) if key in self._fields else None

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self._fields:
            raise KeyError(key)
        setattr(self, key, value)

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def keys(self) -> Tuple[str, ...]:
        return self._fields

    def get_configuration(self) -> Dict[str, Any]:
        return dict(self.configuration_json or {})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CollectionModel):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self._fields)

    def __repr__(self) -> str:
        return "CollectionModel(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in self._fields) + ")"


def collection_model(info: Mapping[str, Any]) -> Any:
    """chromadb's collection model (or the stand-in) from the native description."""
    fields: Dict[str, Any] = {
        "id": uuid.UUID(str(info["id"])),
        "name": str(info["name"]),
        "configuration_json": _parse_json(info.get("configuration_json")) or {},
        "serialized_schema": _parse_json(info.get("serialized_schema")),
        "metadata": info.get("metadata"),
        "dimension": info.get("dimension"),
        "tenant": str(info.get("tenant") or ""),
        "database": str(info.get("database") or ""),
        "version": int(info.get("version") or 0),
        "log_position": int(info.get("log_position") or 0),
    }
    if _ChromadbModel is not None:
        return _ChromadbModel(**fields)
    return CollectionModel(**fields)


def configuration_of(configuration_json: Dict[str, Any]) -> Any:
    """A collection's configuration as chromadb parses it (its embedding function
    instantiated), or the JSON as it is without chromadb."""
    if _load_configuration is not None:
        return _load_configuration(configuration_json)
    return configuration_json


def schema_of(serialized: Optional[Dict[str, Any]]) -> Any:
    """A collection's schema as chromadb parses it, or the JSON (None when the server gave
    none) without chromadb."""
    if _ChromadbSchema is not None:
        return _ChromadbSchema.deserialize_from_json(serialized if serialized else {})
    return serialized


# ---- embedding functions, as chromadb 1.x keeps them in the collection configuration ----


class _Default:
    """The default of the ``embedding_function`` arguments: chromadb's DefaultEmbeddingFunction
    when chromadb is importable (as chromadb's own default), else none."""

    def __repr__(self) -> str:
        return "DefaultEmbeddingFunction"


DEFAULT: Any = _Default()


def resolve_embedding_function(ef: Any) -> Any:
    """The embedding function an argument stands for (DEFAULT: chromadb's default one, or None
    without chromadb)."""
    if ef is DEFAULT:
        return _DefaultEmbeddingFunction() if _DefaultEmbeddingFunction is not None else None
    return ef


def _ef_name(ef: Any) -> Optional[str]:
    name = getattr(ef, "name", None)
    if not callable(name):
        return None
    try:
        value = name()
    except Exception:
        return None
    return value if isinstance(value, str) else None


def is_default_embedding_function(ef: Any) -> bool:
    return ef is not None and _ef_name(ef) == "default"


def _ef_json(ef: Any) -> Dict[str, Any]:
    # chromadb 1.x's form: {"type": "known", "name", "config"} for an embedding function that
    # can describe itself (name() and get_config(), not is_legacy()), else {"type": "legacy"}.
    name = _ef_name(ef)
    legacy = getattr(ef, "is_legacy", None)
    get_config = getattr(ef, "get_config", None)
    try:
        if name is None or not callable(get_config) or (callable(legacy) and legacy()):
            return {"type": "legacy"}
        return {"name": name, "type": "known", "config": get_config()}
    except Exception:
        return {"type": "legacy"}


def configuration_to_json(configuration: Dict[str, Any], metadata: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """A create configuration (with its embedding function object, if any) as the JSON chromadb
    sends: chromadb's own conversion when it is importable (its checks, e.g. hnsw and spann
    together, and its warnings), else the same shape."""
    if _configuration_to_json is not None:
        return cast(Dict[str, Any], _configuration_to_json(configuration, metadata))
    hnsw = configuration.get("hnsw")
    spann = configuration.get("spann")
    if hnsw is not None and spann is not None:
        raise ValueError("hnsw and spann cannot both be provided")
    ef = configuration.get("embedding_function")
    if ef is None:
        return {"hnsw": hnsw, "spann": spann, "embedding_function": {"type": "legacy"}}
    ef_json = _ef_json(ef)
    if ef_json["type"] == "known":
        default_space = getattr(ef, "default_space", None)
        space = default_space() if callable(default_space) else None
        if space is not None:
            if hnsw is None and spann is None and (metadata is None or metadata.get("hnsw:space") is None):
                hnsw = {"space": space}
            for index in (hnsw, spann):
                if index is not None and index.get("space") is None:
                    index["space"] = space
    return {"hnsw": hnsw, "spann": spann, "embedding_function": ef_json}


def check_conflict_on_create(ef: Any, configuration_ef: Any) -> None:
    """chromadb's ValueError when an embedding function is given both as an argument and in the
    configuration, and they differ. A plain callable (no ``name()``) cannot conflict."""
    if _ef_name(ef) is None or _ef_name(configuration_ef) is None:
        return
    if _conflict_on_create is not None:
        _conflict_on_create(ef, configuration_ef)
        return
    if ef is not None and configuration_ef is not None:
        name, other = _ef_name(ef), _ef_name(configuration_ef)
        if name != "default" and name != other:
            raise ValueError(
                "Multiple embedding functions provided. Please provide only one. "
                f"Embedding function conflict: {name} vs {other}"
            )


def check_conflict_on_get(ef: Any, persisted: Optional[Mapping[str, Any]]) -> None:
    """chromadb's ValueError when the collection keeps another embedding function than the one
    given. A plain callable (no ``name()``) cannot conflict."""
    if _ef_name(ef) is None:
        return
    if _conflict_on_get is not None:
        _conflict_on_get(ef, persisted)
        return
    if persisted is not None and ef is not None:
        name = _ef_name(ef)
        if name != "default" and persisted.get("name") is not None and persisted.get("name") != name:
            raise ValueError(
                "An embedding function already exists in the collection configuration, and a new one "
                "is provided. If this is intentional, please embed documents separately. Embedding "
                f"function conflict: new: {name} vs persisted: {persisted.get('name')}"
            )


def embedding_function_of(configuration_json: Mapping[str, Any]) -> Any:
    """The embedding function a collection's configuration names, built by chromadb (None
    without chromadb, or when the configuration names none or a legacy one). The whole
    configuration is loaded, as chromadb's ``Collection._embed`` does: one chromadb cannot load
    (hnsw and spann together, an unknown function) raises chromadb's ValueError."""
    if _load_configuration is None:
        return None
    conf = dict(configuration_json)
    ef_json = conf.get("embedding_function")
    if isinstance(ef_json, Mapping) and ef_json.get("type") == "legacy":
        del conf["embedding_function"]  # chromadb would only warn (DeprecationWarning) and name none
    return _load_configuration(conf).get("embedding_function")
