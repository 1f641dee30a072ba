"""`ferry validate` prints one clear message per bad field, and exits non-zero."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.cli import main
from tests.helpers import write_connector


def test_valid_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_connector(tmp_path / "ok.yaml", "ok", "FileStreamSource",
                           {"file": "/tmp/x", "topic": "t"})
    assert main(["validate", str(path)]) == 0
    assert "default/ok is valid (FileStreamSource)" in capsys.readouterr().out


@pytest.mark.parametrize(("cls", "config", "expected"), [
    ("NoSuchConnector", {}, "connector.class: unknown connector 'NoSuchConnector'; installed:"),
    ("FileStreamSource", {"topic": "t"}, "file: required"),
    ("FileStreamSource", {"file": "f", "topic": "t", "batch.size": "lots"},
     "batch.size: expected an integer, got 'lots'"),
    ("FileStreamSink", {"file": "f"}, "topics: required for a sink connector"),
    ("FileStreamSource", {"file": "f", "topic": "t", "errors.tolerance": "some"},
     "errors.tolerance: must be one of none, all; got 'some'"),
    ("FileStreamSource", {"file": "f", "topic": "t", "transforms": "x"},
     "transforms.x.type: "),
    ("FileStreamSource", {"file": "${env:FERRY_TEST_SURELY_UNSET}", "topic": "t"},
     "file: "),
    ("FileStreamSource", {"file": "f", "topic": "t", "value.converter": "Nope"},
     "value.converter: unknown converter 'Nope'"),
    ("FileStreamSink", {"file": "f", "topics": "t", "task.isolation": "fork"},
     "task.isolation: must be one of thread, process; got 'fork'"),
    ("FileStreamSource", {"file": "f", "topic": "t", "task.isolation": "process"},
     "task.isolation: 'process' is for sink connectors"),
])
def test_each_problem_gets_one_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             cls: str, config: dict[str, str],
                                             expected: str) -> None:
    path = write_connector(tmp_path / "bad.yaml", "bad", cls, config)
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "default/bad has" in out
    assert expected in out, out
