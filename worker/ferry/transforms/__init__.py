"""Built-in single message transforms, under their short, Ferry and Kafka Connect names.

``BUILTINS`` maps e.g. ``InsertField$Value``, ``ferry.transforms.InsertField$Value`` and
``org.apache.kafka.connect.transforms.InsertField$Value`` to the class; transforms that act
on either side have ``$Key`` and ``$Value`` variants, as in Kafka Connect.
"""

from __future__ import annotations

from ferry.transforms.cast import CastKey, CastValue
from ferry.transforms.extract_field import ExtractFieldKey, ExtractFieldValue
from ferry.transforms.filter import Filter
from ferry.transforms.hoist_field import HoistFieldKey, HoistFieldValue
from ferry.transforms.insert_field import InsertFieldKey, InsertFieldValue
from ferry.transforms.mask_field import MaskFieldKey, MaskFieldValue
from ferry.transforms.regex_router import RegexRouter
from ferry.transforms.replace_field import ReplaceFieldKey, ReplaceFieldValue
from ferry.transforms.timestamp_router import TimestampRouter
from ferry.transforms.value_to_key import ValueToKey

_BY_NAME: dict[str, type] = {
    "Cast$Key": CastKey,
    "Cast$Value": CastValue,
    "ExtractField$Key": ExtractFieldKey,
    "ExtractField$Value": ExtractFieldValue,
    "Filter": Filter,
    "HoistField$Key": HoistFieldKey,
    "HoistField$Value": HoistFieldValue,
    "InsertField$Key": InsertFieldKey,
    "InsertField$Value": InsertFieldValue,
    "MaskField$Key": MaskFieldKey,
    "MaskField$Value": MaskFieldValue,
    "RegexRouter": RegexRouter,
    "ReplaceField$Key": ReplaceFieldKey,
    "ReplaceField$Value": ReplaceFieldValue,
    "TimestampRouter": TimestampRouter,
    "ValueToKey": ValueToKey,
}

BUILTINS: dict[str, type] = {}
for _name, _cls in _BY_NAME.items():
    BUILTINS[_name] = _cls
    BUILTINS[f"ferry.transforms.{_name}"] = _cls
    BUILTINS[f"org.apache.kafka.connect.transforms.{_name}"] = _cls

__all__ = [
    "BUILTINS",
    "CastKey",
    "CastValue",
    "ExtractFieldKey",
    "ExtractFieldValue",
    "Filter",
    "HoistFieldKey",
    "HoistFieldValue",
    "InsertFieldKey",
    "InsertFieldValue",
    "MaskFieldKey",
    "MaskFieldValue",
    "RegexRouter",
    "ReplaceFieldKey",
    "ReplaceFieldValue",
    "TimestampRouter",
    "ValueToKey",
]
