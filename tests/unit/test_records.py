"""The fast generated ``__init__``/``replace`` of the records behave as the dataclass ones, and
a SourceRecordBatch reads as the records it stands for."""

from __future__ import annotations

import dataclasses

import pytest

from ferry.api.records import SinkRecord, SourceRecord, SourceRecordBatch
from ferry.api.schema import INT64, STRING


def _sink(**changes: object) -> SinkRecord:
    fields: dict[str, object] = {"topic": "t", "partition": 2, "offset": 7, "value": b"v"}
    return SinkRecord(**{**fields, **changes})  # type: ignore[arg-type]


def test_sink_record_defaults_and_post_init() -> None:
    record = _sink()
    assert (record.key, record.headers, record.timestamp) == (None, (), None)
    assert (record.original_topic, record.original_partition) == ("t", 2)
    assert _sink(original_topic="o", original_partition=0).original_topic == "o"


def test_records_stay_frozen_and_strict() -> None:
    record = _sink()
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.value = b"x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        SinkRecord(topic="t")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        SinkRecord("t", 1, 2, b"v")  # type: ignore[misc]
    with pytest.raises(TypeError):
        record.replace(nope=1)


@pytest.mark.parametrize("changes", [{}, {"value": None}, {"topic": "u", "partition": 5},
                                     {"original_topic": "", "original_partition": -1,
                                      "topic": "w"}])
def test_sink_replace_matches_dataclasses_replace(changes: dict[str, object]) -> None:
    record = _sink(key=b"k", headers=(("h", b"1"),), timestamp=3)
    assert record.replace(**changes) == dataclasses.replace(record, **changes)  # type: ignore[arg-type]
    assert record.replace(**changes) is not record


def test_source_replace_and_equality() -> None:
    record = SourceRecord(source_partition={"f": "a"}, source_offset={"p": 1}, topic="t",
                          value="x")
    copy = record.replace(value="y", value_schema=None)
    assert copy == dataclasses.replace(record, value="y")
    assert copy != record and record.value == "x"
    assert repr(copy).startswith("SourceRecord(source_partition={'f': 'a'}")


def test_with_value_and_with_key_are_replace_of_one_side() -> None:
    sink = _sink(key=b"k", headers=(("h", b"1"),), timestamp=3, topic="routed",
                 original_topic="t", original_partition=0)
    assert sink.with_value(STRING, "v") == sink.replace(value_schema=STRING, value="v")
    assert sink.with_key(INT64, 5) == sink.replace(key_schema=INT64, key=5)
    assert sink.with_value(None, None).original_topic == "t"
    source = SourceRecord(source_partition={"f": "a"}, source_offset={"p": 1}, topic="t",
                          value="x", key=b"k", partition=1, timestamp=9)
    assert source.with_value(STRING, "y") == source.replace(value_schema=STRING, value="y")
    assert source.with_key(None, None) == source.replace(key_schema=None, key=None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        source.with_value(None, 1).value = 2  # type: ignore[misc]


def test_a_source_record_batch_reads_as_constructed_records() -> None:
    partition = {"filename": "f"}
    batch = SourceRecordBatch(source_partition=partition, topic="t", values=["a", "b", "c"],
                              offsets=[{"position": n} for n in (2, 4, 6)], keys=[1, 2, 3],
                              key_schema=INT64, value_schema=STRING)
    expected = [SourceRecord(source_partition=partition, source_offset={"position": 2 * n},
                             topic="t", value=value, key=n, key_schema=INT64,
                             value_schema=STRING)
                for n, value in ((1, "a"), (2, "b"), (3, "c"))]
    assert len(batch) == 3
    assert batch == expected and list(batch) == expected
    assert batch[-1] == expected[-1] and batch[1:] == expected[1:]
    assert repr(batch[0]) == repr(expected[0])
    assert batch[0] is batch[0]  # built once
    with pytest.raises(dataclasses.FrozenInstanceError):
        batch[0].value = "x"  # type: ignore[misc]


def test_a_source_record_batch_of_utf8_values_decodes_them_on_access() -> None:
    batch = SourceRecordBatch(source_partition={}, topic="t", utf8_values=[b"a", "é".encode()],
                              offsets=[{"p": 1}, {"p": 2}], value_schema=STRING)
    assert len(batch) == 2 and batch.utf8_values == [b"a", b"\xc3\xa9"]
    assert batch.values == ["a", "é"]
    assert batch == [SourceRecord(source_partition={}, source_offset={"p": n}, topic="t",
                                  value=v, value_schema=STRING) for n, v in ((1, "a"), (2, "é"))]
    with pytest.raises(ValueError, match="either values or utf8_values"):
        SourceRecordBatch(source_partition={}, topic="t", offsets=[])
    with pytest.raises(ValueError, match="either values or utf8_values"):
        SourceRecordBatch(source_partition={}, topic="t", values=[], utf8_values=[], offsets=[])
    with pytest.raises(ValueError, match="one offset"):
        SourceRecordBatch(source_partition={}, topic="t", utf8_values=[b"x"], offsets=[])


def test_a_source_record_batch_without_keys_and_with_bad_lengths() -> None:
    batch = SourceRecordBatch(source_partition={}, topic="t", values=[b"x"],
                              offsets=[{"seq": 0}])
    [record] = batch
    assert (record.key, record.key_schema, record.value_schema) == (None, None, None)
    assert (record.partition, record.headers, record.timestamp) == (None, (), None)
    with pytest.raises(ValueError, match="one offset"):
        SourceRecordBatch(source_partition={}, topic="t", values=[1, 2], offsets=[{}])
    with pytest.raises(ValueError, match="one offset"):
        SourceRecordBatch(source_partition={}, topic="t", values=[1], offsets=[{}], keys=[])
