"""The records that flow through Ferry: what source tasks emit and what sink tasks receive.

Records are frozen, slotted dataclasses: cheap to create, safe to share between stages.
A transform returns a new record with :func:`dataclasses.replace` (or :meth:`replace`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ferry.api.schema import Schema

Header = tuple[str, Any]
"""A record header: a key and a value (bytes as read from Kafka, or a converted value)."""

Headers = tuple[Header, ...]

R = TypeVar("R", "SourceRecord", "SinkRecord")


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceRecord:
    """A record read from an external system, with the position it was read from.

    ``source_partition`` names a stream in the external system (a file, a table) and
    ``source_offset`` the position within it; after the broker acknowledged the record,
    the runtime stores the offset so a restarted task resumes from it.
    """

    source_partition: Mapping[str, Any]
    source_offset: Mapping[str, Any]
    topic: str
    value: Any
    key: Any = None
    partition: int | None = None
    headers: Headers = ()
    timestamp: int | None = None
    key_schema: Schema | None = None
    value_schema: Schema | None = None

    def replace(self, **changes: Any) -> SourceRecord:
        """A copy with ``changes`` applied (as :func:`dataclasses.replace`; made fast below)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True, kw_only=True)
class SinkRecord:
    """A record consumed from Kafka and handed to a sink task.

    ``topic``/``partition`` may be rewritten by transforms (RegexRouter);
    ``original_topic``/``original_partition``/``offset`` always name where it was read,
    which is what offsets are committed against.
    """

    topic: str
    partition: int
    offset: int
    value: Any
    key: Any = None
    headers: Headers = ()
    timestamp: int | None = None
    key_schema: Schema | None = None
    value_schema: Schema | None = None
    original_topic: str = ""
    original_partition: int = -1

    def __post_init__(self) -> None:
        if not self.original_topic:
            object.__setattr__(self, "original_topic", self.topic)
        if self.original_partition < 0:
            object.__setattr__(self, "original_partition", self.partition)

    def replace(self, **changes: Any) -> SinkRecord:
        """A copy with ``changes`` applied (as :func:`dataclasses.replace`; made fast below)."""
        return dataclasses.replace(self, **changes)


ConnectRecord = SourceRecord | SinkRecord
"""Either kind of record: what transforms and predicates see."""

class _Unset:
    """Marks a ``replace`` argument that was not given (``None`` is a valid field value)."""

    def __repr__(self) -> str:
        return "<unchanged>"


_UNSET: Any = _Unset()

# SinkRecord's __post_init__, inlined into the generated __init__ and replace below.
_SINK_POST_INIT = (
    "    if not original_topic:\n"
    "        original_topic = topic\n"
    "    if original_partition < 0:\n"
    "        original_partition = partition\n"
)


def _speed_up(cls: type[SourceRecord] | type[SinkRecord], post_init: str = "") -> None:
    """Replace the dataclass ``__init__`` and ``replace`` of ``cls`` with faster equivalents.

    A frozen dataclass's ``__init__`` stores each field through ``object.__setattr__`` (and
    ``replace`` goes through :func:`dataclasses.replace`, which rebuilds the keyword
    arguments), several µs per record on CPython 3.11. These versions, generated once per
    class with the stores unrolled, write the slots through their descriptors instead, as
    :mod:`ferry.connectors._fast` does: same keyword-only signature, defaults, errors for
    missing or unknown arguments, and ``post_init`` (the class's ``__post_init__`` as code on
    the argument names) applied the same way. Records stay frozen to callers: assignment
    still raises :class:`dataclasses.FrozenInstanceError`.
    """
    fields = [f for f in dataclasses.fields(cls) if f.init]
    assert all(f.default_factory is dataclasses.MISSING for f in fields)
    env: dict[str, Any] = {"new": object.__new__, "cls": cls, "UNSET": _UNSET}
    params = []
    for f in fields:
        env[f"set_{f.name}"] = getattr(cls, f.name).__set__
        env[f"get_{f.name}"] = getattr(cls, f.name).__get__
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            env[f"default_{f.name}"] = f.default
            params.append(f"{f.name}=default_{f.name}")
    stores = "".join(f"    set_{f.name}(self, {f.name})\n" for f in fields)
    init = f"def __init__(self, *, {', '.join(params)}):\n{post_init}{stores}"
    # replace: every argument defaults to UNSET, meaning "keep this record's value".
    keep = "".join(f"    if {f.name} is UNSET:\n        {f.name} = get_{f.name}(record)\n"
                   for f in fields)
    replace = (f"def replace(record, /, *, {', '.join(f'{f.name}=UNSET' for f in fields)}):\n"
               f"{keep}{post_init}    self = new(cls)\n{stores}    return self\n")
    exec(compile(init + replace, f"<ferry.api.records.{cls.__name__}>", "exec"), env)
    for name, doc in (("__init__", None), ("replace", cls.replace.__doc__)):
        function = env[name]
        function.__qualname__ = f"{cls.__qualname__}.{name}"
        function.__module__ = cls.__module__
        function.__doc__ = doc
        setattr(cls, name, function)


_speed_up(SourceRecord)
_speed_up(SinkRecord, _SINK_POST_INIT)


@dataclass(frozen=True, slots=True)
class TopicPartition:
    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}-{self.partition}"
