"""SimpleHeaderConverter: header values as their text, parsed back to the best-fitting type.

Kafka Connect's default header converter (``Values.convertToString`` / ``parseString``):
strings as they are, numbers and booleans as their Java text, bytes as base64, dates in ISO
8601 (UTC), lists and maps as ``[a,b]`` / ``{"k":v}``. Reading a header yields the smallest
integer type that holds the number, a float64 for other numbers, ``true``/``false`` as
booleans, ISO dates as Date/Time/Timestamp, and anything else as a string.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import re
from collections.abc import Mapping
from typing import Any

from ferry.api.converter import HeaderConverter, SchemaAndValue
from ferry.api.errors import DataError
from ferry.api.schema import (
    BOOLEAN,
    FLOAT64,
    INT32,
    INT64,
    STRING,
    TIMESTAMP,
    Schema,
    Type,
    array,
    map_of,
    primitive,
)
from ferry.converters import logical
from ferry.converters.javatext import iso_text_for_millis, java_double, java_float

INT8 = primitive(Type.INT8)
INT16 = primitive(Type.INT16)
_INT_SCHEMAS = ((1 << 7, INT8), (1 << 15, INT16), (1 << 31, INT32), (1 << 63, INT64))
_TIME = re.compile(r"\d{2}:\d{2}:\d{2}\.\d{3}Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


class SimpleHeaderConverter(HeaderConverter):
    """Header values as UTF-8 text (the default ``header.converter``).

    Example::

        header.converter=org.apache.kafka.connect.storage.SimpleHeaderConverter
    """

    def from_connect_header(self, topic: str, key: str, schema: Schema | None,
                            value: Any) -> bytes | None:
        if value is None:
            return None
        return to_text(schema, value, embedded=False).encode()

    def to_connect_header(self, topic: str, key: str, data: bytes | None) -> SchemaAndValue:
        if data is None:
            return SchemaAndValue(None, None)
        try:
            text = data.decode()
        except UnicodeDecodeError:
            raise DataError(f"Header {key!r} is not valid UTF-8") from None
        return parse_text(text)


def to_text(schema: Schema | None, value: Any, embedded: bool) -> str:
    """``Values.convertToString``: the text form of a value; ``embedded`` quotes strings."""
    if value is None:
        return "null"
    if isinstance(value, str):
        if not embedded:
            return value
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if schema is not None and schema.type is Type.FLOAT32:
            return java_float(value)
        return java_double(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        text = base64.b64encode(value).decode("ascii")
        return f'"{text}"' if embedded else text
    if isinstance(value, dt.datetime):
        return iso_text_for_millis(logical.timestamp_to_millis(value))
    if isinstance(value, dt.date):
        return iso_text_for_millis(logical.date_to_days(value) * logical.MILLIS_PER_DAY)
    if isinstance(value, dt.time):
        return iso_text_for_millis(logical.time_to_millis(value))
    if isinstance(value, list | tuple):
        element = schema.value_schema if schema is not None else None
        return "[" + ",".join(to_text(element, v, True) for v in value) + "]"
    if isinstance(value, Mapping):
        if schema is not None and schema.type is Type.STRUCT:
            return "{" + ",".join(
                to_text(None, f.name, True) + ":" + to_text(f.schema, value.get(f.name), True)
                for f in schema.fields) + "}"
        keys = schema.key_schema if schema is not None else None
        values = schema.value_schema if schema is not None else None
        return "{" + ",".join(
            to_text(keys, k, True) + ":" + to_text(values, v, True)
            for k, v in value.items()) + "}"
    raise DataError(f"Failed to serialize unexpected value type {type(value).__name__}: {value!r}")


def parse_text(text: str) -> SchemaAndValue:
    """``Values.parseString``: the schema and value that best fit a header's text."""
    if not text:
        return SchemaAndValue(STRING, text)
    token = text.strip()
    if token == "null":
        return SchemaAndValue(None, None)
    if token == "true":
        return SchemaAndValue(BOOLEAN, True)
    if token == "false":
        return SchemaAndValue(BOOLEAN, False)
    if token[:1] in ("[", "{"):
        container = _parse_container(token)
        if container is not None:
            return container
    temporal = _parse_temporal(token)
    if temporal is not None:
        return temporal
    if token[:1].isdigit() or token[:1] in ("+", "-"):
        number = _parse_number(token)
        if number is not None:
            return number
    return SchemaAndValue(STRING, text)


def _parse_temporal(token: str) -> SchemaAndValue | None:
    try:
        if _TIMESTAMP.fullmatch(token):
            moment = dt.datetime.strptime(token, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
            return SchemaAndValue(TIMESTAMP, moment)
        if _DATE.fullmatch(token):
            return SchemaAndValue(logical.date_schema(), dt.date.fromisoformat(token))
        if _TIME.fullmatch(token):
            return SchemaAndValue(logical.time_schema(),
                                  dt.datetime.strptime(token, "%H:%M:%S.%fZ").time())
    except ValueError:
        return None
    return None


def _parse_number(token: str) -> SchemaAndValue | None:
    try:
        number = decimal.Decimal(token)
    except decimal.InvalidOperation:
        return None
    if not number.is_finite():
        return None
    if number == number.to_integral_value():
        whole = int(number)
        for bound, schema in _INT_SCHEMAS:
            if -bound <= whole < bound:
                return SchemaAndValue(schema, whole)
        return SchemaAndValue(logical.decimal_schema(0), number.quantize(decimal.Decimal(1)))
    as_float = float(number)
    if as_float in (float("inf"), float("-inf")):
        scale = -int(number.as_tuple().exponent)
        return SchemaAndValue(logical.decimal_schema(scale), number)
    return SchemaAndValue(FLOAT64, as_float)


def _schema_of(value: Any) -> Schema | None:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        for bound, schema in _INT_SCHEMAS:
            if -bound <= value < bound:
                return schema
        return None
    if isinstance(value, float):
        return FLOAT64
    if isinstance(value, str):
        return STRING
    return None


_WIDTH = {Type.INT8: 0, Type.INT16: 1, Type.INT32: 2, Type.INT64: 3, Type.FLOAT64: 4}


def _common(schemas: list[Schema | None]) -> Schema | None:
    """The one schema every element fits (numbers widen), or None."""
    present = [s for s in schemas if s is not None]
    if not present or any(s is None for s in schemas if s is not None):
        return None
    if all(s.type in _WIDTH for s in present):
        return max(present, key=lambda s: _WIDTH[s.type])
    first = present[0]
    return first if all(s.type is first.type for s in present) else None


def _parse_container(token: str) -> SchemaAndValue | None:
    try:
        parsed = json.loads(token)
    except ValueError:
        return None
    if isinstance(parsed, list):
        element = _common([_schema_of(v) for v in parsed if v is not None])
        return SchemaAndValue(array(element) if element is not None else None, parsed)
    if isinstance(parsed, dict):
        values = _common([_schema_of(v) for v in parsed.values() if v is not None])
        return SchemaAndValue(map_of(STRING, values) if values is not None else None, parsed)
    return None
