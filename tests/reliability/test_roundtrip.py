"""Issue 7.10: round-trip properties. Hypothesis generates tables, laden writes them, the raw
driver or pyarrow reads them back, and every value must come back equal — or its row must be
a reject naming the column, where the engine cannot store the value. Nothing else.

Each table has a row number ``id`` and these columns, NULL anywhere but in ``id``:

``s``  text of 0 to 14 characters from every plane but NUL and surrogates, often exactly at
       the ``VARCHAR(12)`` limit, also 12 four-byte characters (48 bytes in utf8mb4); ``""``
       and NULL both often
``t``  the same as ``TEXT``, up to 200 characters
``f``  float64: anything, NaN, ±inf, -0.0, subnormals, the extremes
``i``  int64: -2**63, 2**63-1, 0, ±1 and anything between
``n``  decimal(38,10) at full precision: 28 integer and 10 fractional digits
``d``  dates 0001-01-01 .. 9999-12-31
``ts`` timestamp[us] with a zone drawn per table (UTC, Europe/Berlin, America/St_Johns,
       Asia/Kathmandu, Pacific/Kiritimati, Pacific/Pago_Pago, +05:45)
``b``  booleans

The tables are loaded with ``laden.load`` (``on_error="reject"``) into tables made with explicit
DDL (``BIGINT``, ``VARCHAR(12)``, ``TEXT``, ``DOUBLE``, ``DECIMAL(38,10)``, ``DATE``, a zoned
timestamp type, ``BOOLEAN``), and into CSV, JSON Lines and Parquet files.

What comes back (the documented conversions; everything not listed comes back exactly):

=====================  ===========  ==========================================================
writer                 type         what comes back, and why
=====================  ===========  ==========================================================
PostgreSQL             timestamptz  the same instant; the zone is not kept (timestamptz stores
                                    an instant, shown in the session's TimeZone)
MariaDB                DATETIME(6)  the instant's UTC wall time (DATETIME has no zone; the
                                    session runs in UTC). ``TIMESTAMP`` only holds 1970-2038:
                                    values outside are rejects
MariaDB                DOUBLE       NaN, +inf, -inf: rejects (MariaDB has none of them);
                                    -0.0 comes back 0.0 (MariaDB keeps no sign of zero, even
                                    for ``INSERT ... VALUES (-0e0)``)
MariaDB                BOOLEAN      0 / 1 (``BOOLEAN`` is ``TINYINT(1)``)
MariaDB                VARCHAR(12)  12 characters whatever their bytes (utf8mb4: up to 48);
                                    13 or more: rejects
PostgreSQL             varchar(12)  13 characters or more: rejects
SQLite                 REAL         NaN: rejects (SQLite stores NaN as NULL); ±inf kept;
                                    -0.0 comes back 0.0 (a REAL with no fractional part is
                                    stored as an integer)
SQLite                 DECIMAL      no exact decimal type: NUMERIC affinity stores INTEGER or
                       (38,10)      REAL, which come back equal in value (not in scale:
                                    ``1.5000000000`` is ``1.5``). Values of more than 15
                                    significant digits are rejects (a REAL keeps 15); declare
                                    the column TEXT to keep every digit
SQLite                 DATE         ISO text ``YYYY-MM-DD``
SQLite                 TIMESTAMP    ISO text of the instant's UTC wall time,
                                    ``YYYY-MM-DD HH:MM:SS.ffffff`` (SQLite has no time type)
SQLite                 BOOLEAN      0 / 1 (no boolean type)
SQLite, DuckDB         VARCHAR(12)  stored whole whatever the length (neither bounds VARCHAR)
DuckDB                 TIMESTAMPTZ  the same instant; the zone is not kept
CSV                    all          text (CSV has no types), read back as text and checked
                                    against laden's rendering, then parsed by pyarrow: NULL an
                                    unquoted empty field, ``""`` a quoted one; floats shortest
                                    round-trip, ``nan`` / ``inf`` / ``-inf``; decimals plain
                                    with all 10 places; dates ISO; timestamps
                                    ``YYYY-MM-DD HH:MM:SS.ffffff`` and the zone's offset
                                    (``+0545``) — or ``Z``, the UTC wall time, where the local
                                    form would lose the instant: an offset with seconds (local
                                    mean time before ~1900) or a local year outside 1..9999
                                    (CSV: every zoned timestamp of such a row)
JSON Lines             float        NaN, ±inf: the load fails naming row and column (JSON has
                                    neither); nothing is written
JSON Lines             decimal      strings in plain notation (JSON numbers lose digits)
JSON Lines             date, ts     strings: ISO date; RFC 3339 with offset ``+05:45``, or
                                    ``Z`` as in CSV
JSON Lines, CSV        timestamp    the instant, not the zone: pyarrow reads it back in the
                                    column's zone only because the test gives the type
Parquet                all          exactly, types and zone included
=====================  ===========  ==========================================================

Zoned timestamps in the database tests stay a day inside 0001-01-01 .. 9999-12-31 UTC except
in UTC itself; a rejected row whose local time is past 9999 has that value in its reject as the
UTC instant (see the regression test below).

Budget: ``max_examples`` keeps the whole module under ~90 s on two cores; ``derandomize``
makes every run try the same tables, ``@example`` pins the extremes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import itertools
import math
import os
import re
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import laden

D = decimal.Decimal
UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
US_MIN = -62_135_596_800_000_000  # 0001-01-01T00:00:00Z
US_MAX = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z
DAY_US = 86_400_000_000
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/St_Johns",
    "Asia/Kathmandu",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "+05:45",
]
LIMIT = 12  # VARCHAR(12)
DEC_MAX = D("9999999999999999999999999999.9999999999")
DEC_MIN = DEC_MAX.copy_negate()  # not -DEC_MAX: unary minus rounds to the context's 28 digits
DEC_TYPE = pa.decimal128(38, 10)
COLUMNS = ("s", "t", "f", "i", "n", "d", "ts", "b")

# -- strategies ------------------------------------------------------------------------------------

#: every plane but NUL and surrogates, and often what escaping and quoting must get right
CHARS = st.one_of(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
    st.sampled_from(list("\\\t\n\r\"',; N\x7f\u2028\ufeff")),
)
ASTRAL = st.characters(min_codepoint=0x10000, exclude_categories=("Cs",))


def _text(max_size: int) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), st.just(""), st.text(CHARS, max_size=max_size))


SHORT = st.one_of(
    _text(LIMIT),
    st.text(CHARS, min_size=LIMIT, max_size=LIMIT),
    st.text(ASTRAL, min_size=LIMIT, max_size=LIMIT),
    st.text(CHARS, min_size=LIMIT + 1, max_size=LIMIT + 2),
)
FLOATS = st.one_of(st.none(), st.floats(), st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 5e-324]))
INTS = st.one_of(st.none(), st.sampled_from([-(2**63), 2**63 - 1, 0, 1, -1]), st.integers(-(2**63), 2**63 - 1))
DECIMALS = st.one_of(
    st.none(),
    st.decimals(DEC_MIN, DEC_MAX, places=10),
    st.decimals(D(-1000), D(1000), places=10),
    st.sampled_from([DEC_MAX, DEC_MIN, D("1E-10"), D("-1E-10"), D(0)]),
)
DATES = st.one_of(st.none(), st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)))
BOOLS = st.one_of(st.none(), st.booleans())


@dataclass(frozen=True)
class Sample:
    """One generated table: a list per column (same length), and the zone of ``ts``."""

    zone: str
    columns: dict[str, list[Any]]
    strategy: str = "append"
    batch_size: int = 100_000

    @property
    def rows(self) -> int:
        return len(self.columns["s"])


def _instants(zone: str, margin: int) -> st.SearchStrategy[int | None]:
    lo, hi = (US_MIN, US_MAX) if zone == "UTC" or not margin else (US_MIN + margin, US_MAX - margin)
    return st.one_of(st.none(), st.integers(lo, hi), st.integers(-(10**15), 10**15), st.sampled_from([lo, hi, 0, -1]))


@st.composite
def samples(draw: st.DrawFn, margin: int = DAY_US) -> Sample:
    """Tables of 1 to 300 rows (mostly few: hypothesis favours small)."""
    zone = draw(st.sampled_from(ZONES))
    strategy = draw(st.sampled_from(["append", "upsert", "truncate_insert"]))  # upsert goes through staging
    batch_size = draw(st.sampled_from([100_000, 64, 7]))
    n = draw(st.one_of(st.integers(1, 8), st.integers(1, 300)))
    strategies = {
        "s": SHORT,
        "t": _text(200),
        "f": FLOATS,
        "i": INTS,
        "n": DECIMALS,
        "d": DATES,
        "ts": _instants(zone, margin),
        "b": BOOLS,
    }
    columns = {c: draw(st.lists(s, min_size=n, max_size=n)) for c, s in strategies.items()}
    return Sample(zone, columns, strategy, batch_size)


def extremes(zone: str = "UTC", margin: int = 0) -> Sample:
    """Every pinned value in one table (the first row NULL everywhere)."""
    s = [None, "", "x" * LIMIT, "😀" * LIMIT, "\U0010ffff" * LIMIT, " a ", "\\N", "\r\n\t\"'", "NULL", "x" * 13]
    f = [None, math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308, 0.1, 2.0**53 + 2, -1e-300]
    i = [None, -(2**63), 2**63 - 1, 0, 1, -1, 2**53 + 1, -(2**31), 2**31, 42]
    n = [None, DEC_MAX, DEC_MIN, D("1E-10"), D("-1E-10"), D(0), D("100000"), D("0.5"), D("123456789012345"), D(1)]
    d = [None, dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(1582, 10, 10), dt.date(2000, 2, 29)] * 2
    lo, hi = US_MIN + margin, US_MAX - margin
    ts = [None, lo, hi, 0, -1, 1, 1_711_846_800_000_000, 951_782_400_000_001, US_MIN + DAY_US, 42]
    b = [None, True, False] * 3 + [True]
    t = [None, "", *s[2:-1], "ünïcödé ✓ 𝄞"]
    return Sample(zone, {"s": s, "t": t, "f": f, "i": i, "n": n, "d": d, "ts": ts, "b": b})


def arrow(sample: Sample) -> pa.Table:
    c = sample.columns
    return pa.table(
        {
            "id": pa.array(range(1, sample.rows + 1), pa.int64()),
            "s": pa.array(c["s"], pa.string()),
            "t": pa.array(c["t"], pa.string()),
            "f": pa.array(c["f"], pa.float64()),
            "i": pa.array(c["i"], pa.int64()),
            "n": pa.array(c["n"], DEC_TYPE),
            "d": pa.array(c["d"], pa.date32()),
            "ts": pa.array(c["ts"], pa.int64()).cast(pa.timestamp("us", tz=sample.zone)),
            "b": pa.array(c["b"], pa.bool_()),
        }
    )


# -- comparing --------------------------------------------------------------------------------------


def same_float(got: float | None, want: float | None, signed_zero: bool = True) -> bool:
    """Bit for bit (NaN is NaN whatever its payload; -0.0 is not 0.0 unless ``signed_zero`` is off)."""
    if got is None or want is None:
        return got is want
    if math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    if not signed_zero and want == 0:
        return got == 0
    return isinstance(got, float) and struct.pack(">d", got) == struct.pack(">d", want)


def significant_digits(value: D) -> int:
    """Digits from the first non-zero one to the last of the integer part or the last non-zero fraction digit."""
    whole, _, fraction = format(value.copy_abs(), "f").partition(".")
    return len((whole + fraction.rstrip("0")).lstrip("0"))


def instant_us(value: dt.datetime) -> int:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return (aware - EPOCH) // dt.timedelta(microseconds=1)


# -- databases -------------------------------------------------------------------------------------

DDL = {
    "postgresql": "CREATE TABLE {name} (id bigint PRIMARY KEY, s varchar(12), t text, f double precision, "
    "i bigint, n numeric(38,10), d date, ts timestamptz, b boolean)",
    "mysql": "CREATE TABLE {name} (id BIGINT PRIMARY KEY, s VARCHAR(12), t TEXT, f DOUBLE, i BIGINT, "
    "n DECIMAL(38,10), d DATE, ts DATETIME(6), b BOOLEAN) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
    "sqlite": "CREATE TABLE {name} (id INTEGER PRIMARY KEY, s VARCHAR(12), t TEXT, f REAL, i INTEGER, "
    "n DECIMAL(38,10), d DATE, ts TIMESTAMP, b BOOLEAN)",
    "duckdb": "CREATE TABLE {name} (id BIGINT PRIMARY KEY, s VARCHAR(12), t VARCHAR, f DOUBLE, i BIGINT, "
    "n DECIMAL(38,10), d DATE, ts TIMESTAMPTZ, b BOOLEAN)",
}
_table_names = itertools.count(1)


def refused(engine: str, sample: Sample) -> dict[int, set[str]]:
    """Row number (1 = first) -> the columns whose value this engine cannot store."""
    bad: dict[int, set[str]] = {}
    for row in range(sample.rows):
        s, f, n = (sample.columns[c][row] for c in ("s", "f", "n"))
        cols = set()
        if s is not None and len(s) > LIMIT and engine in ("postgresql", "mysql"):
            cols.add("s")
        if f is not None and not math.isfinite(f) and (engine == "mysql" or (engine == "sqlite" and math.isnan(f))):
            cols.add("f")
        if n is not None and engine == "sqlite" and significant_digits(n) > 15:
            cols.add("n")
        if cols:
            bad[row + 1] = cols
    return bad


def stored(engine: str, db: Any, name: str) -> list[tuple[Any, ...]]:
    """Every row as the raw driver returns it, zoned timestamps in UTC."""
    sql = f"SELECT id, {', '.join(COLUMNS)} FROM {name} ORDER BY id"
    if engine == "duckdb":
        import duckdb

        con = duckdb.connect(db.path)
        try:
            con.execute("SET TimeZone = 'UTC'")
            return [tuple(r) for r in con.execute(sql).fetchall()]
        finally:
            con.close()
    if engine == "postgresql":
        db.execute("SET TIME ZONE 'UTC'")  # TestDB keeps its PostgreSQL connection
    rows: list[tuple[Any, ...]] = db.query(sql)
    return rows


def _sqlite_number(got: Any) -> D:
    assert type(got) in (int, float), got
    return D(got) if isinstance(got, int) else D(repr(got))


def matches(engine: str, column: str, got: Any, want: Any) -> bool:
    """``got`` (from the driver) is ``want`` (from the sample), allowing only the documented conversions."""
    if want is None or got is None:
        return got is None and want is None
    text_store = engine == "sqlite"
    if column == "f":
        return same_float(got, want, signed_zero=engine not in ("sqlite", "mysql"))
    if column == "n":
        if text_store:
            return _sqlite_number(got) == want
        return isinstance(got, D) and got == want and got.as_tuple().exponent == -10
    if column == "d":
        return got == want.isoformat() if text_store else got == want
    if column == "ts":
        instant = EPOCH + dt.timedelta(microseconds=want)
        if text_store:
            return bool(got == instant.replace(tzinfo=None).isoformat(" ", "microseconds"))
        if engine == "mysql" and got.tzinfo is not None:
            return False  # DATETIME has no zone
        return instant_us(got) == want
    if column == "b" and engine in ("mysql", "sqlite"):
        return type(got) is int and got == int(want)
    return type(got) is type(want) and bool(got == want)


#: LADEN_ROUNDTRIP_EXAMPLES=500 (and derandomize off by LADEN_ROUNDTRIP_RANDOM=1) for a deeper search
SCALE = int(os.environ.get("LADEN_ROUNDTRIP_EXAMPLES", "0"))
DERANDOMIZE = not os.environ.get("LADEN_ROUNDTRIP_RANDOM")
DB_SETTINGS = settings(
    max_examples=SCALE or 20,
    deadline=None,
    derandomize=DERANDOMIZE,
    database=None,
    # the database fixtures are per test, not per example: each example makes its own table
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@DB_SETTINGS
@given(sample=samples())
@example(sample=extremes())
@example(sample=extremes("America/St_Johns", DAY_US))
@example(sample=extremes("+05:45", DAY_US))
def test_databases_give_back_what_they_took(engine: str, target_url: str, db: Any, sample: Sample) -> None:
    name = f"rt_{next(_table_names)}"
    db.execute(DDL[engine].format(name=name))
    data = {name: arrow(sample)}
    report = laden.load(data, target_url, on_error="reject", strategy=sample.strategy, batch_size=sample.batch_size)
    assert report.ok, str(report)
    bad = refused(engine, sample)
    rejects = report.targets[0].rejects
    assert sorted(r.row for r in rejects) == sorted(bad), [(r.row, r.column, r.reason) for r in rejects]
    for r in rejects:
        assert r.column in bad[r.row], (r.row, r.column, r.reason, bad[r.row])
    rows = stored(engine, db, name)
    assert [r[0] for r in rows] == [n for n in range(1, sample.rows + 1) if n not in bad]
    for row in rows:
        for column, got in zip(COLUMNS, row[1:], strict=True):
            want = sample.columns[column][row[0] - 1]
            assert matches(engine, column, got, want), (row[0], column, got, want, sample.zone)


# -- files -----------------------------------------------------------------------------------------

_DECIMAL_TEXT = re.compile(r"-?\d+\.\d{10}")
_CSV_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d{4})")
_JSON_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)")


def zone_offset(zone: str, us: int) -> dt.timedelta | None:
    """The zone's offset at the instant, or None when its local time is not a Python datetime."""
    from zoneinfo import ZoneInfo

    if zone[0] in "+-":
        sign = -1 if zone[0] == "-" else 1
        tz: dt.tzinfo = dt.timezone(sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    else:
        tz = ZoneInfo(zone)
    try:
        return (EPOCH + dt.timedelta(microseconds=us)).astimezone(tz).utcoffset()
    except OverflowError:
        return None


def check_time_text(texts: list[str | None], zone: str, instants: list[int | None], pattern: re.Pattern[str]) -> None:
    """The form laden documents: the zone's local time and offset, or ``Z`` exactly where that would lose."""
    for text, us in zip(texts, instants, strict=True):
        assert (text is None) == (us is None), (text, us)
        if text is None or us is None:
            continue
        assert pattern.fullmatch(text), text
        offset = zone_offset(zone, us)
        local = offset is not None and offset.total_seconds() % 60 == 0 and zone != "UTC"
        assert text.endswith("Z") != local, (text, us, zone, offset)


def _typed(text: pa.Table, schema: pa.Schema) -> pa.Table:
    """Text columns cast by pyarrow to the source's types (the reader's own parsing)."""
    return pa.table({f.name: pc.cast(text[f.name], f.type) for f in schema}, schema=schema)


def read_csv(data: bytes, sample: Sample, schema: pa.Schema) -> pa.Table:
    text = pacsv.read_csv(
        io.BytesIO(data),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={f.name: pa.string() for f in schema},
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,  # "" is the empty string, an unquoted empty field NULL
            null_values=[""],
        ),
    )
    for name, pattern in (("i", r"-?\d+"), ("n", _DECIMAL_TEXT.pattern), ("d", r"\d{4}-\d\d-\d\d")):
        assert all(v is None or re.fullmatch(pattern, v) for v in text[name].to_pylist()), name
    assert set(text["b"].drop_null().to_pylist()) <= {"true", "false"}
    check_time_text(text["ts"].to_pylist(), sample.zone, sample.columns["ts"], _CSV_TIME)
    return _typed(text, schema)


def read_jsonl(data: bytes, sample: Sample, schema: pa.Schema) -> pa.Table:
    as_text = pa.schema([f.with_type(pa.string()) if f.name in ("n", "d", "ts") else f for f in schema])
    options = pajson.ParseOptions(explicit_schema=as_text, unexpected_field_behavior="error")
    text = pajson.read_json(io.BytesIO(data), parse_options=options)
    assert all(v is None or _DECIMAL_TEXT.fullmatch(v) for v in text["n"].to_pylist())
    check_time_text(text["ts"].to_pylist(), sample.zone, sample.columns["ts"], _JSON_TIME)
    return _typed(text, schema)


def read_parquet(data: bytes, sample: Sample, schema: pa.Schema) -> pa.Table:
    return pq.read_table(pa.BufferReader(data))


READERS: dict[str, Callable[[bytes, Sample, pa.Schema], pa.Table]] = {
    "csv": read_csv,
    "jsonl": read_jsonl,
    "parquet": read_parquet,
}


def assert_same_table(got: pa.Table, want: pa.Table) -> None:
    assert got.schema == want.schema
    for name in want.column_names:
        a, b = got[name], want[name]
        if pa.types.is_timestamp(b.type):  # as instants: a local time may be beyond Python's datetime
            a, b = pc.cast(a, pa.int64()), pc.cast(b, pa.int64())
        pairs = zip(a.to_pylist(), b.to_pylist(), strict=True)
        if name == "f":
            assert all(same_float(x, y) for x, y in pairs), name
        else:
            for row, (x, y) in enumerate(pairs, 1):
                assert type(x) is type(y) and x == y, (name, row, x, y)


def assert_json_refused(report: laden.Report, sample: Sample, root: Path) -> None:
    """JSON has no NaN or infinity: the load fails naming the first such row; nothing is published."""
    first = next(n for n, f in enumerate(sample.columns["f"], 1) if f is not None and not math.isfinite(f))
    assert not report.ok
    error = report.targets[0].error or ""
    assert f"row {first}, column 'f'" in error and "JSON has no NaN or infinity" in error, error
    assert list(root.iterdir()) == []


FILE_SETTINGS = settings(max_examples=SCALE or 40, deadline=None, derandomize=DERANDOMIZE, database=None)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
@FILE_SETTINGS
@given(sample=samples(margin=0))
@example(sample=extremes())
@example(sample=extremes("Europe/Berlin"))
@example(sample=extremes("America/St_Johns"))
@example(sample=extremes("Pacific/Kiritimati"))
def test_files_give_back_what_they_took(fmt: str, sample: Sample) -> None:
    table = arrow(sample)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        report = laden.load({"t": table}, f"{root}/{{table}}.{fmt}", batch_size=sample.batch_size)
        finite = all(f is None or math.isfinite(f) for f in sample.columns["f"])
        if fmt == "jsonl" and not finite:
            assert_json_refused(report, sample, root)
            return
        assert report.ok, str(report)
        got = READERS[fmt]((root / f"t.{fmt}").read_bytes(), sample, table.schema)
    assert_same_table(got, table)


# -- what the properties found, pinned -------------------------------------------------------------


def test_sqlite_keeps_decimals_of_up_to_15_significant_digits(sqlite_url: str, make_db: Any) -> None:
    """Trailing zeros of the scale are not significant: 100000 in DECIMAL(38,10) is 100000.0000000000
    and was refused as 16 digits. 15 significant digits come back equal; more are still rejects."""
    db = make_db(sqlite_url)
    db.execute("CREATE TABLE x (id INTEGER PRIMARY KEY, n DECIMAL(38,10))")
    kept = ["100000", "0.5", "123456789012345", "-0.000000123", "99999999999999.9", "1E-10"]
    refused = ["1234567890123456", "123456.7890123456", "123456789012345000"]
    values = pa.array([D(v) for v in kept + refused], DEC_TYPE)
    report = laden.load({"x": pa.table({"id": range(1, 10), "n": values})}, sqlite_url, on_error="reject")
    assert report.ok, str(report)
    assert [(r.row, r.column) for r in report.targets[0].rejects] == [(7, "n"), (8, "n"), (9, "n")]
    assert "15 significant digits" in report.targets[0].rejects[0].reason
    got = db.query("SELECT id, n FROM x ORDER BY id")
    assert got == [(1, 100000), (2, 0.5), (3, 123456789012345), (4, -1.23e-07), (5, 99999999999999.9), (6, 1e-10)]


def _zoned_table() -> pa.Table:
    berlin = [US_MIN, 0, US_MAX, 1_711_846_800_000_000]  # LMT +00:53:28, CET, local year 10000, CEST
    st_johns = [1_711_846_800_000_000, -2_208_988_800_000_000, 0, 0]  # NDT, LMT -03:30:52 (1900), NST, NST
    return pa.table(
        {
            "id": [1, 2, 3, 4],
            "ts": pa.array(berlin, pa.timestamp("us", "Europe/Berlin")),
            "sj": pa.array(st_johns, pa.timestamp("us", "America/St_Johns")),
        }
    )


def test_csv_writes_utc_where_the_local_time_would_lose_the_instant(tmp_path: Path) -> None:
    """Berlin's offset was +00:53:28 until 1893: pyarrow wrote ``00:53:28+0053``, 28 seconds off; a local
    year 10000 no reader parses. Such a row is written in UTC; the others keep local time and offset."""
    assert laden.load({"t": _zoned_table()}, f"{tmp_path}/{{table}}.csv").ok
    assert (tmp_path / "t.csv").read_text(encoding="utf-8") == (
        "id,ts,sj\n"
        "1,0001-01-01 00:00:00.000000Z,2024-03-31 01:00:00.000000Z\n"
        "2,1970-01-01 00:00:00.000000Z,1900-01-01 00:00:00.000000Z\n"
        "3,9999-12-31 23:59:59.999999Z,1970-01-01 00:00:00.000000Z\n"
        "4,2024-03-31 03:00:00.000000+0200,1969-12-31 20:30:00.000000-0330\n"
    )


def test_json_lines_write_utc_where_the_local_time_would_lose_the_instant(tmp_path: Path) -> None:
    assert laden.load({"t": _zoned_table()}, f"{tmp_path}/{{table}}.jsonl", batch_size=3).ok
    assert (tmp_path / "t.jsonl").read_text(encoding="utf-8") == (
        '{"id":1,"ts":"0001-01-01T00:00:00.000000Z","sj":"2024-03-30T22:30:00.000000-02:30"}\n'
        '{"id":2,"ts":"1970-01-01T01:00:00.000000+01:00","sj":"1900-01-01T00:00:00.000000Z"}\n'
        '{"id":3,"ts":"9999-12-31T23:59:59.999999Z","sj":"1969-12-31T20:30:00.000000-03:30"}\n'
        '{"id":4,"ts":"2024-03-31T03:00:00.000000+02:00","sj":"1969-12-31T20:30:00.000000-03:30"}\n'
    )


def test_mariadb_text_holds_65535_bytes_of_four_byte_characters(mysql_url: str, make_db: Any) -> None:
    """TEXT's limit is in bytes: 16383 four-byte characters fit, 16384 are a reject, never cut."""
    db = make_db(mysql_url)
    db.execute("CREATE TABLE x (id INT PRIMARY KEY, t TEXT) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    data = pa.table({"id": [1, 2, 3], "t": ["😀" * 16383, "😀" * 16384, "x" * 65535]})
    report = laden.load({"x": data}, mysql_url, on_error="reject")
    assert report.ok, str(report)
    assert [(r.row, r.column) for r in report.targets[0].rejects] == [(2, "t")]
    assert db.query("SELECT id, t FROM x ORDER BY id") == [(1, "😀" * 16383), (3, "x" * 65535)]


def test_mariadb_timestamp_outside_1970_to_2038_is_a_reject(mysql_url: str, make_db: Any) -> None:
    db = make_db(mysql_url)
    db.execute("CREATE TABLE x (id INT PRIMARY KEY, ts TIMESTAMP(6) NULL)")
    instants = [-1, 946_684_800_000_000, 2_147_483_647_999_999, 2_147_483_648_000_000]
    data = pa.table({"id": [1, 2, 3, 4], "ts": pa.array(instants, pa.timestamp("us", "Asia/Kathmandu"))})
    report = laden.load({"x": data}, mysql_url, on_error="reject")
    assert report.ok, str(report)
    assert [(r.row, r.column) for r in report.targets[0].rejects] == [(1, "ts"), (4, "ts")]
    db.execute("SET time_zone = '+00:00'")
    assert db.query("SELECT id, ts FROM x ORDER BY id") == [
        (2, dt.datetime(2000, 1, 1)),
        (3, dt.datetime(2038, 1, 19, 3, 14, 7, 999999)),
    ]


def test_a_rejected_row_whose_local_time_is_past_9999_is_reported(sqlite_url: str, make_db: Any) -> None:
    make_db(sqlite_url).execute("CREATE TABLE x (id INTEGER PRIMARY KEY, f REAL, ts TIMESTAMP)")
    ts = pa.array([US_MAX, 0], pa.timestamp("us", "Europe/Berlin"))
    report = laden.load({"x": pa.table({"id": [1, 2], "f": [math.nan, 1.0], "ts": ts})}, sqlite_url, on_error="reject")
    assert report.ok, str(report)
    [reject] = report.targets[0].rejects
    assert (reject.row, reject.column) == (1, "f")
    # given as its UTC instant: its Berlin wall time is past 9999
    assert reject.values["ts"] == dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone.utc)
