"""`ferry run` end to end against the real broker: a file in, a topic, a file out."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil
import pytest
from confluent_kafka.admin import AdminClient

from tests.conftest import create_topic
from tests.helpers import FerryProcess, consume_all, line_count, wait_for, write_connector

pytestmark = pytest.mark.integration


def _lines(path: Path, count: int, width: int = 20) -> list[str]:
    lines = [f"line-{i:09d}-".ljust(width, "x") for i in range(count)]
    path.write_text("".join(line + "\n" for line in lines))
    return lines


def _all_running(status: dict) -> bool:
    return status["connector"]["state"] == "RUNNING" and bool(status["tasks"]) and all(
        t["state"] == "RUNNING" for t in status["tasks"])


def test_file_to_topic_to_file_every_line_once_in_order(
        tmp_path: Path, bootstrap: str, admin: AdminClient, unique: str) -> None:
    topic = create_topic(admin, f"lines-{unique}")
    source_file, sink_file = tmp_path / "in.txt", tmp_path / "out.txt"
    lines = _lines(source_file, 20_000)
    source = write_connector(tmp_path / "source.yaml", f"src-{unique}", "FileStreamSource",
                             {"file": str(source_file), "topic": topic})
    sink = write_connector(tmp_path / "sink.yaml", f"sink-{unique}", "FileStreamSink",
                           {"file": str(sink_file), "topics": topic,
                            "offset.flush.interval.ms": 500})
    with FerryProcess([source, sink], bootstrap, tmp_path) as ferry:
        statuses = ferry.wait_status(lambda s: all(_all_running(c) for c in s))
        assert {c["type"] for c in statuses} == {"source", "sink"}
        wait_for(lambda: line_count(sink_file) >= len(lines), 60, "the sink file")
        # Appending to the source file flows through too: the source follows the file.
        with open(source_file, "a") as handle:
            handle.write("appended\n")
        wait_for(lambda: line_count(sink_file) == len(lines) + 1, 30, "the appended line")
        assert ferry.terminate() == 0
    assert sink_file.read_text().splitlines() == [*lines, "appended"]
    in_topic = [m.value().decode() for m in consume_all(bootstrap, topic, len(lines) + 1)]
    assert in_topic == [*lines, "appended"]


def test_sigkill_and_restart_loses_nothing(
        tmp_path: Path, bootstrap: str, admin: AdminClient, unique: str) -> None:
    topic = create_topic(admin, f"kill-{unique}")
    source_file = tmp_path / "in.txt"
    # Enough lines that the kill lands mid-file on a quiet machine too (400,000 did not).
    lines = _lines(source_file, 1_500_000)
    source = write_connector(tmp_path / "source.yaml", f"src-{unique}", "FileStreamSource",
                             {"file": str(source_file), "topic": topic,
                              "offset.flush.interval.ms": 200})
    ferry = FerryProcess([source], bootstrap, tmp_path).start()
    try:
        ferry.wait_status(_all_running)
        offsets_file = tmp_path / "offsets.json"
        wait_for(offsets_file.exists, 30, "a first offset commit")
        time.sleep(0.3)
        ferry.kill()
    finally:
        ferry.kill()
    partial = consume_all(bootstrap, topic, idle=2)
    assert 0 < len(partial) < len(lines), "kill the process in the middle of the file"

    with FerryProcess([source], bootstrap, tmp_path) as restarted:
        restarted.wait_status(_all_running)
        values = [m.value().decode() for m in consume_all(bootstrap, topic, idle=4, timeout=120)]
        assert restarted.terminate() == 0
    assert set(values) == set(lines), "every line reached the topic"
    duplicates = len(values) - len(lines)
    # What is seen twice is bounded by what was produced after the last committed offset.
    assert duplicates <= len(partial)
    first = {v: i for i, v in reversed(list(enumerate(values)))}
    assert sorted(first, key=first.__getitem__) == lines, "first occurrences stay in order"



def test_exactly_once_source_in_standalone_mode_survives_sigkill(
        tmp_path: Path, bootstrap: str, admin: AdminClient, unique: str) -> None:
    """Offsets go in the transaction (to the offsets topic), so ``ferry run`` resumes there."""
    topic = create_topic(admin, f"eos-{unique}")
    source_file = tmp_path / "in.txt"
    lines = _lines(source_file, 300_000)
    # Small batches, one transaction each: the kills land in the middle of the file.
    source = write_connector(tmp_path / "source.yaml", f"eos-{unique}", "FileStreamSource",
                             {"file": str(source_file), "topic": topic, "batch.size": 50,
                              "exactly.once.support": "required",
                              "offset.flush.interval.ms": 200})
    for _ in range(2):
        ferry = FerryProcess([source], bootstrap, tmp_path).start()
        try:
            ferry.wait_status(_all_running)
            wait_for(lambda: len(consume_all(bootstrap, topic, expected=1, idle=0.5,
                                             isolation="read_committed")) > 0,
                     30, "a first committed transaction")
            time.sleep(0.3)
        finally:
            ferry.kill()
    committed = consume_all(bootstrap, topic, idle=1, isolation="read_committed")
    assert len(committed) < len(lines), "kill the process in the middle of the file"

    with FerryProcess([source], bootstrap, tmp_path) as restarted:
        restarted.wait_status(_all_running)
        values = [m.value().decode() for m in consume_all(
            bootstrap, topic, expected=len(lines), idle=6, timeout=120,
            isolation="read_committed")]
        assert restarted.terminate() == 0
    assert values == lines, "every line exactly once, in order, after two SIGKILLs"

def test_large_file_streams_with_flat_memory(
        tmp_path: Path, bootstrap: str, admin: AdminClient, unique: str) -> None:
    topic = create_topic(admin, f"big-{unique}", config={"retention.bytes": str(2 << 30)})
    source_file = tmp_path / "big.txt"
    line = ("x" * 1023 + "\n").encode()
    chunk = line * 1024  # 1 MiB
    with open(source_file, "wb") as handle:
        for _ in range(1024):  # 1 GiB
            handle.write(chunk)
    total_lines = 1024 * 1024
    source = write_connector(tmp_path / "source.yaml", f"big-{unique}", "FileStreamSource",
                             {"file": str(source_file), "topic": topic,
                              "offset.flush.interval.ms": 1000})
    with FerryProcess([source], bootstrap, tmp_path) as ferry:
        ferry.wait_status(_all_running)
        assert ferry.proc is not None
        process = psutil.Process(ferry.proc.pid)
        peak = 0

        def done() -> bool:
            nonlocal peak
            peak = max(peak, process.memory_info().rss)
            _, body = ferry.get("/metrics")
            for metric in body.splitlines():
                if metric.startswith("ferry_source_records_written_total{"):
                    return float(metric.rsplit(" ", 1)[1]) >= total_lines
            return False

        wait_for(done, 300, "1 GiB to be produced")
        assert ferry.terminate() == 0
    os.unlink(source_file)
    # Loose bound: the producer queue (64 MiB max) plus the interpreter, far below the file.
    assert peak < 350 * 1024 * 1024, f"peak RSS {peak / 2**20:.0f} MiB"
