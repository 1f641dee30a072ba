"""A connector's offsets, as Kafka Connect's KIP-875 offsets API: list, alter, reset.

Where the offsets live:

- **source** connectors: the compacted ``ferry-offsets`` topic, key
  ``["<ns>/<name>", {partition}]``, value ``{"version": 1, "offset": {...}}`` (see
  :mod:`ferry.protocol`); a tombstone forgets the partition. Source tasks read the topic when
  they start, so a change made while the connector is stopped is what they resume from.
- **sink** connectors: the committed offsets of the consumer group
  ``ferry-sink.<ns>.<name>``.

The JSON shape is Kafka Connect's ``GET/PATCH /connectors/<name>/offsets`` body:
``{"offsets": [{"partition": {...}, "offset": {...}}]}``, for sinks with partition
``{"kafka_topic": t, "kafka_partition": p}`` and offset ``{"kafka_offset": n}``. ``list``
adds ``"type"`` and, for sinks, ``"lag"`` (per partition: end offset minus committed; per
topic: the sum); :func:`parse_offsets` ignores both, so a listing edited by hand can be fed
back to ``alter``.

**Alter and reset only while stopped**, as in KIP-875: the connector record in
``ferry-configs`` must have target state ``stopped``, no unit may be RUNNING, PAUSED or
RESTARTING in ``ferry-status`` and, for a sink, its consumer group must have no members.
Otherwise :class:`NotStopped` is raised and nothing is written.

**Source or sink** is decided by :func:`connector_kind`: a caller-supplied resolver first
(the ``ferry`` CLI resolves the class through the installed plugins, which is
authoritative); without one, or when the class is not installed here, Kafka Connect's own
rule: a sink connector must set ``topics`` or ``topics.regex``, a source has neither. The
operator uses the rule (it must not import the worker runtime); a source connector with a
config key named ``topics`` of its own would be taken for a sink there.

**A null sink offset**: confluent-kafka has no DeleteConsumerGroupOffsets. When every
committed partition of the group is nulled or set in the same request, the group is deleted
and the set ones written again, which is exact. Otherwise a null offset is committed as the
position the sink would start from without one (``auto.offset.reset``: earliest, i.e. the
partition's first offset, unless ``consumer.override.auto.offset.reset=latest``).

This module does not import the worker runtime (the operator uses it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ferry import kafka_log, protocol

Kind = Literal["source", "sink"]
SOURCE: Kind = "source"
SINK: Kind = "sink"

# Unit states that mean a unit still runs (or is about to run) somewhere.
ACTIVE_STATES = frozenset({"RUNNING", "PAUSED", "RESTARTING"})

KindResolver = Callable[[str], "Kind | None"]
StatusLookup = Callable[[str], "protocol.ConnectorStatus | None"]
TopicPartition = tuple[str, int]


class OffsetsError(Exception):
    """An offsets request that cannot be done; the message says why."""


class UnknownConnector(OffsetsError):
    """No connector record for this id in ``ferry-configs``."""


class NotStopped(OffsetsError):
    """Alter and reset need a stopped connector (KIP-875)."""


class InvalidOffsets(OffsetsError):
    """The request body is not a valid offsets list for this connector."""


class OffsetsUnavailable(OffsetsError):
    """Kafka could not be reached or refused the request; worth retrying."""


@dataclass(frozen=True)
class SourceOffset:
    """One source partition and its offset (None: forget the partition)."""

    partition: dict[str, Any]
    offset: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {"partition": self.partition, "offset": self.offset}


@dataclass(frozen=True)
class SinkOffset:
    """One topic-partition of a sink and the next offset to consume (None: forget it)."""

    topic: str
    partition: int
    offset: int | None

    def to_json(self) -> dict[str, Any]:
        return {"partition": {"kafka_topic": self.topic, "kafka_partition": self.partition},
                "offset": None if self.offset is None else {"kafka_offset": self.offset}}


@dataclass(frozen=True)
class PartitionLag:
    """How far a sink is behind on one partition."""

    topic: str
    partition: int
    committed: int | None  # None: nothing committed, the sink starts at the first offset
    end: int
    lag: int

    def to_json(self) -> dict[str, Any]:
        return {"kafka_topic": self.topic, "kafka_partition": self.partition,
                "committed": self.committed, "end": self.end, "lag": self.lag}


@dataclass(frozen=True)
class ConnectorOffsets:
    """What ``list_offsets`` returns."""

    connector_id: str
    kind: Kind
    source: tuple[SourceOffset, ...] = ()
    sink: tuple[SinkOffset, ...] = ()
    lag: tuple[PartitionLag, ...] = ()

    def to_json(self) -> dict[str, Any]:
        entries = self.source if self.kind == SOURCE else self.sink
        body: dict[str, Any] = {"offsets": [e.to_json() for e in entries], "type": self.kind}
        if self.kind == SINK:
            body["lag"] = {"topics": lag_by_topic(self.lag),
                           "partitions": [p.to_json() for p in self.lag]}
        return body


@dataclass(frozen=True)
class SinkPlan:
    """What an alter of sink offsets does, in order."""

    delete_group: bool = False
    commit: tuple[SinkOffset, ...] = field(default_factory=tuple)


# Pure ----------------------------------------------------------------------------------


def connector_kind(config: Mapping[str, Any], resolve: KindResolver | None = None) -> Kind:
    """Source or sink: ``resolve(class)`` when it knows, else Kafka Connect's topics rule."""
    class_name = str(config.get("connector.class", "")).strip()
    if resolve is not None and class_name:
        resolved = resolve(class_name)
        if resolved is not None:
            return resolved
    has_topics = any(str(config.get(key, "")).strip() for key in ("topics", "topics.regex"))
    return SINK if has_topics else SOURCE


def check_stopped(connector_id: str, record: protocol.ConnectorRecord | None,
                  status: protocol.ConnectorStatus | None, group_members: int = 0) -> None:
    """Raise :class:`UnknownConnector` or :class:`NotStopped` unless offsets may change."""
    if record is None:
        raise UnknownConnector(f"connector {connector_id} is unknown (no record in "
                               "ferry-configs)")
    if record.target_state != "stopped":
        raise NotStopped(f"connector {connector_id} is {record.target_state}: offsets can only "
                         "be changed while it is stopped (set spec.state: stopped first)")
    active: list[str] = []
    if status is not None:
        if status.connector is not None and status.connector.state in ACTIVE_STATES:
            active.append(f"the connector is {status.connector.state}")
        active.extend(f"task {i} is {t.state}" for i, t in sorted(status.tasks.items())
                      if t.state in ACTIVE_STATES)
    if active:
        raise NotStopped(f"connector {connector_id} is stopping but {', '.join(active)}; "
                         "try again once every unit is stopped")
    if group_members:
        raise NotStopped(f"connector {connector_id} is stopping but its consumer group "
                         f"{protocol.sink_group(connector_id)} still has {group_members} "
                         "active member(s); try again once its tasks are gone")


def parse_offsets(body: Any, kind: Kind) -> list[SourceOffset] | list[SinkOffset]:
    """The entries of a PATCH body (``{"offsets": [...]}``, or the bare list) for ``kind``."""
    entries = body.get("offsets") if isinstance(body, Mapping) else body
    if not isinstance(entries, list | tuple) or not entries:
        raise InvalidOffsets('expected {"offsets": [{"partition": {...}, "offset": {...}}, '
                             '...]} with at least one entry')
    parsed: list[Any] = []
    for number, entry in enumerate(entries):
        where = f"offsets[{number}]"
        if not isinstance(entry, Mapping):
            raise InvalidOffsets(f"{where} must be an object with partition and offset")
        unknown = sorted(set(entry) - {"partition", "offset"})
        if unknown:
            raise InvalidOffsets(f"{where} has unknown field(s) {', '.join(unknown)} "
                                 "(only partition and offset)")
        partition, offset = entry.get("partition"), entry.get("offset")
        if not isinstance(partition, Mapping) or not partition:
            raise InvalidOffsets(f"{where}.partition must be a non-empty object")
        if offset is not None and not isinstance(offset, Mapping):
            raise InvalidOffsets(f"{where}.offset must be an object or null")
        parsed.append(_sink_entry(where, partition, offset) if kind == SINK
                      else _source_entry(where, partition, offset))
    keys = [_entry_key(e) for e in parsed]
    if len(set(keys)) != len(keys):
        raise InvalidOffsets("a partition is listed more than once")
    return parsed


def _entry_key(entry: SourceOffset | SinkOffset) -> str:
    if isinstance(entry, SinkOffset):
        return f"{entry.topic}\0{entry.partition}"
    return json.dumps(entry.partition, sort_keys=True)


def _sink_entry(where: str, partition: Mapping[str, Any],
                offset: Mapping[str, Any] | None) -> SinkOffset:
    if set(partition) != {"kafka_topic", "kafka_partition"}:
        raise InvalidOffsets(f"{where}.partition of a sink connector has exactly kafka_topic "
                             f"and kafka_partition, got {sorted(partition)}")
    topic, number = partition["kafka_topic"], partition["kafka_partition"]
    if not isinstance(topic, str) or not topic:
        raise InvalidOffsets(f"{where}.partition.kafka_topic must be a topic name")
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        raise InvalidOffsets(f"{where}.partition.kafka_partition must be an integer >= 0")
    if offset is None:
        return SinkOffset(topic, number, None)
    if set(offset) != {"kafka_offset"}:
        raise InvalidOffsets(f"{where}.offset of a sink connector has exactly kafka_offset")
    value = offset["kafka_offset"]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidOffsets(f"{where}.offset.kafka_offset must be an integer >= 0")
    return SinkOffset(topic, number, value)


def _source_entry(where: str, partition: Mapping[str, Any],
                  offset: Mapping[str, Any] | None) -> SourceOffset:
    if set(partition) <= {"kafka_topic", "kafka_partition"} or (
            offset is not None and set(offset) == {"kafka_offset"}):
        raise InvalidOffsets(f"{where} looks like a sink offset (kafka_topic, kafka_partition, "
                             "kafka_offset) but the connector is a source")
    return SourceOffset(dict(partition), None if offset is None else dict(offset))


def plan_sink_alter(entries: Sequence[SinkOffset], committed: Mapping[TopicPartition, int],
                    watermarks: Mapping[TopicPartition, tuple[int, int]],
                    reset_policy: str = "earliest") -> SinkPlan:
    """How to apply sink entries without DeleteConsumerGroupOffsets (see the module doc)."""
    sets = tuple(e for e in entries if e.offset is not None)
    touched = {(e.topic, e.partition) for e in entries}
    if any(e.offset is None for e in entries) and set(committed) <= touched:
        return SinkPlan(delete_group=bool(committed), commit=sets)
    commit: list[SinkOffset] = list(sets)
    for e in entries:
        if e.offset is None and (e.topic, e.partition) in committed:
            low, high = watermarks.get((e.topic, e.partition), (0, 0))
            commit.append(SinkOffset(e.topic, e.partition,
                                     high if reset_policy == "latest" else low))
    return SinkPlan(delete_group=False, commit=tuple(commit))


def partition_lags(committed: Mapping[TopicPartition, int],
                   watermarks: Mapping[TopicPartition, tuple[int, int]]) -> list[PartitionLag]:
    """Lag per partition: end offset minus committed (minus the first offset when none)."""
    lags: list[PartitionLag] = []
    for (topic, partition), (low, high) in sorted(watermarks.items()):
        done = committed.get((topic, partition))
        start = low if done is None else max(done, low)
        lags.append(PartitionLag(topic, partition, done, high, max(0, high - start)))
    return lags


def lag_by_topic(lags: Iterable[PartitionLag]) -> dict[str, int]:
    """The lag summed per topic (``status.sinkLag``)."""
    total: dict[str, int] = {}
    for lag in lags:
        total[lag.topic] = total.get(lag.topic, 0) + lag.lag
    return dict(sorted(total.items()))


def configured_topics(config: Mapping[str, Any]) -> list[str]:
    """The topics a sink's ``topics`` names (a regex subscription shows up once committed)."""
    return sorted({t.strip() for t in str(config.get("topics", "")).split(",") if t.strip()})


def status_from_latest(connector_id: str, latest: Mapping[bytes, bytes | None]
                       ) -> protocol.ConnectorStatus | None:
    """The connector's status from the latest ``ferry-status`` value of each of its keys."""
    status = protocol.ConnectorStatus()
    found = False
    for key, value in latest.items():
        if value is None:
            continue
        try:
            kind, cid, index = protocol.parse_key(key)
            record = protocol.UnitStatusRecord.decode(value)
        except protocol.ProtocolError:
            continue
        if cid != connector_id:
            continue
        found = True
        if kind == "connector":
            status.connector = record
        elif kind == "task" and index is not None:
            status.tasks[index] = record
    return status if found else None


# I/O -----------------------------------------------------------------------------------


class OffsetsAdmin:
    """Offsets of the connectors on one Kafka cluster. Calls block."""

    def __init__(self, client_config: Mapping[str, Any],
                 configs_topic: str = protocol.DEFAULT_CONFIGS_TOPIC,
                 offsets_topic: str = protocol.DEFAULT_OFFSETS_TOPIC,
                 status_topic: str = protocol.DEFAULT_STATUS_TOPIC,
                 resolve_kind: KindResolver | None = None,
                 statuses: StatusLookup | None = None, timeout: float = 30.0) -> None:
        """``statuses`` may be a caught-up StatusReader's ``get`` (else the topic is read)."""
        self.config = dict(client_config)
        self.configs_topic = configs_topic
        self.offsets_topic = offsets_topic
        self.status_topic = status_topic
        self.timeout = timeout
        self._resolve_kind = resolve_kind
        self._statuses = statuses
        self._admin: Any = None

    # Reading the state -----------------------------------------------------------------

    def record(self, connector_id: str) -> protocol.ConnectorRecord:
        """The connector record in ``ferry-configs``; UnknownConnector when there is none."""
        protocol.split_id(connector_id)
        key = protocol.connector_key(connector_id)
        found = self._read_latest(self.configs_topic, lambda k: k == key).get(key)
        if found is None or found[1] is None:
            raise UnknownConnector(f"connector {connector_id} is unknown (no record in "
                                   f"{self.configs_topic})")
        try:
            return protocol.ConnectorRecord.decode(found[1])
        except protocol.ProtocolError as exc:
            raise OffsetsError(f"unreadable connector record of {connector_id}: {exc}") from exc

    def kind(self, record: protocol.ConnectorRecord) -> Kind:
        return connector_kind(record.config, self._resolve_kind)

    def status(self, connector_id: str) -> protocol.ConnectorStatus | None:
        if self._statuses is not None:
            return self._statuses(connector_id)
        connector_key = protocol.connector_key(connector_id)
        task_prefix = f"{protocol.TASK_PREFIX}{connector_id}/".encode()
        latest = self._read_latest(
            self.status_topic, lambda k: k == connector_key or k.startswith(task_prefix))
        return status_from_latest(connector_id, {k: v for k, (_p, v) in latest.items()})

    def ensure_stopped(self, connector_id: str, record: protocol.ConnectorRecord,
                       kind: Kind) -> None:
        check_stopped(connector_id, record, None)  # the cheap check first
        members = self._group_members(protocol.sink_group(connector_id)) if kind == SINK else 0
        check_stopped(connector_id, record, self.status(connector_id), members)

    # list --------------------------------------------------------------------------------

    def list_offsets(self, connector_id: str) -> ConnectorOffsets:
        record = self.record(connector_id)
        kind = self.kind(record)
        if kind == SOURCE:
            entries = tuple(sorted(
                (SourceOffset(partition, offset)
                 for partition, (_p, offset) in self._source_offsets(connector_id).values()
                 if offset is not None),
                key=lambda e: json.dumps(e.partition, sort_keys=True)))
            return ConnectorOffsets(connector_id, kind, source=entries)
        committed = self._committed(protocol.sink_group(connector_id))
        lags = self._lags(record, committed)
        sink = tuple(SinkOffset(t, p, o) for (t, p), o in sorted(committed.items()))
        return ConnectorOffsets(connector_id, kind, sink=sink, lag=tuple(lags))

    def sink_lag(self, connector_id: str, config: Mapping[str, Any]) -> dict[str, int]:
        """Lag per topic of a sink (for ``status.sinkLag``); no record read, no state check."""
        committed = self._committed(protocol.sink_group(connector_id))
        record = protocol.ConnectorRecord(dict(config), 1, "running", 0)
        return lag_by_topic(self._lags(record, committed))

    # alter and reset -----------------------------------------------------------------------

    def alter(self, connector_id: str, body: Any) -> str:
        """Apply a KIP-875 PATCH body; a summary of what was done."""
        record = self.record(connector_id)
        kind = self.kind(record)
        entries = parse_offsets(body, kind)
        self.ensure_stopped(connector_id, record, kind)
        if kind == SOURCE:
            return self._alter_source(connector_id, [e for e in entries
                                                     if isinstance(e, SourceOffset)])
        return self._alter_sink(connector_id, record,
                                [e for e in entries if isinstance(e, SinkOffset)])

    def reset(self, connector_id: str) -> str:
        """Forget every offset of the connector; a summary of what was done."""
        record = self.record(connector_id)
        kind = self.kind(record)
        self.ensure_stopped(connector_id, record, kind)
        if kind == SOURCE:
            current = self._source_offsets(connector_id)
            tombstones = [(key, partition, None) for key, (_sp, (partition, offset))
                          in current.items() if offset is not None]
            self._produce(tombstones)
            return f"reset: {len(tombstones)} source partition offset(s) of {connector_id} removed"
        group = protocol.sink_group(connector_id)
        deleted = self._delete_group(group)
        return (f"reset: consumer group {group} deleted" if deleted
                else f"reset: consumer group {group} had no offsets")

    def _alter_source(self, connector_id: str, entries: Sequence[SourceOffset]) -> str:
        current = self._source_offsets(connector_id)
        writes: list[tuple[bytes, int | None, dict[str, Any] | None]] = []
        for entry in entries:
            key = protocol.offset_key(connector_id, entry.partition)
            known = current.get(key)
            # An existing key is rewritten in its own partition (compaction is per
            # partition); a new one goes where the runtime's producer would put it.
            writes.append((key, known[1][0] if known else None, entry.offset))
        self._produce(writes)
        removed = sum(1 for e in entries if e.offset is None)
        return (f"altered: {len(entries) - removed} source partition offset(s) of "
                f"{connector_id} set, {removed} removed")

    def _alter_sink(self, connector_id: str, record: protocol.ConnectorRecord,
                    entries: Sequence[SinkOffset]) -> str:
        group = protocol.sink_group(connector_id)
        wanted = {(e.topic, e.partition) for e in entries}
        watermarks = self._watermarks(wanted)
        missing = sorted(wanted - set(watermarks))
        if missing:
            listed = ", ".join(f"{t}[{p}]" for t, p in missing[:5])
            raise InvalidOffsets(f"no such topic partition(s): {listed}")
        committed = self._committed(group)
        policy = str(record.config.get("consumer.override.auto.offset.reset", "earliest"))
        plan = plan_sink_alter(entries, committed, watermarks, policy)
        if plan.delete_group:
            self._delete_group(group)
        if plan.commit:
            self._alter_group(group, plan.commit)
        removed = sum(1 for e in entries if e.offset is None)
        return (f"altered: {len(entries) - removed} committed offset(s) of {group} set, "
                f"{removed} removed")

    # Kafka -----------------------------------------------------------------------------

    def _admin_client(self) -> Any:
        if self._admin is None:
            from confluent_kafka.admin import AdminClient

            self._admin = AdminClient(self.config)
        return self._admin

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        from confluent_kafka import KafkaException

        try:
            return fn()
        except KafkaException as exc:
            raise OffsetsUnavailable(f"cannot {what}: {exc.args[0]}") from exc
        except (TimeoutError, OSError) as exc:
            raise OffsetsUnavailable(f"cannot {what}: {exc}") from exc

    def _source_offsets(self, connector_id: str
                        ) -> dict[bytes, tuple[dict[str, Any], tuple[int, dict[str, Any] | None]]]:
        """key -> (source partition, (topic partition, offset)) for the connector."""
        owned: dict[bytes, tuple[dict[str, Any], tuple[int, dict[str, Any] | None]]] = {}

        def mine(key: bytes) -> bool:
            return protocol.offset_owner(key) == connector_id

        for key, (partition, value) in self._read_latest(self.offsets_topic, mine).items():
            try:
                offset = protocol.parse_offset_value(value)
            except protocol.ProtocolError:
                continue
            owned[key] = (protocol.parse_offset_key(key)[1], (partition, offset))
        return owned

    def _read_latest(self, topic: str, wanted: Callable[[bytes], bool]
                     ) -> dict[bytes, tuple[int, bytes | None]]:
        """The latest value (and partition) of each wanted key, reading the topic to its end."""
        latest: dict[bytes, tuple[int, bytes | None]] = self._call(
            f"read {topic}", lambda: self._scan(topic, wanted))
        return latest

    def _scan(self, topic: str, wanted: Callable[[bytes], bool]
              ) -> dict[bytes, tuple[int, bytes | None]]:
        try:
            return kafka_log.read_compacted(self.config, topic, wanted, self.timeout,
                                            missing_ok=False)
        except kafka_log.CompactedTopicError as exc:
            raise OffsetsUnavailable(str(exc)) from exc

    def _produce(self, writes: Sequence[tuple[bytes, int | None, dict[str, Any] | None]]) -> None:
        records = [(key, protocol.offset_value(offset), partition)
                   for key, partition, offset in writes]
        try:
            kafka_log.produce_acknowledged(self.config, self.offsets_topic, records,
                                           self.timeout)
        except kafka_log.CompactedTopicError as exc:
            raise OffsetsUnavailable(str(exc)) from exc

    def _group_members(self, group: str) -> int:
        from confluent_kafka import KafkaError, KafkaException

        admin = self._admin_client()
        try:
            described = admin.describe_consumer_groups(
                [group], request_timeout=self.timeout)[group].result(timeout=self.timeout)
        except KafkaException as exc:
            if exc.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND:
                return 0
            raise OffsetsUnavailable(f"cannot describe group {group}: {exc.args[0]}") from exc
        return len(described.members or [])

    def _committed(self, group: str) -> dict[TopicPartition, int]:
        from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError, KafkaException

        admin = self._admin_client()
        try:
            result = admin.list_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(group)],
                request_timeout=self.timeout)[group].result(timeout=self.timeout)
        except KafkaException as exc:
            if exc.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND:
                return {}
            raise OffsetsUnavailable(f"cannot list the offsets of {group}: "
                                     f"{exc.args[0]}") from exc
        return {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions or []
                if tp.offset >= 0 and tp.error is None}

    def _lags(self, record: protocol.ConnectorRecord,
              committed: Mapping[TopicPartition, int]) -> list[PartitionLag]:
        partitions = set(committed)
        topics = configured_topics(record.config)
        if topics:
            metadata = self._call("read topic metadata",
                                  lambda: self._admin_client().list_topics(timeout=self.timeout))
            for topic in topics:
                known = metadata.topics.get(topic)
                if known is not None and known.error is None:
                    partitions.update((topic, p) for p in known.partitions)
        return partition_lags(committed, self._watermarks(partitions))

    def _watermarks(self, partitions: Iterable[TopicPartition]
                    ) -> dict[TopicPartition, tuple[int, int]]:
        """(first, end) offset of each existing partition; missing partitions are left out."""
        from confluent_kafka import KafkaException
        from confluent_kafka import TopicPartition as KafkaPartition
        from confluent_kafka.admin import OffsetSpec  # type: ignore[attr-defined]

        wanted = sorted(set(partitions))
        if not wanted:
            return {}
        admin = self._admin_client()
        metadata = self._call("read topic metadata",
                              lambda: admin.list_topics(timeout=self.timeout))
        existing = [(t, p) for t, p in wanted if t in metadata.topics
                    and metadata.topics[t].error is None and p in metadata.topics[t].partitions]
        if not existing:
            return {}
        found: dict[TopicPartition, list[int]] = {tp: [0, 0] for tp in existing}
        earliest, latest = OffsetSpec.earliest(), OffsetSpec.latest()  # type: ignore[no-untyped-call]
        for slot, spec in ((0, earliest), (1, latest)):
            futures = admin.list_offsets({KafkaPartition(t, p): spec for t, p in existing},
                                         request_timeout=self.timeout)
            for tp, future in futures.items():
                try:
                    found[(tp.topic, tp.partition)][slot] = future.result(
                        timeout=self.timeout).offset
                except KafkaException as exc:
                    raise OffsetsUnavailable(f"cannot read the offsets of {tp.topic}"
                                             f"[{tp.partition}]: {exc.args[0]}") from exc
        return {tp: (low, high) for tp, (low, high) in found.items()}

    def _alter_group(self, group: str, offsets: Sequence[SinkOffset]) -> None:
        from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException
        from confluent_kafka import TopicPartition as KafkaPartition

        request = ConsumerGroupTopicPartitions(
            group, [KafkaPartition(o.topic, o.partition, o.offset) for o in offsets
                    if o.offset is not None])
        try:
            result = self._admin_client().alter_consumer_group_offsets(
                [request], request_timeout=self.timeout)[group].result(timeout=self.timeout)
        except KafkaException as exc:
            raise OffsetsUnavailable(f"cannot alter the offsets of {group}: "
                                     f"{exc.args[0]}") from exc
        failed = [tp for tp in result.topic_partitions or [] if tp.error is not None]
        if failed:
            raise OffsetsUnavailable(f"cannot alter the offset of {failed[0].topic}"
                                     f"[{failed[0].partition}] in {group}: {failed[0].error}")

    def _delete_group(self, group: str) -> bool:
        from confluent_kafka import KafkaException

        from ferry import control

        try:
            return control.delete_consumer_group(self._admin_client(), group, self.timeout)
        except control.GroupNotEmpty as exc:
            raise NotStopped(f"{exc}; try again once its tasks are gone") from exc
        except KafkaException as exc:
            raise OffsetsUnavailable(f"cannot delete group {group}: {exc.args[0]}") from exc
