"""The `laden` command as a user runs it: real processes, exit codes, JSON on stdout."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from helpers import create_shop, rows

LADEN = [sys.executable, "-m", "laden.cli"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LADEN, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def write_shop(directory: Path) -> None:
    directory.mkdir(exist_ok=True)
    pacsv.write_csv(pa.table({"id": [1, 2], "name": ["Ann", "Bob"], "email": ["a@x", ""]}), directory / "customers.csv")
    pq.write_table(
        pa.table({"id": [10, 11], "customer_id": [2, 1], "total": ["1.50", "2.00"]}), directory / "orders.parquet"
    )
    (directory / "order_items.jsonl").write_text(
        '{"order_id": 10, "line_no": 1, "sku": "A", "qty": 1}\n{"order_id": 11, "line_no": 1, "sku": "B", "qty": 2}\n'
    )


def test_load_directory_json_report_and_exit_code(db: Any, target_url: str, tmp_path: Path) -> None:
    create_shop(db)
    write_shop(tmp_path / "data")
    proc = run("load", str(tmp_path / "data"), "--to", target_url, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is True
    assert [(t["table"], t["rows_loaded"]) for t in report["targets"][0]["tables"]] == [
        ("customers", 2),
        ("orders", 2),
        ("order_items", 2),
    ]
    assert rows(db, "customers") == [(1, "Ann", "a@x"), (2, "Bob", "")]
    # the same load again conflicts on every key: exit 1, and the report says why
    proc = run("load", str(tmp_path / "data"), "--to", target_url, "--json")
    assert proc.returncode == 1
    failed = json.loads(proc.stdout)
    assert failed["status"] == "failed" and "row 1" in failed["targets"][0]["error"]


def test_upsert_with_key_flag_and_table_flag(sqlite_url: str, make_db: Any, tmp_path: Path) -> None:
    db = make_db(sqlite_url)
    create_shop(db)
    write_shop(tmp_path / "data")
    assert run("load", str(tmp_path / "data"), "--to", sqlite_url).returncode == 0
    items = tmp_path / "new_items.csv"
    items.write_text("order_id,line_no,sku,qty\n10,1,A2,5\n10,2,C,1\n")
    proc = run(
        "load",
        str(items),
        "--to",
        sqlite_url,
        "--table",
        "order_items",
        "--strategy",
        "upsert",
        "--key",
        "order_items=order_id,line_no",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "order_items" in proc.stdout and "upsert" in proc.stdout
    assert rows(db, "order_items", "1, 2") == [(10, 1, "A2", 5), (10, 2, "C", 1), (11, 1, "B", 2)]


def test_reject_mode_writes_rejects_file(sqlite_url: str, make_db: Any, tmp_path: Path) -> None:
    db = make_db(sqlite_url)
    create_shop(db)
    src = tmp_path / "customers.csv"
    src.write_text("id,name,email\n1,Ann,a@x\nx,Bad,b@x\n3,,c@x\n")
    rejects = tmp_path / "rejects.jsonl"
    proc = run("load", str(src), "--to", sqlite_url, "--on-error", "reject", "--rejects", str(rejects), "--json")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(r["row"], r["column"]) for r in records] == [(2, "id"), (3, "name")]
    assert records[1]["reason"] == "NULL in NOT NULL column 'name'"
    assert json.loads(proc.stdout)["rows_rejected"] == 2
    assert rows(db, "customers") == [(1, "Ann", "a@x")]
    proc = run("load", str(src), "--to", sqlite_url, "--on-error", "reject", "--max-rejects", "1", cwd=tmp_path)
    assert proc.returncode == 1 and "more than 1 rejected rows" in proc.stdout
    assert len(list(tmp_path.glob("laden-rejects-*.jsonl"))) == 1  # the default rejects file


def test_usage_errors_exit_2(tmp_path: Path, sqlite_url: str) -> None:
    proc = run("load", str(tmp_path / "missing.csv"), "--to", sqlite_url)
    assert proc.returncode == 2 and "missing.csv: no such file or directory" in proc.stderr
    proc = run("load", "x.csv", "--to", sqlite_url, "--strategy", "merge")
    assert proc.returncode == 2 and "invalid choice: 'merge'" in proc.stderr
    proc = run("load", "x.csv", "--to", "oracle://db")
    assert proc.returncode == 2
    src = tmp_path / "t.csv"
    src.write_text("a\n1\n")
    proc = run("load", str(src), "--to", sqlite_url, "--key", "nonsense")
    assert proc.returncode == 2 and "--key 'nonsense': expected TABLE=COL[,COL]" in proc.stderr


def test_failed_connection_masks_password(tmp_path: Path) -> None:
    src = tmp_path / "t.csv"
    src.write_text("a\n1\n")
    proc = run("load", str(src), "--to", "postgresql://me:s3cr%21t@127.0.0.1:1/db", "--json")
    assert proc.returncode == 1
    out = proc.stdout + proc.stderr
    assert "s3cr" not in out and "me:***@127.0.0.1:1/db" in out


def test_dry_run_prints_the_plan(sqlite_url: str, make_db: Any, tmp_path: Path) -> None:
    create_shop(make_db(sqlite_url))
    write_shop(tmp_path / "data")
    proc = run("load", str(tmp_path / "data"), "--to", sqlite_url, "--dry-run", "--strategy", "truncate_insert")
    assert proc.returncode == 0, proc.stderr
    assert "clear (children first): order_items, orders, customers" in proc.stdout
    assert "1. customers" in proc.stdout and "3. order_items" in proc.stdout
    assert make_db(sqlite_url).count("customers") == 0


def test_demo_generates_retail_into_sqlite_and_checks_it(tmp_path: Path) -> None:
    from laden.generate import retail_counts

    proc = run("demo", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "load " in proc.stdout and ": ok" in proc.stdout
    assert "FK orphans: 0 across 10 foreign keys" in proc.stdout
    import sqlite3

    con = sqlite3.connect(tmp_path / "laden-demo.db")
    expected = retail_counts(0.01)
    counts = {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in expected}
    assert counts == expected
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    # running it again replaces the data: same counts
    proc = run("demo", "--json", cwd=tmp_path)
    assert proc.returncode == 0
    result = json.loads(proc.stdout)
    assert result["integrity"]["ok"] is True and result["integrity"]["row_counts"] == expected
    assert con.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == expected["customers"]


def test_inspect_json(sqlite_url: str, make_db: Any) -> None:
    create_shop(make_db(sqlite_url))
    proc = run("inspect", sqlite_url, "--json")
    assert proc.returncode == 0, proc.stderr
    tables = {t["name"]: t for t in json.loads(proc.stdout)["tables"]}
    assert tables["order_items"]["primary_key"] == ["order_id", "line_no"]
    assert tables["orders"]["foreign_keys"][0]["ref_table"] == "customers"


def test_mysql_without_local_infile_falls_back_to_insert_and_says_so(mysql_url: str, make_db: Any) -> None:
    import laden

    db = make_db(mysql_url)
    create_shop(db)
    db.execute("SET GLOBAL local_infile = 0")
    try:
        data = {
            "customers": pa.table({"id": list(range(1, 2001)), "name": ["n'\\\t\"x"] * 2000, "email": [None] * 2000})
        }
        report = laden.load(data, mysql_url, batch_size=500)
    finally:
        db.execute("SET GLOBAL local_infile = 1")
    assert report.ok, str(report)
    assert any("refuses LOAD DATA LOCAL INFILE" in n for n in report.targets[0].notes)
    assert db.count("customers") == 2000
    assert db.query("SELECT DISTINCT name FROM customers") == [("n'\\\t\"x",)]
    assert "refuses LOAD DATA" in str(report)


def test_sigterm_cancels_rolls_back_and_reports(sqlite_url: str, make_db: Any, tmp_path: Path) -> None:
    import signal
    import time

    db = make_db(sqlite_url)
    db.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT)")
    src = tmp_path / "big.parquet"
    n = 400_000
    pq.write_table(pa.table({"id": range(n), "v": ["x" * 20] * n}), src)
    proc = subprocess.Popen(
        [*LADEN, "load", str(src), "--to", sqlite_url, "--batch-size", "200", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    journal = Path(db.path + "-journal")
    deadline = time.monotonic() + 60
    while not journal.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)  # the rollback journal appears with the first written batch
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    report = json.loads(out)
    assert report["status"] == "cancelled"
    assert report["targets"][0]["tables"][0]["status"] == "cancelled"
    assert "cancelling" in err
    assert db.count("big") == 0


def test_start_up_imports_no_pandas() -> None:
    # pandas costs ~0.2 s at every start (pyarrow.dataset, or Arrow arrays built at import time,
    # pull it in): the command line and the library must not import it before they need it
    code = "import sys, laden, laden.cli; print(sorted(m for m in ('pandas', 'pyarrow.dataset') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


_BULK_COLUMNS = (
    "(id BIGINT PRIMARY KEY, n BIGINT, s VARCHAR(8), f DOUBLE PRECISION, ts {ts}, b BOOLEAN, d DATE, m DECIMAL(12, 2))"
)
BULK_DDL = {
    "duckdb": "CREATE TABLE t " + _BULK_COLUMNS.format(ts="TIMESTAMP"),
    "postgresql": "CREATE TABLE t " + _BULK_COLUMNS.format(ts="TIMESTAMP(6)"),
    "mysql": "CREATE TABLE t " + _BULK_COLUMNS.format(ts="DATETIME(6)"),
    "sqlite": "CREATE TABLE t " + _BULK_COLUMNS.format(ts="TIMESTAMP"),
}


def load_in_process_without_pandas(*args: str) -> None:
    """``laden load ARGS`` in a fresh interpreter; asserts it succeeded and never imported pandas."""
    code = (
        "import sys; from laden.cli import main; "
        f"rc = main(['load', *{list(args)!r}, '--json']); "
        "print('pandas imported' if 'pandas' in sys.modules else 'no pandas', file=sys.stderr); sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "no pandas"


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl", "json"])
def test_file_targets_import_no_pandas(fmt: str, tmp_path: Path) -> None:
    # the file writers built their empty schema and JSON literals from Python values
    ts = [dt.datetime(2026, 1, 2, 3, 4, 5, 6), None]
    table = pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),
            "s": pa.array(['tab\there "q"', None], pa.string()),
            "f": pa.array([1.5, None], pa.float64()),
            "ts": pa.array(ts, pa.timestamp("us")),
            "b": pa.array([True, None], pa.bool_()),
            "d": pa.array([dt.date(2026, 1, 2), None], pa.date32()),
            "m": pa.array([Decimal("-9999999999.99"), None], pa.decimal128(12, 2)),
        }
    )
    pq.write_table(table, tmp_path / "in.parquet")
    load_in_process_without_pandas(
        str(tmp_path / "in.parquet"), "--to", f"{tmp_path}/out/", "--table", "t", "--format", fmt
    )
    written = tmp_path / "out" / f"t.{fmt}"
    if fmt == "parquet":
        assert pq.read_table(written).equals(table)
        return
    text = written.read_text(encoding="utf-8")
    if fmt == "csv":
        assert list(csv.reader(io.StringIO(text))) == [
            ["id", "s", "f", "ts", "b", "d", "m"],
            ["1", 'tab\there "q"', "1.5", "2026-01-02 03:04:05.000006", "true", "2026-01-02", "-9999999999.99"],
            ["2", "", "", "", "", "", ""],
        ]
        return
    records = json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()]
    assert records == [
        {
            "id": 1,
            "s": 'tab\there "q"',
            "f": 1.5,
            "ts": "2026-01-02T03:04:05.000006",
            "b": True,
            "d": "2026-01-02",
            "m": "-9999999999.99",
        },
        {"id": 2, "s": None, "f": None, "ts": None, "b": None, "d": None, "m": None},
    ]


@pytest.mark.parametrize("engine", ["duckdb", "postgresql", "mysql", "sqlite"], indirect=True)
def test_bulk_load_imports_no_pandas(engine: str, target_url: str, db: Any, tmp_path: Path) -> None:
    # pyarrow imports pandas (~0.25 s) at its first conversion of a Python value into Arrow; the
    # append and upsert paths convert none, NULLs and escapes included (for SQLite, ADBC's DB-API
    # module is not used: it imports pyarrow.dataset, which imports pandas)
    db.script(BULK_DDL[engine])
    ts = [dt.datetime(2026, 1, 2, 3, 4, 5, 6), None, dt.datetime(1999, 12, 31, 23, 59, 59)]
    table = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "n": pa.array([None, -(2**63), 2**63 - 1], pa.int64()),
            "s": pa.array(["tab\there", None, "back\\n"], pa.string()),
            "f": pa.array([1.5, None, -0.25], pa.float64()),
            "ts": pa.array(ts, pa.timestamp("us")),
            "b": pa.array([True, False, None], pa.bool_()),
            "d": pa.array([dt.date(2026, 1, 2), None, dt.date(1970, 1, 1)], pa.date32()),
            "m": pa.array([Decimal("12.34"), None, Decimal("-9999999999.99")], pa.decimal128(12, 2)),
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    load_in_process_without_pandas(str(tmp_path / "t.parquet"), "--to", target_url)
    # upsert: row 3 changes, row 4 is new
    change = pa.table({"id": [3, 4], "n": pa.array([None, 7], pa.int64())})
    pq.write_table(change, tmp_path / "u.parquet")
    upsert = ("--table", "t", "--strategy", "upsert")
    load_in_process_without_pandas(str(tmp_path / "u.parquet"), "--to", target_url, *upsert)
    got = db.query("SELECT id, n, s, f, ts, b, d, m FROM t ORDER BY id")
    expected = [
        (1, None, "tab\there", 1.5, ts[0], True, dt.date(2026, 1, 2), Decimal("12.34")),
        (2, -(2**63), None, None, None, False, None, None),
        (3, None, "back\\n", -0.25, ts[2], None, dt.date(1970, 1, 1), Decimal("-9999999999.99")),
        (4, 7, None, None, None, None, None, None),
    ]
    if engine == "sqlite":  # times as text, decimals in a NUMERIC column as floats
        expected = [tuple(_as_sqlite(v) for v in row) for row in expected]
    assert [(*r[:5], None if r[5] is None else bool(r[5]), *r[6:]) for r in got] == expected


def _as_sqlite(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return float(value) if isinstance(value, Decimal) else value
