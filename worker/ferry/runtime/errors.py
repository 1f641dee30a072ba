"""One retry-and-tolerance policy for every stage of a task (Kafka Connect's ``errors.*`` keys).

The hot path runs without it: a stage is called directly, and only when it raises does the
task hand the failure here, which retries retriable errors with capped exponential backoff,
then fails the task (``errors.tolerance=none``) or skips the record (``all``), logging it and
sending it to the dead letter topic when configured.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from ferry.api.errors import RetriableError

log = logging.getLogger(__name__)

T = TypeVar("T")

INITIAL_BACKOFF_MS = 300


class Stage(StrEnum):
    """Where in a task a failure happened (the names Kafka Connect writes in DLQ headers)."""

    TASK_POLL = "TASK_POLL"
    TASK_PUT = "TASK_PUT"
    KEY_CONVERTER = "KEY_CONVERTER"
    VALUE_CONVERTER = "VALUE_CONVERTER"
    HEADER_CONVERTER = "HEADER_CONVERTER"
    TRANSFORMATION = "TRANSFORMATION"
    KAFKA_PRODUCE = "KAFKA_PRODUCE"
    KAFKA_CONSUME = "KAFKA_CONSUME"


class TaskFailed(Exception):
    """A failure the policy does not tolerate: the task stops with this as its trace."""

    def __init__(self, stage: Stage, cause: BaseException) -> None:
        self.stage = stage
        self.cause = cause
        super().__init__(f"{stage.value} failed: {type(cause).__name__}: {cause}")

    @property
    def trace(self) -> str:
        """What failed where, then the cause's full traceback (what status reports)."""
        return f"{self}\n" + "".join(traceback.format_exception(self.cause))


@dataclass(frozen=True, slots=True)
class FailedRecord:
    """The raw record a stage failed on, as it was read from (or would go to) Kafka."""

    topic: str
    partition: int | None
    offset: int | None
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] | None = None


class FailureReporter(Protocol):
    def report(self, record: FailedRecord, stage: Stage, error: BaseException,
               class_name: str) -> None: ...


class ErrorPolicy:
    def __init__(self, *, retry_timeout_ms: int = 0, retry_delay_max_ms: int = 60000,
                 tolerate_all: bool = False, log_errors: bool = False,
                 log_messages: bool = False, reporters: list[FailureReporter] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.retry_timeout_ms = retry_timeout_ms
        self.retry_delay_max_ms = retry_delay_max_ms
        self.tolerate_all = tolerate_all
        self.log_errors = log_errors
        self.log_messages = log_messages
        self.reporters = reporters or []
        self.tolerated = 0
        self._sleep = sleep

    @classmethod
    def from_config(cls, config: Mapping[str, Any],
                    reporters: list[FailureReporter] | None = None) -> ErrorPolicy:
        """From parsed common keys (see ``connector_config.COMMON``)."""
        return cls(retry_timeout_ms=int(config["errors.retry.timeout"]),
                   retry_delay_max_ms=int(config["errors.retry.delay.max.ms"]),
                   tolerate_all=config["errors.tolerance"] == "all",
                   log_errors=bool(config["errors.log.enable"]),
                   log_messages=bool(config["errors.log.include.messages"]),
                   reporters=reporters)

    def retry(self, stage: Stage, operation: Callable[[], T], first_error: BaseException,
              stopping: Callable[[], bool] = lambda: False) -> T:
        """Retry ``operation`` after it raised ``first_error``, while retriable and in time.

        Raises the last error when retries are exhausted (or the error is not retriable).
        """
        error = first_error
        deadline = (None if self.retry_timeout_ms < 0
                    else time.monotonic() + self.retry_timeout_ms / 1000)
        backoff_ms = INITIAL_BACKOFF_MS
        while isinstance(error, RetriableError) and not stopping():
            if deadline is not None and time.monotonic() >= deadline:
                break
            delay = min(backoff_ms, self.retry_delay_max_ms) / 1000
            if deadline is not None:
                delay = max(0.0, min(delay, deadline - time.monotonic()))
            log.debug("%s: retrying in %.2fs after %s", stage.value, delay, error)
            self._sleep(delay)
            backoff_ms *= 2
            try:
                return operation()
            except Exception as exc:  # noqa: BLE001 - classified by the loop
                error = exc
        raise error

    def recover(self, stage: Stage, operation: Callable[[], T], error: BaseException,
                record: FailedRecord | None, class_name: str = "",
                stopping: Callable[[], bool] = lambda: False) -> T | None:
        """Retry, then tolerate (return None: skip the record) or raise TaskFailed."""
        try:
            return self.retry(stage, operation, error, stopping)
        except Exception as final:  # noqa: BLE001 - every failure is classified here
            self.fail_or_tolerate(stage, final, record, class_name)
            return None

    def fail_or_tolerate(self, stage: Stage, error: BaseException,
                         record: FailedRecord | None, class_name: str = "") -> None:
        if not self.tolerate_all:
            raise TaskFailed(stage, error) from error
        self.tolerated += 1
        if self.log_errors:
            where = ""
            if self.log_messages and record is not None:
                where = (f" (topic {record.topic} partition {record.partition}"
                         f" offset {record.offset})")
            log.error("tolerated failure in %s%s: %s: %s", stage.value, where,
                      type(error).__name__, error)
        if record is not None:
            for reporter in self.reporters:
                reporter.report(record, stage, error, class_name)
