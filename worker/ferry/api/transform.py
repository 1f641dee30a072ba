"""Single message transforms and predicates: the plugin contract.

Configured with Kafka Connect's keys (``transforms=a``, ``transforms.a.type=...``,
``transforms.a.predicate=p``, ``transforms.a.negate=true``, ``predicates.p.type=...``).
The runtime calls ``configure`` once, then ``apply``/``test`` for every record on the
task's thread, then ``close``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Generic

from ferry.api.config import ConfigDef
from ferry.api.records import R


class Transformation(ABC, Generic[R]):
    """Turns one record into another, or into ``None`` to drop it.

    Subclasses declare ``config_def`` and implement :meth:`apply`. A transform must not
    mutate the record it gets: records are frozen; return ``record.with_value(schema, value)``
    (or ``with_key``, or ``record.replace(field=...)`` for anything else).
    """

    config_def: ClassVar[ConfigDef] = ConfigDef()
    version: ClassVar[str] = "0.1.0"

    def configure(self, config: Mapping[str, Any]) -> None:
        """Receive the transform's own keys (``transforms.<alias>.`` stripped)."""

    @abstractmethod
    def apply(self, record: R) -> R | None:
        """The transformed record, or None to filter it out."""

    def close(self) -> None:
        """Release resources; called once when the task stops."""


class Predicate(ABC, Generic[R]):
    """A condition on a record that decides whether a transform applies."""

    config_def: ClassVar[ConfigDef] = ConfigDef()
    version: ClassVar[str] = "0.1.0"

    def configure(self, config: Mapping[str, Any]) -> None:
        """Receive the predicate's own keys (``predicates.<alias>.`` stripped)."""

    @abstractmethod
    def test(self, record: R) -> bool:
        """True when the record matches."""

    def close(self) -> None:
        """Release resources; called once when the task stops."""
