"""Publishing this worker's unit states to ``ferry-status`` on every change."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from ferry import protocol
from ferry.runtime.status import StatusBoard, UnitStatus

log = logging.getLogger(__name__)


class StatusPublisher:
    """A StatusBoard listener that writes each change as a compacted status record."""

    def __init__(self, client_config: Mapping[str, Any], topic: str) -> None:
        from confluent_kafka import Producer

        self.topic = topic
        self._producer = Producer({**client_config, "enable.idempotence": True,
                                   "linger.ms": 0})

    def attach(self, board: StatusBoard) -> None:
        board.listeners.append(self.publish)

    def publish(self, connector_id: str, task: int | None, status: UnitStatus) -> None:
        key = (protocol.connector_key(connector_id) if task is None
               else protocol.task_status_key(connector_id, task))
        record = protocol.UnitStatusRecord(state=status.state.value, worker_id=status.worker_id,
                                           generation=status.generation, trace=status.trace,
                                           time_ms=int(status.since * 1000),
                                           config_hash=status.config_hash,
                                           task_count=status.task_count)
        self._write(key, record.encode())

    def remove(self, connector_id: str, task: int) -> None:
        """The task no longer exists (the connector has fewer tasks now)."""
        self._write(protocol.task_status_key(connector_id, task), None)

    def _write(self, key: bytes, value: bytes | None) -> None:
        while True:
            try:
                self._producer.produce(self.topic, value, key)
                break
            except BufferError:
                self._producer.poll(0.1)
        self._producer.poll(0)

    def flush(self, timeout: float = 10.0) -> None:
        started = time.monotonic()
        remaining = self._producer.flush(timeout)
        if remaining:
            log.warning("%d status records not written after %.1fs", remaining,
                        time.monotonic() - started)
