"""Where heavy artefacts (Kafka jars, Kubernetes binaries) are cached between runs."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """The cache: ``$FERRY_CACHE``, else ``$XDG_CACHE_HOME/ferry``, else ``~/.cache/ferry``."""
    explicit = os.environ.get("FERRY_CACHE")
    if explicit:
        root = Path(explicit)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = Path(xdg) / "ferry" if xdg else Path.home() / ".cache" / "ferry"
    root.mkdir(parents=True, exist_ok=True)
    return root


def cache_dir(*parts: str) -> Path:
    path = cache_root().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
