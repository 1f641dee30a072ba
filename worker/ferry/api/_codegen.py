"""Functions generated from source text: the per-class and per-schema fast paths.

Records, JSON struct readers and writers and ReplaceField's projection are compiled once
into straight-line code (no closure call or loop per field). Whatever is not literal code
(field names, defaults, helpers) goes in through ``env`` or as ``repr()`` literals.
"""

from __future__ import annotations

from typing import Any


def generated(lines: list[str], name: str, env: dict[str, Any], filename: str) -> Any:
    """The function ``name`` defined by ``lines`` (one per line), with ``env`` as its globals;
    ``filename`` names it in tracebacks and profiles."""
    exec(compile("\n".join(lines) + "\n", filename, "exec"), env)
    return env[name]
