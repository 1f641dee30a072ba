"""Distributed workers against the real broker: several `ferry worker` processes per connector."""

from __future__ import annotations

import itertools
import json
import random
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from ferry import control
from ferry.status_reader import StatusReader
from tests.conftest import create_topic
from tests.helpers import WorkerGroup, consume_all, produce_round_robin
from tests.integration.distributed_helpers import all_running, owners, wait_status
from tests.plugins import ledger_rows

pytestmark = pytest.mark.integration


def datagen(topic: str, **extra: object) -> dict[str, object]:
    return {"connector.class": "DataGen", "topic": topic, "records.per.second": "400",
            "batch.size": "50", "key.shape": "task", "value.converter": "JsonConverter",
            "value.converter.schemas.enable": "false", "offset.flush.interval.ms": "300",
            **{k: str(v) for k, v in extra.items()}}


def sequences(bootstrap: str, topic: str, isolation: str = "read_uncommitted"
              ) -> dict[int, list[int]]:
    by_task: dict[int, list[int]] = defaultdict(list)
    for message in consume_all(bootstrap, topic, idle=3, timeout=120, isolation=isolation):
        value = json.loads(message.value())
        by_task[value["task"]].append(value["seq"])
    return by_task


def assert_no_gap(by_task: dict[int, list[int]], tasks: int) -> None:
    assert sorted(by_task) == list(range(tasks))
    for task, seqs in by_task.items():
        seen = set(seqs)
        assert seen == set(range(max(seen) + 1)), f"task {task} has a gap"


def unit_counts(status: object) -> Counter[str]:
    units = Counter(owners(status).values())  # type: ignore[arg-type]
    connector = getattr(status, "connector", None)
    if connector is not None:
        units[connector.worker_id] += 1
    return units


def test_units_spread_rebalance_incrementally_and_survive_a_kill(
        tmp_path: Path, bootstrap: str, admin: AdminClient, unique: str,
        client: control.ControlClient, statuses: StatusReader) -> None:
    connector_id = f"it/spread-{unique}"
    topic = create_topic(admin, f"spread-{unique}")
    client.put_connector(connector_id, datagen(topic), tasks_max=6)
    with WorkerGroup(connector_id, bootstrap, tmp_path) as group:
        for name in ("w1", "w2", "w3"):
            group.add(name)
        # Units (the connector and six tasks) spread evenly over the three: 3, 2, 2.
        wait_status(statuses, connector_id,
                    lambda s: all_running(6)(s) and sorted(unit_counts(s).values()) == [2, 2, 3],
                    90, "six running tasks spread over three workers", group.logs)
        status = statuses.get(connector_id)
        assert status is not None

        before = {i: (t.worker_id, t.time_ms) for i, t in status.tasks.items()}
        group.add("w4")
        wait_status(statuses, connector_id,
                    lambda s: all_running(6)(s) and "w4" in set(owners(s).values())
                    | {s.connector.worker_id if s.connector else ""},
                    60, "the fourth worker to take units", group.logs)
        time.sleep(2)
        after = statuses.get(connector_id)
        assert after is not None
        stayed = [i for i, (owner, _) in before.items() if after.tasks[i].worker_id == owner]
        assert stayed, "cooperative rebalancing keeps most units where they were"
        for i in stayed:  # not stopped and restarted: their status was never rewritten
            assert after.tasks[i].time_ms == before[i][1], f"task {i} was restarted"

        victim = after.tasks[0].worker_id
        killed_at = time.monotonic()
        group.workers[victim].kill()
        elapsed = wait_status(
            statuses, connector_id,
            lambda s: all_running(6)(s) and victim not in owners(s).values()
            and s.connector is not None and s.connector.worker_id != victim,
            60, "the killed worker's units to run elsewhere", group.logs)
        print(f"\nSIGKILL -> all units running elsewhere: {elapsed:.1f}s "
              f"(session timeout 6s); since kill {time.monotonic() - killed_at:.1f}s")

        time.sleep(2)
        graceful = next(w for w in group.workers if w != victim)
        started = time.monotonic()
        assert group.workers[graceful].terminate() == 0
        elapsed = wait_status(
            statuses, connector_id,
            lambda s: all_running(6)(s) and graceful not in owners(s).values()
            and s.connector is not None and s.connector.worker_id != graceful,
            60, "the stopped worker's units to run elsewhere", group.logs)
        print(f"SIGTERM -> all units running elsewhere: {elapsed:.1f}s "
              f"(since signal {time.monotonic() - started:.1f}s)")
        time.sleep(1)
        for worker in group.workers.values():
            if worker.alive():
                assert worker.terminate() == 0
    assert_no_gap(sequences(bootstrap, topic), 6)


def test_exactly_once_across_repeated_kills(
        tmp_path: Path, bootstrap: str, admin: AdminClient, unique: str,
        client: control.ControlClient, statuses: StatusReader) -> None:
    connector_id = f"it/eos-{unique}"
    topic = create_topic(admin, f"eos-{unique}")
    client.put_connector(connector_id, datagen(topic, **{"exactly.once.support": "required",
                                                         "records.per.second": 1000}),
                         tasks_max=3)
    rng = random.Random(7)
    with WorkerGroup(connector_id, bootstrap, tmp_path) as group:
        for name in ("e1", "e2"):
            group.add(name)
        wait_status(statuses, connector_id, all_running(3), 90, "three running tasks",
                    group.logs)
        for round_ in range(3):
            time.sleep(rng.uniform(1.0, 2.5))
            victim = rng.choice([w for w in group.workers.values() if w.alive()])
            victim.kill()  # in the middle of transactions: tasks commit every poll
            group.add(f"e{round_ + 3}")
            gone = victim.worker_id
            wait_status(statuses, connector_id,
                        lambda s, gone=gone: all_running(3)(s) and gone not in
                        owners(s).values(), 90, "tasks back after a kill", group.logs)
        time.sleep(1.5)
        for worker in group.workers.values():
            if worker.alive():
                assert worker.terminate() == 0
    committed = sequences(bootstrap, topic, isolation="read_committed")
    assert_no_gap(committed, 3)
    for task, seqs in committed.items():
        duplicates = [s for s, n in Counter(seqs).items() if n > 1]
        assert not duplicates, f"task {task} delivered {duplicates[:5]} more than once"
    everything = sequences(bootstrap, topic)
    assert sum(map(len, everything.values())) >= sum(map(len, committed.values()))


def test_reconfigure_config_and_task_count_while_running(
        tmp_path: Path, bootstrap: str, admin: AdminClient, unique: str,
        client: control.ControlClient, statuses: StatusReader) -> None:
    connector_id = f"it/reconf-{unique}"
    topic = create_topic(admin, f"reconf-{unique}")
    client.put_connector(connector_id, datagen(topic), tasks_max=2, generation=1)
    with WorkerGroup(connector_id, bootstrap, tmp_path) as group:
        group.add("r1")
        group.add("r2")
        wait_status(statuses, connector_id, all_running(2), 90, "two tasks", group.logs)
        client.put_connector(connector_id, datagen(topic, **{"records.per.second": 800}),
                             tasks_max=4, generation=2)
        wait_status(statuses, connector_id,
                    lambda s: all_running(4)(s) and all(t.generation == 2
                                                        for t in s.tasks.values()),
                    90, "four tasks of generation 2", group.logs)
        time.sleep(1)
        client.put_connector(connector_id, datagen(topic), tasks_max=1, generation=3)
        wait_status(statuses, connector_id,
                    lambda s: all_running(1)(s) and s.tasks[0].generation == 3,
                    90, "one task of generation 3 (removed tasks gone)", group.logs)
        for worker in group.workers.values():
            assert worker.terminate() == 0
    assert_no_gap(sequences(bootstrap, topic), 4)


def test_pause_resume_stop_and_restart_through_ferry_configs(
        tmp_path: Path, bootstrap: str, admin: AdminClient, unique: str,
        client: control.ControlClient, statuses: StatusReader) -> None:
    connector_id = f"it/states-{unique}"
    topic = create_topic(admin, f"states-{unique}")
    config = {"connector.class": "tests.plugins.FlakySourceConnector", "topic": topic,
              "fail.dir": str(tmp_path)}
    (tmp_path / "fail-1").touch()
    client.put_connector(connector_id, config, tasks_max=3)

    def states(connector: str, tasks: list[str]):  # type: ignore[no-untyped-def]
        return lambda s: (s.connector is not None and s.connector.state == connector
                          and [s.tasks[i].state if i in s.tasks else None
                               for i in range(3)] == tasks)

    with WorkerGroup(connector_id, bootstrap, tmp_path) as group:
        group.add("s1")
        group.add("s2")
        wait_status(statuses, connector_id,
                    lambda s: states("RUNNING", ["RUNNING", "FAILED", "RUNNING"])(s)
                    and len(unit_counts(s)) == 2,
                    90, "task 1 failed, the others running on both workers", group.logs)
        time.sleep(1)  # let the assignment settle: later status changes come from us
        failed = statuses.get(connector_id)
        assert failed is not None and "told to fail" in (failed.tasks[1].trace or "")

        (tmp_path / "fail-1").unlink()
        before = failed.tasks[0].time_ms
        client.request_restart(connector_id, include_tasks=True, only_failed=True)
        wait_status(statuses, connector_id, states("RUNNING", ["RUNNING"] * 3), 60,
                    "only the failed task restarted", group.logs)
        after = statuses.get(connector_id)
        assert after is not None and after.tasks[0].time_ms == before

        client.put_connector(connector_id, config, tasks_max=3, target_state="paused",
                             generation=2)
        wait_status(statuses, connector_id, states("PAUSED", ["PAUSED"] * 3), 60, "paused",
                    group.logs)
        paused_count = len(consume_all(bootstrap, topic, idle=1.5))
        time.sleep(1.5)
        assert len(consume_all(bootstrap, topic, idle=1.5)) == paused_count

        client.put_connector(connector_id, config, tasks_max=3, generation=3)
        wait_status(statuses, connector_id, states("RUNNING", ["RUNNING"] * 3), 60, "resumed",
                    group.logs)
        client.put_connector(connector_id, config, tasks_max=3, target_state="stopped",
                             generation=4)
        wait_status(statuses, connector_id, states("STOPPED", ["STOPPED"] * 3), 60, "stopped",
                    group.logs)
        client.put_connector(connector_id, config, tasks_max=3, generation=5)
        wait_status(statuses, connector_id, states("RUNNING", ["RUNNING"] * 3), 60,
                    "running again", group.logs)
        running = statuses.get(connector_id)
        assert running is not None
        times = {i: t.time_ms for i, t in running.tasks.items()}
        client.request_restart(connector_id, include_tasks=True)
        wait_status(statuses, connector_id,
                    lambda s: states("RUNNING", ["RUNNING"] * 3)(s)
                    and all(s.tasks[i].time_ms > times[i] for i in range(3)),
                    60, "every task restarted", group.logs)
        for worker in group.workers.values():
            assert worker.terminate() == 0


def test_sink_tasks_share_partitions_and_lose_nothing_across_a_kill(
        tmp_path: Path, bootstrap: str, admin: AdminClient, unique: str,
        client: control.ControlClient, statuses: StatusReader) -> None:
    connector_id = f"it/sink-{unique}"
    topic = create_topic(admin, f"sink-{unique}", partitions=12)
    total = 12 * 2000
    produce_round_robin(bootstrap, topic, [b"x"] * total, 12)
    ledgers = tmp_path / "ledgers"
    ledgers.mkdir()
    client.put_connector(connector_id, {
        "connector.class": "tests.plugins.LedgerSinkConnector", "topics": topic,
        "ledger.dir": str(ledgers), "consumer.max.poll.records": "100",
        "offset.flush.interval.ms": "200"}, tasks_max=4)
    with WorkerGroup(connector_id, bootstrap, tmp_path) as group:
        for name in ("k1", "k2", "k3"):
            group.add(name)
        wait_status(statuses, connector_id, all_running(4), 90, "four sink tasks", group.logs)
        time.sleep(1.0)
        group.workers["k2"].kill()
        wait_status(statuses, connector_id,
                    lambda s: all_running(4)(s) and "k2" not in owners(s).values(), 60,
                    "sink tasks moved", group.logs)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and _records_seen(ledgers) < total:
            time.sleep(0.5)
        for worker in group.workers.values():
            if worker.alive():
                assert worker.terminate() == 0
    seen = _ledger_records(ledgers)
    assert set(seen) == {(p, o) for p in range(12) for o in range(2000)}, "nothing lost"
    _assert_one_owner_at_a_time(ledgers)


def _ledger_records(ledgers: Path) -> list[tuple[int, int]]:
    records = []
    for path in ledgers.glob("*.ledger"):
        for kind, partition, value in ledger_rows(path):
            if kind == "rec":
                records.append((int(partition), int(value)))
    return records


def _records_seen(ledgers: Path) -> int:
    return len(set(_ledger_records(ledgers)))


def _assert_one_owner_at_a_time(ledgers: Path) -> None:
    """Ownership intervals from open/close events never overlap for a partition.

    A SIGKILLed worker never writes close: its intervals end with its last event.
    """
    intervals: dict[int, list[tuple[float, float, str]]] = defaultdict(list)
    for path in ledgers.glob("*.ledger"):
        opened: dict[int, float] = {}
        last = 0.0
        for kind, partition, value in ledger_rows(path):
            if kind == "open":
                opened[int(partition)] = last = float(value)
            elif kind == "close":
                last = float(value)
                start = opened.pop(int(partition), None)
                if start is not None:
                    intervals[int(partition)].append((start, last, path.stem))
        for partition, start in opened.items():
            intervals[partition].append((start, max(last, start), path.stem))
    assert sorted(intervals) == list(range(12))
    for partition, spans in intervals.items():
        spans.sort()
        for (_, end, owner), (start, _, other) in itertools.pairwise(spans):
            assert start >= end - 0.001, (
                f"partition {partition} owned by {owner} and {other} at once")
