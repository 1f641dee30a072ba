"""MaskField: replace fields with a type-appropriate empty value or a fixed replacement.

Kafka Connect's ``MaskField$Key`` / ``$Value``: numbers become 0, strings "", booleans
false, decimals 0, dates the epoch, lists and maps empty; with ``replacement`` set, the text
is parsed to the field's type (lists and maps cannot take one). Tombstones pass unchanged.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from ferry.api.config import ConfigDef, ConfigType, Importance, non_empty
from ferry.api.errors import DataError
from ferry.api.records import R
from ferry.api.schema import DATE_NAME, DECIMAL_NAME, TIME_NAME, TIMESTAMP_NAME, Schema, Type
from ferry.converters import logical
from ferry.transforms._support import (
    SchemaCache,
    Side,
    SideTransform,
    parse_list,
    require_map,
    require_struct,
)

PURPOSE = "mask fields"

_EMPTY_BY_TYPE: dict[Type, Any] = {
    Type.INT8: 0, Type.INT16: 0, Type.INT32: 0, Type.INT64: 0,
    Type.FLOAT32: 0.0, Type.FLOAT64: 0.0, Type.BOOLEAN: False, Type.STRING: "",
}
_EMPTY_BY_LOGICAL: dict[str, Any] = {
    DECIMAL_NAME: decimal.Decimal(0), TIMESTAMP_NAME: logical.EPOCH,
    DATE_NAME: logical.EPOCH_DATE, TIME_NAME: dt.time(0),
}
_PARSE_BY_TYPE: dict[Type, Callable[[str], Any]] = {
    Type.INT8: int, Type.INT16: int, Type.INT32: int, Type.INT64: int,
    Type.FLOAT32: float, Type.FLOAT64: float, Type.STRING: str,
    Type.BOOLEAN: lambda text: text.strip().lower() == "true",
}


class MaskField(SideTransform[R]):
    """Mask sensitive fields.

    Example::

        transforms=mask
        transforms.mask.type=org.apache.kafka.connect.transforms.MaskField$Value
        transforms.mask.fields=ssn,card_number
        transforms.mask.replacement=****
    """

    config_def: ClassVar[ConfigDef] = (
        ConfigDef()
        .define("fields", ConfigType.LIST, importance=Importance.HIGH,
                doc="Names of fields to mask.", validator=non_empty)
        .define("replacement", ConfigType.STRING, None, Importance.LOW,
                "Custom value replacement, that will be applied to all 'fields' values "
                "(numeric or non-empty string values only).", validator=non_empty)
    )

    def configure(self, config: Mapping[str, Any]) -> None:
        values = self.config_def.parse(config)
        self._fields = frozenset(parse_list(values["fields"]))
        self._replacement: str | None = values["replacement"]
        self._schemas = SchemaCache(self._masks_for)

    def transform_side(self, record: R, schema: Schema | None, value: Any) -> Side:
        if value is None:
            return schema, value
        if schema is None:
            source = dict(require_map(type(self).__name__, PURPOSE, value))
            for name in self._fields:
                if name in source:
                    source[name] = self._mask_by_value(source[name])
            return None, source
        struct = dict(require_struct(type(self).__name__, PURPOSE, schema, value))
        masks: dict[str, Any] = self._schemas.get(schema)
        for name, mask in masks.items():
            if struct.get(name) is not None:
                if isinstance(mask, DataError):
                    raise mask
                struct[name] = mask
        return schema, struct

    def _masks_for(self, schema: Schema) -> dict[str, Any]:
        """The masked value of each masked field (or the error masking it raises)."""
        masks: dict[str, Any] = {}
        for f in schema.fields:
            if f.name in self._fields:
                try:
                    masks[f.name] = self._mask_for_schema(f.schema)
                except DataError as exc:
                    masks[f.name] = exc
        return masks

    def _mask_for_schema(self, schema: Schema) -> Any:
        kind = logical.logical_kind(schema)
        if self._replacement is None:
            if kind is not None:
                return _EMPTY_BY_LOGICAL[kind]
            if schema.type in _EMPTY_BY_TYPE:
                return _EMPTY_BY_TYPE[schema.type]
            if schema.type is Type.ARRAY:
                return []
            if schema.type is Type.MAP:
                return {}
            raise DataError(f"{type(self).__name__}: Cannot mask value of type: {schema.type.name}")
        if kind == DECIMAL_NAME:
            return self._parse(decimal.Decimal, "Decimal")
        parse = _PARSE_BY_TYPE.get(schema.type) if kind is None else None
        if parse is None:
            raise DataError(f"{type(self).__name__}: Cannot mask value of type {schema.type.name} "
                            "with custom replacement.")
        return self._parse(parse, schema.type.name)

    def _mask_by_value(self, value: Any) -> Any:
        if value is None:
            return None
        if self._replacement is None:
            if isinstance(value, bool):
                return False
            if isinstance(value, int):
                return 0
            if isinstance(value, float):
                return 0.0
            if isinstance(value, str):
                return ""
            if isinstance(value, decimal.Decimal):
                return decimal.Decimal(0)
            if isinstance(value, list):
                return []
            if isinstance(value, dict):
                return {}
            if isinstance(value, dt.datetime):
                return logical.EPOCH
            raise DataError(
                f"{type(self).__name__}: Cannot mask value of type: {type(value).__name__}")
        for kind, parse in ((bool, _PARSE_BY_TYPE[Type.BOOLEAN]), (int, int), (float, float),
                            (str, str), (decimal.Decimal, decimal.Decimal)):
            if isinstance(value, kind):
                return self._parse(parse, kind.__name__)
        raise DataError(f"{type(self).__name__}: Cannot mask value of type "
                        f"{type(value).__name__} with custom replacement.")

    def _parse(self, parse: Callable[[str], Any], kind: str) -> Any:
        assert self._replacement is not None
        try:
            return parse(self._replacement)
        except (ValueError, decimal.InvalidOperation):
            raise DataError(f"{type(self).__name__}: Unable to convert {self._replacement!r} "
                            f"to {kind}") from None


class MaskFieldKey(MaskField[R]):
    """MaskField on the record key."""

    on_key = True


class MaskFieldValue(MaskField[R]):
    """MaskField on the record value."""

    on_key = False
