from __future__ import annotations

import json
from pathlib import Path

import pytest

from ferry.api import ConfigError
from ferry.runtime.connector_config import TargetState, load_connector_file, sink_topics


def test_connector_resource_yaml(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("""
apiVersion: ferry.dev/v1alpha1
kind: Connector
metadata: {name: orders, namespace: shop, generation: 3}
spec:
  class: FileStreamSource
  tasksMax: 2
  state: paused
  config: {file: /data/in.txt, topic: orders, batch.size: 500}
""")
    spec = load_connector_file(path)
    assert spec.id == "shop/orders"
    assert spec.class_name == "FileStreamSource" and spec.tasks_max == 2
    assert spec.state is TargetState.PAUSED and spec.generation == 3
    assert spec.config["batch.size"] == "500"  # Kafka Connect configs are string maps


def test_kafka_connect_json_pasted_as_is(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"name": "local-file-sink", "config": {
        "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
        "tasks.max": "1", "file": "test.sink.txt", "topics": "connect-test"}}))
    spec = load_connector_file(path)
    assert spec.id == "default/local-file-sink"
    assert spec.class_name == "org.apache.kafka.connect.file.FileStreamSinkConnector"


def test_kafka_connect_properties_file(tmp_path: Path) -> None:
    path = tmp_path / "connect-file-source.properties"
    path.write_text("# quickstart\nname=local-file-source\nconnector.class=FileStreamSource\n"
                    "tasks.max=1\nfile=test.txt\ntopic=connect-test\n")
    spec = load_connector_file(path)
    assert spec.name == "local-file-source" and spec.config["topic"] == "connect-test"
    assert "name" not in spec.config


@pytest.mark.parametrize(("text", "message"), [
    ("kind: Deployment\n", "expected Connector"),
    ("kind: Connector\nmetadata: {}\n", "metadata.name: required"),
    ("kind: Connector\nmetadata: {name: x}\nspec: {state: sleeping}\n", "spec.state"),
    ("[1, 2", "not valid YAML"),
])
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_connector_file(path)


def test_sink_needs_exactly_one_of_topics_and_regex() -> None:
    assert sink_topics({"topics": "a,b"}) == (["a", "b"], "")
    assert sink_topics({"topics.regex": "logs-.*"}) == ([], "logs-.*")
    with pytest.raises(ConfigError, match="not both"):
        sink_topics({"topics": "a", "topics.regex": "b"})
    with pytest.raises(ConfigError, match="required for a sink"):
        sink_topics({})
