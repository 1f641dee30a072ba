"""DataGen: deterministic generated records, for demos, tests and benchmarks.

Each of the connector's ``tasks.max`` tasks produces its own numbered sequence: task ``i``
emits records ``seq = 0, 1, 2...`` with source partition ``{"task": i}`` and offset
``{"seq": n}``. Every value is a pure function of (``seed``, task, seq), so a restarted task
continues right after its committed offset and emits exactly what it would have emitted:
no gap, no difference, which is also why it supports exactly-once delivery.

Example (5 million records of about 200 bytes from each of 4 tasks, as fast as possible)::

    name: bench
    connector.class: DataGen
    tasks.max: 4
    topic: bench
    max.records: 5000000
    value.shape: string
    value.size: 200
"""

from __future__ import annotations

import random
import string
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ferry.api import ConfigDef, ConfigType, ConnectError, Importance, SourceConnector, SourceTask
from ferry.api.config import at_least, non_empty, one_of
from ferry.api.records import SourceRecord, SourceRecordBatch
from ferry.api.schema import BYTES, INT32, INT64, STRING, Schema, struct

TOPIC = "topic"
MAX_RECORDS = "max.records"
RECORDS_PER_SECOND = "records.per.second"
BATCH_SIZE = "batch.size"
VALUE_SHAPE = "value.shape"
VALUE_SIZE = "value.size"
KEY_SHAPE = "key.shape"
SEED = "seed"
# Set by the connector in each task's config, not by users.
TASK_INDEX = "datagen.task"
TASK_COUNT = "datagen.tasks"

TASK_FIELD = "task"
SEQ_FIELD = "seq"

CONFIG_DEF = (
    ConfigDef()
    .define(TOPIC, ConfigType.STRING, importance=Importance.HIGH, validator=non_empty,
            doc="The topic to publish data to.")
    .define(MAX_RECORDS, ConfigType.LONG, -1, Importance.MEDIUM, validator=at_least(-1),
            doc="Records each task produces before it idles; -1 for no limit.")
    .define(RECORDS_PER_SECOND, ConfigType.DOUBLE, -1.0, Importance.MEDIUM,
            doc="Rate limit of each task, in records per second; -1 (or 0) for none.")
    .define(BATCH_SIZE, ConfigType.INT, 1000, Importance.LOW, validator=at_least(1),
            doc="The maximum number of records one poll returns.")
    .define(VALUE_SHAPE, ConfigType.STRING, "sequence", Importance.MEDIUM,
            validator=one_of("sequence", "string", "bytes"),
            doc="sequence: a struct {task, seq, payload} with its schema; string: a str "
                "\"task:seq:payload\"; bytes: the same as UTF-8 bytes.")
    .define(VALUE_SIZE, ConfigType.INT, 100, Importance.MEDIUM, validator=at_least(0),
            doc="Length of the payload (sequence), or of the whole value (string, bytes; "
                "never shorter than its task:seq: prefix).")
    .define(KEY_SHAPE, ConfigType.STRING, "none", Importance.LOW,
            validator=one_of("none", "task", "seq"),
            doc="none: no key; task: the task index (int32); seq: the sequence number (int64).")
    .define(SEED, ConfigType.LONG, 0, Importance.LOW,
            doc="Seed of the payloads: equal seeds give equal records.")
)

TASK_DEF = (
    ConfigDef()
    .define(TASK_INDEX, ConfigType.INT, 0, validator=at_least(0), doc="Set by the connector.")
    .define(TASK_COUNT, ConfigType.INT, 1, validator=at_least(1), doc="Set by the connector.")
)

VALUE_SCHEMA = struct([("task", INT32), ("seq", INT64), ("payload", STRING)],
                      name="ferry.datagen.Sequence")

_POOL = 4096          # payloads are windows into a seeded random text this much longer
_STRIDE = 2654435761  # Knuth's multiplicative hash: neighbouring seqs get distant windows
_IDLE_S = 0.1         # a finished or throttled poll waits at most this long


@dataclass(frozen=True, slots=True)
class DataGenConfig:
    topic: str
    task: int
    max_records: int
    rate: float
    batch_size: int
    value_shape: str
    value_size: int
    key_shape: str
    seed: int

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> DataGenConfig:
        v = CONFIG_DEF.merge(TASK_DEF).parse(raw)
        return cls(v[TOPIC], v[TASK_INDEX], v[MAX_RECORDS], v[RECORDS_PER_SECOND],
                   v[BATCH_SIZE], v[VALUE_SHAPE].lower(), v[VALUE_SIZE], v[KEY_SHAPE].lower(),
                   v[SEED])


class Payloads:
    """The deterministic values of one task: ``value(seq)`` depends on nothing else."""

    def __init__(self, config: DataGenConfig) -> None:
        # A str seed is hashed with SHA-512 by ``random``: stable across runs and versions.
        rnd = random.Random(f"ferry-datagen:{config.seed}:{config.task}")
        self._text = "".join(rnd.choices(string.ascii_letters + string.digits,
                                         k=_POOL + config.value_size))
        self._bytes = self._text.encode("ascii")
        self._config = config

    def values(self, start: int, stop: int) -> list[Any]:
        text, size, task = self._text, self._config.value_size, self._config.task
        shape = self._config.value_shape
        if shape == "sequence":
            return [{"task": task, "seq": n,
                     "payload": text[(o := n * _STRIDE % _POOL):o + size]}
                    for n in range(start, stop)]
        if shape == "string":
            return [(p := f"{task}:{n}:")
                    + text[(o := n * _STRIDE % _POOL):o + max(0, size - len(p))]
                    for n in range(start, stop)]
        data = self._bytes
        return [(b := b"%d:%d:" % (task, n))
                + data[(o := n * _STRIDE % _POOL):o + max(0, size - len(b))]
                for n in range(start, stop)]


class DataGenTask(SourceTask):
    """Emits its task's sequence from the committed offset on, at most ``batch.size`` a poll."""

    def start(self, config: Mapping[str, Any]) -> None:
        self._config = c = DataGenConfig.parse(config)
        self._partition = {TASK_FIELD: c.task}
        self._payloads = Payloads(c)
        key_schema = {"none": None, "task": INT32, "seq": INT64}[c.key_shape]
        value_schema: Schema = {"sequence": VALUE_SCHEMA, "string": STRING,
                                "bytes": BYTES}[c.value_shape]
        self._key_schema, self._value_schema = key_schema, value_schema
        self._next = self._resume_seq()
        self._started_at = time.monotonic()
        self._first = self._next  # the rate counts from here, not from seq 0
        self._stopping = threading.Event()

    def poll(self) -> Sequence[SourceRecord]:
        c = self._config
        count = c.batch_size
        if c.max_records >= 0:
            count = min(count, c.max_records - self._next)
        if c.rate > 0:
            count = min(count, self._due())
        if count <= 0:
            self._stopping.wait(self._idle_wait())
            return []
        start, stop = self._next, self._next + count
        self._next = stop
        offsets = [{SEQ_FIELD: n} for n in range(start, stop)]
        keys: Sequence[int] | None = None
        if c.key_shape == "task":
            keys = [c.task] * count
        elif c.key_shape == "seq":
            keys = range(start, stop)
        return SourceRecordBatch(source_partition=self._partition, topic=c.topic,
                                 values=self._payloads.values(start, stop), offsets=offsets,
                                 keys=keys, key_schema=self._key_schema,
                                 value_schema=self._value_schema)

    def stop(self) -> None:
        self._stopping.set()

    def _resume_seq(self) -> int:
        offset = self.context.offset_reader.offset(self._partition)
        if not offset or offset.get(SEQ_FIELD) is None:
            return 0
        seq = offset[SEQ_FIELD]
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise ConnectError(f"DataGen offset of task {self._config.task} is not a "
                               f"sequence number: {seq!r}")
        return seq + 1

    def _due(self) -> int:
        """Records the rate allows now beyond those already emitted since start."""
        elapsed = time.monotonic() - self._started_at
        return int(elapsed * self._config.rate) - (self._next - self._first)

    def _idle_wait(self) -> float:
        c = self._config
        if c.max_records >= 0 and self._next >= c.max_records:
            return _IDLE_S
        # Throttled: sleep until the next record is due.
        due_at = self._started_at + (self._next - self._first + 1) / c.rate
        return max(0.0, min(_IDLE_S, due_at - time.monotonic()))


class DataGenConnector(SourceConnector):
    """Generates deterministic records; one sequence per task."""

    config_def: ClassVar[ConfigDef] = CONFIG_DEF
    exactly_once_support: ClassVar[bool] = True

    @classmethod
    def task_class(cls) -> type[SourceTask]:
        return DataGenTask

    def start(self, config: Mapping[str, Any]) -> None:
        CONFIG_DEF.parse(config)
        self._config = dict(config)

    def task_configs(self, max_tasks: int) -> list[dict[str, Any]]:
        return [{**self._config, TASK_INDEX: str(i), TASK_COUNT: str(max_tasks)}
                for i in range(max_tasks)]
