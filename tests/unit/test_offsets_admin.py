"""The pure half of ``ferry.offsets_admin``: kinds, the stopped check, bodies, plans, lag."""

from __future__ import annotations

from typing import Any

import pytest

from ferry import protocol
from ferry.offsets_admin import (
    SINK,
    SOURCE,
    ConnectorOffsets,
    InvalidOffsets,
    NotStopped,
    PartitionLag,
    SinkOffset,
    SourceOffset,
    UnknownConnector,
    check_stopped,
    configured_topics,
    connector_kind,
    lag_by_topic,
    parse_offsets,
    partition_lags,
    plan_sink_alter,
    status_from_latest,
)

CID = "ns/conn"


def record(state: str = "stopped") -> protocol.ConnectorRecord:
    return protocol.ConnectorRecord({"connector.class": "DataGen"}, 1, state, 1)


def unit(state: str) -> protocol.UnitStatusRecord:
    return protocol.UnitStatusRecord(state=state, worker_id="w")


def sink_entry(topic: str, partition: int, offset: int | None) -> dict[str, Any]:
    return {"partition": {"kafka_topic": topic, "kafka_partition": partition},
            "offset": None if offset is None else {"kafka_offset": offset}}


def test_kind_from_the_resolver_first_then_the_topics_rule() -> None:
    assert connector_kind({"connector.class": "X", "topics": "a"}) == SINK
    assert connector_kind({"connector.class": "X", "topics.regex": "a.*"}) == SINK
    assert connector_kind({"connector.class": "X", "topic": "a"}) == SOURCE
    assert connector_kind({"connector.class": "X", "topics": " "}) == SOURCE
    assert connector_kind({"connector.class": "Mirror", "topics": "a"},
                          lambda cls: SOURCE if cls == "Mirror" else None) == SOURCE
    assert connector_kind({"connector.class": "Unknown", "topics": "a"}, lambda _c: None) == SINK


@pytest.mark.parametrize("connector,tasks", [(None, {}), ("STOPPED", {0: "STOPPED"}),
                                             ("UNASSIGNED", {0: "FAILED", 1: "UNASSIGNED"})])
def test_stopped_connectors_may_change_offsets(connector: str | None,
                                               tasks: dict[int, str]) -> None:
    status = protocol.ConnectorStatus(connector=unit(connector) if connector else None,
                                      tasks={i: unit(s) for i, s in tasks.items()})
    check_stopped(CID, record(), status)
    check_stopped(CID, record(), None)


def test_refused_unless_stopped_everywhere() -> None:
    with pytest.raises(UnknownConnector, match="ns/conn is unknown"):
        check_stopped(CID, None, None)
    for state in ("running", "paused"):
        with pytest.raises(NotStopped, match=f"is {state}: offsets can only be changed"):
            check_stopped(CID, record(state), None)
    status = protocol.ConnectorStatus(connector=unit("STOPPED"),
                                      tasks={0: unit("STOPPED"), 1: unit("RUNNING")})
    with pytest.raises(NotStopped, match="task 1 is RUNNING"):
        check_stopped(CID, record(), status)
    with pytest.raises(NotStopped, match="the connector is RESTARTING"):
        check_stopped(CID, record(), protocol.ConnectorStatus(connector=unit("RESTARTING")))
    with pytest.raises(NotStopped, match=r"ferry-sink\.ns\.conn still has 2 active member"):
        check_stopped(CID, record(), None, group_members=2)


def test_parse_source_and_sink_bodies() -> None:
    source = parse_offsets({"offsets": [{"partition": {"file": "a"}, "offset": {"pos": 3}},
                                        {"partition": {"file": "b"}, "offset": None},
                                        {"partition": {"file": "c"}}]}, SOURCE)
    assert source == [SourceOffset({"file": "a"}, {"pos": 3}), SourceOffset({"file": "b"}, None),
                      SourceOffset({"file": "c"}, None)]
    sink = parse_offsets([sink_entry("t", 0, 5), sink_entry("t", 1, None)], SINK)
    assert sink == [SinkOffset("t", 0, 5), SinkOffset("t", 1, None)]
    # A listing (with type and lag) goes back in as it is.
    listing = ConnectorOffsets(CID, SINK, sink=(SinkOffset("t", 0, 5),),
                               lag=(PartitionLag("t", 0, 5, 9, 4),)).to_json()
    assert parse_offsets(listing, SINK) == [SinkOffset("t", 0, 5)]


@pytest.mark.parametrize("body,kind,words", [
    ({}, SOURCE, "at least one entry"),
    ({"offsets": []}, SINK, "at least one entry"),
    ({"offsets": ["x"]}, SOURCE, "must be an object"),
    ({"offsets": [{"partition": {"f": 1}, "offest": {}}]}, SOURCE, "unknown field(s) offest"),
    ({"offsets": [{"partition": {}, "offset": {}}]}, SOURCE, "non-empty object"),
    ({"offsets": [{"partition": {"f": 1}, "offset": 3}]}, SOURCE, "object or null"),
    ({"offsets": [sink_entry("t", 0, 1)]}, SOURCE, "looks like a sink offset"),
    ({"offsets": [{"partition": {"file": "a"}, "offset": {"pos": 1}}]}, SINK,
     "exactly kafka_topic and kafka_partition"),
    ({"offsets": [sink_entry("t", -1, 1)]}, SINK, "kafka_partition must be an integer"),
    ({"offsets": [sink_entry("t", 0, -5)]}, SINK, "kafka_offset must be an integer"),
    ({"offsets": [{"partition": {"kafka_topic": "t", "kafka_partition": 0},
                   "offset": {"kafka_offset": "7"}}]}, SINK, "kafka_offset must be an integer"),
    ({"offsets": [sink_entry("t", 0, 1), sink_entry("t", 0, 2)]}, SINK, "more than once"),
])
def test_bad_bodies_say_what_is_wrong(body: Any, kind: Any, words: str) -> None:
    with pytest.raises(InvalidOffsets) as error:
        parse_offsets(body, kind)
    assert words in str(error.value)


def test_sink_plan_deletes_the_group_only_when_exact() -> None:
    committed = {("t", 0): 100, ("t", 1): 100}
    marks = {("t", 0): (10, 110), ("t", 1): (0, 100)}
    # Every committed partition is touched: delete the group, commit the set ones again.
    plan = plan_sink_alter([SinkOffset("t", 0, 50), SinkOffset("t", 1, None)], committed, marks)
    assert plan.delete_group and plan.commit == (SinkOffset("t", 0, 50),)
    # Partition 1 would lose its offset otherwise: null becomes the reset position.
    plan = plan_sink_alter([SinkOffset("t", 0, None)], committed, marks)
    assert not plan.delete_group and plan.commit == (SinkOffset("t", 0, 10),)
    plan = plan_sink_alter([SinkOffset("t", 0, None)], committed, marks, "latest")
    assert plan.commit == (SinkOffset("t", 0, 110),)
    # Only sets: just commit them.
    plan = plan_sink_alter([SinkOffset("t", 1, 3)], committed, marks)
    assert not plan.delete_group and plan.commit == (SinkOffset("t", 1, 3),)
    # Nothing committed: nothing to delete.
    plan = plan_sink_alter([SinkOffset("t", 0, None)], {}, marks)
    assert not plan.delete_group and plan.commit == ()


def test_lag_per_partition_and_topic() -> None:
    lags = partition_lags({("a", 0): 5, ("a", 1): 10, ("b", 0): 2},
                          {("a", 0): (0, 9), ("a", 1): (0, 10), ("b", 0): (4, 7), ("c", 0): (3, 8)})
    assert [(lag.topic, lag.partition, lag.committed, lag.lag) for lag in lags] == [
        ("a", 0, 5, 4), ("a", 1, 10, 0), ("b", 0, 2, 3), ("c", 0, None, 5)]
    assert lag_by_topic(lags) == {"a": 4, "b": 3, "c": 5}
    assert configured_topics({"topics": "b, a,,a"}) == ["a", "b"]
    assert configured_topics({"topics.regex": "x.*"}) == []


def test_listing_json_is_kafka_connects_shape() -> None:
    source = ConnectorOffsets(CID, SOURCE, source=(SourceOffset({"task": 0}, {"seq": 9}),))
    assert source.to_json() == {"offsets": [{"partition": {"task": 0}, "offset": {"seq": 9}}],
                                "type": "source"}
    sink = ConnectorOffsets(CID, SINK, sink=(SinkOffset("t", 0, 5),),
                            lag=(PartitionLag("t", 0, 5, 9, 4), PartitionLag("t", 1, None, 2, 2)))
    assert sink.to_json() == {
        "offsets": [{"partition": {"kafka_topic": "t", "kafka_partition": 0},
                     "offset": {"kafka_offset": 5}}],
        "type": "sink",
        "lag": {"topics": {"t": 6}, "partitions": [
            {"kafka_topic": "t", "kafka_partition": 0, "committed": 5, "end": 9, "lag": 4},
            {"kafka_topic": "t", "kafka_partition": 1, "committed": None, "end": 2, "lag": 2}]}}


def test_status_from_the_latest_records() -> None:
    latest = {protocol.connector_key(CID): unit("STOPPED").encode(),
              protocol.task_status_key(CID, 0): unit("RUNNING").encode(),
              protocol.task_status_key(CID, 1): None,
              protocol.task_status_key("ns/other", 0): unit("RUNNING").encode()}
    status = status_from_latest(CID, latest)
    assert status is not None and status.connector is not None
    assert status.connector.state == "STOPPED" and list(status.tasks) == [0]
    assert status_from_latest("ns/none", latest) is None
