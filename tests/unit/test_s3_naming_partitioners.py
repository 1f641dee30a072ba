"""S3 sink: object names and partitioners (pure logic)."""

from __future__ import annotations

import pytest

from ferry.api import DataError, SinkRecord
from ferry.connectors.s3.naming import Naming
from ferry.connectors.s3.partitioners import (
    build_partitioner,
    field_time,
    joda_to_strftime,
)


def record(offset: int = 0, value: object = None, ts: int | None = None) -> SinkRecord:
    return SinkRecord(topic="orders", partition=3, offset=offset, value=value, timestamp=ts)


def test_object_names_are_zero_padded_and_sort_by_offset() -> None:
    naming = Naming()
    key = naming.object_key("orders/partition=3", "orders", 3, 12000, ".json")
    assert key == "topics/orders/partition=3/orders+3+0000012000.json"
    keys = [naming.object_key("orders/partition=3", "orders", 3, o, ".json")
            for o in (9, 10, 100, 99)]
    assert sorted(keys) == [keys[0], keys[1], keys[3], keys[2]]
    assert naming.start_offset(key, "orders", 3) == 12000
    assert naming.start_offset(key, "orders", 4) is None
    assert naming.start_offset("topics/orders/partition=3/", "orders", 3) is None
    assert Naming(topics_dir="").object_key("t/p=1", "t", 1, 5, ".bin") == \
        "t/p=1/t+1+0000000005.bin"


def test_default_and_field_partitioners() -> None:
    default = build_partitioner("io.confluent.connect.storage.partitioner.DefaultPartitioner",
                                fields=[], path_format="", duration_ms=-1, timezone="UTC")
    assert default.encode(record(), None) == "orders/partition=3"
    by_field = build_partitioner("field", fields=["country", "vip"], path_format="",
                                 duration_ms=-1, timezone="UTC")
    assert by_field.encode(record(value={"country": "FR", "vip": True}), None) == \
        "orders/country=FR/vip=true"
    with pytest.raises(DataError):
        by_field.encode(record(value={"country": "FR"}), None)
    with pytest.raises(ValueError):
        build_partitioner("field", fields=[], path_format="", duration_ms=-1, timezone="UTC")


def test_time_partitioner_floors_in_its_time_zone() -> None:
    assert joda_to_strftime("'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH") == \
        "year=%Y/month=%m/day=%d/hour=%H"
    with pytest.raises(ValueError):
        joda_to_strftime("QQ")
    hourly = build_partitioner("TimeBasedPartitioner", fields=[],
                               path_format="'dt'=YYYY-MM-dd/'hour'=HH", duration_ms=3_600_000,
                               timezone="Europe/Paris")
    ts = 1_700_000_000_000  # 2023-11-14T22:13:20Z, 23:13 in Paris
    assert hourly.encode(record(ts=ts), ts) == "orders/dt=2023-11-14/hour=23"
    daily = build_partitioner("daily", fields=[], path_format="", duration_ms=-1,
                              timezone="Asia/Tokyo")
    assert daily.encode(record(ts=ts), ts) == "orders/year=2023/month=11/day=15"
    with pytest.raises(DataError):
        hourly.encode(record(), None)


def test_record_field_timestamps() -> None:
    extract = field_time("at")
    assert extract(record(value={"at": 1234})) == 1234
    assert extract(record(value={"at": "1970-01-01T00:00:01Z"})) == 1000
    with pytest.raises(DataError):
        extract(record(value={"other": 1}))
