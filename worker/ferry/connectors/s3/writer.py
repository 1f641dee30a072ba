"""One Kafka topic-partition's objects: buffering, rotation, recovery. Pure but for the store.

Exactly once through deterministic objects. The records of a topic-partition are cut into
*groups* of consecutive offsets; a group ends when it holds ``flush.size`` records, or when a
record's time is ``rotate.interval.ms`` past the group's first record (that record starts the
next group), or at a ``rotate.schedule.interval.ms`` wall-clock boundary. A group is one
object per directory the partitioner sends its records to (one with the default partitioner),
each named from its first offset. Those rules depend only on the records (wall-clock rotation
aside), so a replay from a group's first offset makes the very same objects, which overwrite
themselves.

Each object's user metadata records its group (``ferry-group-start``, ``ferry-group-end``,
``ferry-group-objects``). Groups are uploaded one after the other, so on
:meth:`PartitionWriter.recover` the newest object tells where to resume: right after its
group when every object of the group is there, else at the group's start.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from ferry.api import DataError, SinkRecord, TopicPartition
from ferry.connectors.s3.formats import Format
from ferry.connectors.s3.naming import Naming
from ferry.connectors.s3.partitioners import Partitioner, TimestampExtractor

GROUP_START = "ferry-group-start"
GROUP_END = "ferry-group-end"
GROUP_OBJECTS = "ferry-group-objects"
RECORDS = "ferry-records"


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, metadata: Mapping[str, str]) -> None: ...

    def keys(self, prefix: str) -> Iterable[str]: ...

    def metadata(self, key: str) -> dict[str, str] | None: ...


@dataclass(frozen=True)
class Layout:
    """Everything that decides object names and contents; shared by a task's writers."""

    naming: Naming
    partitioner: Partitioner
    format: Format
    timestamp: TimestampExtractor
    flush_size: int
    rotate_interval_ms: int = -1
    rotate_schedule_ms: int = -1
    skip_null_values: bool = False


@dataclass
class _Buffer:
    start: int
    chunks: list[bytes] = field(default_factory=list)


@dataclass(frozen=True)
class _Checkpoint:
    lengths: dict[str, int]
    group_start: int | None
    group_count: int
    group_base_ts: int | None
    last_offset: int
    next_expected: int | None
    deadline_ms: int | None


class PartitionWriter:
    """Buffers one topic-partition's records and writes each group when it is complete."""

    def __init__(self, tp: TopicPartition, layout: Layout, store: ObjectStore,
                 clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self.tp = tp
        self.layout = layout
        self.store = store
        self.clock_ms = clock_ms
        self.files: dict[str, _Buffer] = {}
        self.group_start: int | None = None
        self.group_count = 0
        self.group_base_ts: int | None = None
        self.last_offset = -1
        self.next_expected: int | None = None
        self.deadline_ms: int | None = None
        self.objects_written = 0
        self.records_skipped = 0
        self._checkpoint = self._snapshot()

    # Recovery ----------------------------------------------------------------------------

    def listing_prefix(self) -> str:
        naming, partitioner = self.layout.naming, self.layout.partitioner
        if partitioner.single_directory():
            probe = SinkRecord(topic=self.tp.topic, partition=self.tp.partition, offset=0,
                               value=None)
            return naming.directory(partitioner.encode(probe, None)) + naming.directory_delim
        return naming.topic_prefix(self.tp.topic)

    def recover(self) -> int | None:
        """The offset to resume at from the objects already written, or None if unknown."""
        naming = self.layout.naming
        starts: dict[int, str] = {}
        for key in self.store.keys(self.listing_prefix()):
            start = naming.start_offset(key, self.tp.topic, self.tp.partition)
            if start is not None:
                starts[start] = key
        if not starts:
            return None
        newest = max(starts)
        meta = self.store.metadata(starts[newest])
        try:
            assert meta is not None
            first, last, count = (int(meta[GROUP_START]), int(meta[GROUP_END]),
                                  int(meta[GROUP_OBJECTS]))
        except (AssertionError, KeyError, ValueError):
            return None  # not written by Ferry: rely on the committed offset alone
        present = sum(1 for s in starts if first <= s <= last)
        resume = last + 1 if present >= count else first
        self.next_expected = resume
        self._checkpoint = self._snapshot()
        return resume

    # Writing -----------------------------------------------------------------------------

    def write(self, record: SinkRecord) -> bool:
        """Add one record; True when this completed (and wrote) a group."""
        offset = record.offset
        if self.next_expected is not None and offset < self.next_expected:
            self.records_skipped += 1  # already in a written object or in the open group
            return False
        layout = self.layout
        if record.value is None:
            if not layout.skip_null_values:
                raise DataError(f"record {self.tp}@{offset} has a null value; set "
                                "behavior.on.null.values=ignore to skip tombstones")
            self.next_expected = offset + 1
            return False
        ts = layout.timestamp(record)
        if record.topic != self.tp.topic or record.partition != self.tp.partition:
            record = record.replace(topic=self.tp.topic, partition=self.tp.partition)
        encoded = layout.partitioner.encode(record, ts)
        chunk = layout.format.encode(record)
        wrote = False
        if self.group_count and self._time_to_rotate(ts):
            self._write_group()
            wrote = True
        if not self.group_count:
            self.group_start, self.group_base_ts = offset, ts
            if layout.rotate_schedule_ms > 0:
                interval = layout.rotate_schedule_ms
                self.deadline_ms = (self.clock_ms() // interval + 1) * interval
        elif self.group_base_ts is None:
            self.group_base_ts = ts
        buffer = self.files.get(encoded)
        if buffer is None:
            buffer = self.files[encoded] = _Buffer(offset)
        buffer.chunks.append(chunk)
        self.group_count += 1
        self.last_offset = offset
        self.next_expected = offset + 1
        if self.group_count >= layout.flush_size:
            self._write_group()
            wrote = True
        return wrote

    def _time_to_rotate(self, ts: int | None) -> bool:
        interval = self.layout.rotate_interval_ms
        if interval > 0 and ts is not None and self.group_base_ts is not None \
                and ts - self.group_base_ts >= interval:
            return True
        return self.deadline_ms is not None and self.clock_ms() >= self.deadline_ms

    def rotate_if_due(self) -> bool:
        """Write the open group if its wall-clock deadline passed; True if it did."""
        if self.group_count and self.deadline_ms is not None \
                and self.clock_ms() >= self.deadline_ms:
            self._write_group()
            return True
        return False

    def _write_group(self) -> None:
        layout, tp = self.layout, self.tp
        meta = {GROUP_START: str(self.group_start), GROUP_END: str(self.last_offset),
                GROUP_OBJECTS: str(len(self.files))}
        for encoded, buffer in sorted(self.files.items(), key=lambda item: item[1].start):
            key = layout.naming.object_key(encoded, tp.topic, tp.partition, buffer.start,
                                           layout.format.extension)
            self.store.put(key, layout.format.finish(buffer.chunks),
                           {**meta, RECORDS: str(len(buffer.chunks))})
        # Only once every object of the group is written does the group count as done.
        self.objects_written += len(self.files)
        self.files = {}
        self.group_start, self.group_count, self.group_base_ts = None, 0, None
        self.deadline_ms = None
        self._checkpoint = self._snapshot()

    # Offsets and batches -----------------------------------------------------------------

    def committable(self, consumed: int) -> int:
        """The offset safe to commit: the open group's start, else what was consumed."""
        return self.group_start if self.group_start is not None else consumed

    def buffered(self) -> int:
        return self.group_count

    def checkpoint(self) -> None:
        """Remember the state before a batch, so a failed batch can be taken back."""
        self._checkpoint = self._snapshot()

    def rollback(self) -> None:
        """Forget what was added since the last checkpoint (or the last written group)."""
        cp = self._checkpoint
        self.files = {enc: buf for enc, buf in self.files.items() if enc in cp.lengths}
        for enc, buf in self.files.items():
            del buf.chunks[cp.lengths[enc]:]
        self.group_start, self.group_count = cp.group_start, cp.group_count
        self.group_base_ts, self.last_offset = cp.group_base_ts, cp.last_offset
        self.next_expected, self.deadline_ms = cp.next_expected, cp.deadline_ms

    def _snapshot(self) -> _Checkpoint:
        return _Checkpoint({enc: len(buf.chunks) for enc, buf in self.files.items()},
                           self.group_start, self.group_count, self.group_base_ts,
                           self.last_offset, self.next_expected, self.deadline_ms)
