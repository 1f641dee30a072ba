"""Declarative configuration definitions, in the model of Kafka Connect's ``ConfigDef``.

A plugin declares its keys once (type, default, validator, doc); parsing, validation
messages, ``ferry validate`` and the generated config reference all derive from it.
Values arrive as strings (Kafka Connect JSON configs) or as YAML scalars; both parse.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ferry.api.errors import ConfigError


class ConfigType(StrEnum):
    STRING = "string"
    INT = "int"
    LONG = "long"
    DOUBLE = "double"
    BOOLEAN = "boolean"
    LIST = "list"
    CLASS = "class"
    PASSWORD = "password"


class Importance(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


NO_DEFAULT: Any = object()
"""Marks a key without default: it is required."""

Validator = Callable[[str, Any], str | None]
"""Checks a parsed value; returns a problem message or None."""


class Password(str):
    """A secret string: prints as ``[hidden]`` so it never reaches a log or a status."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Password([hidden])"

    def __str__(self) -> str:
        return "[hidden]"

    @property
    def value(self) -> str:
        return str.__str__(self)


@dataclass(frozen=True, slots=True)
class ConfigKey:
    name: str
    type: ConfigType
    default: Any = NO_DEFAULT
    importance: Importance = Importance.MEDIUM
    doc: str = ""
    validator: Validator | None = None
    group: str | None = None

    @property
    def required(self) -> bool:
        return self.default is NO_DEFAULT


@dataclass
class ConfigDef:
    """An ordered set of config keys. Build it fluently: ``ConfigDef().define(...).define(...)``."""

    keys: dict[str, ConfigKey] = field(default_factory=dict)

    def define(
        self,
        name: str,
        type: ConfigType,
        default: Any = NO_DEFAULT,
        importance: Importance = Importance.MEDIUM,
        doc: str = "",
        validator: Validator | None = None,
        group: str | None = None,
    ) -> ConfigDef:
        if name in self.keys:
            raise ValueError(f"config key {name!r} defined twice")
        self.keys[name] = ConfigKey(name, type, default, importance, doc, validator, group)
        return self

    def merge(self, other: ConfigDef) -> ConfigDef:
        """A new definition with the keys of both (``other`` wins on a clash)."""
        return ConfigDef({**self.keys, **other.keys})

    def __iter__(self) -> Iterator[ConfigKey]:
        return iter(self.keys.values())

    def validate(self, raw: Mapping[str, Any]) -> dict[str, str]:
        """One message per offending key; empty when the config is valid."""
        return self._parse(raw)[1]

    def parse(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Typed values for every defined key (defaults filled in); raises ConfigError."""
        values, problems = self._parse(raw)
        if problems:
            raise ConfigError(problems)
        return values

    def _parse(self, raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        values: dict[str, Any] = {}
        problems: dict[str, str] = {}
        for key in self.keys.values():
            present = key.name in raw and raw[key.name] is not None
            if not present:
                if key.required:
                    problems[key.name] = f"required; {key.doc}" if key.doc else "required"
                    continue
                values[key.name] = key.default
                continue
            try:
                value = parse_value(key.type, raw[key.name])
            except ValueError as exc:
                problems[key.name] = str(exc)
                continue
            if key.validator is not None:
                problem = key.validator(key.name, value)
                if problem:
                    problems[key.name] = problem
                    continue
            values[key.name] = value
        return values, problems


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def parse_value(type_: ConfigType, raw: Any) -> Any:
    """Parse one raw value (string or YAML scalar) into its declared type."""
    if type_ in (ConfigType.STRING, ConfigType.CLASS):
        return str(raw).strip() if isinstance(raw, str) else str(raw)
    if type_ is ConfigType.PASSWORD:
        return Password(str(raw))
    if type_ in (ConfigType.INT, ConfigType.LONG):
        if isinstance(raw, bool):
            raise ValueError(f"expected an integer, got {raw!r}")
        try:
            return int(str(raw).strip())
        except ValueError:
            raise ValueError(f"expected an integer, got {raw!r}") from None
    if type_ is ConfigType.DOUBLE:
        try:
            return float(str(raw).strip())
        except ValueError:
            raise ValueError(f"expected a number, got {raw!r}") from None
    if type_ is ConfigType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"expected true or false, got {raw!r}")
    if type_ is ConfigType.LIST:
        if isinstance(raw, list | tuple):
            return [str(v).strip() for v in raw]
        text = str(raw).strip()
        return [part.strip() for part in text.split(",") if part.strip()] if text else []
    raise ValueError(f"unknown config type {type_}")


# Validators ------------------------------------------------------------------------------


def at_least(minimum: float) -> Validator:
    def check(name: str, value: Any) -> str | None:
        return f"must be at least {minimum}, got {value}" if value < minimum else None

    return check


def between(minimum: float, maximum: float) -> Validator:
    def check(name: str, value: Any) -> str | None:
        if not minimum <= value <= maximum:
            return f"must be between {minimum} and {maximum}, got {value}"
        return None

    return check


def one_of(*choices: str, case_sensitive: bool = False) -> Validator:
    allowed = list(choices)

    def check(name: str, value: Any) -> str | None:
        candidates = allowed if case_sensitive else [c.lower() for c in allowed]
        probe = value if case_sensitive else str(value).lower()
        if probe in candidates:
            return None
        return f"must be one of {', '.join(allowed)}; got {value!r}"

    return check


def non_empty(name: str, value: Any) -> str | None:
    return "must not be empty" if value in ("", [], None) else None


def matches(pattern: str) -> Validator:
    compiled = re.compile(pattern)

    def check(name: str, value: Any) -> str | None:
        return None if compiled.fullmatch(str(value)) else f"must match {pattern}, got {value!r}"

    return check


def valid_regex(name: str, value: Any) -> str | None:
    try:
        re.compile(str(value))
    except re.error as exc:
        return f"not a valid regular expression: {exc}"
    return None


def each(validator: Validator) -> Validator:
    """Apply ``validator`` to each element of a list value."""

    def check(name: str, value: Any) -> str | None:
        for item in value:
            problem = validator(name, item)
            if problem:
                return problem
        return None

    return check


def subset(config: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The keys that start with ``prefix``, with the prefix stripped (``transforms.a.``)."""
    return {k[len(prefix):]: v for k, v in config.items() if k.startswith(prefix)}


def keys_of(definitions: Iterable[ConfigDef]) -> set[str]:
    return {key.name for d in definitions for key in d}
