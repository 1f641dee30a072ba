"""Replace ``${provider:path:key}`` references in a config, and keep secrets out of logs.

The syntax is Kafka's ``ConfigTransformer``'s: ``${provider:key}`` or ``${provider:path:key}``
(the path ends at the first ``:``). Providers are the defaults ``env``, ``file`` and ``dir``
plus any declared Kafka-style::

    config.providers: secrets
    config.providers.secrets.class: org.apache.kafka.common.config.provider.DirectoryConfigProvider
    config.providers.secrets.param.allowed.paths: /etc/secrets

Where Kafka leaves an unresolvable reference in place, Ferry fails: a connector never starts
with ``${...}`` for a password.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ferry.api.config import ConfigType, Password, parse_value, subset
from ferry.api.errors import ConfigError
from ferry.providers.base import ConfigProvider, ProviderError
from ferry.providers.builtin import DirectoryProvider, EnvVarProvider, FileProvider

HIDDEN = "[hidden]"
PROVIDERS = "config.providers"

# Kafka's pattern is \$\{(.*?):((.*?):)?(.*?)\}; excluding '}' keeps one reference from
# swallowing the text up to the next one, and excluding ':' from the name keeps names plain.
REFERENCE = re.compile(r"\$\{([^}:]+):(?:([^}]*?):)?([^}]*)\}")

_KAFKA_PACKAGE = "org.apache.kafka.common.config.provider."
PROVIDER_CLASSES: dict[str, Callable[[], ConfigProvider]] = {}
for _cls, _kafka in ((EnvVarProvider, "EnvVarConfigProvider"),
                     (FileProvider, "FileConfigProvider"),
                     (DirectoryProvider, "DirectoryConfigProvider")):
    PROVIDER_CLASSES.update({_kafka: _cls, _KAFKA_PACKAGE + _kafka: _cls, _cls.__name__: _cls,
                             f"{_cls.__module__}.{_cls.__name__}": _cls})


def default_providers() -> dict[str, ConfigProvider]:
    """The providers available without declaration."""
    return {"env": EnvVarProvider(), "file": FileProvider(), "dir": DirectoryProvider()}


def providers_from_config(config: Mapping[str, Any]) -> dict[str, ConfigProvider]:
    """The defaults plus those declared by ``config.providers`` (usually the worker's config)."""
    providers = default_providers()
    problems: dict[str, str] = {}
    names = parse_value(ConfigType.LIST, config.get(PROVIDERS) or "")
    for name in names:
        class_key = f"{PROVIDERS}.{name}.class"
        class_name = str(config.get(class_key) or "").strip()
        factory = PROVIDER_CLASSES.get(class_name)
        if factory is None:
            problems[class_key] = (f"unknown config provider class {class_name!r}; Ferry "
                                   "provides EnvVarConfigProvider, FileConfigProvider and "
                                   "DirectoryConfigProvider") if class_name else "required"
            continue
        provider = factory()
        params = subset(config, f"{PROVIDERS}.{name}.param.")
        provider.configure({k: str(v) for k, v in params.items()})
        providers[name] = provider
    if problems:
        raise ConfigError(problems)
    return providers


def mentions_secret(config: Mapping[str, Any]) -> set[str]:
    """The keys whose value holds at least one reference."""
    return {k for k, v in config.items() if isinstance(v, str) and REFERENCE.search(v)}


def redact(config: Mapping[str, Any], secret_keys: Iterable[str] | None = None) -> dict[str, Any]:
    """A copy safe for logs and status: referenced (and password) values become ``[hidden]``.

    Give ``secret_keys`` (``mentions_secret(raw)``) when ``config`` is already resolved; by
    default the references are looked for in ``config`` itself.
    """
    hidden = set(mentions_secret(config) if secret_keys is None else secret_keys)
    return {k: HIDDEN if k in hidden or isinstance(v, Password) else v
            for k, v in config.items()}


def resolve(config: Mapping[str, Any],
            providers: Mapping[str, ConfigProvider] | None = None) -> dict[str, Any]:
    """The config with every reference in its string values replaced.

    Each (provider, path) is asked once for all its keys, as Kafka does. Raises ConfigError
    with one message per config key whose references cannot all be resolved; messages name
    the key and the reference, never a value.
    """
    if providers is None:
        providers = providers_from_config(config)
    wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
    for value in config.values():
        if isinstance(value, str):
            for m in REFERENCE.finditer(value):
                wanted[(m.group(1), m.group(2) or "")].add(m.group(3))

    found: dict[tuple[str, str], dict[str, str]] = {}
    failures: dict[tuple[str, str], str] = {}
    for (name, path), keys in wanted.items():
        provider = providers.get(name)
        if provider is None:
            failures[(name, path)] = f"unknown config provider {name!r}"
            continue
        try:
            found[(name, path)] = provider.get(path, keys)
        except ProviderError as exc:
            failures[(name, path)] = str(exc)

    resolved: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for key, value in config.items():
        if not isinstance(value, str) or "${" not in value:
            resolved[key] = value
            continue
        errors: list[str] = []

        def substitute(m: re.Match[str], errors: list[str] = errors) -> str:
            group = (m.group(1), m.group(2) or "")
            if group in failures:
                errors.append(f"cannot resolve {m.group(0)}: {failures[group]}")
                return m.group(0)
            values = found[group]
            if m.group(3) not in values:
                errors.append(f"cannot resolve {m.group(0)}: not found")
                return m.group(0)
            return values[m.group(3)]

        resolved[key] = REFERENCE.sub(substitute, value)
        if errors:
            problems[key] = "; ".join(errors)
    if problems:
        raise ConfigError(problems)
    return resolved
