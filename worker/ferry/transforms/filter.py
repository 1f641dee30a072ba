"""Filter: drop every record it sees; combine it with a predicate to drop some."""

from __future__ import annotations

from ferry.api.records import R
from ferry.api.transform import Transformation


class Filter(Transformation[R]):
    """Drop records (Kafka Connect's ``Filter``).

    Example (drop tombstones)::

        transforms=dropTombstones
        transforms.dropTombstones.type=org.apache.kafka.connect.transforms.Filter
        transforms.dropTombstones.predicate=isTombstone
        predicates=isTombstone
        predicates.isTombstone.type=org.apache.kafka.connect.transforms.predicates.RecordIsTombstone
    """

    def apply(self, record: R) -> R | None:
        return None
