"""The fast generated ``__init__``/``replace`` of the records behave as the dataclass ones."""

from __future__ import annotations

import dataclasses

import pytest

from ferry.api.records import SinkRecord, SourceRecord


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
