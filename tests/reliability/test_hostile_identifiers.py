"""Issue 7.5: hostile table, column and key names through the Python API, CSV headers, JSON
Lines keys, CLI flags and laden.yaml, on every engine, and names at each engine's length limit.
Each name round-trips exactly or is refused with a clear error, and a canary table survives."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml

import laden
from laden.cli import main

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


def _tables(db: Any, engine: str, names: list[str]) -> None:
    """A canary, and per name a parent (key, name) and a child referencing it."""
    q = lambda n: quote(engine, n)  # noqa: E731
    text = "VARCHAR(50)" if engine == "mysql" else "TEXT"
    db.execute("CREATE TABLE canary (id INT PRIMARY KEY)")
    db.execute("INSERT INTO canary VALUES (1)")
    for name in names:
        db.execute(f"CREATE TABLE {q('p ' + name)} ({q('k ' + name)} INT PRIMARY KEY, {q(name)} {text})")
        db.execute(
            f"CREATE TABLE {q('c ' + name)} ({q('k ' + name)} INT PRIMARY KEY, "
            f"{q('ref ' + name)} INT REFERENCES {q('p ' + name)}({q('k ' + name)}))"
        )


def _cli(*args: str) -> tuple[int, str, str]:
    """The CLI in this process (its argument parsing is what is tested here), exit code and output."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out, err)
    return code, out.getvalue(), err.getvalue()


def _cli_quoted(name: str) -> str:
    """A name as ``--key`` takes it: in double quotes, ``"`` doubled."""
    return '"' + name.replace('"', '""') + '"'


def test_names_from_cli_flags_and_json_keys_round_trip(db: Any, target_url: str, engine: str, tmp_path: Path) -> None:
    q = lambda n: quote(engine, n)  # noqa: E731
    names = [*NAMES, "a=b,c"]  # also the separators of --key itself
    _tables(db, engine, names)
    for name in names:
        parent, key = "p " + name, "k " + name
        source = tmp_path / "parents.parquet"  # the table comes from --table, the key from --key
        pq.write_table(pa.table({key: [1, 2], name: ["x", "y"]}), source)
        code, out, err = _cli("load", str(source), "--to", target_url, "--table", parent, "--strategy", "upsert",
                              "--key", f"{_cli_quoted(parent)}={_cli_quoted(key)}", "--json")  # fmt: skip
        assert code == 0, (name, err, out)
        assert json.loads(out)["targets"][0]["tables"][0]["rows_loaded"] == 2
        lines = tmp_path / "children.jsonl"  # JSON keys are the column names
        lines.write_text(json.dumps({key: 10, "ref " + name: 2}) + "\n", encoding="utf-8")
        report = laden.load(str(lines), target_url, table="c " + name)
        assert report.ok, (name, str(report))
        assert sorted(db.query(f"SELECT {q(key)}, {q(name)} FROM {q(parent)}")) == [(1, "x"), (2, "y")], name
        assert db.query(f"SELECT {q(key)}, {q('ref ' + name)} FROM {q('c ' + name)}") == [(10, 2)], name
    assert db.query("SELECT id FROM canary") == [(1,)]


def test_names_from_laden_yaml_round_trip(db: Any, target_url: str, engine: str, tmp_path: Path) -> None:
    q = lambda n: quote(engine, n)  # noqa: E731
    _tables(db, engine, NAMES)
    config = {  # written by a YAML library: the test is about laden's handling, not YAML quoting
        "datasources": {"db": {"type": engine, "connection": {"url": target_url}}},
        "targets": {
            "hostile": {
                "datasource": "db",
                "strategy": "upsert",
                "tables": [t for n in NAMES for t in ("p " + n, "c " + n)],
                "keys": {"p " + n: ["k " + n] for n in NAMES},
            }
        },
    }
    (tmp_path / "laden.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    sources = {}
    for n in NAMES:
        sources["p " + n] = pa.table({"k " + n: [1, 2], n: ["x", "y"]})
        sources["c " + n] = pa.table({"k " + n: [10], "ref " + n: [2]})
    for _ in range(2):  # the second run updates in place (keys from the config)
        report = laden.load(sources, "hostile", config=tmp_path / "laden.yaml")
        assert report.ok, str(report)
    for n in NAMES:
        assert sorted(db.query(f"SELECT {q('k ' + n)}, {q(n)} FROM {q('p ' + n)}")) == [(1, "x"), (2, "y")], n
        assert db.query(f"SELECT {q('k ' + n)}, {q('ref ' + n)} FROM {q('c ' + n)}") == [(10, 2)], n
    assert db.query("SELECT id FROM canary") == [(1,)]


LIMITS = {  # the longest name each engine keeps, built from 2-byte characters to tell bytes from characters
    "postgresql": ("é" * 31 + "a", "63 bytes"),
    "mysql": ("é" * 64, "64 characters"),
    "sqlite": ("é" * 1000, ""),
    "duckdb": ("é" * 1000, ""),
}


def test_names_at_the_length_limit_round_trip_and_longer_ones_are_refused(
    db: Any, target_url: str, engine: str
) -> None:
    q = lambda n: quote(engine, n)  # noqa: E731
    name, limit = LIMITS[engine]
    db.execute("CREATE TABLE canary (id INT PRIMARY KEY)")
    db.execute(f"CREATE TABLE {q(name)} ({q(name)} INT PRIMARY KEY)")
    assert laden.load(pa.table({name: [1]}), target_url, table=name).ok
    report = laden.load(pa.table({name: [1]}), target_url, table=name, strategy="upsert")
    assert report.ok, str(report)
    assert db.query(f"SELECT {q(name)} FROM {q(name)}") == [(1,)]
    if not limit:
        return  # SQLite and DuckDB keep names of any length
    longer = name + "é"
    size = f"{len(longer.encode())} bytes" if engine == "postgresql" else f"{len(longer)} characters"
    engine_name = {"postgresql": "PostgreSQL", "mysql": "MariaDB"}[engine]
    report = laden.load(pa.table({name: [2]}), target_url, table=longer)
    assert report.targets[0].error == (
        f"table {longer!r} does not exist in {report.targets[0].target}; the name is {size} long and "
        f"{engine_name} names are at most {limit}, so shorten it (tables there: canary, {name})"
    )
    report = laden.load(pa.table({longer: [2]}), target_url, table=name)
    assert report.targets[0].error == (
        f"{report.targets[0].target}: table {name!r} has no column {longer!r} (source column); the name is {size} "
        f"long and {engine_name} names are at most {limit}, so shorten it; its columns are {name}. Rename or drop "
        "the source column."
    )
    assert db.query(f"SELECT {q(name)} FROM {q(name)}") == [(1,)]
    assert db.query("SELECT count(*) FROM canary") == [(0,)]
