from __future__ import annotations

import json
from pathlib import Path

import pytest

from ferry import protocol
from ferry.runtime.offsets import FileOffsetStore, MemoryOffsetStore


def test_offset_keys_are_canonical_json_with_the_connector_id() -> None:
    key = protocol.offset_key("shop/orders", {"table": "t", "db": "d"})
    assert key == b'["shop/orders",{"db":"d","table":"t"}]'
    assert protocol.parse_offset_key(key) == ("shop/orders", {"db": "d", "table": "t"})


def test_offset_values_are_versioned_and_tombstones_forget() -> None:
    value = protocol.offset_value({"position": 42})
    assert json.loads(value or b"") == {"version": 1, "offset": {"position": 42}}
    assert protocol.parse_offset_value(value) == {"position": 42}
    assert protocol.offset_value(None) is None and protocol.parse_offset_value(None) is None


@pytest.mark.parametrize("value", [b"nope", b"[1]", b'{"version": 99, "offset": {}}',
                                   b'{"version": 1}'])
def test_unreadable_values_raise_protocol_errors(value: bytes) -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_offset_value(value)


def test_file_store_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "offsets.json"
    store = FileOffsetStore("a/b", path)
    store.commit({protocol.offset_key("a/b", {"file": "x"}): {"position": 10}})
    store.commit({protocol.offset_key("a/b", {"file": "x"}): {"position": 20},
                  protocol.offset_key("a/b", {"file": "y"}): {"position": 1}})
    reopened = FileOffsetStore("a/b", path)
    assert reopened.get({"file": "x"}) == {"position": 20}
    assert reopened.get({"file": "y"}) == {"position": 1}
    assert FileOffsetStore("other/c", path).get({"file": "x"}) is None
    assert not path.with_name("offsets.json.tmp").exists()


def test_memory_store_reads_what_it_committed() -> None:
    store = MemoryOffsetStore("a/b")
    assert store.get({"p": 1}) is None
    store.commit({protocol.offset_key("a/b", {"p": 1}): {"n": 3}})
    assert store.get({"p": 1}) == {"n": 3}


def test_status_fold_forgets_deleted_connectors_entirely() -> None:
    statuses: dict[str, protocol.ConnectorStatus] = {}
    running = protocol.UnitStatusRecord("RUNNING", "w1").encode()
    protocol.fold_status(statuses, protocol.connector_key("a/b"), running)
    protocol.fold_status(statuses, protocol.task_status_key("a/b", 0), running)
    assert statuses["a/b"].tasks[0].worker_id == "w1"
    # The operator tombstones the connector, then its tasks: nothing may be left behind.
    protocol.fold_status(statuses, protocol.connector_key("a/b"), None)
    protocol.fold_status(statuses, protocol.task_status_key("a/b", 0), None)
    assert statuses == {}


def test_status_fold_rejects_config_keys() -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.fold_status({}, protocol.tasks_key("a/b"), b"{}")


def test_status_fold_keeps_the_new_owner_over_a_late_unassigned_from_the_old_one() -> None:
    statuses: dict[str, protocol.ConnectorStatus] = {}
    key = protocol.connector_key("a/b")

    def record(state: str, worker: str) -> bytes:
        return protocol.UnitStatusRecord(state, worker).encode()

    protocol.fold_status(statuses, key, record("RUNNING", "w1"))
    # A rebalance moves the unit: w2 reports RUNNING before w1 has finished stopping it.
    protocol.fold_status(statuses, key, record("RUNNING", "w2"))
    protocol.fold_status(statuses, key, record("UNASSIGNED", "w1"))
    assert statuses["a/b"].connector is not None
    assert (statuses["a/b"].connector.state, statuses["a/b"].connector.worker_id) == \
        ("RUNNING", "w2")
    # The owner's own UNASSIGNED, and any claim, still replace what is there.
    protocol.fold_status(statuses, key, record("UNASSIGNED", "w2"))
    assert statuses["a/b"].connector.state == "UNASSIGNED"
    protocol.fold_status(statuses, key, record("FAILED", "w3"))
    assert statuses["a/b"].connector.worker_id == "w3"
    task = protocol.task_status_key("a/b", 0)
    protocol.fold_status(statuses, task, record("RUNNING", "w2"))
    protocol.fold_status(statuses, task, record("UNASSIGNED", "w1"))
    assert statuses["a/b"].tasks[0].state == "RUNNING"
