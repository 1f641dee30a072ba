"""ExtractField: replace a struct or map with one of its fields.

Kafka Connect's ``ExtractField$Key`` / ``$Value``. With ``field.syntax.version=V2`` the
``field`` is a dotted path into nested structs or maps (wrap a name that contains dots in
backticks). A missing field of a schemaless map, or a null value, extracts as null.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ferry.api.config import ConfigDef, ConfigType, Importance, non_empty, one_of
from ferry.api.errors import ConfigError, DataError
from ferry.api.records import R
from ferry.api.schema import Schema, Type
from ferry.transforms._support import SchemaCache, Side, SideTransform, require_map

PURPOSE = "field extraction"


def parse_path(path: str, version: str) -> tuple[str, ...]:
    """Field names along ``path``: V1 takes it whole, V2 splits on dots outside backticks."""
    if version == "V1":
        return (path,)
    names: list[str] = []
    i = 0
    while i <= len(path):
        if path.startswith("`", i):
            end = i + 1
            while True:
                end = path.find("`", end)
                if end < 0:
                    raise ConfigError({"field": f"Unclosed backtick in field path: {path}"})
                if end + 1 == len(path) or path[end + 1] == ".":
                    break
                end += 1
            names.append(path[i + 1:end].replace("\\`", "`"))
            i = end + 2
        else:
            end = path.find(".", i)
            end = len(path) if end < 0 else end
            names.append(path[i:end])
            i = end + 1
    if any(not name for name in names):
        raise ConfigError({"field": f"Empty field name in path: {path}"})
    return tuple(names)


class ExtractField(SideTransform[R]):
    """Pull a single field out of a struct or map.

    Example::

        transforms=id
        transforms.id.type=org.apache.kafka.connect.transforms.ExtractField$Key
        transforms.id.field=id
    """

    config_def: ClassVar[ConfigDef] = (
        ConfigDef()
        .define("field", ConfigType.STRING, importance=Importance.MEDIUM,
                doc="Field name to extract.", validator=non_empty)
        .define("field.syntax.version", ConfigType.STRING, "V1", Importance.LOW,
                "V1 takes field names as they are; V2 reads dotted paths into nested fields.",
                one_of("V1", "V2"))
    )

    def configure(self, config: Mapping[str, Any]) -> None:
        values = self.config_def.parse(config)
        self._original = values["field"]
        self._path = parse_path(values["field"], values["field.syntax.version"].upper())
        self._schemas = SchemaCache(self._field_schema)

    def transform_side(self, record: R, schema: Schema | None, value: Any) -> Side:
        if schema is None:
            if value is None:
                return None, None
            current: Any = require_map(type(self).__name__, PURPOSE, value)
            for name in self._path:
                current = current.get(name) if isinstance(current, dict) else None
            return None, current
        field_schema: Schema = self._schemas.get(schema)
        if value is not None and not isinstance(value, dict):
            raise DataError(f"{type(self).__name__}: Only Struct objects supported for "
                            f"[{PURPOSE}], found: {type(value).__name__}")
        current = value
        for name in self._path:
            current = current.get(name) if isinstance(current, dict) else None
        return field_schema, current

    def _field_schema(self, schema: Schema) -> Schema:
        current = schema
        for name in self._path:
            found = current.field(name) if current.type is Type.STRUCT else None
            if found is None:
                if schema.type is not Type.STRUCT:
                    raise DataError(f"{type(self).__name__}: Only Struct objects supported for "
                                    f"[{PURPOSE}], found: {schema.type.value}")
                raise DataError(f"{type(self).__name__}: Unknown field: {self._original}")
            current = found.schema
        return current


class ExtractFieldKey(ExtractField[R]):
    """ExtractField on the record key."""

    on_key = True


class ExtractFieldValue(ExtractField[R]):
    """ExtractField on the record value."""

    on_key = False
