"""Tasks: the plugin classes that move records. One instance per task, one thread each.

Source task lifecycle::

    task.initialize(context); task.start(config)
    loop: task.poll() -> records (or [])      # the runtime produces them to Kafka
          task.commit_record(record, meta)    # after the broker acknowledged each record
          task.commit()                       # after the runtime stored source offsets
    task.stop()                               # may be called from another thread to wake poll

Sink task lifecycle::

    task.initialize(context); task.start(config)
    task.open(partitions)                     # on assignment (consumer group rebalance)
    loop: task.put(records)                   # a batch of converted, transformed records
          task.pre_commit(offsets) -> offsets # calls flush(offsets) by default
    task.close(partitions)                    # on revocation, after a final flush
    task.stop()

Only :meth:`SourceTask.poll` or :meth:`SinkTask.put` must be written.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ferry.api.records import SinkRecord, SourceRecord, TopicPartition


class OffsetReader:
    """Reads source offsets that the runtime committed for this connector."""

    def offset(self, source_partition: Mapping[str, Any]) -> dict[str, Any] | None:
        """The last committed offset of one source partition, or None."""
        return None

    def offsets(self, partitions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        return [self.offset(p) for p in partitions]


class SourceTaskContext:
    """What a source task may ask of the runtime."""

    def __init__(self, offset_reader: OffsetReader | None = None,
                 config: Mapping[str, Any] | None = None) -> None:
        self.offset_reader = offset_reader or OffsetReader()
        self.config: Mapping[str, Any] = config or {}


class SinkTaskContext:
    """What a sink task may ask of the runtime: pause, resume, rewind, commit now."""

    def assignment(self) -> set[TopicPartition]:
        return set()

    def pause(self, *partitions: TopicPartition) -> None:
        """Stop fetching from these partitions until resumed (back-pressure)."""

    def resume(self, *partitions: TopicPartition) -> None:
        """Fetch again from paused partitions."""

    def rewind(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Consume these partitions again from the given offsets (the next record to read)."""

    def request_commit(self) -> None:
        """Flush and commit offsets as soon as the current batch is done."""


@dataclass(frozen=True, slots=True)
class RecordMetadata:
    """Where the broker stored a source record."""

    topic: str
    partition: int
    offset: int


class Task(ABC):  # noqa: B024 - the abstract methods are in SourceTask and SinkTask
    """Base of source and sink tasks."""

    version: str = "0.1.0"

    def start(self, config: Mapping[str, Any]) -> None:  # noqa: B027 - optional hook
        """Receive the task's config (one of the connector's ``task_configs``)."""

    def stop(self) -> None:  # noqa: B027 - optional hook
        """Stop work; for a source task this may be called from another thread."""


class SourceTask(Task):
    """Reads records from an external system."""

    def __init__(self) -> None:
        self.context = SourceTaskContext()

    def initialize(self, context: SourceTaskContext) -> None:
        self.context = context

    @abstractmethod
    def poll(self) -> Sequence[SourceRecord]:
        """The next batch of records; an empty list when there is nothing yet.

        A list of :class:`~ferry.api.records.SourceRecord`, or a
        :class:`~ferry.api.records.SourceRecordBatch` when the records share their source
        partition and topic (the runtime sends those faster).

        Block for at most a short while (say a second) so stop and pause are honoured.
        Raise :class:`~ferry.api.errors.RetriableError` for transient failures.
        """

    def commit_record(self, record: SourceRecord, metadata: RecordMetadata | None) -> None:
        """The broker acknowledged ``record`` (metadata None: a transform dropped it)."""

    def commit(self) -> None:
        """The runtime stored the offsets of every acknowledged record so far."""


class SinkTask(Task):
    """Writes records to an external system."""

    def __init__(self) -> None:
        self.context = SinkTaskContext()

    def initialize(self, context: SinkTaskContext) -> None:
        self.context = context

    def open(self, partitions: Sequence[TopicPartition]) -> None:
        """These partitions were assigned to this task."""

    def close(self, partitions: Sequence[TopicPartition]) -> None:
        """These partitions were revoked; their records were flushed and committed."""

    @abstractmethod
    def put(self, records: Sequence[SinkRecord]) -> None:
        """Write (or buffer) a batch. Raise RetriableError to have it offered again."""

    def flush(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Make everything put so far durable; offsets are committed only after this returns."""

    def pre_commit(self, offsets: Mapping[TopicPartition, int]) -> Mapping[TopicPartition, int]:
        """The offsets safe to commit (next offset to read per partition); flushes by default."""
        self.flush(offsets)
        return offsets
