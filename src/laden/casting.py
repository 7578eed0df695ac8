"""Cast Arrow columns to the target's column types, finding bad rows without per-row Python.

Every column is cast with Arrow's safe casts (no overflow, no truncation, no lost
precision). When a cast fails for a column, the failing rows are found by bisecting the
array — each step is one vectorised cast — so a batch with k bad values costs O(k log n)
casts, and the good rows go on. Checks the database would otherwise do late (or, on
MySQL's LOAD DATA, not at all) are done here: NOT NULL, string length, numeric range.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from laden.schema import Column, TypeKind

ArrayFn = Callable[[pa.Array], pa.Array]

_TRUE = pa.array(["true", "t", "1", "yes", "y", "on"])
_FALSE = pa.array(["false", "f", "0", "no", "n", "off"])
_INT_RANGE = {24: (-(2**23), 2**23 - 1)}
_UINT_RANGE = {24: (0, 2**24 - 1)}


@dataclass(frozen=True, slots=True)
class BadValue:
    """Row ``index`` of a batch cannot go into ``column``."""

    index: int
    column: str | None
    reason: str


def arrow_type(col: Column) -> pa.DataType:
    """The Arrow type laden casts a source column to before handing it to the backend."""
    k = col.kind
    if k is TypeKind.INTEGER:
        bits = col.int_bits or 64
        bits = 32 if bits == 24 else min(bits, 64)
        return (
            {8: pa.uint8(), 16: pa.uint16(), 32: pa.uint32(), 64: pa.uint64()}[bits]
            if col.unsigned
            else {8: pa.int8(), 16: pa.int16(), 32: pa.int32(), 64: pa.int64()}[bits]
        )
    if k is TypeKind.DECIMAL:
        if col.precision is None:
            return pa.string()  # unbounded numeric: the database parses the text exactly
        scale = col.scale or 0
        return pa.decimal128(col.precision, scale) if col.precision <= 38 else pa.decimal256(col.precision, scale)
    if k is TypeKind.FLOAT:
        return pa.float32() if col.float_bits == 32 else pa.float64()
    if k is TypeKind.BOOLEAN:
        return pa.bool_()
    if k is TypeKind.DATE:
        return pa.date32()
    if k is TypeKind.TIME:
        return pa.time64("us")
    if k is TypeKind.TIMESTAMP:
        return pa.timestamp("us")
    if k is TypeKind.TIMESTAMP_TZ:
        return pa.timestamp("us", tz="UTC")
    if k is TypeKind.BINARY:
        return pa.binary()
    return pa.string()  # STRING, JSON, UUID, OTHER


def cast_column(arr: pa.Array, col: Column) -> tuple[pa.Array, list[BadValue]]:
    """Cast one column; bad rows come back as nulls in the result plus a reason each."""
    target = arrow_type(col)
    fn = _caster(arr.type, target, col)
    try:
        out = fn(arr)
        bad: list[BadValue] = []
    except (
        pa.ArrowInvalid,
        pa.ArrowNotImplementedError,
        pa.ArrowTypeError,
        ValueError,
        OverflowError,
    ) as exc:
        if isinstance(exc, pa.ArrowNotImplementedError) and len(arr) > 0:
            raise TypeError(f"cannot convert Arrow {arr.type} to {col.type} ({exc})") from exc
        out, bad = _bisect(arr, fn, col, target)
    bad.extend(_checks(arr, out, col, {b.index for b in bad}))
    return out, sorted(bad, key=lambda b: b.index)


def _caster(source: pa.DataType, target: pa.DataType, col: Column) -> ArrayFn:
    k = col.kind
    is_str = pa.types.is_string(source)
    if k is TypeKind.BOOLEAN and (is_str or pa.types.is_integer(source)):
        return _to_bool
    if k is TypeKind.TIME and is_str:
        return _str_to_time
    if k is TypeKind.TIMESTAMP_TZ and is_str:
        return _str_to_timestamptz
    if k is TypeKind.TIMESTAMP and pa.types.is_timestamp(source) and source.tz is not None:
        return lambda a: pc.cast(pc.cast(a, pa.timestamp(source.unit, "UTC")), pa.timestamp("us", "UTC")).cast(target)
    if k is TypeKind.JSON and (pa.types.is_nested(source) or pa.types.is_map(source)):
        return _to_json
    if k is TypeKind.UUID:
        return _to_uuid
    if pa.types.is_decimal(target) and pa.types.is_floating(source):
        return lambda a: pc.cast(pc.cast(a, pa.string()), target)
    if pa.types.is_string(target) and not is_str and pa.types.is_nested(source):
        return _to_json
    return lambda a: pc.cast(a, target, safe=True)


def _bisect(arr: pa.Array, fn: ArrayFn, col: Column, target: pa.DataType) -> tuple[pa.Array, list[BadValue]]:
    bad_idx: list[int] = []
    reasons: dict[int, str] = {}

    def visit(lo: int, hi: int) -> None:
        try:
            fn(arr.slice(lo, hi - lo))
            return
        except (
            pa.ArrowInvalid,
            pa.ArrowNotImplementedError,
            pa.ArrowTypeError,
            ValueError,
            OverflowError,
        ) as exc:
            if hi - lo == 1:
                bad_idx.append(lo)
                reasons[lo] = _reason(arr[lo].as_py(), col, exc)
                return
        mid = (lo + hi) // 2
        visit(lo, mid)
        visit(mid, hi)

    visit(0, len(arr))
    mask = np.zeros(len(arr), dtype=bool)
    mask[bad_idx] = True
    cleaned = pc.if_else(pa.array(mask), pa.nulls(len(arr), arr.type), arr)
    out = fn(cleaned)
    return out, [BadValue(i, col.name, reasons[i]) for i in bad_idx]


def _reason(value: object, col: Column, exc: Exception) -> str:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    detail = str(exc).split("\n")[0]
    return f"cannot convert {shown} to {col.type} ({detail})"


def _checks(src: pa.Array, out: pa.Array, col: Column, skip: set[int]) -> list[BadValue]:
    """NOT NULL, length and range checks on the cast column."""
    found: list[BadValue] = []

    def add(mask: pa.Array, reason: Callable[[int], str]) -> None:
        if not pc.any(mask).as_py():
            return
        for i in np.flatnonzero(mask.to_numpy(zero_copy_only=False)):
            if int(i) not in skip:
                found.append(BadValue(int(i), col.name, reason(int(i))))
                skip.add(int(i))

    if not col.nullable and out.null_count:
        add(pc.is_null(out), lambda i: f"NULL in NOT NULL column {col.name!r}")
    if col.max_length is not None and (pa.types.is_string(out.type) or pa.types.is_binary(out.type)):
        text = pa.types.is_string(out.type)
        length = pc.utf8_length(out) if text else pc.binary_length(out)
        unit = "characters" if text else "bytes"
        add(
            pc.fill_null(pc.greater(length, col.max_length), False),
            lambda i: f"value of {length[i].as_py()} {unit} is longer than {col.type} allows ({col.max_length})",
        )
    if col.kind is TypeKind.INTEGER and col.int_bits == 24:
        lo, hi = (_UINT_RANGE if col.unsigned else _INT_RANGE)[24]
        outside = pc.fill_null(pc.or_(pc.less(out, lo), pc.greater(out, hi)), False)
        add(outside, lambda i: f"{out[i].as_py()} is out of range for {col.type}")
    return found


def _to_bool(a: pa.Array) -> pa.Array:
    if pa.types.is_integer(a.type):
        if not pc.all(pc.or_(pc.is_in(a, pa.array([0, 1], a.type)), pc.is_null(a))).as_py():
            raise pa.ArrowInvalid("only 0 and 1 are booleans")
        return pc.cast(a, pa.bool_())
    low = pc.utf8_lower(pc.utf8_trim_whitespace(a))
    is_true = pc.is_in(low, _TRUE)
    is_false = pc.is_in(low, _FALSE)
    if not pc.all(pc.or_(pc.or_(is_true, is_false), pc.is_null(a))).as_py():
        raise pa.ArrowInvalid("expected true/false, t/f, 1/0, yes/no or on/off")
    return pc.if_else(pc.is_null(a), pa.scalar(None, pa.bool_()), is_true)


def _str_to_time(a: pa.Array) -> pa.Array:
    ts = pc.cast(pc.binary_join_element_wise("1970-01-01 ", pc.utf8_trim_whitespace(a), ""), pa.timestamp("us"))
    return pc.cast(pc.cast(ts, pa.int64()), pa.time64("us"))


def _str_to_timestamptz(a: pa.Array) -> pa.Array:
    try:
        return pc.cast(a, pa.timestamp("us", "UTC"))
    except pa.ArrowInvalid:
        # no offset in the text: a wall time taken as UTC
        return pc.cast(pc.cast(a, pa.timestamp("us")), pa.timestamp("us", "UTC"))


def _to_uuid(a: pa.Array) -> pa.Array:
    """Any UUID spelling (16 bytes, 32 hex digits with or without dashes) -> canonical lowercase text."""
    if pa.types.is_fixed_size_binary(a.type) and a.type.byte_width == 16:
        return _uuid_from_bytes(a)
    s = a if pa.types.is_string(a.type) else pc.cast(a, pa.string())
    h = pc.utf8_lower(pc.replace_substring(pc.utf8_trim(s, "{}"), "-", ""))
    ok = pc.or_(pc.fill_null(pc.match_substring_regex(h, "^[0-9a-f]{32}$"), False), pc.is_null(s))
    if not pc.all(ok).as_py():
        raise pa.ArrowInvalid("not a UUID (expected 32 hex digits, dashes optional)")
    return _dashed(h)


def _dashed(h: pa.Array) -> pa.Array:
    parts = [pc.utf8_slice_codeunits(h, s, e) for s, e in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))]
    return pc.binary_join_element_wise(*parts, "-")


def _uuid_from_bytes(a: pa.Array) -> pa.Array:
    from laden.encode import hex_strings

    return _dashed(hex_strings(pc.cast(a, pa.binary())))


def _to_json(a: pa.Array) -> pa.Array:
    # Nested Arrow values have no vectorised JSON writer; this is the one per-row path and
    # only runs for nested source columns (struct, list, map).
    return pa.array([None if v is None else json.dumps(v, default=str) for v in a.to_pylist()], pa.string())


def cast_batch(
    batch: pa.RecordBatch, sources: Sequence[str], columns: Sequence[Column]
) -> tuple[pa.RecordBatch, list[BadValue]]:
    """Cast each source column to its target column. Returns the cast batch (named by target
    columns) and every bad value found; the caller drops those rows."""
    arrays = []
    bad: list[BadValue] = []
    for name, col in zip(sources, columns, strict=True):
        out, problems = cast_column(batch.column(name), col)
        arrays.append(out)
        bad.extend(problems)
    fields = [pa.field(c.name, a.type) for c, a in zip(columns, arrays, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields)), bad
