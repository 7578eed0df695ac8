"""The public functions: :func:`load`, :func:`distribute`, :func:`plan`, :func:`inspect`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from laden.engine import TargetLoad
from laden.errors import UsageError
from laden.plan import LoadOptions, LoadPlan, OnError, Strategy, build_plan
from laden.progress import CancelToken, ProgressCallback, new_load_id
from laden.reflect import RowCounts
from laden.report import Report
from laden.schema import Schema
from laden.source import as_dataset
from laden.targets import backend_for

KeySpec = Mapping[str, Sequence[str] | str]


def _enum(kind: type[Strategy] | type[OnError], value: object, what: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise UsageError(f"unknown {what} {value!r}; expected one of: {allowed}") from None


def options(
    *,
    strategy: str | Strategy = Strategy.APPEND,
    keys: KeySpec | None = None,
    batch_size: int = 100_000,
    on_error: str | OnError = OnError.FAIL,
    rejects: str | None = None,
    max_rejects: int | None = None,
    cascade: bool = False,
) -> LoadOptions:
    """Validated :class:`LoadOptions` from the keyword arguments every entry point takes."""
    parsed_keys: dict[str, tuple[str, ...]] = {}
    for table, cols in (keys or {}).items():
        names = tuple(c.strip() for c in (cols.split(",") if isinstance(cols, str) else cols))
        if not names or not all(names):
            raise UsageError(f"keys for table {table!r} must name at least one column")
        parsed_keys[table] = names
    return LoadOptions(
        strategy=_enum(Strategy, strategy, "strategy"),
        keys=parsed_keys,
        batch_size=batch_size,
        on_error=_enum(OnError, on_error, "on_error mode"),
        rejects_path=rejects,
        max_rejects=max_rejects,
        cascade=cascade,
    )


def load(
    data: Any,
    target: str,
    *,
    table: str | None = None,
    strategy: str | Strategy = Strategy.APPEND,
    keys: KeySpec | None = None,
    batch_size: int = 100_000,
    on_error: str | OnError = OnError.FAIL,
    rejects: str | None = None,
    max_rejects: int | None = None,
    cascade: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    load_id: str | None = None,
) -> Report:
    """Load ``data`` into one database ``target`` (a URL) in FK order, in one transaction.

    ``data`` is anything :func:`laden.source.as_dataset` takes: a mapping of table name to
    DataFrame / Arrow table / list of dicts / file path, a directory, or one input with
    ``table=``. Returns a :class:`Report`; it does not raise for a failed target —
    check ``report.ok`` or call ``report.raise_for_status()``.
    """
    return distribute(
        data,
        [target],
        table=table,
        strategy=strategy,
        keys=keys,
        batch_size=batch_size,
        on_error=on_error,
        rejects=rejects,
        max_rejects=max_rejects,
        cascade=cascade,
        progress=progress,
        cancel=cancel,
        load_id=load_id,
    )


def distribute(
    data: Any,
    targets: Sequence[str],
    *,
    table: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    load_id: str | None = None,
    **kwargs: Any,
) -> Report:
    """Load the same dataset into several targets, one after the other.

    Each target has its own transaction: one failing is rolled back and reported while the
    others carry on. Inputs that can be read only once (a RecordBatchReader) are spooled
    to a temporary Arrow file on the first pass.
    """
    if isinstance(targets, str):
        targets = [targets]
    if not targets:
        raise UsageError("no target given")
    opts = options(**kwargs)
    report = Report(load_id or new_load_id())
    dataset = as_dataset(data, table=table)
    if opts.rejects_path:  # this load's rejects only, from every target
        with open(opts.rejects_path, "w", encoding="utf-8"):
            pass
    with dataset.spooled() if len(targets) > 1 else dataset as ds:
        for url in targets:
            backend = backend_for(url)
            run = TargetLoad(ds, backend, opts, report.load_id, progress=progress, cancel=cancel)
            result = run.run()
            result.rejects = run.rejects
            report.targets.append(result)
    return report


def plan(data: Any, target: str, *, table: str | None = None, **kwargs: Any) -> LoadPlan:
    """What :func:`load` would do, without writing anything (``--dry-run``)."""
    opts = options(**kwargs)
    dataset = as_dataset(data, table=table)
    backend = backend_for(target)
    backend.connect()
    try:
        schema = backend.reflect()
    finally:
        backend.close()
    sources = {n: t.schema() for n, t in dataset.tables.items()}
    return build_plan(sources, schema, opts, backend.caps, target=backend.name, engine=backend.engine.value)


def inspect(
    target: str, *, tables: Sequence[str] | None = None, row_counts: str | RowCounts = RowCounts.EXACT
) -> Schema:
    """Reflect the target's tables: columns, keys, FKs, unique constraints, indexes, row counts."""
    counts = row_counts if isinstance(row_counts, RowCounts) else RowCounts(row_counts)
    backend = backend_for(target)
    backend.connect()
    try:
        return backend.reflect(tables, counts)
    finally:
        backend.close()
