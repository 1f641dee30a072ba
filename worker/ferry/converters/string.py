"""StringConverter: values as text in a configurable encoding (Kafka Connect's StringConverter).

Writing uses ``str(value)``; reading always yields an optional string schema, as Kafka
Connect does. Also a header converter.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import Any, ClassVar

from ferry.api.config import ConfigDef, ConfigType, Importance
from ferry.api.converter import Converter, HeaderConverter, SchemaAndValue
from ferry.api.errors import ConfigError, DataError
from ferry.api.schema import OPTIONAL_STRING, Schema

ENCODING = "converter.encoding"


class StringConverter(Converter, HeaderConverter):
    """Text in ``converter.encoding`` (UTF-8 by default; Java charset names are accepted).

    Example::

        key.converter=org.apache.kafka.connect.storage.StringConverter
        key.converter.converter.encoding=ISO-8859-1
    """

    config_def: ClassVar[ConfigDef] = ConfigDef().define(
        ENCODING, ConfigType.STRING, "UTF-8", Importance.HIGH,
        "The name of the character encoding used to encode and decode strings.")

    def __init__(self) -> None:
        self._encoding = "utf-8"

    def configure(self, config: Mapping[str, Any], is_key: bool = False) -> None:
        name = self.config_def.parse(config)[ENCODING]
        try:
            self._encoding = codecs.lookup(name).name
        except LookupError:
            raise ConfigError({ENCODING: f"unknown character encoding {name!r}"}) from None

    @property
    def encoding(self) -> str:
        """The Python codec name of ``converter.encoding`` (``utf-8`` by default)."""
        return self._encoding

    def from_connect(self, topic: str, schema: Schema | None, value: Any) -> bytes | None:
        if value is None:
            return None
        text = value if type(value) is str else str(value)
        try:
            return text.encode(self._encoding)
        except UnicodeEncodeError as exc:
            raise DataError(f"StringConverter cannot encode the value as {self._encoding}: "
                            f"{exc}") from None

    def to_connect(self, topic: str, data: bytes | None) -> SchemaAndValue:
        if data is None:
            return SchemaAndValue(OPTIONAL_STRING, None)
        try:
            return SchemaAndValue(OPTIONAL_STRING, data.decode(self._encoding))
        except UnicodeDecodeError as exc:
            raise DataError(f"StringConverter cannot decode the bytes as {self._encoding}: "
                            f"{exc}") from None

    def from_connect_header(self, topic: str, key: str, schema: Schema | None,
                            value: Any) -> bytes | None:
        return self.from_connect(topic, schema, value)

    def to_connect_header(self, topic: str, key: str, data: bytes | None) -> SchemaAndValue:
        return self.to_connect(topic, data)
