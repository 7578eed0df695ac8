"""Helpers for test_kill9.py: the data, order-independent checksums computed on the server, the
per-engine SQL to reset, inspect and wait for a target, and running the real CLI with a SIGKILL.

The table is ``kv (k BIGINT PRIMARY KEY, v BIGINT NOT NULL)``; every row of data version ``ver``
has ``v = k * 16 + ver``, so two versions of the same keys never share a checksum, and a table
holding some rows of each version matches neither.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

N = 1_000_000
STEP = 16  # v = k * STEP + version, version < STEP
PRIME = 1_000_003

#: count, sum(k), sum(v), sum(k * v mod PRIME): cheap on every engine, and sensitive to which rows
#: are there and which version each one holds
CHECKSUM_SQL = f"SELECT COUNT(*), SUM(k), SUM(v), SUM((k * v) % {PRIME}) FROM kv"
DUPLICATES_SQL = "SELECT COUNT(*) FROM (SELECT k FROM kv GROUP BY k HAVING COUNT(*) > 1) d"

DDL = {
    "sqlite": "CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)",
    "duckdb": "CREATE TABLE kv (k BIGINT PRIMARY KEY, v BIGINT NOT NULL)",
    "postgresql": "CREATE TABLE kv (k bigint PRIMARY KEY, v bigint NOT NULL)",
    "mysql": "CREATE TABLE kv (k BIGINT PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB",
}

#: kv := keys 1..N of one version, generated on the server (much cheaper than a load)
_RESET = {
    "sqlite": [
        "DELETE FROM kv",
        "INSERT INTO kv WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {n}) "
        "SELECT i, i * {step} + {ver} FROM g",
    ],
    "duckdb": ["DELETE FROM kv", "INSERT INTO kv SELECT i, i * {step} + {ver} FROM range(1, {n} + 1) t(i)"],
    "postgresql": ["TRUNCATE kv", "INSERT INTO kv SELECT g, g * {step} + {ver} FROM generate_series(1, {n}) g"],
    "mysql": ["TRUNCATE TABLE kv", "INSERT INTO kv SELECT seq, seq * {step} + {ver} FROM seq_1_to_{n}"],
}

#: every relation of the test database, in every schema (temporary ones included where the
#: catalog shows them): staging tables left behind would show up here
_INVENTORY = {
    "sqlite": "SELECT type, name FROM sqlite_master ORDER BY 1, 2",
    "duckdb": (
        "SELECT 'table', database_name, schema_name, table_name FROM duckdb_tables() "
        "UNION ALL SELECT 'view', database_name, schema_name, view_name FROM duckdb_views() WHERE NOT internal "
        "UNION ALL SELECT 'index', database_name, schema_name, index_name FROM duckdb_indexes() "
        "UNION ALL SELECT 'sequence', database_name, schema_name, sequence_name FROM duckdb_sequences() "
        "ORDER BY 1, 2, 3, 4"
    ),
    "postgresql": (
        "SELECT n.nspname, c.relname, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' "
        "ORDER BY 1, 2"
    ),
    "mysql": (
        "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1"
    ),
}

#: other client sessions on the test database (the killed client's, until the server notices)
_SESSIONS = {
    "postgresql": (
        "SELECT pid, state, left(query, 80) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
    ),
    "mysql": (
        "SELECT id, command, state, left(info, 80) FROM information_schema.processlist "
        "WHERE db = DATABASE() AND id <> CONNECTION_ID()"
    ),
}

Checksum = tuple[int, int, int, int]


class TempFileLeftover(AssertionError):
    """A file the killed process made is still in its TMPDIR."""


def checksum(k: np.ndarray[Any, Any], v: np.ndarray[Any, Any]) -> Checksum:
    """CHECKSUM_SQL computed in numpy (int64 is wide enough: k * v < 2**46)."""
    return (len(k), int(k.sum()), int(v.sum()), int(((k * v) % PRIME).sum()))


def base_keys() -> np.ndarray[Any, Any]:
    return np.arange(1, N + 1, dtype=np.int64)


def version_checksum(ver: int) -> Checksum:
    """kv holding keys 1..N of version ``ver`` (what reset() makes and what truncate_insert loads)."""
    k = base_keys()
    return checksum(k, k * STEP + ver)


@dataclass(frozen=True)
class Sources:
    """The Parquet files (1M rows each) and the checksums of the states they lead to."""

    #: truncate_insert sources: version -> file with keys 1..N of that version
    full: dict[int, Path]
    #: the upsert source: keys N/2+1 .. 3N/2 (half of them in the base table, half new)
    upsert: Path
    upsert_version: int
    #: the base table an upsert starts from (keys 1..N, version 0) and the state it completes to
    upsert_before: Checksum
    upsert_after: Checksum


def write_sources(directory: Path) -> Sources:
    full = {}
    for ver in (1, 2):
        k = base_keys()
        full[ver] = directory / f"kv_v{ver}.parquet"
        pq.write_table(pa.table({"k": k, "v": k * STEP + ver}), full[ver])
    up_ver = 3
    k = np.arange(N // 2 + 1, N // 2 + N + 1, dtype=np.int64)
    upsert = directory / "kv_upsert.parquet"
    pq.write_table(pa.table({"k": k, "v": k * STEP + up_ver}), upsert)
    # after the upsert: keys 1..N/2 keep version 0, the source's keys carry its version
    kept = np.arange(1, N // 2 + 1, dtype=np.int64)
    after_k = np.concatenate([kept, k])
    after_v = np.concatenate([kept * STEP, k * STEP + up_ver])
    return Sources(full, upsert, up_ver, version_checksum(0), checksum(after_k, after_v))


# ------------------------------------------------------------------------------- the target


def create(db: Any) -> None:
    db.execute(DDL[db.engine])
    if db.engine == "postgresql":
        # A backend notices its client is gone only when it next talks to it: after a kill during
        # a 5-second MERGE it would finish the MERGE first, then roll back. Checking the socket
        # every 50 ms (PostgreSQL 14+) ends the session as soon as the client dies; what is
        # checked afterwards does not change, only the time spent waiting for it.
        [(name,)] = db.query("SELECT current_database()")
        db.execute(f'ALTER DATABASE "{name}" SET client_connection_check_interval = 50')


def reset(db: Any, ver: int) -> None:
    for sql in _RESET[db.engine]:
        db.execute(sql.format(n=N, step=STEP, ver=ver))


def table_checksum(db: Any) -> Checksum:
    [row] = db.query(CHECKSUM_SQL)
    return tuple(int(x or 0) for x in row)  # type: ignore[return-value]


def duplicates(db: Any) -> int:
    return int(db.query(DUPLICATES_SQL)[0][0])


def inventory(db: Any) -> list[tuple[Any, ...]]:
    return db.query(_INVENTORY[db.engine])


def wait_until_alone(db: Any, timeout: float = 300.0) -> float:
    """Wait until no other client session is on the test database: a killed client's backend may
    still be running a statement (or a COMMIT it had sent) and rolling back. Returns the seconds
    waited. File engines: nothing to wait for, the process is gone."""
    if db.engine not in _SESSIONS:
        return 0.0
    started = time.monotonic()
    while True:
        others = db.query(_SESSIONS[db.engine])
        waited = time.monotonic() - started
        if not others:
            return waited
        if waited > timeout:
            raise AssertionError(f"the killed client's session is still on the server after {timeout:.0f}s: {others}")
        time.sleep(0.05)


def file_leftovers(db: Any) -> list[str]:
    """Files beside the SQLite / DuckDB database other than the database itself."""
    if db.path is None:
        return []
    path = Path(db.path)
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name)


# ------------------------------------------------------------------------------- the CLI


def laden_command() -> list[str]:
    script = Path(sys.executable).with_name("laden")
    return [str(script)] if script.exists() else [sys.executable, "-m", "laden.cli"]


@dataclass
class Run:
    returncode: int
    seconds: float
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL

    def tail(self) -> str:
        return f"exit {self.returncode}; stdout: {self.stdout[-600:]!r}; stderr: {self.stderr[-600:]!r}"


def run_load(
    source: Path,
    url: str,
    strategy: str,
    workdir: Path,
    tmpdir: Path,
    kill_after: float | None = None,
    kill_when: Callable[[], bool] | None = None,
) -> Run:
    """``laden load SOURCE --to URL --strategy S --table kv`` as a process; SIGKILL it ``kill_after``
    seconds after it was started, or as soon as ``kill_when()`` (polled) says so, if it is still
    running then.

    The child's TMPDIR is ``tmpdir`` (Python's tempfile and SQLite's temporary files go there) and
    its working directory ``workdir`` (no ./laden.yaml to pick up)."""
    env = {k: v for k, v in os.environ.items() if k not in ("SQLITE_TMPDIR", "LADEN_CONFIG")}
    env["TMPDIR"] = str(tmpdir)
    cmd = [*laden_command(), "load", str(source), "--to", url, "--strategy", strategy, "--table", "kv"]
    out_path, err_path = workdir / "load.out", workdir / "load.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=workdir, env=env)
        try:
            if kill_when is None:
                proc.wait(timeout=kill_after if kill_after is not None else 600)
            else:
                while proc.poll() is None and not kill_when():
                    if time.monotonic() - started > 600:
                        raise subprocess.TimeoutExpired(cmd, 600)
                    time.sleep(0.005)
                if proc.poll() is None:
                    raise subprocess.TimeoutExpired(cmd, 0)
        except subprocess.TimeoutExpired:
            proc.kill()  # SIGKILL: no finally, no atexit, no rollback from the client
            proc.wait()
        seconds = time.monotonic() - started
    return Run(
        proc.returncode,
        seconds,
        out_path.read_text(errors="replace"),
        err_path.read_text(errors="replace"),
    )
