"""Type round trips on every engine: what goes in comes back, read with the raw driver."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import uuid
from typing import Any

import pyarrow as pa
import pytest

import laden
from helpers import ddl

TEXTS = ["ünïcödé ✓ 𝄞", "", None, "tab\there\nnew line\\back 'single' \"double\" \\N", "x" * 5000]
UTC = dt.timezone.utc

TYPES_DDL = """
CREATE TABLE types (
  id {int} PRIMARY KEY,
  i64 {bigint}, amount {dec}, f {float}, s {longtext}, b {bool}, d {date}, t {time},
  ts {ts}, tstz {tstz}, j {json}, u {uuid}, bin {bytes}
);
"""


def source() -> pa.Table:
    return pa.table(
        {
            "id": pa.array([1, 2, 3, 4, 5], pa.int32()),
            "i64": pa.array([-(2**63), 2**63 - 1, 0, None, 42], pa.int64()),
            "amount": pa.array(
                [decimal.Decimal(x) if x else None for x in ["-1234567890.12", "0.01", None, "9999999999.99", "0.00"]],
                pa.decimal128(12, 2),
            ),
            "f": pa.array([1.5, -0.25, None, 1e300, 3.0], pa.float64()),
            "s": pa.array(TEXTS, pa.large_string()),
            "b": pa.array([True, False, None, True, False]),
            "d": pa.array(
                [dt.date(2024, 2, 29), dt.date(1970, 1, 1), None, dt.date(9999, 12, 31), dt.date(2000, 1, 1)]
            ),
            "t": pa.array([dt.time(12, 34, 56, 789012), dt.time(0, 0), None, dt.time(23, 59, 59, 999999), dt.time(1)]),
            "ts": pa.array(
                [
                    dt.datetime(2024, 1, 2, 3, 4, 5, 123456),
                    dt.datetime(1999, 12, 31, 23, 59, 59),
                    None,
                    dt.datetime(2038, 1, 1),
                    dt.datetime(2000, 1, 1),
                ],
                pa.timestamp("us"),
            ),
            "tstz": pa.array(
                [
                    dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2))),
                    dt.datetime(2030, 6, 1, 12, tzinfo=UTC),
                    None,
                    dt.datetime(2001, 1, 1, tzinfo=UTC),
                    dt.datetime(2020, 2, 2, 2, 2, 2, tzinfo=UTC),
                ],
                pa.timestamp("us", tz="Europe/Berlin"),
            ),
            "j": pa.array(['{"a": [1, 2, {"b": null}], "ü": "✓"}', "[]", None, '"text"', "3"]),
            "u": pa.array(
                [
                    "12345678-1234-5678-1234-567812345678",
                    "00000000-0000-0000-0000-000000000000",
                    None,
                    "ffffffff-ffff-ffff-ffff-ffffffffffff",
                    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                ]
            ),
            "bin": pa.array([b"\x00\x01\xff\t\n\\", b"", None, bytes(range(256)), b"N"], pa.binary()),
        }
    )


def canon(column: str, v: Any, parsed_json: bool = False) -> Any:
    """One spelling per value, whatever the driver returned."""
    if v is None:
        return None
    if column == "amount":
        return decimal.Decimal(str(v)).quantize(decimal.Decimal("0.01"))
    if column == "b":
        return bool(v)
    if column in ("d",):
        return v if isinstance(v, dt.date) else dt.date.fromisoformat(v)
    if column == "t":
        if isinstance(v, dt.timedelta):
            return (dt.datetime(2000, 1, 1) + v).time()
        return v if isinstance(v, dt.time) else dt.time.fromisoformat(v)
    if column in ("ts", "tstz"):
        if isinstance(v, str):
            v = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
        return v.astimezone(UTC).replace(tzinfo=None) if v.tzinfo else v
    if column == "j":
        return json.loads(v) if isinstance(v, str) and not parsed_json else v
    if column == "u":
        return str(uuid.UUID(str(v)))
    if column == "bin":
        return bytes(v)
    return v


def expected(column: str, values: list[Any]) -> list[Any]:
    return [canon(column, v) for v in values]


def test_type_round_trip(db: Any, target_url: str, engine: str) -> None:
    db.script(ddl(engine, TYPES_DDL))
    data = source()
    if engine == "mysql":  # MySQL TIMESTAMP ends in 2038; DATE/DATETIME go to 9999
        data = data.set_column(
            data.schema.get_field_index("tstz"), "tstz", data["tstz"].cast(pa.timestamp("us", "UTC"))
        )
    report = laden.load({"types": data}, target_url)
    assert report.ok, str(report)
    names = data.column_names
    got = db.query(f"SELECT {', '.join(db.quote(n) for n in names)} FROM types ORDER BY id")
    for i, name in enumerate(names):
        have = [canon(name, r[i], parsed_json=engine == "postgresql") for r in got]
        want = expected(name, data[name].to_pylist())
        if name == "f":
            assert have == [1.5, -0.25, None, 1e300, 3.0]
        else:
            assert have == want, name


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats(db: Any, target_url: str, engine: str, value: float) -> None:
    db.script(ddl(engine, "CREATE TABLE f (id {int} PRIMARY KEY, v {float});"))
    report = laden.load({"f": pa.table({"id": [1, 2], "v": [value, 1.0]})}, target_url, on_error="reject")
    stored = engine in ("postgresql", "duckdb") or (engine == "sqlite" and not math.isnan(value))
    assert report.ok, str(report)
    if stored:
        [(v,)] = db.query("SELECT v FROM f WHERE id = 1")
        assert (math.isnan(v) and math.isnan(value)) or v == value
        assert report.rows_rejected == 0
    else:  # SQLite turns NaN into NULL, MySQL has neither NaN nor infinity: a bad row, never a silent change
        [reject] = report.targets[0].rejects
        assert reject.row == 1
        assert db.query("SELECT id FROM f") == [(2,)]


def test_strings_are_cast_to_target_types(db: Any, target_url: str, engine: str) -> None:
    """CSV-like text columns are converted per the target column; failures are bad rows."""
    db.script(
        ddl(engine, "CREATE TABLE c (id {bigint} PRIMARY KEY, b {bool}, d {date}, ts {ts}, amount {dec}, u {uuid});")
    )
    text = pa.table(
        {
            "id": ["1", "2", "3"],
            "b": ["true", "f", "maybe"],
            "d": ["2024-01-31", "2024-02-01", "2024-13-01"],
            "ts": ["2024-01-31 10:00:00", "2024-01-31T10:00:00.5", "yesterday"],
            "amount": ["1.10", "-2", "abc"],
            "u": ["12345678123456781234567812345678", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "nope"],
        }
    )
    report = laden.load({"c": text}, target_url, on_error="reject")
    assert report.ok, str(report)
    [reject] = report.targets[0].rejects
    assert reject.row == 3 and reject.column == "b"
    got = db.query("SELECT id, b, d, ts, amount, u FROM c ORDER BY id")
    assert [canon("b", r[1]) for r in got] == [True, False]
    assert [canon("d", r[2]) for r in got] == [dt.date(2024, 1, 31), dt.date(2024, 2, 1)]
    assert [canon("ts", r[3]) for r in got] == [
        dt.datetime(2024, 1, 31, 10),
        dt.datetime(2024, 1, 31, 10, 0, 0, 500000),
    ]
    assert [canon("amount", r[4]) for r in got] == [decimal.Decimal("1.10"), decimal.Decimal("-2.00")]
    assert [canon("u", r[5]) for r in got] == [
        "12345678-1234-5678-1234-567812345678",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    ]


def test_arrow_edge_types_are_accepted(db: Any, target_url: str, engine: str) -> None:
    db.script(ddl(engine, "CREATE TABLE e (id {bigint} PRIMARY KEY, a {text}, b {text}, c {text}, d {dec});"))
    data = pa.table(
        {
            "id": pa.array([1, 2], pa.int8()),
            "a": pa.array(["x", None], pa.string_view()),
            "b": pa.array(["y", "z"], pa.large_string()),
            "c": pa.array(["p", "q"]).dictionary_encode(),
            "d": pa.array([decimal.Decimal("1.5"), None], pa.decimal256(40, 1)),
        }
    )
    report = laden.load({"e": data}, target_url)
    assert report.ok, str(report)
    got = [(r[0], r[1], r[2], r[3], canon("amount", r[4])) for r in db.query("SELECT * FROM e ORDER BY id")]
    assert got == [(1, "x", "y", "p", decimal.Decimal("1.50")), (2, None, "z", "q", None)]


def test_out_of_range_and_overlong_values_are_bad_rows(db: Any, target_url: str, engine: str) -> None:
    db.script(ddl(engine, "CREATE TABLE r (id {int} PRIMARY KEY, small {int}, code {vc10});"))
    data = pa.table({"id": [1, 2, 3], "small": [1, 2**40, 3], "code": ["ok", "ok", "x" * 11]})
    report = laden.load({"r": data}, target_url, on_error="reject")
    assert report.ok, str(report)
    rejected = {r.row: r.column for r in report.targets[0].rejects}
    # SQLite's INTEGER is 64-bit and it stores varchar(10) text whole: nothing there is out of range
    want = {
        "postgresql": {2: "small", 3: "code"},
        "mysql": {2: "small", 3: "code"},
        "duckdb": {2: "small"},
        "sqlite": {},
    }
    assert rejected == want[engine]
    assert sorted(r[0] for r in db.query("SELECT id FROM r")) == sorted({1, 2, 3} - set(want[engine]))


def test_postgres_text_copy_fallback_round_trips(postgres_url: str, make_db: Any) -> None:
    """A column type without a binary encoder (inet, wide numeric) sends the batch as COPY text."""
    db = make_db(postgres_url)
    db.execute("CREATE TABLE fb (id int PRIMARY KEY, ip inet, big numeric(30,10), s text, by bytea)")
    data = pa.table(
        {
            "id": [1, 2, 3],
            "ip": ["10.0.0.1", None, "::1"],
            "big": pa.array(
                [decimal.Decimal("12345678901234567890.0123456789"), None, decimal.Decimal("-0.0000000001")],
                pa.decimal128(30, 10),
            ),
            "s": [*TEXTS[:2], TEXTS[3]],
            "by": [b"\x00\\\t\n", None, b""],
        }
    )
    report = laden.load({"fb": data}, postgres_url)
    assert report.ok, str(report)
    got = db.query("SELECT id, host(ip), big, s, by FROM fb ORDER BY id")
    assert [(r[0], r[1], r[2], r[3], None if r[4] is None else bytes(r[4])) for r in got] == [
        (1, "10.0.0.1", decimal.Decimal("12345678901234567890.0123456789"), TEXTS[0], b"\x00\\\t\n"),
        (2, None, None, TEXTS[1], None),
        (3, "::1", decimal.Decimal("-0.0000000001"), TEXTS[3], b""),
    ]
