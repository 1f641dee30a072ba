"""Built-in predicates on source and sink records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ferry.api.errors import ConfigError
from ferry.api.records import SinkRecord, SourceRecord
from ferry.predicates import BUILTINS, HasHeaderKey, RecordIsTombstone, TopicNameMatches

Record = SourceRecord | SinkRecord


def source(**fields: Any) -> SourceRecord:
    return SourceRecord(**({"source_partition": {}, "source_offset": {}, "topic": "orders",
                            "value": 1} | fields))


def sink(**fields: Any) -> SinkRecord:
    return SinkRecord(**({"topic": "orders", "partition": 0, "offset": 0, "value": 1} | fields))


@pytest.fixture(params=[source, sink], ids=["source", "sink"])
def make(request: pytest.FixtureRequest) -> Callable[..., Record]:
    factory: Callable[..., Record] = request.param
    return factory


def test_names() -> None:
    assert BUILTINS["TopicNameMatches"] is TopicNameMatches
    assert BUILTINS["ferry.predicates.HasHeaderKey"] is HasHeaderKey
    assert BUILTINS["org.apache.kafka.connect.transforms.predicates.RecordIsTombstone"] \
        is RecordIsTombstone
    assert len(BUILTINS) == 9


def test_topic_name_matches_whole_name(make: Callable[..., Record]) -> None:
    p = TopicNameMatches()
    p.configure({"pattern": "orders-.*"})
    assert p.test(make(topic="orders-eu"))
    assert not p.test(make(topic="orders"))
    assert not p.test(make(topic="x-orders-eu"))  # matches() anchors both ends
    assert p.test(make(topic="orders-eu"))  # cached answer stays right


def test_topic_name_matches_java_named_groups(make: Callable[..., Record]) -> None:
    p = TopicNameMatches()
    p.configure({"pattern": "(?<env>prod|dev)-.+"})
    assert p.test(make(topic="prod-a")) and not p.test(make(topic="qa-a"))


def test_topic_name_matches_config_errors() -> None:
    with pytest.raises(ConfigError) as err:
        TopicNameMatches().configure({})
    assert list(err.value.problems) == ["pattern"]
    with pytest.raises(ConfigError) as err:
        TopicNameMatches().configure({"pattern": "(["})
    assert err.value.problems["pattern"].startswith("not a valid regular expression")


def test_has_header_key(make: Callable[..., Record]) -> None:
    p = HasHeaderKey()
    p.configure({"name": "trace"})
    assert p.test(make(headers=(("a", b"1"), ("trace", None))))
    assert not p.test(make(headers=(("a", b"1"),)))
    assert not p.test(make())
    with pytest.raises(ConfigError):
        HasHeaderKey().configure({"name": ""})


def test_record_is_tombstone(make: Callable[..., Record]) -> None:
    p = RecordIsTombstone()
    assert p.test(make(value=None, key="k"))
    assert not p.test(make(value={"a": 1}))
    assert not p.test(make(value=0))
