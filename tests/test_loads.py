"""Load tracking (issue 8.8-8.9): every load recorded in the state store; status, metrics, and
cancellation of a load running in another process, on every engine."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import laden
from laden import loads
from laden.errors import UsageError

LADEN = [sys.executable, "-m", "laden.cli"]


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "state"
    monkeypatch.setenv("LADEN_STATE_DIR", str(directory))
    return directory


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LADEN, *args], capture_output=True, text=True, timeout=300, env=env)


def _wait(predicate: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_loads_are_recorded_with_status_rows_and_masked_targets(state: Path, make_db: Any, postgres_url: str) -> None:
    db = make_db(postgres_url)
    db.execute("CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL)")
    ok = laden.load(pa.table({"id": [1, 2, 3], "name": ["a", "b", "c"]}), postgres_url, table="t")
    bad = laden.load(pa.table({"id": [4, 1], "name": ["d", "e"]}), postgres_url, table="t")  # key 1 again
    assert ok.ok and not bad.ok
    first, second = loads.status(ok.load_id), loads.status(bad.load_id)
    masked = postgres_url.replace("laden-test-pw", "***")
    assert (first.kind, first.status, first.rows, first.targets, first.error) == (
        loads.RunKind.LOAD, loads.RunStatus.SUCCEEDED, 3, (masked,), None,
    )  # fmt: skip
    assert first.ended is not None and first.started <= first.ended <= time.time()
    assert first.pid == os.getpid()
    assert (second.status, second.rows) == (loads.RunStatus.FAILED, 0)
    assert second.error == f"{masked}: {bad.targets[0].error}"
    assert "row 2" in second.error
    assert [r.id for r in loads.history()] == [bad.load_id, ok.load_id]
    assert loads.active() == []
    m = loads.metrics()
    assert (m.total, m.succeeded, m.failed, m.cancelled, m.running, m.rows) == (2, 1, 1, 0, 0, 3)
    assert m.success_rate == 0.5
    assert m.throughput is not None and m.throughput == pytest.approx(3 / first.duration_s)
    assert b"laden-test-pw" not in (state / "loads.db").read_bytes()


def test_tracking_off_and_unknown_ids(
    state: Path, sqlite_url: str, make_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_db(sqlite_url).execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    with pytest.raises(UsageError, match=r"no load or backfill with id 'nope' in .*loads.db; `laden runs list`"):
        loads.status("nope")
    monkeypatch.setenv("LADEN_STATE_DIR", "off")
    assert laden.load(pa.table({"id": [1]}), sqlite_url, table="t").ok
    with pytest.raises(UsageError, match="load tracking is off"):
        loads.active()
    monkeypatch.setenv("LADEN_STATE_DIR", str(state))
    assert loads.history() == []


def _big_parquet(path: Path, rows: int) -> Path:
    ids = np.arange(rows, dtype=np.int64)
    pq.write_table(pa.table({"id": ids, "v": ids * 3, "s": pa.array(np.char.mod("row %d", ids))}), path)
    return path


@contextlib.contextmanager
def _held(engine: str, url: str) -> Iterator[Callable[[], None]]:
    """Hold a lock that stops the load at its first write, until the returned function releases it
    (a real lock of the engine: the load is paused, not simulated). DuckDB has no lock another
    process could wait on; there the load is slowed by small batches instead."""
    from conftest import _file_path, _mysql_params, _pg_conninfo

    if engine == "duckdb":
        yield lambda: None
        return
    if engine == "sqlite":
        import sqlite3

        con: Any = sqlite3.connect(_file_path(url), isolation_level=None)
        con.execute("BEGIN IMMEDIATE")  # the load's first write waits (busy_timeout)
    elif engine == "postgresql":
        import psycopg

        con = psycopg.connect(_pg_conninfo(url))
        con.execute("LOCK TABLE t IN EXCLUSIVE MODE")  # reads go on; the COPY waits
    else:
        import pymysql

        con = pymysql.connect(**_mysql_params(url))
        con.cursor().execute("LOCK TABLES t WRITE")  # the load waits for the table
    released: list[bool] = []

    def release() -> None:
        if not released:
            con.cursor().execute("UNLOCK TABLES") if engine == "mysql" else con.rollback()
            released.append(True)

    try:
        yield release
    finally:
        release()
        con.close()


def test_a_load_in_another_process_is_cancelled_from_the_cli(
    state: Path, db: Any, target_url: str, engine: str, tmp_path: Path
) -> None:
    text = "VARCHAR(40)" if engine == "mysql" else "TEXT"
    db.execute(f"CREATE TABLE t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, s {text})")
    source = _big_parquet(tmp_path / "t.parquet", 1_000_000)
    with _held(engine, target_url) as release:
        child = subprocess.Popen(
            [*LADEN, "load", str(source), "--to", target_url, "--batch-size", "200", "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            run = _wait(lambda: loads.active(), "the load to be recorded as running")[0]
            assert (run.pid, run.kind, run.status) == (child.pid, loads.RunKind.LOAD, loads.RunStatus.RUNNING)
            listed = json.loads(_cli("runs", "list", "--active", "--json").stdout)["runs"]
            assert [r["id"] for r in listed] == [run.id]
            done = _cli("runs", "cancel", run.id)
            assert done.returncode == 0, done.stderr
            assert done.stdout == (
                f"asked load {run.id} to stop; it rolls back at its next batch (`laden runs show {run.id}`)\n"
            )
            release()
            out, err = child.communicate(timeout=120)
        finally:
            child.kill()
    assert child.returncode == 1, err
    report = json.loads(out)
    assert report["load_id"] == run.id and report["targets"][0]["status"] == "cancelled"
    final = loads.status(run.id)
    assert (final.status, final.rows, final.cancel_requested) == (loads.RunStatus.CANCELLED, 0, True)
    assert db.count("t") == 0  # rolled back
    again = _cli("runs", "cancel", run.id)
    assert again.returncode == 2
    assert again.stderr == f"laden: error: load {run.id} is not running (it was cancelled); nothing to cancel\n"


def test_a_killed_load_is_reported_failed_not_running_forever(
    state: Path, sqlite_url: str, make_db: Any, tmp_path: Path
) -> None:
    make_db(sqlite_url).execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL, s TEXT)")
    source = _big_parquet(tmp_path / "t.parquet", 1_000_000)
    child = subprocess.Popen([*LADEN, "load", str(source), "--to", sqlite_url, "--batch-size", "2000"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        run = _wait(lambda: loads.active(), "the load to be recorded as running")[0]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    final = loads.status(run.id)
    assert final.status is loads.RunStatus.FAILED
    assert final.error == f"the process (pid {child.pid}) ended without finishing the run: it was killed or crashed"
    assert loads.active() == []
    shown = _cli("runs", "show", run.id)
    assert shown.returncode == 0
    assert f"load {run.id}: failed\n" in shown.stdout and "killed or crashed" in shown.stdout
