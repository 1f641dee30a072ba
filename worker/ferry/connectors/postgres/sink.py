"""PostgresSink: records to rows, one transaction per flush.

``put`` runs the batch's statements inside the open transaction (consecutive rows of one
table and kind go in one ``executemany``); ``flush``, called before the runtime commits
offsets, commits it. A crash before the commit loses the transaction, and the records are
delivered again from the last committed offsets; with ``insert.mode=upsert`` replaying
rows that did land before is a no-op, so the table ends as if each record was applied once.
A lost connection rolls back, rewinds the partitions to the transaction's first records and
asks for the batch again; any other database error fails the task.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import psycopg
from psycopg.types.json import Jsonb

from ferry.api import (
    ConfigDef,
    ConfigError,
    ConnectError,
    DataError,
    RetriableError,
    SinkConnector,
    SinkRecord,
    SinkTask,
    TopicPartition,
)
from ferry.api.schema import Type
from ferry.connectors.postgres import config as keys
from ferry.connectors.postgres import sql as q
from ferry.connectors.postgres.source import connect
from ferry.connectors.postgres.types import sql_type

log = logging.getLogger(__name__)
KAFKA_COLUMNS = ("__connect_topic", "__connect_partition", "__connect_offset")


@dataclass(frozen=True, slots=True)
class Row:
    """One record as a statement: the table, the kind, and its column values."""

    table: str
    kind: str  # insert, upsert, update, delete
    columns: tuple[str, ...]
    values: tuple[Any, ...]
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RowRules:
    insert_mode: str
    pk_mode: str
    pk_fields: tuple[str, ...]
    table_format: str
    delete_enabled: bool

    def row(self, record: SinkRecord) -> Row | None:
        """The statement for a record; None for a tombstone that deletes nothing."""
        table = self.table_format.replace("${topic}", record.topic)
        pk = self._key(record)
        if record.value is None:
            if not self.delete_enabled:
                return None
            return Row(table, "delete", tuple(pk), tuple(pk.values()), tuple(pk))
        if not isinstance(record.value, Mapping):
            raise DataError(f"record {record.topic}-{record.partition}@{record.offset}: the "
                            f"PostgreSQL sink needs struct or map values, got "
                            f"{type(record.value).__name__}")
        fields = {k: _param(v) for k, v in record.value.items()}
        fields.update(pk)
        if self.pk_mode == "record_value":
            missing = [f for f in self.pk_fields if f not in fields]
            if missing:
                raise DataError(f"record {record.topic}-{record.partition}@{record.offset} "
                                f"lacks primary key fields {missing}")
        return Row(table, self.insert_mode, tuple(fields), tuple(fields.values()),
                   self.key_columns(record))

    def key_columns(self, record: SinkRecord) -> tuple[str, ...]:
        if self.pk_mode == "kafka":
            return KAFKA_COLUMNS
        if self.pk_mode == "record_value":
            return self.pk_fields
        if self.pk_mode == "record_key":
            return tuple(self._key(record))
        return ()

    def _key(self, record: SinkRecord) -> dict[str, Any]:
        if self.pk_mode == "kafka":
            return dict(zip(KAFKA_COLUMNS, (record.original_topic, record.original_partition,
                                            record.offset), strict=True))
        if self.pk_mode == "record_key":
            key = record.key
            if isinstance(key, Mapping):
                names = self.pk_fields or tuple(key)
                return {n: _param(key[n]) for n in names}
            if key is None or not self.pk_fields:
                raise DataError(f"record {record.topic}-{record.partition}@{record.offset}: "
                                "pk.mode=record_key needs a struct key, or pk.fields naming "
                                "the column of a primitive key")
            return {self.pk_fields[0]: key}
        if self.pk_mode == "record_value" and isinstance(record.value, Mapping):
            return {f: _param(record.value[f]) for f in self.pk_fields if f in record.value}
        return {}


def _param(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, dict) else value


def batches(rows: Sequence[Row]) -> list[list[Row]]:
    """Consecutive rows of one table, kind and column list: one executemany each."""
    out: list[list[Row]] = []
    for row in rows:
        last = out[-1][-1] if out else None
        if last is not None and (last.table, last.kind, last.columns) == \
                (row.table, row.kind, row.columns):
            out[-1].append(row)
        else:
            out.append([row])
    return out


def statement(row: Row) -> tuple[Any, Any]:
    """The SQL of a batch of rows like ``row``, and how to order a row's parameters."""
    if row.kind == "delete":
        return q.delete(row.table, row.keys), lambda r: r.values
    if row.kind == "upsert" and row.keys:
        return q.upsert(row.table, row.columns, row.keys), lambda r: r.values
    if row.kind == "update" and row.keys:
        others = [i for i, c in enumerate(row.columns) if c not in row.keys]
        key_idx = [row.columns.index(k) for k in row.keys]
        return (q.update(row.table, row.columns, row.keys),
                lambda r: tuple(r.values[i] for i in others + key_idx))
    return q.insert(row.table, row.columns), lambda r: r.values


class PostgresSinkTask(SinkTask):
    def start(self, config: Mapping[str, Any]) -> None:
        self.values = keys.SINK_DEF.parse(config)
        v = self.values
        self.rules = RowRules(v[keys.INSERT_MODE], v[keys.PK_MODE], tuple(v[keys.PK_FIELDS]),
                              v[keys.TABLE_NAME_FORMAT], v[keys.DELETE_ENABLED])
        self.conn: psycopg.Connection[Any] | None = None
        self.known: dict[str, set[str]] = {}
        self.txn_first: dict[TopicPartition, int] = {}

    def _connection(self) -> psycopg.Connection[Any]:
        if self.conn is None or self.conn.closed:
            self.conn = connect(self.values, autocommit=False)
            self.known.clear()
        return self.conn

    def put(self, records: Sequence[SinkRecord]) -> None:
        rows: list[tuple[Row, SinkRecord]] = []
        for record in records:
            row = self.rules.row(record)
            if row is not None:
                rows.append((row, record))
        try:
            conn = self._connection()
            for row, record in rows:
                evolve = self.values[keys.AUTO_EVOLVE] and row.table in self.known \
                    and not set(row.columns) <= self.known[row.table]
                if row.table not in self.known or evolve:
                    self._ensure_table(conn, row, record)
            for group in batches([r for r, _ in rows]):
                sql, order = statement(group[0])
                with conn.cursor() as cursor:
                    cursor.executemany(sql, [order(r) for r in group])
        except psycopg.OperationalError as exc:
            self._abort()
            rewind = dict(self.txn_first)
            for record in records:
                rewind.setdefault(TopicPartition(record.original_topic,
                                                 record.original_partition), record.offset)
            self.txn_first.clear()
            self.context.rewind(rewind)
            raise RetriableError(f"PostgreSQL connection failed: {exc}") from exc
        except psycopg.Error as exc:
            self._abort()
            raise ConnectError(f"PostgreSQL rejected a batch: {exc}") from exc
        for record in records:
            self.txn_first.setdefault(TopicPartition(record.original_topic,
                                                     record.original_partition), record.offset)

    def _abort(self) -> None:
        if self.conn is not None:
            try:
                self.conn.rollback()
            except psycopg.Error:
                self.conn.close()
        self.known.clear()

    def _ensure_table(self, conn: psycopg.Connection[Any], row: Row,
                      record: SinkRecord) -> None:
        schema, _, name = row.table.rpartition(".")
        columns = {r[0] for r in conn.execute(q.COLUMNS, {"schema": schema or "public",
                                                          "table": name}).fetchall()}
        if not columns:
            if not self.values[keys.AUTO_CREATE]:
                raise ConnectError(f"table {row.table} does not exist (set auto.create=true)")
            defs = [(c, _column_type(record, c), c not in row.keys) for c in row.columns]
            conn.execute(q.create_table(row.table, defs, row.keys))
            log.info("created table %s", row.table)
            columns = set(row.columns)
        missing = [c for c in row.columns if c not in columns]
        if missing and self.values[keys.AUTO_EVOLVE]:
            for column in missing:
                conn.execute(q.add_column(row.table, column, _column_type(record, column)))
            log.info("added columns %s to %s", missing, row.table)
            columns.update(missing)
        self.known[row.table] = columns

    def flush(self, offsets: Mapping[TopicPartition, int]) -> None:
        if self.conn is None or self.conn.closed:
            return
        try:
            self.conn.commit()
        except psycopg.Error as exc:
            self._abort()
            raise RetriableError(f"commit failed: {exc}") from exc
        self.txn_first.clear()

    def stop(self) -> None:
        if self.conn is not None:
            self.conn.close()  # an open transaction rolls back


def _column_type(record: SinkRecord, column: str) -> str:
    for schema in (record.value_schema, record.key_schema):
        if schema is not None and schema.type is Type.STRUCT:
            found = schema.field(column)
            if found is not None:
                return sql_type(found.schema)
    if column in KAFKA_COLUMNS:
        return "text" if column == "__connect_topic" else "bigint"
    value = record.value.get(column) if isinstance(record.value, Mapping) else None
    if value is None and isinstance(record.key, Mapping):
        value = record.key.get(column)
    if value is None and not isinstance(record.key, Mapping):
        value = record.key
    return _infer(value)


def _infer(value: Any) -> str:
    import datetime as dt
    import decimal

    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint"
    if isinstance(value, float):
        return "double precision"
    if isinstance(value, decimal.Decimal):
        return "numeric"
    if isinstance(value, dt.datetime):
        return "timestamptz"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, bytes):
        return "bytea"
    if isinstance(value, dict | Jsonb):
        return "jsonb"
    return "text"


class PostgresSinkConnector(SinkConnector):
    """Writes records to PostgreSQL tables (``table.name.format``, by default the topic).

    Example::

        name: orders-to-pg
        connector.class: PostgresSink     # or io.confluent.connect.jdbc.JdbcSinkConnector
        topics: orders
        connection.url: postgresql://db:5432/warehouse
        connection.password: ${env:PG_PASSWORD}
        insert.mode: upsert
        pk.mode: record_key
        delete.enabled: true
        auto.create: true
    """

    config_def: ClassVar[ConfigDef] = keys.SINK_DEF

    @classmethod
    def task_class(cls) -> type[SinkTask]:
        return PostgresSinkTask

    @classmethod
    def validate(cls, config: Mapping[str, Any]) -> dict[str, str]:
        problems = keys.SINK_DEF.validate(config)
        if problems:
            return problems
        v = keys.SINK_DEF.parse(config)
        if v[keys.PK_MODE] == "record_value" and not v[keys.PK_FIELDS]:
            problems[keys.PK_FIELDS] = "required with pk.mode=record_value"
        if v[keys.INSERT_MODE] in ("upsert", "update") and v[keys.PK_MODE] == "none":
            problems[keys.PK_MODE] = f"insert.mode={v[keys.INSERT_MODE]} needs a primary key"
        if v[keys.DELETE_ENABLED] and v[keys.PK_MODE] != "record_key":
            problems[keys.DELETE_ENABLED] = "needs pk.mode=record_key"
        return problems

    def start(self, config: Mapping[str, Any]) -> None:
        problems = self.validate(config)
        if problems:
            raise ConfigError(problems)
        self._config = dict(config)

    def task_configs(self, max_tasks: int) -> list[dict[str, Any]]:
        return [dict(self._config) for _ in range(max_tasks)]



