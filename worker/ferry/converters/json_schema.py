"""The ``schema`` half of JsonConverter's envelope: Ferry schemas to JSON text and back.

No I/O. Key order is Kafka Connect's (``JsonConverter.asJsonSchema``): ``type``, then
``items`` / ``keys``,``values`` / ``fields``, then ``optional``, ``name``, ``version``,
``doc``, ``parameters``, ``default``; a struct field is its schema followed by ``field``.
"""

from __future__ import annotations

from typing import Any

from ferry.api.errors import DataError
from ferry.api.schema import Field, Schema, Type
from ferry.converters.json_write import WriteOptions, compile_writer, quote

# Kafka Connect's JSON names differ from the type names for the two float types.
_TYPE_TO_JSON = {t: t.value for t in Type} | {Type.FLOAT32: "float", Type.FLOAT64: "double"}
_JSON_TO_TYPE = {name: t for t, name in _TYPE_TO_JSON.items()}


def schema_to_json(schema: Schema | None, options: WriteOptions) -> str:
    """The compact JSON text Kafka Connect writes for ``schema`` (``null`` for none)."""
    if schema is None:
        return "null"
    return "{" + ",".join(f"{quote(k)}:{v}" for k, v in _members(schema, options)) + "}"


def _members(schema: Schema, options: WriteOptions) -> list[tuple[str, str]]:
    members = [("type", quote(_TYPE_TO_JSON[schema.type]))]
    if schema.type is Type.ARRAY:
        members.append(("items", schema_to_json(_required(schema.value_schema, "array"), options)))
    elif schema.type is Type.MAP:
        members.append(("keys", schema_to_json(_required(schema.key_schema, "map key"), options)))
        members.append(
            ("values", schema_to_json(_required(schema.value_schema, "map value"), options)))
    elif schema.type is Type.STRUCT:
        fields = []
        for f in schema.fields:
            inner = ",".join(f"{quote(k)}:{v}" for k, v in _members(f.schema, options))
            fields.append("{" + inner + ',"field":' + quote(f.name) + "}")
        members.append(("fields", "[" + ",".join(fields) + "]"))
    members.append(("optional", "true" if schema.optional else "false"))
    if schema.name is not None:
        members.append(("name", quote(schema.name)))
    if schema.version is not None:
        members.append(("version", str(schema.version)))
    if schema.doc is not None:
        members.append(("doc", quote(schema.doc)))
    if schema.parameters is not None:
        params = ",".join(f"{quote(k)}:{quote(v)}" for k, v in schema.parameters.items())
        members.append(("parameters", "{" + params + "}"))
    if schema.default is not None:
        members.append(("default", compile_writer(schema, options)(schema.default)))
    return members


def _required(schema: Schema | None, what: str) -> Schema:
    if schema is None:
        raise DataError(f"The {what} schema is missing")
    return schema


def schema_from_json(node: Any, read_default: Any) -> Schema | None:
    """A schema from the parsed ``schema`` member, with Kafka Connect's checks and messages.

    ``read_default(schema, json_value)`` converts a ``default`` member to a Connect value.
    """
    if node is None:
        return None
    if not isinstance(node, dict):
        raise DataError("Schema must be a JSON object")
    type_name = node.get("type")
    if not isinstance(type_name, str):
        raise DataError("Schema must contain 'type' field")
    type_ = _JSON_TO_TYPE.get(type_name)
    if type_ is None:
        raise DataError(f"Unknown schema type: {type_name}")
    attrs: dict[str, Any] = {"type": type_}
    if type_ is Type.ARRAY:
        items = node.get("items")
        if items is None:
            raise DataError("Array schema did not specify the element type")
        attrs["value_schema"] = schema_from_json(items, read_default)
    elif type_ is Type.MAP:
        if "keys" not in node:
            raise DataError("Map schema did not specify the key type")
        if "values" not in node:
            raise DataError("Map schema did not specify the value type")
        attrs["key_schema"] = schema_from_json(node["keys"], read_default)
        attrs["value_schema"] = schema_from_json(node["values"], read_default)
    elif type_ is Type.STRUCT:
        attrs["fields"] = _fields_from_json(node.get("fields"), read_default)
    attrs["optional"] = node.get("optional") is True
    if isinstance(node.get("name"), str):
        attrs["name"] = node["name"]
    version = node.get("version")
    if isinstance(version, int) and not isinstance(version, bool):
        attrs["version"] = version
    if isinstance(node.get("doc"), str):
        attrs["doc"] = node["doc"]
    params = node.get("parameters")
    if isinstance(params, dict):
        if not all(isinstance(v, str) for v in params.values()):
            raise DataError("Schema parameters must have string values.")
        attrs["parameters"] = dict(params)
    schema = Schema(**attrs)
    if "default" in node and node["default"] is not None:
        attrs["default"] = read_default(schema, node["default"])
        schema = Schema(**attrs)
    return schema


def _fields_from_json(fields: Any, read_default: Any) -> tuple[Field, ...]:
    if not isinstance(fields, list):
        raise DataError("Struct schema's \"fields\" argument is not an array.")
    result = []
    for index, field in enumerate(fields):
        name = field.get("field") if isinstance(field, dict) else None
        if not isinstance(name, str):
            raise DataError("Struct schema's field name not specified properly")
        field_schema = schema_from_json(field, read_default)
        assert field_schema is not None
        result.append(Field(name, field_schema, index))
    return tuple(result)
