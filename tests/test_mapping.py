"""Table mappings (issue 9): one wide extract into customers, orders and order_items, in FK order,
checked against a normalization computed here, independently, on every engine."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
import yaml

import laden
from laden.errors import SchemaMismatchError, UsageError

LADEN = [sys.executable, "-m", "laden.cli"]
MAPPINGS: dict[str, Any] = {
    "customers": {"columns": {"customer_id": "id", "customer_name": "name", "customer_email": "email"},
                  "distinct_on": ["id"]},
    "orders": {"columns": {"order_id": "id", "customer_id": "customer_id", "order_date": "created_at"},
               "distinct_on": ["id"]},
    "order_items": {"columns": {"order_id": "order_id", "line": "line_no", "sku": "sku", "qty": "qty"},
                    "constants": {"source": "import-2026"}},
}  # fmt: skip
TABLES = ["customers", "orders", "order_items"]


def _schema(db: Any, engine: str) -> None:
    text = "VARCHAR(100)" if engine == "mysql" else "TEXT"
    db.execute(f"CREATE TABLE customers (id BIGINT PRIMARY KEY, name {text} NOT NULL, email {text})")
    db.execute("CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL REFERENCES customers(id), "
               "created_at DATE NOT NULL)")  # fmt: skip
    db.execute(f"CREATE TABLE order_items (order_id BIGINT NOT NULL REFERENCES orders(id), line_no INT NOT NULL, "
               f"sku {text} NOT NULL, qty INT NOT NULL, source {text}, PRIMARY KEY (order_id, line_no))")  # fmt: skip


def _extract(lines: int, seed: int = 0) -> pa.Table:
    """A denormalized extract: one row per order line, customer and order columns repeated."""
    rng = np.random.default_rng(seed)
    per_order = rng.integers(1, 8, size=lines)  # more than enough orders
    order_of_line = np.repeat(np.arange(len(per_order)), per_order)[:lines]
    line = np.concatenate([np.arange(1, n + 1) for n in per_order])[:lines]
    orders = int(order_of_line[-1]) + 1
    customer_of_order = rng.integers(0, max(1, orders // 5), size=orders)
    cust = customer_of_order[order_of_line]
    days = rng.integers(0, 365, size=orders)[order_of_line]
    return pa.table({
        "customer_id": pa.array(cust + 1000, pa.int64()),
        "customer_name": pa.array(np.char.add("Customer ", cust.astype(str))),
        "customer_email": pa.array([None if c % 7 == 0 else f"c{c}@example.com" for c in cust.tolist()]),
        "order_id": pa.array(order_of_line + 50_000, pa.int64()),
        "order_date": pa.array(np.datetime64("2025-01-01") + days.astype("timedelta64[D]")),
        "line": pa.array(line, pa.int32()),
        "sku": pa.array(np.char.add("SKU-", rng.integers(0, 500, size=lines).astype(str))),
        "qty": pa.array(rng.integers(1, 10, size=lines), pa.int32()),
    })  # fmt: skip


def _reference(extract: pa.Table) -> dict[str, list[tuple[Any, ...]]]:
    """The normalization, row by row in plain Python (the independent reference)."""
    customers: dict[int, tuple[Any, ...]] = {}
    orders: dict[int, tuple[Any, ...]] = {}
    items = []
    for r in extract.to_pylist():
        customers.setdefault(r["customer_id"], (r["customer_id"], r["customer_name"], r["customer_email"]))
        orders.setdefault(r["order_id"], (r["order_id"], r["customer_id"], r["order_date"]))
        items.append((r["order_id"], r["line"], r["sku"], r["qty"], "import-2026"))
    return {"customers": sorted(customers.values()), "orders": sorted(orders.values()), "order_items": sorted(items)}


def _read(db: Any) -> dict[str, list[tuple[Any, ...]]]:
    def day(v: Any) -> Any:
        return dt.date.fromisoformat(v) if isinstance(v, str) else v

    return {
        "customers": sorted(tuple(r) for r in db.query("SELECT id, name, email FROM customers")),
        "orders": sorted((i, c, day(d)) for i, c, d in db.query("SELECT id, customer_id, created_at FROM orders")),
        "order_items": sorted(
            tuple(r) for r in db.query("SELECT order_id, line_no, sku, qty, source FROM order_items")
        ),
    }


def test_a_wide_extract_lands_normalized_on_every_engine(db: Any, target_url: str, engine: str) -> None:
    _schema(db, engine)
    extract = _extract(100_000)
    reference = _reference(extract)
    report = laden.load(
        extract, target_url, tables=list(reversed(TABLES)), table_mappings=MAPPINGS, batch_size=20_000
    )  # fmt: skip  (children listed first: FK order still wins)
    assert report.ok, str(report)
    assert [t.table for t in report.targets[0].tables] == TABLES  # parents first
    assert _read(db) == reference
    loaded = {t.table: (t.rows_read, t.rows_loaded, t.rows_rejected) for t in report.targets[0].tables}
    assert loaded == {name: (len(rows), len(rows), 0) for name, rows in reference.items()}
    # the same load again as an upsert changes nothing, and duplicates nothing
    again = laden.load(extract, target_url, table_mappings=MAPPINGS, strategy="upsert", batch_size=20_000)
    assert again.ok, str(again)
    assert _read(db) == reference


def test_truncate_insert_and_keep_last(db: Any, target_url: str, engine: str) -> None:
    _schema(db, engine)
    # DuckDB cannot clear a parent and its filled child in one transaction (README: known limits):
    # there the second load goes into empty tables as an upsert
    strategy = "upsert" if engine == "duckdb" else "truncate_insert"
    if engine != "duckdb":
        assert laden.load(_extract(2_000, seed=1), target_url, table_mappings=MAPPINGS).ok
    second = _extract(1_000, seed=2)
    rows = second.to_pylist()
    last_row = {r["customer_id"]: i for i, r in enumerate(rows)}
    emails = [f"new{r['customer_id']}@example.com" if last_row[r["customer_id"]] == i else r["customer_email"]
              for i, r in enumerate(rows)]  # fmt: skip
    second = second.set_column(2, "customer_email", pa.array(emails))
    last = {**MAPPINGS, "customers": {**MAPPINGS["customers"], "keep": "last"}}
    report = laden.load(second, target_url, table_mappings=last, strategy=strategy, on_error="reject")
    assert report.ok, str(report)
    expected = _reference(second)
    expected["customers"] = sorted(
        (r["customer_id"], r["customer_name"], r["customer_email"]) for i, r in enumerate(second.to_pylist())
        if last_row[r["customer_id"]] == i
    )  # fmt: skip
    assert _read(db) == expected
    conflicts = sorted(i + 1 for i, r in enumerate(rows) if last_row[r["customer_id"]] != i)  # 1-based rows
    rejects = report.targets[0].rejects
    assert sorted(r.row for r in rejects) == conflicts and {r.table for r in rejects} == {"customers"}
    assert all("is also in row" in r.reason and "(the last, kept)" in r.reason for r in rejects)
    customers = report.targets[0].table("customers")
    assert (customers.rows_loaded, customers.rows_rejected) == (len(expected["customers"]), len(conflicts))


def test_conflicting_duplicates_are_bad_rows_with_row_and_reason(sqlite_url: str, make_db: Any) -> None:
    db = make_db(sqlite_url)
    _schema(db, "sqlite")
    extract = _extract(50)
    names = extract.column("customer_name").to_pylist()
    ids = extract.column("customer_id").to_pylist()
    dup = next(i for i in range(1, 50) if ids[i] in ids[:i])  # a later row of a customer seen before
    kept = ids.index(ids[dup]) + 1
    names[dup] = "Someone Else"
    bad = extract.set_column(1, "customer_name", pa.array(names))
    report = laden.load(bad, sqlite_url, table_mappings=MAPPINGS)
    assert not report.ok
    assert report.targets[0].error == (
        f"{report.targets[0].target}: table 'customers', row {dup + 1}: conflicting duplicate for table "
        f"'customers': id = {ids[dup]} is also in row {kept} (the first, kept) with other values in (name, email). "
        "Nothing was committed; fix the row, or load with on_error='reject' (CLI: --on-error reject) to set bad "
        "rows aside."
    )
    assert db.count("customers") == db.count("orders") == 0
    report = laden.load(bad, sqlite_url, table_mappings=MAPPINGS, on_error="reject")
    assert report.ok
    [reject] = report.targets[0].rejects
    assert (reject.table, reject.row, reject.values["name"]) == ("customers", dup + 1, "Someone Else")
    t = report.targets[0].table("customers")
    assert t.rows_read == t.rows_loaded + t.rows_rejected and t.rows_rejected == 1
    reference = _reference(extract)
    assert _read(db) == reference  # the kept (first) customer row landed


@pytest.mark.parametrize(
    ("mappings", "error", "message"),
    [
        ({"customers": {"columns": {"nope": "id"}}}, UsageError,
         "table_mappings.customers: source column 'nope' is not in Arrow table 'extract'; its columns are "
         "customer_id, customer_name, customer_email, order_id, order_date, line, sku, qty"),
        ({"customers": {"columns": {"customer_id": "id", "customer_name": "nme"}}}, SchemaMismatchError,
         "table_mappings.customers: table 'customers' has no column 'nme' (did you mean 'name'?); its columns are "
         "id, name, email"),
        ({"customers": {"columns": {"customer_id": "id"}}}, SchemaMismatchError,
         "table_mappings.customers: column 'name' is NOT NULL and has no default, but no source column or constant "
         "is mapped to it; map one"),
        ({"order_items": {"columns": ["order_id", "sku", "qty"], "constants": {"line_no": 1},
                          "distinct_on": ["sku"]}}, SchemaMismatchError,
         "table_mappings.order_items: distinct_on (sku) leaves out key column 'order_id' of the primary key "
         "(order_id, line_no); add it"),
        ({"customers": {"columns": {True: "id"}}}, UsageError,
         "table_mappings.customers.columns: True is not a name; put it in quotes (YAML reads on, no, ~, 010 as true, "
         "false, null, 8)"),
        ({"customers": {"columns": {"customer_id": "id"}, "constants": {None: 1}}}, UsageError,
         "table_mappings.customers.constants: None is not a name; put it in quotes (YAML reads on, no, ~, 010 as "
         "true, false, null, 8)"),
        ({8: ["customer_id"]}, UsageError,
         "table_mappings: 8 is not a name; put it in quotes (YAML reads on, no, ~, 010 as true, false, null, 8)"),
        ({"customers": {"columns": {"customer_id": "id"}, "distinct_on": ["name"]}}, UsageError,
         "table_mappings.customers: distinct_on column 'name' is not a mapped target column; the mapped columns "
         "are id"),
    ],
)  # fmt: skip
def test_mappings_are_checked_before_any_data_moves(
    mappings: dict[str, Any], error: type[Exception], message: str, sqlite_url: str, make_db: Any
) -> None:
    db = make_db(sqlite_url)
    _schema(db, "sqlite")
    with pytest.raises(error) as caught:
        laden.load({"extract": _extract(10)}, sqlite_url, table_mappings=mappings)
    assert str(caught.value).removeprefix(f"{sqlite_url}: ") == message
    assert db.count("customers") == 0


def test_short_form_and_given_order(sqlite_url: str, make_db: Any) -> None:
    db = make_db(sqlite_url)
    db.execute("CREATE TABLE users (customer_id INTEGER PRIMARY KEY, customer_name TEXT NOT NULL)")
    db.execute("CREATE TABLE visits (customer_id INTEGER NOT NULL REFERENCES users(customer_id), sku TEXT)")
    extract = _extract(30)
    short = {"users": {"columns": ["customer_id", "customer_name"], "distinct_on": ["customer_id"]},
             "visits": ["customer_id", "sku"]}  # fmt: skip
    report = laden.load(extract, sqlite_url, tables=["visits", "users"], table_mappings=short,
                        respect_fk_order=False)  # fmt: skip
    assert not report.ok  # children first, as asked: the FK error comes as it comes
    assert "visits" in report.targets[0].error and "FOREIGN KEY" in report.targets[0].error.upper()
    assert db.count("users") == 0
    report = laden.load(extract, sqlite_url, tables=["visits", "users"], table_mappings=short)
    assert report.ok, str(report)
    assert [t.table for t in report.targets[0].tables] == ["users", "visits"]
    assert db.count("visits") == 30


def test_mappings_from_laden_yaml_with_a_dry_run(db: Any, target_url: str, engine: str, tmp_path: Path) -> None:
    _schema(db, engine)
    config = {
        "datasources": {"shop_db": {"type": engine, "connection": {"url": target_url}}},
        "targets": {"shop": {"datasource": "shop_db", "tables": TABLES, "table_mappings": MAPPINGS}},
    }
    (tmp_path / "laden.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    extract = _extract(3_000)
    pacsv.write_csv(extract, tmp_path / "extract.csv")
    base = [*LADEN, "load", str(tmp_path / "extract.csv"), "--to", "shop", "--config", str(tmp_path / "laden.yaml")]
    dry = subprocess.run([*base, "--dry-run"], capture_output=True, text=True, timeout=300)
    assert dry.returncode == 0, dry.stderr
    assert ("mapping customers: customer_id -> id, customer_name -> name, customer_email -> email; one row per "
            "(id), keep first") in dry.stdout  # fmt: skip
    assert "mapping order_items: order_id, line -> line_no, sku, qty; constants source = 'import-2026'" in dry.stdout
    assert db.count("orders") == 0
    done = subprocess.run([*base, "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert [t["table"] for t in json.loads(done.stdout)["targets"][0]["tables"]] == TABLES
    assert _read(db) == _reference(extract)
