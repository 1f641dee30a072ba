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
from typing import Any

from ferry.api.converter import Converter, HeaderConverter, SchemaAndValue
from ferry.api.records import SinkRecord
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


def _same(data: bytes) -> bytes:
    return data


class BatchReader:
    """Turns a batch of consumed messages into :class:`SinkRecord` objects (without transforms),
    exactly as the careful path would, or raises if the batch needs the careful path."""

    def __init__(self, key: Converter, value: Converter, header: HeaderConverter) -> None:
        self._key = _Reader(key)
        self._value = _Reader(value)
        self._header = header.to_connect_header
        slots = {name: getattr(SinkRecord, name).__set__ for name in SinkRecord.__slots__}
        self._setters = tuple(slots[name] for name in (
            "topic", "partition", "offset", "key", "value", "headers", "timestamp",
            "key_schema", "value_schema", "original_topic", "original_partition"))

    def read(self, messages: Sequence[Any]) -> tuple[list[SinkRecord], LastOffsets]:
        (set_topic, set_partition, set_offset, set_key, set_value, set_headers, set_timestamp,
         set_key_schema, set_value_schema, set_original_topic, set_original_partition
         ) = self._setters
        new, cls = object.__new__, SinkRecord
        key_r, value_r, header = self._key, self._value, self._header
        key_decode, key_const, key_convert = key_r.decode, key_r.schema, key_r.convert
        value_decode, value_const, value_convert = value_r.decode, value_r.schema, value_r.convert
        key_null, value_null = key_r.null, value_r.null
        records: list[SinkRecord] = []
        append = records.append
        last: LastOffsets = {}
        try:
            for message in messages:
                if message.error() is not None:
                    raise Unusual("consumer error")
                topic = message.topic()
                partition = message.partition()
                offset = message.offset()
                raw = message.key()
                if key_decode is None:
                    key_schema, key = key_convert(topic, raw)
                elif raw is None:
                    key_schema, key = key_null
                else:
                    key_schema, key = key_const, key_decode(raw)
                raw = message.value()
                if value_decode is None:
                    value_schema, value = value_convert(topic, raw)
                elif raw is None:
                    value_schema, value = value_null
                else:
                    value_schema, value = value_const, value_decode(raw)
                raw_headers = message.headers()
                timestamp_type, timestamp = message.timestamp()
                record = new(cls)
                set_topic(record, topic)
                set_partition(record, partition)
                set_offset(record, offset)
                set_key(record, key)
                set_value(record, value)
                set_headers(record, tuple((k, header(topic, k, v).value)
                                          for k, v in raw_headers) if raw_headers else ())
                set_timestamp(record, timestamp if timestamp_type else None)
                set_key_schema(record, key_schema)
                set_value_schema(record, value_schema)
                set_original_topic(record, topic)
                set_original_partition(record, partition)
                append(record)
                last[topic, partition] = offset
        except Unusual:
            raise
        except Exception as exc:
            raise Unusual(str(exc)) from exc
        return records, last
