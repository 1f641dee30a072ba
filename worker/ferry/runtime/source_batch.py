"""Converting a whole :class:`~ferry.api.records.SourceRecordBatch` at once: the source
runner's fast path.

A batch's values share a topic and a schema, so they convert in one pass: for the built-in
StringConverter in UTF-8, ``str.encode`` mapped over the values (about 0.1 µs a value
instead of 0.3 µs through ``from_connect``), for any other converter ``from_connect`` per
value. Like the sink's fast path it has no side effects: when a value does not convert
(or is not a ``str``), the runner sends the batch record by record, which reports it.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Sequence
from typing import Any

from ferry.api.converter import Converter
from ferry.api.schema import Schema
from ferry.converters.string import StringConverter
from ferry.runtime.conversion import builtin_method

ConvertAll = Callable[[str, "Schema | None", Sequence[Any]], list[bytes | None]]


def writes_utf8(converter: Converter) -> bool:
    """Whether ``converter`` is the built-in StringConverter in UTF-8: a ``str`` becomes its
    UTF-8 bytes, so a batch's ``utf8_values`` are already what it would produce."""
    return (getattr(type(converter), "from_connect", None) is StringConverter.from_connect
            and isinstance(converter, StringConverter)
            and codecs.lookup(converter.encoding).name == "utf-8")


def convert_all(converter: Converter) -> ConvertAll:
    """A function converting a batch's values (or keys) with ``converter``."""
    from_connect = converter.from_connect
    if writes_utf8(converter):
        def encode_text(topic: str, schema: Schema | None,
                        values: Sequence[Any]) -> list[bytes | None]:
            # TypeError on the first non-str value: the batch then goes record by record.
            return list(map(str.encode, values))
        return encode_text

    def each(topic: str, schema: Schema | None, values: Sequence[Any]) -> list[bytes | None]:
        return [from_connect(topic, schema, value) for value in values]
    return each


def none_converts_alike(converter: Converter) -> bool:
    """Whether ``converter`` turns a missing value (a batch without keys) into the same bytes
    for every record of a batch: true of the built-in converters, whose ``from_connect`` of
    None depends only on the schema, so the runner converts it once per batch."""
    return builtin_method(converter, "from_connect")
