"""The connector registry, and the docs' config tables matching the ConfigDefs.

Regenerate the tables after changing a ConfigDef:
``FERRY_UPDATE_DOCS=1 .venv/bin/pytest tests/unit/test_connectors_docs.py``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ferry.api.config import ConfigDef, ConfigType
from ferry.connectors import BUILTINS, reference
from ferry.connectors.datagen import DataGenConnector
from ferry.connectors.file_sink import FileStreamSinkConnector
from ferry.connectors.file_source import FileStreamSourceConnector

DOC = Path(__file__).resolve().parents[2] / "docs" / "connectors.md"
TABLE = re.compile(r"(<!-- reference: (\w+) -->\n)(.*?)(<!-- end reference -->)", re.DOTALL)


def test_builtins_accept_short_ferry_and_kafka_connect_names() -> None:
    expected = {
        FileStreamSourceConnector: {
            "FileStreamSource", "FileStreamSourceConnector",
            "ferry.connectors.file.FileStreamSourceConnector",
            "org.apache.kafka.connect.file.FileStreamSourceConnector"},
        FileStreamSinkConnector: {
            "FileStreamSink", "FileStreamSinkConnector",
            "ferry.connectors.file.FileStreamSinkConnector",
            "org.apache.kafka.connect.file.FileStreamSinkConnector"},
        DataGenConnector: {"DataGen", "DataGenConnector"},
    }
    for cls, names in expected.items():
        assert names <= {n for n, c in BUILTINS.items() if c is cls}
    # Every Ferry dotted name imports as written.
    import importlib
    for name, cls in BUILTINS.items():
        if name.startswith("ferry."):
            module, _, attr = name.rpartition(".")
            assert getattr(importlib.import_module(module), attr) is cls


def test_reference_renders_defaults_and_escapes() -> None:
    table = reference(ConfigDef()
                      .define("a.b", ConfigType.STRING, doc="x | y")
                      .define("c", ConfigType.LIST, ["p", "q"])
                      .define("d", ConfigType.STRING, None)
                      .define("e", ConfigType.STRING, ""))
    assert table.splitlines()[2:] == [
        "| `a.b` | string | *required* | medium | x \\| y |",
        "| `c` | list | `p,q` | medium |  |",
        "| `d` | string | `null` | medium |  |",
        '| `e` | string | `""` | medium |  |',
    ]


def test_docs_tables_match_the_config_defs() -> None:
    text = DOC.read_text()

    def render(match: re.Match[str]) -> str:
        return match.group(1) + reference(BUILTINS[match.group(2)]) + match.group(4)

    fresh = TABLE.sub(render, text)
    if os.environ.get("FERRY_UPDATE_DOCS") == "1":
        DOC.write_text(fresh)
        text = fresh
    assert {m.group(2) for m in TABLE.finditer(text)} == {
        "FileStreamSource", "FileStreamSink", "DataGen"}
    assert fresh == text, "docs/connectors.md is stale: rerun with FERRY_UPDATE_DOCS=1"
