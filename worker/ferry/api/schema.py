"""Schemas for record keys and values, in the model of Kafka Connect's ``Schema``.

Pure data: no I/O. A value travels next to its optional schema; structs are plain ``dict``s
whose keys follow the struct schema's field order. The type names are Kafka Connect's, so the
JSON converter reads and writes the same ``schema`` envelope as ``JsonConverter``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Type(StrEnum):
    INT8 = "int8"
    INT16 = "int16"
    INT32 = "int32"
    INT64 = "int64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    BOOLEAN = "boolean"
    STRING = "string"
    BYTES = "bytes"
    ARRAY = "array"
    MAP = "map"
    STRUCT = "struct"

    @property
    def is_primitive(self) -> bool:
        return self not in (Type.ARRAY, Type.MAP, Type.STRUCT)


@dataclass(frozen=True, slots=True)
class Field:
    """A named field of a struct schema."""

    name: str
    schema: Schema
    index: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Schema:
    """The shape of a key or value. Build one with the helpers below, e.g. ``struct(...)``."""

    type: Type
    optional: bool = False
    name: str | None = None
    version: int | None = None
    doc: str | None = None
    default: Any = None
    parameters: dict[str, str] | None = None
    fields: tuple[Field, ...] = ()
    key_schema: Schema | None = None
    value_schema: Schema | None = None
    _by_name: dict[str, Field] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.fields:
            self._by_name.update({f.name: f for f in self.fields})

    def field(self, name: str) -> Field | None:
        """The struct field called ``name``, or None."""
        return self._by_name.get(name)

    def as_optional(self) -> Schema:
        return _copy(self, optional=True)


def _copy(schema: Schema, **changes: Any) -> Schema:
    values = {
        "type": schema.type, "optional": schema.optional, "name": schema.name,
        "version": schema.version, "doc": schema.doc, "default": schema.default,
        "parameters": schema.parameters, "fields": schema.fields,
        "key_schema": schema.key_schema, "value_schema": schema.value_schema,
    }
    values.update(changes)
    return Schema(**values)


def primitive(type_: Type, optional: bool = False, name: str | None = None) -> Schema:
    return Schema(type=type_, optional=optional, name=name)


def struct(fields: list[tuple[str, Schema]], *, optional: bool = False,
           name: str | None = None, version: int | None = None) -> Schema:
    """A struct schema whose fields keep the given order."""
    return Schema(
        type=Type.STRUCT, optional=optional, name=name, version=version,
        fields=tuple(Field(n, s, i) for i, (n, s) in enumerate(fields)),
    )


def array(value_schema: Schema, *, optional: bool = False) -> Schema:
    return Schema(type=Type.ARRAY, optional=optional, value_schema=value_schema)


def map_of(key_schema: Schema, value_schema: Schema, *, optional: bool = False) -> Schema:
    return Schema(type=Type.MAP, optional=optional, key_schema=key_schema,
                  value_schema=value_schema)


def with_fields(schema: Schema, fields: list[tuple[str, Schema]]) -> Schema:
    """A copy of a struct schema with a new field list (names, version, optionality kept)."""
    return _copy(schema, fields=tuple(Field(n, s, i) for i, (n, s) in enumerate(fields)))


def copy_schema(schema: Schema, **changes: Any) -> Schema:
    """A copy of ``schema`` with some attributes changed."""
    return _copy(schema, **changes)


STRING = primitive(Type.STRING)
OPTIONAL_STRING = primitive(Type.STRING, optional=True)
INT32 = primitive(Type.INT32)
INT64 = primitive(Type.INT64)
OPTIONAL_INT64 = primitive(Type.INT64, optional=True)
FLOAT64 = primitive(Type.FLOAT64)
BOOLEAN = primitive(Type.BOOLEAN)
BYTES = primitive(Type.BYTES)

# Logical types Kafka Connect defines on top of primitives (same names on the wire).
TIMESTAMP_NAME = "org.apache.kafka.connect.data.Timestamp"
DATE_NAME = "org.apache.kafka.connect.data.Date"
TIME_NAME = "org.apache.kafka.connect.data.Time"
DECIMAL_NAME = "org.apache.kafka.connect.data.Decimal"
TIMESTAMP = Schema(type=Type.INT64, name=TIMESTAMP_NAME, version=1)
OPTIONAL_TIMESTAMP = Schema(type=Type.INT64, name=TIMESTAMP_NAME, version=1, optional=True)
