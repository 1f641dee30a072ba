"""Concurrent callers' topics go to the broker in a few CreateTopics requests, each caller
getting its own topic's outcome (created, already there, or its own error)."""

from __future__ import annotations

import concurrent.futures

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from ferry import control, protocol
from ferry.topic_creator import BatchedTopicCreator
from tests.conftest import create_topic
from tests.helpers import wait_for

pytestmark = pytest.mark.integration


def partitions(admin: AdminClient, names: list[str], timeout: float = 30) -> dict[str, int]:
    """Partition counts once every topic shows in the metadata (which lags a creation)."""
    counts: dict[str, int] = {}

    def listed() -> bool:
        topics = admin.list_topics(timeout=10).topics
        counts.update({name: len(topics[name].partitions) for name in names if name in topics})
        return len(counts) == len(names)

    wait_for(listed, timeout, f"topics {names[:3]}... in the metadata")
    return counts


def test_concurrent_creates_share_requests(admin: AdminClient, unique: str) -> None:
    creator = BatchedTopicCreator(admin)
    existing = create_topic(admin, f"there-{unique}")
    names = [f"batch-{unique}-{i}" for i in range(40)]
    wanted = [NewTopic(name, 2, 1) for name in names] + [NewTopic(existing, 1, 1)]
    with concurrent.futures.ThreadPoolExecutor(len(wanted)) as pool:
        outcomes = dict(zip([t.topic for t in wanted], pool.map(creator.create, wanted),
                            strict=True))
    assert outcomes == {**dict.fromkeys(names, True), existing: False}
    assert creator.requests_sent < len(wanted) / 4  # batched, not one request per topic
    assert partitions(admin, names) == dict.fromkeys(names, 2)


def test_a_bad_topic_fails_only_its_caller(admin: AdminClient, unique: str) -> None:
    creator = BatchedTopicCreator(admin, linger=0.2)  # long enough that both share a batch
    good = NewTopic(f"good-{unique}", 1, 1)
    bad = NewTopic(f"bad-{unique}", 1, 1, config={"cleanup.policy": "no-such-policy"})
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        good_future = pool.submit(creator.create, good)
        bad_future = pool.submit(creator.create, bad)
        assert good_future.result(timeout=60) is True
        with pytest.raises(KafkaException, match=r"cleanup\.policy|Invalid"):
            bad_future.result(timeout=60)
    assert creator.requests_sent == 1
    assert partitions(admin, [good.topic]) == {good.topic: 1}
    assert bad.topic not in admin.list_topics(timeout=10).topics


def test_units_topic_through_the_creator(bootstrap: str, admin: AdminClient,
                                         unique: str) -> None:
    """What the operator does for a new Connector, and again for an existing one."""
    creator = BatchedTopicCreator(admin)
    config = {"bootstrap.servers": bootstrap}
    connector = f"ns/units-{unique}"
    assert control.ensure_units_topic(config, connector, 3, admin=admin, likely_new=True,
                                      creator=creator) == 3
    # An existing topic: created again is "already there", then grown to what is asked.
    assert control.ensure_units_topic(config, connector, 5, admin=admin, likely_new=True,
                                      creator=creator) == 5
    # Big enough already: nothing to do (the count read may lag the growth just made).
    assert control.ensure_units_topic(config, connector, 4, admin=admin, creator=creator) >= 4
    topic = protocol.units_topic(connector)
    wait_for(lambda: partitions(admin, [topic])[topic] == 5, 30, "the grown units topic")
