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


class OneTaskSourceConnector(SourceConnector):
    """Runs one task with the connector's own config."""

    def start(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)

    def task_configs(self, max_tasks: int) -> list[dict[str, Any]]:
        return [dict(self.config)]


class EchoSourceConnector(OneTaskSourceConnector):
    config_def = (ConfigDef().define("topic", ConfigType.STRING)
                  .define("message", ConfigType.PASSWORD, "hello")
                  .define("count", ConfigType.INT, 10)
                  .define("fail", ConfigType.BOOLEAN, False))

    @classmethod
    def task_class(cls) -> type[EchoSourceTask]:
        return EchoSourceTask


class FlakySourceTask(SourceTask):
    """Counts like DataGen, but fails at start while ``<fail.dir>/fail-<task>`` exists."""

    def start(self, config: Mapping[str, Any]) -> None:
        import os

        self.index = int(config["task.index"])
        self.topic = str(config["topic"])
        marker = os.path.join(str(config["fail.dir"]), f"fail-{self.index}")
        if os.path.exists(marker):
            raise RuntimeError(f"task {self.index} told to fail by {marker}")
        committed = self.context.offset_reader.offset({"flaky": self.index}) or {}
        self.next = int(committed.get("seq", -1)) + 1

    def poll(self) -> list[SourceRecord]:
        import time

        time.sleep(0.05)
        n, self.next = self.next, self.next + 1
        return [SourceRecord(source_partition={"flaky": self.index}, source_offset={"seq": n},
                             topic=self.topic, key=str(self.index), value=f"{self.index}:{n}")]


class FlakySourceConnector(SourceConnector):
    config_def = ConfigDef().define("topic", ConfigType.STRING).define("fail.dir",
                                                                       ConfigType.STRING)

    @classmethod
    def task_class(cls) -> type[FlakySourceTask]:
        return FlakySourceTask

    def start(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)

    def task_configs(self, max_tasks: int) -> list[dict[str, Any]]:
        return [{**self.config, "task.index": i} for i in range(max_tasks)]


class LingeringSourceTask(SourceTask):
    """Emits ``count`` records, then waits in poll() (1 s at a time) for stop(); the poll that
    sees the stop returns one more record ``linger.ms`` later, so the task's final offsets
    commit lands that long after the stop: a source with a slow in-flight read. (The runner
    spends microseconds per second outside poll(), the only time a stop would miss it.)"""

    def start(self, config: Mapping[str, Any]) -> None:
        self.topic = str(config["topic"])
        self.left = int(config.get("count", 5))
        self.linger = int(config.get("linger.ms", 3000)) / 1000
        self.sent = 0
        self.stopped = threading.Event()

    def poll(self) -> list[SourceRecord]:
        if self.left <= 0:
            if not self.stopped.wait(1):
                return []
            import time

            time.sleep(self.linger)
        else:
            self.left -= 1
        self.sent += 1
        return [SourceRecord(source_partition={"lingering": 0},
                             source_offset={"sent": self.sent}, topic=self.topic,
                             value=f"record {self.sent}")]

    def stop(self) -> None:
        self.stopped.set()


class LingeringSourceConnector(OneTaskSourceConnector):
    config_def = (ConfigDef().define("topic", ConfigType.STRING)
                  .define("count", ConfigType.INT, 5)
                  .define("linger.ms", ConfigType.INT, 3000))

    @classmethod
    def task_class(cls) -> type[LingeringSourceTask]:
        return LingeringSourceTask


class LedgerSinkTask(SinkTask):
    """Appends ``open``/``close``/``rec`` lines to ``<dir>/<worker>-<task>.ledger``: who saw what.

    ``rec`` lines are written at put and fsynced at flush, so after a kill the ledger holds
    at least what was committed.
    """

    def start(self, config: Mapping[str, Any]) -> None:
        import os

        self.path = os.path.join(str(config["ledger.dir"]),
                                 f"{os.environ.get('FERRY_TEST_WORKER', os.getpid())}-"
                                 f"{config['task.index']}.ledger")
        self.handle = open(self.path, "a")  # noqa: SIM115 - closed in stop()

    def _event(self, kind: str, partitions: Sequence[TopicPartition]) -> None:
        import time

        for tp in partitions:
            self.handle.write(f"{kind} {tp.partition} {time.time():.6f}\n")
        self.handle.flush()

    def open(self, partitions: Sequence[TopicPartition]) -> None:
        self._event("open", partitions)

    def close(self, partitions: Sequence[TopicPartition]) -> None:
        self._event("close", partitions)

    def put(self, records: Sequence[SinkRecord]) -> None:
        self.handle.write("".join(f"rec {r.partition} {r.offset}\n" for r in records))

    def flush(self, offsets: Mapping[TopicPartition, int]) -> None:
        import os

        self.handle.flush()
        os.fsync(self.handle.fileno())

    def stop(self) -> None:
        self.handle.close()


def ledger_rows(path: Any) -> list[list[str]]:
    """A ledger's complete lines, split (``kind partition value``). Read while a task writes,
    or after a SIGKILL, the last line may be cut where a buffer ended: it is left out."""
    from pathlib import Path

    lines = Path(path).read_text().split("\n")[:-1]
    return [row for row in map(str.split, lines) if len(row) == 3]


class LedgerSinkConnector(SinkConnector):
    config_def = ConfigDef().define("ledger.dir", ConfigType.STRING)

    @classmethod
    def task_class(cls) -> type[LedgerSinkTask]:
        return LedgerSinkTask

    def start(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)

    def task_configs(self, max_tasks: int) -> list[dict[str, Any]]:
        return [{**self.config, "task.index": i} for i in range(max_tasks)]
