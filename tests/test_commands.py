"""The CLI of inspect, dry runs, queries and errors: exact output, exit codes, no secrets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from helpers import create_shop, ddl

LADEN = [sys.executable, "-m", "laden.cli"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LADEN, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


CYCLE = """
CREATE TABLE teams (id {bigint} PRIMARY KEY, name {text} NOT NULL, captain_id {bigint});
CREATE TABLE players (id {bigint} PRIMARY KEY, team_id {bigint} REFERENCES teams(id), mentor_id {bigint}
    REFERENCES players(id));
"""


def test_inspect_shows_keys_counts_and_load_order_with_cycles(db: Any, target_url: str) -> None:
    create_shop(db)
    db.script(ddl(db.engine, CYCLE))
    if db.engine in ("postgresql", "mysql"):  # SQLite and DuckDB cannot add an FK to an existing table
        db.execute("ALTER TABLE teams ADD CONSTRAINT teams_captain FOREIGN KEY (captain_id) REFERENCES players(id)")
    db.execute("INSERT INTO customers (id, name, email) VALUES (1, 'Ann', 'a@x')")
    proc = run("inspect", target_url)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "customers  (1 rows)" in text
    assert "  FK orders(customer_id) -> customers(id)" in text
    order_line = next(line for line in text.splitlines() if line.startswith("load order (parents first): "))
    order = order_line.split(": ", 1)[1].split(", ")
    assert order.index("customers") < order.index("orders") < order.index("order_items")
    assert "  self-reference players(mentor_id) -> players(id)" in text or "cycle players <-> teams" in text
    proc = run("inspect", target_url, "--json", "--table", "orders", "--table", "customers")
    data = json.loads(proc.stdout)
    assert [t["name"] for t in data["tables"]] == ["customers", "orders"]
    assert data["load_order"] == ["customers", "orders"]
    assert data["tables"][0]["row_count"] == 1
    assert {c["name"]: c["nullable"] for c in data["tables"][1]["columns"]}["customer_id"] is False
    proc = run("inspect", target_url, "--table", "nope")
    assert proc.returncode == 2 and proc.stderr.strip().endswith("no table 'nope'")


def test_dry_run_prints_the_plan_and_writes_nothing(db: Any, target_url: str, tmp_path: Path) -> None:
    create_shop(db)
    data = tmp_path / "data"
    data.mkdir()
    pq.write_table(
        pa.table({"id": [1, 2, 3], "name": ["a", "b", "c"], "email": ["1", "2", "3"]}), data / "customers.parquet"
    )
    pq.write_table(pa.table({"id": [7], "customer_id": [1], "total": ["1.00"]}), data / "orders.parquet")
    proc = run("load", str(data), "--to", target_url, "--dry-run", "--strategy", "upsert", "--json")
    assert proc.returncode == 0, proc.stderr
    [plan] = json.loads(proc.stdout)["plans"]
    assert plan["strategy"] == "upsert"
    assert [(t["table"], t["keys"], t["rows_in_source"]) for t in plan["tables"]] == [
        ("customers", ["id"], 3),
        ("orders", ["id"], 1),
    ]
    assert plan["tables"][0]["columns"] == {"id": "id", "name": "name", "email": "email"}
    proc = run("load", str(data), "--to", target_url, "--dry-run")
    assert proc.returncode == 0
    assert "(dry run: nothing written)" in proc.stdout
    assert "     3 rows in the source" in proc.stdout
    assert db.count("customers") == 0 and db.count("orders") == 0


def test_errors_are_short_and_debug_adds_the_traceback(tmp_path: Path) -> None:
    url = "postgresql://me:Pa%24%24w0rd%21@127.0.0.1:1/db"
    proc = run("inspect", url)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) <= 2
    assert proc.stderr.startswith("laden: error: cannot connect to postgresql://me:***@127.0.0.1:1/db")
    proc = run("inspect", url, "--debug")
    assert "Traceback (most recent call last)" in proc.stderr
    for secret in ("Pa$$w0rd!", "Pa%24%24w0rd%21"):
        assert secret not in proc.stderr + proc.stdout


def test_progress_bars_on_a_terminal_and_none_when_piped(sqlite_url: str, make_db: Any, tmp_path: Path) -> None:
    import os
    import pty

    db = make_db(sqlite_url)
    create_shop(db)
    data = tmp_path / "customers.parquet"
    pq.write_table(pa.table({"id": list(range(5000)), "name": ["n"] * 5000, "email": [None] * 5000}), data)
    proc = run("load", str(data), "--to", sqlite_url, "--strategy", "truncate_insert", "--cascade")
    assert proc.returncode == 0 and proc.stderr == ""  # piped: no bars, no escape codes
    leader, follower = pty.openpty()
    try:
        with subprocess.Popen(
            [
                *LADEN,
                "load",
                str(data),
                "--to",
                sqlite_url,
                "--strategy",
                "truncate_insert",
                "--cascade",
                "--batch-size",
                "1000",
            ],
            stdout=subprocess.PIPE,
            stderr=follower,
            env={**os.environ, "COLUMNS": "160"},
        ) as child:
            os.close(follower)
            out, _ = child.communicate(timeout=120)
            drawn = b""
            while True:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                drawn += chunk
    finally:
        os.close(leader)
    assert child.returncode == 0, out
    text = drawn.decode("utf-8", "replace")
    assert f"{sqlite_url.split('///')[0]}" in text or "customers" in text
    assert "5000/5000" in text and "ok" in text
    assert b"customers" in out  # the report still goes to stdout


def test_generate_retail_to_a_database_and_files_in_one_run(tmp_path: Path) -> None:
    from laden.generate import retail_counts

    db = tmp_path / "shop.db"
    proc = run(
        "generate", "retail", "--scale", "0.002", "--seed", "3", "--to", f"sqlite:///{db}", "--to", f"{tmp_path}/out/",
        "--create", "--workers", "1", "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    expected = retail_counts(0.002)
    for target in report["targets"]:
        assert {t["table"]: t["rows_loaded"] for t in target["tables"]} == expected
    assert pq.read_table(tmp_path / "out" / "customers.parquet").num_rows == expected["customers"]
    proc = run("generate", "retail", "--to", f"sqlite:///{db}", "--scale", "-1")
    assert proc.returncode == 2 and "scale" in proc.stderr


def test_generate_schema_from_the_command_line_with_overrides(sqlite_url: str, make_db: Any, tmp_path: Path) -> None:
    db = make_db(sqlite_url)
    create_shop(db)
    (tmp_path / "laden.yaml").write_text("generators:\n  customers.name: {values: {Ann: 3, Bob: 1}}\n")
    proc = run(
        "generate", "schema", "--from", sqlite_url, "--rows", "50", "--rows", "orders=200", "--seed", "5", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    loaded = {t["table"]: t["rows_loaded"] for t in json.loads(proc.stdout)["targets"][0]["tables"]}
    assert loaded["customers"] == 50 and loaded["orders"] == 200
    assert {n for (n,) in db.query("SELECT DISTINCT name FROM customers")} <= {"Ann", "Bob"}
    orphans = db.query(
        "SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = o.customer_id)"
    )
    assert orphans == [(0,)]
    proc = run("generate", "schema", "--from", sqlite_url, "--rows", "x=y")
    assert proc.returncode == 2 and "--rows 'x=y': expected N or TABLE=N" in proc.stderr
