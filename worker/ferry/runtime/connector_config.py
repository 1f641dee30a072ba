"""The keys every connector understands (Kafka Connect's names), and loading a connector file.

A connector file is the ``Connector`` resource a user would ``kubectl apply``; a Kafka Connect
JSON (``{"name": ..., "config": {...}}``) or ``.properties`` file works too, so a user migrating
from Kafka Connect can run what they already have.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from ferry.api.config import ConfigDef, ConfigType, Importance, at_least, one_of
from ferry.api.errors import ConfigError


class TargetState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


COMMON = (
    ConfigDef()
    .define("connector.class", ConfigType.CLASS, importance=Importance.HIGH,
            doc="The connector's class: a short name, a Ferry or Kafka Connect class path.")
    .define("tasks.max", ConfigType.INT, 1, Importance.HIGH,
            "The most tasks to run for this connector.", at_least(1))
    .define("key.converter", ConfigType.CLASS, "StringConverter", Importance.MEDIUM,
            "Converter between record keys and Kafka bytes.")
    .define("value.converter", ConfigType.CLASS, "StringConverter", Importance.MEDIUM,
            "Converter between record values and Kafka bytes.")
    .define("header.converter", ConfigType.CLASS, "SimpleHeaderConverter", Importance.LOW,
            "Converter between header values and Kafka bytes.")
    .define("transforms", ConfigType.LIST, [], Importance.LOW,
            "Aliases of the transforms to apply, in order.")
    .define("predicates", ConfigType.LIST, [], Importance.LOW,
            "Aliases of the predicates the transforms may refer to.")
    .define("errors.retry.timeout", ConfigType.LONG, 0, Importance.MEDIUM,
            "How long to retry a failed operation, in ms; 0 never retries, -1 retries forever.",
            at_least(-1))
    .define("errors.retry.delay.max.ms", ConfigType.LONG, 60000, Importance.MEDIUM,
            "The longest wait between two retries, in ms.", at_least(1))
    .define("errors.tolerance", ConfigType.STRING, "none", Importance.MEDIUM,
            "none fails the task on the first bad record; all skips bad records.",
            one_of("none", "all"))
    .define("errors.log.enable", ConfigType.BOOLEAN, False, Importance.MEDIUM,
            "Log every tolerated failure.")
    .define("errors.log.include.messages", ConfigType.BOOLEAN, False, Importance.LOW,
            "Include the record's topic, partition and offset in those logs.")
    .define("errors.deadletterqueue.topic.name", ConfigType.STRING, "", Importance.MEDIUM,
            "Sink connectors: the topic bad records are written to; empty disables it.")
    .define("errors.deadletterqueue.topic.replication.factor", ConfigType.INT, -1,
            Importance.LOW, "Replication factor of the dead letter topic; -1 = broker default.")
    .define("errors.deadletterqueue.context.headers.enable", ConfigType.BOOLEAN, False,
            Importance.MEDIUM, "Add __connect.errors.* headers that say where and why it failed.")
    .define("offset.flush.interval.ms", ConfigType.LONG, 10000, Importance.LOW,
            "How often offsets are committed, in ms.", at_least(1))
    .define("exactly.once.support", ConfigType.STRING, "requested", Importance.MEDIUM,
            "Source connectors: 'required' runs tasks with transactional producers.",
            one_of("requested", "required"))
    .define("task.isolation", ConfigType.STRING, "thread", Importance.LOW,
            "Sink connectors: 'process' runs each task in a process of its own, so tasks "
            "use more than one core; 'thread' runs them as threads of the worker.",
            one_of("thread", "process"))
)

SINK = (
    ConfigDef()
    .define("topics", ConfigType.LIST, [], Importance.HIGH, "Topics to consume.")
    .define("topics.regex", ConfigType.STRING, "", Importance.HIGH,
            "A regular expression of topics to consume (instead of topics).")
    .define("consumer.max.poll.records", ConfigType.INT, 2000, Importance.LOW,
            "The most records handed to one put() call.", at_least(1))
)

SOURCE = (
    ConfigDef()
    .define("topic.creation.default.partitions", ConfigType.INT, -1, Importance.LOW,
            "Partitions of topics the connector creates; -1 = broker default.")
    .define("topic.creation.default.replication.factor", ConfigType.INT, -1, Importance.LOW,
            "Replication factor of topics the connector creates; -1 = broker default.")
    .define("topic.creation.groups", ConfigType.LIST, [], Importance.LOW,
            "Extra topic creation groups, each with .include, .exclude and topic settings.")
)


@dataclass
class ConnectorSpec:
    """What to run: a connector's identity, class, raw config and target state."""

    namespace: str
    name: str
    config: dict[str, Any]
    state: TargetState = TargetState.RUNNING
    generation: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def class_name(self) -> str:
        return str(self.config.get("connector.class", ""))

    @property
    def tasks_max(self) -> int:
        return int(self.config.get("tasks.max", 1))


def spec_from_resource(resource: Mapping[str, Any]) -> ConnectorSpec:
    """A ConnectorSpec from a ``ferry.dev/v1alpha1`` ``Connector`` resource (a dict)."""
    kind = resource.get("kind")
    if kind != "Connector":
        raise ConfigError({"kind": f"expected Connector, got {kind!r}"})
    meta = resource.get("metadata") or {}
    spec = resource.get("spec") or {}
    name = meta.get("name")
    if not name:
        raise ConfigError({"metadata.name": "required"})
    config = {str(k): _scalar(v) for k, v in (spec.get("config") or {}).items()}
    if spec.get("class"):
        config["connector.class"] = str(spec["class"])
    if spec.get("tasksMax") is not None:
        config["tasks.max"] = str(spec["tasksMax"])
    state = str(spec.get("state", "running")).lower()
    if state not in {s.value for s in TargetState}:
        raise ConfigError({"spec.state": f"must be running, paused or stopped; got {state!r}"})
    return ConnectorSpec(namespace=str(meta.get("namespace") or "default"), name=str(name),
                         config=config, state=TargetState(state),
                         generation=int(meta.get("generation") or 1))


def load_connector_file(path: Path) -> ConnectorSpec:
    """Read a Connector YAML, a Kafka Connect JSON config, or a ``.properties`` file."""
    text = path.read_text()
    if path.suffix == ".properties":
        config = _parse_properties(text)
        name = config.pop("name", path.stem)
        return ConnectorSpec(namespace="default", name=name, config=dict(config))
    try:
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not valid YAML or JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a Connector resource or a Kafka Connect config")
    if "kind" in document:
        return spec_from_resource(document)
    if "config" in document and isinstance(document["config"], dict):
        config = {str(k): _scalar(v) for k, v in document["config"].items()}
        name = str(document.get("name") or config.pop("name", path.stem))
        config.pop("name", None)
        return ConnectorSpec(namespace="default", name=name, config=config)
    raise ConfigError(f"{path}: expected kind: Connector, or a Kafka Connect JSON with 'config'")


def _scalar(value: Any) -> Any:
    # Kafka Connect configs are string maps; YAML gives ints and bools. Keep lists as lists.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _parse_properties(text: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        for sep_index, char in enumerate(line):
            if char in "=:":
                result[line[:sep_index].strip()] = line[sep_index + 1:].strip()
                break
        else:
            result[line] = ""
    return result


def sink_topics(config: Mapping[str, Any]) -> tuple[list[str], str]:
    """The topics (or regex) a sink consumes; ConfigError unless exactly one is given."""
    values = SINK.parse(config)
    topics, regex = values["topics"], values["topics.regex"]
    if topics and regex:
        raise ConfigError({"topics": "set either topics or topics.regex, not both"})
    if not topics and not regex:
        raise ConfigError({"topics": "required for a sink connector (or topics.regex)"})
    return topics, regex
