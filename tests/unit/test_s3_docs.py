"""S3 sink docs and registration: the reference table matches the ConfigDef; lazy names resolve.

Regenerate after changing a ConfigDef:
``FERRY_UPDATE_DOCS=1 .venv/bin/pytest tests/unit/test_s3_docs.py``
(and ``tests/unit/test_postgres_docs.py``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from ferry.api import ConfigDef
from ferry.connectors import LAZY_BUILTINS, reference
from ferry.runtime.plugins import installed_plugins, resolve

DOCS = Path(__file__).resolve().parents[2] / "docs"
TABLE = re.compile(r"(<!-- reference: ([\w.]+) -->\n)(.*?)(<!-- end reference -->)", re.DOTALL)


def check_tables(doc: Path, definitions: dict[str, ConfigDef]) -> None:
    text = doc.read_text()
    found = {m.group(2) for m in TABLE.finditer(text)}
    assert found == set(definitions), f"{doc.name}: tables {found} != {set(definitions)}"
    updated = TABLE.sub(lambda m: m.group(1) + reference(definitions[m.group(2)]) + m.group(4),
                        text)
    if os.environ.get("FERRY_UPDATE_DOCS"):
        doc.write_text(updated)
    assert updated == text, f"{doc.name} is stale: regenerate with FERRY_UPDATE_DOCS=1"


def test_s3_reference_table_matches_the_config_def() -> None:
    from ferry.connectors.s3.config import CONFIG_DEF

    check_tables(DOCS / "connectors-s3.md", {"S3Sink": CONFIG_DEF})


def test_lazy_builtins_resolve_by_every_name() -> None:
    from ferry.connectors.postgres import PostgresSinkConnector, PostgresSourceConnector
    from ferry.connectors.s3 import S3SinkConnector

    expected = {S3SinkConnector: {"S3Sink", "io.confluent.connect.s3.S3SinkConnector"},
                PostgresSourceConnector: {"PostgresSource",
                                          "io.confluent.connect.jdbc.JdbcSourceConnector"},
                PostgresSinkConnector: {"PostgresSink",
                                        "io.confluent.connect.jdbc.JdbcSinkConnector"}}
    for cls, names in expected.items():
        for name in names:
            assert resolve("connector", name) is cls
    assert all(resolve("connector", n) for n in LAZY_BUILTINS)
    listed = {p.name for p in installed_plugins() if p.kind == "connector"}
    assert {"S3Sink", "PostgresSource", "PostgresSink"} <= listed


def test_the_core_does_not_import_boto3_or_psycopg() -> None:
    code = ("import sys, ferry.connectors, ferry.runtime.plugins as p; "
            "p.resolve('connector', 'FileStreamSink'); "
            "print(sorted(m for m in ('boto3', 'psycopg') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_a_missing_extra_names_it() -> None:
    code = ("import sys; sys.modules['boto3'] = None\n"
            "from ferry.runtime.plugins import resolve\n"
            "try:\n    resolve('connector', 'S3Sink')\n"
            "except Exception as exc:\n    print(type(exc).__name__, exc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "ConfigError" in out and "pip install 'ferry-connect[s3]'" in out
