"""The built-in providers: environment variables, files and directories of files.

They match Kafka's ``EnvVarConfigProvider``, ``FileConfigProvider`` and
``DirectoryConfigProvider`` (UTF-8, values verbatim), plus two Ferry additions: a ``file``
reference without a key (``${file:/path}``) is that file's whole contents, and a ``file`` may
be JSON as well as a properties file.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Set
from typing import Any

from ferry.providers.base import ConfigProvider, ProviderError
from ferry.providers.properties import load_properties

ALLOWED_PATHS = "allowed.paths"
ALLOWLIST_PATTERN = "allowlist.pattern"


class EnvVarProvider(ConfigProvider):
    """``${env:NAME}``: the environment variable NAME.

    Parameter ``allowlist.pattern``: a regular expression the whole variable name must match
    (Kafka's parameter; Kafka applies it as a search, Ferry as a full match, which is what an
    allow list means).
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ
        self._allow: re.Pattern[str] | None = None

    def configure(self, params: Mapping[str, str]) -> None:
        pattern = params.get(ALLOWLIST_PATTERN)
        self._allow = re.compile(pattern) if pattern else None

    def get(self, path: str, keys: Set[str]) -> dict[str, str]:
        if path:
            raise ProviderError(f"environment variables take no path (got {path!r})")
        return {k: self._environ[k] for k in keys
                if k in self._environ and (self._allow is None or self._allow.fullmatch(k))}


class _PathProvider(ConfigProvider):
    """Shared by the file and directory providers: the ``allowed.paths`` parameter.

    ``allowed.paths``: comma-separated directories; references to paths elsewhere fail (as in
    Kafka's KIP-993). Paths are normalised (``..`` removed) but symlinks are not followed, so
    a Kubernetes Secret volume's ``..data`` links stay inside its mount.
    """

    def __init__(self) -> None:
        self._allowed: list[str] | None = None

    def configure(self, params: Mapping[str, str]) -> None:
        raw = params.get(ALLOWED_PATHS, "")
        paths = [os.path.normpath(os.path.abspath(p.strip())) for p in raw.split(",") if p.strip()]
        self._allowed = paths or None

    def _check(self, path: str) -> str:
        normal = os.path.normpath(os.path.abspath(path))
        if self._allowed is not None and not any(
            normal == a or normal.startswith(a.rstrip(os.sep) + os.sep) for a in self._allowed
        ):
            raise ProviderError(f"path {path} is outside {ALLOWED_PATHS}")
        return normal


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        raise ProviderError(f"file {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        # str(exc) of an OSError names the path and the errno, never file contents.
        kind = "is not UTF-8" if isinstance(exc, UnicodeDecodeError) else f"unreadable: {exc}"
        raise ProviderError(f"file {path} {kind}") from None


class FileProvider(_PathProvider):
    """``${file:/path/app.properties:key}``, ``${file:/path/app.json:key}``, ``${file:/path}``.

    A ``.json`` file (or any file whose text starts with ``{``) is read as a JSON object: a
    key names a top-level member, or a nested one by a dotted path (``db.password``);
    non-string members are rendered as compact JSON. Any other file is a Java properties
    file. Without a key the reference is the whole file, verbatim (trailing newline kept).
    """

    def get(self, path: str, keys: Set[str]) -> dict[str, str]:
        if not path:  # ${file:/some/file}: each "key" is a file to read whole
            return {k: _read_text(self._check(k)) for k in keys}
        text = _read_text(self._check(path))
        data = _parse(path, text)
        found: dict[str, str] = {}
        for key in keys:
            value = _lookup(data, key)
            if value is not None:
                found[key] = value if isinstance(value, str) else json.dumps(
                    value, separators=(",", ":"), ensure_ascii=False)
        return found


def _parse(path: str, text: str) -> dict[str, Any]:
    as_json = path.endswith(".json") or (
        not path.endswith(".properties") and text.lstrip().startswith("{"))
    try:
        if as_json:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ProviderError(f"file {path} is JSON but not an object")
            return data
        return dict(load_properties(text))
    except ValueError as exc:
        # json's message gives a line and column, never the text at that position.
        position = f" at line {exc.lineno} column {exc.colno}" if isinstance(
            exc, json.JSONDecodeError) else ""
        kind = "JSON" if as_json else "a properties file"
        raise ProviderError(f"file {path} is not valid {kind}{position}") from None


def _lookup(data: dict[str, Any], key: str) -> Any:
    if key in data:
        return data[key]
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


class DirectoryProvider(_PathProvider):
    """``${dir:/etc/secrets/db:password}``: the contents of file ``password`` in that directory.

    Made for Kubernetes Secret volumes (one file per key). The value is the file verbatim,
    trailing newline included, as in Kafka's DirectoryConfigProvider: create Secrets without
    a trailing newline (``kubectl create secret --from-literal`` does not add one).
    """

    def get(self, path: str, keys: Set[str]) -> dict[str, str]:
        directory = self._check(path)
        if not os.path.isdir(directory):
            raise ProviderError(f"{path} is not a directory")
        found: dict[str, str] = {}
        for key in keys:
            # Keys are file names in the directory, never paths out of it.
            if not key or "/" in key or key in (".", "..") or (os.altsep and os.altsep in key):
                continue
            file = os.path.join(directory, key)
            if os.path.isfile(file):  # follows symlinks, like Files.isRegularFile
                found[key] = _read_text(file)
        return found
