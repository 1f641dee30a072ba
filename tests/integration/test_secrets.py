"""A secret resolved from a config provider reaches no topic, status or log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from tests.conftest import create_topic
from tests.helpers import FerryProcess, consume_all, write_connector

pytestmark = pytest.mark.integration

SECRET = "s3cr3t-Pa55w0rd-7781"


def test_secret_from_env_and_file_never_leaks(tmp_path: Path, bootstrap: str, admin: AdminClient,
                                              unique: str) -> None:
    topic = create_topic(admin, f"echo-{unique}")
    secret_file = tmp_path / "db.properties"
    secret_file.write_text(f"password={SECRET}\n")
    good = write_connector(tmp_path / "good.yaml", f"good-{unique}",
                           "tests.plugins.EchoSourceConnector",
                           {"topic": topic, "message": f"${{file:{secret_file}:password}}",
                            "count": 5, "offset.flush.interval.ms": 100})
    failing = write_connector(tmp_path / "failing.yaml", f"failing-{unique}",
                              "tests.plugins.EchoSourceConnector",
                              {"topic": topic, "message": "${env:FERRY_TEST_SECRET}",
                               "fail": "true"})
    with FerryProcess([good, failing], bootstrap, tmp_path,
                      env={"FERRY_TEST_SECRET": SECRET}) as ferry:
        statuses = ferry.wait_status(
            lambda s: any(t["state"] == "FAILED" for c in s for t in c["tasks"]))
        records = consume_all(bootstrap, topic, expected=5, timeout=30)
        _, metrics = ferry.get("/metrics")
        assert ferry.terminate() == 0
    failed_task = next(t for c in statuses for t in c["tasks"] if t["state"] == "FAILED")
    assert "login refused for password [hidden]" in failed_task["trace"]
    texts = {
        "status": json.dumps(statuses),
        "log": ferry.log(),
        "metrics": metrics,
        "topic": "".join(m.value().decode() for m in records),
        "offsets": (tmp_path / "offsets.json").read_text(),
        "connector files": good.read_text() + failing.read_text(),
    }
    assert len(records) == 5
    for where, text in texts.items():
        assert SECRET not in text, f"the secret leaked into the {where}"
