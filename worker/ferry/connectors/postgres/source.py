"""PostgresSource: tables (or a query) to topics, in the JDBC source connector's four modes.

Each table is a source partition ``{"table": "schema.name"}`` (``{"query": ...}`` with
``query``) with its own offset: ``{"incrementing": id}``, ``{"timestamp": iso}`` or both,
so a restarted task resumes after the last row whose record the broker acknowledged. In
timestamp mode a row's offset only moves past its timestamp once every row of that
timestamp was read, so a crash between two rows of one timestamp re-reads them (no gap);
timestamp+incrementing is exact. Rows are keyed by the table's primary key.

The connector lists tables every ``table.poll.interval.ms`` and asks for a task
reconfiguration when the list changed; tasks split the tables round-robin.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import psycopg

from ferry.api import (
    ConfigDef,
    ConfigError,
    RetriableError,
    SourceConnector,
    SourceRecord,
    SourceTask,
)
from ferry.api.schema import struct
from ferry.connectors.postgres import config as keys
from ferry.connectors.postgres import sql as q
from ferry.connectors.postgres.types import column_schema, column_value

log = logging.getLogger(__name__)


def connect(values: Mapping[str, Any], autocommit: bool) -> psycopg.Connection[Any]:
    conn = psycopg.connect(keys.conninfo(dict(values)), autocommit=autocommit)
    # json/jsonb as their text, not parsed: the schema says string.
    conn.adapters.register_loader("json", psycopg.types.string.TextLoader)
    conn.adapters.register_loader("jsonb", psycopg.types.string.TextLoader)
    return conn


def list_tables(conn: psycopg.Connection[Any], schema: str, allow: Sequence[str],
                deny: Sequence[str]) -> list[str]:
    """``schema.table`` names, filtered by the allow and deny lists (plain or qualified)."""
    rows = conn.execute(q.LIST_TABLES, {"schema": schema}).fetchall()
    return select_tables([f"{s}.{t}" for s, t in rows], allow, deny)


def select_tables(names: Sequence[str], allow: Sequence[str], deny: Sequence[str]) -> list[str]:
    def listed(name: str, names_: Sequence[str]) -> bool:
        return name in names_ or name.split(".", 1)[-1] in names_

    return [n for n in names if (not allow or listed(n, allow)) and not listed(n, deny)]


def split_tables(tables: Sequence[str], max_tasks: int) -> list[list[str]]:
    """Round-robin groups, at most ``max_tasks``, none empty."""
    count = min(max_tasks, len(tables))
    return [list(tables[i::count]) for i in range(count)]


@dataclass
class _Table:
    name: str
    partition: dict[str, Any]
    topic: str
    source: Any
    key_columns: list[str]
    offset: dict[str, Any] = field(default_factory=dict)
    next_poll: float = 0.0
    pending: deque[SourceRecord] = field(default_factory=deque)


class PostgresSourceTask(SourceTask):
    def start(self, config: Mapping[str, Any]) -> None:
        self.values = keys.SOURCE_DEF.parse(config)
        v = self.values
        self.mode = v[keys.MODE]
        self.query = q.SourceQuery(v[keys.MODE], v[keys.INCREMENTING_COLUMN],
                                   v[keys.TIMESTAMP_COLUMN], v[keys.TIMESTAMP_DELAY_MS])
        self.batch = v[keys.BATCH_MAX_ROWS]
        self.interval = v[keys.POLL_INTERVAL_MS] / 1000
        self._stop = threading.Event()
        self.conn: psycopg.Connection[Any] | None = None
        self.tables: list[_Table] = []
        conn = self._connection()
        if v[keys.QUERY]:
            self.tables.append(_Table(v[keys.QUERY], {"query": v[keys.QUERY]},
                                      v[keys.TOPIC_PREFIX], q.query_source(v[keys.QUERY]), []))
        for name in v[keys.TASK_TABLES]:
            pk = [r[0] for r in conn.execute(q.PRIMARY_KEY, {"table": name}).fetchall()]
            self.tables.append(_Table(name, {"table": name},
                                      v[keys.TOPIC_PREFIX] + name.split(".", 1)[-1],
                                      q.table_ident(name), pk))
        for table, offset in zip(self.tables, self.context.offset_reader.offsets(
                [t.partition for t in self.tables]), strict=True):
            table.offset = dict(offset or {})
        self._turn = 0

    def _connection(self) -> psycopg.Connection[Any]:
        if self.conn is None or self.conn.closed:
            self.conn = connect(self.values, autocommit=True)
        return self.conn

    def poll(self) -> list[SourceRecord]:
        now = time.monotonic()
        for step in range(len(self.tables)):
            table = self.tables[(self._turn + step) % len(self.tables)]
            if not table.pending and now >= table.next_poll:
                self._read(table)
            if table.pending:
                self._turn = (self._turn + step + 1) % len(self.tables)
                count = min(self.batch, len(table.pending))
                return [table.pending.popleft() for _ in range(count)]
        if self.tables:
            wait = min(t.next_poll for t in self.tables) - time.monotonic()
            self._stop.wait(max(0.0, min(0.5, wait)))
        else:
            self._stop.wait(0.5)
        return []

    def _read(self, table: _Table) -> None:
        params = {"inc": table.offset.get("incrementing", -(2 ** 63)),
                  "ts": _parse_ts(table.offset.get("timestamp"))}
        statement = self.query.build(table.source, self.batch)
        try:
            cursor = self._connection().execute(statement, params)
            rows = cursor.fetchall()
        except psycopg.OperationalError as exc:
            if self.conn is not None:
                self.conn.close()
            raise RetriableError(f"reading {table.name}: {exc}") from exc
        description = cursor.description or []
        caught_up = self.mode in (q.BULK, q.TIMESTAMP) or len(rows) < self.batch
        table.next_poll = time.monotonic() + (self.interval if caught_up else 0)
        if not rows:
            return
        schemas = [(d.name, column_schema(d.type_code, d.scale,
                                          optional=d.name not in table.key_columns))
                   for d in description]
        value_schema = struct(schemas, name=table.name.split(".", 1)[-1])
        key_schema = (struct([(n, s) for n, s in schemas if n in table.key_columns])
                      if table.key_columns else None)
        names = [n for n, _ in schemas]
        offset = dict(table.offset)
        inc_col, ts_col = self.query.incrementing, self.query.timestamp
        ts_index = names.index(ts_col) if ts_col in names else -1
        for i, row in enumerate(rows):
            value = {n: column_value(s, v) for (n, s), v in zip(schemas, row, strict=True)}
            if self.mode in (q.INCREMENTING, q.TIMESTAMP_INCREMENTING):
                offset["incrementing"] = value[inc_col]
            if self.mode in (q.TIMESTAMP, q.TIMESTAMP_INCREMENTING):
                last_of_its_time = (self.mode == q.TIMESTAMP_INCREMENTING or i + 1 == len(rows)
                                    or rows[i + 1][ts_index] != row[ts_index])
                if last_of_its_time:
                    offset["timestamp"] = value[ts_col].isoformat()
            key = ({k: value[k] for k in table.key_columns} if key_schema is not None
                   else None)
            table.pending.append(SourceRecord(
                source_partition=table.partition, source_offset=dict(offset),
                topic=table.topic, key=key, key_schema=key_schema, value=value,
                value_schema=value_schema))
        if self.mode != q.BULK:
            table.offset = offset

    def stop(self) -> None:
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()
        conn = getattr(self, "conn", None)
        if conn is not None:
            conn.close()


def _parse_ts(text: Any) -> dt.datetime:
    if not text:
        return dt.datetime(1, 1, 1, tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(str(text))


class PostgresSourceConnector(SourceConnector):
    """Copies PostgreSQL tables into topics (``topic.prefix`` + table).

    Example::

        name: shop-tables
        connector.class: PostgresSource   # or io.confluent.connect.jdbc.JdbcSourceConnector
        connection.url: postgresql://db:5432/shop
        connection.user: ferry
        connection.password: ${file:/etc/pg/creds.properties:password}
        mode: timestamp+incrementing
        timestamp.column.name: updated_at
        incrementing.column.name: id
        table.whitelist: orders,customers
        topic.prefix: shop.
        tasks.max: 2
    """

    config_def: ClassVar[ConfigDef] = keys.SOURCE_DEF

    @classmethod
    def task_class(cls) -> type[SourceTask]:
        return PostgresSourceTask

    @classmethod
    def validate(cls, config: Mapping[str, Any]) -> dict[str, str]:
        problems = keys.SOURCE_DEF.validate(config)
        if problems:
            return problems
        v = keys.SOURCE_DEF.parse(config)
        if v[keys.MODE] in (q.INCREMENTING, q.TIMESTAMP_INCREMENTING) \
                and not v[keys.INCREMENTING_COLUMN]:
            problems[keys.INCREMENTING_COLUMN] = f"required in mode {v[keys.MODE]}"
        if v[keys.MODE] in (q.TIMESTAMP, q.TIMESTAMP_INCREMENTING) and not v[keys.TIMESTAMP_COLUMN]:
            problems[keys.TIMESTAMP_COLUMN] = f"required in mode {v[keys.MODE]}"
        if v[keys.QUERY] and v[keys.TABLE_WHITELIST]:
            problems[keys.QUERY] = "give query or table.whitelist, not both"
        return problems

    def start(self, config: Mapping[str, Any]) -> None:
        problems = self.validate(config)
        if problems:
            raise ConfigError(problems)
        self._config = dict(config)
        self.values = keys.SOURCE_DEF.parse(config)
        self._stop = threading.Event()
        self.tables = [] if self.values[keys.QUERY] else self._list()
        if not self.values[keys.QUERY]:
            self._scanner = threading.Thread(target=self._scan, daemon=True,
                                             name="postgres-table-scan")
            self._scanner.start()

    def _list(self) -> list[str]:
        v = self.values
        with connect(v, autocommit=True) as conn:
            return list_tables(conn, v[keys.SCHEMA_PATTERN], v[keys.TABLE_WHITELIST],
                               v[keys.TABLE_BLACKLIST])

    def _scan(self) -> None:
        interval = self.values[keys.TABLE_POLL_INTERVAL_MS] / 1000
        while not self._stop.wait(interval):
            try:
                found = self._list()
            except psycopg.Error as exc:
                log.warning("listing tables failed, will retry: %s", exc)
                continue
            if found != self.tables:
                log.info("tables changed (%s -> %s): reconfiguring tasks", self.tables, found)
                self.tables = found
                self.context.request_task_reconfiguration()

    def task_configs(self, max_tasks: int) -> list[dict[str, Any]]:
        if self.values[keys.QUERY]:
            return [dict(self._config)]
        return [{**self._config, keys.TASK_TABLES: ",".join(group)}
                for group in split_tables(self.tables, max_tasks)]

    def stop(self) -> None:
        self._stop.set()
