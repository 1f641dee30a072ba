"""DataGen: deterministic sequences per task, resume without gaps, rate limit, shapes."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import pytest

from ferry.api import OffsetReader, SourceRecord, SourceTaskContext
from ferry.api.schema import BYTES, INT32, INT64, STRING, Type
from ferry.connectors.datagen import DataGenConnector, DataGenTask


class MemoryOffsets(OffsetReader):
    def __init__(self) -> None:
        self.stored: dict[str, dict[str, Any]] = {}

    def offset(self, source_partition: Mapping[str, Any]) -> dict[str, Any] | None:
        return self.stored.get(json.dumps(dict(source_partition), sort_keys=True))

    def commit(self, record: SourceRecord) -> None:
        key = json.dumps(dict(record.source_partition), sort_keys=True)
        self.stored[key] = dict(record.source_offset)


def make_task(offsets: OffsetReader | None = None, **config: Any) -> DataGenTask:
    task = DataGenTask()
    task.initialize(SourceTaskContext(offsets or MemoryOffsets()))
    task.start({"topic": "gen", **{k.replace("_", "."): v for k, v in config.items()}})
    return task


def take(task: DataGenTask, count: int) -> list[SourceRecord]:
    out: list[SourceRecord] = []
    while len(out) < count:
        out.extend(task.poll())
    return out[:count]


def test_the_same_config_gives_the_same_records_in_every_run() -> None:
    first = take(make_task(seed=7), 3000)
    second = take(make_task(seed=7), 3000)
    assert first == second
    other = take(make_task(seed=8), 10)
    assert [r.value["payload"] for r in other] != [r.value["payload"] for r in first[:10]]


def test_sequence_values_are_structs_with_a_schema() -> None:
    [record] = take(make_task(value_size=32), 1)
    assert record.value == {"task": 0, "seq": 0, "payload": record.value["payload"]}
    assert len(record.value["payload"]) == 32
    schema = record.value_schema
    assert schema is not None and schema.type is Type.STRUCT
    assert [(f.name, f.schema.type) for f in schema.fields] == [
        ("task", Type.INT32), ("seq", Type.INT64), ("payload", Type.STRING)]
    assert record.source_partition == {"task": 0} and record.source_offset == {"seq": 0}
    assert record.key is None and record.topic == "gen"


def test_string_and_bytes_shapes_have_the_requested_size() -> None:
    strings = take(make_task(value_shape="string", value_size=50), 20)
    assert all(isinstance(r.value, str) and len(r.value) == 50 for r in strings)
    assert strings[3].value.startswith("0:3:") and strings[0].value_schema == STRING
    raw = take(make_task(value_shape="bytes", value_size=50), 20)
    assert [r.value for r in raw] == [r.value.encode() for r in strings]
    assert raw[0].value_schema == BYTES
    tiny = take(make_task(value_shape="string", value_size=0), 12)
    assert tiny[11].value == "0:11:"


def test_key_shapes() -> None:
    by_task = take(make_task(key_shape="task"), 3)
    assert [r.key for r in by_task] == [0, 0, 0] and by_task[0].key_schema == INT32
    by_seq = take(make_task(key_shape="seq"), 3)
    assert [r.key for r in by_seq] == [0, 1, 2] and by_seq[0].key_schema == INT64


def test_a_restarted_task_continues_after_its_committed_offset() -> None:
    continuous = take(make_task(batch_size=100), 500)
    offsets = MemoryOffsets()
    first = take(make_task(offsets, batch_size=100), 300)
    offsets.commit(first[249])  # 250 acknowledged, the last 50 were not
    resumed = take(make_task(offsets, batch_size=100), 250)
    assert [r.value["seq"] for r in resumed] == list(range(250, 500))
    assert resumed == continuous[250:]


def test_max_records_is_per_task_and_then_the_task_idles() -> None:
    task = make_task(max_records=2500, batch_size=1000)
    sizes = [len(task.poll()) for _ in range(4)]
    assert sizes == [1000, 1000, 500, 0]


def test_rate_limit_is_roughly_respected() -> None:
    task = make_task(records_per_second=2000, batch_size=100)
    count, started = 0, time.monotonic()
    while time.monotonic() - started < 0.5:
        count += len(task.poll())
    assert 600 <= count <= 1200


def test_tasks_split_into_independent_sequences() -> None:
    connector = DataGenConnector()
    connector.start({"topic": "gen", "seed": 1})
    configs = connector.task_configs(3)
    assert len(configs) == 3
    streams = []
    for config in configs:
        task = DataGenTask()
        task.initialize(SourceTaskContext(MemoryOffsets()))
        task.start(config)
        streams.append(take(task, 5))
    assert [s[0].source_partition for s in streams] == [{"task": 0}, {"task": 1}, {"task": 2}]
    assert [[r.value["seq"] for r in s] for s in streams] == [list(range(5))] * 3
    assert len({s[0].value["payload"] for s in streams}) == 3
    assert DataGenConnector.exactly_once_support is True


def test_batch_size_and_validation() -> None:
    assert len(make_task(batch_size=7).poll()) == 7
    problems = DataGenConnector.validate({"value.shape": "xml", "key.shape": "uuid"})
    assert set(problems) == {"topic", "value.shape", "key.shape"}
    with pytest.raises(Exception, match=r"value\.size"):
        make_task(value_size=-1)
