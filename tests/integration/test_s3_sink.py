"""S3Sink against a real S3 server (s3proxy) and a real broker: exactly once across crashes.

A producer keeps writing while the sink runs; the sink is SIGKILLed in the middle several
times (standalone), or its tasks move between two distributed workers. Afterwards every
offset is in exactly one object, and the objects are byte for byte those of a clean run.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.config import Config
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from ferry import control
from ferry.runtime.connector_config import load_connector_file
from ferry_stack.s3server import S3Server
from tests.conftest import create_topic
from tests.helpers import FerryProcess, WorkerGroup, wait_for, write_connector

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "connectors" / "s3-sink.yaml"
PARTITIONS = 3
RECORDS = 3000        # per partition, then one trailer that stays in the open group
GROUP_JUMP = 50       # every 50 records the record time jumps by 2 s (> rotate.interval.ms)
T0 = (int(time.time()) - 3600) * 1000  # recent: the broker's retention keeps the records


def s3_client(s3: S3Server) -> Any:
    return boto3.client("s3", config=Config(s3={"addressing_style": "path"},
                                            request_checksum_calculation="when_required",
                                            response_checksum_validation="when_required"),
                        **s3.client_kwargs())


@pytest.fixture
def bucket(s3: S3Server, unique: str) -> str:
    name = f"it-{unique}"
    s3_client(s3).create_bucket(Bucket=name)
    return name


def sink_config(s3: S3Server, bucket: str, topic: str, topics_dir: str) -> dict[str, Any]:
    """The example YAML's config, pointed at the test server and topic."""
    config = dict(load_connector_file(EXAMPLE).config)
    config.update({"topics": topic, "s3.bucket.name": bucket, "topics.dir": topics_dir,
                   "store.url": s3.endpoint, "flush.size": "40", "rotate.interval.ms": "1000",
                   "offset.flush.interval.ms": "500", "consumer.max.poll.records": "50",
                   # A SIGKILLed member's partitions move on after 6 s, not 45.
                   "consumer.override.session.timeout.ms": "6000",
                   "consumer.override.heartbeat.interval.ms": "1000"})
    return config


def produce(bootstrap: str, topic: str, rate: float) -> None:
    """RECORDS (+1 trailer) per partition, at about ``rate`` records per second in all."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5,
                         "enable.idempotence": True})  # offsets follow n, in order
    started = time.monotonic()
    for n in range(RECORDS + 1):
        ts = T0 + (n // GROUP_JUMP) * 2000 + n
        for p in range(PARTITIONS):
            producer.produce(topic, json.dumps({"p": p, "n": n}).encode(), partition=p,
                             timestamp=ts)
        producer.poll(0)
        ahead = started + (n + 1) * PARTITIONS / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    producer.flush(30)


def objects(s3: S3Server, bucket: str, prefix: str) -> dict[str, bytes]:
    client = s3_client(s3)
    found: dict[str, bytes] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                  Prefix=prefix + "/"):
        for item in page.get("Contents", []):
            if item["Key"].endswith("/"):
                continue  # s3proxy's filesystem store lists its directories too
            try:
                body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            except client.exceptions.NoSuchKey:
                continue  # being replaced right now (a replay rewriting it): read it later
            found[item["Key"][len(prefix) + 1:]] = body
    return found


def expected_complete(found: dict[str, bytes]) -> bool:
    last_group = RECORDS - RECORDS % GROUP_JUMP - (0 if RECORDS % GROUP_JUMP else GROUP_JUMP)
    tail = last_group + 40  # the group 2950..2999 is cut in 40 + 10 by flush.size
    return all(any(k.endswith(f"+{p}+{tail:010d}.json") for k in found)
               for p in range(PARTITIONS))


def assert_exactly_once(found: dict[str, bytes]) -> None:
    per_partition: dict[int, Counter[int]] = {p: Counter() for p in range(PARTITIONS)}
    for key, body in found.items():
        _topic_dir, partition_dir, name = key.split("/")
        p = int(partition_dir.removeprefix("partition="))
        start = int(name.rsplit("+", 1)[1].split(".")[0])
        lines = [json.loads(line) for line in body.decode().splitlines()]
        assert [v["n"] for v in lines] == list(range(start, start + len(lines))), key
        assert all(v["p"] == p for v in lines)
        per_partition[p].update(v["n"] for v in lines)
    for p, counts in per_partition.items():
        assert set(counts) == set(range(RECORDS)), f"partition {p}: missing or extra offsets"
        assert max(counts.values()) == 1, f"partition {p}: an offset in two objects"


def clean_run(tmp_path: Path, bootstrap: str, s3: S3Server, bucket: str,
              topic: str) -> dict[str, bytes]:
    path = write_connector(tmp_path / "clean.yaml", f"clean-{topic}", "S3Sink",
                           sink_config(s3, bucket, topic, "clean"), tasks_max=2)
    workdir = tmp_path / "clean"
    workdir.mkdir()
    with FerryProcess([path], bootstrap, workdir, env=_credentials(s3)) as ferry:
        wait_for(lambda: ferry.check_alive() or expected_complete(objects(s3, bucket, "clean")),
                 timeout=120, what="the clean run to write every object")
    return objects(s3, bucket, "clean")


def _credentials(s3: S3Server) -> dict[str, str]:
    kwargs = s3.client_kwargs()
    return {"AWS_ACCESS_KEY_ID": kwargs["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": kwargs["aws_secret_access_key"],
            "S3_ENDPOINT": s3.endpoint}


@pytest.fixture
def topic(admin: AdminClient, unique: str) -> str:
    return create_topic(admin, f"s3-{unique}", partitions=PARTITIONS)


@pytest.fixture
def producing(bootstrap: str, topic: str) -> Iterator[threading.Thread]:
    # ~45 s of data: enough for three kills, each costing a restart and a 6 s session timeout
    # of the killed member, on a loaded 2-core machine.
    thread = threading.Thread(target=produce, args=(bootstrap, topic, 200.0), daemon=True)
    thread.start()
    yield thread
    thread.join(60)


def test_example_yaml_is_a_valid_s3_sink() -> None:
    from ferry.runtime.plugins import resolve

    spec = load_connector_file(EXAMPLE)
    cls = resolve("connector", spec.class_name)
    config = {**spec.config, "store.url": "http://127.0.0.1:1",
              "aws.access.key.id": "a", "aws.secret.access.key": "b"}
    assert cls.validate(config) == {}


def test_sigkill_in_the_middle_of_writing_leaves_each_offset_in_exactly_one_object(
        tmp_path: Path, bootstrap: str, s3: S3Server, bucket: str, topic: str,
        producing: threading.Thread) -> None:
    # The connector's own YAML reads the endpoint and credentials from ${env:...}.
    resource = yaml.safe_load(EXAMPLE.read_text())
    resource["metadata"]["name"] = f"killed-{topic}"
    resource["spec"]["config"].update({
        k: v for k, v in sink_config(s3, bucket, topic, "killed").items()
        if k not in ("store.url", "aws.access.key.id", "aws.secret.access.key")})
    path = tmp_path / "killed.yaml"
    path.write_text(yaml.safe_dump(resource))
    env = _credentials(s3)
    kills = 0
    while producing.is_alive() and kills < 4:
        ferry = FerryProcess([path], bootstrap, tmp_path, env=env).start()
        try:
            before = len(objects(s3, bucket, "killed"))
            def wrote_some(run: FerryProcess = ferry, before: int = before) -> bool:
                # Six new objects, or everything there is: once the producer is done, the
                # last few records may make fewer than six new objects.
                run.check_alive()
                found = objects(s3, bucket, "killed")
                return len(found) >= before + 6 or expected_complete(found)

            wait_for(wrote_some, timeout=90, what="the sink to write some objects")
            time.sleep(0.3 + 0.4 * kills)
        finally:
            ferry.kill()  # SIGKILL: no flush, no commit, no clean revoke
        kills += 1
    assert kills >= 3, "the producer finished before the sink was killed three times"
    producing.join(60)
    with FerryProcess([path], bootstrap, tmp_path, env=env) as ferry:
        wait_for(lambda: ferry.check_alive() or expected_complete(objects(s3, bucket, "killed")),
                 timeout=120, what="the last run to write every object")
        assert "[hidden]" not in env["AWS_SECRET_ACCESS_KEY"]
        assert env["AWS_SECRET_ACCESS_KEY"] not in ferry.log()
    killed = objects(s3, bucket, "killed")
    assert_exactly_once(killed)
    clean = clean_run(tmp_path, bootstrap, s3, bucket, topic)
    assert_exactly_once(clean)
    assert {k.replace("killed", "x") for k in killed} == {k.replace("clean", "x") for k in clean}
    assert sorted(killed.items()) == sorted(clean.items())


def test_rebalance_between_two_workers_while_writing(
        tmp_path: Path, bootstrap: str, s3: S3Server, bucket: str, topic: str,
        producing: threading.Thread) -> None:
    control.ensure_internal_topics({"bootstrap.servers": bootstrap})
    client = control.ControlClient({"bootstrap.servers": bootstrap})
    connector_id = f"it/s3-{topic}"
    config = sink_config(s3, bucket, topic, "moved")
    config.update({"aws.access.key.id": s3.client_kwargs()["aws_access_key_id"],
                   "aws.secret.access.key": s3.client_kwargs()["aws_secret_access_key"]})
    try:
        client.put_connector(connector_id, config, tasks_max=2)
        with WorkerGroup(connector_id, bootstrap, tmp_path) as group:
            group.add("w1")
            wait_for(lambda: len(objects(s3, bucket, "moved")) >= 6, timeout=60,
                     what="w1 to write objects")
            group.add("w2")  # tasks spread: partitions move to w2 mid-group
            time.sleep(4)
            group.workers["w1"].kill()  # w2 takes everything over after the session timeout
            time.sleep(4)
            group.add("w1b")
            producing.join(60)
            wait_for(lambda: expected_complete(objects(s3, bucket, "moved")), timeout=180,
                     what=f"every object after the rebalances\n{group.logs()}")
    finally:
        client.delete_connector(connector_id)
        client.close()
    moved = objects(s3, bucket, "moved")
    assert_exactly_once(moved)
    clean = clean_run(tmp_path, bootstrap, s3, bucket, topic)
    assert sorted(moved.items()) == sorted((k.replace("clean", "moved"), v)
                                           for k, v in clean.items())
