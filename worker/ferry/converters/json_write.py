"""Connect values to JSON text, byte for byte as Kafka Connect's JsonConverter (Jackson) writes.

No I/O. A writer is compiled once per schema into nested closures, so the per-record work is
only the type checks and string joins; the stdlib encoder cannot be used for the whole value
because Java prints doubles differently (``1.0E7``) and Jackson escapes with upper-case hex.
"""

from __future__ import annotations

import base64
import decimal
import json.encoder
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ferry.api._codegen import generated
from ferry.api.errors import DataError
from ferry.api.schema import DATE_NAME, DECIMAL_NAME, TIME_NAME, TIMESTAMP_NAME, Schema, Type
from ferry.converters import logical
from ferry.converters.javatext import java_double, java_float

Writer = Callable[[Any], str]

_encode_basestring: Callable[[str], str] = json.encoder.encode_basestring
_LOWER_HEX_ESCAPE = re.compile(r"\\(?:\\|u00([0-9a-f]{2}))")


def _upper_hex(match: re.Match[str]) -> str:
    hex_digits = match.group(1)
    return match.group(0) if hex_digits is None else "\\u00" + hex_digits.upper()


def quote(text: str) -> str:
    """A JSON string literal as Jackson writes it (raw UTF-8, ``\\u001F`` in upper case)."""
    out = _encode_basestring(text)
    return out if "\\u00" not in out else _LOWER_HEX_ESCAPE.sub(_upper_hex, out)


@dataclass(frozen=True, slots=True)
class WriteOptions:
    decimal_numeric: bool = False
    replace_null_with_default: bool = True


def _bad(kind: str, value: Any) -> DataError:
    return DataError(f"Invalid type for {kind}: {type(value).__name__}")


def _write_int(value: Any) -> str:
    if type(value) is int:
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(int(value))
    raise _bad("integer", value)


def _write_double(value: Any) -> str:
    if type(value) is float:
        return java_double(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return java_double(float(value))
    raise _bad("float64", value)


def _write_float(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return java_float(float(value))
    raise _bad("float32", value)


def _write_bool(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    raise _bad("boolean", value)


def _write_string(value: Any) -> str:
    if type(value) is str:
        return quote(value)
    if isinstance(value, str):
        return quote(str(value))
    raise _bad("string", value)


def _b64(value: bytes | bytearray | memoryview) -> str:
    return '"' + base64.b64encode(value).decode("ascii") + '"'


def _write_bytes(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return _b64(value)
    raise _bad("bytes", value)


_PRIMITIVE_WRITERS: dict[Type, Writer] = {
    Type.INT8: _write_int, Type.INT16: _write_int, Type.INT32: _write_int,
    Type.INT64: _write_int, Type.FLOAT32: _write_float, Type.FLOAT64: _write_double,
    Type.BOOLEAN: _write_bool, Type.STRING: _write_string, Type.BYTES: _write_bytes,
}


def compile_writer(schema: Schema | None, options: WriteOptions) -> Writer:
    """A function from a value of ``schema`` (or any schemaless value) to JSON text."""
    if schema is None:
        return write_schemaless
    inner = _inner_writer(schema, options)
    default_text = None
    if schema.default is not None and options.replace_null_with_default:
        default_text = inner(schema.default)
    optional = schema.optional

    def write(value: Any) -> str:
        if value is None:
            if default_text is not None:
                return default_text
            if optional:
                return "null"
            raise DataError(
                "Conversion error: null value for field that is required and has no default value")
        return inner(value)

    return write


def _inner_writer(schema: Schema, options: WriteOptions) -> Writer:
    kind = logical.logical_kind(schema)
    if kind is not None:
        return _logical_writer(kind, schema, options)
    primitive = _PRIMITIVE_WRITERS.get(schema.type)
    if primitive is not None:
        return primitive
    if schema.type is Type.ARRAY:
        return _array_writer(schema, options)
    if schema.type is Type.MAP:
        return _map_writer(schema, options)
    return _struct_writer(schema, options)


def _logical_writer(kind: str, schema: Schema, options: WriteOptions) -> Writer:
    if kind == DECIMAL_NAME:
        scale = logical.decimal_scale(schema)
        if options.decimal_numeric:
            def write_numeric(value: Any) -> str:
                logical.decimal_to_unscaled(value, scale)  # same checks as the bytes form
                return str(value)
            return write_numeric
        return lambda value: _b64(logical.decimal_to_bytes(value, scale))
    if kind == TIMESTAMP_NAME:
        return lambda value: str(logical.timestamp_to_millis(value))
    if kind == DATE_NAME:
        return lambda value: str(logical.date_to_days(value))
    if kind == TIME_NAME:
        return lambda value: str(logical.time_to_millis(value))
    raise AssertionError(kind)


def _array_writer(schema: Schema, options: WriteOptions) -> Writer:
    element = compile_writer(schema.value_schema, options)

    def write(value: Any) -> str:
        if not isinstance(value, list | tuple):
            raise _bad("array", value)
        return "[" + ",".join([element(item) for item in value]) + "]"

    return write


def _map_writer(schema: Schema, options: WriteOptions) -> Writer:
    key_schema = schema.key_schema
    write_value = compile_writer(schema.value_schema, options)
    if key_schema is None or key_schema.type is Type.STRING:
        # String keys: a JSON object.
        def write_object(value: Any) -> str:
            if not isinstance(value, Mapping):
                raise _bad("map", value)
            return "{" + ",".join(
                [_write_string(k) + ":" + write_value(v) for k, v in value.items()]) + "}"
        return write_object
    write_key = compile_writer(key_schema, options)

    # Any other key type: an array of [key, value] pairs.
    def write_pairs(value: Any) -> str:
        if not isinstance(value, Mapping):
            raise _bad("map", value)
        return "[" + ",".join(
            ["[" + write_key(k) + "," + write_value(v) + "]" for k, v in value.items()]) + "]"

    return write_pairs


def _struct_writer(schema: Schema, options: WriteOptions) -> Writer:
    """A writer generated for this struct's fields: one local per field, strings and ints of
    the exact type written inline, the text joined once (no closure call per field in the
    common case). Field names appear only as repr() literals."""
    env: dict[str, Any] = {"Mapping": Mapping, "bad": _bad, "encode": _encode_basestring,
                           "quote": quote}
    lines = ["def write(value):", "    if not isinstance(value, Mapping):",
             "        raise bad('struct', value)", "    get = value.get"]
    parts = []
    for i, f in enumerate(schema.fields):
        env[f"write_{i}"] = compile_writer(f.schema, options)
        lines.append(f"    v = get({f.name!r})")
        plain = f.schema.type if logical.logical_kind(f.schema) is None else None
        if plain is Type.STRING:
            lines += ["    if type(v) is str:", f"        s{i} = encode(v)",
                      f"        if '\\\\u00' in s{i}:", f"            s{i} = quote(v)",
                      "    else:", f"        s{i} = write_{i}(v)"]
        elif plain in (Type.INT8, Type.INT16, Type.INT32, Type.INT64):
            lines.append(f"    s{i} = str(v) if type(v) is int else write_{i}(v)")
        else:
            lines.append(f"    s{i} = write_{i}(v)")
        parts += [repr(("{" if i == 0 else ",") + quote(f.name) + ":"), f"s{i}"]
    if not parts:
        parts = ["'{'"]
    lines.append(f"    return ''.join(({', '.join(parts)}, '}}'))")
    write: Writer = generated(lines, "write", env, f"<json struct writer {schema.name or ''}>")
    return write


def write_schemaless(value: Any) -> str:
    """JSON for a value without schema: the type is taken from the Python value."""
    kind = type(value)
    if kind is str:
        return quote(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return java_double(value)
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        if all(type(k) is str for k in value):
            return "{" + ",".join(
                [quote(k) + ":" + write_schemaless(v) for k, v in value.items()]) + "}"
        return "[" + ",".join(
            ["[" + write_schemaless(k) + "," + write_schemaless(v) + "]"
             for k, v in value.items()]) + "]"
    if isinstance(value, list | tuple):
        return "[" + ",".join([write_schemaless(item) for item in value]) + "]"
    if isinstance(value, bytes | bytearray | memoryview):
        return _b64(value)
    if isinstance(value, str):
        return quote(str(value))
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return java_double(float(value))
    if isinstance(value, decimal.Decimal):
        raise DataError("A Decimal needs a schema (its scale) to be written as JSON")
    raise DataError(f"Python type {kind.__name__} does not have a corresponding schema type")
