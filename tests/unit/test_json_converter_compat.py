"""Byte-exact compatibility with Kafka Connect's JsonConverter.

The expected bytes follow ``JsonConverter.asJsonSchema`` / ``convertToJson`` in apache/kafka
(connect/json): schema keys in the order type, items|keys,values|fields, optional, name,
version, doc, parameters, default; ``field`` last in a struct field; Jackson's compact output;
``float``/``double`` as the JSON names of float32/float64; bytes and Decimal as base64.
"""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from ferry.api.errors import DataError
from ferry.api.schema import (
    BOOLEAN,
    BYTES,
    FLOAT64,
    INT32,
    INT64,
    OPTIONAL_STRING,
    STRING,
    TIMESTAMP,
    Schema,
    Type,
    array,
    map_of,
    primitive,
    struct,
)
from ferry.converters import JsonConverter
from ferry.converters.logical import date_schema, decimal_schema, time_schema


def converter(**config: str) -> JsonConverter:
    c = JsonConverter()
    c.configure(config, False)
    return c


def round_trip(schema: Schema | None, value: object, expected: bytes, **config: str) -> None:
    c = converter(**config)
    assert c.from_connect("t", schema, value) == expected
    back = converter(**config).to_connect("t", expected)
    assert back.schema == schema
    assert back.value == value


@pytest.mark.parametrize(("schema", "value", "expected"), [
    (INT32, 42, b'{"schema":{"type":"int32","optional":false},"payload":42}'),
    (INT64, -9007199254740993,
     b'{"schema":{"type":"int64","optional":false},"payload":-9007199254740993}'),
    (primitive(Type.INT8), -128, b'{"schema":{"type":"int8","optional":false},"payload":-128}'),
    (primitive(Type.INT16), 300, b'{"schema":{"type":"int16","optional":false},"payload":300}'),
    (BOOLEAN, True, b'{"schema":{"type":"boolean","optional":false},"payload":true}'),
    (STRING, 'caf\u00e9 "x"', b'{"schema":{"type":"string","optional":false},'
                             b'"payload":"caf\xc3\xa9 \\"x\\""}'),
    (FLOAT64, 3.25, b'{"schema":{"type":"double","optional":false},"payload":3.25}'),
    (FLOAT64, 12345678.0, b'{"schema":{"type":"double","optional":false},"payload":1.2345678E7}'),
    (FLOAT64, 0.0001, b'{"schema":{"type":"double","optional":false},"payload":1.0E-4}'),
    (primitive(Type.FLOAT32), 0.5, b'{"schema":{"type":"float","optional":false},"payload":0.5}'),
    (OPTIONAL_STRING, None, b'{"schema":{"type":"string","optional":true},"payload":null}'),
])
def test_primitives(schema: Schema, value: object, expected: bytes) -> None:
    round_trip(schema, value, expected)


def test_float32_prints_the_shortest_float32_digits() -> None:
    # 0.1 as a float32 is 0.100000001490116...; Java's Float.toString prints 0.1.
    out = converter().from_connect("t", primitive(Type.FLOAT32), 0.10000000149011612)
    assert out == b'{"schema":{"type":"float","optional":false},"payload":0.1}'


def test_control_characters_escape_with_upper_case_hex_like_jackson() -> None:
    out = converter().from_connect("t", STRING, "a\x1fb\n\\u001f")
    assert out == (b'{"schema":{"type":"string","optional":false},'
                   b'"payload":"a\\u001Fb\\n\\\\u001f"}')


def test_struct_string_fields_escape_like_jackson_too() -> None:
    schema = struct([("s", STRING), ("n", INT64), ("b", BOOLEAN)])
    out = converter().from_connect("t", schema, {"s": "a\x1fb\n\\u001f", "n": -3, "b": True})
    assert out is not None
    assert out.endswith(b'"payload":{"s":"a\\u001Fb\\n\\\\u001f","n":-3,"b":true}}')
    with pytest.raises(DataError, match="Invalid type for integer"):
        converter().from_connect("t", schema, {"s": "x", "n": True, "b": True})


def test_struct_with_optional_field_and_null() -> None:
    schema = struct([("id", INT32), ("name", OPTIONAL_STRING)], name="x")
    expected = (b'{"schema":{"type":"struct","fields":['
                b'{"type":"int32","optional":false,"field":"id"},'
                b'{"type":"string","optional":true,"field":"name"}],'
                b'"optional":false,"name":"x"},"payload":{"id":1,"name":null}}')
    round_trip(schema, {"id": 1, "name": None}, expected)


def test_struct_payload_follows_schema_field_order() -> None:
    schema = struct([("id", INT32), ("name", STRING)])
    out = converter().from_connect("t", schema, {"name": "n", "id": 7, "extra": 1})
    assert out is not None and out.endswith(b'"payload":{"id":7,"name":"n"}}')


def test_nested_struct() -> None:
    inner = struct([("city", STRING)], optional=True, name="addr", version=2)
    schema = struct([("id", INT64), ("address", inner)], name="person")
    expected = (b'{"schema":{"type":"struct","fields":['
                b'{"type":"int64","optional":false,"field":"id"},'
                b'{"type":"struct","fields":[{"type":"string","optional":false,"field":"city"}],'
                b'"optional":true,"name":"addr","version":2,"field":"address"}],'
                b'"optional":false,"name":"person"},'
                b'"payload":{"id":5,"address":{"city":"Oslo"}}}')
    round_trip(schema, {"id": 5, "address": {"city": "Oslo"}}, expected)
    round_trip(schema, {"id": 5, "address": None},
               expected.replace(b'{"city":"Oslo"}', b"null"))


def test_array() -> None:
    expected = (b'{"schema":{"type":"array","items":{"type":"string","optional":false},'
                b'"optional":false},"payload":["a","b"]}')
    round_trip(array(STRING), ["a", "b"], expected)


def test_map_with_string_keys_is_an_object() -> None:
    expected = (b'{"schema":{"type":"map","keys":{"type":"string","optional":false},'
                b'"values":{"type":"int32","optional":false},"optional":false},'
                b'"payload":{"a":1,"b":2}}')
    round_trip(map_of(STRING, INT32), {"a": 1, "b": 2}, expected)


def test_map_with_int_keys_is_an_array_of_pairs() -> None:
    expected = (b'{"schema":{"type":"map","keys":{"type":"int32","optional":false},'
                b'"values":{"type":"string","optional":false},"optional":false},'
                b'"payload":[[1,"a"],[2,"b"]]}')
    round_trip(map_of(INT32, STRING), {1: "a", 2: "b"}, expected)


def test_bytes_are_base64() -> None:
    expected = b'{"schema":{"type":"bytes","optional":false},"payload":"AAEC/w=="}'
    round_trip(BYTES, b"\x00\x01\x02\xff", expected)


def test_decimal_is_base64_of_unscaled_twos_complement() -> None:
    # Kafka's JsonConverterTest: BigDecimal(156, scale 2) is "AJw=".
    expected = (b'{"schema":{"type":"bytes","optional":false,'
                b'"name":"org.apache.kafka.connect.data.Decimal","version":1,'
                b'"parameters":{"scale":"2"}},"payload":"AJw="}')
    round_trip(decimal_schema(2), decimal.Decimal("1.56"), expected)
    negative = converter().from_connect("t", decimal_schema(2), decimal.Decimal("-1.28"))
    assert negative is not None and negative.endswith(b'"payload":"gA=="}')


def test_decimal_numeric_format() -> None:
    expected = (b'{"schema":{"type":"bytes","optional":false,'
                b'"name":"org.apache.kafka.connect.data.Decimal","version":1,'
                b'"parameters":{"scale":"2"}},"payload":1.56}')
    round_trip(decimal_schema(2), decimal.Decimal("1.56"), expected,
               **{"decimal.format": "NUMERIC"})
    # Reading NUMERIC keeps every digit (no float on the way).
    wide = expected.replace(b"1.56", b"12345678901234567890.12")
    assert converter().to_connect("t", wide).value == decimal.Decimal("12345678901234567890.12")


def test_timestamp_date_and_time_are_integers() -> None:
    moment = dt.datetime(1970, 1, 24, 3, 33, 20, tzinfo=dt.UTC)  # 2,000,000,000 ms
    expected = (b'{"schema":{"type":"int64","optional":false,'
                b'"name":"org.apache.kafka.connect.data.Timestamp","version":1},'
                b'"payload":2000000000}')
    round_trip(TIMESTAMP, moment, expected)
    round_trip(date_schema(), dt.date(1970, 1, 11),
               b'{"schema":{"type":"int32","optional":false,'
               b'"name":"org.apache.kafka.connect.data.Date","version":1},"payload":10}')
    round_trip(time_schema(), dt.time(0, 0, 1, 500000),
               b'{"schema":{"type":"int32","optional":false,'
               b'"name":"org.apache.kafka.connect.data.Time","version":1},"payload":1500}')


def test_doc_parameters_and_default_come_last_in_order() -> None:
    schema = Schema(type=Type.INT32, optional=True, name="n", version=3, doc="d",
                    parameters={"k": "v"}, default=5)
    expected = (b'{"schema":{"type":"int32","optional":true,"name":"n","version":3,"doc":"d",'
                b'"parameters":{"k":"v"},"default":5},"payload":5}')
    assert converter().from_connect("t", schema, None) == expected
    back = converter().to_connect("t", expected)
    assert back.schema == schema and back.value == 5


def test_schemas_disabled_writes_and_reads_plain_json() -> None:
    c = converter(**{"schemas.enable": "false"})
    schema = struct([("id", INT32), ("tags", array(STRING))])
    assert c.from_connect("t", schema, {"id": 1, "tags": ["x"]}) == b'{"id":1,"tags":["x"]}'
    assert c.from_connect("t", None, {"a": [1, 2.5, None, True]}) == b'{"a":[1,2.5,null,true]}'
    read = c.to_connect("t", b'{"id": 1, "tags": ["x"], "f": 1.5}')
    assert read.schema is None
    assert read.value == {"id": 1, "tags": ["x"], "f": 1.5}


def test_schemaless_value_in_an_envelope() -> None:
    expected = b'{"schema":null,"payload":{"a":1,"b":"x"}}'
    round_trip(None, {"a": 1, "b": "x"}, expected)


def test_tombstone() -> None:
    c = converter()
    assert c.from_connect("t", None, None) is None
    assert c.to_connect("t", None) == (None, None)
    assert converter(**{"schemas.enable": "false"}).to_connect("t", None) == (None, None)


def test_reading_tolerates_whitespace_and_key_order() -> None:
    pretty = b'''
    { "payload" : { "id" : 3 } ,
      "schema" : { "optional" : false, "type" : "struct",
                   "fields" : [ { "field" : "id", "type" : "int32", "optional" : false } ] } }
    '''
    back = converter().to_connect("t", pretty)
    assert back.value == {"id": 3}
    assert back.schema == struct([("id", INT32)])


def test_reading_the_same_schema_text_reuses_the_parsed_schema() -> None:
    c = converter()
    first = c.to_connect("t", b'{"schema":{"type":"int32","optional":false},"payload":1}')
    second = c.to_connect("t", b'{"schema":{"type":"int32","optional":false},"payload":2}')
    assert first.schema is second.schema
    assert (first.value, second.value) == (1, 2)


# Reading goes through orjson once a schema text is known, and through the stdlib decoder
# otherwise; each message below is read both ways and must give the same answer (or the same
# error) as the stdlib alone. The first message of a schema always takes the stdlib path.
_SCHEMALESS = b'{"schema":null,"payload":%s}'
_STRUCT = (b'{"schema":{"type":"struct","fields":[{"type":"int64","optional":true,"field":"n"},'
           b'{"type":"string","optional":true,"field":"s"}],"optional":false},"payload":%s}')
_ORJSON_EDGES = [
    b"123456789012345678901234567890",  # beyond 64 bits: orjson would give a float
    b"-9223372036854775809",  # below int64: the same
    b"18446744073709551615",
    b"1.000000000000000000000000001",
    b"[1,2.5,-0,1e5,true,null]",
    b'{"a":1,"a":2}',  # duplicate member: the last wins in both
    b'"\\ud800"',  # a lone surrogate escape: the stdlib keeps it, orjson refuses
    b'"caf\xc3\xa9 \\u00e9 \\n"',
    b"NaN",  # not JSON; the stdlib reads it
    b'{"x":1} ',
]


def _stdlib_read(config: dict[str, str], message: bytes) -> object:
    c = converter(**config)
    c._read_fast = lambda data: None  # type: ignore[method-assign]
    try:
        result = c.to_connect("t", message)
    except Exception as exc:  # noqa: BLE001 - the error is the answer compared
        return (type(exc), str(exc))
    return (result.schema, repr(result.value))


def _read_warm(config: dict[str, str], warm: bytes, message: bytes) -> object:
    c = converter(**config)
    c.to_connect("t", warm)
    assert c._read_fast(warm) is not None  # the schema is known: orjson reads it
    try:
        result = c.to_connect("t", message)
    except Exception as exc:  # noqa: BLE001
        return (type(exc), str(exc))
    return (result.schema, repr(result.value))


@pytest.mark.parametrize("payload", _ORJSON_EDGES)
def test_fast_reading_agrees_with_the_stdlib_schemaless_envelope(payload: bytes) -> None:
    message = _SCHEMALESS % payload
    assert _read_warm({}, _SCHEMALESS % b"1", message) == _stdlib_read({}, message)


@pytest.mark.parametrize("payload", _ORJSON_EDGES)
def test_fast_reading_agrees_with_the_stdlib_without_schemas(payload: bytes) -> None:
    config = {"schemas.enable": "false"}
    assert _read_warm(config, b"1", payload) == _stdlib_read(config, payload)


@pytest.mark.parametrize("payload", [
    b'{"n":123456789012345678901234567890,"s":"x"}',
    b'{"n":-5,"s":"\\ud800"}',
    b'{"n":1,"s":"a"},"extra":1',  # another member after the payload
    b'{"n":1,"s":"a"}  ',
    b'{"n":1.5,"s":"a"}',  # a float for int64: the reader's error either way
    b'{"n":1,"s":"a"',  # truncated
])
def test_fast_reading_agrees_with_the_stdlib_for_a_struct(payload: bytes) -> None:
    message = _STRUCT % payload
    assert _read_warm({}, _STRUCT % b"{}", message) == _stdlib_read({}, message)


def test_invalid_utf8_is_a_data_error_on_the_fast_path_too() -> None:
    c = converter()
    c.to_connect("t", _SCHEMALESS % b"null")
    with pytest.raises(DataError, match="serialization error"):
        c.to_connect("t", _SCHEMALESS % b'"\xff"')


def test_struct_field_names_are_data_not_code() -> None:
    # The struct reader is generated per schema; names must stay string literals.
    names = ['q"uote', "it's", "new\nline", "back\\slash", "{v0}", "__import__('os')"]
    schema = struct([(name, INT32) for name in names])
    value = {name: i for i, name in enumerate(names)}
    c = converter()
    data = c.from_connect("t", schema, value)
    assert c.to_connect("t", data).value == value
    assert c.to_connect("t", data).value == value  # the second read takes the fast path
    with pytest.raises(DataError, match="Structs should be encoded as JSON objects"):
        c.to_connect("t", data.replace(b'"payload":{', b'"payload":[{')[:-1] + b"]}")
