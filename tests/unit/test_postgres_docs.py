"""PostgreSQL connectors' docs: reference tables match the ConfigDefs, and the type table."""

from __future__ import annotations

from ferry.connectors.postgres import config, types
from tests.unit.test_s3_docs import DOCS, check_tables


def test_postgres_reference_tables_match_the_config_defs() -> None:
    check_tables(DOCS / "connectors-postgres.md",
                 {"PostgresSource": config.SOURCE_DEF, "PostgresSink": config.SINK_DEF})


def test_the_type_mapping_table_is_in_the_docs() -> None:
    assert types.__doc__ is not None
    table = [line for line in types.__doc__.splitlines() if line.startswith("|")]
    text = (DOCS / "connectors-postgres.md").read_text()
    assert all(line in text for line in table)
