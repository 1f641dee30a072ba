"""Writing a connector's desired state to ``ferry-configs``: what the operator (and tests) do.

The only writer of ``connector/`` and ``restart/`` keys; workers write ``tasks/`` keys.
Every write waits for the broker's acknowledgement.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import KafkaException, NewTopic

from ferry import protocol
from ferry.topic_creator import BatchedTopicCreator, topic_created


class ControlClient:
    def __init__(self, client_config: Mapping[str, Any],
                 configs_topic: str = protocol.DEFAULT_CONFIGS_TOPIC) -> None:
        self.configs_topic = configs_topic
        self._config = dict(client_config)
        self._producer = Producer({**self._config, "enable.idempotence": True, "linger.ms": 0})

    def _write(self, key: bytes, value: bytes | None) -> None:
        errors: list[str] = []
        self._producer.produce(self.configs_topic, value, key,
                               on_delivery=lambda err, _m: errors.append(str(err)) if err else None)
        if self._producer.flush(30) or errors:
            raise OSError(f"could not write to {self.configs_topic}: "
                          f"{errors[0] if errors else 'not acknowledged'}")

    def put_connector(self, connector_id: str, config: Mapping[str, Any], tasks_max: int,
                      target_state: str = "running", generation: int = 1) -> None:
        record = protocol.ConnectorRecord(dict(config), tasks_max, target_state, generation)
        self._write(protocol.connector_key(connector_id), record.encode())

    def delete_connector(self, connector_id: str) -> None:
        self._write(protocol.connector_key(connector_id), None)
        self._write(protocol.tasks_key(connector_id), None)
        self._write(protocol.restart_key(connector_id), None)

    def request_restart(self, connector_id: str, include_tasks: bool = False,
                        only_failed: bool = False, task: int | None = None,
                        request_id: str | None = None) -> str:
        request = protocol.RestartRecord(request_id or uuid.uuid4().hex, include_tasks,
                                         only_failed, task)
        self._write(protocol.restart_key(connector_id), request.encode())
        return request.id

    def close(self) -> None:
        self._producer.flush(10)


def ensure_internal_topics(client_config: Mapping[str, Any], replication_factor: int = -1,
                           configs_topic: str = protocol.DEFAULT_CONFIGS_TOPIC,
                           offsets_topic: str = protocol.DEFAULT_OFFSETS_TOPIC,
                           status_topic: str = protocol.DEFAULT_STATUS_TOPIC) -> list[str]:
    """Create the three compacted internal topics when missing; the ones created."""
    wanted = {
        configs_topic: 1,
        offsets_topic: protocol.OFFSETS_PARTITIONS,
        status_topic: protocol.STATUS_PARTITIONS,
    }
    return _create_missing(client_config, {
        name: NewTopic(name, partitions, replication_factor, config=protocol.COMPACTED)
        for name, partitions in wanted.items()})


def ensure_offsets_topic(client_config: Mapping[str, Any],
                         offsets_topic: str = protocol.DEFAULT_OFFSETS_TOPIC,
                         replication_factor: int = -1) -> bool:
    """Create the compacted source offsets topic when missing (standalone mode with offsets
    in Kafka needs only this one); whether it was created."""
    return bool(_create_missing(client_config, {offsets_topic: NewTopic(
        offsets_topic, protocol.OFFSETS_PARTITIONS, replication_factor,
        config=protocol.COMPACTED)}))


def ensure_units_topic(client_config: Mapping[str, Any], connector_id: str, units: int,
                       replication_factor: int = -1, admin: AdminClient | None = None,
                       likely_new: bool = False,
                       creator: BatchedTopicCreator | None = None) -> int:
    """Make the connector's units topic hold at least ``units`` partitions; the count now.

    ``admin``: a client to reuse (the operator keeps one per cluster). The common case, a
    topic that is already there, costs one metadata request for that topic alone.
    ``likely_new`` (a Connector just created): try the creation first, and look only when
    the topic turns out to exist: one request instead of three. ``creator``: create through
    it, in one request with other threads' topics (the operator's concurrent reconciles).
    """
    from confluent_kafka.cimpl import NewPartitions

    topic = protocol.units_topic(connector_id)
    admin = admin or AdminClient(dict(client_config))

    def create() -> bool:
        new = NewTopic(topic, units, replication_factor)
        return creator.create(new) if creator is not None else bool(_create(admin, [new]))

    if likely_new and create():
        return units
    current = _partition_count(admin, topic)
    if current is None:
        if create():
            return units
        current = _partition_count(admin, topic) or units  # someone else made it meanwhile
    if current < units:
        try:
            admin.create_partitions([NewPartitions(topic, units)])[topic].result(timeout=30)
        except KafkaException as exc:
            if "INVALID_PARTITIONS" not in str(exc):  # someone else grew it first
                raise
        return units
    return current


def _partition_count(admin: AdminClient, topic: str) -> int | None:
    """The topic's partition count; None when it does not exist.

    DescribeTopics, not a metadata request for the topic: that one may auto-create it on a
    broker with auto.create.topics.enable (librdkafka allows it for producer-type clients).
    """
    from confluent_kafka import KafkaError, TopicCollection

    future = admin.describe_topics(TopicCollection([topic]), request_timeout=30)[topic]
    try:
        return len(future.result(timeout=30).partitions)
    except KafkaException as exc:
        if exc.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            return None
        raise


def _create_missing(client_config: Mapping[str, Any], topics: dict[str, NewTopic],
                    admin: AdminClient | None = None) -> list[str]:

    admin = admin or AdminClient(dict(client_config))
    existing = admin.list_topics(timeout=30).topics
    return _create(admin, [t for name, t in topics.items() if name not in existing])


def _create(admin: AdminClient, missing: list[NewTopic]) -> list[str]:
    """Create these topics; one that someone else created meanwhile counts as done."""
    if not missing:
        return []
    return [name for name, future in admin.create_topics(missing).items()
            if topic_created(future)]


class GroupNotEmpty(RuntimeError):
    """A consumer group cannot be deleted while it has members."""


def delete_consumer_group(admin: AdminClient, group: str, timeout: float = 30) -> bool:
    """Delete a consumer group and its committed offsets; False when there was none.

    Raises :class:`GroupNotEmpty` while members remain (a sink's tasks still stopping) and
    ``KafkaException`` for anything else.
    """
    from confluent_kafka import KafkaError

    try:
        admin.delete_consumer_groups([group], request_timeout=timeout)[group].result(
            timeout=timeout)
        return True
    except KafkaException as exc:
        code = exc.args[0].code()
        if code == KafkaError.GROUP_ID_NOT_FOUND:
            return False
        if code == KafkaError.NON_EMPTY_GROUP:
            raise GroupNotEmpty(f"consumer group {group} still has members") from exc
        raise
