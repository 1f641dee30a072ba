"""Micro-measurements of the per-record costs the profile points at, and of candidate fixes.

``python -m bench.micro`` needs no broker: it times, on this machine, one piece of Ferry's
per-record path as it is today next to a cheaper way to do the same work, so each suggestion
in docs/benchmarks.md ("Where the time goes") comes with a measured saving. Nothing here
changes Ferry; the alternatives are sketches of what the runtime could do.
"""

from __future__ import annotations

import json
import sys
import timeit
from collections.abc import Callable
from typing import Any

N = 200_000


def _per_record(fn: Callable[[], Any], records: int, repeat: int = 5) -> float:
    """Best-of-``repeat`` microseconds per record of ``fn`` (which handles ``records``)."""
    return min(timeit.repeat(fn, number=1, repeat=repeat)) / records * 1e6


def measurements() -> list[tuple[str, str, float, str, float]]:
    from ferry.api.records import SinkRecord, SourceRecord, TopicPartition
    from ferry.api.schema import STRING, Schema, struct
    from ferry.converters.string import StringConverter

    rows: list[tuple[str, str, float, str, float]] = []
    topic = "bench"
    values = [f"{i:010d} {'x' * 88}".encode() for i in range(N)]
    offsets = list(range(N))

    # 1. SinkRecord construction: the frozen dataclass __init__ vs slot stores.
    def sink_kwargs() -> None:
        for off, v in zip(offsets, values, strict=True):
            SinkRecord(topic=topic, partition=0, offset=off, key=None, value=v, headers=(),
                       timestamp=None, key_schema=None, value_schema=None,
                       original_topic=topic, original_partition=0)

    new = object.__new__
    slots = {name: getattr(SinkRecord, name) for name in SinkRecord.__slots__}
    s_topic, s_part, s_off, s_val, s_key = (slots[n].__set__ for n in
                                            ("topic", "partition", "offset", "value", "key"))
    s_hdr, s_ts, s_ks, s_vs = (slots[n].__set__ for n in
                               ("headers", "timestamp", "key_schema", "value_schema"))
    s_ot, s_op = slots["original_topic"].__set__, slots["original_partition"].__set__

    def sink_slots() -> None:
        for off, v in zip(offsets, values, strict=True):
            r = new(SinkRecord)
            s_topic(r, topic), s_part(r, 0), s_off(r, off), s_val(r, v), s_key(r, None)
            s_hdr(r, ()), s_ts(r, None), s_ks(r, None), s_vs(r, None)
            s_ot(r, topic), s_op(r, 0)

    rows.append(("SinkRecord(...) per consumed message", "frozen dataclass __init__",
                 _per_record(sink_kwargs, N), "slot stores (as SourceRecordBatch builds records)",
                 _per_record(sink_slots, N)))

    # 2. Sink offset tracking: a TopicPartition per message vs the last offset per partition.
    def tp_per_message() -> None:
        consumed: dict[TopicPartition, int] = {}
        for off in offsets:
            consumed[TopicPartition(topic, 0)] = off + 1

    def last_per_partition() -> None:
        last: dict[tuple[str, int], int] = {}
        for off in offsets:
            last[(topic, 0)] = off
        {TopicPartition(t, p): o + 1 for (t, p), o in last.items()}

    rows.append(("sink offsets: `consumed[TopicPartition(t, p)] = offset + 1`",
                 "TopicPartition per message", _per_record(tp_per_message, N),
                 "tuple key, TopicPartition once per batch", _per_record(last_per_partition, N)))

    # 3. StringConverter.to_connect for the (null) key and the value.
    conv = StringConverter()
    conv.configure({}, is_key=False)
    to_connect = conv.to_connect

    def convert_today() -> None:
        for v in values:
            to_connect(topic, None)
            to_connect(topic, v)

    from ferry.api.converter import SchemaAndValue
    from ferry.api.schema import OPTIONAL_STRING

    null = SchemaAndValue(OPTIONAL_STRING, None)

    def convert_null_key() -> None:
        for v in values:
            key = None
            _ = null if key is None else to_connect(topic, key)
            to_connect(topic, v)

    rows.append(("StringConverter.to_connect, key (null) + value", "two calls per record",
                 _per_record(convert_today, N), "no key call for a null key (shared constant)",
                 _per_record(convert_null_key, N)))

    # 4. A transform's record.replace(...) (dataclasses.replace) vs a slot copy.
    schema: Schema = struct([("text", STRING)])
    base = SourceRecord(source_partition={"filename": "f"}, source_offset={"position": 1},
                        topic=topic, value="x", value_schema=schema)
    descriptors: dict[str, Any] = {n: getattr(SourceRecord, n) for n in SourceRecord.__slots__}

    def replace_today() -> None:
        for _ in range(N):
            base.replace(value_schema=schema, value="y")

    # Generated once per class with the stores unrolled, as dataclasses does for __init__.
    names = [n for n in SourceRecord.__slots__ if n not in ("value", "value_schema")]
    body = "\n".join(f"    S_{n}(r, G_{n}(rec))" for n in names)
    scope: dict[str, Any] = {"new": new, "cls": SourceRecord}
    for n in SourceRecord.__slots__:
        scope[f"S_{n}"], scope[f"G_{n}"] = descriptors[n].__set__, descriptors[n].__get__
    exec(f"def with_value(rec, schema, value):\n    r = new(cls)\n{body}\n"
         "    S_value_schema(r, schema)\n    S_value(r, value)\n    return r\n", scope)
    with_value = scope["with_value"]

    def replace_slots() -> None:
        for _ in range(N):
            with_value(base, schema, "y")

    rows.append(("record.replace(value_schema=, value=) in each transform",
                 "dataclasses.replace", _per_record(replace_today, N),
                 "generated copy with unrolled slot stores", _per_record(replace_slots, N)))

    # 5. FileStreamSink line of a struct value: json.dumps with arguments vs a reused encoder.
    doc = {"id": 1, "user": "user-00000001", "email": "user-00000001@example.com",
           "note": "x" * 40, "kafka_topic": topic, "kafka_partition": 0, "kafka_offset": 1}
    docs = [doc] * (N // 4)
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)
    encode = encoder.encode

    def dumps_today() -> None:
        for d in docs:
            json.dumps(d, ensure_ascii=False, separators=(",", ":"), default=str).encode()

    def dumps_reused() -> None:
        for d in docs:
            encode(d).encode()

    rows.append(("FileStreamSink line of a dict (`json.dumps(..., ensure_ascii=False, ...)`)",
                 "json.dumps with arguments", _per_record(dumps_today, len(docs)),
                 "one JSONEncoder, reused", _per_record(dumps_reused, len(docs))))

    # 6. Source offsets: one dict per record from the file source, vs one per batch.
    ends = list(range(N))

    def offset_dicts() -> None:
        [{"position": e} for e in ends]

    def offset_last() -> None:
        {"position": ends[-1]}

    rows.append(("FileStreamSource offset `{position: end}` per line", "a dict per record",
                 _per_record(offset_dicts, N), "only the batch's last (not per record)",
                 _per_record(offset_last, N)))
    return rows


def main() -> int:
    print(f"Python {sys.version.split()[0]}, {N:,} records per timing, best of 5\n")
    print("| per-record work | today | us/record | alternative | us/record | saved |")
    print("|---|---|---:|---|---:|---:|")
    for what, today, t0, alt, t1 in measurements():
        print(f"| {what} | {today} | {t0:.2f} | {alt} | {t1:.2f} | {t0 - t1:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
