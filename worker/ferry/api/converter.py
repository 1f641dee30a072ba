"""Converters between Kafka's bytes and Ferry's (schema, value) pairs: the plugin contract.

Configured with Kafka Connect's keys (``key.converter``, ``value.converter``,
``value.converter.schemas.enable``, ``header.converter``). Converters are called on the
task's thread for every record, so they should be cheap and must not keep per-record state.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

from ferry.api.config import ConfigDef
from ferry.api.schema import Schema


class SchemaAndValue(NamedTuple):
    schema: Schema | None
    value: Any


class Converter(ABC):
    """Serialises record keys or values to bytes and back."""

    config_def: ClassVar[ConfigDef] = ConfigDef()
    version: ClassVar[str] = "0.1.0"

    def configure(self, config: Mapping[str, Any], is_key: bool) -> None:  # noqa: B027
        """Receive the converter's keys (``value.converter.`` stripped); ``is_key``: which side."""

    @abstractmethod
    def from_connect(self, topic: str, schema: Schema | None, value: Any) -> bytes | None:
        """The bytes to write to Kafka for ``value`` (None stays None: a tombstone)."""

    @abstractmethod
    def to_connect(self, topic: str, data: bytes | None) -> SchemaAndValue:
        """The schema and value for bytes read from Kafka."""


class HeaderConverter(ABC):
    """Serialises header values to bytes and back."""

    config_def: ClassVar[ConfigDef] = ConfigDef()
    version: ClassVar[str] = "0.1.0"

    def configure(self, config: Mapping[str, Any]) -> None:  # noqa: B027 - optional hook
        """Receive the header converter's keys (``header.converter.`` stripped)."""

    @abstractmethod
    def from_connect_header(self, topic: str, key: str, schema: Schema | None,
                            value: Any) -> bytes | None:
        """The bytes for one header value."""

    @abstractmethod
    def to_connect_header(self, topic: str, key: str, data: bytes | None) -> SchemaAndValue:
        """The schema and value of one header read from Kafka."""
