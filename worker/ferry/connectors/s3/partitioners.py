"""Partitioners: which directory a record's object goes to. Pure: no I/O.

Kafka Connect's storage partitioners, with the same directory names:

* default: ``<topic>/partition=<kafka partition>``
* field: ``<topic>/<field>=<value>[/<field>=<value>...]`` from fields of the record value
* time: ``<topic>/<path.format of the record's time>``, the time floored to
  ``partition.duration.ms`` in ``timezone``. ``path.format`` is a Joda-Time pattern as in
  Kafka Connect (``'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH``): quoted text is literal and
  ``YYYY``/``yyyy``, ``YY``, ``MM``, ``dd``, ``HH``, ``mm``, ``ss`` are fields.

A record's time comes from its :class:`TimestampExtractor`: the Kafka record's timestamp
(``Record``, the default here), a field of the value (``RecordField``: epoch milliseconds or
an ISO-8601 string), or the wall clock (``Wallclock``, which makes replays land elsewhere).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from ferry.api import DataError, SinkRecord

_JODA_FIELDS = {"YYYY": "%Y", "yyyy": "%Y", "YY": "%y", "yy": "%y", "MM": "%m", "dd": "%d",
                "HH": "%H", "mm": "%M", "ss": "%S"}


def joda_to_strftime(pattern: str) -> str:
    """Translate a Joda-Time pattern into a ``strftime`` format; ValueError on unknown fields."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            end = pattern.find("'", i + 1)
            if end < 0:
                raise ValueError(f"unterminated quote in path.format {pattern!r}")
            out.append(pattern[i + 1:end].replace("%", "%%") if end > i + 1 else "'")
            i = end + 1
        elif ch.isalpha():
            j = i
            while j < len(pattern) and pattern[j] == ch:
                j += 1
            token = pattern[i:j]
            if token not in _JODA_FIELDS:
                raise ValueError(f"unsupported field {token!r} in path.format {pattern!r}; "
                                 f"use {', '.join(_JODA_FIELDS)} or quote literal text")
            out.append(_JODA_FIELDS[token])
            i = j
        else:
            out.append("%%" if ch == "%" else ch)
            i += 1
    return "".join(out)


TimestampExtractor = Callable[[SinkRecord], int | None]
"""The record's time in epoch milliseconds, or None when it has none."""


def record_time(record: SinkRecord) -> int | None:
    return record.timestamp


def wallclock_time(record: SinkRecord) -> int | None:
    return time.time_ns() // 1_000_000


def field_time(field: str) -> Callable[[SinkRecord], int | None]:
    def extract(record: SinkRecord) -> int | None:
        value = record.value
        if not isinstance(value, Mapping) or value.get(field) is None:
            raise DataError(f"record {record.topic}-{record.partition}@{record.offset} has no "
                            f"timestamp field {field!r}")
        raw = value[field]
        if isinstance(raw, dt.datetime):
            return int(raw.timestamp() * 1000)
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return int(raw)
        try:
            parsed = dt.datetime.fromisoformat(str(raw))
        except ValueError:
            raise DataError(f"timestamp field {field!r} is neither epoch milliseconds nor "
                            f"ISO-8601: {raw!r}") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return int(parsed.timestamp() * 1000)

    return extract


def timestamp_extractor(name: str, field: str) -> TimestampExtractor:
    kind = name.rsplit(".", 1)[-1].lower().removesuffix("timestampextractor")
    if kind == "record":
        return record_time
    if kind == "wallclock":
        return wallclock_time
    if kind == "recordfield":
        return field_time(field)
    raise ValueError(f"unknown timestamp.extractor {name!r}")


class Partitioner(Protocol):
    """Maps a record to its directory (which starts with the topic)."""

    def encode(self, record: SinkRecord, timestamp: int | None) -> str: ...

    def single_directory(self) -> bool:
        """True when all objects of one Kafka partition share one directory."""
        ...


@dataclass(frozen=True, slots=True)
class DefaultPartitioner:
    delim: str = "/"

    def encode(self, record: SinkRecord, timestamp: int | None) -> str:
        return f"{record.topic}{self.delim}partition={record.partition}"

    def single_directory(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class FieldPartitioner:
    fields: tuple[str, ...]
    delim: str = "/"

    def encode(self, record: SinkRecord, timestamp: int | None) -> str:
        value = record.value
        if not isinstance(value, Mapping):
            raise DataError(f"the field partitioner needs struct or map values; record "
                            f"{record.topic}-{record.partition}@{record.offset} has "
                            f"{type(value).__name__}")
        parts = [record.topic]
        for name in self.fields:
            if name not in value:
                raise DataError(f"record {record.topic}-{record.partition}@{record.offset} "
                                f"has no field {name!r} to partition by")
            parts.append(f"{name}={_path_value(value[name])}")
        return self.delim.join(parts)

    def single_directory(self) -> bool:
        return False


def _path_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return re.sub(r"[/\\]", "_", str(value))


@dataclass(frozen=True)
class TimeBasedPartitioner:
    path_format: str
    duration_ms: int
    timezone: str
    delim: str = "/"
    _format: str = field(init=False, repr=False, default="")
    _zone: dt.tzinfo = field(init=False, repr=False, default=dt.UTC)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_format", joda_to_strftime(self.path_format))
        object.__setattr__(self, "_zone", ZoneInfo(self.timezone) if self.timezone else dt.UTC)

    def encode(self, record: SinkRecord, timestamp: int | None) -> str:
        if timestamp is None:
            raise DataError(f"record {record.topic}-{record.partition}@{record.offset} has no "
                            "timestamp for the time-based partitioner")
        zone = self._zone
        moment = dt.datetime.fromtimestamp(timestamp / 1000, tz=zone)
        if self.duration_ms > 0:
            # Floor in local time, as Kafka Connect does (days start at local midnight).
            offset_ms = int((moment.utcoffset() or dt.timedelta()).total_seconds() * 1000)
            local = timestamp + offset_ms
            floored = local - local % self.duration_ms - offset_ms
            moment = dt.datetime.fromtimestamp(floored / 1000, tz=zone)
        return f"{record.topic}{self.delim}{moment.strftime(self._format)}"

    def single_directory(self) -> bool:
        return False


_NAMES = {"default": "default", "defaultpartitioner": "default",
          "field": "field", "fieldpartitioner": "field",
          "time": "time", "timebased": "time", "timebasedpartitioner": "time",
          "daily": "daily", "dailypartitioner": "daily",
          "hourly": "hourly", "hourlypartitioner": "hourly"}
PARTITIONER_NAMES = tuple(_NAMES)


def partitioner_kind(name: str) -> str | None:
    return _NAMES.get(name.rsplit(".", 1)[-1].lower())


def build_partitioner(name: str, *, fields: list[str], path_format: str, duration_ms: int,
                      timezone: str, delim: str = "/") -> Partitioner:
    kind = partitioner_kind(name)
    if kind == "default":
        return DefaultPartitioner(delim)
    if kind == "field":
        if not fields:
            raise ValueError("the field partitioner needs partition.field.name")
        return FieldPartitioner(tuple(fields), delim)
    if kind == "daily":
        return TimeBasedPartitioner("'year'=YYYY/'month'=MM/'day'=dd", 86_400_000, timezone,
                                    delim)
    if kind == "hourly":
        return TimeBasedPartitioner("'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH", 3_600_000,
                                    timezone, delim)
    if kind == "time":
        if not path_format:
            raise ValueError("the time-based partitioner needs path.format")
        return TimeBasedPartitioner(path_format, duration_ms, timezone, delim)
    raise ValueError(f"unknown partitioner.class {name!r}")
