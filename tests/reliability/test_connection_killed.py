"""Issue 7.2: the server kills laden's connection in the middle of a load.

A progress callback kills the loading session from a second connection once the first batch
is written (PostgreSQL ``pg_terminate_backend``, MariaDB ``KILL``). The load must fail with an
error naming the target, roll back, and leave nothing visible.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

import laden
from helpers import create_shop
from laden.progress import EventKind, ProgressEvent

ROWS = 50_000


def _killer(db: Any, engine: str) -> Any:
    killed: list[int] = []

    def on_event(event: ProgressEvent) -> None:
        if event.kind is not EventKind.ROWS_WRITTEN or killed:
            return
        if engine == "postgresql":
            rows = db.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'laden' AND datname = current_database() AND pid <> pg_backend_pid()"
            )
        else:
            ids = db.query(
                "SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()"
            )
            for (conn_id,) in ids:
                db.execute(f"KILL CONNECTION {int(conn_id)}")
            rows = ids
        killed.append(len(rows))

    on_event.killed = killed  # type: ignore[attr-defined]
    return on_event


def _data() -> dict[str, pa.Table]:
    ids = list(range(1, ROWS + 1))
    return {"customers": pa.table({"id": ids, "name": [f"n{i}" for i in ids], "email": [f"{i}@x" for i in ids]})}


def _check(db: Any, target_url: str, engine: str, strategy: str) -> None:
    create_shop(db)
    if strategy != "append":
        assert laden.load({"customers": pa.table({"id": [1], "name": ["old"], "email": ["o@x"]})}, target_url).ok
    before = db.query("SELECT id, name FROM customers ORDER BY id")
    killer = _killer(db, engine)
    report = laden.load(_data(), target_url, strategy=strategy, batch_size=5_000, progress=killer, cascade=True)
    assert killer.killed == [1], "exactly the loading session was killed"
    assert not report.ok
    error = report.targets[0].error or ""
    target = report.targets[0].target
    host = target_url.split("@", 1)[1].split("/", 1)[0]
    assert host in target and "***" in target  # the target, masked
    assert error.startswith(f"{target}: table 'customers': the server closed the connection (")
    assert error.endswith(
        "Nothing was committed; load again once the server is reachable (the load is one transaction, "
        "so a rerun starts clean)."
    )
    assert "laden-test-pw" not in error
    assert db.query("SELECT id, name FROM customers ORDER BY id") == before  # rolled back: nothing visible


def test_postgres_connection_terminated_mid_load(postgres_url: str, make_db: Any) -> None:
    db = make_db(postgres_url)
    for strategy in ("append", "upsert", "truncate_insert"):
        db.execute("DROP TABLE IF EXISTS order_items, orders, customers, products, categories CASCADE")
        _check(db, postgres_url, "postgresql", strategy)


def test_mariadb_connection_killed_mid_load(mysql_url: str, make_db: Any) -> None:
    db = make_db(mysql_url)
    for strategy in ("append", "upsert", "truncate_insert"):
        db.execute("SET FOREIGN_KEY_CHECKS = 0")
        db.execute("DROP TABLE IF EXISTS order_items, orders, customers, products, categories")
        db.execute("SET FOREIGN_KEY_CHECKS = 1")
        _check(db, mysql_url, "mysql", strategy)
