"""PostgreSQL column types to Ferry schemas, and back for the sink's DDL. Pure: no I/O.

| PostgreSQL | Ferry schema | value |
| --- | --- | --- |
| `smallint` | int16 | int |
| `integer`, `serial` | int32 | int |
| `bigint`, `bigserial` | int64 | int |
| `real` / `double precision` | float32 / float64 | float |
| `numeric(p, s)` | bytes, logical `Decimal` (scale `s`) | `decimal.Decimal` |
| `numeric` (no scale) | float64 | float |
| `text`, `varchar`, `char`, `name`, `uuid`, `citext`, enums, others | string | str |
| `boolean` | boolean | bool |
| `timestamptz`, `timestamp` | int64, logical `Timestamp` | aware UTC `datetime` (1) |
| `date` | int32, logical `Date` | `datetime.date` |
| `time` | int32, logical `Time` | `datetime.time` |
| `bytea` | bytes | bytes |
| `json`, `jsonb` | string (the JSON text) | str |
| `T[]` of the types above | array of T's schema | list |

(1) a plain ``timestamp`` (without time zone) is read as UTC.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

from ferry.api.schema import (
    DATE_NAME,
    DECIMAL_NAME,
    TIME_NAME,
    TIMESTAMP_NAME,
    Schema,
    Type,
    array,
)

# Type OIDs (pg_type.oid), stable across PostgreSQL versions.
BOOL, BYTEA, NAME, INT8, INT2, INT4, TEXT, JSON = 16, 17, 19, 20, 21, 23, 25, 114
FLOAT4, FLOAT8, BPCHAR, VARCHAR, DATE, TIME = 700, 701, 1042, 1043, 1082, 1083
TIMESTAMP, TIMESTAMPTZ, NUMERIC, UUID, JSONB = 1114, 1184, 1700, 2950, 3802
ARRAYS = {1000: BOOL, 1001: BYTEA, 1005: INT2, 1007: INT4, 1016: INT8, 1009: TEXT,
          1015: VARCHAR, 1014: BPCHAR, 1021: FLOAT4, 1022: FLOAT8, 1231: NUMERIC,
          1182: DATE, 1115: TIMESTAMP, 1185: TIMESTAMPTZ, 2951: UUID, 199: JSON, 3807: JSONB}

_PRIMITIVES = {BOOL: Type.BOOLEAN, BYTEA: Type.BYTES, INT2: Type.INT16, INT4: Type.INT32,
               INT8: Type.INT64, FLOAT4: Type.FLOAT32, FLOAT8: Type.FLOAT64}


def decimal_schema(scale: int, optional: bool = True) -> Schema:
    return Schema(type=Type.BYTES, name=DECIMAL_NAME, version=1, optional=optional,
                  parameters={"scale": str(scale)})


def column_schema(type_oid: int, scale: int | None, optional: bool = True) -> Schema:
    """The schema of a result column (``cursor.description``'s type code and scale)."""
    if type_oid in ARRAYS:
        return array(column_schema(ARRAYS[type_oid], scale, True), optional=optional)
    if type_oid in _PRIMITIVES:
        return Schema(type=_PRIMITIVES[type_oid], optional=optional)
    if type_oid == NUMERIC:
        if scale is None:
            return Schema(type=Type.FLOAT64, optional=optional)
        return decimal_schema(scale, optional)
    if type_oid in (TIMESTAMP, TIMESTAMPTZ):
        return Schema(type=Type.INT64, name=TIMESTAMP_NAME, version=1, optional=optional)
    if type_oid == DATE:
        return Schema(type=Type.INT32, name=DATE_NAME, version=1, optional=optional)
    if type_oid == TIME:
        return Schema(type=Type.INT32, name=TIME_NAME, version=1, optional=optional)
    return Schema(type=Type.STRING, optional=optional)


def column_value(schema: Schema, value: Any) -> Any:
    """A value as psycopg returned it, in the form its schema expects."""
    if value is None:
        return None
    if schema.type is Type.ARRAY:
        assert schema.value_schema is not None
        return [column_value(schema.value_schema, v) for v in value]
    if schema.name == TIMESTAMP_NAME and isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    if schema.name == DECIMAL_NAME and isinstance(value, decimal.Decimal):
        scale = int((schema.parameters or {}).get("scale", "0"))
        return value.quantize(decimal.Decimal(1).scaleb(-scale))
    if schema.type is Type.FLOAT64 and isinstance(value, decimal.Decimal):
        return float(value)
    if schema.type is Type.STRING and not isinstance(value, str):
        return str(value) if isinstance(value, uuid.UUID) else _text(value)
    if schema.type is Type.BYTES and isinstance(value, memoryview):
        return bytes(value)
    return value


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, separators=(",", ":"))
    return str(value)


def sql_type(schema: Schema) -> str:
    """The column type the sink creates for a field (``auto.create``, ``auto.evolve``)."""
    if schema.name == DECIMAL_NAME:
        return f"numeric(38, {(schema.parameters or {}).get('scale', '0')})"
    if schema.name == TIMESTAMP_NAME:
        return "timestamptz"
    if schema.name == DATE_NAME:
        return "date"
    if schema.name == TIME_NAME:
        return "time"
    if schema.type is Type.ARRAY and schema.value_schema is not None:
        return f"{sql_type(schema.value_schema)}[]"
    return {Type.INT8: "smallint", Type.INT16: "smallint", Type.INT32: "integer",
            Type.INT64: "bigint", Type.FLOAT32: "real", Type.FLOAT64: "double precision",
            Type.BOOLEAN: "boolean", Type.STRING: "text", Type.BYTES: "bytea",
            Type.MAP: "jsonb", Type.STRUCT: "jsonb"}.get(schema.type, "text")
