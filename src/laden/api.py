"""The public functions: :func:`load`, :func:`distribute`, :func:`plan`, :func:`inspect`, :func:`query`."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from laden.config import Config, TargetConfig, TargetKind, load_config
from laden.engine import TargetLoad
from laden.errors import UsageError
from laden.loads import RunKind, tracked
from laden.plan import LoadOptions, LoadPlan, OnError, Strategy, TableOrder, build_plan
from laden.progress import CancelToken, ProgressCallback, new_load_id
from laden.reflect import RowCounts
from laden.report import Report, TargetReport
from laden.resolve import FileOptions, ResolvedTarget, needs_config, resolve
from laden.schema import Schema
from laden.source import Dataset, as_dataset
from laden.targets import backend_for

if TYPE_CHECKING:
    from laden.queries import QueryResult

KeySpec = Mapping[str, Sequence[str] | str]
#: a :class:`Config`, the path of a ``laden.yaml``, or None to look for one (only when a name is used)
ConfigSpec = Config | str | os.PathLike[str] | None


def _enum(kind: type[Strategy] | type[OnError], value: object, what: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise UsageError(f"unknown {what} {value!r}; expected one of: {allowed}") from None


def options(
    *,
    strategy: str | Strategy | None = None,
    keys: KeySpec | None = None,
    batch_size: int | None = None,
    on_error: str | OnError | None = None,
    rejects: str | None = None,
    max_rejects: int | None = None,
    cascade: bool = False,
    respect_fk_order: bool | None = None,
    defaults: TargetConfig | None = None,
) -> LoadOptions:
    """Validated :class:`LoadOptions` from the keyword arguments every entry point takes.

    An argument left None takes the named target's setting from ``laden.yaml`` (``defaults``),
    then laden's default; upsert keys given here add to (and override) the target's.
    """
    d = defaults or TargetConfig(name="", datasource="")
    parsed_keys: dict[str, tuple[str, ...]] = dict(d.keys)
    for table, cols in (keys or {}).items():
        names = tuple(c.strip() for c in (cols.split(",") if isinstance(cols, str) else cols))
        if not names or not all(names):
            raise UsageError(f"keys for table {table!r} must name at least one column")
        parsed_keys[table] = names
    return LoadOptions(
        strategy=_enum(Strategy, _first(strategy, d.strategy, Strategy.APPEND), "strategy"),
        keys=parsed_keys,
        batch_size=_first(batch_size, d.batch_size, 100_000),
        on_error=_enum(OnError, _first(on_error, d.on_error, OnError.FAIL), "on_error mode"),
        rejects_path=rejects,
        max_rejects=_first(max_rejects, d.max_rejects, None),
        cascade=cascade,
        order=TableOrder.FK if _first(respect_fk_order, d.respect_fk_order, True) else TableOrder.GIVEN,
    )


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _config(config: ConfigSpec, specs: Sequence[str]) -> Config | None:
    """The configuration, read only when a spec is a name rather than a URL or path."""
    if isinstance(config, Config):
        return config
    if not needs_config(list(specs)):
        return None
    return load_config(config)


def load(
    data: Any,
    target: str,
    *,
    table: str | None = None,
    strategy: str | Strategy | None = None,
    keys: KeySpec | None = None,
    batch_size: int | None = None,
    on_error: str | OnError | None = None,
    rejects: str | None = None,
    max_rejects: int | None = None,
    cascade: bool = False,
    tables: Sequence[str] | None = None,
    table_mappings: Mapping[str, Any] | None = None,
    respect_fk_order: bool | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    load_id: str | None = None,
    config: ConfigSpec = None,
) -> Report:
    """Load ``data`` into one ``target`` in FK order, in one transaction.

    ``target`` is a database URL, or the name of a target (or datasource) in ``laden.yaml``
    (``config``: a :class:`Config`, a path, or None to look for the file); a named target's
    settings (strategy, batch size, ...) apply where an argument is left None.
    ``data`` is anything :func:`laden.source.as_dataset` takes: a mapping of table name to
    DataFrame / Arrow table / list of dicts / file path, a directory, or one input with
    ``table=``. Returns a :class:`Report`; it does not raise for a failed target —
    check ``report.ok`` or call ``report.raise_for_status()``.

    ``table_mappings`` cut one wide source into several tables (see :mod:`laden.mapping`);
    ``tables`` picks and orders them; ``respect_fk_order=False`` loads them in that order
    instead of parents first. A named target's ``table_mappings`` apply when none are given.
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
        tables=tables,
        table_mappings=table_mappings,
        respect_fk_order=respect_fk_order,
        progress=progress,
        cancel=cancel,
        load_id=load_id,
        config=config,
    )


def distribute(
    data: Any,
    targets: Sequence[str],
    *,
    table: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    load_id: str | None = None,
    config: ConfigSpec = None,
    file_format: str | None = None,
    compression: str | None = None,
    tables: Sequence[str] | None = None,
    table_mappings: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Report:
    """Load the same dataset into several targets (URLs, paths or names), one after the other: one report.

    Each target has its own transaction: one failing is rolled back and reported while the
    others carry on. Every name is resolved before anything is loaded. Inputs that can be
    read only once (a RecordBatchReader) are spooled to a temporary Arrow file on the first pass.
    """
    if isinstance(targets, str):
        targets = [targets]
    if not targets:
        raise UsageError("no target given")
    resolved = resolve_all(targets, config, FileOptions(file_format, compression))
    runs = [(r, options(**kwargs, defaults=r.target)) for r in resolved]
    report = Report(load_id or new_load_id())
    mapped = bool(table_mappings) or _mapped_anywhere(resolved)
    dataset = _dataset(data, table, mapped)
    for path in {o.rejects_path for _, o in runs if o.rejects_path}:  # this load's rejects only
        with open(path, "w", encoding="utf-8"):
            pass
    with tracked(report.load_id, RunKind.LOAD, [r.name for r in resolved], cancel) as run:
        with dataset.spooled() if len(targets) > 1 or mapped else dataset as ds:
            for target, opts in runs:
                cut = _mapped(ds, target, tables, table_mappings)
                report.targets.append(_load_one(cut, target, opts, report.load_id, progress, run.cancel))
        run.report = report
    return report


def _dataset(data: Any, table: str | None, mapped: bool) -> Dataset:
    """The input as a dataset; a single unnamed input that mappings cut up is called ``extract``."""
    try:
        return as_dataset(data, table=table)
    except UsageError:
        if not mapped or table is not None:
            raise
        return as_dataset(data, table="extract")


def _mapped_anywhere(resolved: Sequence[ResolvedTarget]) -> bool:
    return any(r.target is not None and r.target.table_mappings for r in resolved)


def _mapped(
    ds: Dataset, target: ResolvedTarget, tables: Sequence[str] | None, table_mappings: Mapping[str, Any] | None
) -> Dataset:
    """The dataset as this target's table mappings cut it (given ones first, else the target's own)."""
    from laden.mapping import for_target, parse_mappings

    own = target.target
    given = parse_mappings(table_mappings) if table_mappings else None
    mappings = given if given is not None else dict(own.table_mappings) if own is not None else {}
    order = list(tables or (own.tables if own is not None and mappings else ()))
    return for_target(ds, mappings, order, target)


def load_untracked(
    data: Any,
    target: ResolvedTarget,
    opts: LoadOptions,
    *,
    table: str | None = None,
    load_id: str | None = None,
    cancel: CancelToken | None = None,
) -> TargetReport:
    """One load with options built by the caller, not recorded as a run of its own (a backfill
    window: the backfill is the run)."""
    with as_dataset(data, table=table) as ds:
        return _load_one(ds, target, opts, load_id or new_load_id(), None, cancel)


def _load_one(
    ds: Dataset,
    target: ResolvedTarget,
    opts: LoadOptions,
    load_id: str,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
) -> TargetReport:
    if target.kind is TargetKind.FILE:
        from laden.files import FileTarget

        return FileTarget(target.spec, name=target.name).load(ds, opts, load_id, progress=progress, cancel=cancel)
    if target.kind is TargetKind.HTTP:
        from laden.http import HttpTarget

        return HttpTarget(target.spec, name=target.name).load(ds, opts, load_id, progress=progress, cancel=cancel)
    backend = backend_for(target.url, name=target.name, namespace=target.namespace)
    run = TargetLoad(ds, backend, opts, load_id, progress=progress, cancel=cancel)
    result = run.run()
    result.rejects = run.rejects
    return result


def resolve_all(
    specs: Sequence[str], config: ConfigSpec = None, files: FileOptions | None = None
) -> list[ResolvedTarget]:
    """Each target spec (URL, path, target or datasource name) resolved; the first bad one raises."""
    cfg = _config(config, specs)
    return [resolve(spec, cfg, files) for spec in specs]


def _database(resolved: ResolvedTarget, what: str) -> ResolvedTarget:
    if resolved.kind is not TargetKind.DATABASE:
        raise UsageError(f"{resolved.name} is a {resolved.kind.value} target; {what} works on databases only")
    return resolved


def plan(
    data: Any,
    target: str,
    *,
    table: str | None = None,
    config: ConfigSpec = None,
    tables: Sequence[str] | None = None,
    table_mappings: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> LoadPlan:
    """What :func:`load` would do, without writing anything (``--dry-run``)."""
    [resolved] = resolve_all([target], config)
    _database(resolved, "--dry-run")
    opts = options(**kwargs, defaults=resolved.target)
    dataset = _mapped(_dataset(data, table, bool(table_mappings)), resolved, tables, table_mappings)
    backend = backend_for(resolved.url, name=resolved.name, namespace=resolved.namespace)
    backend.connect()
    try:
        schema = backend.reflect(row_counts=RowCounts.ESTIMATE)
    finally:
        backend.close()
    sources = {n: t.schema() for n, t in dataset.tables.items()}
    built = build_plan(sources, schema, opts, backend.caps, target=backend.name, engine=backend.engine.value)
    planned = tuple(dataclasses.replace(tp, source_rows=dataset.tables[tp.name].rows()) for tp in built.tables)
    mapped = [f"mapping {t.mapping.describe()}" for t in dataset.tables.values() if t.mapping is not None]
    return dataclasses.replace(built, tables=planned, notes=(*built.notes, *mapped))


def inspect(
    target: str,
    *,
    tables: Sequence[str] | None = None,
    row_counts: str | RowCounts = RowCounts.EXACT,
    config: ConfigSpec = None,
) -> Schema:
    """Reflect the target's tables: columns, keys, FKs, unique constraints, indexes, row counts."""
    counts = row_counts if isinstance(row_counts, RowCounts) else RowCounts(row_counts)
    [resolved] = resolve_all([target], config)
    _database(resolved, "inspect")
    backend = backend_for(resolved.url, name=resolved.name, namespace=resolved.namespace)
    backend.connect()
    try:
        return backend.reflect(tables, counts)
    finally:
        backend.close()


def query(
    sql: str,
    *,
    datasource: str,
    database: str | None = None,
    params: Sequence[Any] | None = None,
    write: bool = False,
    limit: int | None = None,
    timeout: float = 30.0,
    config: ConfigSpec = None,
) -> QueryResult:
    """Run ``sql`` on a datasource (a name from ``laden.yaml``, a target name, or a URL).

    Unqualified table names resolve in ``database`` (PostgreSQL / DuckDB schema, MySQL
    database; a named target's own database by default). Read-only unless ``write=True``;
    ``timeout`` seconds per statement. Never raises for a database error: check
    ``result.success`` and ``result.error``.
    """
    from laden.pool import PoolConfig, pool_for
    from laden.queries import run_query

    [resolved] = resolve_all([datasource], config)
    _database(resolved, "query")
    namespace = database or resolved.namespace
    ds = resolved.datasource
    if ds is not None and database and ds.databases and database not in ds.databases:
        raise UsageError(
            f"{database!r} is not a database of datasource {ds.name!r} (its databases: {', '.join(ds.databases)})"
        )
    pool = pool_for(ds.name if ds else resolved.url, resolved.url, ds.pool if ds else PoolConfig(), name=resolved.name)
    return run_query(
        resolved.url, sql, database=namespace, params=params, write=write, limit=limit, timeout=timeout, pool=pool
    )
