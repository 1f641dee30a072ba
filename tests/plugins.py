"""Small plugins the tests load by dotted path (``tests.plugins.RecordingSinkConnector``)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from ferry.api import (
    ConfigDef,
    ConfigType,
    RetriableError,
    SinkConnector,
    SinkRecord,
    SinkTask,
    SourceConnector,
    SourceRecord,
    SourceTask,
    TopicPartition,
)

# Tests look at what the tasks saw through this registry, keyed by the config's "probe" key.
PROBES: dict[str, Probe] = {}


class Probe:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.put: list[SinkRecord] = []
        self.flushed: list[dict[TopicPartition, int]] = []
        self.opened: list[TopicPartition] = []
        self.closed: list[TopicPartition] = []
        self.fail_flushes = 0
        self.retriable_puts = 0
        self.flush_calls = 0
        self.config: dict[str, Any] = {}


def probe(name: str) -> Probe:
    return PROBES.setdefault(name, Probe())


class RecordingSinkTask(SinkTask):
    def start(self, config: Mapping[str, Any]) -> None:
        self.probe = probe(str(config["probe"]))
        self.probe.config = dict(config)

    def open(self, partitions: Sequence[TopicPartition]) -> None:
        with self.probe.lock:
            self.probe.opened.extend(partitions)

    def close(self, partitions: Sequence[TopicPartition]) -> None:
        with self.probe.lock:
            self.probe.closed.extend(partitions)

    def put(self, records: Sequence[SinkRecord]) -> None:
        with self.probe.lock:
            if self.probe.retriable_puts > 0 and records:
                self.probe.retriable_puts -= 1
                raise RetriableError("the external system is busy")
            self.probe.put.extend(records)

    def flush(self, offsets: Mapping[TopicPartition, int]) -> None:
        with self.probe.lock:
            self.probe.flush_calls += 1
            if self.probe.fail_flushes > 0:
                self.probe.fail_flushes -= 1
                raise OSError("disk full")
            self.probe.flushed.append(dict(offsets))


class RecordingSinkConnector(SinkConnector):
    config_def = ConfigDef().define("probe", ConfigType.STRING, doc="Name of the test probe.")

    @classmethod
    def task_class(cls) -> type[RecordingSinkTask]:
        return RecordingSinkTask

    def start(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)

    def task_configs(self, max_tasks: int) -> list[dict[str, Any]]:
        return [dict(self.config) for _ in range(max_tasks)]


class EchoSourceTask(SourceTask):
    """Emits the config's ``message`` (possibly a secret) a fixed number of times."""

    def start(self, config: Mapping[str, Any]) -> None:
        self.topic = str(config["topic"])
        self.left = int(config.get("count", 10))
        self.message = str(config.get("message", "hello"))
        if str(config.get("fail", "false")) == "true":
            # A careless plugin: its error message carries the secret it was given.
            raise RuntimeError(f"login refused for password {self.message}")

    def poll(self) -> list[SourceRecord]:
        if self.left <= 0:
            import time

            time.sleep(0.05)
            return []
        self.left -= 1
        return [SourceRecord(source_partition={"echo": 0}, source_offset={"left": self.left},
                             topic=self.topic, value=f"record {self.left}")]


class EchoSourceConnector(SourceConnector):
    config_def = (ConfigDef().define("topic", ConfigType.STRING)
                  .define("message", ConfigType.PASSWORD, "hello")
                  .define("count", ConfigType.INT, 10)
                  .define("fail", ConfigType.BOOLEAN, False))

    @classmethod
    def task_class(cls) -> type[EchoSourceTask]:
        return EchoSourceTask

    def start(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)

    def task_configs(self, max_tasks: int) -> list[dict[str, Any]]:
        return [dict(self.config)]
