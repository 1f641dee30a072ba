"""``ferry offsets`` (KIP-875) against the real broker, with real distributed workers.

A DataGen source and a ledger sink are run, stopped, listed, altered and resumed: the source
continues from the altered offset, the sink consumes again from the rewound one. Alter and
reset are refused while the connector runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from ferry import control, offsets_admin, protocol
from ferry.status_reader import StatusReader
from tests.conftest import create_topic
from tests.helpers import FERRY, WorkerGroup, consume_all, wait_for
from tests.integration.distributed_helpers import all_running, wait_status
from tests.plugins import ledger_rows

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def ferry_offsets(bootstrap: str, *args: str, stdin: str | None = None
                  ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([FERRY, "offsets", *args, "--bootstrap-servers", bootstrap],
                          input=stdin, capture_output=True, text=True, env=env, timeout=120)


def listed(bootstrap: str, connector_id: str) -> dict[str, Any]:
    result = ferry_offsets(bootstrap, "list", connector_id)
    assert result.returncode == 0, result.stderr
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def stopped(tasks: int) -> Any:
    return lambda s: (s.connector is not None and s.connector.state == "STOPPED"
                      and all(t.state == "STOPPED" for t in s.tasks.values())
                      and len(s.tasks) == tasks)


def eventually_allowed(action: Any, timeout: float = 60) -> str:
    """Run an alter/reset, retrying while the stopping units are still on their way out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return str(action())
        except offsets_admin.NotStopped:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_source_offsets_list_alter_resume_reset(
        tmp_path: Path, bootstrap: str, admin: AdminClient, unique: str,
        client: control.ControlClient, statuses: StatusReader) -> None:
    connector_id = f"it/offsrc-{unique}"
    topic = create_topic(admin, f"offsrc-{unique}")
    config = {"connector.class": "DataGen", "topic": topic, "records.per.second": "100",
              "batch.size": "20", "key.shape": "task", "value.converter": "JsonConverter",
              "value.converter.schemas.enable": "false", "offset.flush.interval.ms": "200"}
    library = offsets_admin.OffsetsAdmin({"bootstrap.servers": bootstrap})
    assert ferry_offsets(bootstrap, "list", f"it/nothing-{unique}").returncode == 1

    client.put_connector(connector_id, config, tasks_max=1, generation=1)
    with WorkerGroup(connector_id, bootstrap, tmp_path) as group:
        group.add("o1")
        wait_status(statuses, connector_id, all_running(1), 90, "the source running",
                    group.logs)
        wait_for(lambda: bool(library.list_offsets(connector_id).source), 30,
                 "a committed source offset")

        # Refused while running, by the library and the CLI.
        with pytest.raises(offsets_admin.NotStopped, match="stopped"):
            library.reset(connector_id)
        refused = ferry_offsets(bootstrap, "alter", connector_id, stdin=json.dumps(
            {"offsets": [{"partition": {"task": 0}, "offset": {"seq": 1}}]}))
        assert refused.returncode == 1 and "only be changed while it is stopped" in \
            refused.stderr, refused

        client.put_connector(connector_id, config, tasks_max=1, target_state="stopped",
                             generation=2)
        wait_status(statuses, connector_id, stopped(1), 60, "stopped", group.logs)
        body = listed(bootstrap, connector_id)
        assert body["type"] == "source"
        [entry] = body["offsets"]
        assert entry["partition"] == {"task": 0}
        before = entry["offset"]["seq"]
        assert 0 < before < 4999, body

        (tmp_path / "alter.json").write_text(json.dumps(
            {"offsets": [{"partition": {"task": 0}, "offset": {"seq": 4999}}]}))
        result = ferry_offsets(bootstrap, "alter", connector_id, "--file",
                               str(tmp_path / "alter.json"))
        assert result.returncode == 0, result.stderr
        assert listed(bootstrap, connector_id)["offsets"] == [
            {"partition": {"task": 0}, "offset": {"seq": 4999}}]

        client.put_connector(connector_id, config, tasks_max=1, generation=3)
        wait_status(statuses, connector_id, all_running(1), 60, "running again", group.logs)

        def seqs() -> list[int]:
            return [json.loads(m.value())["seq"] for m in consume_all(bootstrap, topic, idle=1)]

        wait_for(lambda: max(seqs()) >= 5010, 60, "records after the altered offset")
        seen = set(seqs())
        assert 5000 in seen, "continues right after the altered offset"
        assert not [s for s in seen if before + 1 < s < 5000], "nothing between old and new"

        client.put_connector(connector_id, config, tasks_max=1, target_state="stopped",
                             generation=4)
        wait_status(statuses, connector_id, stopped(1), 60, "stopped again", group.logs)
        result = ferry_offsets(bootstrap, "reset", connector_id)
        assert result.returncode == 0, result.stderr
        assert listed(bootstrap, connector_id)["offsets"] == []
        assert group.workers["o1"].terminate() == 0


def test_sink_offsets_list_lag_alter_resume_reset(
        tmp_path: Path, bootstrap: str, admin: AdminClient, unique: str,
        client: control.ControlClient, statuses: StatusReader) -> None:
    connector_id = f"it/offsink-{unique}"
    topic = create_topic(admin, f"offsink-{unique}", partitions=2)
    group_id = protocol.sink_group(connector_id)
    producer = Producer({"bootstrap.servers": bootstrap})

    def produce(partition: int, count: int) -> None:
        for _ in range(count):
            producer.produce(topic, b"x", partition=partition)
        assert producer.flush(30) == 0

    produce(0, 100)
    produce(1, 100)
    ledgers = tmp_path / "ledgers"
    ledgers.mkdir()
    config = {"connector.class": "tests.plugins.LedgerSinkConnector", "topics": topic,
              "ledger.dir": str(ledgers), "offset.flush.interval.ms": "200"}
    library = offsets_admin.OffsetsAdmin({"bootstrap.servers": bootstrap})

    def committed() -> list[Any]:
        return list(listed(bootstrap, connector_id)["offsets"])

    client.put_connector(connector_id, config, tasks_max=1, generation=1)
    with WorkerGroup(connector_id, bootstrap, tmp_path) as group:
        group.add("k1")
        wait_status(statuses, connector_id, all_running(1), 90, "the sink running", group.logs)
        wait_for(lambda: len(committed()) == 2 and all(
            e["offset"]["kafka_offset"] == 100 for e in committed()), 60, "commits at 100")
        with pytest.raises(offsets_admin.NotStopped):
            library.alter(connector_id, {"offsets": [
                {"partition": {"kafka_topic": topic, "kafka_partition": 0},
                 "offset": {"kafka_offset": 0}}]})

        client.put_connector(connector_id, config, tasks_max=1, target_state="stopped",
                             generation=2)
        wait_status(statuses, connector_id, stopped(1), 60, "stopped", group.logs)
        produce(0, 10)
        body = listed(bootstrap, connector_id)
        assert body["type"] == "sink"
        assert body["offsets"] == [
            {"partition": {"kafka_topic": topic, "kafka_partition": p},
             "offset": {"kafka_offset": 100}} for p in (0, 1)]
        assert body["lag"]["topics"] == {topic: 10}
        assert [(p["kafka_partition"], p["lag"]) for p in body["lag"]["partitions"]] == \
            [(0, 10), (1, 0)]
        assert library.sink_lag(connector_id, config) == {topic: 10}

        # Rewind partition 0 to 50 and forget partition 1 (it starts from its beginning).
        message = eventually_allowed(lambda: library.alter(connector_id, {"offsets": [
            {"partition": {"kafka_topic": topic, "kafka_partition": 0},
             "offset": {"kafka_offset": 50}},
            {"partition": {"kafka_topic": topic, "kafka_partition": 1}, "offset": None}]}))
        assert "1 removed" in message
        body = listed(bootstrap, connector_id)
        assert body["offsets"] == [{"partition": {"kafka_topic": topic, "kafka_partition": 0},
                                    "offset": {"kafka_offset": 50}}]
        assert body["lag"]["topics"] == {topic: 60 + 100}

        with pytest.raises(offsets_admin.InvalidOffsets, match="no such topic partition"):
            library.alter(connector_id, {"offsets": [
                {"partition": {"kafka_topic": topic, "kafka_partition": 7},
                 "offset": {"kafka_offset": 1}}]})

        client.put_connector(connector_id, config, tasks_max=1, generation=3)
        wait_status(statuses, connector_id, all_running(1), 60, "running again", group.logs)

        def deliveries() -> Counter[tuple[int, int]]:
            seen: Counter[tuple[int, int]] = Counter()
            for path in ledgers.glob("*.ledger"):
                for kind, partition, value in ledger_rows(path):
                    if kind == "rec":
                        seen[(int(partition), int(value))] += 1
            return seen

        wait_for(lambda: deliveries()[(0, 109)] >= 1 and deliveries()[(1, 99)] >= 2, 60,
                 "the rewound records consumed again")
        seen = deliveries()
        assert all(seen[(0, o)] == 1 for o in range(50)), "before the rewind point: once"
        assert all(seen[(0, o)] == 2 for o in range(50, 100)), "rewound: again"
        assert all(seen[(1, o)] == 2 for o in range(100)), "forgotten: from the beginning"
        wait_for(lambda: {e["offset"]["kafka_offset"] for e in committed()} == {110, 100}, 30,
                 "commits at the end again")
        assert listed(bootstrap, connector_id)["lag"]["topics"] == {topic: 0}

        client.put_connector(connector_id, config, tasks_max=1, target_state="stopped",
                             generation=4)
        wait_status(statuses, connector_id, stopped(1), 60, "stopped again", group.logs)
        print(eventually_allowed(lambda: library.reset(connector_id)))
        assert committed() == []
        groups = admin.list_consumer_groups().result(timeout=30).valid
        assert group_id not in {g.group_id for g in groups}
        assert group.workers["k1"].terminate() == 0
