"""Workers survive a broker restart, and say so in their health endpoint while it is down."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from ferry import control
from ferry.status_reader import StatusReader
from ferry_stack.kafka import KafkaBroker
from tests.conftest import create_topic
from tests.helpers import WorkerGroup, consume_all
from tests.integration.distributed_helpers import all_running, wait_status
from tests.integration.test_distributed import assert_no_gap, datagen, sequences

pytestmark = pytest.mark.integration


@pytest.fixture
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """A broker of this test's own: restarting the session broker would disturb others."""
    broker = KafkaBroker(tmp_path_factory.mktemp("restarted-kafka"), heap="512m")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def _readyz(port: int) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError as exc:
        return 0, str(exc)


def _wait_readyz(port: int, code: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    last = (0, "")
    while time.monotonic() < deadline:
        last = _readyz(port)
        if last[0] == code:
            return last[1]
        time.sleep(0.3)
    raise AssertionError(f"/readyz never answered {code}; last {last}")


def test_workers_survive_a_broker_restart(tmp_path: Path, own_broker: KafkaBroker,
                                          unique: str) -> None:
    bootstrap = own_broker.bootstrap_servers
    config = {"bootstrap.servers": bootstrap}
    control.ensure_internal_topics(config)
    topic = create_topic(AdminClient(config), f"restart-{unique}")
    client = control.ControlClient(config)
    connector_id = f"it/restart-{unique}"
    client.put_connector(connector_id, datagen(topic), tasks_max=2)
    client.close()
    reader = StatusReader(config).start()
    try:
        with WorkerGroup(connector_id, bootstrap, tmp_path) as group:
            first = group.add("b1")
            group.add("b2")
            wait_status(reader, connector_id, all_running(2), 90, "two tasks", group.logs)
            assert _wait_readyz(first.port, 200, 30) == "ready\n"
            before = len(consume_all(bootstrap, topic, idle=1))

            own_broker.stop()
            body = _wait_readyz(first.port, 503, 30)
            assert "kafka unreachable" in body
            time.sleep(2)
            own_broker.start()

            _wait_readyz(first.port, 200, 60)
            deadline = time.monotonic() + 60
            while len(consume_all(bootstrap, topic, idle=1)) <= before + 200:
                assert time.monotonic() < deadline, "records did not flow after the restart"
                time.sleep(1)
            assert all(w.alive() for w in group.workers.values()), group.logs()
            for worker in group.workers.values():
                assert worker.terminate() == 0
        assert_no_gap(sequences(bootstrap, topic), 2)
    finally:
        reader.stop()
