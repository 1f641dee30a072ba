"""The internal-topic protocol: the one place that knows Ferry's key and value formats.

Pure functions, no I/O. Values are compact JSON objects with a ``version`` field so the
format can evolve; readers ignore fields they don't know and refuse versions newer than
they understand. The operator imports this module, never the runtime.

| topic         | key                              | value                                    |
|---------------|----------------------------------|------------------------------------------|
| ferry-configs | ``connector/<ns>/<name>``        | config, tasksMax, target state, generation |
|               | ``tasks/<ns>/<name>``            | task configs for one connector config    |
|               | ``restart/<ns>/<name>``          | restart: id, include tasks, only failed  |
| ferry-offsets | ``["<ns>/<name>", {partition}]`` | ``{"version":1,"offset":{...}}``         |
| ferry-status  | ``connector/<ns>/<name>``        | state, worker id, trace, generation, time |
|               | ``task/<ns>/<name>/<i>``         | the same, for task i                     |

A tombstone (null value) on ``connector/<ns>/<name>`` in ferry-configs means the connector
was deleted; on a status key, that the unit no longer exists.

Units of work: the connector and each of its tasks are the partitions of
``ferry-tasks.<ns>.<name>`` (partition 0 the connector, partition i task i-1); the workers of
a connector share them through the consumer group ``ferry.<ns>.<name>``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

VERSION = 1

DEFAULT_OFFSETS_TOPIC = "ferry-offsets"
DEFAULT_CONFIGS_TOPIC = "ferry-configs"
DEFAULT_STATUS_TOPIC = "ferry-status"

# Topic configs of the internal topics: compacted, so the latest value per key is the state.
OFFSETS_PARTITIONS = 25
STATUS_PARTITIONS = 5
COMPACTED = {"cleanup.policy": "compact"}


TARGET_STATES = ("running", "paused", "stopped")
UNIT_STATES = ("UNASSIGNED", "RUNNING", "PAUSED", "STOPPED", "FAILED", "RESTARTING")


class ProtocolError(ValueError):
    """A key or value on an internal topic that this version cannot read."""


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def offset_key(connector_id: str, source_partition: Mapping[str, Any]) -> bytes:
    """The key of one source partition's offset; sorted keys make it canonical."""
    return _dumps([connector_id, dict(source_partition)])


def parse_offset_key(key: bytes) -> tuple[str, dict[str, Any]]:
    try:
        connector_id, partition = json.loads(key)
    except (ValueError, TypeError) as exc:
        raise ProtocolError(f"bad offset key {key!r}: {exc}") from None
    if not isinstance(connector_id, str) or not isinstance(partition, dict):
        raise ProtocolError(f"bad offset key {key!r}")
    return connector_id, partition


def offset_owner(key: bytes) -> str | None:
    """The connector an offset key belongs to; None for a key that is not one of ours."""
    try:
        return parse_offset_key(key)[0]
    except ProtocolError:
        return None


def offset_value(offset: Mapping[str, Any] | None) -> bytes | None:
    """The value for an offset; None (a tombstone) forgets the partition."""
    return None if offset is None else _dumps({"version": VERSION, "offset": dict(offset)})


def parse_offset_value(value: bytes | None) -> dict[str, Any] | None:
    if value is None:
        return None
    data = _load_versioned(value)
    offset = data.get("offset")
    if not isinstance(offset, dict):
        raise ProtocolError(f"offset value without an offset object: {value!r}")
    return offset


def _load_versioned(value: bytes) -> dict[str, Any]:
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise ProtocolError(f"not JSON: {value[:80]!r}: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"expected a JSON object: {value[:80]!r}")
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise ProtocolError(f"unsupported format version {version!r} (this Ferry reads {VERSION})")
    return data


# Names ---------------------------------------------------------------------------------


def split_id(connector_id: str) -> tuple[str, str]:
    namespace, sep, name = connector_id.partition("/")
    if not sep or not namespace or not name or "/" in name:
        raise ProtocolError(f"a connector id is <namespace>/<name>, got {connector_id!r}")
    return namespace, name


def units_topic(connector_id: str) -> str:
    """The topic whose partitions are the connector's units of work."""
    namespace, name = split_id(connector_id)
    return f"ferry-tasks.{namespace}.{name}"


def units_group(connector_id: str) -> str:
    """The consumer group the connector's workers join to share its units."""
    namespace, name = split_id(connector_id)
    return f"ferry.{namespace}.{name}"


def sink_group(connector_id: str) -> str:
    """The consumer group of a sink connector's tasks (where its offsets live)."""
    namespace, name = split_id(connector_id)
    return f"ferry-sink.{namespace}.{name}"


def transactional_id(connector_id: str, task: int) -> str:
    """The transactional.id of an exactly-once source task: stable, so a new owner fences."""
    namespace, name = split_id(connector_id)
    return f"ferry-source.{namespace}.{name}.{task}"


# ferry-configs -------------------------------------------------------------------------

CONNECTOR_PREFIX = "connector/"
TASKS_PREFIX = "tasks/"
RESTART_PREFIX = "restart/"
TASK_PREFIX = "task/"


def connector_key(connector_id: str) -> bytes:
    return f"{CONNECTOR_PREFIX}{connector_id}".encode()


def tasks_key(connector_id: str) -> bytes:
    return f"{TASKS_PREFIX}{connector_id}".encode()


def restart_key(connector_id: str) -> bytes:
    return f"{RESTART_PREFIX}{connector_id}".encode()


def task_status_key(connector_id: str, task: int) -> bytes:
    return f"{TASK_PREFIX}{connector_id}/{task}".encode()


def parse_key(key: bytes) -> tuple[str, str, int | None]:
    """(kind, connector id, task index or None) of a ferry-configs or ferry-status key."""
    text = key.decode(errors="replace")
    kind, sep, rest = text.partition("/")
    if not sep or kind not in ("connector", "tasks", "restart", "task"):
        raise ProtocolError(f"unknown key {text!r}")
    if kind == "task":
        connector_id, _, index = rest.rpartition("/")
        if not index.isdigit():
            raise ProtocolError(f"bad task key {text!r}")
        split_id(connector_id)
        return kind, connector_id, int(index)
    split_id(rest)
    return kind, rest, None


@dataclass(frozen=True)
class ConnectorRecord:
    """The desired state of one connector, as the operator (or a user) wrote it."""

    config: dict[str, Any]
    tasks_max: int
    target_state: str
    generation: int

    @property
    def config_hash(self) -> str:
        """Identifies the config (not the target state): what task configs derive from."""
        import hashlib

        digest = hashlib.sha256(_dumps({"config": self.config, "tasksMax": self.tasks_max}))
        return digest.hexdigest()[:16]

    def encode(self) -> bytes:
        if self.target_state not in TARGET_STATES:
            raise ProtocolError(f"target state must be one of {TARGET_STATES}")
        return _dumps({"version": VERSION, "config": self.config, "tasksMax": self.tasks_max,
                       "targetState": self.target_state, "generation": self.generation})

    @classmethod
    def decode(cls, value: bytes) -> ConnectorRecord:
        data = _load_versioned(value)
        try:
            state = str(data.get("targetState", "running"))
            if state not in TARGET_STATES:
                raise ProtocolError(f"unknown target state {state!r}")
            return cls(config={str(k): v for k, v in dict(data["config"]).items()},
                       tasks_max=int(data["tasksMax"]), target_state=state,
                       generation=int(data["generation"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"bad connector record: {exc}") from None


@dataclass(frozen=True)
class TaskConfigsRecord:
    """The task configs the connector computed for one generation of its config."""

    generation: int
    configs: list[dict[str, Any]]
    # Which connector config these were computed from (compaction keeps only the latest
    # connector record, so generations alone cannot tell a late reader which config it was).
    config_hash: str = ""

    def encode(self) -> bytes:
        return _dumps({"version": VERSION, "generation": self.generation, "tasks": self.configs,
                       "configHash": self.config_hash})

    @classmethod
    def decode(cls, value: bytes) -> TaskConfigsRecord:
        data = _load_versioned(value)
        try:
            return cls(generation=int(data["generation"]),
                       configs=[dict(t) for t in data["tasks"]],
                       config_hash=str(data.get("configHash", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"bad task configs record: {exc}") from None


@dataclass(frozen=True)
class RestartRecord:
    """Restart the connector (and its tasks, or only the failed units)."""

    id: str
    include_tasks: bool = False
    only_failed: bool = False
    task: int | None = None  # restart just this task

    def encode(self) -> bytes:
        return _dumps({"version": VERSION, "id": self.id, "includeTasks": self.include_tasks,
                       "onlyFailed": self.only_failed, "task": self.task})

    @classmethod
    def decode(cls, value: bytes) -> RestartRecord:
        data = _load_versioned(value)
        task = data.get("task")
        return cls(id=str(data.get("id", "")), include_tasks=bool(data.get("includeTasks")),
                   only_failed=bool(data.get("onlyFailed")),
                   task=int(task) if task is not None else None)


# ferry-status --------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitStatusRecord:
    """What a worker reports about one unit it runs (or ran)."""

    state: str
    worker_id: str
    generation: int = 0
    trace: str | None = None
    time_ms: int = 0
    # The connector config (hash) the unit runs, so a reader can tell stale tasks apart.
    config_hash: str = ""
    # Connector units only: how many task configs the connector published.
    task_count: int | None = None

    def encode(self) -> bytes:
        if self.state not in UNIT_STATES:
            raise ProtocolError(f"unit state must be one of {UNIT_STATES}")
        data: dict[str, Any] = {"version": VERSION, "state": self.state,
                                "workerId": self.worker_id, "generation": self.generation,
                                "time": self.time_ms}
        if self.trace:
            data["trace"] = self.trace
        if self.config_hash:
            data["configHash"] = self.config_hash
        if self.task_count is not None:
            data["tasks"] = self.task_count
        return _dumps(data)

    @classmethod
    def decode(cls, value: bytes) -> UnitStatusRecord:
        data = _load_versioned(value)
        state = str(data.get("state", ""))
        if state not in UNIT_STATES:
            raise ProtocolError(f"unknown unit state {state!r}")
        tasks = data.get("tasks")
        return cls(state=state, worker_id=str(data.get("workerId", "")),
                   generation=int(data.get("generation", 0)), trace=data.get("trace"),
                   time_ms=int(data.get("time", 0)),
                   config_hash=str(data.get("configHash", "")),
                   task_count=int(tasks) if tasks is not None else None)


@dataclass
class ConnectorStatus:
    """The folded status of one connector: its own unit and each task's."""

    connector: UnitStatusRecord | None = None
    tasks: dict[int, UnitStatusRecord] = field(default_factory=dict)


def fold_status(statuses: dict[str, ConnectorStatus], key: bytes | None,
                value: bytes | None) -> str | None:
    """Apply one ferry-status record to ``statuses``; the connector id it touched, or None."""
    if key is None:
        return None
    kind, connector_id, index = parse_key(key)
    if kind not in ("connector", "task") or (kind == "task" and index is None):
        raise ProtocolError(f"{kind!r} keys do not belong on the status topic")
    record = UnitStatusRecord.decode(value) if value is not None else None
    if record is None and connector_id not in statuses:
        return connector_id  # a tombstone for what is already gone
    status = statuses.setdefault(connector_id, ConnectorStatus())
    if kind == "connector":
        if record is None:
            statuses.pop(connector_id, None)
        elif supersedes(record, status.connector):
            status.connector = record
    elif index is not None:
        if record is None:
            status.tasks.pop(index, None)
            if status.connector is None and not status.tasks:
                statuses.pop(connector_id, None)
        elif supersedes(record, status.tasks.get(index)):
            status.tasks[index] = record
    return connector_id


def supersedes(new: UnitStatusRecord, current: UnitStatusRecord | None) -> bool:
    """Whether ``new`` replaces ``current`` as a unit's status.

    UNASSIGNED from one worker only says that worker let the unit go. When a rebalance
    moves a unit, the new owner's RUNNING can reach the topic before the old owner's
    UNASSIGNED (the old one is still stopping it); that late UNASSIGNED must not hide the
    unit running elsewhere. Every other state is a claim by its writer and always wins.
    """
    if new.state != "UNASSIGNED" or current is None or current.state == "UNASSIGNED":
        return True
    return not (current.worker_id and new.worker_id and current.worker_id != new.worker_id)
