"""What the built-in transforms share: the key/value side, requirement checks, schema caches.

Kafka Connect writes each transform once and picks the key or the value in ``$Key`` and
``$Value`` subclasses; here the subclass of :class:`SideTransform` sets ``on_key`` and
transforms that side. Derived schemas are cached by the identity of the input schema, so a
stream of records with the same schema object builds its output schema once.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from ferry.api.errors import DataError
from ferry.api.records import R
from ferry.api.schema import Field, Schema, Type
from ferry.api.transform import Transformation

Side = tuple[Schema | None, Any]
"""A key or a value with its schema."""


class SideTransform(Transformation[R]):
    """A transform that changes only the key or only the value (and its schema).

    Subclasses set ``on_key`` and implement :meth:`transform_side`; it may read the record's
    other fields (topic, partition, offset, timestamp) but never changes them, so a chain
    can run several of these on one side and build the new record once (see
    ``TransformationChain``).
    """

    on_key: ClassVar[bool] = False

    @abstractmethod
    def transform_side(self, record: R, schema: Schema | None, value: Any) -> Side:
        """The new schema and key (or value) of ``record``, given its current ones."""

    def apply(self, record: R) -> R | None:
        # A chain builds this once per transform; called directly, it is built per record.
        return fused_side_transforms((self,))(record)


def fused_side_transforms(transforms: Sequence[SideTransform[R]]) -> Callable[[R], R]:
    """One function that applies ``transforms`` (all on the same side) in order and copies
    the record once at the end, instead of once per transform."""
    steps = tuple(t.transform_side for t in transforms)
    on_key = transforms[0].on_key

    def apply(record: R) -> R:
        if on_key:
            old_schema, old_value = record.key_schema, record.key
        else:
            old_schema, old_value = record.value_schema, record.value
        schema, value = old_schema, old_value
        for step in steps:
            schema, value = step(record, schema, value)
        if schema is old_schema and value is old_value:
            return record
        return record.with_key(schema, value) if on_key else record.with_value(schema, value)

    return apply


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
