"""A source connector's topics are created on first use with Kafka Connect's topic.creation keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from tests.helpers import FerryProcess, consume_all, write_connector

pytestmark = pytest.mark.integration


def test_topics_created_by_group_rules(tmp_path: Path, bootstrap: str, admin: AdminClient,
                                       unique: str) -> None:
    source_file = tmp_path / "in.txt"
    source_file.write_text("".join(f"{i}\n" for i in range(10)))
    short, plain = f"short-{unique}", f"plain-{unique}"
    connectors = [
        write_connector(tmp_path / "a.yaml", f"a-{unique}", "FileStreamSource", {
            "file": str(source_file), "topic": short,
            "topic.creation.groups": "shortlived",
            "topic.creation.shortlived.include": "short-.*",
            "topic.creation.shortlived.partitions": 3,
            "topic.creation.shortlived.retention.ms": 3600000,
            "topic.creation.default.partitions": 2,
            "topic.creation.default.replication.factor": 1}),
        write_connector(tmp_path / "b.yaml", f"b-{unique}", "FileStreamSource", {
            "file": str(source_file), "topic": plain,
            "topic.creation.default.partitions": 2,
            "topic.creation.default.replication.factor": 1}),
    ]
    with FerryProcess(connectors, bootstrap, tmp_path) as ferry:
        assert len(consume_all(bootstrap, short, expected=10, timeout=60)) == 10
        assert len(consume_all(bootstrap, plain, expected=10, timeout=60)) == 10
        assert ferry.terminate() == 0
    topics = admin.list_topics(timeout=10).topics
    assert len(topics[short].partitions) == 3
    assert len(topics[plain].partitions) == 2
    resource = ConfigResource("topic", short)
    configs = admin.describe_configs([resource])[resource].result(timeout=10)
    assert configs["retention.ms"].value == "3600000"
