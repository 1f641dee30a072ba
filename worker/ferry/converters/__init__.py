"""Built-in converters, under every name a Kafka Connect config may use for them.

``BUILTINS`` maps a name to its class: the short name (``JsonConverter``), Ferry's dotted
path (``ferry.converters.JsonConverter``) and Kafka Connect's class name
(``org.apache.kafka.connect.json.JsonConverter``), so migrated configs work unchanged.
"""

from __future__ import annotations

from ferry.converters.bytes import ByteArrayConverter
from ferry.converters.json import JsonConverter
from ferry.converters.simple_header import SimpleHeaderConverter
from ferry.converters.string import StringConverter

_KAFKA_NAMES: dict[type, str] = {
    StringConverter: "org.apache.kafka.connect.storage.StringConverter",
    JsonConverter: "org.apache.kafka.connect.json.JsonConverter",
    ByteArrayConverter: "org.apache.kafka.connect.converters.ByteArrayConverter",
    SimpleHeaderConverter: "org.apache.kafka.connect.storage.SimpleHeaderConverter",
}

BUILTINS: dict[str, type] = {}
for _cls, _kafka_name in _KAFKA_NAMES.items():
    BUILTINS[_cls.__name__] = _cls
    BUILTINS[f"ferry.converters.{_cls.__name__}"] = _cls
    BUILTINS[_kafka_name] = _cls

__all__ = [
    "BUILTINS",
    "ByteArrayConverter",
    "JsonConverter",
    "SimpleHeaderConverter",
    "StringConverter",
]
