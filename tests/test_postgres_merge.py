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
