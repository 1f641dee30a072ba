"""ReplaceField: keep, drop and rename fields of a struct or map.

Kafka Connect's ``ReplaceField$Key`` / ``$Value``: ``exclude`` wins over ``include``; an empty
``include`` keeps every field; ``renames`` is ``old:new,...``. The deprecated ``blacklist`` and
``whitelist`` are read when ``exclude`` / ``include`` are not set. Tombstones pass unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from ferry.api._codegen import generated
from ferry.api.config import ConfigDef, ConfigType, Importance
from ferry.api.errors import ConfigError
from ferry.api.records import R
from ferry.api.schema import Schema
from ferry.transforms._support import (
    SchemaCache,
    Side,
    SideTransform,
    copy_basics,
    parse_list,
    require_map,
    require_struct,
)

PURPOSE = "field replacement"


class ReplaceField(SideTransform[R]):
    """Filter or rename fields.

    Example::

        transforms=tidy
        transforms.tidy.type=org.apache.kafka.connect.transforms.ReplaceField$Value
        transforms.tidy.exclude=password
        transforms.tidy.renames=usr:user,ts:created_at
    """

    config_def: ClassVar[ConfigDef] = (
        ConfigDef()
        .define("exclude", ConfigType.LIST, [], Importance.MEDIUM,
                "Fields to exclude. This takes precedence over the fields to include.")
        .define("include", ConfigType.LIST, [], Importance.MEDIUM,
                "Fields to include. If specified, only these fields will be used.")
        .define("renames", ConfigType.LIST, [], Importance.MEDIUM,
                "Field rename mappings, as old:new pairs separated by commas.")
        .define("blacklist", ConfigType.LIST, None, Importance.LOW,
                "Deprecated. Use exclude instead.")
        .define("whitelist", ConfigType.LIST, None, Importance.LOW,
                "Deprecated. Use include instead.")
    )

    def __init__(self) -> None:
        self.configure({})

    def configure(self, config: Mapping[str, Any]) -> None:
        values = self.config_def.parse(config)
        exclude = values["exclude"] if "exclude" in config else values["blacklist"] or []
        include = values["include"] if "include" in config else values["whitelist"] or []
        self._exclude = frozenset(exclude)
        self._include = frozenset(include)
        self._renames = _parse_renames(values["renames"])
        self._schemas = SchemaCache(self._derive)
        self._names: dict[str, str | None] = {}

    def _target(self, name: str) -> str | None:
        """The output name of a field, or None when it is dropped."""
        if name in self._exclude or (self._include and name not in self._include):
            return None
        return self._renames.get(name, name)

    def transform_side(self, record: R, schema: Schema | None, value: Any) -> Side:
        if value is None:
            return schema, value
        if schema is None:
            source = require_map(type(self).__name__, PURPOSE, value)
            names = self._names
            result = {}
            for name, item in source.items():
                target = names.get(name, "")
                if target == "":
                    target = names[name] = self._target(name)
                if target is not None:
                    result[target] = item
            return None, result
        struct = require_struct(type(self).__name__, PURPOSE, schema, value)
        new_schema, project = self._schemas.get(schema)
        return new_schema, project(struct)

    def _derive(self, schema: Schema) -> tuple[Schema, Callable[[dict[str, Any]], dict[str, Any]]]:
        pairs = [(f.name, target) for f in schema.fields
                 if (target := self._target(f.name)) is not None]
        by_name = {f.name: f.schema for f in schema.fields}
        return copy_basics(schema, [(new, by_name[old]) for old, new in pairs]), _projection(pairs)


def _projection(pairs: list[tuple[str, str]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """``lambda struct: {new: struct.get(old) for old, new in pairs}``, generated as one dict
    display (no comprehension frame and tuple unpacking per field). Names are repr()
    literals."""
    items = ", ".join(f"{new!r}: get({old!r})" for old, new in pairs)
    project: Callable[[dict[str, Any]], dict[str, Any]] = generated(
        ["def project(struct):", "    get = struct.get", f"    return {{{items}}}"],
        "project", {}, "<ReplaceField projection>")
    return project


def _parse_renames(mappings: list[str]) -> dict[str, str]:
    renames = {}
    for mapping in parse_list(mappings):
        parts = mapping.split(":")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise ConfigError({"renames": f"Invalid rename mapping: {mapping}"})
        renames[parts[0]] = parts[1]
    return renames


class ReplaceFieldKey(ReplaceField[R]):
    """ReplaceField on the record key."""

    on_key = True


class ReplaceFieldValue(ReplaceField[R]):
    """ReplaceField on the record value."""

    on_key = False
