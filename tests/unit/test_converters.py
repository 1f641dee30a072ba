"""String, byte-array, simple-header and JSON converters: behaviour, errors and names."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from ferry.api.converter import Converter, HeaderConverter
from ferry.api.errors import ConfigError, DataError
from ferry.api.schema import (
    BOOLEAN,
    FLOAT64,
    INT32,
    INT64,
    OPTIONAL_STRING,
    STRING,
    TIMESTAMP,
    Schema,
    Type,
    array,
    primitive,
    struct,
)
from ferry.converters import (
    BUILTINS,
    ByteArrayConverter,
    JsonConverter,
    SimpleHeaderConverter,
    StringConverter,
)
from ferry.converters.bytes import OPTIONAL_BYTES
from ferry.converters.javatext import java_double, java_float
from ferry.converters.logical import date_schema, decimal_schema

# Names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "cls"), [
    ("StringConverter", StringConverter),
    ("ferry.converters.JsonConverter", JsonConverter),
    ("org.apache.kafka.connect.storage.StringConverter", StringConverter),
    ("org.apache.kafka.connect.json.JsonConverter", JsonConverter),
    ("org.apache.kafka.connect.converters.ByteArrayConverter", ByteArrayConverter),
    ("org.apache.kafka.connect.storage.SimpleHeaderConverter", SimpleHeaderConverter),
    ("ByteArrayConverter", ByteArrayConverter),
    ("SimpleHeaderConverter", SimpleHeaderConverter),
])
def test_builtin_names(name: str, cls: type) -> None:
    assert BUILTINS[name] is cls


def test_every_builtin_is_a_converter_or_header_converter() -> None:
    assert len(BUILTINS) == 12
    for cls in BUILTINS.values():
        assert issubclass(cls, Converter | HeaderConverter)
    assert not issubclass(SimpleHeaderConverter, Converter)


# StringConverter ---------------------------------------------------------------------------


def test_string_converter_round_trip_and_schema() -> None:
    c = StringConverter()
    c.configure({}, False)
    assert c.from_connect("t", STRING, "h\u00e9") == b"h\xc3\xa9"
    assert c.to_connect("t", b"h\xc3\xa9") == (OPTIONAL_STRING, "h\u00e9")
    assert c.from_connect("t", INT32, 42) == b"42"
    assert c.from_connect("t", None, None) is None
    assert c.to_connect("t", None) == (OPTIONAL_STRING, None)


def test_string_converter_encoding_accepts_java_names() -> None:
    c = StringConverter()
    c.configure({"converter.encoding": "ISO-8859-1"}, True)
    assert c.from_connect("t", None, "\u00e9") == b"\xe9"
    assert c.to_connect("t", b"\xe9").value == "\u00e9"
    with pytest.raises(DataError):
        c.from_connect("t", None, "\u20ac")


def test_string_converter_unknown_encoding() -> None:
    with pytest.raises(ConfigError) as err:
        StringConverter().configure({"converter.encoding": "NOPE-9"}, False)
    assert "converter.encoding" in err.value.problems


def test_string_converter_is_a_header_converter() -> None:
    c = StringConverter()
    assert c.from_connect_header("t", "h", None, "v") == b"v"
    assert c.to_connect_header("t", "h", b"v").value == "v"


# ByteArrayConverter ------------------------------------------------------------------------


def test_byte_array_converter_passes_bytes_through() -> None:
    c = ByteArrayConverter()
    c.configure({}, False)
    assert c.from_connect("t", None, b"\x00\xff") == b"\x00\xff"
    assert c.from_connect("t", OPTIONAL_BYTES, bytearray(b"ab")) == b"ab"
    assert c.from_connect("t", None, None) is None
    assert c.to_connect("t", b"xy") == (OPTIONAL_BYTES, b"xy")


def test_byte_array_converter_rejects_other_schemas_and_values() -> None:
    c = ByteArrayConverter()
    with pytest.raises(DataError, match="Invalid schema type for ByteArrayConverter: STRING"):
        c.from_connect("t", STRING, b"x")
    with pytest.raises(DataError, match="not compatible with objects of type str"):
        c.from_connect("t", None, "x")


# SimpleHeaderConverter ---------------------------------------------------------------------


@pytest.mark.parametrize(("schema", "value", "text"), [
    (STRING, "hello", b"hello"),
    (BOOLEAN, True, b"true"),
    (INT32, 42, b"42"),
    (FLOAT64, 2.5, b"2.5"),
    (FLOAT64, 1e7, b"1.0E7"),
    (primitive(Type.FLOAT32), 0.10000000149011612, b"0.1"),
    (None, b"\x01\x02", b"AQI="),
    (array(STRING), ["a", 'b"c'], b'["a","b\\"c"]'),
    (None, {"k": 1, "s": "v"}, b'{"k":1,"s":"v"}'),
    (struct([("id", INT32), ("n", STRING)]), {"id": 1, "n": "x"}, b'{"id":1,"n":"x"}'),
    (TIMESTAMP, dt.datetime(2024, 1, 31, 12, 0, 0, 5000, tzinfo=dt.UTC),
     b"2024-01-31T12:00:00.005Z"),
    (date_schema(), dt.date(2024, 1, 31), b"2024-01-31"),
    (decimal_schema(2), decimal.Decimal("1.50"), b"1.50"),
])
def test_simple_header_converter_writes_text(schema: Schema | None, value: object,
                                             text: bytes) -> None:
    assert SimpleHeaderConverter().from_connect_header("t", "h", schema, value) == text


@pytest.mark.parametrize(("text", "type_", "value"), [
    (b"hello world", Type.STRING, "hello world"),
    (b"", Type.STRING, ""),
    (b"true", Type.BOOLEAN, True),
    (b"false", Type.BOOLEAN, False),
    (b"42", Type.INT8, 42),
    (b"-300", Type.INT16, -300),
    (b"70000", Type.INT32, 70000),
    (b"5000000000", Type.INT64, 5000000000),
    (b"2.5", Type.FLOAT64, 2.5),
    (b"2024-01-31", Type.INT32, dt.date(2024, 1, 31)),
    (b"2024-01-31T12:00:00.005Z", Type.INT64,
     dt.datetime(2024, 1, 31, 12, 0, 0, 5000, tzinfo=dt.UTC)),
    (b"[1,2,300]", Type.ARRAY, [1, 2, 300]),
    (b'{"a":"x"}', Type.MAP, {"a": "x"}),
    (b"12abc", Type.STRING, "12abc"),
])
def test_simple_header_converter_parses_best_fit(text: bytes, type_: Type,
                                                 value: object) -> None:
    read = SimpleHeaderConverter().to_connect_header("t", "h", text)
    assert read.value == value
    assert read.schema is not None and read.schema.type is type_


def test_simple_header_converter_nulls_and_containers() -> None:
    c = SimpleHeaderConverter()
    assert c.from_connect_header("t", "h", None, None) is None
    assert c.to_connect_header("t", "h", None) == (None, None)
    assert c.to_connect_header("t", "h", b"null") == (None, None)
    numbers = c.to_connect_header("t", "h", b"[1,2,300]")
    assert numbers.schema is not None and numbers.schema.value_schema is not None
    assert numbers.schema.value_schema.type is Type.INT16  # widest element wins


def test_simple_header_round_trip_of_ints_keeps_value() -> None:
    c = SimpleHeaderConverter()
    for number in (0, 127, 128, -32769, 2**40):
        data = c.from_connect_header("t", "h", INT64, number)
        assert c.to_connect_header("t", "h", data).value == number


# JsonConverter errors and options -----------------------------------------------------------


def test_json_converter_required_null_is_a_data_error() -> None:
    with pytest.raises(DataError, match="null value for field that is required"):
        JsonConverter().from_connect("t", struct([("id", INT32)]), {"id": None})


def test_json_converter_reading_required_null_is_a_data_error() -> None:
    data = b'{"schema":{"type":"int32","optional":false},"payload":null}'
    with pytest.raises(DataError, match="Invalid null value for required INT32 field"):
        JsonConverter().to_connect("t", data)


def test_json_converter_wrong_type_is_a_data_error() -> None:
    with pytest.raises(DataError, match="Invalid type for integer: str"):
        JsonConverter().from_connect("t", INT32, "x")
    with pytest.raises(DataError, match="Invalid type for boolean"):
        JsonConverter().from_connect("t", BOOLEAN, 1)


def test_json_converter_envelope_is_required_with_schemas() -> None:
    with pytest.raises(DataError, match='requires "schema" and "payload"'):
        JsonConverter().to_connect("t", b'{"a":1}')
    with pytest.raises(DataError, match="serialization error"):
        JsonConverter().to_connect("t", b"{not json")


def test_json_converter_rejects_unknown_schema_type() -> None:
    with pytest.raises(DataError, match="Unknown schema type: nope"):
        JsonConverter().to_connect("t", b'{"schema":{"type":"nope"},"payload":1}')


def test_json_converter_bad_decimal_format_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as err:
        JsonConverter().configure({"decimal.format": "HEX"}, False)
    assert "decimal.format" in err.value.problems


def test_json_converter_replace_null_with_default_off_writes_null() -> None:
    schema = Schema(type=Type.INT32, optional=True, default=7)
    c = JsonConverter()
    c.configure({"replace.null.with.default": "false"}, False)
    out = c.from_connect("t", schema, None)
    assert out == b'{"schema":{"type":"int32","optional":true,"default":7},"payload":null}'
    assert c.to_connect("t", out).value is None


def test_json_converter_decimal_refuses_to_drop_digits() -> None:
    c = JsonConverter()
    assert c.from_connect("t", decimal_schema(2), decimal.Decimal("1.5")) == \
        c.from_connect("t", decimal_schema(2), decimal.Decimal("1.50"))
    with pytest.raises(DataError, match="more fractional digits"):
        c.from_connect("t", decimal_schema(2), decimal.Decimal("1.555"))


def test_json_converter_schema_cache_by_identity_is_reused() -> None:
    c = JsonConverter()
    schema = struct([("id", INT32)])
    first = c.from_connect("t", schema, {"id": 1})
    assert first is not None
    assert c.from_connect("t", schema, {"id": 2}) == first.replace(b"1}}", b"2}}")
    assert len(c._outgoing) == 1


def test_json_converter_as_header_converter() -> None:
    c = JsonConverter()
    data = c.from_connect_header("t", "h", INT32, 5)
    assert data == b'{"schema":{"type":"int32","optional":false},"payload":5}'
    assert c.to_connect_header("t", "h", data).value == 5


# Java text forms -------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "text"), [
    (1.0, "1.0"), (0.001, "0.001"), (9999999.0, "9999999.0"), (1e7, "1.0E7"),
    (-1.5e-7, "-1.5E-7"), (1e21, "1.0E21"), (5e-324, "4.9E-324"), (float("nan"), "NaN"),
    (float("-inf"), "-Infinity"), (-0.0, "-0.0"),
])
def test_java_double(value: float, text: str) -> None:
    assert java_double(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (0.1, "0.1"), (1.1, "1.1"), (3.4028234663852886e38, "3.4028235E38"), (1e-45, "1.4E-45"),
    (16777216.0, "1.6777216E7"), (100.0, "100.0"),
])
def test_java_float(value: float, text: str) -> None:
    assert java_float(value) == text
