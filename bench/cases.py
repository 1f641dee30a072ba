"""The benchmark cases: what each system runs, on how much data, with which settings.

A case is framework-neutral: a Kafka Connect connector config (which Ferry accepts as it is)
plus the data it reads. Each system turns it into its own process. Cases that need systems
not built yet (exactly-once sources, failover across distributed workers) are listed with
``requires`` so the harness reports them as skipped until those systems exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bench.settings import JSON_SCHEMAS, SOURCE_BATCH, STRING, Converters

Kind = Literal["source", "sink"]
# lines<N>: text lines of N bytes including "\n"; json: JsonConverter envelopes with a struct.
Data = Literal["lines100", "lines1k", "json"]

FILE_SOURCE = "org.apache.kafka.connect.file.FileStreamSourceConnector"
FILE_SINK = "org.apache.kafka.connect.file.FileStreamSinkConnector"

# Case 3, source side: a line becomes a struct {text, topic, origin}. HoistField makes the
# struct (the file source emits strings), InsertField adds two fields, ReplaceField renames.
SOURCE_TRANSFORMS: dict[str, str] = {
    "transforms": "hoist,insert,replace",
    "transforms.hoist.type": "org.apache.kafka.connect.transforms.HoistField$Value",
    "transforms.hoist.field": "line",
    "transforms.insert.type": "org.apache.kafka.connect.transforms.InsertField$Value",
    "transforms.insert.topic.field": "topic",
    "transforms.insert.static.field": "origin",
    "transforms.insert.static.value": "ferry-bench",
    "transforms.replace.type": "org.apache.kafka.connect.transforms.ReplaceField$Value",
    "transforms.replace.renames": "line:text",
}
# Case 3, sink side: the topic holds structs {id, name, email, secret, note}; InsertField adds
# where the record came from, ReplaceField drops one field and renames another.
SINK_TRANSFORMS: dict[str, str] = {
    "transforms": "insert,replace",
    "transforms.insert.type": "org.apache.kafka.connect.transforms.InsertField$Value",
    "transforms.insert.topic.field": "kafka_topic",
    "transforms.insert.partition.field": "kafka_partition",
    "transforms.insert.offset.field": "kafka_offset",
    "transforms.replace.type": "org.apache.kafka.connect.transforms.ReplaceField$Value",
    "transforms.replace.exclude": "secret",
    "transforms.replace.renames": "name:user",
}


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    kind: Kind
    data: Data
    records: int          # full mode
    quick_records: int    # --quick
    tasks: int = 1
    partitions: int = 1
    converters: Converters = STRING
    transforms: dict[str, str] = field(default_factory=dict)
    # A case that needs a capability no system has yet (e.g. "exactly-once", "failover").
    requires: str = ""

    def records_for(self, quick: bool, scale: float = 1.0) -> int:
        base = self.quick_records if quick else self.records
        return max(1000, int(base * scale))

    def connector_config(self, name: str, topic: str, path: str) -> dict[str, str]:
        """The Kafka Connect connector config; ``path`` is the input or output file."""
        config: dict[str, str] = {"name": name, "tasks.max": str(self.tasks),
                                  **self.converters.properties(), **self.transforms}
        if self.kind == "source":
            config.update({"connector.class": FILE_SOURCE, "file": path, "topic": topic,
                           "batch.size": str(SOURCE_BATCH)})
        else:
            config.update({"connector.class": FILE_SINK, "file": path, "topics": topic})
        return config


# Full-mode sizes are chosen so that `make bench` (4 systems x reps) ends within ~30 minutes
# on a 2-core machine; docs/benchmarks.md states them. The issue asks for 1 GB per case.
CASES: list[Case] = [
    Case("source-100b", "1. file source -> topic, 100-byte lines, 1 task", "source",
         "lines100", records=2_000_000, quick_records=20_000),
    Case("source-1kb", "1. file source -> topic, 1 KB lines, 1 task", "source",
         "lines1k", records=300_000, quick_records=5_000),
    Case("sink-1task", "2. topic -> file sink, 100-byte lines, 1 task", "sink",
         "lines100", records=1_500_000, quick_records=20_000),
    Case("sink-4tasks", "2. topic -> file sink, 100-byte lines, 4 tasks / 8 partitions", "sink",
         "lines100", records=1_500_000, quick_records=20_000, tasks=4, partitions=8),
    Case("json-source", "3. file source -> topic, JSON+schema, HoistField+InsertField+"
         "ReplaceField", "source", "lines100", records=300_000, quick_records=10_000,
         converters=JSON_SCHEMAS, transforms=SOURCE_TRANSFORMS),
    Case("json-sink", "3. topic -> file sink, JSON+schema, InsertField+ReplaceField", "sink",
         "json", records=300_000, quick_records=10_000, converters=JSON_SCHEMAS,
         transforms=SINK_TRANSFORMS),
    # Cases the issue asks for that need systems still being written (see docs/benchmarks.md).
    Case("eos-source", "4. exactly-once file source vs at-least-once", "source", "lines100",
         records=3_000_000, quick_records=20_000, requires="exactly-once"),
    Case("failover", "5. failover: 3 workers, 6 DataGen tasks, SIGKILL / SIGTERM one", "source",
         "lines100", records=0, quick_records=0, tasks=6, requires="failover"),
]


def by_id(ids: list[str]) -> list[Case]:
    known = {c.id: c for c in CASES}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise SystemExit(f"bench: unknown case(s) {unknown}; known: {sorted(known)}")
    return [known[i] for i in ids]
