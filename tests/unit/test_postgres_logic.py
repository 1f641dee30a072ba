"""PostgreSQL connectors: type mapping, SQL building, table selection, row rules (no server)."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from psycopg import sql

from ferry.api import DataError, SinkRecord
from ferry.api.schema import DATE_NAME, DECIMAL_NAME, TIMESTAMP_NAME, Type
from ferry.connectors.postgres import sql as q
from ferry.connectors.postgres import types
from ferry.connectors.postgres.config import conninfo
from ferry.connectors.postgres.sink import PostgresSinkConnector, RowRules, batches
from ferry.connectors.postgres.source import (
    PostgresSourceConnector,
    select_tables,
    split_tables,
)


def render(statement: sql.Composable) -> str:
    return statement.as_string(None)


def test_type_mapping() -> None:
    assert types.column_schema(types.INT8, None).type is Type.INT64
    dec = types.column_schema(types.NUMERIC, 2)
    assert dec.name == DECIMAL_NAME and dec.parameters == {"scale": "2"}
    assert types.column_value(dec, decimal.Decimal("1.5")) == decimal.Decimal("1.50")
    assert types.column_schema(types.NUMERIC, None).type is Type.FLOAT64
    ts = types.column_schema(types.TIMESTAMP, None)
    assert ts.name == TIMESTAMP_NAME
    assert types.column_value(ts, dt.datetime(2024, 1, 1)).tzinfo is dt.UTC
    assert types.column_schema(types.DATE, None).name == DATE_NAME
    assert types.column_schema(types.JSONB, None).type is Type.STRING
    arr = types.column_schema(1007, None)
    assert arr.type is Type.ARRAY and arr.value_schema is not None
    assert arr.value_schema.type is Type.INT32
    assert types.column_value(types.column_schema(types.BYTEA, None), memoryview(b"x")) == b"x"
    assert types.sql_type(dec) == "numeric(38, 2)" and types.sql_type(arr) == "integer[]"


def test_source_queries_per_mode() -> None:
    table = q.table_ident("public.orders")
    assert render(q.SourceQuery("bulk").build(table, 10)) == \
        'SELECT * FROM "public"."orders" AS ferry_src'
    inc = render(q.SourceQuery("incrementing", incrementing="id").build(table, 10))
    assert inc.endswith('WHERE "id" > %(inc)s ORDER BY "id" LIMIT 10')
    ts = render(q.SourceQuery("timestamp", timestamp="at", delay_ms=500).build(table, 10))
    assert '"at" > %(ts)s' in ts and "LIMIT" not in ts and "500" in ts
    both = render(q.SourceQuery("timestamp+incrementing", "id", "at").build(table, 10))
    assert '("at" > %(ts)s OR ("at" = %(ts)s AND "id" > %(inc)s))' in both
    assert both.endswith('ORDER BY "at", "id" LIMIT 10')
    assert render(q.SourceQuery("bulk").build(q.query_source("SELECT 1"), 5)) == \
        "SELECT * FROM (SELECT 1) AS ferry_src"


def test_sink_statements() -> None:
    assert render(q.upsert("t", ["id", "v"], ["id"])) == (
        'INSERT INTO "t" ("id", "v") VALUES (%s, %s) ON CONFLICT ("id") '
        'DO UPDATE SET "v" = EXCLUDED."v"')
    assert render(q.upsert("t", ["id"], ["id"])).endswith("DO NOTHING")
    assert render(q.delete("s.t", ["a", "b"])) == 'DELETE FROM "s"."t" WHERE "a" = %s AND "b" = %s'
    assert render(q.create_table("t", [("id", "bigint", False), ("v", "text", True)], ["id"])) \
        == 'CREATE TABLE IF NOT EXISTS "t" ("id" bigint NOT NULL, "v" text, PRIMARY KEY ("id"))'
    assert render(q.add_column("t", "x", "jsonb")) == \
        'ALTER TABLE "t" ADD COLUMN IF NOT EXISTS "x" jsonb'


def test_tables_are_filtered_and_split_round_robin() -> None:
    names = ["public.a", "public.b", "public.c", "public.d", "public.e"]
    assert select_tables(names, ["a", "public.c", "e"], ["e"]) == ["public.a", "public.c"]
    assert split_tables(names, 2) == [["public.a", "public.c", "public.e"],
                                      ["public.b", "public.d"]]
    assert split_tables(names[:1], 4) == [["public.a"]]


def rec(key: object, value: object, offset: int = 0) -> SinkRecord:
    return SinkRecord(topic="orders", partition=1, offset=offset, key=key, value=value)


def test_row_rules_take_the_key_from_where_pk_mode_says() -> None:
    upsert = RowRules("upsert", "record_key", (), "${topic}_copy", True)
    row = upsert.row(rec({"id": 7}, {"id": 7, "v": 1}))
    assert row is not None and row.table == "orders_copy" and row.keys == ("id",)
    tomb = upsert.row(rec({"id": 7}, None))
    assert tomb is not None and tomb.kind == "delete" and tomb.values == (7,)
    primitive = RowRules("upsert", "record_key", ("id",), "${topic}", False)
    assert primitive.row(rec(5, {"v": 1})).values == (1, 5)  # type: ignore[union-attr]
    assert primitive.row(rec(5, None)) is None  # deletes off: a tombstone is skipped
    kafka = RowRules("insert", "kafka", (), "${topic}", False).row(rec(None, {"v": 1}, 42))
    assert kafka is not None and kafka.values[-3:] == ("orders", 1, 42)
    with pytest.raises(DataError):
        RowRules("insert", "record_value", ("id",), "${topic}", False).row(rec(None, {"v": 1}))
    rows = [upsert.row(rec({"id": i}, {"id": i, "v": 1} if i != 2 else None))
            for i in range(4)]
    assert [len(b) for b in batches([r for r in rows if r])] == [2, 1, 1]


def test_connector_validation_and_jdbc_urls() -> None:
    base = {"connection.url": "jdbc:postgresql://h:5432/db", "topic.prefix": "p."}
    assert "incrementing.column.name" in PostgresSourceConnector.validate(
        {**base, "mode": "incrementing"})
    assert PostgresSourceConnector.validate({**base, "mode": "bulk"}) == {}
    assert "pk.mode" in PostgresSinkConnector.validate(
        {"connection.url": "postgresql://h/db", "insert.mode": "upsert"})
    info = conninfo({"connection.url": "jdbc:postgresql://h:5432/db",
                     "connection.user": "u", "connection.password": "p"})
    assert "host=h" in info and "user=u" in info and "password=p" in info
