"""Row and orphan counts, on every engine; orphans made where FK checks can be off (SQLite)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

import laden
from helpers import create_shop
from laden.integrity import check_integrity


def test_counts_rows_and_finds_no_orphans_after_a_load(db: Any, target_url: str) -> None:
    create_shop(db)
    data = {
        "customers": pa.table({"id": [1, 2], "name": ["a", "b"], "email": ["1", "2"]}),
        "orders": pa.table({"id": [10, 11, 12], "customer_id": [1, 2, 2], "total": ["1.00", "2.00", "3.00"]}),
    }
    assert laden.load(data, target_url).ok
    report = check_integrity(target_url)
    assert report.row_counts["customers"] == 2 and report.row_counts["orders"] == 3
    assert report.ok and {o.foreign_key for o in report.orphans} >= {"orders(customer_id) -> customers(id)"}
    assert all(o.rows == 0 for o in report.orphans)


def test_orphans_are_counted_where_checks_were_off(sqlite_url: str, make_db: Any) -> None:
    db = make_db(sqlite_url)
    create_shop(db)
    db.script("PRAGMA foreign_keys = OFF; INSERT INTO orders (id, customer_id, total) VALUES (1, 99, 1.5);")
    report = check_integrity(sqlite_url)
    assert not report.ok
    assert [(o.foreign_key, o.rows) for o in report.orphans if o.rows] == [("orders(customer_id) -> customers(id)", 1)]
    assert "FK orphans: orders(customer_id) -> customers(id): 1" in str(report)
