"""Keeping resolved secret values out of logs, statuses and traces."""

from __future__ import annotations

import threading
from collections.abc import Iterable

HIDDEN = "[hidden]"
_MIN_LENGTH = 4  # shorter values would blank out ordinary words


class Scrubber:
    """Replaces every known secret value in a text by ``[hidden]``."""

    def __init__(self) -> None:
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, values: Iterable[str]) -> None:
        with self._lock:
            known = set(self._secrets)
            known.update(v for v in values if isinstance(v, str) and len(v) >= _MIN_LENGTH)
            # Longest first, so a secret containing another is hidden whole.
            self._secrets = tuple(sorted(known, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, HIDDEN)
        return text


SCRUBBER = Scrubber()
"""The process-wide scrubber the log filter and the status board use."""
