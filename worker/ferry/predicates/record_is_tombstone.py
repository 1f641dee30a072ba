"""RecordIsTombstone: true when the record's value is null (a deletion marker)."""

from __future__ import annotations

from ferry.api.records import R
from ferry.api.transform import Predicate


class RecordIsTombstone(Predicate[R]):
    """Kafka Connect's ``RecordIsTombstone``.

    Example::

        predicates=isTombstone
        predicates.isTombstone.type=org.apache.kafka.connect.transforms.predicates.RecordIsTombstone
    """

    def test(self, record: R) -> bool:
        return record.value is None
