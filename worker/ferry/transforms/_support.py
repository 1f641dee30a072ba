"""What the built-in transforms share: the key/value side, requirement checks, schema caches.

Kafka Connect writes each transform once and picks the key or the value in ``$Key`` and
``$Value`` subclasses; here the subclass sets ``on_key`` and the helpers below read and
replace that side. Derived schemas are cached by the identity of the input schema, so a
stream of records with the same schema object builds its output schema once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ferry.api.errors import DataError
from ferry.api.records import R
from ferry.api.schema import Field, Schema, Type


def operating(record: R, on_key: bool) -> tuple[Schema | None, Any]:
    """The schema and value a transform works on: the record's key or its value."""
    if on_key:
        return record.key_schema, record.key
    return record.value_schema, record.value


def updated(record: R, on_key: bool, schema: Schema | None, value: Any) -> R:
    """A copy of ``record`` with the key (or value) and its schema replaced."""
    if on_key:
        return record.replace(key_schema=schema, key=value)
    return record.replace(value_schema=schema, value=value)


def type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def require_map(transform: str, purpose: str, value: Any) -> dict[str, Any]:
    """A schemaless value that must be a map (a dict)."""
    if not isinstance(value, dict):
        raise DataError(f"{transform}: Only Map objects supported in absence of schema for "
                        f"[{purpose}], found: {type_name(value)}")
    return value


def require_struct(transform: str, purpose: str, schema: Schema, value: Any) -> dict[str, Any]:
    """A value with a schema that must be a struct (a dict shaped by a struct schema)."""
    if schema.type is not Type.STRUCT or not isinstance(value, dict):
        found = type_name(value) if schema.type is Type.STRUCT else schema.type.value
        raise DataError(
            f"{transform}: Only Struct objects supported for [{purpose}], found: {found}")
    return value


def copy_basics(schema: Schema, fields: list[tuple[str, Schema]]) -> Schema:
    """Kafka Connect's ``SchemaUtil.copySchemaBasics`` onto a new struct: name, version, doc
    and parameters are kept, optionality is not (the derived struct is required)."""
    return Schema(
        type=Type.STRUCT, name=schema.name, version=schema.version, doc=schema.doc,
        parameters=schema.parameters,
        fields=tuple(Field(name, s, i) for i, (name, s) in enumerate(fields)),
    )


class SchemaCache:
    """Derived schemas by input schema identity; holds the input so its id() stays unique."""

    __slots__ = ("_build", "_entries", "_size")

    def __init__(self, build: Callable[[Schema], Any], size: int = 64) -> None:
        self._build = build
        self._size = size
        self._entries: dict[int, tuple[Schema, Any]] = {}

    def get(self, schema: Schema) -> Any:
        hit = self._entries.get(id(schema))
        if hit is not None and hit[0] is schema:
            return hit[1]
        derived = self._build(schema)
        if len(self._entries) >= self._size:
            self._entries.clear()
        self._entries[id(schema)] = (schema, derived)
        return derived


_JAVA_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z])")


def java_regex(pattern: str) -> re.Pattern[str]:
    """Compile a Java regex; its named groups ``(?<name>...)`` become Python's ``(?P<name>``."""
    return re.compile(_JAVA_NAMED_GROUP.sub("(?P<", pattern))


def parse_list(raw: Any) -> list[str]:
    """A comma-separated list (or a YAML list) as stripped, non-empty items."""
    if raw is None:
        return []
    if isinstance(raw, list | tuple):
        return [str(item).strip() for item in raw if str(item).strip()]
    return [part.strip() for part in str(raw).split(",") if part.strip()]
