"""TimestampRouter: route each record to a topic named after its topic and timestamp.

Kafka Connect's ``TimestampRouter``: ``topic.format`` replaces ``${topic}`` and
``${timestamp}``; ``timestamp.format`` is a Java ``SimpleDateFormat`` pattern, evaluated in
UTC. The pattern is compiled once to strftime pieces; records in the same second reuse the
last formatted text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from ferry.api.config import ConfigDef, ConfigType, Importance
from ferry.api.errors import ConfigError, DataError
from ferry.api.records import R
from ferry.api.transform import Transformation

Piece = Callable[[dt.datetime], str]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# SimpleDateFormat letters (by run length) to strftime directives or small functions.
_STRFTIME: dict[tuple[str, int], str] = {
    ("y", 2): "%y", ("M", 2): "%m", ("M", 3): "%b", ("d", 2): "%d", ("H", 2): "%H",
    ("h", 2): "%I", ("m", 2): "%M", ("s", 2): "%S", ("E", 3): "%a", ("E", 4): "%A",
    ("M", 4): "%B", ("a", 1): "%p", ("D", 3): "%j", ("Z", 1): "+0000", ("z", 1): "UTC",
    ("X", 1): "Z",
}
_UNPADDED: dict[str, Callable[[dt.datetime], int]] = {
    "M": lambda t: t.month, "d": lambda t: t.day, "H": lambda t: t.hour,
    "h": lambda t: t.hour % 12 or 12, "m": lambda t: t.minute, "s": lambda t: t.second,
    "D": lambda t: t.timetuple().tm_yday, "k": lambda t: t.hour or 24,
}
_TOKEN = re.compile(r"'(?:[^']|'')*'|([A-Za-z])\1*|[^A-Za-z']+")


def _letter_piece(letter: str, count: int) -> str | Piece:
    if letter == "y":
        return "%y" if count == 2 else "%Y"
    if letter == "S":
        return lambda t: f"{t.microsecond // 1000:0{count}d}"
    if letter in ("E", "M") and count > 4:
        count = 4
    if letter in ("z", "Z", "X", "a"):
        count = 1
    directive = _STRFTIME.get((letter, count))
    if directive is not None:
        return directive
    getter = _UNPADDED.get(letter)
    if getter is not None:
        return lambda t: str(getter(t)).rjust(count, "0")
    if letter == "E":
        return "%a"
    raise ValueError(f"unsupported pattern letter {letter!r}")


def compile_java_date_format(pattern: str) -> list[str | Piece]:
    """A SimpleDateFormat pattern as strftime fragments and functions, in order."""
    pieces: list[str | Piece] = []
    for match in _TOKEN.finditer(pattern):
        text = match.group(0)
        if match.group(1):
            piece = _letter_piece(text[0], len(text))
        elif text.startswith("'"):
            piece = (text[1:-1].replace("''", "'") or "'").replace("%", "%%")
        else:
            piece = text.replace("%", "%%")
        if isinstance(piece, str) and pieces and isinstance(pieces[-1], str):
            pieces[-1] += piece
        else:
            pieces.append(piece)
    return pieces


class TimestampRouter(Transformation[R]):
    """Route records to time-bucketed topics, e.g. ``orders-20240131``.

    Example::

        transforms=daily
        transforms.daily.type=org.apache.kafka.connect.transforms.TimestampRouter
        transforms.daily.topic.format=${topic}-${timestamp}
        transforms.daily.timestamp.format=yyyyMMdd
    """

    config_def: ClassVar[ConfigDef] = (
        ConfigDef()
        .define("topic.format", ConfigType.STRING, "${topic}-${timestamp}", Importance.HIGH,
                "Format string which can contain ${topic} and ${timestamp} as a placeholder "
                "for the topic and timestamp, respectively.")
        .define("timestamp.format", ConfigType.STRING, "yyyyMMdd", Importance.HIGH,
                "Format string for the timestamp that is compatible with "
                "java.text.SimpleDateFormat.")
    )

    def __init__(self) -> None:
        self.configure({})

    def configure(self, config: Mapping[str, Any]) -> None:
        values = self.config_def.parse(config)
        self._topic_format: str = values["topic.format"]
        try:
            self._pieces = compile_java_date_format(values["timestamp.format"])
        except ValueError as exc:
            raise ConfigError({"timestamp.format": str(exc)}) from None
        self._sub_second = any(
            m.group(1) == "S" for m in _TOKEN.finditer(values["timestamp.format"]))
        self._last: tuple[int, str] = (-1, "")

    def _format(self, millis: int) -> str:
        moment = _EPOCH + dt.timedelta(milliseconds=millis)
        return "".join([moment.strftime(p) if isinstance(p, str) else p(moment)
                        for p in self._pieces])

    def apply(self, record: R) -> R | None:
        millis = record.timestamp
        if millis is None:
            raise DataError(f"{type(self).__name__}: Timestamp missing on record: {record!r}")
        # Within one second the text is the same unless the pattern shows milliseconds.
        key = millis if self._sub_second else millis // 1000
        last_key, text = self._last
        if key != last_key:
            text = self._format(millis)
            self._last = (key, text)
        topic = self._topic_format.replace("${topic}", record.topic) \
            .replace("${timestamp}", text)
        return record.replace(topic=topic)
