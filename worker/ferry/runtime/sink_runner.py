"""The sink task loop: consume a batch, convert, transform, ``put``; commit after ``flush``.

Consumer offsets are committed only for records the task has made durable: on each commit
(every ``offset.flush.interval.ms``, on request, and before partitions are revoked) the
runner asks the task's ``pre_commit`` (which flushes by default) and commits what it
returns. When a flush fails, the partitions are rewound to the last committed offsets, so
the records are delivered again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ferry.api.errors import RetriableError
from ferry.api.records import SinkRecord, TopicPartition
from ferry.api.task import SinkTask, SinkTaskContext
from ferry.kafka_log import consume_available
from ferry.runtime.conversion import Converters, null_to_connect
from ferry.runtime.dead_letter import DeadLetterReporter
from ferry.runtime.errors import ErrorPolicy, FailedRecord, Stage, TaskFailed
from ferry.runtime.sink_batch import BatchReader, LastOffsets, Unusual
from ferry.runtime.status import StatusBoard
from ferry.runtime.task_runner import TaskRunner

log = logging.getLogger(__name__)

Offsets = dict[TopicPartition, int]


class _Context(SinkTaskContext):
    def __init__(self, runner: SinkTaskRunner) -> None:
        self._runner = runner

    def assignment(self) -> set[TopicPartition]:
        return set(self._runner.assigned)

    def pause(self, *partitions: TopicPartition) -> None:
        self._runner.pause_partitions(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        self._runner.resume_partitions(partitions)

    def rewind(self, offsets: Mapping[TopicPartition, int]) -> None:
        self._runner.rewind(dict(offsets))

    def request_commit(self) -> None:
        self._runner.commit_requested = True


class SinkTaskRunner(TaskRunner):
    def __init__(self, *, connector_id: str, index: int, task: SinkTask,
                 task_config: Mapping[str, Any], converters: Converters, chain: Any,
                 consumer_config: Mapping[str, Any], topics: list[str], topics_regex: str,
                 policy: ErrorPolicy, flush_interval_ms: int, max_batch: int,
                 status: StatusBoard, dead_letter: DeadLetterReporter | None = None,
                 generation: int = 0) -> None:
        super().__init__(connector_id, index, status, generation)
        self.task = task
        self.task_config = dict(task_config)
        self.converters = converters
        self.chain = chain
        self._reader = BatchReader(converters.key, converters.value, converters.header)
        self.consumer_config = dict(consumer_config)
        self.subscription = topics or [f"^{topics_regex}"]
        # Cooperative and KIP-848 groups hand out partitions incrementally.
        self._incremental = (
            "cooperative" in str(consumer_config.get("partition.assignment.strategy", ""))
            or str(consumer_config.get("group.protocol", "")) == "consumer")
        self.policy = policy
        self.dead_letter = dead_letter
        self.flush_interval = flush_interval_ms / 1000
        self.max_batch = max_batch
        self.assigned: set[TopicPartition] = set()
        self.commit_requested = False
        self._consumer: Any = None
        self._consumed: Offsets = {}   # next offset to read, per partition, after put()
        self._committed: Offsets = {}  # last committed next-offset per partition
        self._paused_by_task: set[TopicPartition] = set()
        self._retry_batch: Sequence[SinkRecord] | None = None
        self._retry_offsets: Offsets = {}
        self._failed = False
        self._retry_backoff = 0.3
        self._retry_at = 0.0
        self._next_commit = 0.0
        self.class_name = f"{type(task).__module__}.{type(task).__qualname__}"

    # Consumer group membership -----------------------------------------------------------

    def start_task(self) -> None:
        from confluent_kafka import Consumer

        self._consumer = Consumer(self.consumer_config)
        self.task.initialize(_Context(self))
        self.task.start(self.task_config)
        self._consumer.subscribe(self.subscription, on_assign=self._on_assign,
                                 on_revoke=self._on_revoke, on_lost=self._on_lost)
        self._next_commit = time.monotonic() + self.flush_interval

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        added = [TopicPartition(p.topic, p.partition) for p in partitions]
        self.assigned.update(added)
        if added:
            log.info("task %s: assigned %s", self.name, ", ".join(map(str, added)))
            self.task.open(added)
            if not self._resumed.is_set():
                # A pause inside the callback, before the client's own (incremental) assign,
                # is undone by that assign: assign first, so the pause holds.
                if self._incremental:
                    consumer.incremental_assign(partitions)
                else:
                    consumer.assign(partitions)
                consumer.pause(partitions)

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        revoked = [TopicPartition(p.topic, p.partition) for p in partitions]
        if not revoked:
            return
        log.info("task %s: revoked %s", self.name, ", ".join(map(str, revoked)))
        try:
            if not self._failed:  # a failed task commits nothing, not even on its way out
                self.commit_offsets(only=set(revoked))
        finally:
            self._forget(revoked)
            self.task.close(revoked)

    def _on_lost(self, consumer: Any, partitions: list[Any]) -> None:
        # Another member owns them now: committing would overwrite its progress.
        lost = [TopicPartition(p.topic, p.partition) for p in partitions]
        log.warning("task %s: lost %s without a clean revoke", self.name, ", ".join(map(str, lost)))
        self._forget(lost)
        self.task.close(lost)

    def _forget(self, partitions: Sequence[TopicPartition]) -> None:
        for tp in partitions:
            self.assigned.discard(tp)
            self._consumed.pop(tp, None)
            self._committed.pop(tp, None)
            self._paused_by_task.discard(tp)
        if self._retry_batch is not None:
            gone = set(partitions)
            self._retry_batch = [
                r for r in self._retry_batch
                if TopicPartition(r.original_topic, r.original_partition) not in gone]
            for tp in gone:
                self._retry_offsets.pop(tp, None)

    # The loop ----------------------------------------------------------------------------

    def iterate(self) -> None:
        if self._retry_batch is not None:
            self._retry_put()
        else:
            messages = consume_available(self._consumer, self.max_batch, timeout=0.5)
            if messages:
                self._deliver(messages)
        if self.commit_requested or time.monotonic() >= self._next_commit:
            self.commit_offsets()

    def iterate_paused(self) -> None:
        # Paused partitions return nothing, but polling keeps us in the group.
        self._poll_paused()
        if time.monotonic() >= self._next_commit:
            self.commit_offsets()

    def _poll_paused(self) -> None:
        """Poll while the partitions are paused; should a record still come, read it again
        after the resume rather than skip it (a later commit would go past it)."""
        from confluent_kafka import TopicPartition as KafkaTP

        first: dict[tuple[str, int], int] = {}
        for message in self._consumer.consume(self.max_batch, timeout=0):
            if message.error() is None:
                first.setdefault((message.topic(), message.partition()), message.offset())
        for (topic, partition), offset in first.items():
            log.warning("task %s: a record of %s-%d came while paused; it is read again on "
                        "resume", self.name, topic, partition)
            self._consumer.seek(KafkaTP(topic, partition, offset))

    def on_pause(self) -> None:
        self._set_paused(True)

    def on_resume(self) -> None:
        self._set_paused(False)

    def _set_paused(self, paused: bool) -> None:
        from confluent_kafka import TopicPartition as KafkaTP

        if self._consumer is None:
            return
        partitions = [KafkaTP(tp.topic, tp.partition) for tp in self.assigned
                      if tp not in self._paused_by_task]
        if partitions:
            (self._consumer.pause if paused else self._consumer.resume)(partitions)

    def _deliver(self, messages: list[Any]) -> None:
        records: Sequence[SinkRecord]
        try:
            if self.chain is None and self._reader.fixed_schemas:
                records, last = self._reader.read_batch(messages)
            else:
                records, last = self._reader.read(messages)
        except Unusual:
            records, last = self._deliver_carefully(messages)
        else:
            if self.chain is not None:
                records = self._transform(messages, records)
        self.metrics.sink_read.inc(len(messages))
        # Offsets count as consumed only once put() took the batch (see _put).
        self._put(records, {TopicPartition(t, p): o + 1 for (t, p), o in last.items()})

    def _transform(self, messages: list[Any], records: Sequence[SinkRecord]) -> list[SinkRecord]:
        """The transform chain over a batch the fast path converted (one record per message)."""
        apply, out = self.chain.apply, []
        for message, record in zip(messages, records, strict=True):
            try:
                result = apply(record)
            except Exception as exc:  # noqa: BLE001 - classified by the policy
                self._tolerate(Stage.TRANSFORMATION, message, exc)
                continue
            if result is None:
                self.metrics.filtered.inc()
            else:
                out.append(result)
        return out

    def _deliver_carefully(self, messages: list[Any]) -> tuple[list[SinkRecord], LastOffsets]:
        """Convert and transform each message on its own, so a failure names its stage."""
        records: list[SinkRecord] = []
        # The last offset per (topic, partition); TopicPartition keys are built once per batch.
        last: LastOffsets = {}
        key_conv = self.converters.key.to_connect
        null_key = null_to_connect(self.converters.key)
        value_conv = self.converters.value.to_connect
        chain = self.chain
        for message in messages:
            error = message.error()
            if error is not None:
                self._consume_error(error)
                continue
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            stage = Stage.KEY_CONVERTER
            try:
                raw_key = message.key()
                if raw_key is None and null_key is not None:
                    key_schema, key = null_key
                else:
                    key_schema, key = key_conv(topic, raw_key)
                stage = Stage.VALUE_CONVERTER
                value_schema, value = value_conv(topic, message.value())
                stage = Stage.HEADER_CONVERTER
                raw_headers = message.headers()
                headers = self._headers(topic, raw_headers) if raw_headers else ()
                timestamp_type, timestamp = message.timestamp()
                record: SinkRecord | None = SinkRecord(
                    topic=topic, partition=partition, offset=offset, key=key, value=value,
                    headers=headers, timestamp=timestamp if timestamp_type else None,
                    key_schema=key_schema, value_schema=value_schema,
                    original_topic=topic, original_partition=partition)
                if chain is not None:
                    stage = Stage.TRANSFORMATION
                    record = chain.apply(record)
                    if record is None:
                        self.metrics.filtered.inc()
            except Exception as exc:  # noqa: BLE001 - classified by the policy
                record = None
                self._tolerate(stage, message, exc)
            if record is not None:
                records.append(record)
            last[(topic, partition)] = offset
        return records, last

    def _put(self, records: Sequence[SinkRecord], offsets: Offsets) -> None:
        started = time.perf_counter()
        try:
            self.task.put(records)
        except RetriableError as exc:
            log.warning("task %s: put() asked for a retry: %s", self.name, exc)
            self._retry_batch, self._retry_offsets = records, offsets
            self._set_paused(True)
            self._retry_at = time.monotonic() + self._retry_backoff
            return
        except Exception as exc:
            raise TaskFailed(Stage.TASK_PUT, exc) from exc
        self._consumed.update(offsets)
        self.metrics.put_time.observe(time.perf_counter() - started)
        self.metrics.put_batch.observe(len(records))
        self.metrics.sink_put.inc(len(records))

    def _retry_put(self) -> None:
        # Keep polling (paused) so the group does not think we died while we wait.
        self._poll_paused()
        if time.monotonic() < self._retry_at:
            time.sleep(min(0.1, self._retry_at - time.monotonic()))
            return
        batch, self._retry_batch = self._retry_batch or [], None
        offsets, self._retry_offsets = self._retry_offsets, {}
        self._retry_backoff = min(self._retry_backoff * 2, self.policy.retry_delay_max_ms / 1000)
        self._put(batch, offsets)
        if self._retry_batch is None:
            self._retry_backoff = 0.3
            if self._resumed.is_set():
                self._set_paused(False)

    def _headers(self, topic: str,
                 raw: list[tuple[str, bytes | None]]) -> tuple[tuple[str, Any], ...]:
        convert = self.converters.header.to_connect_header
        return tuple((k, convert(topic, k, v).value) for k, v in raw)

    def _tolerate(self, stage: Stage, message: Any, exc: BaseException) -> None:
        self.metrics.failed(stage.value).inc()
        failed = FailedRecord(message.topic(), message.partition(), message.offset(),
                              message.key(), message.value(), message.headers())
        self.policy.fail_or_tolerate(stage, exc, failed, self.class_name)
        if self.dead_letter is not None:
            self.metrics.dead_letter.inc()

    def _consume_error(self, error: Any) -> None:
        from confluent_kafka import KafkaError

        if error.code() == KafkaError._PARTITION_EOF:
            return
        if error.fatal():
            raise TaskFailed(Stage.KAFKA_CONSUME, RuntimeError(str(error)))
        log.warning("task %s: consumer error (will retry): %s", self.name, error)

    # Offsets -----------------------------------------------------------------------------

    def commit_offsets(self, only: set[TopicPartition] | None = None, final: bool = False) -> None:
        """Flush the task and commit offsets of what it made durable."""
        from confluent_kafka import TopicPartition as KafkaTP

        self._next_commit = time.monotonic() + self.flush_interval
        self.commit_requested = False
        current = {tp: o for tp, o in self._consumed.items()
                   if (only is None or tp in only) and self._committed.get(tp) != o}
        if not current and only is None:
            return
        started = time.perf_counter()
        try:
            if self.dead_letter is not None:
                # A tolerated record is "done" only once it is safe in the dead letter topic.
                self.dead_letter.flush()
            flush_started = time.perf_counter()
            safe = dict(self.task.pre_commit(dict(current)))
            self.metrics.flush_time.observe(time.perf_counter() - flush_started)
        except Exception as exc:
            self.metrics.commit_failures.inc()
            log.error("task %s: flush failed, rewinding to the last commit: %s", self.name, exc)
            self._rewind_to_committed(only)
            if final:
                raise
            return
        safe = {tp: o for tp, o in safe.items() if tp in self.assigned or (only and tp in only)}
        if not safe:
            return
        try:
            self._consumer.commit(offsets=[KafkaTP(tp.topic, tp.partition, o)
                                           for tp, o in safe.items()], asynchronous=False)
        except Exception as exc:  # noqa: BLE001 - retried on the next commit
            self.metrics.commit_failures.inc()
            log.warning("task %s: offset commit failed: %s", self.name, exc)
            return
        self._committed.update(safe)
        self.metrics.commit_time.observe(time.perf_counter() - started)

    def _rewind_to_committed(self, only: set[TopicPartition] | None) -> None:
        targets = {tp: self._committed.get(tp) for tp in self._consumed
                   if only is None or tp in only}
        self._retry_batch, self._retry_offsets = None, {}
        for tp in list(targets):
            self._consumed.pop(tp, None)
        self.rewind({tp: o for tp, o in targets.items() if o is not None},
                    unknown=[tp for tp, o in targets.items() if o is None])

    def rewind(self, offsets: Offsets, unknown: Sequence[TopicPartition] = ()) -> None:
        """Read these partitions again from the given offsets (or the group's committed one)."""
        from confluent_kafka import TopicPartition as KafkaTP

        if unknown:
            committed = self._consumer.committed([KafkaTP(t.topic, t.partition) for t in unknown],
                                                 timeout=10)
            for c in committed:
                offsets[TopicPartition(c.topic, c.partition)] = c.offset if c.offset >= 0 else -2
        for tp, offset in offsets.items():
            if tp in self.assigned:
                self._consumer.seek(KafkaTP(tp.topic, tp.partition, offset))

    def pause_partitions(self, partitions: Sequence[TopicPartition]) -> None:
        from confluent_kafka import TopicPartition as KafkaTP

        self._paused_by_task.update(partitions)
        self._consumer.pause([KafkaTP(p.topic, p.partition) for p in partitions])

    def resume_partitions(self, partitions: Sequence[TopicPartition]) -> None:
        from confluent_kafka import TopicPartition as KafkaTP

        self._paused_by_task.difference_update(partitions)
        if self._resumed.is_set():
            self._consumer.resume([KafkaTP(p.topic, p.partition) for p in partitions])

    def close_task(self, failed: bool) -> None:
        self._failed = failed
        try:
            if not failed and self._consumer is not None:
                self.commit_offsets(final=True)
        finally:
            if self._consumer is not None:
                # close() leaves the group at once (revoking our partitions for the others).
                try:
                    self._consumer.close()
                except Exception:
                    log.exception("task %s: consumer close failed", self.name)
            try:
                if self.assigned:
                    self.task.close(sorted(self.assigned, key=str))
            finally:
                self.task.stop()
                if self.dead_letter is not None:
                    self.dead_letter.close()

