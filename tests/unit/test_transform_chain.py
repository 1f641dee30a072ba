"""TransformationChain: Kafka Connect's transforms/predicates keys, ordering, errors."""

from __future__ import annotations

from typing import Any

import pytest

from ferry.api.errors import ConfigError
from ferry.api.records import SinkRecord, SourceRecord
from ferry.predicates import BUILTINS as PREDICATES
from ferry.transforms import BUILTINS as TRANSFORMS
from ferry.transforms.chain import TransformationChain


def resolve(kind: str, name: str) -> type[Any]:
    return {"transform": TRANSFORMS, "predicate": PREDICATES}[kind][name]


def chain(**config: Any) -> TransformationChain:
    return TransformationChain.from_config(
        {k.replace("__", "."): v for k, v in config.items()}, resolve)


def record(**fields: Any) -> SourceRecord:
    return SourceRecord(**({"source_partition": {}, "source_offset": {}, "topic": "orders",
                            "value": {"id": 1}, "timestamp": 0} | fields))


KAFKA_CONFIG = {
    "transforms": "dropTombstones,route,insert",
    "transforms.dropTombstones.type": "org.apache.kafka.connect.transforms.Filter",
    "transforms.dropTombstones.predicate": "isTombstone",
    "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
    "transforms.route.regex": "(.*)-raw",
    "transforms.route.replacement": "$1",
    "transforms.route.predicate": "isAudit",
    "transforms.route.negate": "true",
    "transforms.insert.type": "org.apache.kafka.connect.transforms.InsertField$Value",
    "transforms.insert.topic.field": "topic",
    "predicates": "isTombstone,isAudit",
    "predicates.isTombstone.type":
        "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
    "predicates.isAudit.type": "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
    "predicates.isAudit.pattern": "audit-.*",
}


def test_kafka_connect_config_applies_in_order_with_predicates() -> None:
    c = TransformationChain.from_config(KAFKA_CONFIG, resolve)
    assert [s.alias for s in c.stages] == ["dropTombstones", "route", "insert"]
    out = c.apply(record(topic="orders-raw"))
    assert out is not None
    assert (out.topic, out.value) == ("orders", {"id": 1, "topic": "orders"})
    # negate=true: the route is skipped for topics that DO match the predicate.
    audit = c.apply(record(topic="audit-raw"))
    assert audit is not None and audit.topic == "audit-raw"


def test_filter_with_predicate_drops_only_matching_records() -> None:
    c = TransformationChain.from_config(KAFKA_CONFIG, resolve)
    assert c.apply(record(value=None)) is None
    assert c.apply(record(value={"id": 2})) is not None


def test_filter_with_negated_predicate_keeps_only_matching() -> None:
    c = chain(transforms="keep", transforms__keep__type="Filter",
              transforms__keep__predicate="mine", transforms__keep__negate=True,
              predicates="mine", predicates__mine__type="TopicNameMatches",
              predicates__mine__pattern="mine-.*")
    assert c.apply(record(topic="mine-1")) is not None
    assert c.apply(record(topic="other")) is None


def test_chain_works_on_sink_records() -> None:
    c = chain(transforms="r", transforms__r__type="RegexRouter", transforms__r__regex="a",
              transforms__r__replacement="b")
    out = c.apply(SinkRecord(topic="a", partition=0, offset=9, value=1))
    assert out is not None and (out.topic, out.original_topic) == ("b", "a")


def test_empty_chain_returns_the_record() -> None:
    r = record()
    assert chain().apply(r) is r


def test_config_errors_one_message_per_key() -> None:
    with pytest.raises(ConfigError) as err:
        chain(transforms="a,b,c,d", transforms__a__type="Foo",
              transforms__b__type="RegexRouter",
              transforms__c__type="InsertField$Value", transforms__c__predicate="nope",
              transforms__d__type="Filter", transforms__d__negate="maybe")
    problems = err.value.problems
    assert problems["transforms.a.type"] == "unknown transform 'Foo'"
    assert problems["transforms.b.regex"].startswith("required")
    assert problems["transforms.b.replacement"].startswith("required")
    assert problems["transforms.c.predicate"] == "predicate 'nope' is not listed in 'predicates'"
    assert "transforms.d.negate" in problems
    assert "transforms.a.type: unknown transform 'Foo'" in str(err.value)


def test_config_errors_for_predicates_and_missing_type() -> None:
    with pytest.raises(ConfigError) as err:
        chain(transforms="a", predicates="p,q", predicates__p__type="TopicNameMatches",
              predicates__q__type="Nope")
    problems = err.value.problems
    assert problems["transforms.a.type"] == "required"
    assert problems["predicates.p.pattern"].startswith("required")
    assert problems["predicates.q.type"] == "unknown predicate 'Nope'"


def test_transform_own_config_errors_are_prefixed() -> None:
    with pytest.raises(ConfigError) as err:
        chain(transforms="r", transforms__r__type="ReplaceField$Value",
              transforms__r__renames="bad")
    assert err.value.problems == {"transforms.r.renames": "Invalid rename mapping: bad"}


def test_wrong_kind_of_plugin_is_reported() -> None:
    with pytest.raises(ConfigError) as err:
        TransformationChain.from_config(
            {"transforms": "a", "transforms.a.type": "RecordIsTombstone"},
            lambda kind, name: PREDICATES[name])
    assert err.value.problems == {"transforms.a.type": "'RecordIsTombstone' is not a transform"}


def test_duplicate_alias() -> None:
    with pytest.raises(ConfigError) as err:
        chain(transforms="a,a", transforms__a__type="Filter")
    assert "transforms" in err.value.problems


def test_close_closes_each_plugin_once() -> None:
    closed: list[str] = []

    class Tracked(TRANSFORMS["Filter"]):  # type: ignore[misc, valid-type]
        def close(self) -> None:
            closed.append("t")

    def tracking(kind: str, name: str) -> type[Any]:
        return Tracked if name == "Tracked" else resolve(kind, name)

    c = TransformationChain.from_config(
        {"transforms": "a,b", "transforms.a.type": "Tracked", "transforms.b.type": "Tracked"},
        tracking)
    c.close()
    assert closed == ["t", "t"]


# Consecutive built-in transforms of one side run as one step that copies the record once;
# the result must be what applying each transform in turn gives.
MIXED_SIDES = {
    "transforms": "hoist,insert,keyHoist,route,rename,mask",
    "transforms.hoist.type": "org.apache.kafka.connect.transforms.HoistField$Value",
    "transforms.hoist.field": "line",
    "transforms.insert.type": "org.apache.kafka.connect.transforms.InsertField$Value",
    "transforms.insert.topic.field": "topic",
    "transforms.keyHoist.type": "org.apache.kafka.connect.transforms.HoistField$Key",
    "transforms.keyHoist.field": "k",
    "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
    "transforms.route.regex": "(.*)",
    "transforms.route.replacement": "routed-$1",
    "transforms.rename.type": "org.apache.kafka.connect.transforms.ReplaceField$Value",
    "transforms.rename.renames": "line:text,topic:origin",
    "transforms.mask.type": "org.apache.kafka.connect.transforms.MaskField$Value",
    "transforms.mask.fields": "text",
}


@pytest.mark.parametrize("value", ["a line", None])
def test_fused_steps_give_what_each_transform_in_turn_gives(value: object) -> None:
    fused = TransformationChain.from_config(MIXED_SIDES, resolve)
    one_by_one = record(value=value, key="id-1")
    for stage in fused.stages:
        one_by_one = stage.transform.apply(one_by_one)
    result = fused.apply(record(value=value, key="id-1"))
    assert result == one_by_one
    assert result is not None and result.topic == "routed-orders"
    if value is not None:
        # InsertField saw the topic before RegexRouter: the fusion stops at RegexRouter.
        assert result.value == {"text": "", "origin": "orders"}
    assert result.key == {"k": "id-1"}
