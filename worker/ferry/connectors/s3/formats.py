"""Object formats of the S3 sink: how records become the bytes of one object. Pure: no I/O.

* JSON lines (``json``, Kafka Connect's ``JsonFormat``): one JSON document per record value,
  the way ``JsonConverter`` with ``schemas.enable=false`` writes it: structs and maps as
  objects, bytes as base64, Decimals as numbers (through a float: 15-17 significant
  digits), timestamps as epoch milliseconds, dates as days since the epoch.
* Raw bytes (``bytearray``, ``ByteArrayFormat``): each value's bytes (a ``str`` as UTF-8)
  followed by ``format.bytearray.separator``.

With ``s3.compression.type=gzip`` the object is gzipped with a zero mtime, so the same
records still make byte-identical objects.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ferry.api import DataError, SinkRecord

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_DAY = dt.date(1970, 1, 1)


class Format(Protocol):
    @property
    def extension(self) -> str: ...

    def encode(self, record: SinkRecord) -> bytes:
        """One record's bytes, separator included."""
        ...

    def finish(self, chunks: Sequence[bytes]) -> bytes:
        """The whole object from its records' bytes."""
        ...


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return (aware - _EPOCH) // dt.timedelta(milliseconds=1)
    if isinstance(value, dt.date):
        return (value - _EPOCH_DAY).days
    if isinstance(value, dt.time):
        return (value.hour * 3600 + value.minute * 60 + value.second) * 1000 \
            + value.microsecond // 1000
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


_FAST = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_json_default)


@dataclass(frozen=True, slots=True)
class JsonLines:
    compression: str = "none"

    @property
    def extension(self) -> str:
        return ".json.gz" if self.compression == "gzip" else ".json"

    def encode(self, record: SinkRecord) -> bytes:
        try:
            text = _FAST.encode(record.value)
        except (TypeError, ValueError) as exc:
            raise DataError(f"record {record.topic}-{record.partition}@{record.offset}: "
                            f"{exc}") from exc
        return text.encode("utf-8") + b"\n"

    def finish(self, chunks: Sequence[bytes]) -> bytes:
        return _compress(b"".join(chunks), self.compression)


@dataclass(frozen=True, slots=True)
class RawBytes:
    separator: bytes = b"\n"
    extension_name: str = ".bin"
    compression: str = "none"

    @property
    def extension(self) -> str:
        return self.extension_name + (".gz" if self.compression == "gzip" else "")

    def encode(self, record: SinkRecord) -> bytes:
        value = record.value
        if isinstance(value, bytes):
            return value + self.separator
        if isinstance(value, str):
            return value.encode("utf-8") + self.separator
        if isinstance(value, bytearray | memoryview):
            return bytes(value) + self.separator
        raise DataError(f"record {record.topic}-{record.partition}@{record.offset}: the "
                        f"bytearray format needs bytes or str values, got "
                        f"{type(value).__name__} (use value.converter ByteArrayConverter)")

    def finish(self, chunks: Sequence[bytes]) -> bytes:
        return _compress(b"".join(chunks), self.compression)


def _compress(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    return data


_NAMES = {"json": "json", "jsonformat": "json", "bytearray": "bytearray",
          "bytearrayformat": "bytearray", "bytes": "bytearray"}
FORMAT_NAMES = tuple(_NAMES)


def format_kind(name: str) -> str | None:
    return _NAMES.get(name.rsplit(".", 1)[-1].lower())


def build_format(name: str, *, compression: str, separator: str, extension: str) -> Format:
    kind = format_kind(name)
    if kind == "json":
        return JsonLines(compression)
    if kind == "bytearray":
        sep = separator.encode("utf-8").decode("unicode_escape").encode("latin-1")
        return RawBytes(sep, extension, compression)
    raise ValueError(f"unknown format.class {name!r}")
