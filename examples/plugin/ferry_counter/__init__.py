"""An example source connector: each task counts upwards, resuming where it stopped.

Shows the whole plugin contract: a config definition, a connector that splits work into
task configs, a task that reads its committed offset on start and emits records with
their source partition and offset.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ferry import (
    ConfigDef,
    ConfigType,
    Importance,
    SourceConnector,
    SourceRecord,
    SourceTask,
    at_least,
    schema,
)

__all__ = ["CounterConnector", "CounterTask"]


class CounterTask(SourceTask):
    """Emits ``{"task": i, "n": n}`` for n = 0, 1, 2, ... up to ``count`` (then idles)."""

    def start(self, config: Mapping[str, Any]) -> None:
        self.topic = str(config["topic"])
        self.index = int(config["task.index"])
        self.count = int(config["count"])
        self.batch = int(config["batch.size"])
        # One source partition per task; its offset is the next number to emit.
        self.partition = {"counter": self.index}
        committed = self.context.offset_reader.offset(self.partition)
        self.next = int(committed["next"]) if committed else 0

    def poll(self) -> list[SourceRecord]:
        if self.next >= self.count:
            time.sleep(0.1)  # nothing left: stay responsive to stop()
            return []
        end = min(self.next + self.batch, self.count)
        records = [
            SourceRecord(source_partition=self.partition, source_offset={"next": n + 1},
                         topic=self.topic, key=str(self.index), value={"task": self.index, "n": n},
                         value_schema=VALUE_SCHEMA)
            for n in range(self.next, end)
        ]
        self.next = end
        return records


VALUE_SCHEMA = schema.struct([("task", schema.INT32), ("n", schema.INT64)], name="counter.Value")


class CounterConnector(SourceConnector):
    config_def = (
        ConfigDef()
        .define("topic", ConfigType.STRING, importance=Importance.HIGH,
                doc="The topic to write numbers to.")
        .define("count", ConfigType.LONG, 1000, doc="How many numbers each task emits.",
                validator=at_least(0))
        .define("batch.size", ConfigType.INT, 100, doc="Numbers per poll.", validator=at_least(1))
    )
    version = "1.0.0"
    exactly_once_support = True

    @classmethod
    def task_class(cls) -> type[CounterTask]:
        return CounterTask

    def start(self, config: Mapping[str, Any]) -> None:
        self.config = self.config_def.parse(config)

    def task_configs(self, max_tasks: int) -> list[dict[str, Any]]:
        return [{**self.config, "task.index": i} for i in range(max_tasks)]
