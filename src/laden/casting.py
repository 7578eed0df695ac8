"""Cast Arrow columns to the target's column types, finding bad rows without per-row Python.

Every column is cast with Arrow's safe casts (no overflow, no truncation, no lost
precision). When a cast fails for a column, the failing rows are found by bisecting the
array — each step is one vectorised cast — so a batch with k bad values costs O(k log n)
casts, and the good rows go on. Checks the database would otherwise do late (or, on
MySQL's LOAD DATA, not at all) are done here: NOT NULL, string length, numeric range.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from laden.schema import Column, TypeKind

ArrayFn = Callable[[pa.Array], pa.Array]

# plain tuples: building Arrow arrays from Python lists at import time would import pandas (~0.25 s)
_TRUE = ("true", "t", "1", "yes", "y", "on")
_FALSE = ("false", "f", "0", "no", "n", "off")
#: what a failed Arrow cast (or one of laden's conversions) raises
_CAST_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, ValueError, OverflowError)
_TIMES = (TypeKind.TIME, TypeKind.TIMESTAMP, TypeKind.TIMESTAMP_TZ)
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
    """Cast one column; bad rows come back as nulls in the result plus a reason each. A source
    type that cannot go into the column at all raises TypeError."""
    target = arrow_type(col)
    fn = _caster(arr.type, target, col)
    try:
        out = fn(arr)
        bad: list[BadValue] = []
    except _CAST_ERRORS as exc:
        if isinstance(exc, pa.ArrowNotImplementedError) and len(arr) > 0:
            raise TypeError(f"{_described(arr.type)} cannot go into {col.type}; convert it in the source") from exc
        out, bad = _cast_trimmed(arr, fn, col)
    bad.extend(_checks(arr, out, col, {b.index for b in bad}))
    return out, sorted(bad, key=lambda b: b.index)


_PARSED = (
    TypeKind.INTEGER,
    TypeKind.FLOAT,
    TypeKind.DECIMAL,
    TypeKind.DATE,
    TypeKind.TIMESTAMP,
    TypeKind.TIMESTAMP_TZ,
    TypeKind.UUID,
)


def _cast_trimmed(arr: pa.Array, fn: ArrayFn, col: Column) -> tuple[pa.Array, list[BadValue]]:
    """After the cast of ``arr`` failed: text parsed as a number, date, time or UUID may have
    spaces around it, as the databases allow (trimmed here, once, so clean text never pays for
    it); what still fails is found by bisection and explained with the value as given."""
    work = pc.utf8_trim_whitespace(arr) if pa.types.is_string(arr.type) and col.kind in _PARSED else arr
    if work is not arr:
        try:
            return fn(work), []
        except _CAST_ERRORS:
            pass
    return _bisect(work, fn, col, arr)


def _caster(source: pa.DataType, target: pa.DataType, col: Column) -> ArrayFn:
    k = col.kind
    is_str = pa.types.is_string(source)
    if pa.types.is_duration(source) or pa.types.is_interval(source):
        raise TypeError(
            f"Arrow {source} (a duration) has no loss-free form for {col.type}; convert it to a number of "
            "seconds or microseconds (or text) in the source"
        )
    _refuse_meaning_change(source, col)
    if k is TypeKind.BOOLEAN and (is_str or pa.types.is_integer(source) or pa.types.is_floating(source)):
        return _to_bool
    if k is TypeKind.TIME and is_str:
        return _str_to_time
    if k is TypeKind.TIME and pa.types.is_timestamp(source):
        raise TypeError(f"a timestamp has a date that {col.type} would drop; take the time of day in the source")
    if k is TypeKind.DATE and pa.types.is_timestamp(source):
        return _ts_to_date
    if k in (TypeKind.TIMESTAMP, TypeKind.TIMESTAMP_TZ) and is_str:
        return _str_to_timestamp if k is TypeKind.TIMESTAMP else _str_to_timestamptz
    if k is TypeKind.TIMESTAMP and pa.types.is_timestamp(source) and source.tz is not None:
        # an instant into a column without zone: its UTC wall time (what PostgreSQL does in a UTC session)
        return lambda a: pc.cast(pc.cast(a, pa.timestamp(source.unit, "UTC")), pa.timestamp("us", "UTC")).cast(target)
    if k is TypeKind.JSON and (pa.types.is_nested(source) or pa.types.is_map(source)):
        return _to_json
    if k is TypeKind.JSON and pa.types.is_temporal(source):
        return _temporal_to_json
    if k is TypeKind.UUID:
        return _to_uuid
    if pa.types.is_decimal(target) and (pa.types.is_floating(source) or pa.types.is_integer(source)):
        # through text: exact digits, and Arrow's int->decimal cast demands a precision for the whole type
        return lambda a: pc.cast(pc.cast(a, pa.string()), target)
    if pa.types.is_string(target) and not is_str and pa.types.is_nested(source):
        return _to_json
    return lambda a: pc.cast(a, target, safe=True)


_NUMBERS = (TypeKind.INTEGER, TypeKind.FLOAT, TypeKind.DECIMAL, TypeKind.BOOLEAN)
_DATES_AND_TIMES = (TypeKind.DATE, TypeKind.TIME, TypeKind.TIMESTAMP, TypeKind.TIMESTAMP_TZ)


def _is_number(t: pa.DataType) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t) or pa.types.is_boolean(t))


def _refuse_meaning_change(source: pa.DataType, col: Column) -> None:
    """Casts Arrow would do that change what a value means: a date as a count of days, a count of
    microseconds as a timestamp, a boolean as numeric text the database cannot read."""
    why = None
    if pa.types.is_temporal(source) and col.kind is TypeKind.BOOLEAN:
        why = "; convert it in the source"
    elif pa.types.is_temporal(source) and col.kind in _NUMBERS:
        why = (
            ": laden does not turn dates and times into numbers; "
            "convert it in the source (to epoch seconds, say) if that is what you mean"
        )
    elif _is_number(source) and col.kind in _DATES_AND_TIMES:
        why = (
            ": laden does not read numbers as dates or times "
            "(seconds? milliseconds? days?); convert it in the source, or give ISO 8601 text"
        )
    elif col.kind is TypeKind.DECIMAL and pa.types.is_boolean(source):
        why = "; convert it to 0 and 1 in the source"
    elif col.kind is TypeKind.DECIMAL and not (
        _is_number(source) or pa.types.is_string(source) or pa.types.is_null(source)
    ):
        why = "; convert it in the source"
    if why is not None:
        raise TypeError(f"{_described(source)} cannot go into {col.type}{why}")


def _described(t: pa.DataType) -> str:
    """A source column's Arrow type in words, for messages."""
    checks = (
        (pa.types.is_timestamp, "a timestamp column"),
        (pa.types.is_date, "a date column"),
        (pa.types.is_time, "a time-of-day column"),
        (pa.types.is_boolean, "a boolean column"),
        (pa.types.is_integer, "an integer column"),
        (pa.types.is_floating, "a floating-point column"),
        (pa.types.is_decimal, "a decimal column"),
        (lambda x: pa.types.is_string(x) or pa.types.is_large_string(x), "a text column"),
        (lambda x: pa.types.is_binary(x) or pa.types.is_large_binary(x), "a binary column"),
        (pa.types.is_fixed_size_binary, "a binary column"),
        (pa.types.is_map, "a map column"),
        (pa.types.is_struct, "a struct column"),
        (lambda x: pa.types.is_list(x) or pa.types.is_large_list(x) or pa.types.is_fixed_size_list(x), "a list column"),
    )
    return next((words for test, words in checks if test(t)), f"an Arrow {t} column")


def _bisect(arr: pa.Array, fn: ArrayFn, col: Column, given: pa.Array) -> tuple[pa.Array, list[BadValue]]:
    """The rows of ``arr`` that do not convert, found with O(k log n) casts; ``given``: the values
    as the source gave them, for the reasons."""
    bad_idx: list[int] = []
    reasons: dict[int, str] = {}

    def visit(lo: int, hi: int) -> None:
        try:
            fn(arr.slice(lo, hi - lo))
            return
        except _CAST_ERRORS as exc:
            if hi - lo == 1:
                bad_idx.append(lo)
                reasons[lo] = _reason(given[lo].as_py(), col, exc)
                return
        mid = (lo + hi) // 2
        visit(lo, mid)
        visit(mid, hi)

    visit(0, len(arr))
    mask = np.zeros(len(arr), dtype=bool)
    mask[bad_idx] = True
    cleaned = pc.if_else(pa.array(mask), pa.nulls(len(arr), arr.type), arr)
    try:
        out = fn(cleaned)
    except (pa.ArrowInvalid, ValueError, OverflowError):
        # every value converts alone but not all together (e.g. mixed spellings): one by one
        out = pa.concat_arrays([fn(cleaned.slice(i, 1)) for i in range(len(cleaned))])
    return out, [BadValue(i, col.name, reasons[i]) for i in bad_idx]


def _reason(value: object, col: Column, exc: Exception) -> str:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return f"cannot convert {shown} to {col.type} ({_why(value, col, str(exc).split(chr(10))[0])})"


_EXPECTED = {
    TypeKind.DATE: "not a valid date; expected YYYY-MM-DD",
    TypeKind.TIME: "not a valid time of day; expected HH:MM[:SS[.ffffff]]",
    TypeKind.TIMESTAMP: "not a valid timestamp; expected YYYY-MM-DD[ HH:MM[:SS[.ffffff]]], optionally with Z or +HH:MM",
}
_EXPECTED[TypeKind.TIMESTAMP_TZ] = _EXPECTED[TypeKind.TIMESTAMP]


def _why(value: object, col: Column, detail: str) -> str:
    """Why one value does not convert, in the column's terms rather than Arrow's (``detail``: what
    Arrow or laden's own conversion said, kept when nothing plainer applies)."""
    if "Invalid UTF8" in detail:
        return "not valid UTF-8 text"
    if col.kind in _EXPECTED and isinstance(value, str):
        return _EXPECTED[col.kind]
    if col.kind not in (TypeKind.INTEGER, TypeKind.DECIMAL, TypeKind.FLOAT):
        return detail  # laden's own words: booleans, UUIDs, JSON, dates from timestamps
    number = _as_decimal(value)
    if number is None:
        return "not a number"
    if not number.is_finite():
        return f"{'NaN' if number.is_nan() else 'infinity'} is not a value {col.type} can hold"
    if col.kind is TypeKind.FLOAT and isinstance(value, int):
        exact = 2 ** (24 if col.float_bits == 32 else 53)
        return f"{col.type} holds whole numbers exactly only up to {exact}; it would be rounded"
    if col.kind is TypeKind.FLOAT:
        return "not a number"  # text Python reads as one and Arrow does not: 1_000, Arabic digits
    return _numeric_why(number, col) or detail


def _numeric_why(number: decimal.Decimal, col: Column) -> str | None:
    """A finite number that does not fit an integer or bounded decimal column: why."""
    scale = 0 if col.kind is TypeKind.INTEGER else (col.scale or 0)
    if _decimal_places(number) > scale:
        if scale == 0:
            return f"has a fraction; {col.type} holds whole numbers only"
        places = "decimal place" if scale == 1 else "decimal places"
        return f"has more than {scale} {places}; {col.type} would round it"
    if col.kind is TypeKind.INTEGER:
        bits = col.int_bits or 64
        low, high = (0, 2**bits - 1) if col.unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        if not low <= number <= high:
            return f"out of range; {col.type} holds {low} to {high}"
        return "not written as a whole number; give plain digits"  # 1e3: Arrow reads no exponent into an integer
    if col.precision is not None and number and number.adjusted() + 1 > col.precision - scale:
        return f"out of range; {col.type} holds at most {col.precision - scale} digits before the decimal point"
    return None


def _decimal_places(number: decimal.Decimal) -> int:
    """Digits after the point once trailing zeros are dropped: 1.50 has 1, 1E+3 has 0. Without
    ``normalize()``, which rounds to the context's 28 digits and overflows on 1e1000000."""
    _, digits, exponent = number.as_tuple()
    text = "".join(map(str, digits))
    zeros = len(text) - len(text.rstrip("0"))
    return max(0, -(int(exponent) + zeros)) if text.rstrip("0") else 0


def _as_decimal(value: object) -> decimal.Decimal | None:
    """``value`` as an exact number, or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return decimal.Decimal(repr(value))  # the digits the cast reads (through text), not the binary value
    if isinstance(value, int | decimal.Decimal):
        return decimal.Decimal(value)
    if isinstance(value, str):
        try:
            return decimal.Decimal(value.strip())
        except decimal.InvalidOperation:
            return None
    return None


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
        if _exceeds(length, col.max_length):
            add(
                pc.fill_null(pc.greater(length, col.max_length), False),
                lambda i: f"value of {length[i].as_py()} {unit} is longer than {col.type} allows ({col.max_length})",
            )
    if col.kind is TypeKind.FLOAT and _may_lose(src.type, out.type):
        for mask, why in _float_losses(src, out):
            add(mask, lambda i, why=why: f"{src[i].as_py()!r} {why} for {col.type}")  # type: ignore[misc]
    if col.kind in _TIMES and col.time_precision is not None and col.time_precision < 6:
        step = 10 ** (6 - col.time_precision)
        us = np.asarray(pc.fill_null(pc.cast(out, pa.int64()), 0).to_numpy(zero_copy_only=False))
        add(
            pa.array(us % step != 0),
            lambda i: f"{out[i].as_py()} has more fractional-second digits than {col.type} keeps (it would be rounded)",
        )
    if col.kind is TypeKind.INTEGER and col.int_bits == 24:
        lo, hi = (_UINT_RANGE if col.unsigned else _INT_RANGE)[24]
        outside = pc.fill_null(pc.or_(pc.less(out, lo), pc.greater(out, hi)), False)
        add(outside, lambda i: f"{out[i].as_py()} is out of range for {col.type}")
    return found


def _exceeds(values: pa.Array, limit: int) -> bool:
    """Whether any value is above ``limit``: one aggregate, no mask (and no Python scalar turned
    into Arrow, which makes pyarrow import pandas: ~0.25 s of every load)."""
    top = pc.max(values).as_py()
    return top is not None and top > limit


def _may_lose(source: pa.DataType, target: pa.DataType) -> bool:
    """Whether a cast into a float can overflow to infinity or underflow to zero: from text,
    or from a wider float or a decimal into float32. Integers always fit, and float64 holds
    every decimal (76 digits at most)."""
    if pa.types.is_string(source):
        return True
    return bool(target == pa.float32() and (pa.types.is_float64(source) or pa.types.is_decimal(source)))


def _float_losses(src: pa.Array, out: pa.Array) -> list[tuple[pa.Array, str]]:
    """Rows where a float cast overflowed to infinity or underflowed to zero."""
    got_inf = pc.fill_null(pc.is_inf(out), False)
    got_zero = pc.fill_null(pc.equal(out, 0), False)
    if pa.types.is_string(src.type):
        said_inf = pc.fill_null(pc.match_substring_regex(src, r"(?i)^\s*[+-]?inf"), False)
        said_zero = pc.fill_null(pc.match_substring_regex(src, r"^\s*[+-]?0*\.?0*([eE][+-]?\d+)?\s*$"), False)
    elif pa.types.is_floating(src.type) or pa.types.is_integer(src.type) or pa.types.is_decimal(src.type):
        wide = pc.cast(src, pa.float64(), safe=False)
        said_inf = pc.fill_null(pc.is_inf(wide), False)
        said_zero = pc.fill_null(pc.equal(wide, 0), False)
    else:
        return []
    return [
        (pc.and_(got_inf, pc.invert(said_inf)), "is out of range"),
        (pc.and_(got_zero, pc.invert(said_zero)), "is too small (it would become 0)"),
    ]


def _to_bool(a: pa.Array) -> pa.Array:
    if pa.types.is_floating(a.type):
        if not pc.all(pc.or_(pc.is_in(a, pa.array([0.0, 1.0], a.type)), pc.is_null(a))).as_py():
            raise pa.ArrowInvalid("only 0 and 1 are booleans")
        return pc.cast(a, pa.bool_())
    if pa.types.is_integer(a.type):
        if not pc.all(pc.or_(pc.is_in(a, pa.array([0, 1], a.type)), pc.is_null(a))).as_py():
            raise pa.ArrowInvalid("only 0 and 1 are booleans")
        return pc.cast(a, pa.bool_())
    low = pc.utf8_lower(pc.utf8_trim_whitespace(a))
    is_true = pc.is_in(low, pa.array(_TRUE, pa.string()))
    is_false = pc.is_in(low, pa.array(_FALSE, pa.string()))
    if not pc.all(pc.or_(pc.or_(is_true, is_false), pc.is_null(a))).as_py():
        raise pa.ArrowInvalid("expected true/false, t/f, 1/0, yes/no or on/off")
    return pc.if_else(pc.is_null(a), pa.scalar(None, pa.bool_()), is_true)


def _str_to_time(a: pa.Array) -> pa.Array:
    ts = pc.cast(pc.binary_join_element_wise("1970-01-01 ", pc.utf8_trim_whitespace(a), ""), pa.timestamp("us"))
    return pc.cast(pc.cast(ts, pa.int64()), pa.time64("us"))


_HAS_OFFSET = r"\d[T ]\d\d:\d\d(:\d\d(\.\d*)?)?\s*([Zz]|[+-]\d\d(:?\d\d)?)\s*$"


def _str_to_timestamptz(a: pa.Array) -> pa.Array:
    """Text with or without an offset (mixed is fine); no offset means UTC."""
    utc = pa.timestamp("us", "UTC")
    has_offset = pc.fill_null(pc.match_substring_regex(a, _HAS_OFFSET), False)
    if not pc.any(has_offset).as_py():
        return pc.cast(pc.cast(a, pa.timestamp("us")), utc)
    if pc.all(pc.or_(has_offset, pc.is_null(a))).as_py():
        return pc.cast(a, utc)
    none = pa.scalar(None, pa.string())
    with_offset = pc.cast(pc.if_else(has_offset, a, none), utc)
    wall = pc.cast(pc.cast(pc.if_else(has_offset, none, a), pa.timestamp("us")), utc)
    return pc.if_else(has_offset, with_offset, wall)


def _str_to_timestamp(a: pa.Array) -> pa.Array:
    """Text into a column without zone: an offset is applied, giving UTC wall time."""
    return pc.cast(_str_to_timestamptz(a), pa.timestamp("us"))


def _ts_to_date(a: pa.Array) -> pa.Array:
    us = np.asarray(pc.fill_null(pc.cast(pc.cast(a, pa.timestamp("us", a.type.tz)), pa.int64()), 0).to_numpy())
    if (us % 86_400_000_000 != 0).any():
        raise pa.ArrowInvalid("has a time of day that a date column would drop")
    return pc.cast(a, pa.date32())


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


def _temporal_to_json(a: pa.Array) -> pa.Array:
    """Dates, times and timestamps as JSON strings in ISO 8601 (an instant in UTC, with Z): the
    text has nothing to escape, so quoting it is the whole encoding."""
    if pa.types.is_timestamp(a.type) and a.type.tz is not None:
        text = pc.strftime(pc.cast(a, pa.timestamp(a.type.unit, "UTC")), format="%Y-%m-%dT%H:%M:%SZ")
    elif pa.types.is_timestamp(a.type):
        text = pc.strftime(a, format="%Y-%m-%dT%H:%M:%S")
    else:
        text = pc.cast(a, pa.string())
    return pc.binary_join_element_wise('"', text, '"', "")


def _to_json(a: pa.Array) -> pa.Array:
    # Nested Arrow values have no vectorised JSON writer; this is the one per-row path and
    # only runs for nested source columns (struct, list, map).
    return pa.array([None if v is None else json.dumps(v, default=_json_value) for v in a.to_pylist()], pa.string())


def _json_value(v: object) -> object:
    if isinstance(v, decimal.Decimal) and decimal.Decimal(repr(float(v))) == v:
        return float(v)
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    raise ValueError(f"{type(v).__name__} value {v!r} has no exact JSON form")


def cast_batch(
    batch: pa.RecordBatch, sources: Sequence[str], columns: Sequence[Column]
) -> tuple[pa.RecordBatch, list[BadValue]]:
    """Cast each source column to its target column. Returns the cast batch (named by target
    columns) and every bad value found; the caller drops those rows."""
    arrays = []
    bad: list[BadValue] = []
    for name, col in zip(sources, columns, strict=True):
        try:
            out, problems = cast_column(batch.column(name), col)
        except TypeError as exc:
            source = "" if name == col.name else f" (from source column {name!r})"
            raise TypeError(f"column {col.name!r}{source}: {exc}") from exc
        arrays.append(out)
        bad.extend(problems)
    fields = [pa.field(c.name, a.type) for c, a in zip(columns, arrays, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields)), bad
