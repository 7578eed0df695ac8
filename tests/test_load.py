"""Conformance suite: every point of the core engine, on all four engines, read back from the target."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import laden
from helpers import create_shop, ddl, rows
from laden import CancelToken, EventKind, Status

CUSTOMERS = pa.table({"id": [1, 2, 3], "name": ["Ann", "Bøb", "Chloé"], "email": ["a@x", "b@x", None]})
ORDERS = pa.table(
    {
        "id": [10, 11, 12],
        "customer_id": [1, 1, 3],
        "total": ["12.50", "0.10", None],
        "note": ["", None, "ünï"],
    }
)
ITEMS = pa.table(
    {"order_id": [10, 10, 11, 12], "line_no": [1, 2, 1, 1], "sku": ["A", "B", "A", "C"], "qty": [1, 2, 3, 4]}
)


def shop(**over: pa.Table) -> dict[str, pa.Table]:
    """The shop dataset, deliberately children first."""
    data = {"order_items": ITEMS, "orders": ORDERS, "customers": CUSTOMERS}
    data.update(over)
    return data


def test_fk_chain_in_wrong_order_appends_parents_first(db: Any, target_url: str) -> None:
    create_shop(db)
    report = laden.load(shop(), target_url)
    assert report.ok, str(report)
    target = report.targets[0]
    assert [t.table for t in target.tables] == ["customers", "orders", "order_items"]
    assert [(t.rows_read, t.rows_loaded, t.rows_rejected) for t in target.tables] == [
        (3, 3, 0),
        (3, 3, 0),
        (4, 4, 0),
    ]
    assert rows(db, "customers") == [(1, "Ann", "a@x"), (2, "Bøb", "b@x"), (3, "Chloé", None)]
    assert [(*r[0:2], r[3]) for r in rows(db, "orders")] == [(10, 1, ""), (11, 1, None), (12, 3, "ünï")]
    assert rows(db, "order_items", "1, 2") == [
        (10, 1, "A", 1),
        (10, 2, "B", 2),
        (11, 1, "A", 3),
        (12, 1, "C", 4),
    ]


# DuckDB cannot clear a parent after its children in one transaction: see the DuckDB test below
@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mysql"], indirect=True)
def test_truncate_insert_replaces_dataset_tables(db: Any, target_url: str) -> None:
    create_shop(db)
    assert laden.load(shop(), target_url).ok
    new_customers = pa.table({"id": [7, 8], "name": ["G", "H"], "email": ["g@x", "h@x"]})
    new_orders = pa.table({"id": [70], "customer_id": [8], "total": ["1.00"], "note": ["n"]})
    new_items = pa.table({"order_id": [70], "line_no": [1], "sku": ["Z"], "qty": [9]})
    report = laden.load(
        shop(customers=new_customers, orders=new_orders, order_items=new_items),
        target_url,
        strategy="truncate_insert",
    )
    assert report.ok, str(report)
    assert rows(db, "customers") == [(7, "G", "g@x"), (8, "H", "h@x")]
    assert db.count("orders") == 1
    assert rows(db, "order_items") == [(70, 1, "Z", 9)]


def test_upsert_on_primary_key_and_composite_key(db: Any, target_url: str) -> None:
    create_shop(db)
    assert laden.load(shop(), target_url).ok
    customers = pa.table({"id": [2, 4], "name": ["Bob2", "Dan"], "email": ["b2@x", "d@x"]})
    items = pa.table({"order_id": [10, 12], "line_no": [2, 2], "sku": ["B2", "D"], "qty": [20, 1]})
    report = laden.load(
        {"order_items": items, "customers": customers},
        target_url,
        strategy="upsert",
        keys={"order_items": ["order_id", "line_no"]},
    )
    assert report.ok, str(report)
    assert rows(db, "customers") == [
        (1, "Ann", "a@x"),
        (2, "Bob2", "b2@x"),
        (3, "Chloé", None),
        (4, "Dan", "d@x"),
    ]
    assert rows(db, "order_items", "1, 2") == [
        (10, 1, "A", 1),
        (10, 2, "B2", 20),
        (11, 1, "A", 3),
        (12, 1, "C", 4),
        (12, 2, "D", 1),
    ]


def test_upsert_on_given_keys_without_unique_index(db: Any, target_url: str, engine: str) -> None:
    db.script(ddl(engine, "CREATE TABLE prices (sku {text} NOT NULL, region {text} NOT NULL, price {dec});"))
    first = pa.table({"sku": ["a", "b"], "region": ["eu", "eu"], "price": ["1.00", "2.00"]})
    second = pa.table({"sku": ["b", "c"], "region": ["eu", "us"], "price": ["2.50", "3.00"]})
    assert laden.load({"prices": first}, target_url).ok
    report = laden.load({"prices": second}, target_url, strategy="upsert", keys={"prices": "sku,region"})
    if engine == "mysql":
        assert not report.ok
        assert "needs a PRIMARY KEY or UNIQUE index on exactly those columns" in (report.targets[0].error or "")
        assert db.count("prices") == 2
        return
    assert report.ok, str(report)
    assert [(r[0], r[1], str(r[2])) for r in rows(db, "prices")] == [
        ("a", "eu", "1.00" if engine != "sqlite" else "1"),
        ("b", "eu", "2.50" if engine != "sqlite" else "2.5"),
        ("c", "us", "3.00" if engine != "sqlite" else "3"),
    ]


def test_self_reference_children_first_over_many_batches(db: Any, target_url: str) -> None:
    db.script(
        ddl(
            db.engine,
            "CREATE TABLE employees (id {bigint} PRIMARY KEY, name {text} NOT NULL, "
            "manager_id {bigint} REFERENCES employees(id));",
        )
    )
    n = 50
    # row i reports to i+1's manager chain: children always come before their managers
    ids = list(range(1, n + 1))
    managers = [i + 1 if i < n else None for i in ids]
    data = pa.table({"id": ids, "name": [f"e{i}" for i in ids], "manager_id": managers})
    report = laden.load({"employees": data}, target_url, batch_size=7)
    assert report.ok, str(report)
    assert rows(db, "employees") == [(i, f"e{i}", m) for i, m in zip(ids, managers, strict=True)]


# DuckDB cannot declare a two-table FK cycle (no ALTER TABLE ADD FOREIGN KEY)
@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mysql"], indirect=True)
def test_two_table_cycle(db: Any, target_url: str, engine: str) -> None:
    if engine == "sqlite":
        db.script(
            "CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INTEGER NOT NULL REFERENCES b(id));"
            "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL REFERENCES a(id));"
        )
    else:
        q = db.quote
        db.script(
            ddl(engine, f"CREATE TABLE {q('a')} (id {{bigint}} PRIMARY KEY, b_id {{bigint}});")
            + ddl(
                engine,
                f"CREATE TABLE {q('b')} (id {{bigint}} PRIMARY KEY, a_id {{bigint}} NOT NULL REFERENCES a(id));",
            )
        )
        db.execute(f"ALTER TABLE {q('a')} ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES b(id)")
    a = pa.table({"id": [1, 2, 3], "b_id": [20, 10, 30]})
    b = pa.table({"id": [10, 20, 30], "a_id": [1, 2, 3]})
    report = laden.load({"a": a, "b": b}, target_url, batch_size=2)
    assert report.ok, str(report)
    assert rows(db, "a") == [(1, 20), (2, 10), (3, 30)]
    assert rows(db, "b") == [(10, 1), (20, 2), (30, 3)]
    note = " ".join(report.targets[0].notes)
    expected = {"postgresql": "two_phase", "mysql": "checks_off", "sqlite": "deferred"}[engine]
    assert expected in note
    # an orphan inside the cycle is found before commit and nothing is kept
    bad_b = pa.table({"id": [40], "a_id": [99]})
    bad_a = pa.table({"id": [4], "b_id": [40]})
    report = laden.load({"a": bad_a, "b": bad_b}, target_url)
    assert not report.ok
    assert "missing" in (report.targets[0].error or "") or "foreign key" in (report.targets[0].error or "").lower()
    assert db.count("a") == 3 and db.count("b") == 3
    # truncate_insert of the filled cycle: the old rows reference each other too
    new_a = pa.table({"id": [7], "b_id": [70]})
    new_b = pa.table({"id": [70], "a_id": [7]})
    report = laden.load({"b": new_b, "a": new_a}, target_url, strategy="truncate_insert")
    assert report.ok, str(report)
    assert rows(db, "a") == [(7, 70)] and rows(db, "b") == [(70, 7)]


def test_unloadable_cycle_fails_before_any_data_moves(postgres_url: str, make_db: Any) -> None:
    db = make_db(postgres_url)
    db.script(
        "CREATE TABLE a (id bigint PRIMARY KEY, b_id bigint NOT NULL);"
        "CREATE TABLE b (id bigint PRIMARY KEY, a_id bigint NOT NULL REFERENCES a(id));"
        "ALTER TABLE a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES b(id);"
    )
    report = laden.load(
        {"a": pa.table({"id": [1], "b_id": [1]}), "b": pa.table({"id": [1], "a_id": [1]})}, postgres_url
    )
    assert not report.ok
    error = report.targets[0].error or ""
    assert "cannot load the cycle a <-> b" in error
    assert "a(b_id) -> b(id)" in error and "b(a_id) -> a(id)" in error
    assert "DEFERRABLE" in error
    assert report.targets[0].rows_read == 0


def test_postgres_deferrable_cycle_uses_deferred_constraints(postgres_url: str, make_db: Any) -> None:
    db = make_db(postgres_url)
    db.script(
        "CREATE TABLE a (id bigint PRIMARY KEY, b_id bigint NOT NULL);"
        "CREATE TABLE b (id bigint PRIMARY KEY, a_id bigint NOT NULL REFERENCES a(id) DEFERRABLE);"
        "ALTER TABLE a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES b(id) DEFERRABLE;"
    )
    report = laden.load(
        {"b": pa.table({"id": [5], "a_id": [1]}), "a": pa.table({"id": [1], "b_id": [5]})}, postgres_url
    )
    assert report.ok, str(report)
    assert "deferred" in " ".join(report.targets[0].notes)
    assert db.query("SELECT a.id, b.id FROM a JOIN b ON a.b_id = b.id AND b.a_id = a.id") == [(1, 5)]


# -- columns -------------------------------------------------------------------------------------


def test_unknown_source_column_is_an_error(db: Any, target_url: str) -> None:
    create_shop(db)
    bad = CUSTOMERS.append_column("shoe_size", pa.array([1, 2, 3]))
    report = laden.load({"customers": bad}, target_url)
    assert not report.ok
    assert "table 'customers' has no column 'shoe_size' (source column); its columns are" in (
        report.targets[0].error or ""
    )
    assert db.count("customers") == 0


def test_a_misspelt_column_or_table_is_answered_with_the_likely_name(db: Any, target_url: str) -> None:
    create_shop(db)
    report = laden.load({"customers": CUSTOMERS.rename_columns(["id", "name", "emial"])}, target_url)
    assert "table 'customers' has no column 'emial' (source column; did you mean 'email'?); its columns are" in (
        report.targets[0].error or ""
    )
    report = laden.load({"Customer": CUSTOMERS}, target_url)
    assert f"table 'Customer' does not exist in {report.targets[0].target} (did you mean 'customers'?); create it" in (
        report.targets[0].error or ""
    )
    assert db.count("customers") == 0


def test_missing_not_null_column_is_an_error_but_nullable_is_fine(db: Any, target_url: str) -> None:
    create_shop(db)
    report = laden.load({"customers": CUSTOMERS.drop_columns(["name"])}, target_url)
    assert not report.ok
    assert "needs column(s) name (NOT NULL, no default)" in (report.targets[0].error or "")
    report = laden.load({"customers": CUSTOMERS.drop_columns(["email"])}, target_url)
    assert report.ok, str(report)
    assert rows(db, "customers") == [(1, "Ann", None), (2, "Bøb", None), (3, "Chloé", None)]


def test_columns_match_case_insensitively(db: Any, target_url: str) -> None:
    create_shop(db)
    upper = CUSTOMERS.rename_columns(["ID", "Name", "EMAIL"])
    report = laden.load({"customers": upper}, target_url)
    assert report.ok, str(report)
    assert db.count("customers") == 3


# -- bad rows ---------------------------------------------------------------------------------------

BAD_ORDERS = pa.table(
    {
        "id": ["20", "21", "x22", "23", "24", "25", "20"],
        "customer_id": ["1", "99", "1", None, "1", "1", "1"],
        "total": ["1.00", "2.00", "3.00", "4.00", "5.555", "6.00", "7.00"],
        "note": ["ok", "ok", "ok", "ok", "ok", "much too long", "dup"],
    }
)
# row 1 ok; 2 FK orphan; 3 not an integer; 4 NULL in NOT NULL; 5 too many decimals; 6 too long; 7 duplicate key
EXPECTED_REJECTS = {2: None, 3: "id", 4: "customer_id", 5: "total", 7: None}


def test_bad_rows_fail_mode_names_first_bad_row_and_commits_nothing(db: Any, target_url: str) -> None:
    create_shop(db)
    assert laden.load({"customers": CUSTOMERS}, target_url).ok
    report = laden.load({"orders": BAD_ORDERS}, target_url)
    assert not report.ok
    error = report.targets[0].error or ""
    assert "table 'orders', row 2" in error
    assert "Nothing was committed" in error
    assert db.count("orders") == 0
    assert report.targets[0].tables[0].status is Status.FAILED


def test_bad_rows_reject_mode_isolates_each_kind(db: Any, target_url: str, tmp_path: Any, engine: str) -> None:
    create_shop(db)
    assert laden.load({"customers": CUSTOMERS}, target_url).ok
    path = tmp_path / "rejects.jsonl"
    report = laden.load({"orders": BAD_ORDERS}, target_url, on_error="reject", rejects=str(path), batch_size=4)
    assert report.ok, str(report)
    table = report.targets[0].tables[0]
    records = [json.loads(line) for line in path.read_text().splitlines()]
    by_row = {r["row"]: r for r in records}
    # the over-long note only exists where the engine bounds varchar(10) (SQLite and DuckDB store it whole)
    bounded = engine in ("postgresql", "mysql")
    expected = {**EXPECTED_REJECTS, **({6: "note"} if bounded else {})}
    assert sorted(by_row) == sorted(expected)
    assert table.rows_read == 7 and table.rows_read == table.rows_loaded + table.rows_rejected
    for row, column in expected.items():
        if column is not None:
            assert by_row[row]["column"] == column, by_row[row]
        assert by_row[row]["table"] == "orders"
        assert by_row[row]["reason"]
    assert by_row[3]["values"]["id"] == "x22"
    assert "NULL in NOT NULL column 'customer_id'" in by_row[4]["reason"]
    loaded = sorted(r[0] for r in rows(db, "orders"))
    assert loaded == ([20] if bounded else [20, 25])


def test_check_constraint_and_unique_violations_are_rejected(db: Any, target_url: str) -> None:
    create_shop(db)
    assert laden.load(shop(), target_url).ok
    items = pa.table({"order_id": [11, 11, 10], "line_no": [2, 3, 1], "sku": ["X", "Y", "dup"], "qty": [1, 0, 1]})
    customers = pa.table({"id": [9], "name": ["Dup email"], "email": ["a@x"]})
    report = laden.load({"order_items": items, "customers": customers}, target_url, on_error="reject")
    assert report.ok, str(report)
    rejects = {(r.table, r.row) for r in report.targets[0].rejects}
    assert rejects == {("order_items", 2), ("order_items", 3), ("customers", 1)}
    assert db.count("order_items") == 5


def test_max_rejects_turns_into_failure_with_rollback(db: Any, target_url: str) -> None:
    create_shop(db)
    assert laden.load({"customers": CUSTOMERS}, target_url).ok
    report = laden.load({"orders": BAD_ORDERS}, target_url, on_error="reject", max_rejects=2)
    assert not report.ok
    assert "more than 2 rejected rows" in (report.targets[0].error or "")
    assert db.count("orders") == 0


def test_upsert_duplicate_keys_in_source_are_bad_rows(db: Any, target_url: str) -> None:
    create_shop(db)
    data = pa.table({"id": [1, 2, 1], "name": ["a", "b", "c"], "email": ["1", "2", "3"]})
    report = laden.load({"customers": data}, target_url, strategy="upsert", on_error="reject")
    assert report.ok, str(report)
    [reject] = report.targets[0].rejects
    assert reject.row == 3 and "the same key is in row 1" in reject.reason
    assert rows(db, "customers") == [(1, "a", "1"), (2, "b", "2")]
    report = laden.load({"customers": data}, target_url, strategy="upsert")
    assert not report.ok and "row 3" in (report.targets[0].error or "")


# -- atomicity ----------------------------------------------------------------------------------------


def test_failed_truncate_insert_leaves_target_exactly_as_it_was(db: Any, target_url: str) -> None:
    db.script(
        ddl(db.engine, "CREATE TABLE dims (id {bigint} PRIMARY KEY, label {text} NOT NULL);")
        + ddl(db.engine, "CREATE TABLE facts (id {bigint} PRIMARY KEY, v {int} NOT NULL CHECK (v > 0));")
    )
    dims = pa.table({"id": [1, 2], "label": ["a", "b"]})
    facts = pa.table({"id": [1, 2, 3], "v": [1, 2, 3]})
    assert laden.load({"dims": dims, "facts": facts}, target_url).ok
    before = {t: rows(db, t) for t in ("dims", "facts")}
    new_dims = pa.table({"id": [7], "label": ["new"]})
    bad_facts = pa.table({"id": [7, 8], "v": [5, 0]})  # CHECK v > 0 fails on the second row
    report = laden.load({"dims": new_dims, "facts": bad_facts}, target_url, strategy="truncate_insert")
    assert not report.ok
    assert "table 'facts', row 2" in (report.targets[0].error or "")
    assert {t: rows(db, t) for t in before} == before
    statuses = {t.table: t.status for t in report.targets[0].tables}
    assert statuses == {"dims": Status.FAILED, "facts": Status.FAILED}
    assert all(t.rows_loaded == 0 for t in report.targets[0].tables)


def test_truncate_insert_of_a_chain_on_duckdb_explains_its_limit(duckdb_url: str, make_db: Any) -> None:
    db = make_db(duckdb_url)
    create_shop(db)
    assert laden.load(shop(), duckdb_url).ok
    report = laden.load(shop(), duckdb_url, strategy="truncate_insert")
    assert not report.ok
    assert "DuckDB foreign-key limitation" in (report.targets[0].error or "")
    assert db.count("order_items") == 4


def test_truncate_insert_refuses_to_clear_table_referenced_from_outside(db: Any, target_url: str) -> None:
    create_shop(db)
    assert laden.load(shop(), target_url).ok
    report = laden.load({"customers": CUSTOMERS}, target_url, strategy="truncate_insert")
    assert not report.ok
    assert "orders(customer_id) -> customers(id)" in (report.targets[0].error or "")
    assert "cascade=True" in (report.targets[0].error or "")
    assert db.count("orders") == 3


def test_truncate_insert_cascade_clears_referencing_tables(db: Any, target_url: str, engine: str) -> None:
    create_shop(db)
    assert laden.load(shop(), target_url).ok
    report = laden.load({"customers": CUSTOMERS}, target_url, strategy="truncate_insert", cascade=True)
    if engine == "duckdb":
        assert not report.ok and "DuckDB foreign-key limitation" in (report.targets[0].error or "")
        return
    assert report.ok, str(report)
    assert db.count("customers") == 3 and db.count("orders") == 0 and db.count("order_items") == 0
    assert any("cascade: also cleared order_items, orders" in n for n in report.targets[0].notes)


_SQLITE_POLLER = """
import os, sqlite3, sys, time
seen, ready = set(), False
deadline = time.time() + 120
while not os.path.exists(sys.argv[2]) and time.time() < deadline:  # until the test says the load is over
    con = sqlite3.connect(sys.argv[1], timeout=30)
    seen.add(con.execute("SELECT COUNT(*), COALESCE(SUM(v), 0) FROM facts").fetchone())
    con.close()
    if not ready:
        print("ready", flush=True)  # the state before the load is on record: the load may start
        ready = True
    time.sleep(0.002)
print(sorted(seen), flush=True)
"""


def test_concurrent_reader_never_sees_partial_state(db: Any, target_url: str, engine: str) -> None:
    db.script(ddl(engine, "CREATE TABLE facts (id {bigint} PRIMARY KEY, v {int});"))
    old = pa.table({"id": list(range(1000)), "v": [1] * 1000})
    assert laden.load({"facts": old}, target_url).ok
    new = pa.table({"id": list(range(20000)), "v": [2] * 20000})
    seen: set[tuple[int, int]] = set()
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            count, total = db.query("SELECT COUNT(*), COALESCE(SUM(v), 0) FROM facts")[0]
            seen.add((int(count), int(total)))
            time.sleep(0.002)

    if engine == "sqlite":
        # a reader in another process: two SQLite libraries in one process (Python's and
        # ADBC's) do not see each other's file locks
        poller = subprocess.Popen(
            [sys.executable, "-c", _SQLITE_POLLER, db.path, f"{db.path}.over"], stdout=subprocess.PIPE, text=True
        )
        try:
            assert poller.stdout is not None and poller.stdout.readline() == "ready\n"
            report = laden.load({"facts": new}, target_url, strategy="truncate_insert", batch_size=500)
            time.sleep(0.05)
        finally:
            Path(f"{db.path}.over").touch()  # the reader stops whatever happened
        out, _ = poller.communicate(timeout=60)
        last = out.strip().splitlines()[-1]
        seen = {tuple(x) for x in ast.literal_eval(last)}  # type: ignore[misc]
    else:
        reader = threading.Thread(target=poll)
        reader.start()
        try:
            deadline = time.monotonic() + 60
            while not seen and reader.is_alive() and time.monotonic() < deadline:
                time.sleep(0.005)  # the state before the load is on record before the load starts
            report = laden.load({"facts": new}, target_url, strategy="truncate_insert", batch_size=500)
            time.sleep(0.05)
        finally:
            stop.set()
            reader.join()
    assert report.ok, str(report)
    assert seen <= {(1000, 1000), (20000, 40000)}, seen
    assert (1000, 1000) in seen


# -- progress, cancel, report ---------------------------------------------------------------------------


def test_progress_events_and_cancellation_roll_back(db: Any, target_url: str) -> None:
    create_shop(db)
    events: list[laden.ProgressEvent] = []
    report = laden.load(shop(), target_url, progress=events.append, batch_size=2)
    assert report.ok
    kinds = [e.kind for e in events]
    assert kinds[0] is EventKind.LOAD_STARTED and kinds[-1] is EventKind.LOAD_FINISHED
    assert [e.table for e in events if e.kind is EventKind.TABLE_STARTED] == [
        "customers",
        "orders",
        "order_items",
    ]
    finished = {e.table: e.rows for e in events if e.kind is EventKind.TABLE_FINISHED}
    assert finished == {"customers": 3, "orders": 3, "order_items": 4}
    assert len({e.load_id for e in events}) == 1 and events[0].load_id == report.load_id

    token = CancelToken()

    def cancel_after_first_batch(e: laden.ProgressEvent) -> None:
        if e.kind is EventKind.ROWS_WRITTEN and e.table == "customers":
            token.cancel()

    more = pa.table({"id": [50, 51], "name": ["x", "y"], "email": ["x@x", "y@x"]})
    report = laden.load(
        {"customers": more},
        target_url,
        strategy="upsert",
        cancel=token,
        progress=cancel_after_first_batch,
        batch_size=1,
    )
    assert report.status is Status.CANCELLED
    assert all(t.status is Status.CANCELLED for t in report.targets[0].tables)
    assert sorted(r[0] for r in rows(db, "customers")) == [1, 2, 3]


def test_report_json_masks_credentials(postgres_url: str, make_db: Any) -> None:
    create_shop(make_db(postgres_url))
    report = laden.load({"customers": CUSTOMERS}, postgres_url)
    assert report.ok
    text = report.to_json() + str(report)
    password = postgres_url.split(":")[2].split("@")[0]
    assert password not in text and "***" in text
    data = json.loads(report.to_json())
    assert data["targets"][0]["tables"][0] == {
        "table": "customers",
        "strategy": "append",
        "rows_read": 3,
        "rows_loaded": 3,
        "rows_rejected": 0,
        "duration_s": data["targets"][0]["tables"][0]["duration_s"],
        "status": "ok",
        "error": None,
    }


def test_distribute_one_failing_target_does_not_stop_the_others(sqlite_url: str, duckdb_url: str, make_db: Any) -> None:
    for url in (sqlite_url, duckdb_url):
        create_shop(make_db(url))
    broken = "postgresql://nobody:pw@127.0.0.1:1/none"
    reader = pa.RecordBatchReader.from_batches(CUSTOMERS.schema, CUSTOMERS.to_batches())
    report = laden.distribute({"customers": reader}, [sqlite_url, broken, duckdb_url])
    assert [t.status for t in report.targets] == [Status.OK, Status.FAILED, Status.OK]
    assert "cannot connect" in (report.targets[1].error or "") and "pw" not in (report.targets[1].error or "")
    assert make_db(sqlite_url).count("customers") == 3 and make_db(duckdb_url).count("customers") == 3


COMPUTED = {
    "sqlite": "CREATE TABLE g (id INTEGER PRIMARY KEY, a INTEGER, twice INTEGER GENERATED ALWAYS AS (a * 2) STORED)",
    "duckdb": "CREATE TABLE g (id INTEGER PRIMARY KEY, a INTEGER, twice INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL)",
    "postgresql": "CREATE TABLE g (id int PRIMARY KEY, a int, twice int GENERATED ALWAYS AS (a * 2) STORED)",
    "mysql": "CREATE TABLE g (id INT PRIMARY KEY, a INT, twice INT GENERATED ALWAYS AS (a * 2) STORED)",
}


def test_computed_columns_are_filled_by_the_database_and_refused_from_the_source(
    db: Any, target_url: str, engine: str
) -> None:
    db.execute(COMPUTED[engine])
    report = laden.load({"g": pa.table({"id": [1], "a": [21]})}, target_url)
    assert report.ok, str(report)
    assert rows(db, "g") == [(1, 21, 42)]
    report = laden.load({"g": pa.table({"id": [2], "a": [1], "twice": [5]})}, target_url)
    assert not report.ok
    assert "column 'twice' of table 'g' is computed by the database" in (report.targets[0].error or "")


# each kind of bad row, alone at source row 3, in fail mode: the error names it, nothing is committed
BAD_KINDS = {
    "cast": ({"customer_id": "one"}, "customer_id", "cannot convert 'one'"),
    "not_null": ({"customer_id": None}, "customer_id", "NULL in NOT NULL column"),
    "duplicate_key": ({"id": "30"}, None, ""),
    "fk_orphan": ({"customer_id": "99"}, None, ""),
    "too_many_decimals": ({"total": "1.999"}, "total", "cannot convert '1.999'"),
}


@pytest.mark.parametrize("kind", sorted(BAD_KINDS))
def test_each_kind_of_bad_row_fails_the_target_naming_row_3(db: Any, target_url: str, kind: str) -> None:
    create_shop(db)
    assert laden.load({"customers": CUSTOMERS}, target_url).ok
    change, column, reason = BAD_KINDS[kind]
    good = {
        "id": ["30", "31", "32", "33"],
        "customer_id": ["1", "2", "3", "1"],
        "total": ["1.00"] * 4,
        "note": ["n"] * 4,
    }
    for name, value in change.items():
        good[name][2] = value
    report = laden.load({"orders": pa.table(good)}, target_url, batch_size=2)
    assert not report.ok
    error = report.targets[0].error or ""
    assert "table 'orders', row 3" in error, error
    if column:
        assert f"column {column!r}" in error, error
    assert reason in error
    assert db.count("orders") == 0
    report = laden.load({"orders": pa.table(good)}, target_url, on_error="reject", batch_size=2)
    assert report.ok, str(report)
    assert [r.row for r in report.targets[0].rejects] == [3]
    assert db.count("orders") == 3


@pytest.mark.parametrize("engine", ["duckdb", "postgresql", "mysql"], indirect=True)
def test_schema_in_the_url_selects_the_namespace(db: Any, target_url: str, engine: str) -> None:
    other = "sales"
    db.execute(f"CREATE {'DATABASE' if engine == 'mysql' else 'SCHEMA'} {other}")
    try:
        db.execute(ddl(engine, f"CREATE TABLE {other}.customers (id {{bigint}} PRIMARY KEY, name {{text}} NOT NULL)"))
        create_shop(db)  # a customers table in the default namespace too
        sep = "&" if "?" in target_url else "?"
        report = laden.load({"customers": CUSTOMERS.drop_columns(["email"])}, f"{target_url}{sep}schema={other}")
        assert report.ok, str(report)
        assert db.query(f"SELECT COUNT(*) FROM {other}.customers") == [(3,)]
        assert db.count("customers") == 0
    finally:
        if engine == "mysql":
            db.execute(f"DROP DATABASE {other}")


def test_initially_deferred_fk_outside_a_cycle_is_checked_per_row(postgres_url: str, make_db: Any) -> None:
    db = make_db(postgres_url)
    db.script(
        "CREATE TABLE p (id bigint PRIMARY KEY);"
        "CREATE TABLE c (id bigint PRIMARY KEY, p_id bigint REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED);"
        "INSERT INTO p VALUES (1);"
    )
    report = laden.load({"c": pa.table({"id": [1, 2, 3], "p_id": [1, 99, 1]})}, postgres_url, on_error="reject")
    assert report.ok, str(report)
    assert [(r.row, r.column) for r in report.targets[0].rejects] == [(2, "p_id")]
    assert rows(db, "c") == [(1, 1), (3, 1)]


def test_fk_columns_missing_from_the_source_do_not_order_or_break_the_load(db: Any, target_url: str) -> None:
    db.script(
        ddl(
            db.engine,
            "CREATE TABLE employees (id {bigint} PRIMARY KEY, name {text} NOT NULL, "
            "manager_id {bigint} REFERENCES employees(id));",
        )
    )
    report = laden.load({"employees": pa.table({"id": [2, 1], "name": ["b", "a"]})}, target_url)
    assert report.ok, str(report)
    assert rows(db, "employees") == [(1, "a", None), (2, "b", None)]
    assert report.targets[0].notes == []


GENERATED_ID = {
    "sqlite": "CREATE TABLE k (id INTEGER PRIMARY KEY, name TEXT)",
    "duckdb": "CREATE SEQUENCE s; CREATE TABLE k (id BIGINT DEFAULT nextval('s') PRIMARY KEY, name VARCHAR)",
    "postgresql": "CREATE TABLE k (id bigserial PRIMARY KEY, name text)",
    "mysql": "CREATE TABLE k (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20))",
}


def test_upsert_keys_must_be_in_the_source(db: Any, target_url: str, engine: str) -> None:
    db.script(GENERATED_ID[engine])
    names = pa.table({"name": ["a", "b"]})
    assert laden.load({"k": names}, target_url).ok  # append fills the generated key
    report = laden.load({"k": names}, target_url, strategy="upsert")
    assert not report.ok
    assert "upsert into 'k' matches rows on (id) but the source has no column id" in (report.targets[0].error or "")
    assert sorted(r[1] for r in rows(db, "k")) == ["a", "b"]
