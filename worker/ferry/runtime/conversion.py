"""Building a task's converters and transform chain from its connector config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ferry.api.config import subset
from ferry.api.converter import Converter, HeaderConverter, SchemaAndValue
from ferry.api.errors import ConfigError
from ferry.runtime.plugins import PluginKind, resolve


@dataclass
class Converters:
    key: Converter
    value: Converter
    header: HeaderConverter


def _converter(config: Mapping[str, Any], key: str, is_key: bool) -> Converter:
    name = str(config[key])
    try:
        cls = resolve(PluginKind.CONVERTER, name)
    except ConfigError as exc:
        raise ConfigError({key: exc.render()}) from None
    converter: Converter = cls()
    try:
        converter.configure(subset(config, key + "."), is_key)
    except ConfigError as exc:
        problems = {f"{key}.{k}" if k else key: v for k, v in exc.problems.items()}
        raise ConfigError(problems) from None
    return converter


def build_converters(config: Mapping[str, Any]) -> Converters:
    """Key, value and header converters from ``key.converter`` etc. (with their sub-keys)."""
    name = str(config["header.converter"])
    try:
        header_cls = resolve(PluginKind.HEADER_CONVERTER, name)
    except ConfigError as exc:
        raise ConfigError({"header.converter": exc.render()}) from None
    header: HeaderConverter = header_cls()
    header.configure(subset(config, "header.converter."))
    return Converters(
        key=_converter(config, "key.converter", True),
        value=_converter(config, "value.converter", False),
        header=header,
    )


def build_chain(config: Mapping[str, Any]) -> Any:
    """The transform chain of ``transforms=...``, or None when there are no transforms."""
    from ferry.transforms.chain import TransformationChain

    if not config.get("transforms"):
        return None
    return TransformationChain.from_config(config, resolve)


def builtin_method(converter: Converter, name: str) -> bool:
    """Whether ``converter``'s method ``name`` is a built-in converter's own (ByteArray, Json,
    String; not overridden by a subclass), so the runtime may rely on what it does."""
    from ferry.converters.bytes import ByteArrayConverter
    from ferry.converters.json import JsonConverter
    from ferry.converters.string import StringConverter

    method = getattr(type(converter), name, None)
    return any(method is getattr(builtin, name)
               for builtin in (ByteArrayConverter, JsonConverter, StringConverter))


def null_to_connect(converter: Converter) -> SchemaAndValue | None:
    """What ``converter`` makes of null bytes, if that is known not to vary, else ``None``.

    The built-in converters map ``None`` to one constant (whatever their configuration and
    topic), so the runners can skip the call per record; any other converter (or one that
    overrides ``to_connect``) is called as usual.
    """
    return converter.to_connect("", None) if builtin_method(converter, "to_connect") else None
