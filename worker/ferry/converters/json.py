"""JsonConverter: reads and writes the same bytes as Kafka Connect's ``JsonConverter``.

With ``schemas.enable=true`` (the default) every message is an envelope
``{"schema":{...},"payload":...}``; with ``false`` it is the plain JSON value and reading
yields no schema. Derived work is cached: the envelope's schema text and the compiled
writer per schema object (by identity), and the parsed schema per schema text.

Reading parses with orjson where it gives exactly what the standard library's decoder gives,
and with the standard library otherwise: orjson turns integers beyond 64 bits into floats,
has no exact decimals and refuses ``NaN``; those messages (and anything orjson rejects) take
the stdlib path, which also words the errors.
"""

from __future__ import annotations

import decimal
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from ferry.api.config import ConfigDef, ConfigType, Importance, at_least, one_of
from ferry.api.converter import Converter, HeaderConverter, SchemaAndValue
from ferry.api.errors import DataError
from ferry.api.schema import Schema
from ferry.converters.json_read import Reader, compile_reader, has_decimal, read_default
from ferry.converters.json_schema import schema_from_json, schema_to_json
from ferry.converters.json_write import WriteOptions, Writer, compile_writer

SCHEMAS_ENABLE = "schemas.enable"
SCHEMAS_CACHE_SIZE = "schemas.cache.size"
DECIMAL_FORMAT = "decimal.format"
REPLACE_NULL_WITH_DEFAULT = "replace.null.with.default"

_PREFIX = '{"schema":'
_PAYLOAD = ',"payload":'
_FLOAT_DECODER = json.JSONDecoder()
# Decimals in NUMERIC form must not pass through a float on the way in.
_DECIMAL_DECODER = json.JSONDecoder(parse_float=decimal.Decimal)
_RECENT = 8  # schema texts tried by prefix before parsing the schema member
_PREFIX_BYTES = _PREFIX.encode()
_PAYLOAD_BYTES = _PAYLOAD.encode()
# orjson reads integers outside [-2**63, 2**64) as floats; no run of 18 digits can be one.
# (translate + find is ten times faster than a regular expression for the same search.)
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_DIGITS = b"0" * 19


@dataclass(frozen=True, slots=True)
class _Outgoing:
    schema: Schema | None
    prefix: str  # '{"schema":<schema json>,"payload":'
    write: Writer


@dataclass(frozen=True, slots=True)
class _Incoming:
    text: str  # the schema member exactly as it appeared on the wire
    raw: bytes  # the same, encoded
    schema: Schema | None
    read: Reader | None
    decoder: json.JSONDecoder


class JsonConverter(Converter, HeaderConverter):
    """Kafka Connect's JSON format, with or without the schema envelope.

    Example (connector config)::

        value.converter=org.apache.kafka.connect.json.JsonConverter
        value.converter.schemas.enable=false
    """

    config_def: ClassVar[ConfigDef] = (
        ConfigDef()
        .define(SCHEMAS_ENABLE, ConfigType.BOOLEAN, True, Importance.HIGH,
                "Include schemas within each of the serialized values and keys.")
        .define(SCHEMAS_CACHE_SIZE, ConfigType.INT, 1000, Importance.LOW,
                "Maximum number of schemas to cache in each direction.", at_least(1))
        .define(DECIMAL_FORMAT, ConfigType.STRING, "BASE64", Importance.LOW,
                "How decimals are written: BASE64 (default) or NUMERIC.",
                one_of("BASE64", "NUMERIC"))
        .define(REPLACE_NULL_WITH_DEFAULT, ConfigType.BOOLEAN, True, Importance.LOW,
                "Whether a null field with a default is written and read as the default.")
    )

    def __init__(self) -> None:
        self.configure({})

    def configure(self, config: Mapping[str, Any], is_key: bool = False) -> None:
        values = self.config_def.parse(config)
        self._schemas_enabled: bool = values[SCHEMAS_ENABLE]
        self._cache_size: int = values[SCHEMAS_CACHE_SIZE]
        self._replace_null: bool = values[REPLACE_NULL_WITH_DEFAULT]
        self._options = WriteOptions(
            decimal_numeric=values[DECIMAL_FORMAT].upper() == "NUMERIC",
            replace_null_with_default=self._replace_null,
        )
        self._outgoing: dict[int, _Outgoing] = {}
        self._incoming: dict[str, _Incoming] = {}
        self._recent: list[_Incoming] = []

    # Writing -------------------------------------------------------------------------

    def from_connect(self, topic: str, schema: Schema | None, value: Any) -> bytes | None:
        if schema is None and value is None:
            return None
        out = self._outgoing.get(id(schema))
        if out is None or out.schema is not schema:
            out = self._compile_outgoing(schema)
        if self._schemas_enabled:
            return (out.prefix + out.write(value) + "}").encode()
        return out.write(value).encode()

    def _compile_outgoing(self, schema: Schema | None) -> _Outgoing:
        if len(self._outgoing) >= self._cache_size:
            self._outgoing.clear()
        prefix = _PREFIX + schema_to_json(schema, self._options) + _PAYLOAD
        # The entry keeps the schema alive, so its id() cannot be reused while cached.
        out = _Outgoing(schema, prefix, compile_writer(schema, self._options))
        self._outgoing[id(schema)] = out
        return out

    # Reading -------------------------------------------------------------------------

    def to_connect(self, topic: str, data: bytes | None) -> SchemaAndValue:
        if data is None:
            return SchemaAndValue(None, None)
        fast = self._read_fast(data)
        if fast is not None:
            return fast
        try:
            text = data.decode()
        except UnicodeDecodeError as exc:
            raise _serialization_error(exc) from None
        if not self._schemas_enabled:
            if not text.strip():
                return SchemaAndValue(None, None)
            try:
                return SchemaAndValue(None, _FLOAT_DECODER.decode(text))
            except ValueError as exc:
                raise _serialization_error(exc) from None
        if text.startswith(_PREFIX):
            fast = self._read_compact(text)
            if fast is not None:
                return fast
        return self._read_any(text)

    def _read_fast(self, data: bytes) -> SchemaAndValue | None:
        """orjson on the bytes when the answer is certain to be the stdlib's; else None.

        With schemas, only an envelope whose schema member is one of the recent ones is read
        here (the stdlib path parses and remembers a new one): everything between
        ``,"payload":`` and the closing brace must then be one JSON value, or the envelope
        has other members and the stdlib path reports it.
        """
        if not self._schemas_enabled:
            value = _orjson_or_none(data)
            return None if value is _UNREAD else SchemaAndValue(None, value)
        if not data.startswith(_PREFIX_BYTES):
            return None
        start = len(_PREFIX_BYTES)
        for entry in self._recent:
            if data.startswith(entry.raw, start):
                break
        else:
            return None
        at = start + len(entry.raw)
        end = len(data.rstrip())
        if (entry.decoder is _DECIMAL_DECODER or not data.startswith(_PAYLOAD_BYTES, at)
                or data[end - 1:end] != b"}"):
            return None
        value = _orjson_or_none(data[at + len(_PAYLOAD_BYTES):end - 1])
        if value is _UNREAD:
            return None
        # tuple.__new__ directly: half the cost of calling the NamedTuple class.
        return _new_tuple(SchemaAndValue,
                          (entry.schema, value if entry.read is None else entry.read(value)))

    def _read_compact(self, text: str) -> SchemaAndValue | None:
        """The envelope as Kafka Connect writes it: no whitespace, schema then payload."""
        start = len(_PREFIX)
        entry = None
        for candidate in self._recent:
            if text.startswith(candidate.text, start):
                entry = candidate
                break
        if entry is None:
            try:
                _, end = _FLOAT_DECODER.raw_decode(text, start)
            except ValueError:
                return None
            entry = self._incoming.get(text[start:end]) or self._parse_schema(text[start:end])
            self._remember(entry)
        at = start + len(entry.text)
        if not text.startswith(_PAYLOAD, at):
            return None
        try:
            payload, end = entry.decoder.raw_decode(text, at + len(_PAYLOAD))
        except ValueError:
            return None
        if text[end:].rstrip() != "}":
            return None
        return SchemaAndValue(entry.schema, payload if entry.read is None else entry.read(payload))

    def _read_any(self, text: str) -> SchemaAndValue:
        try:
            envelope = _FLOAT_DECODER.decode(text)
        except ValueError as exc:
            raise _serialization_error(exc) from None
        if not (isinstance(envelope, dict) and len(envelope) == 2
                and "schema" in envelope and "payload" in envelope):
            raise DataError(
                'JsonConverter with schemas.enable requires "schema" and "payload" fields and '
                "may not contain additional fields. If you are trying to deserialize plain JSON "
                "data, set schemas.enable=false in your converter configuration.")
        key = json.dumps(envelope["schema"], separators=(",", ":"), ensure_ascii=False)
        entry = self._incoming.get(key) or self._parse_schema(key, envelope["schema"])
        payload = envelope["payload"]
        if entry.decoder is _DECIMAL_DECODER:
            payload = _DECIMAL_DECODER.decode(text)["payload"]
        return SchemaAndValue(entry.schema, payload if entry.read is None else entry.read(payload))

    def _parse_schema(self, schema_text: str, node: Any = None) -> _Incoming:
        if node is None:
            node = _FLOAT_DECODER.decode(schema_text)
        schema = schema_from_json(node, read_default)
        entry = _Incoming(
            schema_text, schema_text.encode(), schema,
            None if schema is None else compile_reader(schema, self._replace_null),
            _DECIMAL_DECODER if has_decimal(schema) else _FLOAT_DECODER,
        )
        if len(self._incoming) >= self._cache_size:
            self._incoming.clear()
        self._incoming[schema_text] = entry
        return entry

    def _remember(self, entry: _Incoming) -> None:
        if any(known is entry for known in self._recent):
            return
        self._recent.insert(0, entry)
        del self._recent[_RECENT:]

    # Headers -------------------------------------------------------------------------

    def from_connect_header(self, topic: str, key: str, schema: Schema | None,
                            value: Any) -> bytes | None:
        return self.from_connect(topic, schema, value)

    def to_connect_header(self, topic: str, key: str, data: bytes | None) -> SchemaAndValue:
        return self.to_connect(topic, data)


_UNREAD: Any = object()
_new_tuple = tuple.__new__


def _orjson_or_none(body: bytes) -> Any:
    """The JSON value of ``body`` by orjson, or ``_UNREAD`` where it might differ from json's."""
    if _LONG_DIGITS in body.translate(_DIGITS_AS_ZERO):
        return _UNREAD
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return _UNREAD


def _serialization_error(exc: Exception) -> DataError:
    return DataError("Converting byte[] to Kafka Connect data failed due to serialization "
                     f"error: {exc}")
