"""PostgresSource and PostgresSink: tables to topics and topics to tables, with psycopg 3.

Needs the ``postgres`` extra: ``pip install 'ferry-connect[postgres]'``; importing this
package without psycopg raises an ImportError that says so. Keys are those of Kafka
Connect's JDBC connectors, so ``io.confluent.connect.jdbc.JdbcSourceConnector`` and
``JdbcSinkConnector`` configs for PostgreSQL work as they are. Modules: ``config``,
``types`` (the type mapping table), ``sql`` (statement building), ``source``, ``sink``.
"""

from __future__ import annotations

try:
    import psycopg  # noqa: F401
except ImportError as _missing:  # pragma: no cover - exercised in a venv without psycopg
    raise ImportError("the PostgreSQL connectors need psycopg 3, which is not installed: "
                      "pip install 'ferry-connect[postgres]'", name=_missing.name) from _missing

from ferry.connectors.postgres.sink import PostgresSinkConnector, PostgresSinkTask
from ferry.connectors.postgres.source import PostgresSourceConnector, PostgresSourceTask

__all__ = ["PostgresSinkConnector", "PostgresSinkTask", "PostgresSourceConnector",
           "PostgresSourceTask"]
