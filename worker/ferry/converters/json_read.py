"""Parsed JSON (``json.loads`` output) to Connect values of a known schema.

No I/O. Like the writers, a reader is compiled once per schema. Checks and messages follow
``JsonConverter.convertToConnect``: a null for a required field without default is an error,
structs must be objects, maps with non-string keys are arrays of ``[key, value]`` pairs.
"""

from __future__ import annotations

import base64
import binascii
import decimal
from collections.abc import Callable
from typing import Any

from ferry.api._codegen import generated
from ferry.api.errors import DataError
from ferry.api.schema import DATE_NAME, DECIMAL_NAME, TIME_NAME, TIMESTAMP_NAME, Schema, Type
from ferry.converters import logical

Reader = Callable[[Any], Any]


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "OBJECT"
    if isinstance(value, list):
        return "ARRAY"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, bool):
        return "BOOLEAN"
    if value is None:
        return "NULL"
    return "NUMBER"


def _read_int(value: Any) -> Any:
    if type(value) is int:
        return value
    if isinstance(value, int | float | decimal.Decimal):
        return int(value)  # Jackson's intValue() truncates a fractional number
    raise DataError(f"Invalid value for an integer field: {_json_kind(value)}")


def _read_float(value: Any) -> Any:
    if type(value) is float:
        return value
    if isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool):
        return float(value)
    raise DataError(f"Invalid value for a floating point field: {_json_kind(value)}")


def _read_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    raise DataError(f"Invalid value for a boolean field: {_json_kind(value)}")


def _read_string(value: Any) -> Any:
    if isinstance(value, str):
        return value
    raise DataError(f"Invalid value for a string field: {_json_kind(value)}")


def _read_bytes(value: Any) -> Any:
    if not isinstance(value, str):
        raise DataError("Invalid bytes field")
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise DataError(f"Invalid bytes field: {exc}") from None


_PRIMITIVE_READERS: dict[Type, Reader] = {
    Type.INT8: _read_int, Type.INT16: _read_int, Type.INT32: _read_int, Type.INT64: _read_int,
    Type.FLOAT32: _read_float, Type.FLOAT64: _read_float, Type.BOOLEAN: _read_bool,
    Type.STRING: _read_string, Type.BYTES: _read_bytes,
}


# JSON already yields these Python types exactly; a matching value needs no conversion.
_EXACT_TYPES: dict[Type, type] = {
    Type.INT8: int, Type.INT16: int, Type.INT32: int, Type.INT64: int,
    Type.FLOAT64: float, Type.STRING: str, Type.BOOLEAN: bool,
}


def compile_reader(schema: Schema, replace_null_with_default: bool = True) -> Reader:
    checked = _checked_reader(schema, replace_null_with_default)
    exact = _EXACT_TYPES.get(schema.type) if logical.logical_kind(schema) is None else None
    if exact is None:
        return checked

    # The common case in one call: the parsed value already has the field's type.
    def read_exact(value: Any) -> Any:
        return value if type(value) is exact else checked(value)

    return read_exact


def _checked_reader(schema: Schema, replace_null_with_default: bool) -> Reader:
    inner = _inner_reader(schema, replace_null_with_default)
    default = schema.default if replace_null_with_default else None
    optional = schema.optional
    type_name = schema.type.name

    def read(value: Any) -> Any:
        if value is None:
            if default is not None:
                return default
            if optional:
                return None
            raise DataError(f"Invalid null value for required {type_name} field")
        return inner(value)

    return read


def read_default(schema: Schema, value: Any) -> Any:
    """The Connect value of a schema's ``default`` member (used while parsing schemas)."""
    return _inner_reader(schema, True)(value)


def has_decimal(schema: Schema | None) -> bool:
    """Whether a Decimal appears anywhere in ``schema`` (then floats must parse exactly)."""
    if schema is None:
        return False
    if logical.logical_kind(schema) == DECIMAL_NAME:
        return True
    return any(has_decimal(s) for s in (schema.key_schema, schema.value_schema)) or any(
        has_decimal(f.schema) for f in schema.fields)


def _inner_reader(schema: Schema, replace: bool) -> Reader:
    kind = logical.logical_kind(schema)
    if kind is not None:
        return _logical_reader(kind, schema)
    primitive = _PRIMITIVE_READERS.get(schema.type)
    if primitive is not None:
        return primitive
    if schema.type is Type.ARRAY:
        return _array_reader(schema, replace)
    if schema.type is Type.MAP:
        return _map_reader(schema, replace)
    return _struct_reader(schema, replace)


def _logical_reader(kind: str, schema: Schema) -> Reader:
    if kind == DECIMAL_NAME:
        scale = logical.decimal_scale(schema)

        def read_decimal(value: Any) -> Any:
            if isinstance(value, decimal.Decimal):
                return value
            if isinstance(value, int) and not isinstance(value, bool):
                return decimal.Decimal(value)
            if isinstance(value, float):
                return decimal.Decimal(repr(value))
            if isinstance(value, str):
                return logical.bytes_to_decimal(_read_bytes(value), scale)
            raise DataError("Invalid type for Decimal, underlying representation should be "
                            f"numeric or bytes but was {_json_kind(value)}")
        return read_decimal

    def integral(value: Any) -> int:
        if type(value) is int:
            return value
        raise DataError(f"Invalid type for {kind.rsplit('.', 1)[-1]}, underlying representation "
                        f"should be integral but was {_json_kind(value)}")

    if kind == TIMESTAMP_NAME:
        return lambda value: logical.millis_to_timestamp(integral(value))
    if kind == DATE_NAME:
        return lambda value: logical.days_to_date(integral(value))
    if kind == TIME_NAME:
        return lambda value: logical.millis_to_time(integral(value))
    raise AssertionError(kind)


def _array_reader(schema: Schema, replace: bool) -> Reader:
    assert schema.value_schema is not None
    element = compile_reader(schema.value_schema, replace)

    def read(value: Any) -> Any:
        if not isinstance(value, list):
            raise DataError(
                f"Arrays should be encoded as JSON arrays, but found {_json_kind(value)}")
        return [element(item) for item in value]

    return read


def _map_reader(schema: Schema, replace: bool) -> Reader:
    assert schema.key_schema is not None and schema.value_schema is not None
    read_value = compile_reader(schema.value_schema, replace)
    if schema.key_schema.type is Type.STRING:
        def read_object(value: Any) -> Any:
            if not isinstance(value, dict):
                raise DataError("Maps with string fields should be encoded as JSON objects, "
                                f"but found {_json_kind(value)}")
            return {k: read_value(v) for k, v in value.items()}
        return read_object
    read_key = compile_reader(schema.key_schema, replace)

    def read_pairs(value: Any) -> Any:
        if not isinstance(value, list):
            raise DataError("Maps with non-string fields should be encoded as JSON array of "
                            f"tuples, but found {_json_kind(value)}")
        result = {}
        for entry in value:
            if not isinstance(entry, list):
                raise DataError(
                    f"Found invalid map entry instead of array tuple: {_json_kind(entry)}")
            if len(entry) != 2:
                raise DataError(
                    f"Found invalid map entry, expected length 2 but found :{len(entry)}")
            key = read_key(entry[0])
            try:
                result[key] = read_value(entry[1])
            except TypeError:
                raise DataError(f"Map key of type {type(key).__name__} is not hashable") from None
        return result

    return read_pairs


def _struct_reader(schema: Schema, replace: bool) -> Reader:
    """A reader generated for this struct's fields: one local per field, the exact-type test
    inline, the dict built by one display (no per-field closure call in the common case)."""
    env: dict[str, Any] = {"not_an_object": _not_an_object}
    lines = ["def read(value):", "    if not isinstance(value, dict):",
             "        not_an_object(value)", "    get = value.get"]
    for i, f in enumerate(schema.fields):
        env[f"read_{i}"] = _checked_reader(f.schema, replace)
        exact = _EXACT_TYPES.get(f.schema.type) if logical.logical_kind(f.schema) is None else None
        if exact is None:
            lines.append(f"    v{i} = read_{i}(get({f.name!r}))")
        else:
            env[f"exact_{i}"] = exact
            lines += [f"    v{i} = get({f.name!r})",
                      f"    if type(v{i}) is not exact_{i}:", f"        v{i} = read_{i}(v{i})"]
    items = ", ".join(f"{f.name!r}: v{i}" for i, f in enumerate(schema.fields))
    lines.append(f"    return {{{items}}}")
    read: Reader = generated(lines, "read", env, f"<json struct reader {schema.name or ''}>")
    return read


def _not_an_object(value: Any) -> None:
    raise DataError(f"Structs should be encoded as JSON objects, but found {_json_kind(value)}")
