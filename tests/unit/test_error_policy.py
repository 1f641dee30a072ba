from __future__ import annotations

import pytest

from ferry.api import DataError, RetriableError
from ferry.runtime.errors import ErrorPolicy, FailedRecord, Stage, TaskFailed

RECORD = FailedRecord("t", 0, 5, b"k", b"v")


class Reporter:
    def __init__(self) -> None:
        self.reports: list[tuple[FailedRecord, Stage, str, str]] = []

    def report(self, record: FailedRecord, stage: Stage, error: BaseException,
               class_name: str) -> None:
        self.reports.append((record, stage, str(error), class_name))


def test_retriable_errors_back_off_exponentially_with_a_cap() -> None:
    sleeps: list[float] = []
    attempts = iter([RetriableError("1"), RetriableError("2"), RetriableError("3"), "done"])

    def operation() -> str:
        outcome = next(attempts)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    policy = ErrorPolicy(retry_timeout_ms=-1, retry_delay_max_ms=1000, sleep=sleeps.append)
    assert policy.retry(Stage.TASK_PUT, operation, RetriableError("0")) == "done"
    assert sleeps == [0.3, 0.6, 1.0, 1.0]


def test_no_retry_timeout_means_no_retry() -> None:
    policy = ErrorPolicy(retry_timeout_ms=0, sleep=lambda s: None)
    with pytest.raises(RetriableError):
        policy.retry(Stage.TASK_POLL, lambda: None, RetriableError("busy"))


def test_non_retriable_errors_are_not_retried() -> None:
    calls: list[int] = []
    policy = ErrorPolicy(retry_timeout_ms=-1, sleep=lambda s: None)
    with pytest.raises(DataError):
        policy.retry(Stage.VALUE_CONVERTER, lambda: calls.append(1), DataError("bad"))
    assert calls == []


def test_tolerance_none_fails_the_task_with_the_stage_and_trace() -> None:
    policy = ErrorPolicy()
    try:
        raise DataError("not json")
    except DataError as error:
        with pytest.raises(TaskFailed) as caught:
            policy.fail_or_tolerate(Stage.VALUE_CONVERTER, error, RECORD)
    assert caught.value.stage is Stage.VALUE_CONVERTER
    assert "DataError: not json" in caught.value.trace


def test_tolerance_all_reports_and_counts() -> None:
    reporter = Reporter()
    policy = ErrorPolicy(tolerate_all=True, reporters=[reporter])
    result = policy.recover(Stage.TRANSFORMATION, lambda: "never", DataError("no field"), RECORD,
                            "ferry.transforms.Cast")
    assert result is None and policy.tolerated == 1
    assert reporter.reports == [(RECORD, Stage.TRANSFORMATION, "no field", "ferry.transforms.Cast")]
