"""What the operator writes to Kafka for a Connector, and the apply primitive."""

from __future__ import annotations

from typing import Any

import pytest

from ferry import protocol
from ferry_operator import apply, kafka_side
from ferry_operator.context import RuntimeSettings, operator_kafka_settings
from ferry_operator.model import ConnectorResource, InvalidConnector, OperatorSettings


def connector(generation: int = 4, **spec: Any) -> ConnectorResource:
    return ConnectorResource.from_body({
        "metadata": {"name": "c", "namespace": "ns", "uid": "u1", "generation": generation},
        "spec": {"class": "DataGen", "tasksMax": 3, "config": {"topic": "t", "batch.size": 10},
                 **spec}})


def test_connector_record_carries_class_tasks_state_and_generation() -> None:
    record = kafka_side.connector_record(connector(state="paused"))
    assert record.config == {"topic": "t", "batch.size": "10", "connector.class": "DataGen",
                             "tasks.max": "3"}
    assert (record.tasks_max, record.target_state, record.generation) == (3, "paused", 4)
    assert protocol.ConnectorRecord.decode(record.encode()) == record


def test_only_the_config_changes_the_config_hash() -> None:
    running = kafka_side.connector_record(connector())
    paused = kafka_side.connector_record(connector(generation=5, state="paused"))
    assert running.config_hash == paused.config_hash, "pausing restarts no task"
    changed = kafka_side.connector_record(connector(config={"topic": "u"}))
    assert changed.config_hash != running.config_hash


def test_units_and_topics() -> None:
    assert kafka_side.units(connector()) == 4
    assert kafka_side.topics_in_use({"topics": "a,b,,a", "topic": "c"}) == ["a", "b", "c"]
    assert kafka_side.topics_in_use({"topics.regex": "x.*"}) == []


def test_client_config_default_and_own_cluster() -> None:
    settings = OperatorSettings(default_bootstrap_servers="kafka:9092")
    extra = {"security.protocol": "SSL"}
    assert dict(kafka_side.client_config(connector(), settings, extra)) == {
        "bootstrap.servers": "kafka:9092", "security.protocol": "SSL"}
    own = connector(kafka={"bootstrapServers": "other:9092", "config": {"client.id": "x"}})
    assert dict(kafka_side.client_config(own, settings, extra)) == {
        "bootstrap.servers": "other:9092", "client.id": "x"}
    with pytest.raises(InvalidConnector, match="FERRY_DEFAULT_BOOTSTRAP_SERVERS"):
        kafka_side.client_config(connector(), OperatorSettings(), {})


def test_operator_settings_from_env() -> None:
    runtime = RuntimeSettings.from_env({"FERRY_OPERATOR_HEALTH_PORT": "1", "POD_IP": "10.0.0.1",
                                        "FERRY_OPERATOR_PEERING": "ferry",
                                        "FERRY_OPERATOR_PRIORITY": "7",
                                        "FERRY_OPERATOR_AUTO_RESTART_BACKOFF_SECONDS": "2"})
    assert (runtime.health_port, runtime.host, runtime.peering, runtime.priority) == (
        1, "10.0.0.1", "ferry", 7)
    assert runtime.backoff.base == 2 and runtime.metrics_port == 9090
    assert operator_kafka_settings({"FERRY_KAFKA_SASL_MECHANISM": "PLAIN", "X": "y"}) == {
        "sasl.mechanism": "PLAIN"}


class FakeApi:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def apply(self, path: str, body: dict[str, Any], field_manager: str) -> dict[str, Any]:
        self.calls.append(("apply", path))
        assert field_manager == "ferry-operator"
        return body

    def delete(self, path: str) -> bool:
        self.calls.append(("delete", path))
        return True


def test_apply_applies_or_deletes() -> None:
    api = FakeApi()
    desired = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
               "metadata": {"name": "c-workers", "namespace": "ns"}}
    ref = apply.ObjectRef.of(desired)
    assert apply.apply(api, ref, desired) == desired
    assert apply.apply(api, ref, None) is None
    path = "/apis/policy/v1/namespaces/ns/poddisruptionbudgets/c-workers"
    assert api.calls == [("apply", path), ("delete", path)]
    with pytest.raises(ValueError):
        apply.apply(api, apply.ObjectRef("Service", "ns", "c-workers"), desired)
