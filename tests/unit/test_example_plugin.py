"""The example in docs/writing-a-connector.md: a third-party connector found by entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ferry.api import OffsetReader, SourceTaskContext
from ferry.runtime.plugins import PluginKind, resolve
from ferry_counter import CounterConnector, CounterTask


class Committed(OffsetReader):
    def __init__(self, offsets: dict[int, int]) -> None:
        self.offsets = offsets

    def offset(self, source_partition: object) -> dict[str, int] | None:
        index = dict(source_partition)["counter"]  # type: ignore[call-overload]
        return {"next": self.offsets[index]} if index in self.offsets else None


def test_the_entry_point_resolves_to_the_connector() -> None:
    assert resolve(PluginKind.CONNECTOR, "Counter") is CounterConnector


def test_ferry_plugins_lists_it_with_its_distribution() -> None:
    ferry = str(Path(sys.executable).with_name("ferry"))
    listing = subprocess.run([ferry, "plugins"], capture_output=True, text=True, check=True)
    line = next(row for row in listing.stdout.splitlines() if " Counter " in row)
    assert "1.0.0" in line and "ferry-counter-connector" in line


def test_tasks_split_the_work_and_resume_from_committed_offsets() -> None:
    connector = CounterConnector()
    connector.start({"topic": "numbers", "count": "5", "batch.size": "2"})
    configs = connector.task_configs(2)
    assert [c["task.index"] for c in configs] == [0, 1]

    task = CounterTask()
    task.initialize(SourceTaskContext(Committed({1: 3})))
    task.start(configs[1])
    batch = task.poll()
    assert [r.value for r in batch] == [{"task": 1, "n": 3}, {"task": 1, "n": 4}]
    assert batch[-1].source_offset == {"next": 5}
    assert task.poll() == []  # count reached: nothing more


def test_bad_config_gets_one_message_per_field() -> None:
    assert CounterConnector.validate({"count": "-1", "batch.size": "many"}) == {
        "topic": "required; The topic to write numbers to.",
        "count": "must be at least 0, got -1",
        "batch.size": "expected an integer, got 'many'",
    }
