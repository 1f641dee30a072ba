"""Exactly-once source tasks: records and their offsets in one Kafka transaction per batch.

One transactional producer per task, its ``transactional.id`` derived from the task id, so
when a task moves to another worker the new owner's ``init_transactions`` fences the old
one (a zombie that still runs can no longer commit) and aborts its open transaction. The
offsets are read only after that, so they reflect exactly the committed records.
Consumers reading with ``isolation.level=read_committed`` see every record once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from ferry import protocol
from ferry.api.records import SourceRecord
from ferry.runtime.errors import Stage, TaskFailed
from ferry.runtime.offsets import KafkaOffsetStore, MemoryOffsetStore
from ferry.runtime.source_runner import SourceTaskRunner

log = logging.getLogger(__name__)


class TransactionalSourceTaskRunner(SourceTaskRunner):
    def start_task(self) -> None:
        from confluent_kafka import Producer

        config = dict(self.producer_config)
        config.pop("delivery.report.only.error", None)
        self._producer = Producer(config)
        # Fences any zombie with our transactional.id and aborts its open transaction.
        self._producer.init_transactions(60)
        if isinstance(self.offsets, KafkaOffsetStore):
            self.offsets.reload()  # it may have been read before the fencing
        else:
            self.offsets.load()
        from ferry.api.task import SourceTaskContext
        from ferry.runtime.offsets import StoreOffsetReader

        self.task.initialize(SourceTaskContext(StoreOffsetReader(self.offsets), self.task_config))
        self.task.start(self.task_config)
        self._next_commit = time.monotonic() + self.flush_interval

    def iterate(self) -> None:
        started = time.perf_counter()
        records = self.task.poll()
        self.metrics.poll_time.observe(time.perf_counter() - started)
        if not records:
            self._producer.poll(0)
            return
        self.metrics.source_polled.inc(len(records))
        self.metrics.poll_batch.observe(len(records))
        self._transaction(records)

    def _transaction(self, records: Sequence[SourceRecord]) -> None:
        from confluent_kafka import KafkaException

        offsets_topic = getattr(self.offsets, "topic", protocol.DEFAULT_OFFSETS_TOPIC)
        started = time.perf_counter()
        try:
            self._producer.begin_transaction()
            self._send(records)
            snapshot, self._pending = self._pending, {}
            self._last_partition_id = 0
            offsets = {protocol.offset_key(self.connector_id, p): dict(o)
                       for p, o in snapshot.values()}
            for key, offset in offsets.items():
                self._produce_bytes(offsets_topic, protocol.offset_value(offset), key)
            self._producer.commit_transaction(60)
        except KafkaException as exc:
            error = exc.args[0]
            if not error.fatal() and error.txn_requires_abort():
                try:
                    self._producer.abort_transaction(30)
                except KafkaException:
                    log.exception("task %s: abort failed", self.name)
            # The task's own position moved past records that were not committed: restart
            # from the committed offsets rather than guess.
            raise TaskFailed(Stage.KAFKA_PRODUCE, exc) from exc
        self._check_delivery_errors()
        if isinstance(self.offsets, MemoryOffsetStore):
            self.offsets.remember(offsets)
        self.metrics.commit_time.observe(time.perf_counter() - started)
        try:
            self.task.commit()
        except Exception:
            log.exception("task %s: commit() raised", self.name)

    def commit_offsets(self, final: bool = False) -> None:
        # Offsets were committed with each transaction; nothing is ever left pending.
        self._next_commit = time.monotonic() + self.flush_interval
