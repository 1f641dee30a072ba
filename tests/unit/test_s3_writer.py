"""S3 sink: rotation, deterministic groups, recovery, rollback and retries, on a fake store."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ferry.api import RetriableError, SinkRecord, TopicPartition
from ferry.connectors.s3.config import S3SinkConfig
from ferry.connectors.s3.formats import JsonLines, RawBytes
from ferry.connectors.s3.naming import Naming
from ferry.connectors.s3.partitioners import DefaultPartitioner, FieldPartitioner, record_time
from ferry.connectors.s3.sink import S3SinkTask
from ferry.connectors.s3.storage import S3Store, StoreUnavailable, backoff_s, is_retriable
from ferry.connectors.s3.writer import Layout, PartitionWriter

TP = TopicPartition("t", 0)


class FakeStore:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, dict[str, str]]] = {}
        self.fail_after: int | None = None
        self.puts = 0

    def put(self, key: str, data: bytes, metadata: Mapping[str, str]) -> None:
        if self.fail_after is not None and self.puts >= self.fail_after:
            raise StoreUnavailable("down")
        self.puts += 1
        self.objects[key] = (data, dict(metadata))

    def keys(self, prefix: str) -> Iterable[str]:
        return [k for k in self.objects if k.startswith(prefix)]

    def metadata(self, key: str) -> dict[str, str] | None:
        return self.objects[key][1] if key in self.objects else None


def layout(flush: int = 3, interval: int = -1, partitioner: Any = None) -> Layout:
    return Layout(Naming(), partitioner or DefaultPartitioner(), JsonLines(), record_time,
                  flush_size=flush, rotate_interval_ms=interval)


def rec(offset: int, ts: int | None = None, **value: Any) -> SinkRecord:
    return SinkRecord(topic="t", partition=0, offset=offset, value={"n": offset, **value},
                      timestamp=ts)


def test_flush_size_makes_deterministic_objects_and_pre_commit_holds_back() -> None:
    store = FakeStore()
    writer = PartitionWriter(TP, layout(), store)
    for o in range(7):
        writer.write(rec(o))
    assert sorted(store.objects) == ["topics/t/partition=0/t+0+0000000000.json",
                                     "topics/t/partition=0/t+0+0000000003.json"]
    data, meta = store.objects["topics/t/partition=0/t+0+0000000003.json"]
    assert [json.loads(x)["n"] for x in data.splitlines()] == [3, 4, 5]
    assert meta["ferry-group-start"] == "3" and meta["ferry-group-end"] == "5"
    assert writer.committable(7) == 6  # offset 6 is buffered, not written
    writer.write(rec(7))
    writer.write(rec(8))
    assert writer.committable(9) == 9


def test_record_time_rotation_starts_the_next_object_with_the_late_record() -> None:
    store = FakeStore()
    writer = PartitionWriter(TP, layout(flush=100, interval=1000), store)
    for o, ts in enumerate([0, 10, 999, 1000, 1500, 2100]):
        writer.write(rec(o, ts=ts))
    assert sorted(store.objects) == ["topics/t/partition=0/t+0+0000000000.json",
                                     "topics/t/partition=0/t+0+0000000003.json"]


def test_wall_clock_rotation_on_schedule() -> None:
    now = [10_500]
    store = FakeStore()
    lay = Layout(Naming(), DefaultPartitioner(), JsonLines(), record_time, flush_size=100,
                 rotate_schedule_ms=1000)
    writer = PartitionWriter(TP, lay, store, clock_ms=lambda: now[0])
    writer.write(rec(0))
    assert not writer.rotate_if_due()
    now[0] = 11_000
    assert writer.rotate_if_due()
    assert list(store.objects) == ["topics/t/partition=0/t+0+0000000000.json"]


def test_recovery_resumes_after_complete_groups_and_at_the_start_of_partial_ones() -> None:
    store = FakeStore()
    fields = FieldPartitioner(("c",))
    writer = PartitionWriter(TP, layout(flush=4, partitioner=fields), store)
    for o in range(8):
        writer.write(rec(o, c="a" if o % 2 else "b"))
    assert len(store.objects) == 4  # two groups of two directories each
    assert PartitionWriter(TP, layout(flush=4, partitioner=fields), store).recover() == 8
    newest = max(store.objects, key=lambda k: int(k.rsplit("+", 1)[1].split(".")[0]))
    del store.objects[newest]  # a crash between the two objects of the last group
    fresh = PartitionWriter(TP, layout(flush=4, partitioner=fields), store)
    assert fresh.recover() == 4
    for o in range(8):  # replay: already written records are skipped, the group rewritten
        fresh.write(rec(o, c="a" if o % 2 else "b"))
    assert len(store.objects) == 4 and fresh.records_skipped == 4
    assert PartitionWriter(TP, layout(), FakeStore()).recover() is None


def test_a_failed_batch_rolls_back_so_the_retry_writes_the_same_objects() -> None:
    store = FakeStore()
    task = S3SinkTask(store=store)
    task.start({"s3.bucket.name": "b", "flush.size": 2})
    task.open([TP])
    task.put([rec(0), rec(1), rec(2)])
    store.fail_after = store.puts
    with pytest.raises(RetriableError):
        task.put([rec(3), rec(4), rec(5)])
    store.fail_after = None
    task.put([rec(3), rec(4), rec(5)])  # the runner offers the same batch again
    names = sorted(store.objects)
    assert [n.rsplit("+", 1)[1] for n in names] == ["0000000000.json", "0000000002.json",
                                                   "0000000004.json"]
    assert task.pre_commit({TP: 6}) == {TP: 6}
    task.put([rec(6)])
    assert task.pre_commit({TP: 7}) == {TP: 6}


def test_raw_bytes_format_and_gzip_are_byte_stable() -> None:
    raw = RawBytes(b"\n", ".bin", "gzip")
    chunks = [raw.encode(SinkRecord(topic="t", partition=0, offset=0, value=v))
              for v in (b"a", "b")]
    assert raw.finish(chunks) == raw.finish(chunks) and raw.extension == ".bin.gz"


def error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "x"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject")


def test_retries_throttling_and_5xx_with_backoff_but_not_403() -> None:
    assert is_retriable(error("SlowDown", 503)) and is_retriable(error("InternalError", 500))
    assert not is_retriable(error("AccessDenied", 403))
    assert backoff_s(3, 200, rand=lambda: 1.0) == pytest.approx(0.8)

    class Client:
        calls = 0

        def put_object(self, **kwargs: Any) -> None:
            Client.calls += 1
            if Client.calls < 3:
                raise error("SlowDown", 503)

    config = S3SinkConfig.parse({"s3.bucket.name": "b", "flush.size": 1,
                                 "aws.secret.access.key": "s3cr3t"})
    assert "s3cr3t" not in repr(config)
    slept: list[float] = []
    store = S3Store(config, client=Client(), sleep=slept.append)
    store.put("k", b"x", {})
    assert Client.calls == 3 and len(slept) == 2
    Client.calls = -10
    with pytest.raises(StoreUnavailable):
        store.put("k", b"x", {})


def test_multipart_for_large_objects() -> None:
    parts: list[int] = []

    class Client:
        def create_multipart_upload(self, **kwargs: Any) -> dict[str, str]:
            return {"UploadId": "u"}

        def upload_part(self, **kwargs: Any) -> dict[str, str]:
            parts.append(len(kwargs["Body"]))
            return {"ETag": str(kwargs["PartNumber"])}

        def complete_multipart_upload(self, **kwargs: Any) -> None:
            assert [p["PartNumber"] for p in kwargs["MultipartUpload"]["Parts"]] == [1, 2, 3]

    config = S3SinkConfig.parse({"s3.bucket.name": "b", "flush.size": 1,
                                 "s3.part.size": 5 * 1024 * 1024})
    S3Store(config, client=Client()).put("k", b"x" * (11 * 1024 * 1024), {})
    assert parts == [5 * 1024 * 1024, 5 * 1024 * 1024, 1024 * 1024]
