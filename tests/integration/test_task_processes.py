"""Sink tasks in processes of their own (``task.isolation=process``), against the real broker.

The worker is the real ``ferry run`` / ``ferry worker`` command; its tasks are real child
processes that consume, report status and metrics through the worker, stop with a commit,
and never outlive it.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil
import pytest
from confluent_kafka import Consumer
from confluent_kafka import TopicPartition as KafkaTP
from confluent_kafka.admin import AdminClient
from prometheus_client.parser import text_string_to_metric_families

from ferry import control
from ferry.status_reader import StatusReader
from tests.conftest import create_topic
from tests.helpers import (
    FerryProcess,
    WorkerGroup,
    produce_round_robin,
    wait_for,
    write_connector,
)
from tests.integration.distributed_helpers import all_running, wait_status
from tests.plugins import ledger_rows

pytestmark = pytest.mark.integration

LEDGER = "tests.plugins.LedgerSinkConnector"


def _ledger(ledgers: Path) -> dict[str, set[tuple[int, int]]]:
    """The (partition, offset) pairs each ledger file (one per task process) recorded."""
    seen: dict[str, set[tuple[int, int]]] = {}
    for path in ledgers.glob("*.ledger"):
        seen[path.stem] = {(int(p), int(o)) for kind, p, o in ledger_rows(path) if kind == "rec"}
    return seen


def _delivered(ledgers: Path) -> set[tuple[int, int]]:
    return set().union(*_ledger(ledgers).values())


def _task_processes(pid: int) -> list[psutil.Process]:
    """The worker's task processes (multiprocessing's spawned children)."""
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def _committed(bootstrap: str, group: str, topic: str, partitions: int) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        offsets = consumer.committed([KafkaTP(topic, p) for p in range(partitions)], timeout=10)
        return sum(max(tp.offset, 0) for tp in offsets)
    finally:
        consumer.close()


def _sink_put_by_task(text: str) -> dict[str, float]:
    families = [f for f in text_string_to_metric_families(text)
                if f.name == "ferry_sink_records_put"]
    assert len(families) == 1, "one family, whatever the number of task processes"
    return {s.labels["task"]: s.value for s in families[0].samples if s.name.endswith("_total")}


def test_standalone_runs_each_sink_task_in_its_own_process(
        tmp_path: Path, bootstrap: str, admin: AdminClient, unique: str) -> None:
    topic = create_topic(admin, f"proc-{unique}", partitions=4)
    produce_round_robin(bootstrap, topic, [f"v{i}".encode() for i in range(2000)], 4)
    ledgers = tmp_path / "ledgers"
    ledgers.mkdir()
    path = write_connector(tmp_path / "c.yaml", f"proc-{unique}", LEDGER, {
        "topics": topic, "ledger.dir": str(ledgers), "task.isolation": "process",
        "offset.flush.interval.ms": "200"}, tasks_max=2)
    with FerryProcess([path], bootstrap, tmp_path) as ferry:
        ferry.wait_status(lambda s: [t["state"] for t in s["tasks"]] == ["RUNNING", "RUNNING"])
        wait_for(lambda: len(_delivered(ledgers)) == 2000, 60, "every record in a ledger")
        assert ferry.proc is not None
        children = {p.pid for p in _task_processes(ferry.proc.pid)}
        assert len(children) == 2
        # The ledger is named after the process that wrote it: the two children, not the worker.
        writers = {int(stem.split("-")[0]) for stem in _ledger(ledgers)}
        assert writers == children and ferry.proc.pid not in writers
        # Both tasks' counters, whichever did the work (one may have read every partition
        # before the other joined the group).
        wait_for(lambda: _sink_put_by_task(ferry.get("/metrics")[1]).keys() == {"0", "1"}
                 and sum(_sink_put_by_task(ferry.get("/metrics")[1]).values()) == 2000, 30,
                 "the task processes' counters on the worker's /metrics")
        assert ferry.terminate() == 0
    # Each task committed what it had delivered on the way out, and its process ended.
    assert _committed(bootstrap, f"ferry-sink.default.proc-{unique}", topic, 4) == 2000
    assert not [pid for pid in children if psutil.pid_exists(pid)]
    assert _delivered(ledgers) == {(p, o) for p in range(4) for o in range(500)}


def test_a_failed_or_killed_task_process_is_reported_with_its_cause(
        tmp_path: Path, bootstrap: str, admin: AdminClient, unique: str) -> None:
    # Two connectors of one task each: a poison record fails one (every task that read it
    # would fail), and the other's process is SIGKILLed.
    poisoned = create_topic(admin, f"poison-{unique}")
    clean = create_topic(admin, f"clean-{unique}")
    produce_round_robin(bootstrap, poisoned, [b"not json"])
    paths = [write_connector(tmp_path / f"{name}.yaml", f"{name}-{unique}", LEDGER, {
        "topics": topic, "ledger.dir": str(tmp_path), "task.isolation": "process",
        "value.converter": "JsonConverter", "value.converter.schemas.enable": "false"})
        for name, topic in (("poison", poisoned), ("clean", clean))]

    def states(status: list[dict]) -> list[list[str]]:
        return [[t["state"] for t in connector["tasks"]] for connector in status]

    with FerryProcess(paths, bootstrap, tmp_path) as ferry:
        status = ferry.wait_status(lambda s: states(s) == [["FAILED"], ["RUNNING"]])
        trace = status[0]["tasks"][0]["trace"]
        assert "JSON" in trace or "json" in trace, trace
        assert ferry.get("/readyz")[0] == 503
        # The failed task's process ended; the one left is the clean connector's.
        assert ferry.proc is not None
        pid = ferry.proc.pid
        wait_for(lambda: len(_task_processes(pid)) == 1, 30, "the failed task's process to end")
        os.kill(_task_processes(pid)[0].pid, signal.SIGKILL)
        status = ferry.wait_status(lambda s: states(s) == [["FAILED"], ["FAILED"]])
        assert "killed by signal 9" in status[1]["tasks"][0]["trace"]
        assert ferry.terminate() == 0


def test_distributed_worker_pauses_resumes_and_its_task_processes_die_with_it(
        tmp_path: Path, bootstrap: str, admin: AdminClient, unique: str,
        client: control.ControlClient, statuses: StatusReader) -> None:
    connector_id = f"it/proc-{unique}"
    topic = create_topic(admin, f"proc-{unique}", partitions=4)
    produce_round_robin(bootstrap, topic, [f"v{i}".encode() for i in range(400)], 4)
    ledgers = tmp_path / "ledgers"
    ledgers.mkdir()
    config = {"connector.class": LEDGER, "topics": topic, "ledger.dir": str(ledgers),
              "task.isolation": "process", "offset.flush.interval.ms": "200"}
    client.put_connector(connector_id, config, tasks_max=2, target_state="paused")
    with WorkerGroup(connector_id, bootstrap, tmp_path) as group:
        worker = group.add("p1")
        wait_status(statuses, connector_id,
                    lambda s: len(s.tasks) == 2 and all(t.state == "PAUSED"
                                                        for t in s.tasks.values()),
                    90, "two paused tasks", group.logs)
        assert _delivered(ledgers) == set(), "a paused task delivers nothing"
        client.put_connector(connector_id, config, tasks_max=2, target_state="running")
        wait_status(statuses, connector_id, all_running(2), 60, "tasks resumed", group.logs)
        wait_for(lambda: len(_delivered(ledgers)) == 400, 60, "every record delivered")
        assert worker.proc is not None
        children = _task_processes(worker.proc.pid)
        assert len(children) == 2
        # The worker dies without a word: its task processes see the pipe close and stop.
        os.kill(worker.proc.pid, signal.SIGKILL)
        worker.proc.wait(10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(c.is_running() for c in children):
            time.sleep(0.2)
        assert not [c.pid for c in children if c.is_running()], group.logs()
