"""Every built-in transform, schemaless and with schemas, on source and sink records."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable
from typing import Any

import pytest

from ferry.api.errors import ConfigError, DataError
from ferry.api.records import SinkRecord, SourceRecord
from ferry.api.schema import (
    BOOLEAN,
    FLOAT64,
    INT32,
    INT64,
    OPTIONAL_STRING,
    OPTIONAL_TIMESTAMP,
    STRING,
    TIMESTAMP,
    Type,
    array,
    primitive,
    struct,
)
from ferry.converters.logical import decimal_schema
from ferry.transforms import BUILTINS
from ferry.transforms.cast import CastKey, CastValue
from ferry.transforms.extract_field import ExtractFieldKey, ExtractFieldValue, parse_path
from ferry.transforms.filter import Filter
from ferry.transforms.hoist_field import HoistFieldKey, HoistFieldValue
from ferry.transforms.insert_field import InsertFieldKey, InsertFieldValue
from ferry.transforms.mask_field import MaskFieldValue
from ferry.transforms.regex_router import RegexRouter
from ferry.transforms.replace_field import ReplaceFieldKey, ReplaceFieldValue
from ferry.transforms.timestamp_router import TimestampRouter
from ferry.transforms.value_to_key import ValueToKey

Record = SourceRecord | SinkRecord
TS = 1_706_745_600_123  # 2024-02-01T00:00:00.123Z


def source(**fields: Any) -> SourceRecord:
    base: dict[str, Any] = {"source_partition": {"f": "a"}, "source_offset": {"pos": 1},
                            "topic": "orders", "partition": 3, "timestamp": TS, "value": None}
    return SourceRecord(**(base | fields))


def sink(**fields: Any) -> SinkRecord:
    base: dict[str, Any] = {"topic": "orders", "partition": 3, "offset": 42, "timestamp": TS,
                            "value": None}
    return SinkRecord(**(base | fields))


@pytest.fixture(params=[source, sink], ids=["source", "sink"])
def make(request: pytest.FixtureRequest) -> Callable[..., Record]:
    factory: Callable[..., Record] = request.param
    return factory


def configured(cls: type, **config: Any) -> Any:
    transform = cls()
    transform.configure(config)
    return transform


USER = struct([("id", INT64), ("name", STRING), ("email", OPTIONAL_STRING)], name="user",
              version=1)


def test_builtin_names() -> None:
    assert BUILTINS["InsertField$Value"] is InsertFieldValue
    assert BUILTINS["ferry.transforms.InsertField$Key"] is InsertFieldKey
    assert BUILTINS["org.apache.kafka.connect.transforms.Cast$Value"] is CastValue
    assert BUILTINS["org.apache.kafka.connect.transforms.RegexRouter"] is RegexRouter
    assert BUILTINS["org.apache.kafka.connect.transforms.Filter"] is Filter
    assert BUILTINS["ValueToKey"] is ValueToKey
    assert len(BUILTINS) == 16 * 3


# InsertField -------------------------------------------------------------------------------


def test_insert_field_schemaless(make: Callable[..., Record]) -> None:
    t = configured(InsertFieldValue, **{"topic.field": "t", "partition.field": "p",
                                        "timestamp.field": "ts", "static.field": "env",
                                        "static.value": "prod"})
    out = t.apply(make(value={"id": 1}))
    assert out.value == {"id": 1, "t": "orders", "p": 3, "ts": TS, "env": "prod"}
    assert out.value_schema is None


def test_insert_field_with_schema(make: Callable[..., Record]) -> None:
    t = configured(InsertFieldValue, **{"topic.field": "t!", "partition.field": "p",
                                        "timestamp.field": "ts?"})
    record = make(value={"id": 1, "name": "a", "email": None}, value_schema=USER)
    out = t.apply(record)
    schema = out.value_schema
    assert [f.name for f in schema.fields] == ["id", "name", "email", "t", "p", "ts"]
    assert schema.field("t").schema == STRING
    assert schema.field("p").schema == primitive(Type.INT32, optional=True)
    assert schema.field("ts").schema == OPTIONAL_TIMESTAMP
    assert (schema.name, schema.version, schema.optional) == ("user", 1, False)
    assert out.value["ts"] == dt.datetime(2024, 2, 1, 0, 0, 0, 123000, tzinfo=dt.UTC)
    assert out.value["t"] == "orders" and out.value["p"] == 3
    # The derived schema is built once per input schema.
    assert t.apply(record).value_schema is schema
    assert record.value == {"id": 1, "name": "a", "email": None}  # input untouched


def test_insert_field_offset_only_on_sink_records() -> None:
    t = configured(InsertFieldValue, **{"offset.field": "off"})
    assert t.apply(sink(value={"a": 1})).value == {"a": 1, "off": 42}
    with pytest.raises(DataError, match=r"InsertFieldValue: Only SinkRecord supported"):
        t.apply(source(value={"a": 1}))


def test_insert_field_key_and_errors(make: Callable[..., Record]) -> None:
    t = configured(InsertFieldKey, **{"topic.field": "t"})
    assert t.apply(make(key={"k": 1}, value="v")).key == {"k": 1, "t": "orders"}
    tombstone = make(key={"k": 1}, value=None)
    assert configured(InsertFieldValue, **{"topic.field": "t"}).apply(tombstone) is tombstone
    with pytest.raises(DataError, match=r"Only Map objects supported in absence of schema "
                                        r"for \[field insertion\], found: str"):
        configured(InsertFieldValue, **{"topic.field": "t"}).apply(make(value="text"))
    with pytest.raises(DataError, match=r"Only Struct objects supported for \[field insertion\]"):
        configured(InsertFieldValue, **{"topic.field": "t"}).apply(
            make(value="text", value_schema=STRING))


# ReplaceField ------------------------------------------------------------------------------


def test_replace_field_schemaless(make: Callable[..., Record]) -> None:
    t = configured(ReplaceFieldValue, exclude="secret", renames="id:user_id,name:full_name")
    out = t.apply(make(value={"id": 1, "name": "a", "secret": "x"}))
    assert out.value == {"user_id": 1, "full_name": "a"}
    include = configured(ReplaceFieldValue, include="id,name", exclude="name")
    assert include.apply(make(value={"id": 1, "name": "a", "x": 2})).value == {"id": 1}


def test_replace_field_with_schema(make: Callable[..., Record]) -> None:
    t = configured(ReplaceFieldValue, exclude="email", renames="name:full_name")
    out = t.apply(make(value={"id": 1, "name": "a", "email": "e"}, value_schema=USER))
    assert out.value == {"id": 1, "full_name": "a"}
    assert [(f.name, f.schema) for f in out.value_schema.fields] == [
        ("id", INT64), ("full_name", STRING)]
    assert out.value_schema.name == "user"


def test_replace_field_names_with_quotes_stay_names(make: Callable[..., Record]) -> None:
    odd = struct([("it's", INT64), ('say "hi"', STRING), ("a\\b", STRING)])
    t = configured(ReplaceFieldValue, renames="it's:id", exclude="a\\b")
    out = t.apply(make(value={"it's": 1, 'say "hi"': "x", "a\\b": "y"}, value_schema=odd))
    assert out.value == {"id": 1, 'say "hi"': "x"}


def test_replace_field_deprecated_keys_and_key_side(make: Callable[..., Record]) -> None:
    t = configured(ReplaceFieldKey, blacklist="b", whitelist="a,b")
    assert t.apply(make(key={"a": 1, "b": 2, "c": 3}, value=1)).key == {"a": 1}


def test_replace_field_bad_rename() -> None:
    with pytest.raises(ConfigError) as err:
        configured(ReplaceFieldValue, renames="a-b")
    assert err.value.problems == {"renames": "Invalid rename mapping: a-b"}


# MaskField ---------------------------------------------------------------------------------


def test_mask_field_schemaless(make: Callable[..., Record]) -> None:
    t = configured(MaskFieldValue, fields="n,s,b,f,l,m,d,missing")
    out = t.apply(make(value={"n": 5, "s": "x", "b": True, "f": 1.5, "l": [1], "m": {"a": 1},
                              "d": decimal.Decimal("3.2"), "keep": "k"}))
    assert out.value == {"n": 0, "s": "", "b": False, "f": 0.0, "l": [], "m": {},
                         "d": decimal.Decimal(0), "keep": "k"}


def test_mask_field_with_schema_and_replacement(make: Callable[..., Record]) -> None:
    schema = struct([("id", INT64), ("card", STRING), ("pin", INT32), ("ok", BOOLEAN)])
    t = configured(MaskFieldValue, fields="card,pin", replacement="9999")
    out = t.apply(make(value={"id": 1, "card": "4111", "pin": 1234, "ok": True},
                       value_schema=schema))
    assert out.value == {"id": 1, "card": "9999", "pin": 9999, "ok": True}
    assert out.value_schema is schema


def test_mask_field_replacement_errors(make: Callable[..., Record]) -> None:
    t = configured(MaskFieldValue, fields="l", replacement="x")
    with pytest.raises(DataError, match="with custom replacement"):
        t.apply(make(value={"l": [1]}))
    bad_number = configured(MaskFieldValue, fields="n", replacement="abc")
    with pytest.raises(DataError, match="Unable to convert 'abc'"):
        bad_number.apply(make(value={"n": 1}))
    with pytest.raises(ConfigError) as err:
        configured(MaskFieldValue)
    assert "fields" in err.value.problems


# Cast --------------------------------------------------------------------------------------


def test_cast_schemaless_fields(make: Callable[..., Record]) -> None:
    t = configured(CastValue, spec="a:int8,b:string,c:boolean,d:float32,e:int32,f:int64")
    out = t.apply(make(value={"a": 300, "b": 1.0e7, "c": "TRUE", "d": 0.1, "e": "12",
                              "f": 3.9, "g": "untouched"}))
    assert out.value == {"a": 44, "b": "1.0E7", "c": True, "d": 0.10000000149011612, "e": 12,
                         "f": 3, "g": "untouched"}


def test_cast_with_schema(make: Callable[..., Record]) -> None:
    schema = struct([("id", INT64), ("price", FLOAT64), ("flag", primitive(Type.INT8, True)),
                     ("at", TIMESTAMP), ("amount", decimal_schema(2))], name="row")
    t = configured(CastValue, spec="id:string,price:int32,flag:boolean,at:string,amount:float64")
    at = dt.datetime(2024, 2, 1, 10, 0, 0, 5000, tzinfo=dt.UTC)
    out = t.apply(make(value={"id": 7, "price": 9.99, "flag": None, "at": at,
                              "amount": decimal.Decimal("1.25")}, value_schema=schema))
    assert out.value == {"id": "7", "price": 9, "flag": None, "at": "2024-02-01T10:00:00.005Z",
                         "amount": 1.25}
    fields = {f.name: f.schema for f in out.value_schema.fields}
    assert fields["id"] == STRING
    assert fields["price"] == INT32
    assert fields["flag"] == primitive(Type.BOOLEAN, optional=True)
    assert fields["at"] == STRING and fields["at"].name is None
    assert out.value_schema.name == "row"


def test_cast_whole_value_and_key(make: Callable[..., Record]) -> None:
    t = configured(CastKey, spec="string")
    out = t.apply(make(key=123, key_schema=INT64, value="v"))
    assert (out.key, out.key_schema.type) == ("123", Type.STRING)
    assert configured(CastValue, spec="int64").apply(make(value="41")).value == 41
    assert configured(CastValue, spec="float64").apply(make(value=True)).value == 1.0


def test_cast_errors(make: Callable[..., Record]) -> None:
    for spec, message in [("a:nope", "Invalid type found in casting spec: nope"),
                          ("int8,a:int8", "may ony specify a single cast"),
                          ("a:b:c", "Invalid cast mapping: a:b:c")]:
        with pytest.raises(ConfigError) as err:
            configured(CastValue, spec=spec)
        assert message in err.value.problems["spec"]
    t = configured(CastValue, spec="tags:string")
    with pytest.raises(DataError, match="does not support casting from ARRAY"):
        t.apply(make(value={"tags": ["a"]}, value_schema=struct([("tags", array(STRING))])))
    with pytest.raises(DataError, match="cannot parse 'x' as int32"):
        configured(CastValue, spec="a:int32").apply(make(value={"a": "x"}))


# ExtractField ------------------------------------------------------------------------------


def test_extract_field_schemaless_and_key(make: Callable[..., Record]) -> None:
    assert configured(ExtractFieldValue, field="id").apply(make(value={"id": 9})).value == 9
    assert configured(ExtractFieldValue, field="id").apply(make(value={"x": 9})).value is None
    out = configured(ExtractFieldKey, field="id").apply(make(key={"id": 9}, value="v"))
    assert (out.key, out.key_schema, out.value) == (9, None, "v")


def test_extract_field_with_schema(make: Callable[..., Record]) -> None:
    out = configured(ExtractFieldValue, field="name").apply(
        make(value={"id": 1, "name": "a", "email": None}, value_schema=USER))
    assert (out.value, out.value_schema) == ("a", STRING)
    with pytest.raises(DataError, match="ExtractFieldValue: Unknown field: nope"):
        configured(ExtractFieldValue, field="nope").apply(
            make(value={"id": 1}, value_schema=USER))


def test_extract_field_nested_v2(make: Callable[..., Record]) -> None:
    schema = struct([("after", struct([("id", INT64), ("a.b", STRING)]))])
    value = {"after": {"id": 5, "a.b": "dotted"}}
    t = configured(ExtractFieldValue, field="after.id", **{"field.syntax.version": "V2"})
    out = t.apply(make(value=value, value_schema=schema))
    assert (out.value, out.value_schema) == (5, INT64)
    assert t.apply(make(value=value)).value == 5
    dotted = configured(ExtractFieldValue, field="after.`a.b`", **{"field.syntax.version": "V2"})
    assert dotted.apply(make(value=value)).value == "dotted"
    assert parse_path("a.b", "V1") == ("a.b",)


# HoistField --------------------------------------------------------------------------------


def test_hoist_field(make: Callable[..., Record]) -> None:
    assert configured(HoistFieldValue, field="line").apply(make(value="x")).value == {"line": "x"}
    out = configured(HoistFieldKey, field="id").apply(make(key=5, key_schema=INT64, value=1))
    assert out.key == {"id": 5}
    assert out.key_schema == struct([("id", INT64)])


# ValueToKey --------------------------------------------------------------------------------


def test_value_to_key(make: Callable[..., Record]) -> None:
    t = configured(ValueToKey, fields="id,name")
    out = t.apply(make(value={"id": 1, "name": "a", "x": 2}))
    assert (out.key, out.key_schema) == ({"id": 1, "name": "a"}, None)
    typed = t.apply(make(value={"id": 1, "name": "a", "email": None}, value_schema=USER))
    assert typed.key == {"id": 1, "name": "a"}
    assert typed.key_schema == struct([("id", INT64), ("name", STRING)])
    with pytest.raises(DataError, match="Field does not exist: nope"):
        configured(ValueToKey, fields="nope").apply(make(value={"id": 1}, value_schema=USER))
    with pytest.raises(DataError, match=r"\[copying fields from value to key\], found: null"):
        t.apply(make(value=None))


# Routers and Filter ------------------------------------------------------------------------


def test_regex_router(make: Callable[..., Record]) -> None:
    t = configured(RegexRouter, regex=r"(?<name>.*)-v(\d+)", replacement="${name}_$2\\$")
    out = t.apply(make(topic="orders-v12"))
    assert out.topic == "orders_12$"
    unmatched = make(topic="orders")
    assert t.apply(unmatched) is unmatched
    assert configured(RegexRouter, regex="(.*)", replacement="$10").apply(
        make(topic="a")).topic == "a0"  # Java: group 1 then a literal 0


def test_regex_router_keeps_original_topic_on_sink_records() -> None:
    t = configured(RegexRouter, regex="orders", replacement="orders-copy")
    out = t.apply(sink(topic="orders"))
    assert (out.topic, out.original_topic, out.offset) == ("orders-copy", "orders", 42)


def test_regex_router_config_errors() -> None:
    with pytest.raises(ConfigError) as err:
        configured(RegexRouter, regex="(", replacement="x")
    assert "regex" in err.value.problems
    with pytest.raises(ConfigError) as err:
        configured(RegexRouter, regex="(a)", replacement="$2")
    assert "replacement" in err.value.problems
    with pytest.raises(ConfigError) as err:
        configured(RegexRouter)
    assert set(err.value.problems) == {"regex", "replacement"}


def test_timestamp_router(make: Callable[..., Record]) -> None:
    assert configured(TimestampRouter).apply(make()).topic == "orders-20240201"
    t = configured(TimestampRouter, **{"topic.format": "${timestamp}.${topic}",
                                       "timestamp.format": "yyyy-MM-dd'T'HH.mm.ss.SSS"})
    assert t.apply(make()).topic == "2024-02-01T00.00.00.123.orders"
    with pytest.raises(DataError, match="Timestamp missing"):
        t.apply(make(timestamp=None))
    with pytest.raises(ConfigError):
        configured(TimestampRouter, **{"timestamp.format": "yyyy-QQ"})


def test_filter_drops(make: Callable[..., Record]) -> None:
    assert Filter().apply(make(value={"a": 1})) is None


def test_transforms_do_not_mutate_input(make: Callable[..., Record]) -> None:
    value = {"id": 1, "name": "a", "email": "e"}
    record = make(value=value, value_schema=USER)
    for t in (configured(MaskFieldValue, fields="name"), configured(CastValue, spec="id:string"),
              configured(ReplaceFieldValue, exclude="email")):
        assert t.apply(record).value != value
    assert value == {"id": 1, "name": "a", "email": "e"}
