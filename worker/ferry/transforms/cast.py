"""Cast: change the type of fields, or of the whole key or value, to a primitive type.

Kafka Connect's ``Cast$Key`` / ``$Value``. ``spec`` is ``field:type,...`` or a single
``type`` for the whole value; the types are int8, int16, int32, int64, float32, float64,
boolean and string. Numbers narrow as Java's casts do (wrapping), booleans are 1/0 and
true/false, bytes cast to string as base64, logical types to their number or ISO text.
Tombstones pass unchanged.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from ferry.api.config import ConfigDef, ConfigType, Importance
from ferry.api.errors import ConfigError, DataError
from ferry.api.records import R
from ferry.api.schema import Field, Schema, Type, copy_schema
from ferry.converters import logical
from ferry.converters.javatext import (
    MILLIS_PER_DAY,
    iso_text_for_millis,
    java_double,
    java_float,
    to_float32,
)
from ferry.transforms._support import (
    SchemaCache,
    Side,
    SideTransform,
    parse_list,
    require_map,
    require_struct,
)

PURPOSE = "cast types"
_OUTPUT_TYPES = {t.value: t for t in (Type.INT8, Type.INT16, Type.INT32, Type.INT64,
                                      Type.FLOAT32, Type.FLOAT64, Type.BOOLEAN, Type.STRING)}
_INPUT_TYPES = frozenset(_OUTPUT_TYPES.values()) | {Type.BYTES}
_BITS = {Type.INT8: 8, Type.INT16: 16, Type.INT32: 32, Type.INT64: 64}

Caster = Callable[[Any], Any]


def _wrap(number: int, bits: int) -> int:
    """Java's narrowing of a long: keep the low ``bits`` bits, two's complement."""
    half = 1 << (bits - 1)
    return ((number + half) % (1 << bits)) - half


def _java_int(value: float, bits: int) -> int:
    """Java's ``(byte)/(short)/(int)/(long)`` of a double: truncate, saturate, then narrow."""
    if math.isnan(value):
        return 0
    wide = 64 if bits == 64 else 32
    limit = 1 << (wide - 1)
    whole = -limit if value <= -limit else limit - 1 if value >= limit else int(value)
    return _wrap(whole, bits)


def _to_number(value: Any) -> Any:
    """A logical value as the number Cast works with (epoch millis, days, the decimal)."""
    if isinstance(value, dt.datetime):
        return logical.timestamp_to_millis(value)
    if isinstance(value, dt.date):
        return logical.date_to_days(value)
    if isinstance(value, dt.time):
        return logical.time_to_millis(value)
    return value


def _cast_to_int(bits: int) -> Caster:
    def cast(value: Any) -> int:
        if isinstance(value, bool):
            return 1 if value else 0
        if isinstance(value, int):
            return _wrap(value, bits)
        if isinstance(value, float):
            return _java_int(value, bits)
        if isinstance(value, decimal.Decimal):
            return _wrap(int(value), bits)
        if isinstance(value, str):
            try:
                return _wrap(int(value.strip()), bits)
            except ValueError:
                raise DataError(f"Cast: cannot parse {value!r} as int{bits}") from None
        raise DataError(f"Cast: Unexpected type in Cast transformation: {type(value).__name__}")
    return cast


def _cast_to_float(single: bool) -> Caster:
    def cast(value: Any) -> float:
        if isinstance(value, bool):
            result = 1.0 if value else 0.0
        elif isinstance(value, int | float | decimal.Decimal):
            result = float(value)
        elif isinstance(value, str):
            try:
                result = float(value.strip())
            except ValueError:
                raise DataError(f"Cast: cannot parse {value!r} as a number") from None
        else:
            raise DataError(
                f"Cast: Unexpected type in Cast transformation: {type(value).__name__}")
        return to_float32(result) if single else result
    return cast


def _cast_to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | decimal.Decimal):
        return int(value) != 0
    if isinstance(value, str):
        return value.strip().lower() == "true"
    raise DataError(f"Cast: Unexpected type in Cast transformation: {type(value).__name__}")


def _string_caster(source: Schema | None) -> Caster:
    single = source is not None and source.type is Type.FLOAT32

    def cast(value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return java_float(value) if single else java_double(value)
        if isinstance(value, bytes | bytearray | memoryview):
            return base64.b64encode(value).decode("ascii")
        if isinstance(value, dt.datetime):
            return iso_text_for_millis(logical.timestamp_to_millis(value))
        if isinstance(value, dt.date):
            return iso_text_for_millis(logical.date_to_days(value) * MILLIS_PER_DAY)
        if isinstance(value, dt.time):
            return iso_text_for_millis(logical.time_to_millis(value))
        return str(value)
    return cast


def caster_for(target: Type, source: Schema | None) -> Caster:
    """The conversion of one (non-null) value to ``target``."""
    if target is Type.STRING:
        return _string_caster(source)
    if target in _BITS:
        base = _cast_to_int(_BITS[target])
    elif target in (Type.FLOAT32, Type.FLOAT64):
        base = _cast_to_float(target is Type.FLOAT32)
    else:
        base = _cast_to_boolean
    if isinstance(source, Schema) and source.type is Type.BYTES \
            and logical.logical_kind(source) is None:
        raise DataError(f"Cast: Cast transformation does not support casting from BYTES to "
                        f"{target.name}")
    return lambda value: base(_to_number(value))


def _check_input(schema: Schema) -> None:
    kind = logical.logical_kind(schema)
    if kind is None and schema.type not in _INPUT_TYPES:
        raise DataError(f"Cast: Cast transformation does not support casting from "
                        f"{schema.type.name}; supported types are "
                        f"{', '.join(sorted(t.name for t in _INPUT_TYPES))}")


def _parse_spec(spec: list[str]) -> tuple[Type | None, dict[str, Type]]:
    if not spec:
        raise ConfigError({"spec": "Must specify at least one field to cast."})
    casts: dict[str, Type] = {}
    whole: Type | None = None
    for mapping in spec:
        parts = mapping.split(":")
        if len(parts) > 2 or not all(p.strip() for p in parts):
            raise ConfigError({"spec": f"Invalid cast mapping: {mapping}"})
        type_name = parts[-1].strip().lower()
        target = _OUTPUT_TYPES.get(type_name)
        if target is None:
            raise ConfigError({"spec": f"Invalid type found in casting spec: {parts[-1].strip()}"})
        if len(parts) == 1:
            if len(spec) > 1:
                raise ConfigError({"spec": "Cast transformations that specify a type to cast the "
                                           "entire value to may ony specify a single cast in "
                                           "their spec"})
            whole = target
        else:
            casts[parts[0].strip()] = target
    return whole, casts


def _target_schema(target: Type, source: Schema) -> Schema:
    """A primitive ``target`` schema keeping the source's optionality and (cast) default."""
    cast_default = None
    if source.default is not None:
        cast_default = caster_for(target, source)(source.default)
    return Schema(type=target, optional=source.optional, default=cast_default)


class Cast(SideTransform[R]):
    """Cast fields or the whole value.

    Example::

        transforms=types
        transforms.types.type=org.apache.kafka.connect.transforms.Cast$Value
        transforms.types.spec=id:int64,price:string,active:boolean
    """

    config_def: ClassVar[ConfigDef] = ConfigDef().define(
        "spec", ConfigType.LIST, importance=Importance.HIGH,
        doc="List of fields and the type to cast them to of the form field1:type,field2:type "
            "to cast fields of Maps or Structs. A single type to cast the entire value.")

    def configure(self, config: Mapping[str, Any]) -> None:
        spec = parse_list(self.config_def.parse(config)["spec"])
        self._whole, self._casts = _parse_spec(spec)
        self._schemas = SchemaCache(self._derive)
        self._schemaless: dict[tuple[Type, type], Caster] = {}

    def transform_side(self, record: R, schema: Schema | None, value: Any) -> Side:
        if value is None:
            return schema, value
        if schema is None:
            return None, self._apply_schemaless(value)
        derived = self._schemas.get(schema)
        new_schema, casters = derived
        if self._whole is not None:
            return new_schema, casters[""](value)
        struct = dict(require_struct(type(self).__name__, PURPOSE, schema, value))
        for name, cast in casters.items():
            item = struct.get(name)
            if item is not None:
                struct[name] = cast(item)
        return new_schema, struct

    def _cast_schemaless(self, target: Type, value: Any) -> Any:
        key = (target, type(value))
        cast = self._schemaless.get(key)
        if cast is None:
            if isinstance(value, list | dict):
                raise DataError(f"Cast: Cast transformation does not support casting from "
                                f"{type(value).__name__}")
            cast = self._schemaless[key] = caster_for(target, None)
        return cast(value)

    def _apply_schemaless(self, value: Any) -> Any:
        if self._whole is not None:
            return self._cast_schemaless(self._whole, value)
        source = dict(require_map(type(self).__name__, PURPOSE, value))
        for name, target in self._casts.items():
            item = source.get(name)
            if item is not None:
                source[name] = self._cast_schemaless(target, item)
        return source

    def _derive(self, schema: Schema) -> tuple[Schema, dict[str, Caster]]:
        if self._whole is not None:
            _check_input(schema)
            target = _target_schema(self._whole, schema)
            # Kafka Connect copies name, version, doc and parameters onto the new type.
            whole = copy_schema(target, name=schema.name, version=schema.version,
                                doc=schema.doc, parameters=schema.parameters)
            return whole, {"": caster_for(self._whole, schema)}
        if schema.type is not Type.STRUCT:
            raise DataError(f"{type(self).__name__}: Only Struct objects supported for "
                            f"[{PURPOSE}], found: {schema.type.value}")
        fields: list[Field] = []
        casters: dict[str, Caster] = {}
        for f in schema.fields:
            target_type = self._casts.get(f.name)
            if target_type is None:
                fields.append(Field(f.name, f.schema, len(fields)))
                continue
            _check_input(f.schema)
            fields.append(Field(f.name, _target_schema(target_type, f.schema), len(fields)))
            casters[f.name] = caster_for(target_type, f.schema)
        default = schema.default
        new_schema = Schema(type=Type.STRUCT, optional=schema.optional, name=schema.name,
                            version=schema.version, doc=schema.doc,
                            parameters=schema.parameters, fields=tuple(fields))
        if default is not None:
            new_schema = copy_schema(new_schema, default={
                n: (casters[n](v) if n in casters and v is not None else v)
                for n, v in default.items()})
        return new_schema, casters


class CastKey(Cast[R]):
    """Cast on the record key."""

    on_key = True


class CastValue(Cast[R]):
    """Cast on the record value."""

    on_key = False
