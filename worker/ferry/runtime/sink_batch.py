"""Consumed messages to sink records, a whole batch at a time: the sink runner's fast path.

The careful path (``SinkTaskRunner._deliver``) converts each message inside its own ``try``,
tracking which stage it is in so a failure names the stage and the record. That bookkeeping,
the keyword-argument ``SinkRecord(...)`` and one ``SchemaAndValue`` per converter call cost
about 2 µs a record, more than everything else the runner does. :class:`BatchReader` converts
a batch without them: slots stored through their descriptors (as ``SourceRecordBatch``
does for sources) and, for the built-in String and ByteArray converters, whose schema never
varies, the decode alone. It has no side effects, so when anything in a batch is unusual (a
consumer error, a value that does not convert) it raises and the runner converts that batch
again the careful way, which reports it exactly as before.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from confluent_kafka import Message

from ferry.api.converter import Converter, HeaderConverter, SchemaAndValue
from ferry.api.records import SinkRecord, SinkRecordBatch
from ferry.api.schema import Schema
from ferry.converters.bytes import ByteArrayConverter
from ferry.converters.string import StringConverter
from ferry.runtime.conversion import null_to_connect

# The last offset read per (topic, partition) of a batch.
LastOffsets = dict[tuple[str, int], int]


class Unusual(Exception):
    """The batch holds something the fast path does not handle; convert it the careful way."""


class _Reader:
    """How one converter's bytes become (schema, value): a constant schema and a decode
    function when the converter is a built-in one with a fixed schema, else ``to_connect``."""

    def __init__(self, converter: Converter) -> None:
        self.convert = converter.to_connect
        self.schema: Schema | None = None
        self.decode: Callable[[bytes], Any] | None = None
        method = getattr(type(converter), "to_connect", None)
        if method is StringConverter.to_connect:
            assert isinstance(converter, StringConverter)
            encoding = converter.encoding
            self.schema = converter.to_connect("", None).schema
            self.decode = (bytes.decode if codecs.lookup(encoding).name == "utf-8"
                           else lambda data: data.decode(encoding))
        elif method is ByteArrayConverter.to_connect:
            self.schema = converter.to_connect("", None).schema
            self.decode = _same
        # What None (a tombstone, a keyless record) becomes, used with ``decode`` (without
        # it, ``convert`` is called with None instead).
        self.null = null_to_connect(converter) or SchemaAndValue(None, None)

    def convert_all(self, topics: list[str] | None, raw: list[bytes | None]) -> _Converted:
        """Every message's bytes converted (``topics`` is needed without ``decode``)."""
        decode = self.decode
        if decode is None:
            assert topics is not None
            pairs = list(map(self.convert, topics, raw))
            return _Converted([p[1] for p in pairs], None, [p[0] for p in pairs])
        nulls = raw.count(None)
        if not nulls:  # no None in raw
            return _Converted(list(map(decode, raw)), self.schema, None)  # type: ignore[arg-type]
        null_schema, null = self.null
        values = [null if data is None else decode(data) for data in raw]
        if null_schema is self.schema:
            return _Converted(values, self.schema, None)
        return _Converted(values, None,
                          [null_schema if data is None else self.schema for data in raw])


def _same(data: bytes) -> bytes:
    return data


# confluent-kafka's Message accessors, for C-level map() over a batch.
_error: Callable[[Any], Any] = Message.error
_topic: Callable[[Any], Any] = Message.topic
_partition: Callable[[Any], Any] = Message.partition
_key: Callable[[Any], Any] = Message.key
_value: Callable[[Any], Any] = Message.value
_headers: Callable[[Any], Any] = Message.headers


@dataclass(slots=True)
class _Converted:
    """One side (keys or values) of a batch: a value per message and its schema, either one
    schema for all (``schemas`` None) or one per message."""
    values: list[Any]
    schema: Schema | None
    schemas: list[Schema | None] | None


class BatchReader:
    """Turns a batch of consumed messages into :class:`SinkRecord` objects (without transforms),
    exactly as the careful path would, or raises if the batch needs the careful path.

    Conversion (the part that can fail) is done for the whole batch first; the records are
    built from it then, or, by :meth:`read_batch`, only when the task reads them."""

    def __init__(self, key: Converter, value: Converter, header: HeaderConverter) -> None:
        self._key = _Reader(key)
        self._value = _Reader(value)
        self._header = header.to_connect_header
        slots = {name: getattr(SinkRecord, name).__set__ for name in SinkRecord.__slots__}
        self._setters = tuple(slots[name] for name in (
            "topic", "partition", "offset", "key", "value", "headers", "timestamp",
            "key_schema", "value_schema", "original_topic", "original_partition"))

    @property
    def fixed_schemas(self) -> bool:
        """Whether both converters have a fixed schema (String, ByteArray): then
        :meth:`read_batch` converts with C-level loops and builds no record up front."""
        return self._key.decode is not None and self._value.decode is not None

    def read(self, messages: Sequence[Any]) -> tuple[list[SinkRecord], LastOffsets]:
        keys, values, headers = self._convert(messages)
        return self._build(messages, keys, values, headers), last_offsets(messages)

    def read_batch(self, messages: Sequence[Any]) -> tuple[SinkRecordBatch, LastOffsets]:
        """:meth:`read`, with the records built only if the task reads them."""
        keys, values, headers = self._convert(messages)
        batch = SinkRecordBatch(values.values,
                                lambda: self._build(messages, keys, values, headers))
        return batch, last_offsets(messages)

    def _convert(self, messages: Sequence[Any]
                 ) -> tuple[_Converted, _Converted, list[Any] | None]:
        if any(map(_error, messages)):
            raise Unusual("consumer error")
        try:
            topics = None
            if self._key.decode is None or self._value.decode is None:
                topics = list(map(_topic, messages))
            keys = self._key.convert_all(topics, list(map(_key, messages)))
            values = self._value.convert_all(topics, list(map(_value, messages)))
            headers = None
            if any(map(_headers, messages)):
                header = self._header
                headers = [tuple((k, header(m.topic(), k, v).value) for k, v in raw)
                           if (raw := m.headers()) else () for m in messages]
        except Exception as exc:
            raise Unusual(str(exc)) from exc
        return keys, values, headers

    def _build(self, messages: Sequence[Any], keys: _Converted, values: _Converted,
               headers: list[Any] | None) -> list[SinkRecord]:
        (set_topic, set_partition, set_offset, set_key, set_value, set_headers, set_timestamp,
         set_key_schema, set_value_schema, set_original_topic, set_original_partition
         ) = self._setters
        new, cls = object.__new__, SinkRecord
        key_schemas = keys.schemas or repeat(keys.schema)
        value_schemas = values.schemas or repeat(values.schema)
        records: list[SinkRecord] = []
        append = records.append
        for message, key, key_schema, value, value_schema, record_headers in zip(
                messages, keys.values, key_schemas, values.values, value_schemas,
                headers or repeat(()), strict=False):  # repeat() is endless
            topic = message.topic()
            partition = message.partition()
            timestamp_type, timestamp = message.timestamp()
            record = new(cls)
            set_topic(record, topic)
            set_partition(record, partition)
            set_offset(record, message.offset())
            set_key(record, key)
            set_value(record, value)
            set_headers(record, record_headers)
            set_timestamp(record, timestamp if timestamp_type else None)
            set_key_schema(record, key_schema)
            set_value_schema(record, value_schema)
            set_original_topic(record, topic)
            set_original_partition(record, partition)
            append(record)
        return records


def last_offsets(messages: Sequence[Any]) -> LastOffsets:
    """The last offset of each (topic, partition) in ``messages``, found from the end (one
    step for a batch of one partition)."""
    topics = set(map(_topic, messages))
    if len(topics) == 1:  # the common case: no (topic, partition) tuple per message
        (topic,) = topics
        remaining = {(topic, partition) for partition in set(map(_partition, messages))}
    else:
        remaining = set(zip(map(_topic, messages), map(_partition, messages), strict=True))
    last: LastOffsets = {}
    for message in reversed(messages):
        where = (message.topic(), message.partition())
        if where in remaining:
            remaining.discard(where)
            last[where] = message.offset()
            if not remaining:
                break
    return last
