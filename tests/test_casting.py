"""Casting without a database: every lossy conversion is a bad value, never a silent change."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import zoneinfo

import pyarrow as pa
import pytest

from laden.casting import cast_batch, cast_column
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


INTEGER = col(TypeKind.INTEGER, "integer", int_bits=32)
SMALL_UNSIGNED = col(TypeKind.INTEGER, "tinyint unsigned", int_bits=8, unsigned=True)
MONEY = col(TypeKind.DECIMAL, "numeric(6,2)", precision=6, scale=2)
REAL = col(TypeKind.FLOAT, "real", float_bits=32)


@pytest.mark.parametrize(
    ("values", "column", "why"),
    [
        (["abc", "", "1,000"], INTEGER, ["not a number"] * 3),
        (["7.5", "-0.25"], INTEGER, ["has a fraction; integer holds whole numbers only"] * 2),
        (["99999999999", "-2147483649"], INTEGER, ["out of range; integer holds -2147483648 to 2147483647"] * 2),
        (
            ["1e3", "nan"],
            INTEGER,
            ["not written as a whole number; give plain digits", "NaN is not a value integer can hold"],
        ),
        (
            [7.5, 300.0, float("inf")],
            SMALL_UNSIGNED,
            [
                "has a fraction; tinyint unsigned holds whole numbers only",
                "out of range; tinyint unsigned holds 0 to 255",
                "infinity is not a value tinyint unsigned can hold",
            ],
        ),
        ([-1, 256], SMALL_UNSIGNED, ["out of range; tinyint unsigned holds 0 to 255"] * 2),
        (
            ["1.999", "12345", "x"],
            MONEY,
            [
                "has more than 2 decimal places; numeric(6,2) would round it",
                "out of range; numeric(6,2) holds at most 4 digits before the decimal point",
                "not a number",
            ],
        ),
        ([2**40], REAL, ["real holds whole numbers exactly only up to 16777216; it would be rounded"]),
        (["abc"], REAL, ["not a number"]),
        (["1_000"], col(TypeKind.FLOAT, "double", float_bits=64), ["not a number"]),  # Python reads it, Arrow not
        (["1e1000000"], INTEGER, ["out of range; integer holds -2147483648 to 2147483647"]),  # decimal.Overflow once
        (
            ["0.1234567890123456789012345678901"],  # 31 places: normalize() would round to 28 digits
            col(TypeKind.DECIMAL, "numeric(38,30)", precision=38, scale=30),
            ["has more than 30 decimal places; numeric(38,30) would round it"],
        ),
        (
            [1234.1, 1.25],  # the digits the cast reads, not 1234.0999999999999090505...
            col(TypeKind.DECIMAL, "numeric(4,1)", precision=4, scale=1),
            [
                "out of range; numeric(4,1) holds at most 3 digits before the decimal point",
                "has more than 1 decimal place; numeric(4,1) would round it",
            ],
        ),
        (["2024-02-30", "01/02/2024"], col(TypeKind.DATE, "date"), ["not a valid date; expected YYYY-MM-DD"] * 2),
        (["25:00"], col(TypeKind.TIME, "time"), ["not a valid time of day; expected HH:MM[:SS[.ffffff]]"]),
        (
            ["yesterday"],
            col(TypeKind.TIMESTAMP_TZ, "timestamptz"),
            ["not a valid timestamp; expected YYYY-MM-DD[ HH:MM[:SS[.ffffff]]], optionally with Z or +HH:MM"],
        ),
    ],
)
def test_bad_values_are_explained_in_the_columns_terms(values: list[object], column: Column, why: list[str]) -> None:
    # Arrow's own words ("Failed to parse string: ... as a scalar of type int32", "Rescaling Decimal value
    # would cause data loss") name Arrow types the user never declared
    _, bad = cast_column(pa.array(values), column)
    assert [b.reason for b in bad] == [
        f"cannot convert {v!r} to {column.type} ({w})" for v, w in zip(values, why, strict=True)
    ]


def test_text_with_spaces_around_it_parses_as_the_databases_allow() -> None:
    cases = [
        ([" 5 ", "6", "\t-7"], INTEGER, [5, 6, -7]),
        ([" 1.5", "2 "], MONEY, [decimal.Decimal("1.50"), decimal.Decimal("2.00")]),
        ([" 2.5 "], REAL, [2.5]),
        ([" 2024-01-02 "], col(TypeKind.DATE, "date"), [dt.date(2024, 1, 2)]),
        ([" 2024-01-01 12:00 "], col(TypeKind.TIMESTAMP, "timestamp"), [dt.datetime(2024, 1, 1, 12)]),
        ([" 12345678123456781234567812345678 "], col(TypeKind.UUID, "uuid"), ["12345678-1234-5678-1234-567812345678"]),
    ]
    for values, column, expected in cases:
        out, bad = cast_column(pa.array(values), column)
        assert (out.to_pylist(), bad) == (expected, []), column.type


@pytest.mark.parametrize(
    ("values", "column", "message"),
    [
        (
            pa.array([dt.datetime(2024, 1, 1)], pa.timestamp("us")),
            col(TypeKind.INTEGER, "bigint", int_bits=64),
            "a timestamp column cannot go into bigint: laden does not turn dates and times into numbers; "
            "convert it in the source (to epoch seconds, say) if that is what you mean",
        ),
        (
            pa.array([dt.date(2024, 1, 1)]),
            INTEGER,  # Arrow: 19723 (days since 1970)
            "a date column cannot go into integer: laden does not turn dates and times into numbers; "
            "convert it in the source (to epoch seconds, say) if that is what you mean",
        ),
        (
            pa.array([1], pa.int64()),
            col(TypeKind.TIMESTAMP, "timestamp"),  # Arrow: 1970-01-01 00:00:00.000001
            "an integer column cannot go into timestamp: laden does not read numbers as dates or times "
            "(seconds? milliseconds? days?); convert it in the source, or give ISO 8601 text",
        ),
        (
            pa.array([1], pa.int32()),
            col(TypeKind.DATE, "date"),  # Arrow: 1970-01-02
            "an integer column cannot go into date: laden does not read numbers as dates or times "
            "(seconds? milliseconds? days?); convert it in the source, or give ISO 8601 text",
        ),
        (
            pa.array([True]),
            col(TypeKind.DECIMAL, "numeric"),  # unbounded: Arrow would pass the text 'true' on
            "a boolean column cannot go into numeric; convert it to 0 and 1 in the source",
        ),
        (pa.array([[1, 2]]), INTEGER, "a list column cannot go into integer; convert it in the source"),
        (
            pa.array([dt.datetime(2024, 1, 1)]),
            col(TypeKind.BOOLEAN, "boolean"),
            "a timestamp column cannot go into boolean; convert it in the source",
        ),
    ],
)
def test_casts_that_change_what_a_value_means_are_refused(values: pa.Array, column: Column, message: str) -> None:
    with pytest.raises(TypeError) as caught:
        cast_column(values, column)
    assert str(caught.value) == message


def test_a_refused_column_is_named_with_its_source_column() -> None:
    batch = pa.record_batch({"created": pa.array([dt.datetime(2024, 1, 1)], pa.timestamp("us"))})
    with pytest.raises(TypeError, match=r"^column 'n' \(from source column 'created'\): a timestamp column cannot"):
        cast_batch(batch, ["created"], [Column("n", "bigint", TypeKind.INTEGER, int_bits=64)])


def test_dates_and_times_into_json_are_json_strings() -> None:
    json_ = col(TypeKind.JSON, "json")
    berlin = dt.datetime(2024, 1, 1, 13, 0, 0, 5, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
    cases = [
        (pa.array([dt.date(2024, 1, 2), None]), ['"2024-01-02"', None]),
        (pa.array([berlin], pa.timestamp("us", "Europe/Berlin")), ['"2024-01-01T12:00:00.000005Z"']),  # UTC
        (pa.array([dt.datetime(2024, 1, 1, 13)], pa.timestamp("us")), ['"2024-01-01T13:00:00.000000"']),
        (pa.array([dt.time(1, 2)]), ['"01:02:00.000000"']),
    ]
    for values, expected in cases:
        out, bad = cast_column(values, json_)
        assert (out.to_pylist(), bad) == (expected, [])
        assert [json.loads(v) for v in out.to_pylist() if v is not None]  # valid JSON


def test_a_column_of_nulls_goes_into_any_column() -> None:
    for column in (MONEY, INTEGER, col(TypeKind.DATE, "date"), col(TypeKind.DECIMAL, "numeric")):
        out, bad = cast_column(pa.nulls(2), column)
        assert (out.to_pylist(), bad) == ([None, None], []), column.type
