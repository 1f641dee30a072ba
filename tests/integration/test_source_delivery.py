"""Source delivery against the real broker: a batch that does not convert is sent record by
record, so the bad record alone is skipped (or fails the task) and the rest arrive in order."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from tests.conftest import create_topic
from tests.helpers import consume_all, wait_for
from tests.integration.runtime_helpers import start_connector, task_states

pytestmark = pytest.mark.integration

LINES = ["one", "two", "zwölf", "three"]


def _config(path: Path, topic: str, **extra: str) -> dict[str, str]:
    # US-ASCII cannot encode "zwölf": the value converter fails on that record only.
    return {"connector.class": "FileStreamSource", "file": str(path), "topic": topic,
            "value.converter": "StringConverter",
            "value.converter.converter.encoding": "US-ASCII",
            "offset.flush.interval.ms": "200", **extra}


def test_a_record_that_does_not_convert_is_skipped_alone(
        bootstrap: str, admin: AdminClient, unique: str, tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_text("".join(f"{line}\n" for line in LINES), encoding="utf-8")
    topic = create_topic(admin, f"src-{unique}")
    runtime = start_connector(bootstrap, f"c-{unique}",
                              _config(path, topic, **{"errors.tolerance": "all"}))
    try:
        got = consume_all(bootstrap, topic, expected=3, timeout=30)
        assert [m.value() for m in got] == [b"one", b"two", b"three"]
        assert task_states(runtime) == ["RUNNING"]
        # The skipped record's offset counts as done: the committed position is the file's end.
        wait_for(lambda: runtime.offsets.get({"filename": str(path)})
                 == {"position": path.stat().st_size}, 30, "the offset past every line")
    finally:
        runtime.stop()


def test_a_record_that_does_not_convert_fails_the_task_without_tolerance(
        bootstrap: str, admin: AdminClient, unique: str, tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_text("".join(f"{line}\n" for line in LINES), encoding="utf-8")
    topic = create_topic(admin, f"src-{unique}")
    runtime = start_connector(bootstrap, f"c-{unique}", _config(path, topic))
    try:
        wait_for(lambda: task_states(runtime) == ["FAILED"], 30, "the task to fail")
        task = runtime.status.connector_status(runtime.id)["tasks"][0]
        assert "VALUE_CONVERTER" in task["trace"]
        # What came before the bad record was sent, in order; nothing after it.
        assert [m.value() for m in consume_all(bootstrap, topic, timeout=10)] == [b"one", b"two"]
    finally:
        runtime.stop()
