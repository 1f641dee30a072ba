"""FileStreamSink against real files: line format, one write per batch, fsync on flush."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
from pathlib import Path
from typing import Any

import pytest

from ferry.api import (
    ConnectError,
    SinkRecord,
    SinkRecordBatch,
    SourceTaskContext,
    TopicPartition,
)
from ferry.connectors import file_sink
from ferry.connectors.file_sink import FileStreamSinkConnector, FileStreamSinkTask
from ferry.connectors.file_source import FileStreamSourceTask


def records(*values: Any) -> list[SinkRecord]:
    return [SinkRecord(topic="t", partition=0, offset=i, value=v) for i, v in enumerate(values)]


def make_task(path: Path, **config: Any) -> FileStreamSinkTask:
    task = FileStreamSinkTask()
    task.start({"file": str(path), **config})
    return task


def test_appends_one_line_per_record_after_existing_content(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_bytes(b"kept\n")
    task = make_task(path)
    task.put(records("a", "b"))
    task.put(records("c"))
    task.put([])
    task.stop()
    assert path.read_bytes() == b"kept\na\nb\nc\n"


def test_value_types_are_written_like_kafka_connect_or_as_json(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    task = make_task(path)
    task.put(records("é", b"\xffraw", None, True, False, 42, 1.5,
                     {"id": 1, "name": "ü", "tags": ["x"]}, [1, 2]))
    task.stop()
    assert path.read_bytes().split(b"\n") == [
        "é".encode(), b"\xffraw", b"null", b"true", b"false", b"42", b"1.5",
        '{"id":1,"name":"ü","tags":["x"]}'.encode(), b"[1,2]", b"",
    ]


@pytest.mark.parametrize("value", [
    {"id": 1, "name": "ü", "nested": {"a": [1.5, True, "x\u0001"]}},
    {"nan": float("nan"), "inf": float("-inf")},  # orjson would write null
    {"big": 2**70, "negative": -(2**63) - 1},  # orjson refuses
    {1: "int key"},
    {"surrogate": "\ud800"},
    {"when": dt.datetime(2020, 1, 2, 3, 4, 5), "day": dt.date(2020, 1, 2),
     "amount": decimal.Decimal("1.50"), "raw": b"\x00"},
    [None, {"a": None}],
])
def test_json_lines_are_what_the_stdlib_encoder_writes(value: Any) -> None:
    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    assert file_sink.line_bytes(value) == expected.encode("utf-8", "replace")


def test_a_batch_of_dicts_is_one_json_line_each() -> None:
    values = [{"id": 1}, {"nan": float("nan")}, {2: "int key"}, None, "text", [1]]
    expected = b"".join(
        (v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))).encode() + b"\n"
        for v in values)
    assert file_sink.batch_bytes(records(*values)) == expected


def test_a_lazy_batch_is_written_from_its_values_without_building_records() -> None:
    def never() -> list[SinkRecord]:
        raise AssertionError("records built")

    batch = SinkRecordBatch(["a", "b"], never)
    assert file_sink.batch_bytes(batch) == b"a\nb\n"


def test_all_bytes_batches_are_written_as_they_are(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    task = make_task(path)
    task.put(records(b"one", b"\x00two"))
    task.stop()
    assert path.read_bytes() == b"one\n\x00two\n"


def test_each_put_is_one_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[int] = []
    real_write = os.write

    def counting_write(fd: int, data: Any) -> int:
        writes.append(len(data))
        return real_write(fd, data)

    task = make_task(tmp_path / "out.txt")
    monkeypatch.setattr(file_sink.os, "write", counting_write)
    task.put(records(*[f"line {i}" for i in range(1000)]))
    task.put(records("x", None, {"k": 1}))
    assert len(writes) == 2


def test_flush_fsyncs_written_data_before_offsets_are_committed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "out.txt"
    synced: list[bytes] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        real_fsync(fd)
        synced.append(path.read_bytes())  # what is on disk when fsync returns

    task = make_task(path)
    monkeypatch.setattr(file_sink.os, "fsync", recording_fsync)
    task.put(records("a"))
    offsets = {TopicPartition("t", 0): 1}
    assert task.pre_commit(offsets) == offsets
    task.flush(offsets)  # nothing new since: no second fsync
    task.put(records("b"))
    task.flush(offsets)
    assert synced == [b"a\n", b"a\nb\n"]


def test_fsync_false_only_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(file_sink.os, "fsync", calls.append)
    task = make_task(tmp_path / "out.txt", fsync="false")
    task.put(records("a"))
    task.flush({})
    assert calls == []


def test_unwritable_path_fails_at_start_with_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConnectError, match=r"missing/out\.txt"):
        make_task(tmp_path / "missing" / "out.txt")


def test_connector_requires_file_and_gives_every_task_the_file(tmp_path: Path) -> None:
    assert set(FileStreamSinkConnector.validate({})) == {"file"}
    connector = FileStreamSinkConnector()
    connector.start({"file": str(tmp_path / "o"), "topics": "t"})
    assert len(connector.task_configs(3)) == 3


@pytest.mark.parametrize("as_bytes", [False, True])
def test_source_to_sink_copies_a_file_exactly(tmp_path: Path, as_bytes: bool) -> None:
    data = b"".join(b"line %d \xc3\xa9\n" % i for i in range(20_000))
    src, dst = tmp_path / "in.txt", tmp_path / "out.txt"
    src.write_bytes(data)
    source = FileStreamSourceTask()
    source.initialize(SourceTaskContext())
    source.start({"file": str(src), "topic": "t", "value.bytes": as_bytes,
                  "poll.interval.ms": 0})
    sink = make_task(dst)
    while batch := source.poll():
        sink.put([SinkRecord(topic="t", partition=0, offset=0, value=r.value) for r in batch])
    sink.flush({})
    sink.stop()
    assert dst.read_bytes() == data
