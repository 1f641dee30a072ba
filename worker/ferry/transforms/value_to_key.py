"""ValueToKey: replace the record key with a struct (or map) of fields from the value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ferry.api.config import ConfigDef, ConfigType, Importance, non_empty
from ferry.api.errors import DataError
from ferry.api.records import R
from ferry.api.schema import Schema, struct
from ferry.api.transform import Transformation
from ferry.transforms._support import SchemaCache, parse_list, require_map, require_struct

PURPOSE = "copying fields from value to key"


class ValueToKey(Transformation[R]):
    """Build the key from value fields (Kafka Connect's ``ValueToKey``).

    Example::

        transforms=key
        transforms.key.type=org.apache.kafka.connect.transforms.ValueToKey
        transforms.key.fields=customer_id,order_id
    """

    config_def: ClassVar[ConfigDef] = ConfigDef().define(
        "fields", ConfigType.LIST, importance=Importance.HIGH,
        doc="Field names on the record value to extract as the record key.",
        validator=non_empty)

    def configure(self, config: Mapping[str, Any]) -> None:
        self._fields = parse_list(self.config_def.parse(config)["fields"])
        self._schemas = SchemaCache(self._key_schema)

    def apply(self, record: R) -> R | None:
        schema, value = record.value_schema, record.value
        if schema is None:
            source = require_map(type(self).__name__, PURPOSE, value)
            return record.replace(key_schema=None,
                                  key={name: source.get(name) for name in self._fields})
        source = require_struct(type(self).__name__, PURPOSE, schema, value)
        key_schema: Schema = self._schemas.get(schema)
        return record.replace(key_schema=key_schema,
                              key={name: source.get(name) for name in self._fields})

    def _key_schema(self, schema: Schema) -> Schema:
        fields = []
        for name in self._fields:
            found = schema.field(name)
            if found is None:
                raise DataError(f"{type(self).__name__}: Field does not exist: {name}")
            fields.append((name, found.schema))
        return struct(fields)
