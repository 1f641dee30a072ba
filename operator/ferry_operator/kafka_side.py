"""What the operator writes to and removes from Kafka for a connector.

The pure half (``client_config``, ``connector_record``, ``units``, ``topics_in_use``) turns a
Connector into records and names; :class:`KafkaCluster` does the I/O for one Kafka cluster:
the internal topics, the connector's units topic, its record and restart requests in
``ferry-configs`` (through :class:`ferry.control.ControlClient`), the one
:class:`ferry.status_reader.StatusReader` that folds ``ferry-status`` for every connector on
that cluster, and the clean-up when a Connector is deleted. A config-only change is one new
record on ``ferry-configs``: the workers pick it up without a pod restart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from ferry import control, kafka_log, offsets_admin, protocol
from ferry.status_reader import StatusReader
from ferry.topic_creator import BatchedTopicCreator

from .model import kafka_env, resource, settings

log = logging.getLogger(__name__)

JSON = dict[str, Any]
ClientConfig = tuple[tuple[str, str], ...]


class KafkaUnavailable(RuntimeError):
    """Kafka could not be reached or refused a write; retry later."""


# Pure ----------------------------------------------------------------------------------


def client_config(connector: resource.ConnectorResource, config: settings.OperatorSettings,
                  operator_kafka: Mapping[str, str]) -> ClientConfig:
    """The librdkafka settings the operator uses for this connector's Kafka, hashable.

    The operator's own default cluster takes ``operator_kafka`` (``FERRY_KAFKA_*`` of the
    operator, where the chart can put credentials); a connector's own cluster takes its
    non-secret ``spec.kafka.config`` and the derived security protocol.
    """
    kafka = connector.kafka
    default = config.default_bootstrap_servers
    if kafka is None or kafka.bootstrap_servers == default:
        if not default:
            raise resource.InvalidConnector(
                "spec.kafka.bootstrapServers is required: this operator has no default Kafka "
                "(FERRY_DEFAULT_BOOTSTRAP_SERVERS)")
        return tuple(sorted({**operator_kafka, "bootstrap.servers": default}.items()))
    values = {"bootstrap.servers": kafka.bootstrap_servers, **kafka.client_config}
    protocol_ = kafka_env.security_protocol(kafka)
    if protocol_ is not None:
        values.setdefault("security.protocol", protocol_)
    return tuple(sorted(values.items()))


def connector_record(connector: resource.ConnectorResource) -> protocol.ConnectorRecord:
    """The connector's desired state as the workers read it from ``ferry-configs``."""
    config = {**connector.config, "connector.class": connector.class_name,
              "tasks.max": str(connector.tasks_max)}
    return protocol.ConnectorRecord(config=config, tasks_max=connector.tasks_max,
                                    target_state=connector.state,
                                    generation=connector.generation)


def units(connector: resource.ConnectorResource) -> int:
    """Partitions of the units topic: the connector itself and one per task."""
    return connector.tasks_max + 1


def topics_in_use(config: Mapping[str, str]) -> list[str]:
    """The data topics a config names (``topic``, ``topics``, the dead letter topic)."""
    names: list[str] = []
    for key in ("topic", "topics", "errors.deadletterqueue.topic.name"):
        names.extend(t.strip() for t in config.get(key, "").split(",") if t.strip())
    return sorted(set(names))


# I/O -----------------------------------------------------------------------------------


class KafkaCluster:
    """One Kafka cluster as the operator uses it. Calls block; run them in a thread."""

    def __init__(self, config: ClientConfig, operator: settings.OperatorSettings) -> None:
        self.config: dict[str, Any] = dict(config)
        self.settings = operator
        self.reader = StatusReader(self.config, operator.status_topic)
        self._control: control.ControlClient | None = None
        self._offsets: offsets_admin.OffsetsAdmin | None = None
        self._admin: Any = None  # one AdminClient and one producer per cluster, made lazily
        self._producer: Any = None
        self._creator: BatchedTopicCreator | None = None
        self._written: dict[str, bytes] = {}
        self._topics_ready = False
        self._lock = threading.Lock()

    def start(self, listener: Callable[[str], None]) -> KafkaCluster:
        """Follow ferry-status (made first when missing, so the reader can catch up)."""
        try:
            self._ensure_internal_topics()
        except KafkaUnavailable as exc:
            log.warning("%s (the status reader keeps trying)", exc)
        self.reader.listeners.append(listener)
        self.reader.start()
        return self

    def _ensure_internal_topics(self) -> None:
        if self._topics_ready:
            return
        try:
            control.ensure_internal_topics(
                self.config, configs_topic=self.settings.configs_topic,
                offsets_topic=self.settings.offsets_topic,
                status_topic=self.settings.status_topic)
        except Exception as exc:
            raise KafkaUnavailable(f"cannot create the internal topics: {exc}") from exc
        self._topics_ready = True

    def stop(self) -> None:
        self.reader.stop()
        if self._control is not None:
            self._control.close()

    @property
    def caught_up(self) -> bool:
        return self.reader.wait_caught_up(0)

    @property
    def admin(self) -> Any:
        from confluent_kafka.admin import AdminClient

        with self._lock:
            if self._admin is None:
                self._admin = AdminClient(self.config)
            return self._admin

    @property
    def topic_creator(self) -> BatchedTopicCreator:
        """Concurrent reconciles' new topics, in one CreateTopics request."""
        admin = self.admin
        with self._lock:
            if self._creator is None:
                self._creator = BatchedTopicCreator(admin)
            return self._creator

    @property
    def control(self) -> control.ControlClient:
        with self._lock:
            if self._control is None:
                self._control = control.ControlClient(self.config, self.settings.configs_topic)
            return self._control

    def ensure_topics(self, connector: resource.ConnectorResource, new: bool = False) -> None:
        """The internal topics (once per cluster) and the connector's units topic.

        ``new``: the Connector was just created, so its units topic most likely is too.
        """
        self._ensure_internal_topics()
        try:
            control.ensure_units_topic(self.config, connector.id, units(connector),
                                       admin=self.admin, likely_new=new,
                                       creator=self.topic_creator)
        except Exception as exc:
            raise KafkaUnavailable(f"cannot create topics: {exc}") from exc

    def write_connector(self, connector: resource.ConnectorResource) -> bool:
        """Write the connector record unless this very record was written already."""
        record = connector_record(connector)
        encoded = record.encode()
        if self._written.get(connector.id) == encoded:
            return False
        try:
            self.control.put_connector(connector.id, record.config, record.tasks_max,
                                       record.target_state, record.generation)
        except Exception as exc:
            raise KafkaUnavailable(f"cannot write to {self.settings.configs_topic}: "
                                   f"{exc}") from exc
        self._written[connector.id] = encoded
        return True

    def request_restart(self, connector_id: str, request_id: str, include_tasks: bool,
                        only_failed: bool, task: int | None = None) -> None:
        try:
            self.control.request_restart(connector_id, include_tasks, only_failed, task,
                                         request_id)
        except Exception as exc:
            raise KafkaUnavailable(f"cannot write the restart request: {exc}") from exc

    def status(self, connector_id: str) -> protocol.ConnectorStatus | None:
        return self.reader.get(connector_id)

    # Offsets (KIP-875) -----------------------------------------------------------------

    @property
    def offsets(self) -> offsets_admin.OffsetsAdmin:
        """The offsets API on this cluster; unit states come from the status reader."""
        with self._lock:
            if self._offsets is None:
                self._offsets = offsets_admin.OffsetsAdmin(
                    self.config, self.settings.configs_topic, self.settings.offsets_topic,
                    self.settings.status_topic, statuses=self._caught_up_status)
            return self._offsets

    def _caught_up_status(self, connector_id: str) -> protocol.ConnectorStatus | None:
        if not self.caught_up:
            raise offsets_admin.OffsetsUnavailable(
                f"{self.settings.status_topic} has not been read to its end yet")
        return self.reader.get(connector_id)

    def change_offsets(self, connector_id: str, action: str,
                       body: Mapping[str, Any] | None = None) -> str:
        """Alter (with a KIP-875 body) or reset; raises offsets_admin errors."""
        if action == "reset":
            return self.offsets.reset(connector_id)
        return self.offsets.alter(connector_id, body or {})

    def sink_lag(self, connector: resource.ConnectorResource) -> dict[str, int]:
        return self.offsets.sink_lag(connector.id, connector.config)

    # Deletion --------------------------------------------------------------------------

    def delete_connector(self, connector_id: str, delete_offsets: bool,
                         task_count: int = 0, wait_for_tasks: bool = True) -> list[str]:
        """Tombstone and remove what Kafka holds for a connector; what was done, for events.

        Raises KafkaUnavailable to be retried: also while the sink group still has members,
        or (when deleting offsets, unless ``wait_for_tasks`` is False) while a task still
        reports running: both are stopping after the tombstone, and a source task commits
        its offsets as it stops, which would outlive tombstones written before.
        """
        done: list[str] = []
        try:
            self.control.delete_connector(connector_id)
            self._written.pop(connector_id, None)
            done.append("connector record tombstoned")
            admin = self.admin
            if _delete_topic(admin, protocol.units_topic(connector_id)):
                done.append(f"topic {protocol.units_topic(connector_id)} deleted")
            if _delete_group(admin, protocol.sink_group(connector_id)):
                done.append(f"consumer group {protocol.sink_group(connector_id)} deleted")
            if delete_offsets:
                live = self._live_tasks(connector_id) if wait_for_tasks else []
                if live:
                    raise KafkaUnavailable(
                        f"tasks {live} of {connector_id} are stopping; their last offsets "
                        "are deleted once they report it")
                count = self._tombstone_offsets(connector_id)
                done.append(f"{count} source offsets deleted")
            self._tombstone_statuses(connector_id, task_count)
        except KafkaUnavailable:
            raise
        except Exception as exc:
            raise KafkaUnavailable(f"cannot clean up {connector_id} in Kafka: {exc}") from exc
        return done

    def _live_tasks(self, connector_id: str) -> list[int]:
        known = self.reader.get(connector_id)
        return sorted(i for i, task in (known.tasks if known else {}).items()
                      if task.state in _LIVE_STATES)

    def _tombstone_offsets(self, connector_id: str) -> int:
        latest = read_compacted(self.config, self.settings.offsets_topic)
        mine = [(key, partition) for key, (partition, value) in latest.items()
                if value is not None and protocol.offset_owner(key) == connector_id]
        self._produce(self.settings.offsets_topic, [(k, p) for k, p in mine])
        return len(mine)

    def _tombstone_statuses(self, connector_id: str, task_count: int) -> None:
        known = self.reader.get(connector_id)
        tasks = set(range(task_count)) | set(known.tasks if known else ())
        keys = [protocol.connector_key(connector_id)]
        keys.extend(protocol.task_status_key(connector_id, i) for i in sorted(tasks))
        self._produce(self.settings.status_topic, [(k, None) for k in keys])

    def _produce(self, topic: str, tombstones: list[tuple[bytes, int | None]]) -> None:
        if not tombstones:
            return
        with self._lock:
            if self._producer is None:
                self._producer = kafka_log.acknowledging_producer(self.config)
            producer = self._producer
        try:
            kafka_log.produce_acknowledged(
                self.config, topic, [(key, None, partition) for key, partition in tombstones],
                producer=producer)
        except kafka_log.CompactedTopicError as exc:
            raise KafkaUnavailable(str(exc)) from exc


def read_compacted(config: Mapping[str, Any], topic: str,
                   timeout: float = 60) -> dict[bytes, tuple[int, bytes | None]]:
    """The latest value (and partition) of every key of a topic, read up to its end now."""
    try:
        return kafka_log.read_compacted(config, topic, timeout=timeout / 2)
    except kafka_log.CompactedTopicError as exc:
        raise KafkaUnavailable(str(exc)) from exc


# Task states of a task that may still commit offsets (workers report UNASSIGNED on deletion).
_LIVE_STATES = frozenset({"RUNNING", "PAUSED", "RESTARTING"})


def _delete_topic(admin: Any, topic: str) -> bool:
    from confluent_kafka import KafkaError, KafkaException

    try:
        admin.delete_topics([topic], operation_timeout=30)[topic].result(timeout=30)
        return True
    except KafkaException as exc:
        if exc.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            return False
        raise


def _delete_group(admin: Any, group: str) -> bool:
    try:
        return control.delete_consumer_group(admin, group)
    except control.GroupNotEmpty as exc:
        raise KafkaUnavailable(f"{exc} (its sink tasks are stopping)") from exc


class KafkaClusters:
    """The clusters the operator talks to, one :class:`KafkaCluster` (and reader) each."""

    def __init__(self, operator: settings.OperatorSettings, operator_kafka: Mapping[str, str],
                 listener: Callable[[str], None]) -> None:
        self.settings = operator
        self.operator_kafka = dict(operator_kafka)
        self._listener = listener
        self._clusters: dict[ClientConfig, KafkaCluster] = {}
        self._lock = threading.Lock()

    def default(self) -> KafkaCluster | None:
        if not self.settings.default_bootstrap_servers:
            return None
        config = tuple(sorted({**self.operator_kafka,
                               "bootstrap.servers": self.settings.default_bootstrap_servers
                               }.items()))
        return self._get(config)

    def for_connector(self, connector: resource.ConnectorResource) -> KafkaCluster:
        return self._get(client_config(connector, self.settings, self.operator_kafka))

    def _get(self, config: ClientConfig) -> KafkaCluster:
        with self._lock:
            cluster = self._clusters.get(config)
            if cluster is None:
                cluster = KafkaCluster(config, self.settings).start(self._listener)
                self._clusters[config] = cluster
            return cluster

    def stop(self) -> None:
        with self._lock:
            clusters, self._clusters = list(self._clusters.values()), {}
        for cluster in clusters:
            cluster.stop()
