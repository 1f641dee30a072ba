"""The internal-topic protocol: the one place that knows Ferry's key and value formats.

Pure functions, no I/O. Values are compact JSON objects with a ``version`` field so the
format can evolve; readers ignore fields they don't know and refuse versions newer than
they understand. The operator imports this module, never the runtime.

| topic           | key                                   | value                     |
|-----------------|---------------------------------------|---------------------------|
| ferry-offsets   | ``["<ns>/<name>", {source partition}]`` | ``{"version":1,"offset":{...}}`` |
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

VERSION = 1

DEFAULT_OFFSETS_TOPIC = "ferry-offsets"
DEFAULT_CONFIGS_TOPIC = "ferry-configs"
DEFAULT_STATUS_TOPIC = "ferry-status"

# Topic configs of the internal topics: compacted, so the latest value per key is the state.
OFFSETS_PARTITIONS = 25
STATUS_PARTITIONS = 5
COMPACTED = {"cleanup.policy": "compact"}


class ProtocolError(ValueError):
    """A key or value on an internal topic that this version cannot read."""


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def offset_key(connector_id: str, source_partition: Mapping[str, Any]) -> bytes:
    """The key of one source partition's offset; sorted keys make it canonical."""
    return _dumps([connector_id, dict(source_partition)])


def parse_offset_key(key: bytes) -> tuple[str, dict[str, Any]]:
    try:
        connector_id, partition = json.loads(key)
    except (ValueError, TypeError) as exc:
        raise ProtocolError(f"bad offset key {key!r}: {exc}") from None
    if not isinstance(connector_id, str) or not isinstance(partition, dict):
        raise ProtocolError(f"bad offset key {key!r}")
    return connector_id, partition


def offset_value(offset: Mapping[str, Any] | None) -> bytes | None:
    """The value for an offset; None (a tombstone) forgets the partition."""
    return None if offset is None else _dumps({"version": VERSION, "offset": dict(offset)})


def parse_offset_value(value: bytes | None) -> dict[str, Any] | None:
    if value is None:
        return None
    data = _load_versioned(value)
    offset = data.get("offset")
    if not isinstance(offset, dict):
        raise ProtocolError(f"offset value without an offset object: {value!r}")
    return offset


def _load_versioned(value: bytes) -> dict[str, Any]:
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise ProtocolError(f"not JSON: {value[:80]!r}: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"expected a JSON object: {value[:80]!r}")
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise ProtocolError(f"unsupported format version {version!r} (this Ferry reads {VERSION})")
    return data
