"""ByteArrayConverter: passes bytes through untouched (Kafka Connect's ByteArrayConverter)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ferry.api.converter import Converter, HeaderConverter, SchemaAndValue
from ferry.api.errors import DataError
from ferry.api.schema import Schema, Type

OPTIONAL_BYTES = Schema(type=Type.BYTES, optional=True)


class ByteArrayConverter(Converter, HeaderConverter):
    """Raw bytes in and out; the schema, if any, must be ``bytes``.

    Example::

        value.converter=org.apache.kafka.connect.converters.ByteArrayConverter
    """

    def configure(self, config: Mapping[str, Any], is_key: bool = False) -> None:
        """Nothing to configure."""

    def from_connect(self, topic: str, schema: Schema | None, value: Any) -> bytes | None:
        if schema is not None and schema.type is not Type.BYTES:
            raise DataError(f"Invalid schema type for ByteArrayConverter: {schema.type.name}")
        if value is None or type(value) is bytes:
            return value
        if isinstance(value, bytearray | memoryview):
            return bytes(value)
        raise DataError(
            f"ByteArrayConverter is not compatible with objects of type {type(value).__name__}")

    def to_connect(self, topic: str, data: bytes | None) -> SchemaAndValue:
        return SchemaAndValue(OPTIONAL_BYTES, data)

    def from_connect_header(self, topic: str, key: str, schema: Schema | None,
                            value: Any) -> bytes | None:
        return self.from_connect(topic, schema, value)

    def to_connect_header(self, topic: str, key: str, data: bytes | None) -> SchemaAndValue:
        return self.to_connect(topic, data)
