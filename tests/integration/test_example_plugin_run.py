"""The documented example plugin runs under `ferry run`, found by its entry point name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from tests.conftest import create_topic
from tests.helpers import FerryProcess, consume_all, write_connector

pytestmark = pytest.mark.integration


def test_counter_plugin_writes_json_with_schema(tmp_path: Path, bootstrap: str,
                                                admin: AdminClient, unique: str) -> None:
    topic = create_topic(admin, f"numbers-{unique}")
    path = write_connector(tmp_path / "counter.yaml", f"counter-{unique}", "Counter",
                           {"topic": topic, "count": 50, "value.converter": "JsonConverter",
                            "offset.flush.interval.ms": 200}, tasks_max=2)
    with FerryProcess([path], bootstrap, tmp_path) as ferry:
        messages = consume_all(bootstrap, topic, expected=100, timeout=60)
        assert ferry.terminate() == 0
    values = [json.loads(m.value()) for m in messages]
    assert values[0]["schema"] == {
        "type": "struct", "optional": False, "name": "counter.Value",
        "fields": [{"type": "int32", "optional": False, "field": "task"},
                   {"type": "int64", "optional": False, "field": "n"}]}
    seen = sorted((v["payload"]["task"], v["payload"]["n"]) for v in values)
    assert seen == [(t, n) for t in range(2) for n in range(50)]
