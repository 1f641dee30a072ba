"""The source task loop: poll, transform, convert, produce; commit acknowledged offsets.

Producing is asynchronous: records go to the producer's queue without waiting, and only
delivery *errors* call back into Python. On each offset commit (every
``offset.flush.interval.ms``) the runner waits for the producer to drain; once every record
produced so far is acknowledged, the latest offset per source partition is stored. A task
that overrides ``commit_record`` gets per-record acknowledgements instead (a little slower).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ferry import protocol
from ferry.api.records import SourceRecord, SourceRecordBatch
from ferry.api.task import RecordMetadata, SourceTask, SourceTaskContext
from ferry.runtime.conversion import Converters
from ferry.runtime.errors import ErrorPolicy, FailedRecord, Stage, TaskFailed
from ferry.runtime.offsets import OffsetStore, StoreOffsetReader
from ferry.runtime.source_batch import convert_all, none_converts_alike, writes_utf8
from ferry.runtime.status import StatusBoard
from ferry.runtime.task_runner import TaskRunner
from ferry.runtime.topics import TopicCreator

log = logging.getLogger(__name__)

PendingOffsets = dict[int, tuple[Mapping[str, Any], Mapping[str, Any]]]


class SourceTaskRunner(TaskRunner):
    def __init__(self, *, connector_id: str, index: int, task: SourceTask,
                 task_config: Mapping[str, Any], converters: Converters, chain: Any,
                 producer_config: Mapping[str, Any], offsets: OffsetStore,
                 topics: TopicCreator, policy: ErrorPolicy, flush_interval_ms: int,
                 status: StatusBoard, generation: int = 0) -> None:
        super().__init__(connector_id, index, status, generation)
        self.task = task
        self.task_config = dict(task_config)
        self.converters = converters
        self.chain = chain
        self.producer_config = dict(producer_config)
        self.offsets = offsets
        self.topics = topics
        self.policy = policy
        self.flush_interval = flush_interval_ms / 1000
        self._producer: Any = None
        self._pending: PendingOffsets = {}
        self._last_partition_id = 0
        self._delivery_errors: list[tuple[Any, Any]] = []
        self._next_commit = 0.0
        self._per_record_acks = type(task).commit_record is not SourceTask.commit_record
        self._convert_values = convert_all(converters.value)
        self._values_utf8 = writes_utf8(converters.value)
        self._convert_keys = convert_all(converters.key)
        self._keys_alike = none_converts_alike(converters.key)
        self.class_name = f"{type(task).__module__}.{type(task).__qualname__}"

    # TaskRunner hooks --------------------------------------------------------------------

    def start_task(self) -> None:
        from confluent_kafka import Producer

        config = dict(self.producer_config)
        if not self._per_record_acks:
            # Only failures call back: no Python work per acknowledged record.
            config["delivery.report.only.error"] = True
            config["on_delivery"] = self._on_delivery_error
        self._producer = Producer(config)
        self.offsets.load()
        self.task.initialize(SourceTaskContext(StoreOffsetReader(self.offsets), self.task_config))
        self.task.start(self.task_config)
        self._next_commit = time.monotonic() + self.flush_interval

    def iterate(self) -> None:
        started = time.perf_counter()
        try:
            records = self.task.poll()
        except Exception as exc:  # noqa: BLE001 - classified by the policy
            records = self.policy.recover(Stage.TASK_POLL, self.task.poll, exc, None,
                                          self.class_name, lambda: self.stopping) or []
        self.metrics.poll_time.observe(time.perf_counter() - started)
        if records:
            self.metrics.source_polled.inc(len(records))
            self.metrics.poll_batch.observe(len(records))
            self._send(records)
        else:
            self._producer.poll(0)
        if time.monotonic() >= self._next_commit:
            self.commit_offsets()

    def iterate_paused(self) -> None:
        self._producer.poll(0)
        if time.monotonic() >= self._next_commit:
            self.commit_offsets()

    def wake(self) -> None:
        # Source tasks may block in poll(); stop() is documented as callable from another thread.
        try:
            self.task.stop()
        except Exception:
            log.exception("task %s: stop() raised", self.name)

    def close_task(self, failed: bool) -> None:
        try:
            if not failed and self._producer is not None:
                self.commit_offsets(final=True)
        finally:
            if not self.stopping:
                self.wake()
            if self._producer is not None:
                self._producer.flush(5)

    # The hot path ------------------------------------------------------------------------

    def _send(self, records: Sequence[SourceRecord]) -> None:
        if self.chain is None and not self._per_record_acks:
            if isinstance(records, SourceRecordBatch):
                self._send_batch(records)
            else:
                self._send_plain(records)
            return
        produce = self._producer.produce
        chain = self.chain
        key_conv = self.converters.key.from_connect
        value_conv = self.converters.value.from_connect
        pending = self._pending
        ensure_topic = self.topics.ensure
        written = 0
        for record in records:
            stage = Stage.TRANSFORMATION
            try:
                if chain is not None:
                    transformed = chain.apply(record)
                    if transformed is None:
                        self._dropped(record)
                        continue
                    out: SourceRecord = transformed
                else:
                    out = record
                topic = out.topic
                stage = Stage.KAFKA_PRODUCE
                ensure_topic(topic)
                stage = Stage.KEY_CONVERTER
                key = key_conv(topic, out.key_schema, out.key)
                stage = Stage.VALUE_CONVERTER
                value = value_conv(topic, out.value_schema, out.value)
                stage = Stage.HEADER_CONVERTER
                headers = self._headers(out) if out.headers else None
            except Exception as exc:  # noqa: BLE001 - classified by the policy
                self._tolerate(stage, record, exc)
                continue
            self._produce(produce, out, record, topic, key, value, headers)
            self._track(pending, record)
            written += 1
        self.metrics.source_written.inc(written)

    def _send_batch(self, batch: SourceRecordBatch) -> None:
        """``_send_plain`` for a batch: values (and keys) converted in one pass, produced
        without a record object each, and only the batch's last offset tracked. If the topic
        cannot be ensured or a value does not convert, the batch goes record by record,
        which reports it (nothing was produced yet)."""
        if not batch:
            return
        topic = batch.topic
        keys: list[bytes | None] | None = None
        try:
            self.topics.ensure(topic)
            values: Sequence[bytes | None]
            if batch.utf8_values is not None and self._values_utf8:
                values = batch.utf8_values  # already what StringConverter would write
            else:
                values = self._convert_values(topic, batch.value_schema, batch.values)
            if batch.keys is not None:
                keys = self._convert_keys(topic, batch.key_schema, batch.keys)
            elif self._keys_alike:
                key = self.converters.key.from_connect(topic, batch.key_schema, None)
                if key is not None:
                    keys = [key] * len(values)
            else:
                keys = self._convert_keys(topic, batch.key_schema, [None] * len(values))
        except Exception:  # noqa: BLE001 - the per-record path reports it
            self._send_plain(batch)
            return
        produce = self._producer.produce
        if keys is None:
            for value in values:
                try:
                    produce(topic, value)
                except BufferError:
                    self._produce_bytes(topic, value, None)
        else:
            for value, key in zip(values, keys, strict=True):
                try:
                    produce(topic, value, key)
                except BufferError:
                    self._produce_bytes(topic, value, key)
        # _track for the last record only: the offsets of one source partition are in order.
        partition = batch.source_partition
        pid = id(partition)
        if pid != self._last_partition_id:
            self._pending.pop(pid, None)
            self._last_partition_id = pid
        self._pending[pid] = (partition, batch.offsets[-1])
        self.metrics.source_written.inc(len(values))

    def _produce_bytes(self, topic: str, value: bytes | None, key: bytes | None) -> None:
        """Produce, waiting for room in the producer's queue (serving delivery reports)."""
        while True:
            try:
                self._producer.produce(topic, value, key)
                return
            except BufferError:
                self._producer.poll(0.05)

    def _send_plain(self, records: Sequence[SourceRecord]) -> None:
        """``_send`` without transforms or per-record acks: the common case, kept lean.

        A record without headers, partition or timestamp goes straight to
        ``produce(topic, value, key)`` (no kwargs dict, no ``_produce`` call); the topic is
        ensured once per run of records to the same topic, and offsets are tracked inline
        (what ``_track`` does). Any other record takes the general path.
        """
        produce = self._producer.produce
        key_conv = self.converters.key.from_connect
        value_conv = self.converters.value.from_connect
        pending = self._pending
        ensure_topic = self.topics.ensure
        ensured: str | None = None
        written = 0
        for record in records:
            topic = record.topic
            stage = Stage.KAFKA_PRODUCE
            try:
                if topic != ensured:
                    ensure_topic(topic)
                    ensured = topic
                stage = Stage.KEY_CONVERTER
                key = key_conv(topic, record.key_schema, record.key)
                stage = Stage.VALUE_CONVERTER
                value = value_conv(topic, record.value_schema, record.value)
                stage = Stage.HEADER_CONVERTER
                headers = self._headers(record) if record.headers else None
            except Exception as exc:  # noqa: BLE001 - classified by the policy
                self._tolerate(stage, record, exc)
                continue
            if headers is None and record.partition is None and record.timestamp is None:
                try:
                    produce(topic, value, key)
                except BufferError:
                    self._produce(produce, record, record, topic, key, value, None)
            else:
                self._produce(produce, record, record, topic, key, value, headers)
            # _track, inlined: the latest offset per source partition, in order.
            partition = record.source_partition
            pid = id(partition)
            if pid != self._last_partition_id:
                pending.pop(pid, None)
                self._last_partition_id = pid
            pending[pid] = (partition, record.source_offset)
            written += 1
        self.metrics.source_written.inc(written)

    def _produce(self, produce: Any, out: SourceRecord, original: SourceRecord, topic: str,
                 key: bytes | None, value: bytes | None, headers: Any) -> None:
        kwargs: dict[str, Any] = {}
        if out.partition is not None:
            kwargs["partition"] = out.partition
        if out.timestamp is not None:
            kwargs["timestamp"] = out.timestamp
        if headers:
            kwargs["headers"] = headers
        if self._per_record_acks:
            kwargs["on_delivery"] = self._ack_callback(original)
        while True:
            try:
                produce(topic, value, key, **kwargs)
                return
            except BufferError:
                # Back-pressure: the producer queue is full; serve callbacks until there is room.
                # Keep trying even when stopping: skipping it would commit past a lost record.
                self._producer.poll(0.05)

    def _track(self, pending: PendingOffsets, record: SourceRecord) -> None:
        partition = record.source_partition
        pid = id(partition)
        if pid != self._last_partition_id:
            # Move the partition to the end so the latest offset per partition wins at commit.
            pending.pop(pid, None)
            self._last_partition_id = pid
        pending[pid] = (partition, record.source_offset)

    def _headers(self, record: SourceRecord) -> list[tuple[str, bytes | None]]:
        convert = self.converters.header.from_connect_header
        return [(k, convert(record.topic, k, None, v)) for k, v in record.headers]

    def _dropped(self, record: SourceRecord) -> None:
        """A transform filtered the record out: its offset still counts as done."""
        self._track(self._pending, record)
        self.metrics.filtered.inc()
        if self._per_record_acks:
            self.task.commit_record(record, None)

    def _tolerate(self, stage: Stage, record: SourceRecord, exc: BaseException) -> None:
        """Fail the task, or skip the record (its offset then counts as done)."""
        self.metrics.failed(stage.value).inc()
        failed = FailedRecord(record.topic, record.partition, None, None, None)
        self.policy.fail_or_tolerate(stage, exc, failed, self.class_name)
        self._track(self._pending, record)

    def _ack_callback(self, record: SourceRecord) -> Any:
        def on_delivery(err: Any, msg: Any) -> None:
            if err is not None:
                self._delivery_errors.append((err, msg))
                return
            self.task.commit_record(record, RecordMetadata(msg.topic(), msg.partition(),
                                                           msg.offset()))

        return on_delivery

    def _on_delivery_error(self, err: Any, msg: Any) -> None:
        if err is not None:
            self._delivery_errors.append((err, msg))

    # Offsets -----------------------------------------------------------------------------

    def commit_offsets(self, final: bool = False) -> None:
        """Store the offsets of every record the broker acknowledged so far."""
        self._next_commit = time.monotonic() + self.flush_interval
        started = time.perf_counter()
        snapshot, self._pending = self._pending, {}
        self._last_partition_id = 0
        remaining = self._producer.flush(30 if final else max(self.flush_interval, 5))
        self._check_delivery_errors()
        if remaining:
            # Not everything acknowledged yet: keep the offsets for the next attempt.
            snapshot.update(self._pending)
            self._pending = snapshot
            self.metrics.commit_failures.inc()
            log.warning("task %s: %d records not yet acknowledged; offsets not committed",
                        self.name, remaining)
            return
        if snapshot:
            offsets = {protocol.offset_key(self.connector_id, p): dict(o)
                       for p, o in snapshot.values()}
            try:
                self.offsets.commit(offsets)
            except Exception:
                self.metrics.commit_failures.inc()
                snapshot.update(self._pending)
                self._pending = snapshot
                log.exception("task %s: could not commit offsets", self.name)
                if final:
                    raise
                return
        try:
            self.task.commit()
        except Exception:
            log.exception("task %s: commit() raised", self.name)
        self.metrics.commit_time.observe(time.perf_counter() - started)

    def _check_delivery_errors(self) -> None:
        if not self._delivery_errors:
            return
        errors, self._delivery_errors = self._delivery_errors, []
        for err, msg in errors:
            failed = FailedRecord(msg.topic(), msg.partition(), None, msg.key(), msg.value())
            self.metrics.failed(Stage.KAFKA_PRODUCE.value).inc()
            try:
                self.policy.fail_or_tolerate(Stage.KAFKA_PRODUCE, _KafkaDeliveryError(err),
                                             failed, self.class_name)
            except TaskFailed:
                # Not tolerated: the offsets of this window must not be committed.
                self._pending = {}
                raise


class _KafkaDeliveryError(Exception):
    def __init__(self, err: Any) -> None:
        super().__init__(str(err))
