"""Read Java ``.properties`` text the way ``java.util.Properties.load`` does.

Pure: no I/O. Supports ``#``/``!`` comments, ``=``, ``:`` or whitespace between key and value,
backslash line continuations (the next line's leading whitespace dropped), and the escapes
``\\t \\n \\r \\f \\uXXXX`` (any other escaped character stands for itself). A later
duplicate key wins, as in Java.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_NATURAL_LINE = re.compile(r"\r\n|\r|\n")
_WHITESPACE = " \t\f"
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|u|.)", re.DOTALL)
_SIMPLE_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def load_properties(text: str) -> dict[str, str]:
    """The key-value pairs of a properties file; ValueError on a malformed ``\\u`` escape."""
    result: dict[str, str] = {}
    for line in _logical_lines(text):
        key, value = _split(line)
        result[_unescape(key)] = _unescape(value)
    return result


def _logical_lines(text: str) -> Iterator[str]:
    pending: str | None = None
    for natural in _NATURAL_LINE.split(text):
        line = natural.lstrip(_WHITESPACE)
        if pending is None:
            if not line or line[0] in "#!":
                continue  # blank or comment; a comment never continues
            pending = line
        else:
            pending += line
        # An odd number of trailing backslashes escapes the line break itself.
        if (len(pending) - len(pending.rstrip("\\"))) % 2 == 1:
            pending = pending[:-1]
            continue
        yield pending
        pending = None
    if pending is not None:
        yield pending


def _split(line: str) -> tuple[str, str]:
    """The raw (still escaped) key and value of one logical line."""
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == "\\":
            i += 2
            continue
        if c in "=:" or c in _WHITESPACE:
            break
        i += 1
    key_end = min(i, n)
    # After the key: whitespace, at most one '=' or ':', whitespace.
    while i < n and line[i] in _WHITESPACE:
        i += 1
    if i < n and line[i] in "=:":
        i += 1
    while i < n and line[i] in _WHITESPACE:
        i += 1
    return line[:key_end], line[i:]


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return _ESCAPE.sub(_replacement, text)


def _replacement(match: re.Match[str]) -> str:
    escaped = match.group(1)
    if escaped[0] == "u" and len(escaped) == 5:
        return chr(int(escaped[1:], 16))
    if escaped == "u":
        raise ValueError("malformed \\uxxxx escape")
    return _SIMPLE_ESCAPES.get(escaped, escaped)
