"""Finding plugins: built-ins, entry points, and dotted class paths.

A name resolves, in order, to a built-in (short names, Ferry paths and Kafka Connect's class
names, so pasted Kafka Connect configs work), an entry point in ``ferry.<kind>s`` (how a
third-party package ships a plugin with ``pip install``), or a dotted path
``package.module.Class`` / ``package.module:Class``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from ferry.api.connector import Connector
from ferry.api.converter import Converter, HeaderConverter
from ferry.api.errors import ConfigError
from ferry.api.transform import Predicate, Transformation


class PluginKind(StrEnum):
    CONNECTOR = "connector"
    CONVERTER = "converter"
    HEADER_CONVERTER = "header_converter"
    TRANSFORM = "transform"
    PREDICATE = "predicate"

    @property
    def group(self) -> str:
        """The entry-point group third-party packages register in."""
        return {
            PluginKind.CONNECTOR: "ferry.connectors",
            PluginKind.CONVERTER: "ferry.converters",
            PluginKind.HEADER_CONVERTER: "ferry.converters",
            PluginKind.TRANSFORM: "ferry.transforms",
            PluginKind.PREDICATE: "ferry.predicates",
        }[self]

    @property
    def base(self) -> type:
        return {
            PluginKind.CONNECTOR: Connector,
            PluginKind.CONVERTER: Converter,
            PluginKind.HEADER_CONVERTER: HeaderConverter,
            PluginKind.TRANSFORM: Transformation,
            PluginKind.PREDICATE: Predicate,
        }[self]


_BUILTIN_MODULES = {
    PluginKind.CONNECTOR: "ferry.connectors",
    PluginKind.CONVERTER: "ferry.converters",
    PluginKind.HEADER_CONVERTER: "ferry.converters",
    PluginKind.TRANSFORM: "ferry.transforms",
    PluginKind.PREDICATE: "ferry.predicates",
}


@cache
def _builtins(kind: PluginKind) -> Mapping[str, type]:
    module = importlib.import_module(_BUILTIN_MODULES[kind])
    table: Mapping[str, type] = getattr(module, "BUILTINS", {})
    return {name: cls for name, cls in table.items() if issubclass(cls, kind.base)}


@cache
def _lazy_builtins(kind: PluginKind) -> Mapping[str, str]:
    """Built-ins behind optional extras: name -> ``module:Class``, imported on first use."""
    module = importlib.import_module(_BUILTIN_MODULES[kind])
    return dict(getattr(module, "LAZY_BUILTINS", {}))


def _load_lazy(kind: PluginKind, name: str) -> type | None:
    path = _lazy_builtins(kind).get(name)
    if path is None:
        return None
    module_name, _, attr = path.partition(":")
    try:
        found: type = getattr(importlib.import_module(module_name), attr)
    except ImportError as exc:  # the optional extra is missing; its message says which
        raise ConfigError(f"cannot load {kind.value.replace('_', ' ')} {name!r}: {exc}") from exc
    return found


@cache
def _entry_points(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def resolve(kind: PluginKind | str, name: str) -> type[Any]:
    """The plugin class called ``name``; ConfigError naming the candidates when unknown."""
    kind = PluginKind(kind)
    name = name.strip()
    found = _builtins(kind).get(name)
    if found is None:
        found = _load_lazy(kind, name)
    if found is None:
        ep = _entry_points(kind.group).get(name)
        if ep is not None:
            found = ep.load()
    import_problem = ""
    if found is None and ("." in name or ":" in name):
        found, import_problem = _import_path(name)
    if found is None:
        if import_problem:
            raise ConfigError(f"cannot load {kind.value.replace('_', ' ')} {name!r}: "
                              f"{import_problem}")
        known = ", ".join(sorted(n for n in _short_names(kind)))
        raise ConfigError(f"unknown {kind.value.replace('_', ' ')} {name!r}; installed: {known}")
    if not (isinstance(found, type) and issubclass(found, kind.base)):
        raise ConfigError(f"{name!r} is not a {kind.value.replace('_', ' ')} "
                          f"(it does not subclass {kind.base.__module__}.{kind.base.__name__})")
    return found


def _import_path(path: str) -> tuple[Any, str]:
    """The object at a dotted path and "", or None and why it could not be loaded."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if exc.name and module_name.startswith(exc.name) and exc.name != module_name.split(".")[0]:
            return None, f"no module named {exc.name!r}"
        if exc.name == module_name.split(".")[0]:
            return None, ""  # not a module path at all: report it as unknown
        return None, f"{type(exc).__name__}: {exc}"
    target: Any = module
    for part in attr.split("."):
        target = getattr(target, part, None)
        if target is None:
            return None, f"module {module_name!r} has no attribute {attr!r}"
    return target, ""


def _short_names(kind: PluginKind) -> set[str]:
    names = {n for n in _builtins(kind) if "." not in n}
    names.update(n for n in _lazy_builtins(kind) if "." not in n)
    names.update(_entry_points(kind.group))
    return names


@dataclass(frozen=True)
class PluginInfo:
    kind: PluginKind
    name: str
    class_path: str
    version: str
    origin: str  # "builtin" or the distribution that ships it


def installed_plugins() -> list[PluginInfo]:
    """Every plugin Ferry can find, one entry per class (built-ins and entry points)."""
    seen: dict[tuple[PluginKind, type], PluginInfo] = {}
    missing: list[PluginInfo] = []
    for kind in PluginKind:
        for name, cls in sorted(_builtins(kind).items()):
            if "." in name or (kind, cls) in seen:
                continue
            seen[(kind, cls)] = PluginInfo(kind, name, _class_path(cls), _version(cls), "builtin")
        lazy_seen: set[str] = set()
        for name, path in sorted(_lazy_builtins(kind).items()):
            if "." in name or path in lazy_seen:
                continue
            lazy_seen.add(path)
            try:
                cls = _load_lazy(kind, name) or type(None)
            except ConfigError as exc:  # listed, with the extra it needs
                missing.append(PluginInfo(kind, name, path.replace(":", "."), "?",
                                          f"builtin, not installed: {exc}"))
                continue
            if (kind, cls) not in seen:
                seen[(kind, cls)] = PluginInfo(kind, name, _class_path(cls), _version(cls),
                                               "builtin")
        for name, ep in sorted(_entry_points(kind.group).items()):
            try:
                cls = ep.load()
            except Exception as exc:  # noqa: BLE001 - list a broken plugin, don't crash
                seen[(kind, type(exc))] = PluginInfo(kind, name, ep.value, "?", f"broken: {exc}")
                continue
            if not (isinstance(cls, type) and issubclass(cls, kind.base)) or (kind, cls) in seen:
                continue
            dist = ep.dist.name if ep.dist else "?"
            seen[(kind, cls)] = PluginInfo(kind, name, _class_path(cls), _version(cls), dist)
    return [*seen.values(), *missing]


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _version(cls: type) -> str:
    return str(getattr(cls, "version", "?"))
