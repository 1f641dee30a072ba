"""Ferry's built-in connectors: FileStreamSource, FileStreamSink, DataGen; S3 and PostgreSQL.

:data:`BUILTINS` maps every name a config may give in ``connector.class`` to its class: the
short names, Ferry's dotted paths and Kafka Connect's class names, so a Kafka Connect config
is accepted as it is. :data:`LAZY_BUILTINS` does the same for connectors behind an optional
extra (S3 needs boto3, PostgreSQL psycopg): it maps names to ``module:Class`` paths that
``ferry.runtime.plugins`` imports only when a config names them, so the core never imports
those libraries. :func:`reference` renders a connector's config keys as the Markdown
table used in ``docs/connectors.md``.
"""

from __future__ import annotations

from typing import Any

from ferry.api import NO_DEFAULT, ConfigDef, Connector
from ferry.connectors.datagen import DataGenConnector
from ferry.connectors.file_sink import FileStreamSinkConnector
from ferry.connectors.file_source import FileStreamSourceConnector

_KAFKA_FILE = "org.apache.kafka.connect.file"

BUILTINS: dict[str, type[Connector]] = {
    "FileStreamSource": FileStreamSourceConnector,
    "FileStreamSourceConnector": FileStreamSourceConnector,
    "ferry.connectors.file.FileStreamSourceConnector": FileStreamSourceConnector,
    "ferry.connectors.file_source.FileStreamSourceConnector": FileStreamSourceConnector,
    f"{_KAFKA_FILE}.FileStreamSourceConnector": FileStreamSourceConnector,
    "FileStreamSink": FileStreamSinkConnector,
    "FileStreamSinkConnector": FileStreamSinkConnector,
    "ferry.connectors.file.FileStreamSinkConnector": FileStreamSinkConnector,
    "ferry.connectors.file_sink.FileStreamSinkConnector": FileStreamSinkConnector,
    f"{_KAFKA_FILE}.FileStreamSinkConnector": FileStreamSinkConnector,
    "DataGen": DataGenConnector,
    "DataGenConnector": DataGenConnector,
    "ferry.connectors.datagen.DataGenConnector": DataGenConnector,
}

_S3 = "ferry.connectors.s3:S3SinkConnector"
_PG_SOURCE = "ferry.connectors.postgres:PostgresSourceConnector"
_PG_SINK = "ferry.connectors.postgres:PostgresSinkConnector"

LAZY_BUILTINS: dict[str, str] = {
    "S3Sink": _S3,
    "S3SinkConnector": _S3,
    "ferry.connectors.s3.S3SinkConnector": _S3,
    "io.confluent.connect.s3.S3SinkConnector": _S3,
    "PostgresSource": _PG_SOURCE,
    "PostgresSourceConnector": _PG_SOURCE,
    "ferry.connectors.postgres.PostgresSourceConnector": _PG_SOURCE,
    "io.confluent.connect.jdbc.JdbcSourceConnector": _PG_SOURCE,
    "PostgresSink": _PG_SINK,
    "PostgresSinkConnector": _PG_SINK,
    "ferry.connectors.postgres.PostgresSinkConnector": _PG_SINK,
    "io.confluent.connect.jdbc.JdbcSinkConnector": _PG_SINK,
}
"""Connectors that need an optional extra, by name, as ``module:Class`` import paths."""


def reference(target: type[Connector] | ConfigDef) -> str:
    """A Markdown table of a connector's (or a ConfigDef's) keys, in definition order."""
    definition = target if isinstance(target, ConfigDef) else target.config_def
    rows = ["| Key | Type | Default | Importance | Description |",
            "|-----|------|---------|------------|-------------|"]
    for key in definition:
        default = "*required*" if key.default is NO_DEFAULT else f"`{_render(key.default)}`"
        doc = key.doc.replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{key.name}` | {key.type.value} | {default} | "
                    f"{key.importance.value} | {doc} |")
    return "\n".join(rows) + "\n"


def _render(value: Any) -> str:
    """A default as a user would write it in a config."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    if value == "":
        return '""'
    return str(value)


__all__ = [
    "BUILTINS",
    "LAZY_BUILTINS",
    "DataGenConnector",
    "FileStreamSinkConnector",
    "FileStreamSourceConnector",
    "reference",
]
