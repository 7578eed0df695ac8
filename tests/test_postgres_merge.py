"""PostgreSQL upserts by the planner's two routes: a merge join where the table lies in key
order (statistics say so), its own choice elsewhere. Both must give the same rows and rejects."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import laden
from laden.targets.postgres import PostgresBackend
from laden.urls import DatabaseURL, mask_url

ROWS = 6000


def _prefill(db: Any, url: str, order: np.ndarray[Any, Any]) -> None:
    db.script("CREATE TABLE k (id bigint PRIMARY KEY, v text NOT NULL, n integer);")
    base = pa.table({"id": order, "v": [f"old{i}" for i in order], "n": order.astype(np.int32)})
    assert laden.load({"k": base}, url).ok
    db.execute("ANALYZE k")


def _changes() -> pa.Table:
    """Every third existing id with new values, 2,000 new ids, shuffled; id 9 twice (rows far apart)."""
    ids = np.concatenate([np.arange(0, ROWS, 3), np.arange(ROWS, ROWS + 2000)])
    np.random.default_rng(5).shuffle(ids)
    ids = np.concatenate([ids, [9]])
    return pa.table(
        {
            "id": ids,
            "v": [f"new{i}" for i in ids[:-1]] + ["late9"],
            "n": pa.array([None if i % 10 == 0 else -int(i) for i in ids], pa.int32()),
        }
    )


def _expected(changes: pa.Table) -> dict[int, tuple[str, int | None]]:
    table = {i: (f"old{i}", i) for i in range(ROWS)}
    seen: set[int] = set()
    for i, v, n in zip(*(changes.column(c).to_pylist() for c in ("id", "v", "n")), strict=True):
        if i not in seen:  # a later repeat of a key is a bad row, not a second update
            table[i] = (v, n)
            seen.add(i)
    return table


def _in_key_order(url: str) -> bool:
    backend = PostgresBackend(DatabaseURL.parse(url))
    backend.connect()
    try:
        table = backend.reflect(["k"]).table("k")
        assert table is not None
        return backend._in_key_order(table, "id")
    finally:
        backend.close()


@pytest.mark.parametrize("stored", ["in key order", "shuffled"])
def test_upsert_gives_the_same_rows_by_either_plan(postgres_url: str, make_db: Any, stored: str) -> None:
    db = make_db(postgres_url)
    order = np.arange(ROWS)
    if stored == "shuffled":
        np.random.default_rng(9).shuffle(order)
    _prefill(db, postgres_url, order)
    assert _in_key_order(postgres_url) is (stored == "in key order")
    changes = _changes()
    report = laden.load({"k": changes}, postgres_url, strategy="upsert", on_error="reject", batch_size=700)
    assert report.ok, str(report)
    [reject] = report.targets[0].rejects
    first = changes.column("id").to_pylist().index(9) + 1
    assert (reject.row, reject.column) == (changes.num_rows, "id")
    assert reject.reason == f"duplicate key (id=9): the same key is in row {first}"
    assert reject.values == {"id": 9, "v": "late9", "n": -9}
    found = {i: (v, n) for i, v, n in db.query("SELECT id, v, n FROM k")}
    assert found == _expected(changes)


def test_upsert_in_key_order_fails_naming_the_repeated_key(postgres_url: str, make_db: Any) -> None:
    db = make_db(postgres_url)
    _prefill(db, postgres_url, np.arange(ROWS))
    before = sorted(db.query("SELECT * FROM k"))
    changes = _changes()
    report = laden.load({"k": changes}, postgres_url, strategy="upsert", batch_size=700)
    assert not report.ok
    first = changes.column("id").to_pylist().index(9) + 1
    assert (report.targets[0].error or "").startswith(
        f"{mask_url(postgres_url)}: table 'k', row {changes.num_rows}, column 'id': "
        f"duplicate key (id=9): the same key is in row {first}. Nothing was committed"
    )
    assert sorted(db.query("SELECT * FROM k")) == before


def test_upsert_leaves_rows_given_as_they_are_alone(postgres_url: str, make_db: Any) -> None:
    """A row the source repeats byte for byte keeps its row version (no rewrite, no new index
    entry); any difference, even one `=` does not see (1.0 vs 1.00, -0.0 vs 0.0, json spacing,
    NULL vs a value), rewrites it."""
    db = make_db(postgres_url)
    db.script("CREATE TABLE m (id bigint PRIMARY KEY, d numeric, f float8, j json, s text);")
    before = pa.table(
        {
            "id": pa.array([1, 2, 3, 4, 5, 6], pa.int64()),
            "d": pa.array(["1.0", "2.5", "3", "4", "5", "6"]),
            "f": pa.array([1.5, 0.0, float("nan"), 4.0, 5.0, 6.0]),
            "j": pa.array(['{"a":1}', "[]", "{}", '{"a":1}', "null", "1"]),
            "s": pa.array(["x", "y", None, "z", "same", "w"]),
        }
    )
    assert laden.load({"m": before}, postgres_url).ok
    versions = dict(db.query("SELECT id, xmin::text FROM m"))
    changes = pa.table(
        {
            "id": pa.array([1, 2, 3, 4, 5, 6, 7], pa.int64()),
            "d": pa.array(["1.00", "2.5", "3", "4", "5", "6", "7"]),  # 1: scale only
            "f": pa.array([1.5, -0.0, float("nan"), 4.0, 5.0, 6.0, 7.0]),  # 2: sign of zero only
            "j": pa.array(['{"a":1}', "[]", "{}", '{"a": 1}', "null", "1", "7"]),  # 4: spacing only
            "s": pa.array(["x", "y", None, "z", "same", None, "n"]),  # 6: NULL for a value
        }
    )
    report = laden.load({"m": changes}, postgres_url, strategy="upsert")
    assert report.ok, str(report)
    assert report.targets[0].tables[0].rows_loaded == 7
    after = dict(db.query("SELECT id, xmin::text FROM m"))
    assert [i for i in sorted(after) if after[i] == versions.get(i)] == [3, 5]  # byte-identical rows
    rows = db.query("SELECT id, d::text, f::text, j::text, s FROM m ORDER BY id")
    assert rows == [
        (1, "1.00", "1.5", '{"a":1}', "x"),
        (2, "2.5", "-0", "[]", "y"),
        (3, "3", "NaN", "{}", None),
        (4, "4", "4", '{"a": 1}', "z"),
        (5, "5", "5", "null", "same"),
        (6, "6", "6", "1", None),
        (7, "7", "7", "7", "n"),
    ]


@pytest.mark.parametrize("columns", ["id, v", "id only"])
def test_upsert_rejects_a_key_repeated_as_the_row_already_is(postgres_url: str, make_db: Any, columns: str) -> None:
    """A key given twice with the values its row already has changes nothing, so the MERGE has no
    second change to refuse (nor one at all, on a table of key columns only): still a bad row."""
    db = make_db(postgres_url)
    keys_only = columns == "id only"
    db.script("CREATE TABLE r (id bigint PRIMARY KEY" + ("" if keys_only else ", v text") + ")")
    data = {"id": pa.array([1, 2, 3], pa.int64())} | ({} if keys_only else {"v": pa.array(["a", "b", "c"])})
    assert laden.load({"r": pa.table(data)}, postgres_url).ok
    repeat = {"id": pa.array([2, 4, 2], pa.int64())} | ({} if keys_only else {"v": pa.array(["b", "d", "b"])})
    report = laden.load({"r": pa.table(repeat)}, postgres_url, strategy="upsert", on_error="reject")
    assert report.ok, str(report)
    [reject] = report.targets[0].rejects
    assert (reject.row, reject.column, reject.reason) == (3, "id", "duplicate key (id=2): the same key is in row 1")
    assert [i for (i,) in db.query("SELECT id FROM r ORDER BY id")] == [1, 2, 3, 4]
    failed = laden.load({"r": pa.table(repeat)}, postgres_url, strategy="upsert")
    assert not failed.ok
    assert "table 'r', row 3, column 'id': duplicate key (id=2): the same key is in row 1." in (
        failed.targets[0].error or ""
    )


def test_upsert_rejects_a_two_column_key_repeated_as_the_row_already_is(postgres_url: str, make_db: Any) -> None:
    db = make_db(postgres_url)
    db.script("CREATE TABLE c2 (a bigint, b text, v text, PRIMARY KEY (a, b))")
    rows = {"a": pa.array([1, 1, 2], pa.int64()), "b": pa.array(["x", "y", "x"]), "v": pa.array(["p", "q", "r"])}
    assert laden.load({"c2": pa.table(rows)}, postgres_url).ok
    again = {"a": pa.array([1, 2, 1], pa.int64()), "b": pa.array(["y", "y", "y"]), "v": pa.array(["q", "s", "q"])}
    report = laden.load({"c2": pa.table(again)}, postgres_url, strategy="upsert", on_error="reject")
    assert report.ok, str(report)
    [reject] = report.targets[0].rejects
    assert (reject.row, reject.column) == (3, "a")
    assert reject.reason == "duplicate key (a=1, b='y'): the same key is in row 1"
    assert sorted(db.query("SELECT a, b, v FROM c2")) == [(1, "x", "p"), (1, "y", "q"), (2, "x", "r"), (2, "y", "s")]


def test_upsert_on_a_unique_key_with_nulls_inserts_each_null_row(postgres_url: str, make_db: Any) -> None:
    """A NULL key matches no row, in the merge as in the duplicate check that a skipped unchanged
    row sets off: both NULL-keyed rows go in, as they do when no row is unchanged."""
    db = make_db(postgres_url)
    db.script("CREATE TABLE u (id bigint PRIMARY KEY, email text UNIQUE, v text)")
    assert laden.load({"u": pa.table({"id": [1], "email": ["a@x"], "v": ["p"]})}, postgres_url).ok
    source = pa.table({"id": [1, 2, 3], "email": ["a@x", None, None], "v": ["p", "q", "r"]})
    report = laden.load({"u": source}, postgres_url, strategy="upsert", keys={"u": ["email"]}, on_error="reject")
    assert report.ok, str(report)
    assert report.targets[0].rejects == []
    assert sorted(db.query("SELECT id, email, v FROM u")) == [(1, "a@x", "p"), (2, None, "q"), (3, None, "r")]
