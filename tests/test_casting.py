"""Casting without a database: every lossy conversion is a bad value, never a silent change."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pytest

from laden.casting import cast_column
from laden.schema import Column, TypeKind


def col(kind: TypeKind, type_: str = "t", **kw: object) -> Column:
    return Column("c", type_, kind, **kw)  # type: ignore[arg-type]


def bad_rows(values: pa.Array, column: Column) -> dict[int, str]:
    _, bad = cast_column(values, column)
    return {b.index: b.reason for b in bad}


def test_integers_into_decimals_and_precision_checks() -> None:
    out, bad = cast_column(pa.array([5, 7, None]), col(TypeKind.DECIMAL, "numeric(10,2)", precision=10, scale=2))
    assert bad == [] and out.to_pylist() == [decimal.Decimal("5.00"), decimal.Decimal("7.00"), None]
    assert list(bad_rows(pa.array([1, 10**12]), col(TypeKind.DECIMAL, precision=10, scale=2))) == [1]


def test_float_overflow_and_underflow_are_bad_values() -> None:
    real = col(TypeKind.FLOAT, "real", float_bits=32)
    assert sorted(bad_rows(pa.array([1.5, 1e39, 1e-50, 0.0, float("inf")]), real)) == [1, 2]
    double = col(TypeKind.FLOAT, "double precision", float_bits=64)
    reasons = bad_rows(pa.array(["1.5", "1e500", "1e-500", "0.0e10", "-inf", "NaN"]), double)
    assert sorted(reasons) == [1, 2]
    assert "is out of range" in reasons[1] and "would become 0" in reasons[2]


def test_fractional_seconds_beyond_the_column_precision() -> None:
    ts0 = col(TypeKind.TIMESTAMP, "timestamp(0)", time_precision=0)
    values = pa.array([dt.datetime(2024, 1, 1, 12), dt.datetime(2024, 1, 1, 12, 0, 0, 700000)], pa.timestamp("us"))
    reasons = bad_rows(values, ts0)
    assert list(reasons) == [1] and "more fractional-second digits than timestamp(0) keeps" in reasons[1]
    ms = col(TypeKind.TIME, "time(3)", time_precision=3)
    assert list(bad_rows(pa.array(["12:00:00.123", "12:00:00.1234"]), ms)) == [1]


def test_timestamps_into_dates_and_times() -> None:
    date = col(TypeKind.DATE, "date")
    values = pa.array([dt.datetime(2024, 3, 5), dt.datetime(2024, 3, 5, 17, 45)], pa.timestamp("us"))
    out, bad = cast_column(values, date)
    assert [b.index for b in bad] == [1] and out[0].as_py() == dt.date(2024, 3, 5)
    with pytest.raises(TypeError, match="would drop"):
        cast_column(values, col(TypeKind.TIME, "time"))
    with pytest.raises(TypeError, match="duration"):
        cast_column(pa.array([dt.timedelta(hours=1)]), col(TypeKind.OTHER, "interval"))


def test_mixed_offsets_in_text_timestamps() -> None:
    tz = col(TypeKind.TIMESTAMP_TZ, "timestamptz")
    out, bad = cast_column(pa.array(["2024-01-01 12:00:00+02:00", "2024-01-01 12:00:00", "2024-01-01", None]), tz)
    assert bad == []
    utc = dt.timezone.utc
    assert out.to_pylist() == [
        dt.datetime(2024, 1, 1, 10, tzinfo=utc),
        dt.datetime(2024, 1, 1, 12, tzinfo=utc),
        dt.datetime(2024, 1, 1, tzinfo=utc),
        None,
    ]
    naive, bad = cast_column(pa.array(["2024-01-01T12:00:00Z", "2024-01-01 08:00:00-02:00"]), col(TypeKind.TIMESTAMP))
    assert bad == [] and naive.to_pylist() == [dt.datetime(2024, 1, 1, 12), dt.datetime(2024, 1, 1, 10)]


def test_floats_into_booleans_only_zero_and_one() -> None:
    reasons = bad_rows(pa.array([0.0, 1.0, 0.5, -7.0, None]), col(TypeKind.BOOLEAN, "boolean"))
    assert sorted(reasons) == [2, 3]


def test_nested_values_into_json_are_exact_or_bad() -> None:
    values = pa.array([{"a": b"\x00"}, {"a": None}])
    out, bad = cast_column(values, col(TypeKind.JSON, "json"))
    assert [b.index for b in bad] == [0] and "no exact JSON form" in bad[0].reason
    assert out[1].as_py() == '{"a": null}'
