"""Config keys of the PostgreSQL connectors: Kafka Connect's JDBC connector names."""

from __future__ import annotations

from typing import Any

from ferry.api import ConfigDef, ConfigType, Importance, Password
from ferry.api.config import at_least, non_empty, one_of
from ferry.connectors.postgres.sql import MODES

URL = "connection.url"
USER = "connection.user"
PASSWORD = "connection.password"
MODE = "mode"
INCREMENTING_COLUMN = "incrementing.column.name"
TIMESTAMP_COLUMN = "timestamp.column.name"
TIMESTAMP_DELAY_MS = "timestamp.delay.interval.ms"
TABLE_WHITELIST = "table.whitelist"
TABLE_BLACKLIST = "table.blacklist"
SCHEMA_PATTERN = "schema.pattern"
QUERY = "query"
TOPIC_PREFIX = "topic.prefix"
POLL_INTERVAL_MS = "poll.interval.ms"
BATCH_MAX_ROWS = "batch.max.rows"
TABLE_POLL_INTERVAL_MS = "table.poll.interval.ms"
TASK_TABLES = "ferry.postgres.tables"  # set by the connector in each task's config

INSERT_MODE = "insert.mode"
PK_MODE = "pk.mode"
PK_FIELDS = "pk.fields"
TABLE_NAME_FORMAT = "table.name.format"
DELETE_ENABLED = "delete.enabled"
AUTO_CREATE = "auto.create"
AUTO_EVOLVE = "auto.evolve"

CONNECTION_DEF = (
    ConfigDef()
    .define(URL, ConfigType.STRING, importance=Importance.HIGH, validator=non_empty,
            group="Connection",
            doc="postgresql://host:port/db (a libpq URI or key=value string); Kafka "
                "Connect's jdbc:postgresql://host:port/db is accepted.")
    .define(USER, ConfigType.STRING, "", Importance.HIGH, group="Connection",
            doc="User name, if not in the URL.")
    .define(PASSWORD, ConfigType.PASSWORD, "", Importance.HIGH, group="Connection",
            doc="Password; may be a ${env:...} or ${file:...} reference; never logged.")
)

SOURCE_DEF = CONNECTION_DEF.merge(
    ConfigDef()
    .define(MODE, ConfigType.STRING, importance=Importance.HIGH,
            validator=one_of(*MODES), group="Mode",
            doc="bulk (the whole table each poll), incrementing (rows whose "
                "incrementing.column.name is above the last seen), timestamp (rows whose "
                "timestamp.column.name is after the last seen), or timestamp+incrementing "
                "(both: exact even when many rows share a timestamp).")
    .define(INCREMENTING_COLUMN, ConfigType.STRING, "", Importance.MEDIUM, group="Mode",
            doc="A strictly increasing column (a serial id) for the incrementing modes.")
    .define(TIMESTAMP_COLUMN, ConfigType.STRING, "", Importance.MEDIUM, group="Mode",
            doc="The timestamp column updated on every change, for the timestamp modes.")
    .define(TIMESTAMP_DELAY_MS, ConfigType.LONG, 0, Importance.LOW, validator=at_least(0),
            group="Mode",
            doc="Only read rows whose timestamp is at least this old, so transactions that "
                "commit late are not skipped.")
    .define(TABLE_WHITELIST, ConfigType.LIST, [], Importance.MEDIUM, group="Tables",
            doc="Tables to copy (names, or schema.name); empty: all tables of "
                "schema.pattern.")
    .define(TABLE_BLACKLIST, ConfigType.LIST, [], Importance.MEDIUM, group="Tables",
            doc="Tables never to copy.")
    .define(SCHEMA_PATTERN, ConfigType.STRING, "public", Importance.MEDIUM, group="Tables",
            doc="The schema whose tables are listed.")
    .define(QUERY, ConfigType.STRING, "", Importance.MEDIUM, group="Tables",
            doc="Copy the rows of this query instead of tables (one task; the mode's WHERE "
                "is applied around it).")
    .define(TOPIC_PREFIX, ConfigType.STRING, importance=Importance.HIGH, group="Tables",
            doc="Topic of a table: this prefix and the table name; with query, the topic.")
    .define(POLL_INTERVAL_MS, ConfigType.INT, 5000, Importance.HIGH, validator=at_least(1),
            group="Polling", doc="How often each table is polled for new rows.")
    .define(BATCH_MAX_ROWS, ConfigType.INT, 100, Importance.LOW, validator=at_least(1),
            group="Polling", doc="Rows per query and per poll of one table.")
    .define(TABLE_POLL_INTERVAL_MS, ConfigType.LONG, 60000, Importance.LOW,
            validator=at_least(100), group="Tables",
            doc="How often the connector lists tables; a change reconfigures the tasks.")
    .define(TASK_TABLES, ConfigType.LIST, [], Importance.LOW, group="Tables",
            doc="Set by the connector: the tables of one task.")
)

SINK_DEF = CONNECTION_DEF.merge(
    ConfigDef()
    .define(INSERT_MODE, ConfigType.STRING, "insert", Importance.HIGH,
            validator=one_of("insert", "upsert", "update"), group="Writes",
            doc="insert (INSERT), upsert (INSERT ... ON CONFLICT (pk) DO UPDATE: a replayed "
                "batch changes nothing), update (UPDATE by pk).")
    .define(PK_MODE, ConfigType.STRING, "none", Importance.HIGH,
            validator=one_of("none", "kafka", "record_key", "record_value"), group="Writes",
            doc="Where the primary key comes from: none; kafka (__connect_topic, "
                "__connect_partition, __connect_offset); record_key (the key: a struct's "
                "fields, or one primitive named by pk.fields); record_value (pk.fields of the "
                "value).")
    .define(PK_FIELDS, ConfigType.LIST, [], Importance.MEDIUM, group="Writes",
            doc="The primary key fields (record_value: required; record_key: the fields of a "
                "struct key to use, or the column name of a primitive key).")
    .define(TABLE_NAME_FORMAT, ConfigType.STRING, "${topic}", Importance.MEDIUM,
            group="Writes", doc="The table of a record; ${topic} is replaced by its topic.")
    .define(DELETE_ENABLED, ConfigType.BOOLEAN, False, Importance.MEDIUM, group="Writes",
            doc="A record with a null value (a tombstone) deletes the row of its key; needs "
                "pk.mode=record_key.")
    .define(AUTO_CREATE, ConfigType.BOOLEAN, False, Importance.MEDIUM, group="DDL",
            doc="CREATE TABLE from the value schema when the table is missing.")
    .define(AUTO_EVOLVE, ConfigType.BOOLEAN, False, Importance.MEDIUM, group="DDL",
            doc="ALTER TABLE ADD COLUMN for fields the table lacks (nullable columns).")
    .define("batch.size", ConfigType.INT, 3000, Importance.LOW, validator=at_least(1),
            group="Writes", doc="Rows per executemany round trip.")
)


def conninfo(values: dict[str, Any]) -> str:
    """A libpq connection string from the URL, user and password keys."""
    from psycopg.conninfo import make_conninfo

    url = str(values[URL])
    if url.startswith("jdbc:"):
        url = url[len("jdbc:"):]
    extra: dict[str, Any] = {}
    if values.get(USER):
        extra["user"] = values[USER]
    password = values.get(PASSWORD)
    if password:
        extra["password"] = password.value if isinstance(password, Password) else password
    return make_conninfo(url, **extra)
