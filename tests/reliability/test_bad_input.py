"""Issue 7.3: the bad-input corpus (tests/data/bad_input, described in tests/data/README.md).

Every bad case in both modes. Fail mode runs the real CLI: exit code 1, the exact error naming
file, data row, reason (and column), nothing committed. Reject mode: read == loaded + rejected
exactly, the exact rejected rows and reasons, the loaded rows read back, through the Python API
and through the CLI's rejects file and --json report (the rejects file is written by the same
code whatever the engine, so that run is on SQLite; a CLI start costs a second or more).

Cases a database refuses run on all four engines. Cases of parsing run on SQLite only: a
file is parsed in the source, before any engine sees a row, the same way for every engine.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

import laden
from helpers import ddl

DATA = Path(__file__).resolve().parent.parent / "data" / "bad_input"
LADEN = Path(sys.executable).with_name("laden")
FIX = (
    "Nothing was committed; fix the row, or load with on_error='reject' (CLI: --on-error reject) to set bad rows aside."
)
UTF8 = "the file must be UTF-8: re-encode it (e.g. iconv -f latin1 -t utf-8)"
UNCLOSED = (
    "a quoted value is never closed, so the rest of the file would be read as one value; add the missing "
    'closing " (or double a " inside a quoted value: "")'
)

Rows = list[tuple[Any, ...]]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LADEN), *args], capture_output=True, text=True, timeout=300, check=False)


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The error the CLI printed for the (one) target."""
    errors = [line.strip()[len("error: ") :] for line in proc.stdout.splitlines() if line.strip().startswith("error: ")]
    assert len(errors) == 1, (proc.stdout, proc.stderr)
    return errors[0]


def masked(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


@dataclass(frozen=True)
class Bad:
    row: int
    column: str | None
    reason: str
    values: dict[str, Any] | None = None  # checked when given
    text: str | None = None


@dataclass(frozen=True)
class Case:
    table: str
    #: the bad rows in row order: the first is the one fail mode names
    bad: list[Bad]
    #: the table's rows after a load in reject mode
    loaded: Rows


def load_cli(path: Path, url: str, table: str, *more: str) -> subprocess.CompletedProcess[str]:
    return cli("load", str(path), "--to", url, "--table", table, *more)


def fail_error(url: str, path: Path, table: str, first: Bad) -> str:
    column = f", column {first.column!r}" if first.column else ""
    return f"{masked(url)}: table {table!r}, data row {first.row} of {path}{column}: {first.reason}. {FIX}"


def check_rejects(records: list[dict[str, Any]], expected: list[Bad]) -> None:
    got = sorted(records, key=lambda r: r["row"])
    assert [(r["row"], r["column"], r["reason"]) for r in got] == [(b.row, b.column, b.reason) for b in expected]
    for record, bad in zip(got, expected, strict=True):
        if bad.values is not None:
            assert record["values"] == bad.values
        assert record.get("text") == bad.text


def check_reject_cli(url: str, path: Path, table: str, expected: list[Bad], read: int, tmp_path: Path) -> None:
    rejects = tmp_path / f"rejects-{path.name}.jsonl"
    proc = load_cli(path, url, table, "--on-error", "reject", "--rejects", str(rejects), "--json")
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    (counts,) = json.loads(proc.stdout)["targets"][0]["tables"]
    assert (counts["rows_read"], counts["rows_loaded"], counts["rows_rejected"]) == (
        read,
        read - len(expected),
        len(expected),
    )
    check_rejects([json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()], expected)


def check_reject_api(url: str, path: Path, table: str, expected: list[Bad], read: int) -> None:
    report = laden.load({table: str(path)}, url, on_error="reject")
    assert report.ok, str(report)
    (counts,) = report.targets[0].tables
    assert (counts.rows_read, counts.rows_loaded, counts.rows_rejected) == (read, read - len(expected), len(expected))
    check_rejects([r.to_dict("") for r in report.targets[0].rejects], expected)


# -- parsing: SQLite only ----------------------------------------------------------------------

ITEMS = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT)"


def utf8(byte: str, before: str) -> str:
    return f"not valid UTF-8 (byte 0x{byte} after {before!r}); {UTF8}"


PARSED = {
    "ragged.csv": Case(
        "items",
        [
            Bad(2, None, "expected 3 fields, found 4", {}, "2,banana,yellow,long"),
            Bad(4, None, "expected 3 fields, found 2", {}, "4,date"),
        ],
        [(1, "apple", "red"), (3, "cherry", "dark red"), (5, "elderberry", "a, b")],
    ),
    "invalid_utf8.csv": Case(
        "items",
        [
            Bad(2, "name", utf8("E9", "caf"), {"id": "2", "name": "caf\\xe9", "note": "latin-1"}),
            Bad(3, "note", utf8("FF", ""), {"id": "3", "name": "cherry", "note": "\\xff\\xfe"}),
        ],
        [(1, "apple", "red"), (4, "date", "brown")],
    ),
    "invalid_utf8.jsonl": Case(
        "items",
        [
            Bad(2, "name", utf8("E9", "caf"), {"id": 2, "name": "caf\\xe9", "note": "latin-1"}),
            Bad(3, "note", utf8("FF", ""), {"id": 3, "name": "cherry", "note": "\\xff\\xfe"}),
        ],
        [(1, "apple", "red"), (4, "date", "brown")],
    ),
}

GOOD = {  # valid input that is easy to get wrong: loads exactly, in both modes
    "bom.csv": [(1, "apple", "red"), (2, "banana", None), (3, "cherry", "")],
    "crlf.csv": [(1, "apple", "red"), (2, "banana", "two\r\nlines"), (3, "cherry", None), (4, "date", "")],
    "bom_crlf.jsonl": [(1, "apple", "red"), (2, "banana", None), (3, "cherry", "")],
}


def whole_file_errors(path: Path) -> str:
    return {
        "unterminated_quote.csv": f"{path}: data row 2, column 'name': {UNCLOSED}",
        "unterminated_quote_last.csv": f"{path}: data row 2, column 'note': {UNCLOSED}",
        "unterminated_quote_last.csv.gz": f"{path}: data row 2, column 'note': {UNCLOSED}",
        "invalid_utf8_header.csv": (
            f"{path}: the header line is not valid UTF-8 ('utf-8' codec can't decode byte 0xf6 in position 1: "
            f"invalid start byte); {UTF8}"
        ),
        "ragged_invalid_utf8.csv": (
            f"{path}: cannot read CSV: CSV parse error: data row 2: Expected 3 columns, got 4: "
            "2,caf\ufffd,latin-1,extra; check the delimiter and quoting (every row needs one field per column)"
        ),
        "malformed.jsonl": (
            f"{path}: cannot read JSON Lines: JSON parse error: Missing a comma or '}}' after an object member. "
            "in data row 2; every line must hold one complete JSON object"
        ),
    }[path.name]


WHOLE_FILE = [
    "unterminated_quote.csv",
    "unterminated_quote_last.csv",
    "unterminated_quote_last.csv.gz",
    "invalid_utf8_header.csv",
    # pyarrow fails decoding the row's text before calling laden's handler, and reports that as "unraisable"
    pytest.param(
        "ragged_invalid_utf8.csv", marks=pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
    ),
    "malformed.jsonl",
]


def on_sqlite(url: str, sql: str) -> Rows:
    """Run one statement on a SQLite URL's file (autocommit); its rows."""
    with contextlib.closing(sqlite3.connect(unquote(url.removeprefix("sqlite:///")), isolation_level=None)) as con:
        return [tuple(r) for r in con.execute(sql)]


def items(url: str) -> Rows:
    return on_sqlite(url, "SELECT id, name, note FROM items ORDER BY id")


@pytest.fixture
def items_db(sqlite_url: str, make_db: Any) -> str:
    make_db(sqlite_url).execute(ITEMS)
    return sqlite_url


@pytest.mark.parametrize("name", list(PARSED))
def test_unreadable_rows_fail_naming_file_and_row(name: str, items_db: str) -> None:
    case, path = PARSED[name], DATA / name
    proc = load_cli(path, items_db, case.table)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert error_line(proc) == fail_error(items_db, path, case.table, case.bad[0])
    assert items(items_db) == []


@pytest.mark.parametrize("name", list(PARSED))
def test_unreadable_rows_are_rejected(name: str, items_db: str, tmp_path: Path) -> None:
    case, path = PARSED[name], DATA / name
    read = len(case.bad) + len(case.loaded)
    check_reject_cli(items_db, path, case.table, case.bad, read, tmp_path)
    assert items(items_db) == case.loaded
    on_sqlite(items_db, "DELETE FROM items")
    check_reject_api(items_db, path, case.table, case.bad, read)
    assert items(items_db) == case.loaded


@pytest.mark.parametrize("name", WHOLE_FILE)
def test_what_cannot_be_isolated_fails_the_file(name: str, items_db: str, tmp_path: Path) -> None:
    path = DATA / name
    proc = load_cli(path, items_db, "items")
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert error_line(proc) == whole_file_errors(path)
    assert items(items_db) == []
    rejects = tmp_path / "rejects.jsonl"
    report = laden.load({"items": str(path)}, items_db, on_error="reject", rejects=str(rejects))
    assert not report.ok
    assert report.targets[0].error == whole_file_errors(path)
    assert items(items_db) == []
    assert rejects.read_text() == ""  # made empty at the start of the load: no record in it


@pytest.mark.parametrize("name", list(GOOD))
def test_bom_and_crlf_load_exactly(name: str, items_db: str) -> None:
    proc = load_cli(DATA / name, items_db, "items", "--json")
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    (counts,) = json.loads(proc.stdout)["targets"][0]["tables"]
    assert (counts["rows_read"], counts["rows_loaded"], counts["rows_rejected"]) == (len(GOOD[name]),) * 2 + (0,)
    assert items(items_db) == GOOD[name]
    on_sqlite(items_db, "DELETE FROM items")
    check_reject_api(items_db, DATA / name, "items", [], len(GOOD[name]))
    assert items(items_db) == GOOD[name]


FIRST_BAD = {  # content, the first bad row
    "a NULL before a ragged row": (
        "id,name,note\n1,a,x\n2,,y\n3,c\n",
        Bad(2, "name", "NULL in NOT NULL column 'name'"),
    ),
    "a ragged row before a NULL": ("id,name,note\n1,a,x\n2,b\n3,,z\n", Bad(2, None, "expected 3 fields, found 2")),
    "a key taken twice before a ragged row": (
        "id,name,note\n1,a,x\n1,b,y\n3,c\n",
        Bad(2, "id", "UNIQUE constraint failed: items.id"),
    ),
}


@pytest.mark.parametrize("case", list(FIRST_BAD))
def test_fail_mode_names_the_first_bad_row_whatever_its_kind(case: str, items_db: str, tmp_path: Path) -> None:
    content, first = FIRST_BAD[case]
    path = tmp_path / "items.csv"
    path.write_text(content)
    report = laden.load(str(path), items_db)
    assert report.targets[0].error == fail_error(items_db, path, "items", first)
    assert items(items_db) == []


BIG = 50 << 20


def big_value() -> str:
    """50 MiB with commas, doubled quotes and newlines: the same every time."""
    piece = 'line, with "quotes"\n' + hashlib.sha256(b"laden").hexdigest() + "\n"
    return (piece * (BIG // len(piece) + 1))[:BIG]


def test_a_50_mb_field(items_db: str, tmp_path: Path) -> None:
    big = big_value()
    path = tmp_path / "big_field.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(
            'id,name,note\n1,apple,red\n2,banana\n3,cherry,"' + big.replace('"', '""') + '"\n4,date,brown\n5,e,l,m\n'
        )
    bad = [
        Bad(2, None, "expected 3 fields, found 2", {}, "2,banana"),
        Bad(5, None, "expected 3 fields, found 4", {}, "5,e,l,m"),
    ]
    proc = load_cli(path, items_db, "items")
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert error_line(proc) == fail_error(items_db, path, "items", bad[0])
    assert items(items_db) == []
    check_reject_api(items_db, path, "items", bad, 5)
    assert items(items_db) == [(1, "apple", "red"), (3, "cherry", big), (4, "date", "brown")]


# -- refused by the database or by laden's checks: every engine ----------------------------------

SHOP = """
CREATE TABLE customers (id {bigint} PRIMARY KEY, email {text} NOT NULL UNIQUE, name {text});
CREATE TABLE orders (
    id {bigint} PRIMARY KEY, customer_id {bigint} NOT NULL REFERENCES customers(id), qty {int} NOT NULL
);
"""
CUSTOMERS = [(1, "ann@example.com", "Ann"), (2, "bob@example.com", "Bob")]
INT = {"sqlite": "INTEGER", "duckdb": "INTEGER", "postgresql": "integer", "mysql": "int(11)"}
BIGINT = {"sqlite": "INTEGER", "duckdb": "BIGINT", "postgresql": "bigint", "mysql": "bigint(20)"}


def not_a_number(value: str, sql: str) -> str:
    return f"cannot convert {value} to {sql} (not a number)"


def has_fraction(value: str, sql: str) -> str:
    return f"cannot convert {value} to {sql} (has a fraction; {sql} holds whole numbers only)"


def unique(engine: str, table: str, column: str, value: str, constraint: str) -> tuple[str, str]:
    """(column, reason) for a key that is already taken."""
    if engine == "sqlite":
        return column, f"UNIQUE constraint failed: {table}.{column}"
    if engine == "duckdb":
        return column, f"duplicate key ({column}): already in {table!r} or earlier in the source"
    if engine == "postgresql":
        return column, (
            f'duplicate key value violates unique constraint "{constraint}" (Key ({column})=({value}) already exists.)'
        )
    key = "PRIMARY" if constraint.endswith("pkey") else column
    return column, f"Duplicate entry '{value}' for key '{key}' (Warning 1062)"


def orphan(engine: str, value: int, database: str) -> tuple[str, str]:
    if engine == "sqlite":
        return "customer_id", "FOREIGN KEY constraint failed"
    if engine == "duckdb":
        return "customer_id", "no row in 'customers' for orders(customer_id) -> customers(id)"
    if engine == "postgresql":
        return "customer_id", (
            'insert or update on table "orders" violates foreign key constraint "orders_customer_id_fkey" '
            f'(Key (customer_id)=({value}) is not present in table "customers".)'
        )
    return "customer_id", (
        f"Cannot add or update a child row: a foreign key constraint fails (`{database}`.`orders`, CONSTRAINT "
        "`orders_ibfk_1` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`id`)) (Warning 1452)"
    )


def refused(name: str, engine: str, database: str) -> Case:
    """The case of file ``name`` as ``engine`` reports it."""
    int_, bigint = INT[engine], BIGINT[engine]

    def bad(row: int, found: tuple[str | None, str]) -> Bad:
        return Bad(row, *found)

    cases = {
        "not_null.csv": Case(
            "orders",
            [
                Bad(2, "qty", "NULL in NOT NULL column 'qty'"),
                Bad(3, "customer_id", "NULL in NOT NULL column 'customer_id'"),
            ],
            [(1, 1, 5), (4, 1, 2)],
        ),
        "unique.csv": Case(
            "customers",
            [
                bad(2, unique(engine, "customers", "email", "ann@example.com", "customers_email_key")),
                bad(4, unique(engine, "customers", "email", "dan@example.com", "customers_email_key")),
            ],
            [*CUSTOMERS, (3, "cat@example.com", "Cat"), (5, "dan@example.com", "Dan")],
        ),
        "type.csv": Case(
            "orders",
            [
                Bad(2, "qty", not_a_number("'many'", int_)),
                Bad(3, "qty", has_fraction("'1.5'", int_)),
                Bad(4, "customer_id", not_a_number("'x'", bigint)),
            ],
            [(1, 1, 5), (5, 2, 3)],
        ),
        "type.jsonl": Case(
            "orders",
            [Bad(2, "qty", has_fraction("2.5", int_)), Bad(4, "qty", has_fraction("-0.25", int_))],
            [(1, 1, 5), (3, 2, 3)],
        ),
        "fk.csv": Case(
            "orders",
            [bad(2, orphan(engine, 99, database)), bad(4, orphan(engine, 100, database))],
            [(1, 1, 5), (3, 2, 2)],
        ),
        "duplicate_keys.csv": Case(
            "orders",
            [
                bad(3, unique(engine, "orders", "id", "1", "orders_pkey")),
                bad(5, unique(engine, "orders", "id", "2", "orders_pkey")),
            ],
            [(1, 1, 5), (2, 1, 1), (3, 2, 2)],
        ),
    }
    cases["not_null.jsonl"] = cases["not_null.csv"]
    return cases[name]


REFUSED = ["not_null.csv", "not_null.jsonl", "unique.csv", "type.csv", "type.jsonl", "fk.csv", "duplicate_keys.csv"]


def shop(db: Any) -> None:
    db.script(ddl(db.engine, SHOP))
    for row in CUSTOMERS:
        db.execute(f"INSERT INTO customers (id, email, name) VALUES ({db.ph}, {db.ph}, {db.ph})", row)


def content(db: Any, table: str) -> Rows:
    columns = "id, email, name" if table == "customers" else "id, customer_id, qty"
    rows = db.query(f"SELECT {columns} FROM {table} ORDER BY id")
    return [tuple(int(v) if isinstance(v, int) else v for v in r) for r in rows]


def database_of(url: str) -> str:
    return url.rsplit("/", 1)[-1]


@pytest.mark.parametrize("name", REFUSED)
def test_refused_rows_fail_naming_file_row_and_reason(name: str, db: Any, target_url: str, engine: str) -> None:
    shop(db)
    case, path = refused(name, engine, database_of(target_url)), DATA / name
    proc = load_cli(path, target_url, case.table)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert error_line(proc) == fail_error(target_url, path, case.table, case.bad[0])
    assert content(db, "customers") == CUSTOMERS  # nothing committed
    assert content(db, "orders") == []


@pytest.mark.parametrize("name", REFUSED)
def test_refused_rows_are_rejected(name: str, db: Any, target_url: str, engine: str, tmp_path: Path) -> None:
    shop(db)
    case, path = refused(name, engine, database_of(target_url)), DATA / name
    read = len(case.bad) + len(case.loaded) - (len(CUSTOMERS) if case.table == "customers" else 0)
    if engine == "sqlite":
        check_reject_cli(target_url, path, case.table, case.bad, read, tmp_path)
        assert content(db, case.table) == case.loaded
        db.execute("DELETE FROM orders")  # as it was: the API must do the same
        db.execute("DELETE FROM customers WHERE id > 2")
    check_reject_api(target_url, path, case.table, case.bad, read)
    assert content(db, case.table) == case.loaded
    other = ("orders", []) if case.table == "customers" else ("customers", CUSTOMERS)
    assert content(db, other[0]) == other[1]
