"""How long a Connector has been deleting: bounds the finalizer's wait for stopping tasks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ferry_operator.reconcile import TASK_STOP_WAIT_S, _deleting_for


def _body(stamp: str | None) -> dict[str, object]:
    return {"metadata": {"deletionTimestamp": stamp} if stamp else {}}


def test_seconds_since_the_deletion_timestamp() -> None:
    stamp = (datetime.now(UTC) - timedelta(seconds=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert 89 <= _deleting_for(_body(stamp)) < 95
    assert _deleting_for(_body(stamp)) > TASK_STOP_WAIT_S


def test_no_or_a_malformed_timestamp_counts_as_just_now() -> None:
    assert _deleting_for(_body(None)) == 0.0
    assert _deleting_for(_body("yesterday")) == 0.0
    assert _deleting_for({}) == 0.0
