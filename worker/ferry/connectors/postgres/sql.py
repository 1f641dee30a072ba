"""The SQL the PostgreSQL connectors run, built from names and modes. Pure: no I/O.

Identifiers go through psycopg's ``sql.Identifier`` (quoted), values through parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import sql

BULK, INCREMENTING, TIMESTAMP, TIMESTAMP_INCREMENTING = (
    "bulk", "incrementing", "timestamp", "timestamp+incrementing")
MODES = (BULK, INCREMENTING, TIMESTAMP, TIMESTAMP_INCREMENTING)


def table_ident(name: str) -> sql.Composable:
    """``schema.table`` or ``table`` as a quoted identifier."""
    return sql.Identifier(*name.split(".", 1))


@dataclass(frozen=True, slots=True)
class SourceQuery:
    """What one table (or the configured query) is polled with, in one mode."""

    mode: str
    incrementing: str = ""
    timestamp: str = ""
    delay_ms: int = 0

    def build(self, source: sql.Composable, limit: int) -> sql.Composed:
        """``SELECT`` for the next batch; parameters are named ``ts``, ``inc``."""
        select = sql.SQL("SELECT * FROM {} AS ferry_src").format(source)
        if self.mode == BULK:
            return select + sql.SQL("")
        inc = sql.Identifier(self.incrementing) if self.incrementing else None
        ts = sql.Identifier(self.timestamp) if self.timestamp else None
        until = sql.SQL("CURRENT_TIMESTAMP - {} * INTERVAL '1 millisecond'").format(
            sql.Literal(self.delay_ms))
        if self.mode == INCREMENTING:
            where = sql.SQL("{inc} > %(inc)s").format(inc=inc)
            order = sql.SQL("{inc}").format(inc=inc)
        elif self.mode == TIMESTAMP:
            where = sql.SQL("{ts} > %(ts)s AND {ts} < {until}").format(ts=ts, until=until)
            order = sql.SQL("{ts}").format(ts=ts)
        else:
            where = sql.SQL("({ts} > %(ts)s OR ({ts} = %(ts)s AND {inc} > %(inc)s)) "
                            "AND {ts} < {until}").format(ts=ts, inc=inc, until=until)
            order = sql.SQL("{ts}, {inc}").format(ts=ts, inc=inc)
        query = select + sql.SQL(" WHERE {} ORDER BY {}").format(where, order)
        if self.mode != TIMESTAMP:  # a timestamp batch must end at a whole timestamp
            query += sql.SQL(" LIMIT {}").format(sql.Literal(limit))
        return query


def query_source(query: str) -> sql.Composable:
    return sql.SQL("({})").format(sql.SQL(query))


LIST_TABLES = """
SELECT table_schema, table_name FROM information_schema.tables
WHERE table_type = 'BASE TABLE' AND table_schema = %(schema)s ORDER BY table_name
"""

PRIMARY_KEY = """
SELECT a.attname FROM pg_index i
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
WHERE i.indrelid = %(table)s::regclass AND i.indisprimary
ORDER BY array_position(i.indkey, a.attnum)
"""

COLUMNS = """
SELECT column_name FROM information_schema.columns
WHERE table_schema = %(schema)s AND table_name = %(table)s
"""


def insert(table: str, columns: Sequence[str]) -> sql.Composed:
    return sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        table_ident(table), sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)))


def upsert(table: str, columns: Sequence[str], keys: Sequence[str]) -> sql.Composed:
    """INSERT ... ON CONFLICT (keys) DO UPDATE: replaying it leaves the same row."""
    others = [c for c in columns if c not in keys]
    action = (sql.SQL("DO UPDATE SET {}").format(sql.SQL(", ").join(
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in others))
        if others else sql.SQL("DO NOTHING"))
    return insert(table, columns) + sql.SQL(" ON CONFLICT ({}) {}").format(
        sql.SQL(", ").join(map(sql.Identifier, keys)), action)


def update(table: str, columns: Sequence[str], keys: Sequence[str]) -> sql.Composed:
    others = [c for c in columns if c not in keys]
    return sql.SQL("UPDATE {} SET {} WHERE {}").format(
        table_ident(table),
        sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in others),
        sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in keys))


def delete(table: str, keys: Sequence[str]) -> sql.Composed:
    return sql.SQL("DELETE FROM {} WHERE {}").format(
        table_ident(table),
        sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in keys))


def create_table(table: str, columns: Sequence[tuple[str, str, bool]],
                 keys: Sequence[str]) -> sql.Composed:
    """``columns``: (name, SQL type, nullable)."""
    defs = [sql.SQL("{} {}{}").format(sql.Identifier(name), sql.SQL(type_),
                                      sql.SQL("" if nullable else " NOT NULL"))
            for name, type_, nullable in columns]
    if keys:
        defs.append(sql.SQL("PRIMARY KEY ({})").format(
            sql.SQL(", ").join(map(sql.Identifier, keys))))
    return sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(
        table_ident(table), sql.SQL(", ").join(defs))


def add_column(table: str, name: str, type_: str) -> sql.Composed:
    return sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
        table_ident(table), sql.Identifier(name), sql.SQL(type_))
