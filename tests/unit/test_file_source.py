"""FileStreamSource against real files: offsets, partial lines, following, rotation, memory."""

from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil
import pytest

from ferry.api import ConfigError, OffsetReader, SourceRecord, SourceRecordBatch, SourceTaskContext
from ferry.api.schema import BYTES, STRING
from ferry.connectors.file_source import (
    FileStreamSourceConnector,
    FileStreamSourceTask,
    complete_length,
    split_lines,
)


class MemoryOffsets(OffsetReader):
    def __init__(self, stored: dict[str, dict[str, Any]] | None = None) -> None:
        self.stored = stored or {}

    def offset(self, source_partition: Mapping[str, Any]) -> dict[str, Any] | None:
        return self.stored.get(json.dumps(dict(source_partition), sort_keys=True))

    def commit(self, record: SourceRecord) -> None:
        key = json.dumps(dict(record.source_partition), sort_keys=True)
        self.stored[key] = dict(record.source_offset)


def make_task(path: Path, offsets: MemoryOffsets | None = None,
              **config: Any) -> FileStreamSourceTask:
    task = FileStreamSourceTask()
    task.initialize(SourceTaskContext(offsets or MemoryOffsets()))
    task.start({"file": str(path), "topic": "lines", "poll.interval.ms": 10,
                **{k.replace("_", "."): v for k, v in config.items()}})
    return task


def drain(task: FileStreamSourceTask) -> list[SourceRecord]:
    """Poll until a poll returns nothing (the task reached the end of the file)."""
    out: list[SourceRecord] = []
    while batch := task.poll():
        out.extend(batch)
    return out


def values(records: list[SourceRecord]) -> list[Any]:
    return [r.value for r in records]


def positions(records: list[SourceRecord]) -> list[int]:
    return [r.source_offset["position"] for r in records]


def test_records_carry_kafka_connect_partition_offset_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(b"a\nbb\nccc\n")
    records = drain(make_task(path))
    assert values(records) == ["a", "bb", "ccc"]
    assert positions(records) == [2, 5, 9]
    first = records[0]
    assert first.source_partition == {"filename": str(path)}
    assert (first.topic, first.key, first.value_schema) == ("lines", None, STRING)


def test_resumes_after_the_committed_position(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(b"a\nbb\nccc\n")
    offsets = MemoryOffsets()
    first = make_task(path, offsets)
    records = first.poll()
    offsets.commit(records[1])  # "bb" acknowledged; "ccc" was not
    first.stop()
    assert values(drain(make_task(path, offsets))) == ["ccc"]


def test_rejects_an_offset_that_is_not_a_byte_position(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(b"a\n")
    reader = MemoryOffsets({json.dumps({"filename": str(path)}): {"position": "12"}})
    with pytest.raises(Exception, match="not a byte offset"):
        make_task(path, reader).poll()


def test_partial_last_line_waits_for_its_terminator(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(b"a\nb")
    task = make_task(path)
    assert values(task.poll()) == ["a"]
    assert task.poll() == []
    with path.open("ab") as f:
        f.write(b"c\nd")
    records = task.poll()
    assert values(records) == ["bc"] and positions(records) == [5]


def test_follows_appends_and_waits_at_most_the_poll_interval(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(b"one\n")
    task = make_task(path, poll_interval_ms=200)
    assert values(task.poll()) == ["one"]
    started = time.monotonic()
    assert task.poll() == []
    assert 0.15 <= time.monotonic() - started < 1.0
    with path.open("ab") as f:
        f.write(b"two\nthree\n")
    assert values(drain(task)) == ["two", "three"]


def test_stop_wakes_a_waiting_poll(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(b"")
    task = make_task(path, poll_interval_ms=10_000)
    threading.Timer(0.2, task.stop).start()
    started = time.monotonic()
    assert task.poll() == []
    assert time.monotonic() - started < 2


def test_waits_for_a_missing_file_to_appear(tmp_path: Path) -> None:
    path = tmp_path / "later.txt"
    task = make_task(path)
    assert task.poll() == []
    path.write_bytes(b"here\n")
    assert values(drain(task)) == ["here"]


def test_line_terminators_are_kafka_connects(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(b"a\r\nb\rc\n")
    records = drain(make_task(path))
    assert values(records) == ["a", "b", "c"]
    assert positions(records) == [3, 5, 7]


def test_a_trailing_cr_waits_to_see_if_lf_follows(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(b"a\r")
    task = make_task(path)
    assert task.poll() == []
    with path.open("ab") as f:
        f.write(b"\nb\n")
    records = drain(task)
    assert values(records) == ["a", "b"] and positions(records) == [3, 5]


def test_utf8_with_malformed_bytes_replaced_and_byte_positions(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes("é\n".encode() + b"\xff\nz\n")
    records = drain(make_task(path))
    assert values(records) == ["é", "\ufffd", "z"]
    assert positions(records) == [3, 5, 7]


def test_value_bytes_emits_raw_lines(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(b"\xff\x00x\ny\r\n")
    records = drain(make_task(path, value_bytes="true"))
    assert values(records) == [b"\xff\x00x", b"y"]
    assert records[0].value_schema == BYTES


@pytest.mark.parametrize("buffer", [1, 2, 3, 7, 64, 4096])
@pytest.mark.parametrize("as_bytes", [False, True])
def test_chunk_boundaries_never_change_the_lines(tmp_path: Path, buffer: int,
                                                 as_bytes: bool) -> None:
    rnd = random.Random(buffer)
    parts = [rnd.choice([b"\n", b"\r\n", b"\r", "ü".encode(), b"x", b"yz", b"\xff"])
             for _ in range(3000)]
    data = b"".join(parts) + b"\n"
    path = tmp_path / "in.txt"
    path.write_bytes(data)
    records = drain(make_task(path, read_buffer_bytes=buffer, value_bytes=str(as_bytes)))
    expected = data.splitlines()
    assert values(records) == (expected if as_bytes else
                               [e.decode("utf-8", "replace") for e in expected])
    ends = [m.end() for m in re.finditer(rb"\r\n|\r|\n", data)]
    assert positions(records) == ends


@pytest.mark.parametrize("buffer", [3, 64, 4096])
@pytest.mark.parametrize("text", ["ascii", "mixed"])
def test_each_batch_knows_its_last_offset_and_every_offset(tmp_path: Path, buffer: int,
                                                           text: str) -> None:
    rnd = random.Random(buffer)
    pieces = [b"\n", b"x", b"yz"] + ([b"\r\n", "ü".encode()] if text == "mixed" else [])
    data = b"".join(rnd.choice(pieces) for _ in range(3000)) + b"\n"
    path = tmp_path / "in.txt"
    path.write_bytes(data)
    task = make_task(path, read_buffer_bytes=buffer, batch_size=70)
    ends = [m.end() for m in re.finditer(rb"\r\n|\r|\n", data)]
    seen: list[int] = []
    while batch := task.poll():
        assert isinstance(batch, SourceRecordBatch)
        offsets, first = batch.offsets, len(seen)
        assert len(offsets) == len(batch)
        # The runtime's read (the last, known without summing the others), then any other.
        assert offsets[-1] == {"position": ends[first + len(batch) - 1]}
        assert offsets[len(batch) // 2] == {"position": ends[first + len(batch) // 2]}
        seen += [offset["position"] for offset in offsets]
    assert seen == ends
    task.stop()


def test_split_helpers_agree_on_ascii_and_non_ascii() -> None:
    block = "a\nbé\n\nc\n".encode()
    assert complete_length(block + b"tail") == len(block)
    lines, ends, encoded = split_lines(block, 10, as_text=True)
    assert lines == ["a", "bé", "", "c"] and ends == [12, 16, 17, 19] and not encoded
    # ASCII text stays bytes: nothing to decode, and the converter need not encode it again.
    assert split_lines(b"a\nbc\n", 0, as_text=True) == ([b"a", b"bc"], [2, 5], True)
    assert split_lines(b"a\nbc\n", 0, as_text=False) == ([b"a", b"bc"], [2, 5], False)


def test_ascii_text_is_passed_as_utf8_values_and_reads_as_str(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(b"one\ntwo\n")
    batch = make_task(path).poll()
    assert isinstance(batch, SourceRecordBatch) and batch.utf8_values == [b"one", b"two"]
    assert values(batch) == ["one", "two"] and batch.values == ["one", "two"]


def test_a_batch_over_ascii_and_non_ascii_blocks_holds_str(tmp_path: Path) -> None:
    # A 16-byte read buffer: the first block is ASCII, the next is not, one batch spans both.
    path = tmp_path / "in.txt"
    lines = ["ascii-1", "ascii-2", "naïve-3", "ascii-4", "ascii-5", "ünï-6"]
    path.write_bytes("".join(f"{line}\n" for line in lines).encode())
    records = drain(make_task(path, read_buffer_bytes=16, batch_size=4))
    assert values(records) == lines
    assert all(isinstance(v, str) for v in values(records))
    assert positions(records)[-1] == path.stat().st_size


def test_batch_size_bounds_each_poll(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(b"".join(b"%d\n" % i for i in range(5000)))
    task = make_task(path, batch_size=2000)
    assert [len(task.poll()) for _ in range(4)] == [2000, 2000, 1000, 0]


def test_truncation_restarts_from_the_start_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(b"first\nsecond\n")
    task = make_task(path)
    assert values(drain(task)) == ["first", "second"]
    with path.open("r+b") as f:  # same inode, shorter content: copytruncate
        f.truncate(0)
        f.write(b"new\n")
    with caplog.at_level(logging.WARNING):
        records = drain(task)
    assert values(records) == ["new"] and positions(records) == [4]
    assert "truncated" in caplog.text


def test_committed_position_past_the_end_restarts_from_zero(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(b"short\n")
    reader = MemoryOffsets({json.dumps({"filename": str(path)}): {"position": 1000}})
    with caplog.at_level(logging.WARNING):
        assert values(drain(make_task(path, reader))) == ["short"]
    assert "shorter" in caplog.text


def test_rotation_drains_the_old_file_then_reads_the_new_one(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(b"old-1\n")
    task = make_task(path)
    assert values(task.poll()) == ["old-1"]
    with path.open("ab") as writer:  # the writer still holds the old file after the rename
        os.rename(path, tmp_path / "app.log.1")
        writer.write(b"old-2\n")
    path.write_bytes(b"new-1\n")
    records = drain(task)
    assert values(records) == ["old-2", "new-1"]
    assert positions(records) == [12, 6]
    assert records[-1].source_partition == {"filename": str(path)}


def test_streams_a_200_mb_file_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    line = b"x" * 99 + b"\n"
    block = line * 10_000
    with path.open("wb") as f:
        for _ in range(200):
            f.write(block)
    size = path.stat().st_size
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = baseline
    task = make_task(path, batch_size=5000)
    count, last = 0, 0
    while batch := task.poll():
        count += len(batch)
        last = batch[-1].source_offset["position"]
        if count % 100_000 == 0:
            peak = max(peak, process.memory_info().rss)
    assert count == 2_000_000 and last == size
    # The file is 200 MB; the task holds one 1 MiB chunk of lines at a time.
    assert peak - baseline < 64 * 1024 * 1024


def test_connector_runs_one_task_and_validates(tmp_path: Path) -> None:
    connector = FileStreamSourceConnector()
    config = {"file": str(tmp_path / "f"), "topic": "t"}
    connector.start(config)
    assert connector.task_configs(5) == [config]
    assert connector.task_configs(0) == []
    problems = FileStreamSourceConnector.validate({"batch.size": "0"})
    assert set(problems) == {"file", "topic", "batch.size"}
    with pytest.raises(ConfigError):
        FileStreamSourceConnector().start({"topic": "t"})


def test_exactly_once_replays_nothing_and_skips_nothing_after_any_committed_batch(
        tmp_path: Path) -> None:
    # What the transactional runner relies on: the last offset of a committed batch is all a
    # restarted task needs to emit exactly the lines that follow, at any batch boundary.
    assert FileStreamSourceConnector.exactly_once_support is True
    path = tmp_path / "in.txt"
    lines = [f"line-{i}-" + "é" * (i % 3) for i in range(50)]
    path.write_bytes("".join(f"{line}\r\n" if i % 7 == 0 else f"{line}\n"
                             for i, line in enumerate(lines)).encode())
    for batch_size in (1, 3, 7, 50):
        offsets = MemoryOffsets()
        emitted: list[Any] = []
        while True:
            task = make_task(path, offsets, batch_size=batch_size, read_buffer_bytes=16)
            batch = task.poll()
            task.poll()  # read past the batch: a crash here must not lose those lines
            task.stop()
            if not batch:
                break
            emitted.extend(values(batch))
            offsets.commit(batch[-1])  # the transaction commits the batch's last offset
        assert emitted == lines, batch_size
