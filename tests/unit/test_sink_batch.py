"""The sink runner's fast path gives the records the careful path would, or gives up."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import KafkaError, Message

from ferry.api.converter import Converter
from ferry.api.records import SinkRecord
from ferry.converters.bytes import ByteArrayConverter
from ferry.converters.json import JsonConverter
from ferry.converters.simple_header import SimpleHeaderConverter
from ferry.converters.string import StringConverter
from ferry.runtime.sink_batch import BatchReader, Unusual, last_offsets


def _message(offset: int, value: bytes | None, key: bytes | None = None, *,
             topic: str = "orders", partition: int = 0,
             headers: list[tuple[str, bytes | None]] | None = None,
             timestamp: tuple[int, int] = (1, 1_700_000_000_000)) -> Any:
    return Message(topic=topic, partition=partition, offset=offset, key=key, value=value,
                   headers=headers, timestamp=timestamp)


def _careful(messages: list[Any], key: Converter, value: Converter,
             header: SimpleHeaderConverter) -> list[SinkRecord]:
    """What SinkTaskRunner's careful path builds, written out with the public API."""
    records = []
    for m in messages:
        topic = m.topic()
        key_schema, k = key.to_connect(topic, m.key())
        value_schema, v = value.to_connect(topic, m.value())
        headers = tuple((hk, header.to_connect_header(topic, hk, hv).value)
                        for hk, hv in m.headers() or ())
        kind, ts = m.timestamp()
        records.append(SinkRecord(topic=topic, partition=m.partition(), offset=m.offset(),
                                  key=k, value=v, headers=headers, timestamp=ts if kind else None,
                                  key_schema=key_schema, value_schema=value_schema))
    return records


def _configured(converter: Converter, config: dict[str, Any] | None = None,
                is_key: bool = False) -> Converter:
    converter.configure(config or {}, is_key)
    return converter


MESSAGES = [
    _message(0, b"first"),
    _message(1, None),                                   # a tombstone
    _message(2, "zweite Zeile äöü".encode(), key=b"k2"),
    _message(7, b"other partition", partition=3, key=b"k7"),
    _message(3, b"with headers", headers=[("trace", b"abc"), ("empty", None)]),
    _message(4, b"no timestamp", timestamp=(0, -1)),
    _message(9, b"other topic", topic="payments"),
]


@pytest.mark.parametrize("make", [
    lambda: (_configured(StringConverter(), is_key=True), _configured(StringConverter())),
    lambda: (_configured(ByteArrayConverter(), is_key=True), _configured(ByteArrayConverter())),
    lambda: (_configured(StringConverter(), {"converter.encoding": "ISO-8859-1"}, True),
             _configured(StringConverter(), {"converter.encoding": "ISO-8859-1"})),
], ids=["string", "bytes", "latin-1"])
def test_fast_path_equals_the_careful_path(make: Any) -> None:
    key, value = make()
    header = SimpleHeaderConverter()
    records, last = BatchReader(key, value, header).read(MESSAGES)
    assert records == _careful(MESSAGES, key, value, header)
    assert last == {("orders", 0): 4, ("orders", 3): 7, ("payments", 0): 9}


@pytest.mark.parametrize("make", [
    lambda: (_configured(StringConverter(), is_key=True), _configured(StringConverter())),
    lambda: (_configured(ByteArrayConverter(), is_key=True), _configured(ByteArrayConverter())),
], ids=["string", "bytes"])
@pytest.mark.parametrize("messages", [
    MESSAGES,
    [_message(i, b"v%d" % i) for i in range(5)],  # no key, no tombstone, one partition
    [_message(0, None), _message(1, None, key=b"k")],  # tombstones only
], ids=["mixed", "plain", "tombstones"])
def test_a_lazy_batch_has_the_values_and_builds_the_same_records(
        make: Any, messages: list[Any]) -> None:
    key, value = make()
    header = SimpleHeaderConverter()
    reader = BatchReader(key, value, header)
    assert reader.fixed_schemas
    batch, last = reader.read_batch(messages)
    careful = _careful(messages, key, value, header)
    assert batch.values == [r.value for r in careful]
    assert len(batch) == len(careful)
    assert list(batch) == careful and batch[0] is batch[0]
    assert last == reader.read(messages)[1]


def test_converters_without_a_fixed_schema_are_called_per_record() -> None:
    key = _configured(StringConverter(), is_key=True)
    value = _configured(JsonConverter(), {"schemas.enable": "false"})
    messages = [_message(0, b'{"id": 1, "tags": ["a"]}'), _message(1, None),
                _message(2, b"[1, 2.5]", key=b"k")]
    records, _ = BatchReader(key, value, SimpleHeaderConverter()).read(messages)
    assert records == _careful(messages, key, value, SimpleHeaderConverter())
    assert [r.value for r in records] == [{"id": 1, "tags": ["a"]}, None, [1, 2.5]]


def test_a_value_that_does_not_convert_sends_the_batch_the_careful_way() -> None:
    reader = BatchReader(_configured(StringConverter(), is_key=True),
                         _configured(StringConverter()), SimpleHeaderConverter())
    with pytest.raises(Unusual):
        reader.read([_message(0, b"fine"), _message(1, b"\xff\xfe not utf-8")])
    json_reader = BatchReader(_configured(StringConverter(), is_key=True),
                              _configured(JsonConverter()), SimpleHeaderConverter())
    with pytest.raises(Unusual):
        json_reader.read([_message(0, b"{not json")])


def test_a_consumer_error_in_the_batch_sends_it_the_careful_way() -> None:
    error = Message(topic="orders", partition=0, offset=5,
                    error=KafkaError(KafkaError._PARTITION_EOF))
    reader = BatchReader(_configured(StringConverter(), is_key=True),
                         _configured(StringConverter()), SimpleHeaderConverter())
    with pytest.raises(Unusual):
        reader.read([_message(0, b"fine"), error])


def test_an_overridden_to_connect_is_honoured() -> None:
    class Shouting(StringConverter):
        def to_connect(self, topic: str, data: bytes | None) -> Any:
            sv = super().to_connect(topic, data)
            return sv._replace(value=sv.value.upper() if sv.value else sv.value)

    value = _configured(Shouting())
    records, _ = BatchReader(_configured(StringConverter(), is_key=True), value,
                             SimpleHeaderConverter()).read([_message(0, b"quiet")])
    assert records[0].value == "QUIET"


@pytest.mark.parametrize("messages", [
    MESSAGES,
    [m for m in MESSAGES if m.topic() == "orders"],                 # one topic, two partitions
    [_message(i, b"v", partition=i % 3) for i in range(10)],        # interleaved
    [_message(5, b"only")],
], ids=["two-topics", "one-topic", "interleaved", "one"])
def test_last_offsets_is_the_last_offset_of_each_partition(messages: list[Any]) -> None:
    expected: dict[tuple[str, int], int] = {}
    for m in messages:
        expected[(m.topic(), m.partition())] = m.offset()
    assert last_offsets(messages) == expected
