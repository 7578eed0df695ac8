"""Columnar text for CSV and JSON: every function maps whole columns with Arrow kernels.

No value becomes a Python object: a batch of JSON rows comes out as one string array whose
data buffer is exactly the bytes to write.

JSON (JSON Lines and JSON array files) encodes:

==========================  ===========================================================
Arrow                       JSON
==========================  ===========================================================
NULL                        ``null``
boolean                     ``true`` / ``false``
integers                    numbers, exact (a reader that parses numbers as doubles
                            rounds integers beyond 2**53: that is the reader's doing)
floats                      shortest round-trip numbers; NaN and infinity are refused
decimal                     strings in plain notation with every digit of the scale,
                            ``"-0.000000001"``: exact whatever the reader
string                      strings escaped per RFC 8259, non-ASCII as UTF-8
date / time                 ``"2024-01-31"`` / ``"12:34:56.123456"``
timestamp                   RFC 3339 with every fractional digit of the unit:
                            ``"2024-01-31T12:34:56.123456"``; with a time zone the
                            zone's local time and offset (``+01:00``, ``Z`` for UTC),
                            or the UTC time and ``Z`` where the local form would not
                            give the instant back (see :func:`utc_rows`)
list / struct               arrays / objects
binary, duration, map, ...  refused: write Parquet, or cast the column first
==========================  ===========================================================
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from laden.encode import arrow_scalar

__all__ = [
    "Unrepresentable",
    "check_json",
    "csv_problem",
    "json_objects",
    "json_problem",
    "json_values",
    "plain_decimal",
    "text_bytes",
    "utc_rows",
]

_TEXT = pa.large_string()
#: pyarrow writes decimals whose adjusted exponent is below -6 in scientific notation ("1E-9")
_PLAIN_UP_TO_SCALE = 6
_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


class Unrepresentable(ValueError):
    """A value the format cannot hold; ``index`` is its row in the batch (None: inside a nested value)."""

    def __init__(self, column: str, index: int | None, reason: str) -> None:
        self.column, self.index, self.reason = column, index, reason
        super().__init__(reason)


def _lit(text: str) -> pa.Scalar:
    return arrow_scalar(text, _TEXT)


def _common_problem(t: pa.DataType) -> str | None:
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "binary values have no text form here: write Parquet, or cast the column to text (hex, base64) first"
    if pa.types.is_duration(t) or pa.types.is_interval(t):
        return "durations have no agreed text form: write Parquet, or convert the column to a number first"
    if pa.types.is_float16(t):
        return "half floats cannot be written as text: cast the column to float32 first"
    if isinstance(t, pa.ExtensionType):
        return f"extension type {t} cannot be written as text: write Parquet, or cast the column first"
    return None


def csv_problem(t: pa.DataType) -> str | None:
    """Why CSV cannot hold a column of type ``t`` (after :func:`laden.source.normalize_batch`), or None."""
    if pa.types.is_nested(t):
        return "CSV holds no nested values (lists, structs, maps): write JSON Lines or Parquet"
    return _common_problem(t)


def json_problem(t: pa.DataType) -> str | None:
    """Why JSON cannot hold a column of type ``t``, or None."""
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return json_problem(t.value_type)
    if pa.types.is_struct(t):
        return next((p for f in t if (p := json_problem(f.type))), None)
    if pa.types.is_nested(t):
        return f"{t} values cannot be written as JSON: write Parquet, or turn them into lists or structs first"
    return _common_problem(t)


def plain_decimal(array: pa.Array) -> pa.Array:
    """Decimals as text in plain notation with every digit of the scale (never ``1E-9``)."""
    text = array.cast(pa.string())
    scale = array.type.scale
    if scale <= _PLAIN_UP_TO_SCALE or not pc.any(pc.match_substring(text, "E")).as_py():
        return text
    # d.dddE-k is 0.(k-1 zeros)dddd: one vectorised rewrite per exponent that can occur
    # (RE2 back-references are one digit: "\\10." is group 1, then "0.")
    for k in range(_PLAIN_UP_TO_SCALE + 1, scale + 1):
        text = pc.replace_substring_regex(
            text, pattern=rf"^(-?)(\d)(?:\.(\d*))?E-{k}$", replacement="\\10." + "0" * (k - 1) + "\\2\\3"
        )
    return text


_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def utc_rows(array: pa.Array) -> np.ndarray | None:
    """The rows of a zoned timestamp column whose local time and offset would not give the instant
    back, or None when there are none (or the column has no zone). Written in UTC (``Z``) instead:

    * an offset with seconds: local mean time, before the zone had a standard offset (Berlin was
      +00:53:28 until 1893, St. John's -03:30:52 until 1935); RFC 3339 and pyarrow write the
      offset in minutes, so ``00:53:28+00:53`` would be an instant 28 seconds off;
    * a local year outside 1..9999 (9999-12-31T23:30Z in Berlin is 10000-01-01T00:30+01:00):
      RFC 3339 has four-digit years and readers (pyarrow, Python) refuse the others.
    """
    t = array.type
    if not pa.types.is_timestamp(t) or t.tz is None or len(array) == 0:
        return None
    local = pc.local_timestamp(array)
    offset = pc.subtract(pc.cast(local, pa.int64()), pc.cast(array, pa.int64()))
    seconds = np.asarray(pc.fill_null(offset, 0).to_numpy(zero_copy_only=False)) % (60 * _PER_SECOND[t.unit]) != 0
    year = np.asarray(pc.fill_null(pc.year(local), 1970).to_numpy(zero_copy_only=False))
    mask = seconds | (year < 1) | (year > 9999)
    return mask if mask.any() else None


def _rfc3339(array: pa.Array) -> pa.Array:
    text = pc.replace_substring(array.cast(_TEXT), " ", "T", max_replacements=1)
    if array.type.tz is not None:  # pyarrow writes +0100; RFC 3339 wants +01:00
        text = pc.replace_substring_regex(text, pattern=r"([+-]\d\d)(\d\d)$", replacement=r"\1:\2")
        utc = utc_rows(array)
        if utc is not None:
            in_utc = array.cast(pa.timestamp(array.type.unit, "UTC")).cast(_TEXT)  # "...Z"
            text = pc.if_else(pa.array(utc), pc.replace_substring(in_utc, " ", "T", max_replacements=1), text)
    return text


def _json_string(array: pa.Array) -> pa.Array:
    text = pc.replace_substring(array.cast(_TEXT), "\\", "\\\\")
    text = pc.replace_substring(text, '"', '\\"')
    if pc.any(pc.match_substring_regex(text, r"[\x00-\x1f]")).as_py():
        for code in range(0x20):
            char = chr(code)
            text = pc.replace_substring(text, char, _ESCAPES.get(char, f"\\u{code:04x}"))
    return _quoted(text)


def _quoted(text: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(_lit('"'), text.cast(_TEXT), _lit('"'), _lit(""))


def _refuse_non_finite(array: pa.Array, column: str, top: bool) -> None:
    bad = pc.or_(pc.is_nan(array), pc.is_inf(array))
    if pc.any(bad).as_py():
        index = pc.index(bad, True).as_py() if top else None
        raise Unrepresentable(column, index, "JSON has no NaN or infinity")


def _json_float(array: pa.Array, column: str, top: bool) -> pa.Array:
    _refuse_non_finite(array, column, top)
    return array.cast(_TEXT)


def _json_list(array: pa.Array, column: str) -> pa.Array:
    offsets = array.offsets
    start = offsets[0].as_py()
    values = array.values.slice(start, offsets[-1].as_py() - start)
    rebased = pc.subtract(offsets.cast(pa.int64()), pa.scalar(start, pa.int64()))
    items = pa.LargeListArray.from_arrays(rebased, json_values(values, column, top=False))
    return pc.binary_join_element_wise(_lit("["), pc.binary_join(items, _lit(",")), _lit("]"), _lit(""))


def _json_struct(array: pa.Array, column: str) -> pa.Array:
    t = array.type
    if t.num_fields == 0:
        return pc.fill_null(pa.nulls(len(array), _TEXT), _lit("{}"))
    parts: list[pa.Array | pa.Scalar] = []
    for i, f in enumerate(t):
        parts.append(_lit(("{" if i == 0 else ",") + json.dumps(f.name, ensure_ascii=False) + ":"))
        parts.append(json_values(array.field(i), f"{column}.{f.name}", top=False))
    return pc.binary_join_element_wise(*parts, _lit("}"), _lit(""))


def json_values(array: pa.Array, column: str, *, top: bool = True) -> pa.Array:
    """The JSON text of every value of ``array`` (``null`` for NULL), as a large_string array without NULLs."""
    t = array.type
    if pa.types.is_null(t):
        text = pa.nulls(len(array), _TEXT)
    elif pa.types.is_boolean(t) or pa.types.is_integer(t):
        text = array.cast(_TEXT)
    elif pa.types.is_floating(t):
        text = _json_float(array, column, top)
    elif pa.types.is_decimal(t):
        text = _quoted(plain_decimal(array))
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        text = _json_string(array)
    elif pa.types.is_timestamp(t):
        text = _quoted(_rfc3339(array))
    elif pa.types.is_date(t) or pa.types.is_time(t):
        text = _quoted(array.cast(_TEXT))
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        text = _json_list(array, column)
    elif pa.types.is_struct(t):
        text = _json_struct(array, column)
    else:  # refused up front by json_problem
        raise Unrepresentable(column, None, json_problem(t) or f"{t} cannot be written as JSON")
    if array.null_count:
        text = pc.if_else(array.is_null(), _lit("null"), text)
    return pc.fill_null(text, _lit("null"))


def check_json(batch: pa.RecordBatch) -> None:
    """Raise :class:`Unrepresentable` for the first NaN or infinity in a float column of ``batch``."""
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if pa.types.is_floating(column.type):
            _refuse_non_finite(column, name, top=True)


def json_objects(batch: pa.RecordBatch) -> pa.Array:
    """One JSON object per row, keys in column order."""
    if batch.num_columns == 0:
        return pc.fill_null(pa.nulls(batch.num_rows, _TEXT), _lit("{}"))
    parts: list[pa.Array | pa.Scalar] = []
    for i, (name, column) in enumerate(zip(batch.schema.names, batch.columns, strict=True)):
        parts.append(_lit(("{" if i == 0 else ",") + json.dumps(name, ensure_ascii=False) + ":"))
        parts.append(json_values(column, name))
    return pc.binary_join_element_wise(*parts, _lit("}"), _lit(""))


def text_bytes(rows: pa.Array, separator: str) -> pa.Buffer:
    """The rows, each followed by ``separator``, as one buffer (a slice of Arrow's own data buffer)."""
    joined = pc.binary_join_element_wise(rows.cast(_TEXT), _lit(separator), _lit(""))
    _, offsets_buffer, data = joined.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64, count=len(joined) + 1, offset=joined.offset * 8)
    start, end = int(offsets[0]), int(offsets[-1])
    if data is None or end == start:
        return pa.py_buffer(b"")
    return data.slice(start, end - start)
