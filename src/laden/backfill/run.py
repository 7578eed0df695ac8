"""Plan, validate and run a backfill; the coordinator and the per-window worker.

Each window is one load in its own transaction. ``replace`` (the default) deletes the window's
range from the table and inserts its rows; ``upsert`` merges them on keys. Either way a rerun
of a window leaves exactly that window's rows, never duplicates. Windows run in local worker
processes (``parallel``) or on a Dask cluster (``cluster``); the coordinator alone writes the
manifest, after every window.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from laden.backfill.checksum import ALGORITHM, Checksum
from laden.backfill.manifest import DONE, FAILED, PENDING, RUNNING, Manifest, WindowEntry, bound_type, entries
from laden.backfill.mirror import create_mirror, mirror_window
from laden.backfill.rules import Validation, ValidationReport, validate_sample
from laden.backfill.sources import Source, SourceSpec, open_source
from laden.backfill.windows import Window, WindowSpec, plan_windows
from laden.errors import CancelledError, LadenError, UsageError
from laden.plan import Finish, LoadOptions, OnError, RowRange, Strategy
from laden.resolve import ResolvedTarget
from laden.urls import Engine

_SAMPLE_ROWS = 10_000


class WindowWrite(str, enum.Enum):
    """How a window's rows replace what the table had in that range."""

    REPLACE = "replace"  # delete the window's range, insert its rows
    UPSERT = "upsert"  # merge on keys (the table's primary key by default)


@dataclass(frozen=True)
class Backfill:
    """Everything a backfill needs; plain data, so workers can be sent it."""

    source: SourceSpec
    target: ResolvedTarget
    table: str
    window_by: str
    window: WindowSpec
    write: WindowWrite = WindowWrite.REPLACE
    keys: tuple[str, ...] = ()
    parallel: int = 2
    retries: int = 2
    backoff_s: float = 1.0
    batch_size: int = 100_000
    on_error: OnError = OnError.FAIL
    cluster: str | None = None
    validation: Validation | None = None
    seed: int = 0
    #: a table of the target that mirrors the manifest's windows (created when missing)
    mirror: str | None = None

    @property
    def workers(self) -> int:
        """Windows at once: ``parallel``, but one for DuckDB (a file one process writes at a time)."""
        from laden.urls import DatabaseURL

        if self.cluster is None and DatabaseURL.parse(self.target.url).engine is Engine.DUCKDB:
            return 1
        return max(1, self.parallel)


@dataclass(frozen=True)
class WindowTask:
    backfill: Backfill
    window: Window
    run_id: str
    state_dir: str | None
    rejects: str | None
    finish: Finish = Finish.COMMIT


@dataclass
class WindowResult:
    index: int
    ok: bool
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    checksum: str = ""
    duration_s: float = 0.0
    error: str | None = None
    cancelled: bool = False


@dataclass
class BackfillPlan:
    backfill: Backfill
    windows: list[Window]
    estimates: list[float] = field(default_factory=list)
    rows_per_s: float | None = None
    overhead_s: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        rows = [{**w.to_dict(), "estimated_s": round(e, 3)} for w, e in zip(self.windows, self.estimates, strict=False)]
        return {"source": self.backfill.source.describe(), "target": self.backfill.target.name,
                "table": self.backfill.table, "window_by": self.backfill.window_by, "window": str(self.backfill.window),
                "strategy": self.backfill.write.value, "parallel": self.backfill.workers,
                "rows": sum(w.rows for w in self.windows), "windows": rows,
                "estimated_s": round(_makespan(self.estimates, self.backfill.workers), 3),
                "measured_rows_per_s": self.rows_per_s, "measured_overhead_s": self.overhead_s,
                "notes": self.notes}  # fmt: skip

    def describe(self) -> str:
        d = self.to_dict()
        lines = [
            f"backfill {d['source']} -> {d['target']} table {d['table']!r}: {len(self.windows)} windows of "
            f"{d['window']} by {d['window_by']!r}, {d['rows']:,} rows, {d['strategy']}, {d['parallel']} at a time"
        ]
        if self.rows_per_s:
            lines.append(f"measured on a trial load (rolled back): {self.rows_per_s:,.0f} rows/s + "
                         f"{self.overhead_s:.2f} s per window; estimated total {d['estimated_s']:.1f} s")  # fmt: skip
        lines.extend(f"note: {n}" for n in self.notes)
        for w, e in zip(self.windows, self.estimates or [0.0] * len(self.windows), strict=True):
            lines.append(f"  {w.index:>5}  {w.describe():<60} {w.rows:>12,} rows  ~{e:.1f} s")
        return "\n".join(lines)


def _makespan(estimates: list[float], parallel: int) -> float:
    lanes = [0.0] * max(1, parallel)
    for e in sorted(estimates, reverse=True):
        lanes[lanes.index(min(lanes))] += e
    return max(lanes) if estimates else 0.0


# -- planning and validation ----------------------------------------------------------------------


def plan_backfill(backfill: Backfill, *, measure: bool = True, notes: bool = True) -> BackfillPlan:
    """The windows covering the source, (``measure``) estimates from a trial load, and (``notes``)
    what would make every window slow."""
    source = open_source(backfill.source)
    try:
        field_ = source.window_field(backfill.window_by)
        windows = plan_windows(backfill.window, field_, lambda: source.column(backfill.window_by), seed=backfill.seed)
        said = [_advice(lambda: source.scan_note(backfill.window_by))] if notes and len(windows) > 1 else []
    finally:
        source.close()
    if notes:
        said.append(_advice(lambda: window_index_note(backfill)))
    plan = BackfillPlan(backfill, windows, notes=[n for n in said if n])
    if measure and windows:
        plan.rows_per_s, plan.overhead_s = _measure(backfill, windows)
        plan.estimates = [plan.overhead_s + w.rows / plan.rows_per_s for w in windows]
    return plan


def backfill_notes(backfill: Backfill) -> list[str]:
    """What will make every window slow, said before a run: see :meth:`Source.scan_note` and
    :func:`window_index_note`."""
    source = open_source(backfill.source)
    try:
        notes = [_advice(lambda: source.scan_note(backfill.window_by)), _advice(lambda: window_index_note(backfill))]
    finally:
        source.close()
    return [n for n in notes if n]


def _advice(note: Callable[[], str | None]) -> str | None:
    """A note is advice: when it cannot be worked out (no right to read the catalog, say), the run
    goes on without it, and the load itself reports whatever is really wrong."""
    try:
        return note()
    except LadenError:
        return None


def window_index_note(backfill: Backfill) -> str | None:
    """With ``replace``, each window starts by deleting its range: without an index that starts
    with the window column, that DELETE reads the whole table, once per window (417 one-day
    windows into a 200k-row SQLite table: 74 ms a window, 31 ms with the index), and on MySQL
    it locks every row against the other windows. None when an index serves it (or DuckDB,
    whose row groups' min/max do)."""
    from laden.targets import backend_for

    b = backfill
    if b.write is not WindowWrite.REPLACE:
        return None
    backend = backend_for(b.target.url, name=b.target.name, namespace=b.target.namespace)
    if backend.engine is Engine.DUCKDB:
        return None
    backend.connect()
    try:
        table = backend.reflect([b.table]).table(b.table, fold_case=backend.caps.fold_case)
    finally:
        backend.close()
    if table is None:
        return None  # the load says so, with the tables there
    if table.leads_an_index(b.window_by):
        return None
    locks = " and locks every row against the other windows" if backend.engine is Engine.MYSQL else ""
    return (
        f"{b.target.name}: no index of table {table.name!r} starts with {b.window_by!r}, so each window's "
        f"DELETE of its range reads the whole table{locks}; an index on {table.name} ({b.window_by}) "
        "makes it a range read"
    )


def _measure(backfill: Backfill, windows: list[Window]) -> tuple[float, float]:
    """Rows/s and fixed seconds per window, from trial loads of the largest window's first rows
    and of an empty window, both rolled back."""
    biggest = max(windows, key=lambda w: w.rows)
    task = WindowTask(backfill, biggest, "", None, None, Finish.ROLLBACK)
    full = load_window(task, limit=_SAMPLE_ROWS)
    if not full.ok:
        raise LadenError(f"the trial load of window {biggest.describe()} failed: {full.error}")
    empty = load_window(task, limit=0)
    overhead = empty.duration_s
    rate = full.rows_read / max(full.duration_s - overhead, 1e-3) if full.rows_read else float("inf")
    return rate, overhead


def sample(backfill: Backfill, rows: int, seed: int) -> pa.Table:
    """A seeded Bernoulli sample of about ``rows`` rows, read window by window."""
    import numpy as np

    source = open_source(backfill.source)
    try:
        total = sum(len(a) for a in source.column(backfill.window_by))
        keep = min(1.0, rows / total) if total else 1.0
        rng = np.random.default_rng(seed)
        parts = [b.filter(pa.array(rng.random(b.num_rows) < keep)) for b in source.window("", None, 1 << 16)]
        schema = parts[0].schema if parts else source.schema()
        return pa.Table.from_batches([p.cast(schema) for p in parts], schema=schema)
    finally:
        source.close()


def validate(backfill: Backfill) -> ValidationReport:
    if backfill.validation is None:
        raise UsageError(
            f"no validation rules for table {backfill.table!r}: add them under "
            f"validation: {backfill.table}: in laden.yaml"
        )
    v = backfill.validation
    return validate_sample(v, sample(backfill, v.sample, v.seed), _lookup(backfill.target))


def _lookup(target: ResolvedTarget) -> Callable[[str, str, list[Any]], set[Any]]:
    from laden.targets import backend_for

    def lookup(table: str, column: str, values: list[Any]) -> set[Any]:
        backend = backend_for(target.url, name=target.name, namespace=target.namespace)
        backend.connect()
        try:
            found: set[Any] = set()
            for i in range(0, len(values), 500):
                chunk = values[i : i + 500]
                marks = ", ".join([backend.placeholder] * len(chunk))
                col = backend.quote(column)
                sql = f"SELECT DISTINCT {col} FROM {backend.qualified(table)} WHERE {col} IN ({marks})"
                found.update(r[0] for r in backend.query(sql, chunk))
            return found
        finally:
            backend.close()

    return lookup


# -- one window -----------------------------------------------------------------------------------


def load_window(task: WindowTask, *, limit: int | None = None) -> WindowResult:
    """Load one window in one transaction (run in a worker process or on a Dask worker)."""
    from laden.api import load_untracked
    from laden.loads import StateStore, TrackedCancel

    b, started = task.backfill, time.perf_counter()
    checksum = Checksum()
    source = open_source(b.source)
    try:
        reader = _reader(source, b.window_by, task.window, b.batch_size, checksum, limit)
        w = task.window
        opts = LoadOptions(
            strategy=Strategy.UPSERT if b.write is WindowWrite.UPSERT else Strategy.APPEND,
            keys={b.table: b.keys} if b.keys else {},
            batch_size=b.batch_size,
            on_error=b.on_error,
            rejects_path=task.rejects,
            replace=RowRange(b.window_by, w.start, w.end, w.nulls) if b.write is WindowWrite.REPLACE else None,
            finish=task.finish,
        )
        cancel = TrackedCancel(StateStore(task.state_dir), task.run_id) if task.state_dir else None
        report = load_untracked(reader, b.target, opts, table=b.table, cancel=cancel)
    except LadenError as exc:
        return WindowResult(task.window.index, False, checksum.rows, 0, 0, str(checksum),
                            time.perf_counter() - started, str(exc))  # fmt: skip
    finally:
        source.close()
    return WindowResult(
        task.window.index, report.ok, report.rows_read, report.rows_loaded, report.rows_rejected, str(checksum),
        time.perf_counter() - started, report.error, cancelled=report.status.value == "cancelled",
    )  # fmt: skip


def _reader(
    source: Source, column: str, window: Window, batch_size: int, checksum: Checksum, limit: int | None
) -> pa.RecordBatchReader:
    batches = source.window(column, window, batch_size)
    first = next(batches, None)
    schema = first.schema if first is not None else source.schema()

    def stream() -> Iterator[pa.RecordBatch]:
        left = limit
        for batch in [first] if first is not None else []:
            yield from _counted(batch, schema, checksum, left)
            left = None if left is None else left - batch.num_rows
        for batch in batches:
            if left is not None and left <= 0:
                return
            yield from _counted(batch, schema, checksum, left)
            left = None if left is None else left - batch.num_rows

    return pa.RecordBatchReader.from_batches(schema, stream())


def _counted(
    batch: pa.RecordBatch, schema: pa.Schema, checksum: Checksum, left: int | None
) -> Iterator[pa.RecordBatch]:
    if left is not None:
        if left <= 0:
            return
        batch = batch.slice(0, left)
    if batch.schema != schema:  # a database column all NULL in the first batch
        batch = batch.cast(schema)
    checksum.add(batch)
    yield batch


# -- the coordinator ------------------------------------------------------------------------------


def run_backfill(
    backfill: Backfill,
    manifest_path: Path,
    *,
    resume: bool = False,
    on_window: Callable[[Manifest, WindowEntry], None] | None = None,
) -> Manifest:
    """Run (or resume) a backfill; the manifest at ``manifest_path`` is kept current."""
    from laden import __version__
    from laden.backfill.executors import executor_for
    from laden.loads import RunKind, state_dir, tracked
    from laden.progress import new_load_id

    if resume:
        manifest = Manifest.read(manifest_path)
        _check_same(manifest, backfill, manifest_path)
        if manifest.finished:
            return manifest  # never rewritten
    else:
        if manifest_path.exists():
            raise UsageError(
                f"{manifest_path} exists: resume it with --resume {manifest_path}, or give another --manifest path"
            )
        report = validate(backfill) if backfill.validation is not None else None
        if report is not None and not report.ok:
            raise ValidationFailed(report)
        plan = plan_backfill(backfill, measure=False, notes=False)
        manifest = Manifest(
            source=backfill.source.describe(), target=backfill.target.name, table=backfill.table,
            strategy=backfill.write.value, keys=list(backfill.keys), window_by=backfill.window_by,
            window=str(backfill.window), bound_type=bound_type(plan.windows), windows=entries(plan.windows),
            validation=report.to_dict() if report else None, checksum_algorithm=ALGORITHM, laden_version=__version__,
        )  # fmt: skip
    run_id = new_load_id()
    manifest.runs.append(run_id)
    manifest.status, manifest.ended_at = RUNNING, None
    for entry in manifest.windows:
        if entry.status != DONE:
            entry.status, entry.error = PENDING, None
    manifest.write(manifest_path)
    if backfill.mirror is not None:
        create_mirror(backfill.target, backfill.mirror)
    directory = state_dir()
    with tracked(run_id, RunKind.BACKFILL, [backfill.target.name]) as tracking:
        with executor_for(backfill) as executor:
            _drive(backfill, manifest, manifest_path, executor, run_id, str(directory) if directory else None,
                   tracking.cancel, on_window)  # fmt: skip
        tracking.rows = sum(w.rows_loaded for w in manifest.windows)
        if tracking.cancel is not None and tracking.cancel.cancelled and not manifest.finished:
            raise BackfillCancelled(manifest, manifest_path)
        if not manifest.finished:
            raise BackfillIncomplete(manifest, manifest_path)
    return manifest


class ValidationFailed(LadenError):
    def __init__(self, report: ValidationReport) -> None:
        super().__init__(
            f"validation score {report.score:.2%} is below the threshold {report.threshold:.2%}: nothing was loaded; "
            f"see `laden backfill validate`\n{report.describe()}"
        )
        self.report = report


class BackfillIncomplete(LadenError):
    def __init__(self, manifest: Manifest, path: Path) -> None:
        bad = [w for w in manifest.windows if w.status != DONE]
        first = next((w for w in bad if w.error), None)
        detail = f"; first error (window {first.index}): {first.error}" if first else ""
        super().__init__(
            f"{len(bad)} of {len(manifest.windows)} windows did not finish{detail}. Fix the cause and rerun with "
            f"--resume {path} (finished windows are skipped)"
        )
        self.manifest = manifest


class BackfillCancelled(CancelledError):
    def __init__(self, manifest: Manifest, path: Path) -> None:
        done = sum(w.status == DONE for w in manifest.windows)
        super().__init__(
            f"cancelled after {done} of {len(manifest.windows)} windows; the windows running then rolled back. "
            f"Continue with --resume {path}",
            target=manifest.target,
        )
        self.manifest = manifest


def _check_same(manifest: Manifest, b: Backfill, path: Path) -> None:
    now = {"source": b.source.describe(), "target": b.target.name, "table": b.table, "window_by": b.window_by,
           "window": str(b.window), "strategy": b.write.value}  # fmt: skip
    for key, value in now.items():
        if getattr(manifest, key) != value:
            raise UsageError(
                f"{path}: this manifest's {key} is {getattr(manifest, key)!r}, not {value!r}; resume with the same "
                "arguments as the first run"
            )


def _drive(
    b: Backfill,
    manifest: Manifest,
    path: Path,
    executor: Any,
    run_id: str,
    state: str | None,
    cancel: Any,
    on_window: Callable[[Manifest, WindowEntry], None] | None,
) -> None:
    """Submit pending windows (at most ``parallel`` at once), retry failures with backoff."""
    queue: list[tuple[float, WindowEntry]] = [(0.0, w) for w in manifest.windows if w.status != DONE]
    running: dict[Any, WindowEntry] = {}
    rejects_dir = path.with_name(path.name + ".rejects") if b.on_error is OnError.REJECT else None
    while queue or running:
        stop = cancel is not None and cancel.cancelled
        now = time.monotonic()
        while queue and not stop and len(running) < b.workers and queue[0][0] <= now:
            _, entry = queue.pop(0)
            entry.status, entry.attempts = RUNNING, entry.attempts + 1
            rejects = str(rejects_dir / f"window-{entry.index}.jsonl") if rejects_dir else None
            if rejects_dir:
                rejects_dir.mkdir(parents=True, exist_ok=True)
            task = WindowTask(b, manifest.bounds(entry), run_id, state, rejects)
            running[executor.submit(load_window, task)] = entry
            manifest.write(path)
        if stop and not running:
            break
        if not running:
            time.sleep(max(0.0, min(0.5, queue[0][0] - now)))
            continue
        for future in executor.wait_first(list(running), timeout=0.5):
            entry = running.pop(future)
            result = executor.result(future, entry.index)
            _record(entry, result)
            if entry.status == FAILED and not result.cancelled and entry.attempts <= b.retries and not stop:
                queue.append((time.monotonic() + b.backoff_s * 2 ** (entry.attempts - 1), entry))
                queue.sort(key=lambda item: item[0])
                entry.status = PENDING
            manifest.write(path)
            if b.mirror is not None:
                mirror_window(b.target, b.mirror, manifest, entry)
            if on_window is not None:
                on_window(manifest, entry)
    manifest.ended_at = _now()
    manifest.status = DONE if manifest.finished else "cancelled" if cancel is not None and cancel.cancelled else FAILED
    manifest.write(path)


def _record(entry: WindowEntry, r: WindowResult) -> None:
    entry.status = DONE if r.ok else FAILED
    entry.rows_read, entry.rows_loaded, entry.rows_rejected = r.rows_read, r.rows_loaded, r.rows_rejected
    entry.checksum, entry.duration_s = r.checksum, round(r.duration_s, 3)
    entry.error = ("cancelled" if r.cancelled else r.error) if not r.ok else None
    entry.finished_at = _now()


def _now() -> str:
    from laden.backfill.manifest import _now as now

    return now()
