"""The records that flow through Ferry: what source tasks emit and what sink tasks receive.

Records are frozen, slotted dataclasses: cheap to create, safe to share between stages.
A transform returns a new record with :func:`dataclasses.replace` (or :meth:`replace`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ferry.api.schema import Schema

Header = tuple[str, Any]
"""A record header: a key and a value (bytes as read from Kafka, or a converted value)."""

Headers = tuple[Header, ...]

R = TypeVar("R", "SourceRecord", "SinkRecord")


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceRecord:
    """A record read from an external system, with the position it was read from.

    ``source_partition`` names a stream in the external system (a file, a table) and
    ``source_offset`` the position within it; after the broker acknowledged the record,
    the runtime stores the offset so a restarted task resumes from it.
    """

    source_partition: Mapping[str, Any]
    source_offset: Mapping[str, Any]
    topic: str
    value: Any
    key: Any = None
    partition: int | None = None
    headers: Headers = ()
    timestamp: int | None = None
    key_schema: Schema | None = None
    value_schema: Schema | None = None

    def replace(self, **changes: Any) -> SourceRecord:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True, kw_only=True)
class SinkRecord:
    """A record consumed from Kafka and handed to a sink task.

    ``topic``/``partition`` may be rewritten by transforms (RegexRouter);
    ``original_topic``/``original_partition``/``offset`` always name where it was read,
    which is what offsets are committed against.
    """

    topic: str
    partition: int
    offset: int
    value: Any
    key: Any = None
    headers: Headers = ()
    timestamp: int | None = None
    key_schema: Schema | None = None
    value_schema: Schema | None = None
    original_topic: str = ""
    original_partition: int = -1

    def __post_init__(self) -> None:
        if not self.original_topic:
            object.__setattr__(self, "original_topic", self.topic)
        if self.original_partition < 0:
            object.__setattr__(self, "original_partition", self.partition)

    def replace(self, **changes: Any) -> SinkRecord:
        return dataclasses.replace(self, **changes)


ConnectRecord = SourceRecord | SinkRecord
"""Either kind of record: what transforms and predicates see."""


@dataclass(frozen=True, slots=True)
class TopicPartition:
    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}-{self.partition}"
