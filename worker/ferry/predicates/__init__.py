"""Built-in predicates, under their short, Ferry and Kafka Connect names.

``BUILTINS`` maps ``TopicNameMatches``, ``ferry.predicates.TopicNameMatches`` and
``org.apache.kafka.connect.transforms.predicates.TopicNameMatches`` (and likewise for the
others) to the class.
"""

from __future__ import annotations

from ferry.predicates.has_header_key import HasHeaderKey
from ferry.predicates.record_is_tombstone import RecordIsTombstone
from ferry.predicates.topic_name_matches import TopicNameMatches

BUILTINS: dict[str, type] = {}
for _cls in (TopicNameMatches, HasHeaderKey, RecordIsTombstone):
    BUILTINS[_cls.__name__] = _cls
    BUILTINS[f"ferry.predicates.{_cls.__name__}"] = _cls
    BUILTINS[f"org.apache.kafka.connect.transforms.predicates.{_cls.__name__}"] = _cls

__all__ = ["BUILTINS", "HasHeaderKey", "RecordIsTombstone", "TopicNameMatches"]
