"""``laden backfill plan|validate|run``: parse, call laden.backfill, render."""

from __future__ import annotations

import sys
from pathlib import Path

from laden.backfill.manifest import Manifest, WindowEntry
from laden.backfill.run import (
    Backfill,
    BackfillCancelled,
    BackfillIncomplete,
    ValidationFailed,
    WindowWrite,
    backfill_notes,
    plan_backfill,
    run_backfill,
    validate,
)
from laden.backfill.sources import source_spec
from laden.backfill.windows import WindowSpec
from laden.cli.commands import EXIT_FAILED, EXIT_OK, Context
from laden.config import TargetKind, find_config, load_config
from laden.errors import UsageError
from laden.plan import OnError
from laden.resolve import kind_of, resolve
from laden.urls import DatabaseURL


def backfill(ctx: Context) -> int:
    args = ctx.args
    b = _backfill(ctx)
    if args.backfill_command == "plan":
        plan = plan_backfill(b)
        ctx.emit_json(plan.to_dict()) if args.json else ctx.emit(plan.describe())
        return EXIT_OK
    if args.backfill_command == "validate":
        report = validate(b)
        ctx.emit_json(report.to_dict()) if args.json else ctx.emit(report.describe())
        return EXIT_OK if report.ok else EXIT_FAILED
    return _run(ctx, b)


def _backfill(ctx: Context) -> Backfill:
    args = ctx.args
    found = find_config(args.config) if args.config or kind_of(args.targets[0]) is not None else None
    config = load_config(found) if found is not None else ctx.config_for(args.targets)
    if config is not None and ctx._config is None:
        ctx._config = config
        ctx.config  # noqa: B018 - collects the configuration's secrets to scrub
    [target_spec] = args.targets
    target = resolve(target_spec, config)
    if target.kind is not TargetKind.DATABASE:
        raise UsageError(f"{target.name} is a {target.kind.value} target; a backfill loads into a database")
    location, name = args.source, ""
    if args.source_table is not None or args.source_query is not None:
        src = resolve(args.source, config)
        if src.kind is not TargetKind.DATABASE:
            raise UsageError(f"--source-table / --source-query need a database source; {src.name} is not one")
        location, name = src.url, src.name
        ctx.hide(DatabaseURL.parse(src.url).secrets())
    spool = args.spool or str(Path(args.manifest or args.resume or ".").resolve().parent / ".laden-spool")
    spec = source_spec(location, table=args.source_table, query=args.source_query, spool=spool, name=name)
    if spec.kind.value == "generator" and spec.table is None:
        spec = source_spec(location, table=args.table, spool=spool)
    return Backfill(
        source=spec,
        target=target,
        table=args.table,
        window_by=args.window_by,
        window=WindowSpec.parse(args.window),
        write=WindowWrite(args.strategy),
        keys=tuple(k for k in (args.key or "").split(",") if k),
        parallel=args.parallel,
        retries=args.retries,
        batch_size=args.batch_size,
        on_error=OnError(args.on_error),
        cluster=args.cluster,
        validation=(config.validation.get(args.table) if config is not None else None),
        seed=args.seed,
        mirror=args.mirror,
    )


def _run(ctx: Context, b: Backfill) -> int:
    args = ctx.args
    if args.resume and args.manifest and Path(args.resume) != Path(args.manifest):
        raise UsageError("give --manifest PATH for a new run or --resume PATH to continue one, not both")
    path = Path(args.resume or args.manifest or f"laden-backfill-{b.table}.json")

    def on_window(manifest: Manifest, w: WindowEntry) -> None:
        if not args.json:
            done = sum(x.status == "done" for x in manifest.windows)
            what = f"{w.rows_loaded:,} rows in {w.duration_s:.1f} s" if w.status == "done" else f"{w.status}: {w.error}"
            ctx.err.write(ctx.scrub(f"window {w.index} [{done}/{len(manifest.windows)} done]: {what}") + "\n")
            ctx.err.flush()

    before = Manifest.read(path) if args.resume else None
    runs = not before.finished if before is not None else not path.exists()  # else: nothing runs, or an error
    for note in backfill_notes(b) if runs and not args.json else []:
        ctx.err.write(ctx.scrub(f"note: {note}") + "\n")
    try:
        manifest = run_backfill(b, path, resume=bool(args.resume), on_window=on_window)
    except ValidationFailed as exc:
        ctx.emit_json(exc.report.to_dict()) if args.json else None
        raise
    except (BackfillIncomplete, BackfillCancelled):
        _summary(ctx, Manifest.read(path), path)
        raise
    if before is not None and before.finished:
        ctx.err.write(f"{path}: every window is already done; nothing ran and the manifest is unchanged\n")
    _summary(ctx, manifest, path)
    return EXIT_OK


def _summary(ctx: Context, manifest: Manifest, path: Path) -> None:
    if ctx.args.json:
        ctx.emit_json(manifest.to_dict())
        return
    rows = sum(w.rows_loaded for w in manifest.windows)
    done = sum(w.status == "done" for w in manifest.windows)
    ctx.emit(f"backfill {manifest.id}: {manifest.status}, {done}/{len(manifest.windows)} windows, {rows:,} rows "
             f"loaded into {manifest.target} table {manifest.table!r}; manifest {path}")  # fmt: skip


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run it as: laden backfill ...")
