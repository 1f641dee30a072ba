"""FileStreamSource: the lines of one file into a topic, like Kafka Connect's connector.

Compatible with Kafka Connect's ``FileStreamSourceConnector``: same keys (``file``, ``topic``,
``batch.size``), same source partition ``{"filename": path}`` and offset
``{"position": byte offset after the line}``, same line terminators (``\\n``, ``\\r\\n`` and a
lone ``\\r``), same UTF-8 decoding with malformed bytes replaced by U+FFFD (Kafka Connect reads
through an ``InputStreamReader`` on UTF-8, which replaces them too). Unlike it, ``file`` is
required (no stdin), positions are bytes (Kafka Connect counts chars, wrong past ASCII), and the
task follows rotation and truncation.

Example::

    name: access-log
    connector.class: FileStreamSource
    file: /var/log/nginx/access.log
    topic: access-log
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from io import FileIO
from itertools import accumulate
from typing import Any, ClassVar

from ferry.api import ConfigDef, ConfigType, ConnectError, Importance, SourceConnector, SourceTask
from ferry.api.config import at_least, non_empty
from ferry.api.records import SourceRecord, SourceRecordBatch
from ferry.api.schema import BYTES, STRING

log = logging.getLogger(__name__)

FILE = "file"
TOPIC = "topic"
BATCH_SIZE = "batch.size"
READ_BUFFER_BYTES = "read.buffer.bytes"
POLL_INTERVAL_MS = "poll.interval.ms"
VALUE_BYTES = "value.bytes"

FILENAME_FIELD = "filename"
POSITION_FIELD = "position"

CONFIG_DEF = (
    ConfigDef()
    .define(FILE, ConfigType.STRING, importance=Importance.HIGH, validator=non_empty,
            doc="Path of the file to read. Required: unlike Kafka Connect, Ferry never reads "
                "standard input.")
    .define(TOPIC, ConfigType.STRING, importance=Importance.HIGH, validator=non_empty,
            doc="The topic to publish data to.")
    .define(BATCH_SIZE, ConfigType.INT, 2000, Importance.LOW, validator=at_least(1),
            doc="The maximum number of records one poll returns.")
    .define(READ_BUFFER_BYTES, ConfigType.INT, 256 * 1024, Importance.LOW, validator=at_least(1),
            doc="Bytes read from the file at a time; bounds memory (a longer line grows it).")
    .define(POLL_INTERVAL_MS, ConfigType.INT, 1000, Importance.LOW, validator=at_least(0),
            doc="At the end of the file, how long a poll waits before returning no records.")
    .define(VALUE_BYTES, ConfigType.BOOLEAN, False, Importance.LOW,
            doc="Emit each line as raw bytes (BYTES schema) instead of a UTF-8 string; faster, "
                "for the bytes converter.")
)

# Any of Kafka Connect's three line terminators; a lone \r counts, like BufferedReader.
_TERMINATOR = re.compile(rb"\r\n|\r|\n")
_PLUS_ONE = (1).__add__


@dataclass(frozen=True, slots=True)
class FileSourceConfig:
    path: str
    topic: str
    batch_size: int
    read_buffer_bytes: int
    poll_interval_s: float
    value_bytes: bool

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> FileSourceConfig:
        v = CONFIG_DEF.parse(raw)
        return cls(v[FILE], v[TOPIC], v[BATCH_SIZE], v[READ_BUFFER_BYTES],
                   v[POLL_INTERVAL_MS] / 1000, v[VALUE_BYTES])


def complete_length(data: bytes) -> int:
    """How many leading bytes of ``data`` form complete lines (0: not one yet).

    A trailing ``\\r`` is held back: the ``\\n`` of a ``\\r\\n`` may not be written yet.
    """
    limit = len(data) - 1 if data.endswith(b"\r") else len(data)
    return max(data.rfind(b"\n", 0, limit), data.rfind(b"\r", 0, limit)) + 1


def line_ends(lines: Sequence[bytes], base: int) -> list[int]:
    """The file position after each of these lines, the first starting at ``base``: each
    line ends one byte (its ``\n``) after its length."""
    ends = accumulate(map(_PLUS_ONE, map(len, lines)), initial=base)
    next(ends)
    return list(ends)


def split_lines(block: bytes, base: int, as_text: bool) -> tuple[list[Any], list[int], bool]:
    """The lines of ``block`` (which ends with a terminator), the file position after each,
    and whether the lines are text kept as its UTF-8 bytes (an ASCII block read as text:
    nothing to decode, and StringConverter would only encode it again).

    Works on the whole block with C-level calls (split, decode, accumulate) rather than a
    Python loop per line; only blocks containing ``\\r`` take the slower regex path.
    """
    if b"\r" not in block:
        lines: list[Any]
        raw: list[Any]
        ascii_text = as_text and block.isascii()
        if as_text and not ascii_text:
            lines = block.decode("utf-8", "replace").split("\n")
            raw = block.split(b"\n")  # character counts differ from byte counts
        else:
            lines = raw = block.split(b"\n")
        lines.pop()  # the empty piece after the final \n
        ends = line_ends(raw, base)
        if raw is not lines:
            ends.pop()  # raw still has its trailing empty piece: its end is not a line end
        return lines, ends, ascii_text
    ends = [base + m.end() for m in _TERMINATOR.finditer(block)]
    chunks = block.splitlines()  # bytes.splitlines splits on exactly \n, \r\n and \r
    if as_text:
        return [c.decode("utf-8", "replace") for c in chunks], ends, False
    return chunks, ends, False


# A run of a batch's lines and where their end positions come from: (position before the
# first line, the lines as bytes: each ends one byte after its length) or (None, the ends).
Segment = tuple[int | None, Sequence[Any]]


class Positions(Sequence[dict[str, int]]):
    """The source offset after each line of a batch, ``{"position": end}``, made only when
    read. Without transforms the runtime reads just the last one, which is known; the others
    are summed up from the lines' lengths on first use (a dict per line cost ~0.15 µs, the end
    positions of every line another ~0.11 µs)."""

    __slots__ = ("_count", "_ends", "_last", "_segments")

    def __init__(self, segments: list[Segment], count: int, last: int) -> None:
        self._segments = segments
        self._count = count
        self._last = last
        self._ends: list[int] | None = None

    def ends(self) -> list[int]:
        """The file position after each line."""
        if self._ends is None:
            ends: list[int] = []
            for start, run in self._segments:
                ends += run if start is None else line_ends(run, start)
            self._ends = ends
        return self._ends

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [{POSITION_FIELD: end} for end in self.ends()[index]]
        if index == -1 or index == self._count - 1:
            return {POSITION_FIELD: self._last}
        return {POSITION_FIELD: self.ends()[index]}

    def __iter__(self) -> Any:
        return ({POSITION_FIELD: end} for end in self.ends())


class FileStreamSourceTask(SourceTask):
    """Reads a file in large chunks, from the last committed position, and follows it.

    At the end of the file a poll checks whether the path now names another file (rotation:
    read the new one from 0) or the file shrank below the read position (truncation: warn and
    read it again from 0), then waits up to ``poll.interval.ms``. Only complete lines are
    emitted; an unterminated last line waits for its terminator.
    """

    def start(self, config: Mapping[str, Any]) -> None:
        self._config = FileSourceConfig.parse(config)
        self._partition = {FILENAME_FIELD: self._config.path}
        self._value_schema = BYTES if self._config.value_bytes else STRING
        self._stopping = threading.Event()
        self._file: FileIO | None = None
        self._warned_missing = False
        self._rotated = False     # the next open reads from 0, not the committed position
        self._rest = b""          # bytes read after the last complete line
        self._consumed = 0        # file position after the last complete line read
        self._lines: list[Any] = []   # complete lines read but not yet returned
        self._encoded = False         # they are text as UTF-8 bytes (see split_lines)
        self._ends: list[int] | None = []  # the file position after each of them (None:
        #                                    bytes lines, each ending one byte after its length)
        self._next = 0                # index of the first line not yet returned
        self._next_position = 0       # the file position where that line starts

    def poll(self) -> Sequence[SourceRecord]:
        if self._file is None and not self._open():
            self._stopping.wait(self._config.poll_interval_s)
            return []
        try:
            lines, offsets, encoded = self._take(self._config.batch_size)
        except (OSError, ValueError):
            if self._stopping.is_set():  # stop() closed the file under a blocked read
                return []
            raise
        if not lines:
            self._stopping.wait(self._config.poll_interval_s)
            return []
        if encoded:
            return SourceRecordBatch(source_partition=self._partition, topic=self._config.topic,
                                     utf8_values=lines, offsets=offsets,
                                     value_schema=self._value_schema)
        return SourceRecordBatch(source_partition=self._partition, topic=self._config.topic,
                                 values=lines, offsets=offsets, value_schema=self._value_schema)

    def stop(self) -> None:
        # Called from another thread: wake a waiting poll, then release the file.
        self._stopping.set()
        if self._file is not None:
            self._file.close()

    # Reading ----------------------------------------------------------------------------

    def _take(self, count: int) -> tuple[list[Any], Positions, bool]:
        """Up to ``count`` complete lines, their offsets and whether they are text as UTF-8
        bytes, reading as needed."""
        lines: list[Any] = []
        segments: list[Segment] = []
        encoded = False
        while len(lines) < count:
            if self._next >= len(self._lines) and not self._more():
                break
            start = self._next
            stop = min(start + count - len(lines), len(self._lines))
            more = self._lines[start:stop]
            if self._ends is None:
                segments.append((self._next_position, more))
                self._next_position += sum(map(len, more)) + len(more)
            else:
                segments.append((None, self._ends[start:stop]))
                self._next_position = self._ends[stop - 1]
            if not lines:
                encoded = self._encoded
            elif encoded != self._encoded:
                # An ASCII block next to another: one batch holds one kind of value.
                if encoded:
                    lines, encoded = list(map(bytes.decode, lines)), False
                else:
                    more = list(map(bytes.decode, more))
            lines += more
            self._next = stop
        return lines, Positions(segments, len(lines), self._next_position), encoded

    def _more(self) -> bool:
        """Read more lines; at the end, a rotated or truncated file is read again at once."""
        if self._fill():
            return True
        return self._reopen_if_changed() and self._file is not None and self._fill()

    def _fill(self) -> bool:
        """Read until at least one complete line is pending; False at the end of the file."""
        assert self._file is not None
        while True:
            # Double the read when a line outgrows the buffer, so a long line costs O(n).
            chunk = self._file.read(max(self._config.read_buffer_bytes, len(self._rest)))
            if not chunk:
                return False
            data = self._rest + chunk if self._rest else chunk
            cut = complete_length(data)
            if cut == 0:
                self._rest = data
                continue
            self._lines, self._ends, self._encoded = self._split(data[:cut])
            self._next = 0
            self._next_position = self._consumed
            self._rest = data[cut:]
            self._consumed += cut
            return True

    def _split(self, block: bytes) -> tuple[list[Any], list[int] | None, bool]:
        """The block's lines, their end positions (None when each line is bytes ending one
        byte after its length) and whether they are text as UTF-8 bytes."""
        as_text = not self._config.value_bytes
        if b"\r" not in block and (not as_text or block.isascii()):
            lines = block.split(b"\n")
            lines.pop()  # the empty piece after the final \n
            return lines, None, as_text
        return split_lines(block, self._consumed, as_text)

    def _open(self) -> bool:
        """Open the file at the committed position (0 after a rotation); False if missing."""
        path = self._config.path
        try:
            self._file = FileIO(path, "r")
        except FileNotFoundError:
            if not self._warned_missing:
                log.warning("file %s not found; waiting for it to be created", path)
                self._warned_missing = True
            return False
        self._warned_missing = False
        position = 0 if self._rotated else self._committed_position()
        self._rotated = False
        size = os.fstat(self._file.fileno()).st_size
        if position > size:
            log.warning("file %s is shorter (%d bytes) than its committed position %d: "
                        "it was truncated or replaced; reading it from the start",
                        path, size, position)
            position = 0
        self._seek(position)
        log.info("reading %s from byte %d", path, position)
        return True

    def _committed_position(self) -> int:
        offset = self.context.offset_reader.offset(self._partition)
        if not offset or offset.get(POSITION_FIELD) is None:
            return 0
        position = offset[POSITION_FIELD]
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            raise ConnectError(f"offset position of {self._config.path} is not a byte "
                               f"offset: {position!r}")
        return position

    def _seek(self, position: int) -> None:
        assert self._file is not None
        self._file.seek(position)
        self._seek_state(position)

    def _seek_state(self, position: int) -> None:
        self._consumed = position
        self._rest = b""
        self._lines, self._ends, self._next, self._next_position = [], [], 0, position

    def _reopen_if_changed(self) -> bool:
        """At the end of the file: handle rotation and truncation. True if it restarted."""
        assert self._file is not None
        path = self._config.path
        try:
            named = os.stat(path)
        except FileNotFoundError:
            return False  # rotated away and not yet recreated: wait for the new file
        current = os.fstat(self._file.fileno())
        if (named.st_ino, named.st_dev) != (current.st_ino, current.st_dev):
            if self._rest:
                log.warning("file %s was rotated; dropping its unterminated last %d bytes",
                            path, len(self._rest))
            log.info("file %s was rotated; reading the new file from the start", path)
            self._file.close()
            self._file = None
            self._seek_state(0)
            self._rotated = True
            self._open()  # if the new file vanished already, the next poll retries
            return True
        if current.st_size < self._consumed + len(self._rest):
            log.warning("file %s was truncated to %d bytes (read up to %d); reading it again "
                        "from the start", path, current.st_size, self._consumed + len(self._rest))
            self._seek(0)
            return True
        return False


class FileStreamSourceConnector(SourceConnector):
    """Streams one file's lines into a topic, with a single task.

    Supports exactly-once delivery (``exactly.once.support: required``), as Kafka Connect's
    does for a named file: the committed offset is the byte position after the last line of
    the transaction, so a task restarted from it reads exactly the lines that follow, as long
    as the file is only appended to (a rotated or truncated file is read again from 0).
    """

    config_def: ClassVar[ConfigDef] = CONFIG_DEF
    exactly_once_support: ClassVar[bool] = True

    @classmethod
    def task_class(cls) -> type[SourceTask]:
        return FileStreamSourceTask

    def start(self, config: Mapping[str, Any]) -> None:
        CONFIG_DEF.parse(config)  # fail at start, not in the task, on a bad config
        self._config = dict(config)

    def task_configs(self, max_tasks: int) -> list[dict[str, Any]]:
        # One file is one ordered stream: a second task could only duplicate it.
        return [dict(self._config)] if max_tasks >= 1 else []
