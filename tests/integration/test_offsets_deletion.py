"""Deleting a source connector's offsets races its tasks' final commits; the operator waits.

A source task commits its offsets as it stops. When a Connector is deleted with
``offsetsPolicyOnDelete: delete``, the operator tombstones the connector record (the workers
stop its tasks) and then its offsets: a final commit that lands after those tombstones brings
the offsets back, and a connector created later under the same name would resume from them.
``tests.plugins.LingeringSourceConnector`` makes the race deterministic: its task's last
poll returns one more record 3 s after stop(), so its final commit lands 3 s after the stop.
The operator's Kafka side (``KafkaCluster.delete_connector``) and a real ``ferry worker`` run
against the real broker.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from ferry import control, kafka_log, protocol
from ferry.status_reader import StatusReader
from ferry_operator.kafka_side import KafkaCluster, KafkaUnavailable
from ferry_operator.model.settings import OperatorSettings
from tests.conftest import create_topic
from tests.helpers import WorkerGroup, wait_for
from tests.integration.distributed_helpers import all_running, wait_status

pytestmark = pytest.mark.integration

RECORDS = 5


@pytest.fixture
def cluster(bootstrap: str, client: control.ControlClient) -> Iterator[KafkaCluster]:
    side = KafkaCluster({"bootstrap.servers": bootstrap}, OperatorSettings()).start(
        lambda _connector_id: None)
    assert side.reader.wait_caught_up(60)
    yield side
    side.stop()


def live_offsets(bootstrap: str, connector_id: str) -> dict[bytes, bytes]:
    """The connector's offsets in ferry-offsets now (tombstoned keys left out)."""
    latest = kafka_log.read_compacted({"bootstrap.servers": bootstrap},
                                      protocol.DEFAULT_OFFSETS_TOPIC,
                                      lambda key: protocol.offset_owner(key) == connector_id)
    return {key: value for key, (_partition, value) in latest.items() if value is not None}


def committed_sent(bootstrap: str, connector_id: str) -> int:
    """How many records the committed offset says the task has sent (0 when none)."""
    values = list(live_offsets(bootstrap, connector_id).values())
    return int(protocol.parse_offset_value(values[0])["sent"]) if values else 0


def start_lingering(group: WorkerGroup, admin: AdminClient, client: control.ControlClient,
                    statuses: StatusReader, topic: str) -> None:
    connector_id = group.connector_id
    client.put_connector(connector_id, {
        "connector.class": "tests.plugins.LingeringSourceConnector",
        "topic": create_topic(admin, topic), "count": str(RECORDS), "linger.ms": "3000",
        "offset.flush.interval.ms": "200",
    }, tasks_max=1)
    group.add("w0")
    wait_status(statuses, connector_id, all_running(1), timeout=90, logs=group.logs)
    # Every record sent and committed: the task now waits in poll() for its stop.
    wait_for(lambda: committed_sent(group.bootstrap, connector_id) == RECORDS, 60,
             "the task's offsets for all records")


def test_offsets_deleted_without_waiting_come_back_with_the_final_commit(
        tmp_path: Path, bootstrap: str, admin: AdminClient, unique: str,
        client: control.ControlClient, statuses: StatusReader, cluster: KafkaCluster) -> None:
    """The race itself: tombstones written while the task still runs lose to its last commit."""
    connector_id = f"it/linger-race-{unique}"
    with WorkerGroup(connector_id, bootstrap, tmp_path) as group:
        start_lingering(group, admin, client, statuses, f"linger-race-{unique}")
        done = cluster.delete_connector(connector_id, delete_offsets=True, task_count=1,
                                        wait_for_tasks=False)
        assert "1 source offsets deleted" in done
        assert live_offsets(bootstrap, connector_id) == {}
        wait_for(lambda: committed_sent(bootstrap, connector_id) == RECORDS + 1, 30,
                 f"the final commit after the tombstones\n{group.logs()}")


def test_deleting_offsets_waits_for_the_tasks_final_commits(
        tmp_path: Path, bootstrap: str, admin: AdminClient, unique: str,
        client: control.ControlClient, statuses: StatusReader, cluster: KafkaCluster) -> None:
    """What the finalizer does: retry while a task still runs; once every task reported it
    stopped (UNASSIGNED, after its final commit), tombstone the offsets for good."""
    connector_id = f"it/linger-wait-{unique}"
    with WorkerGroup(connector_id, bootstrap, tmp_path) as group:
        start_lingering(group, admin, client, statuses, f"linger-wait-{unique}")
        # The operator's own status reader knows the task runs (what the finalizer checks).
        wait_status(cluster.reader, connector_id, all_running(1), logs=group.logs)
        refusals: list[str] = []
        deadline = time.monotonic() + 60
        while True:
            try:
                done = cluster.delete_connector(connector_id, delete_offsets=True,
                                                task_count=1)
                break
            except KafkaUnavailable as exc:
                refusals.append(str(exc))
                assert time.monotonic() < deadline, f"{refusals[-1]}\n{group.logs()}"
                time.sleep(0.5)
        # The task lingers 3 s after its stop: the first attempts found it still running.
        assert refusals and "are stopping" in refusals[0]
        assert "1 source offsets deleted" in done
        assert live_offsets(bootstrap, connector_id) == {}
        # The worker is still up, its task long stopped: nothing more is committed.
        assert group.workers["w0"].alive()
        time.sleep(2)
        assert live_offsets(bootstrap, connector_id) == {}
