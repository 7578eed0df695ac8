"""Issue 7.5 (first part): hostile table, column and key names through the Python API and CSV
headers, on every engine. Each name round-trips exactly, and a canary table survives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

import laden

NAMES = [
    'we"ird',
    "back`tick",
    "br[ack]et",
    "semi;colon",
    "dash--dash",
    "sp ace",
    "select",
    "ünï ✓",
    "o'quote",
    "DROP TABLE canary; --",
]


def quote(engine: str, name: str) -> str:
    if engine == "mysql":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


@pytest.mark.parametrize("name", NAMES)
def test_hostile_names_round_trip_and_the_canary_survives(
    db: Any, target_url: str, engine: str, name: str, tmp_path: Path
) -> None:
    q = lambda n: quote(engine, n)  # noqa: E731
    text = "VARCHAR(50)" if engine == "mysql" else "TEXT"
    db.execute("CREATE TABLE canary (id INT PRIMARY KEY)")
    db.execute("INSERT INTO canary VALUES (1)")
    parent, child, key, col = f"p {name}", f"c {name}", f"k {name}", name
    db.execute(f"CREATE TABLE {q(parent)} ({q(key)} INT PRIMARY KEY, {q(col)} {text})")
    db.execute(
        f"CREATE TABLE {q(child)} ({q(key)} INT PRIMARY KEY, {q('ref ' + name)} INT REFERENCES {q(parent)}({q(key)}))"
    )
    parents = pa.table({key: [1, 2], col: ["x", "y"]})
    children = pa.table({key: [10, 11], "ref " + name: [2, 1]})
    # DuckDB refuses to clear a parent and its filled child in one transaction (README: known limits)
    strategies = ("append", "upsert") if engine == "duckdb" else ("append", "upsert", "truncate_insert")
    for strategy in strategies:
        report = laden.load({child: children, parent: parents}, target_url, strategy=strategy)  # children first
        assert report.ok, (strategy, str(report))
    keys = {parent: [key]}
    report = laden.load({parent: parents}, target_url, strategy="upsert", keys=keys, cascade=True)
    assert report.ok, str(report)
    assert sorted(db.query(f"SELECT {q(key)}, {q(col)} FROM {q(parent)}")) == [(1, "x"), (2, "y")]
    assert sorted(db.query(f"SELECT {q(key)}, {q('ref ' + name)} FROM {q(child)}")) == [(10, 2), (11, 1)]
    # the same names as a CSV header
    path = tmp_path / "parent.csv"
    pacsv.write_csv(pa.table({key: [3], col: ["z"]}), path)
    assert laden.load(str(path), target_url, table=parent).ok
    assert (3, "z") in db.query(f"SELECT {q(key)}, {q(col)} FROM {q(parent)}")
    assert db.query("SELECT id FROM canary") == [(1,)]
