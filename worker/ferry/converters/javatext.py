"""Values written as Java writes them, so Ferry's bytes match Kafka Connect's.

Pure functions, no I/O. Java prints a double with the shortest digits that round-trip (as
Python does) but switches to ``1.0E7`` notation outside [1e-3, 1e7), where Python keeps
``10000000.0``; a float32 prints with the shortest digits that identify the float32.
Dates follow ``Values.dateFormatFor`` (ISO time, date or timestamp, in UTC).
"""

from __future__ import annotations

import datetime as dt
import math
import struct

_F32 = struct.Struct(">f")


def _java_layout(digits: str, exponent: int) -> str:
    """Lay out ``0.d1d2... x 10^(exponent+1)`` the way Double.toString does."""
    if -3 <= exponent < 7:
        if exponent >= 0:
            whole = digits[: exponent + 1].ljust(exponent + 1, "0")
            return f"{whole}.{digits[exponent + 1:] or '0'}"
        return f"0.{'0' * (-exponent - 1)}{digits}"
    return f"{digits[0]}.{digits[1:] or '0'}E{exponent}"


def _special(value: float) -> str | None:
    if value != value:
        return "NaN"
    if value == math.inf:
        return "Infinity"
    if value == -math.inf:
        return "-Infinity"
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    return None


def java_double(value: float) -> str:
    """``Double.toString(value)``."""
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        return repr(float(value))  # identical to Java in this range
    special = _special(value)
    if special is not None:
        return special
    text = repr(magnitude)
    if len(text.partition("e")[0].replace(".", "").strip("0")) == 1:
        # Java prints at least "d.d" and picks the closest such pair (5e-324 is "4.9E-324").
        text = f"{magnitude:.1e}"
    mantissa, _, exp = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    stripped = all_digits.lstrip("0")
    exponent = len(whole) - (len(all_digits) - len(stripped)) - 1 + (int(exp) if exp else 0)
    text = _java_layout(stripped.rstrip("0") or "0", exponent)
    return "-" + text if value < 0 else text


def to_float32(value: float) -> float:
    """Round a Python float to the nearest float32, as a Java ``(float)`` cast does."""
    try:
        return float(_F32.unpack(_F32.pack(value))[0])
    except OverflowError:
        return math.copysign(math.inf, value)


def java_float(value: float) -> str:
    """``Float.toString(value)`` for a value that is (or is rounded to) a float32."""
    value = to_float32(value)
    special = _special(value)
    if special is not None:
        return special
    magnitude = abs(value)
    # Scientific notation always shows "d.d" (Float.MIN_VALUE is "1.4E-45"); plain needs one.
    first = 1 if 1e-3 <= magnitude < 1e7 else 2
    for precision in range(first, 10):
        text = f"{magnitude:.{precision - 1}e}"
        if to_float32(float(text)) == magnitude:
            break
    mantissa, _, exp = text.partition("e")
    digits = mantissa.replace(".", "").rstrip("0") or "0"
    laid_out = _java_layout(digits, int(exp))
    return "-" + laid_out if value < 0 else laid_out


def java_bool(value: bool) -> str:
    return "true" if value else "false"


MILLIS_PER_DAY = 86_400_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def iso_text_for_millis(millis: int) -> str:
    """``Values.dateFormatFor``: a time below one day, a date on a day boundary, else both."""
    moment = _EPOCH + dt.timedelta(milliseconds=millis)
    if millis < MILLIS_PER_DAY:
        return f"{moment:%H:%M:%S}.{moment.microsecond // 1000:03d}Z"
    if millis % MILLIS_PER_DAY == 0:
        return f"{moment:%Y-%m-%d}"
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"
