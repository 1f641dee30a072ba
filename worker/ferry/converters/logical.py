"""Kafka Connect's logical types (Decimal, Timestamp, Date, Time) and their wire forms.

Pure functions, no I/O. In memory a Decimal is a :class:`decimal.Decimal`, a Timestamp an
aware UTC :class:`datetime.datetime`, a Date a :class:`datetime.date` and a Time a
:class:`datetime.time`; on the wire they are what Kafka Connect writes: the unscaled value as
big-endian two's complement bytes, epoch milliseconds, epoch days and milliseconds since
midnight. Writers also accept the wire form (an ``int``) so connectors can pass it through.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from ferry.api.errors import DataError
from ferry.api.schema import DATE_NAME, DECIMAL_NAME, TIME_NAME, TIMESTAMP_NAME, Schema, Type

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_DATE = dt.date(1970, 1, 1)
MILLIS_PER_DAY = 86_400_000
_MILLI = dt.timedelta(milliseconds=1)

# Scaling by a power of ten must never round: Kafka Connect carries every digit.
_EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)

SCALE_PARAMETER = "scale"


def logical_kind(schema: Schema) -> str | None:
    """The logical type name when ``schema`` carries one on the right primitive, else None."""
    name = schema.name
    if name == DECIMAL_NAME and schema.type is Type.BYTES:
        return name
    if name == TIMESTAMP_NAME and schema.type is Type.INT64:
        return name
    if name in (DATE_NAME, TIME_NAME) and schema.type is Type.INT32:
        return name
    return None


def decimal_schema(scale: int, *, optional: bool = False) -> Schema:
    return Schema(type=Type.BYTES, optional=optional, name=DECIMAL_NAME, version=1,
                  parameters={SCALE_PARAMETER: str(scale)})


def date_schema(*, optional: bool = False) -> Schema:
    return Schema(type=Type.INT32, optional=optional, name=DATE_NAME, version=1)


def time_schema(*, optional: bool = False) -> Schema:
    return Schema(type=Type.INT32, optional=optional, name=TIME_NAME, version=1)


def decimal_scale(schema: Schema) -> int:
    raw = (schema.parameters or {}).get(SCALE_PARAMETER)
    if raw is None:
        raise DataError("Invalid Decimal schema: scale parameter not found.")
    try:
        return int(raw)
    except ValueError:
        raise DataError(
            f"Invalid Decimal schema: scale parameter {raw!r} is not an integer") from None


def decimal_to_unscaled(value: Any, scale: int) -> int:
    """The unscaled integer of ``value`` at ``scale``; refuses to drop digits."""
    if not isinstance(value, decimal.Decimal):
        if isinstance(value, int) and not isinstance(value, bool):
            value = decimal.Decimal(value)
        else:
            raise DataError(
                f"Invalid type for Decimal, expected Decimal but was {type(value).__name__}")
    if not value.is_finite():
        raise DataError(f"Decimal value {value} cannot be serialized")
    scaled = value.scaleb(scale, _EXACT)
    if scaled != scaled.to_integral_value():
        raise DataError(
            f"Decimal {value} has more fractional digits than the schema's scale {scale}")
    return int(scaled)


def decimal_to_bytes(value: Any, scale: int) -> bytes:
    """Big-endian two's complement of the unscaled value, as Java's BigInteger.toByteArray."""
    unscaled = decimal_to_unscaled(value, scale)
    magnitude = unscaled if unscaled >= 0 else ~unscaled
    return unscaled.to_bytes(magnitude.bit_length() // 8 + 1, "big", signed=True)


def bytes_to_decimal(data: bytes, scale: int) -> decimal.Decimal:
    unscaled = int.from_bytes(data, "big", signed=True)
    # Built from text so the exponent is exactly -scale (Decimal("12345E-2") == 123.45).
    return decimal.Decimal(f"{unscaled}E{-scale}")


def timestamp_to_millis(value: Any) -> int:
    if type(value) is int:
        return value
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return (aware - EPOCH) // _MILLI
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise DataError(f"Invalid type for Timestamp, expected datetime but was {type(value).__name__}")


def millis_to_timestamp(millis: int) -> dt.datetime:
    return EPOCH + dt.timedelta(milliseconds=millis)


def date_to_days(value: Any) -> int:
    if type(value) is int:
        return value
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return (value - EPOCH_DATE).days
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise DataError(f"Invalid type for Date, expected date but was {type(value).__name__}")


def days_to_date(days: int) -> dt.date:
    return EPOCH_DATE + dt.timedelta(days=days)


def time_to_millis(value: Any) -> int:
    if type(value) is int:
        return value
    if isinstance(value, dt.datetime):
        value = value.time()
    if isinstance(value, dt.time):
        return ((value.hour * 60 + value.minute) * 60 + value.second) * 1000 \
            + value.microsecond // 1000
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise DataError(f"Invalid type for Time, expected time but was {type(value).__name__}")


def millis_to_time(millis: int) -> dt.time:
    if not 0 <= millis < MILLIS_PER_DAY:
        raise DataError(f"Time value {millis} is outside a single day")
    return (dt.datetime.min + dt.timedelta(milliseconds=millis)).time()
