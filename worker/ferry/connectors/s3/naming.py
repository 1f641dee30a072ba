"""Object names of the S3 sink. Pure: no I/O.

An object holds consecutive records of one Kafka topic-partition and is named from the first
offset it holds, so the same records always make the same name::

    <topics.dir>/<encoded partition>/<topic>+<kafka partition>+<start offset>.<ext>
    topics/orders/partition=3/orders+3+0000012000.json

Offsets are zero-padded (``filename.offset.zero.pad.width``, 10 by default) so names sort
in offset order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Naming:
    """How the sink spells directories and file names (Kafka Connect's S3 sink keys)."""

    topics_dir: str = "topics"
    directory_delim: str = "/"
    file_delim: str = "+"
    zero_pad_width: int = 10

    def directory(self, encoded_partition: str) -> str:
        """``<topics.dir>/<encoded>``; the encoded partition already starts with the topic."""
        if not self.topics_dir:
            return encoded_partition
        return f"{self.topics_dir.rstrip(self.directory_delim)}{self.directory_delim}" \
               f"{encoded_partition}"

    def object_key(self, encoded_partition: str, topic: str, partition: int, start_offset: int,
                   extension: str) -> str:
        d = self.file_delim
        name = f"{topic}{d}{partition}{d}{start_offset:0{self.zero_pad_width}d}{extension}"
        return f"{self.directory(encoded_partition)}{self.directory_delim}{name}"

    def topic_prefix(self, topic: str) -> str:
        """The prefix every object of ``topic`` starts with, whatever the partitioner."""
        return f"{self.directory(topic)}{self.directory_delim}"

    def start_offset(self, key: str, topic: str, partition: int) -> int | None:
        """The start offset in ``key`` if it names an object of this topic-partition."""
        base = key.rsplit(self.directory_delim, 1)[-1]
        d = re.escape(self.file_delim)
        match = re.fullmatch(rf"{re.escape(topic)}{d}{partition}{d}(\d+)(\..*)?", base)
        return int(match.group(1)) if match else None
