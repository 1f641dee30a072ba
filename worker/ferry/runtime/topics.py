"""Creating a source connector's topics on first use (Kafka Connect's ``topic.creation.*`` keys)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ferry.api.config import subset
from ferry.api.errors import ConfigError

log = logging.getLogger(__name__)

_RESERVED = {"include", "exclude", "partitions", "replication.factor"}


@dataclass
class CreationGroup:
    name: str
    include: list[re.Pattern[str]]
    exclude: list[re.Pattern[str]]
    partitions: int
    replication_factor: int
    configs: dict[str, str] = field(default_factory=dict)

    def matches(self, topic: str) -> bool:
        return (any(p.fullmatch(topic) for p in self.include)
                and not any(p.fullmatch(topic) for p in self.exclude))


def creation_groups(config: Mapping[str, Any]) -> list[CreationGroup]:
    """The named groups in order, then ``default`` (which matches every topic)."""
    groups: list[CreationGroup] = []
    names = config.get("topic.creation.groups") or []
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    for name in [*names, "default"]:
        keys = subset(config, f"topic.creation.{name}.")
        default_include = ".*" if name == "default" else ""
        try:
            include = _patterns(keys.get("include", default_include))
            exclude = _patterns(keys.get("exclude", ""))
        except re.error as exc:
            raise ConfigError({f"topic.creation.{name}.include": f"bad regex: {exc}"}) from None
        groups.append(CreationGroup(
            name=name, include=include, exclude=exclude,
            partitions=int(keys.get("partitions", -1)),
            replication_factor=int(keys.get("replication.factor", -1)),
            configs={k: str(v) for k, v in keys.items() if k not in _RESERVED},
        ))
    return groups


def _patterns(value: Any) -> list[re.Pattern[str]]:
    return [re.compile(p.strip()) for p in str(value).split(",") if p.strip()]


class TopicCreator:
    """Creates a topic the first time a source task writes to it, when it does not exist."""

    def __init__(self, admin_config: Mapping[str, Any], config: Mapping[str, Any],
                 enabled: bool = True) -> None:
        self.enabled = enabled
        self._admin_config = dict(admin_config)
        self._groups = creation_groups(config)
        self._known: set[str] = set()
        self._admin: Any = None

    def ensure(self, topic: str) -> None:
        if topic in self._known:
            return
        if self.enabled:
            self._create_if_missing(topic)
        self._known.add(topic)

    def _create_if_missing(self, topic: str) -> None:
        from confluent_kafka import KafkaError, KafkaException
        from confluent_kafka.admin import AdminClient
        from confluent_kafka.cimpl import NewTopic

        if self._admin is None:
            self._admin = AdminClient(self._admin_config)
        metadata = self._admin.list_topics(timeout=30)
        if topic in metadata.topics and metadata.topics[topic].error is None:
            return
        group = next(g for g in self._groups if g.matches(topic) or g.name == "default")
        new = NewTopic(topic, group.partitions, group.replication_factor, config=group.configs)
        try:
            self._admin.create_topics([new])[topic].result(timeout=30)
            log.info("created topic %s (group %s, partitions %s)", topic, group.name,
                     group.partitions)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
