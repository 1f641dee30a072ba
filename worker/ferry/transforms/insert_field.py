"""InsertField: add the record's topic, partition, offset, timestamp or a constant as fields.

Kafka Connect's ``InsertField$Key`` / ``InsertField$Value``. A field name ending in ``!`` is
required in the derived schema, ``?`` (or nothing) optional. Tombstones pass unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ferry.api.config import ConfigDef, ConfigType, Importance
from ferry.api.errors import DataError
from ferry.api.records import R, SinkRecord
from ferry.api.schema import (
    INT32,
    INT64,
    OPTIONAL_INT64,
    OPTIONAL_STRING,
    OPTIONAL_TIMESTAMP,
    STRING,
    TIMESTAMP,
    Schema,
    Type,
    primitive,
)
from ferry.converters.logical import millis_to_timestamp
from ferry.transforms._support import (
    SchemaCache,
    Side,
    SideTransform,
    copy_basics,
    require_map,
    require_struct,
    type_name,
)

PURPOSE = "field insertion"
OPTIONALITY_DOC = (
    "Suffix with ! to make this a required field, or ? to keep it optional (the default).")
OPTIONAL_INT32 = primitive(Type.INT32, optional=True)


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    optional: bool

    @staticmethod
    def parse(raw: str | None) -> _Spec | None:
        if not raw:
            return None
        if raw.endswith("?"):
            return _Spec(raw[:-1], True)
        if raw.endswith("!"):
            return _Spec(raw[:-1], False)
        return _Spec(raw, True)


class InsertField(SideTransform[R]):
    """Insert record metadata (and a static value) into a struct or map.

    Example::

        transforms=meta
        transforms.meta.type=org.apache.kafka.connect.transforms.InsertField$Value
        transforms.meta.topic.field=source_topic
        transforms.meta.offset.field=source_offset!
    """

    config_def: ClassVar[ConfigDef] = (
        ConfigDef()
        .define("topic.field", ConfigType.STRING, None, Importance.MEDIUM,
                "Field name for Kafka topic. " + OPTIONALITY_DOC)
        .define("partition.field", ConfigType.STRING, None, Importance.MEDIUM,
                "Field name for Kafka partition. " + OPTIONALITY_DOC)
        .define("offset.field", ConfigType.STRING, None, Importance.MEDIUM,
                "Field name for Kafka offset - only applicable to sink connectors. "
                + OPTIONALITY_DOC)
        .define("timestamp.field", ConfigType.STRING, None, Importance.MEDIUM,
                "Field name for record timestamp. " + OPTIONALITY_DOC)
        .define("static.field", ConfigType.STRING, None, Importance.MEDIUM,
                "Field name for static data field. " + OPTIONALITY_DOC)
        .define("static.value", ConfigType.STRING, None, Importance.MEDIUM,
                "Static field value, if field name configured.")
    )

    def __init__(self) -> None:
        self.configure({})

    def configure(self, config: Mapping[str, Any]) -> None:
        values = self.config_def.parse(config)
        self._topic = _Spec.parse(values["topic.field"])
        self._partition = _Spec.parse(values["partition.field"])
        self._offset = _Spec.parse(values["offset.field"])
        self._timestamp = _Spec.parse(values["timestamp.field"])
        self._static = _Spec.parse(values["static.field"])
        self._static_value: str | None = values["static.value"]
        self._schemas = SchemaCache(self._derive_schema)

    def transform_side(self, record: R, schema: Schema | None, value: Any) -> Side:
        if value is None:
            return schema, value
        if schema is None:
            base = require_map(type(self).__name__, PURPOSE, value)
            return None, self._insert(record, dict(base), False)
        struct = require_struct(type(self).__name__, PURPOSE, schema, value)
        new_schema: Schema = self._schemas.get(schema)
        return new_schema, self._insert(record, dict(struct), True)

    def _insert(self, record: R, target: dict[str, Any], typed: bool) -> dict[str, Any]:
        if self._topic is not None:
            target[self._topic.name] = record.topic
        if self._partition is not None and record.partition is not None:
            target[self._partition.name] = record.partition
        if self._offset is not None:
            if not isinstance(record, SinkRecord):
                raise DataError(f"{type(self).__name__}: Only SinkRecord supported for "
                                f"[{PURPOSE}], found: {type_name(record)}")
            target[self._offset.name] = record.offset
        if self._timestamp is not None and record.timestamp is not None:
            ts = record.timestamp
            target[self._timestamp.name] = millis_to_timestamp(ts) if typed else ts
        if self._static is not None and self._static_value is not None:
            target[self._static.name] = self._static_value
        return target

    def _derive_schema(self, schema: Schema) -> Schema:
        fields = [(f.name, f.schema) for f in schema.fields]
        for spec, required, optional in (
            (self._topic, STRING, OPTIONAL_STRING),
            (self._partition, INT32, OPTIONAL_INT32),
            (self._offset, INT64, OPTIONAL_INT64),
            (self._timestamp, TIMESTAMP, OPTIONAL_TIMESTAMP),
            (self._static, STRING, OPTIONAL_STRING),
        ):
            if spec is None:
                continue
            if schema.field(spec.name) is not None:
                raise DataError(f"{type(self).__name__}: Cannot create field because of field "
                                f"name duplication {spec.name}")
            fields.append((spec.name, optional if spec.optional else required))
        return copy_basics(schema, fields)


class InsertFieldKey(InsertField[R]):
    """InsertField on the record key."""

    on_key = True


class InsertFieldValue(InsertField[R]):
    """InsertField on the record value."""

    on_key = False
