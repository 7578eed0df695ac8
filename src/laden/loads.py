"""Load tracking: every load and backfill is recorded in a local SQLite state store.

The store lives at ``$LADEN_STATE_DIR/loads.db`` (default ``$XDG_STATE_HOME/laden``, i.e.
``~/.local/state/laden``); ``LADEN_STATE_DIR=off`` turns tracking off. Several processes
share it (WAL journal, busy timeout). Targets are stored masked, never with a password.

    laden.loads.active()            # runs still going
    laden.loads.status(load_id)     # one run
    laden.loads.cancel(load_id)     # ask a run (in any process on this machine) to stop
    laden.loads.metrics()           # totals, success rate, rows, throughput

A run records its process id and host: a run still marked running whose process is gone
(killed, crashed) is reported — and stored — as failed, with that reason. Cancellation is
seen by the running load between batches (it polls the store at most every 0.2 s), which
rolls back and ends as ``cancelled``.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import socket
import sqlite3
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from laden.errors import CancelledError, UsageError
from laden.progress import CancelToken
from laden.report import Report, Status

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    targets TEXT NOT NULL,
    status TEXT NOT NULL,
    rows INTEGER NOT NULL DEFAULT 0,
    started REAL NOT NULL,
    ended REAL,
    error TEXT,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, started);
"""
_COLUMNS = "id, kind, targets, status, rows, started, ended, error, pid, host, cancel_requested"
_POLL_S = 0.2


class RunKind(str, enum.Enum):
    LOAD = "load"
    BACKFILL = "backfill"


class RunStatus(str, enum.Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Run:
    """One recorded load or backfill."""

    id: str
    kind: RunKind
    targets: tuple[str, ...]
    status: RunStatus
    rows: int
    started: float
    ended: float | None
    error: str | None
    pid: int
    host: str
    cancel_requested: bool

    @property
    def duration_s(self) -> float:
        return (self.ended if self.ended is not None else time.time()) - self.started

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "targets": list(self.targets),
            "status": self.status.value,
            "rows": self.rows,
            "started": _iso(self.started),
            "ended": _iso(self.ended) if self.ended is not None else None,
            "duration_s": round(self.duration_s, 3),
            "error": self.error,
            "pid": self.pid,
            "host": self.host,
            "cancel_requested": self.cancel_requested,
        }


@dataclass(frozen=True)
class Metrics:
    """Totals over every recorded run; throughput is rows per second of finished runs."""

    total: int
    running: int
    succeeded: int
    failed: int
    cancelled: int
    rows: int
    seconds: float

    @property
    def success_rate(self) -> float | None:
        finished = self.succeeded + self.failed + self.cancelled
        return self.succeeded / finished if finished else None

    @property
    def throughput(self) -> float | None:
        return self.rows / self.seconds if self.seconds > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "running": self.running,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "success_rate": self.success_rate,
            "rows": self.rows,
            "throughput_rows_per_s": self.throughput,
        }


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")


def state_dir() -> Path | None:
    """Where the store lives; None when tracking is off (``LADEN_STATE_DIR=off``)."""
    configured = os.environ.get("LADEN_STATE_DIR")
    if configured is not None:
        return None if configured.strip().lower() in ("off", "") else Path(configured).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "laden"


class StateStore:
    """The runs table in ``<directory>/loads.db``."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.path = Path(directory) / "loads.db"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            yield db
        finally:
            db.close()

    # -- written by the running load -------------------------------------------------------------
    def start(self, run_id: str, kind: RunKind, targets: Sequence[str]) -> None:
        with self._db() as db:
            db.execute(
                f"INSERT INTO runs ({_COLUMNS}) VALUES (?, ?, ?, ?, 0, ?, NULL, NULL, ?, ?, 0)",
                (run_id, kind.value, json.dumps(list(targets)), RunStatus.RUNNING.value, time.time(),
                 os.getpid(), socket.gethostname()),
            )  # fmt: skip

    def finish(self, run_id: str, status: RunStatus, rows: int, error: str | None = None) -> None:
        with self._db() as db:
            db.execute(
                "UPDATE runs SET status = ?, rows = ?, ended = ?, error = ? WHERE id = ?",
                (status.value, rows, time.time(), error, run_id),
            )

    def cancel_requested(self, run_id: str) -> bool:
        with self._db() as db:
            row = db.execute("SELECT cancel_requested FROM runs WHERE id = ?", (run_id,)).fetchone()
        return bool(row and row[0])

    # -- read and steered from anywhere ----------------------------------------------------------
    def get(self, run_id: str) -> Run:
        with self._db() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise UsageError(f"no load or backfill with id {run_id!r} in {self.path}; `laden runs list` shows them")
            return self._checked(db, _run(row))

    def runs(self, *, active: bool = False, limit: int | None = None) -> list[Run]:
        """Newest first; ``active``: only those still running."""
        where = "WHERE status = 'running'" if active else ""
        with self._db() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM runs {where} ORDER BY started DESC LIMIT ?", (limit or -1,)
            ).fetchall()
            checked = [self._checked(db, _run(r)) for r in rows]
        return [r for r in checked if r.status is RunStatus.RUNNING] if active else checked

    def cancel(self, run_id: str) -> Run:
        """Ask a running load to stop; it rolls back and ends as cancelled."""
        run = self.get(run_id)
        if run.status is not RunStatus.RUNNING:
            ended = "was cancelled" if run.status is RunStatus.CANCELLED else run.status.value
            raise UsageError(f"{run.kind.value} {run_id} is not running (it {ended}); nothing to cancel")
        with self._db() as db:
            db.execute("UPDATE runs SET cancel_requested = 1 WHERE id = ?", (run_id,))
        return self.get(run_id)

    def metrics(self) -> Metrics:
        self.runs(active=True)  # settle runs whose process is gone
        with self._db() as db:
            rows = db.execute("SELECT status, count(*), coalesce(sum(rows), 0) FROM runs GROUP BY status").fetchall()
            seconds = db.execute(
                "SELECT coalesce(sum(ended - started), 0) FROM runs WHERE status = 'succeeded'"
            ).fetchone()[0]
        counts = {status: (n, r) for status, n, r in rows}
        n = {s: counts.get(s.value, (0, 0))[0] for s in RunStatus}
        return Metrics(
            total=sum(n.values()),
            running=n[RunStatus.RUNNING],
            succeeded=n[RunStatus.SUCCEEDED],
            failed=n[RunStatus.FAILED],
            cancelled=n[RunStatus.CANCELLED],
            rows=counts.get(RunStatus.SUCCEEDED.value, (0, 0))[1],
            seconds=float(seconds),
        )

    def _checked(self, db: sqlite3.Connection, run: Run) -> Run:
        """A run still marked running whose process on this host is gone is failed, saying so."""
        if run.status is not RunStatus.RUNNING or run.host != socket.gethostname() or _alive(run.pid):
            return run
        error = f"the process (pid {run.pid}) ended without finishing the run: it was killed or crashed"
        ended = time.time()
        db.execute(
            "UPDATE runs SET status = ?, ended = ?, error = ? WHERE id = ? AND status = 'running'",
            (RunStatus.FAILED.value, ended, error, run.id),
        )
        return Run(**{**run.__dict__, "status": RunStatus.FAILED, "ended": ended, "error": error})


def _run(row: tuple[Any, ...]) -> Run:
    rid, kind, targets, status, rows, started, ended, error, pid, host, cancel = row
    return Run(rid, RunKind(kind), tuple(json.loads(targets)), RunStatus(status), rows, started, ended, error, pid,
               host, bool(cancel))  # fmt: skip


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


class TrackedCancel(CancelToken):
    """A cancel token that is also set by ``laden runs cancel ID`` from another process."""

    def __init__(self, store: StateStore, run_id: str, local: CancelToken | None = None) -> None:
        super().__init__()
        self._store, self._run_id, self._local = store, run_id, local
        self._next_poll = 0.0
        self._lock = threading.Lock()

    @property
    def cancelled(self) -> bool:
        if super().cancelled or (self._local is not None and self._local.cancelled):
            return True
        with self._lock:
            now = time.monotonic()
            if now < self._next_poll:
                return False
            self._next_poll = now + _POLL_S
        try:
            if self._store.cancel_requested(self._run_id):
                self.cancel()
                return True
        except sqlite3.Error:  # the store is unreadable for a moment: the next poll tries again
            return False
        return False


def default_store() -> StateStore | None:
    """The store at :func:`state_dir`, or None when tracking is off or the store cannot be opened
    (then a warning says why; the load itself goes on untracked)."""
    directory = state_dir()
    if directory is None:
        return None
    try:
        return StateStore(directory)
    except (OSError, sqlite3.Error) as exc:
        warnings.warn(
            f"laden: load tracking is off: cannot open {directory / 'loads.db'} ({exc}); set LADEN_STATE_DIR to a "
            "writable directory, or LADEN_STATE_DIR=off",
            RuntimeWarning,
            stacklevel=3,
        )
        return None


@dataclass
class Tracking:
    """What :func:`tracked` hands the load: the cancel token to pass on; set ``report`` at the end."""

    cancel: CancelToken | None
    report: Report | None = None
    rows: int | None = None


@contextlib.contextmanager
def tracked(
    run_id: str, kind: RunKind, targets: Sequence[str], cancel: CancelToken | None = None
) -> Iterator[Tracking]:
    """Record a run in the default store for the duration of the ``with`` block.

    The block sets ``tracking.report`` (or ``tracking.rows`` and raises for a failure); an
    exception escaping the block records the run as failed with its message, and propagates.
    """
    store = default_store()
    if store is None:
        yield Tracking(cancel)
        return
    store.start(run_id, kind, targets)
    tracking = Tracking(TrackedCancel(store, run_id, cancel))
    try:
        yield tracking
    except BaseException as exc:
        status = RunStatus.CANCELLED if isinstance(exc, CancelledError) else RunStatus.FAILED
        store.finish(run_id, status, tracking.rows or 0, f"{type(exc).__name__}: {exc}")
        raise
    report = tracking.report
    if report is None:
        store.finish(run_id, RunStatus.SUCCEEDED, tracking.rows or 0)
        return
    status = {Status.OK: RunStatus.SUCCEEDED, Status.CANCELLED: RunStatus.CANCELLED}.get(
        report.status, RunStatus.FAILED
    )
    errors = [f"{t.target}: {t.error}" for t in report.targets if t.error]
    store.finish(run_id, status, report.rows_loaded, "; ".join(errors) or None)


def _store() -> StateStore:
    store = default_store()
    if store is None:
        raise UsageError("load tracking is off (LADEN_STATE_DIR=off, or its directory is not writable)")
    return store


def active() -> list[Run]:
    """Loads and backfills running now (on any process using this state store)."""
    return _store().runs(active=True)


def status(load_id: str) -> Run:
    return _store().get(load_id)


def cancel(load_id: str) -> Run:
    return _store().cancel(load_id)


def metrics() -> Metrics:
    return _store().metrics()


def history(limit: int | None = 50) -> list[Run]:
    return _store().runs(limit=limit)
