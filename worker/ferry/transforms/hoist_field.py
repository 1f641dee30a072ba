"""HoistField: wrap the key or value in a struct (or map) with a single named field.

Kafka Connect's ``HoistField$Key`` / ``$Value``: with a schema the result is a required,
unnamed struct whose only field has the original schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ferry.api.config import ConfigDef, ConfigType, Importance, non_empty
from ferry.api.records import R
from ferry.api.schema import Schema, struct
from ferry.transforms._support import SchemaCache, Side, SideTransform


class HoistField(SideTransform[R]):
    """Wrap data in a single-field struct or map.

    Example::

        transforms=wrap
        transforms.wrap.type=org.apache.kafka.connect.transforms.HoistField$Value
        transforms.wrap.field=line
    """

    config_def: ClassVar[ConfigDef] = ConfigDef().define(
        "field", ConfigType.STRING, importance=Importance.MEDIUM,
        doc="Field name for the single field that will be created in the resulting Struct or "
            "Map.", validator=non_empty)

    def configure(self, config: Mapping[str, Any]) -> None:
        self._field: str = self.config_def.parse(config)["field"]
        self._schemas = SchemaCache(lambda schema: struct([(self._field, schema)]))

    def transform_side(self, record: R, schema: Schema | None, value: Any) -> Side:
        new_schema: Schema | None = None if schema is None else self._schemas.get(schema)
        return new_schema, {self._field: value}


class HoistFieldKey(HoistField[R]):
    """HoistField on the record key."""

    on_key = True


class HoistFieldValue(HoistField[R]):
    """HoistField on the record value."""

    on_key = False
