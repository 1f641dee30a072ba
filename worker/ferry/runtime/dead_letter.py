"""The dead letter topic: where a sink's tolerated bad records go, with why and where."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from typing import Any

from ferry.runtime.errors import FailedRecord, Stage

PREFIX = "__connect.errors."


class DeadLetterReporter:
    """Writes the original bytes of a failed record, plus Kafka Connect's context headers."""

    def __init__(self, topic: str, client_config: Mapping[str, Any], connector_name: str,
                 task_id: int, context_headers: bool) -> None:
        from confluent_kafka import Producer

        self.topic = topic
        self.connector_name = connector_name
        self.task_id = task_id
        self.context_headers = context_headers
        self.sent = 0
        self._errors: list[str] = []
        self._producer = Producer({**client_config, "enable.idempotence": True})

    def report(self, record: FailedRecord, stage: Stage, error: BaseException,
               class_name: str) -> None:
        headers: list[tuple[str, str | bytes | None]] = list(record.headers or [])
        if self.context_headers:
            headers.extend(self._context(record, stage, error, class_name))
        self._producer.produce(self.topic, record.value, record.key, headers=headers,
                               on_delivery=self._on_delivery)
        self._producer.poll(0)
        self.sent += 1

    def _context(self, record: FailedRecord, stage: Stage, error: BaseException,
                 class_name: str) -> list[tuple[str, str | bytes | None]]:
        def text(value: object) -> bytes:
            return str(value).encode()

        return [
            (PREFIX + "topic", text(record.topic)),
            (PREFIX + "partition", text(record.partition if record.partition is not None else -1)),
            (PREFIX + "offset", text(record.offset if record.offset is not None else -1)),
            (PREFIX + "connector.name", text(self.connector_name)),
            (PREFIX + "task.id", text(self.task_id)),
            (PREFIX + "stage", text(stage.value)),
            (PREFIX + "class.name", text(class_name)),
            (PREFIX + "exception.class.name",
             text(f"{type(error).__module__}.{type(error).__qualname__}")),
            (PREFIX + "exception.message", text(error)),
            (PREFIX + "exception.stacktrace", text("".join(traceback.format_exception(error)))),
        ]

    def _on_delivery(self, err: Any, _msg: Any) -> None:
        if err is not None:
            self._errors.append(str(err))

    def flush(self, timeout: float = 30.0) -> None:
        """Make every reported record durable; raises when one could not be written."""
        remaining = self._producer.flush(timeout)
        if self._errors or remaining:
            problem = self._errors[0] if self._errors else f"{remaining} records unacknowledged"
            raise OSError(f"dead letter topic {self.topic}: {problem}")

    def close(self) -> None:
        self._producer.flush(10)
