"""One function per command: arguments in, a library call, rendered output, an exit code."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from laden import api, check, demo
from laden.cli import render
from laden.config import Config, load_config
from laden.errors import LadenError, UsageError
from laden.plan import OnError
from laden.progress import CancelToken, ProgressCallback, new_load_id
from laden.resolve import FileOptions, kind_of, needs_config
from laden.urls import DatabaseURL, scrub

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Context:
    """The parsed arguments, the output streams, and the configuration when a name needs it."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.args = args
        self.out = out
        self.err = err
        self.debug: bool = bool(getattr(args, "debug", False))
        self._config: Config | None = None
        self._secrets: list[str] = []
        for spec in _specs(args):
            if kind_of(spec) is not None:
                with contextlib.suppress(LadenError):  # a bad URL is reported by the command itself
                    self._secrets.extend(DatabaseURL.parse(spec).secrets())

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(getattr(self.args, "config", None))
            for ds in self._config.datasources.values():
                self._secrets.extend(ds.url().secrets())
            for t in self._config.targets.values():
                self._secrets.extend(t.spec.secrets() if t.spec is not None else ())
        return self._config

    def config_for(self, specs: Sequence[str]) -> Config | None:
        """The configuration if any spec is a name (or --config was given), else None."""
        if getattr(self.args, "config", None) or needs_config(list(specs)):
            return self.config
        return None

    def hide(self, secrets: Sequence[str]) -> None:
        """Never print these (tokens and keys of file and HTTP targets)."""
        self._secrets.extend(secrets)

    def scrub(self, text: str) -> str:
        return scrub(text, tuple(self._secrets))

    def emit(self, text: str) -> None:
        self.out.write(self.scrub(text) + "\n")

    def emit_json(self, data: Any) -> None:
        self.emit(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def _specs(args: argparse.Namespace) -> list[str]:
    specs = list(getattr(args, "targets", None) or [])
    for attr in ("target", "datasource"):
        value = getattr(args, attr, None)
        if isinstance(value, str):
            specs.append(value)
    return specs


# -- load ---------------------------------------------------------------------------------------


def _keys(specs: Sequence[str]) -> dict[str, list[str]]:
    """``--key TABLE=COL[,COL]``, repeatable; a name holding ``=``, ``,`` or ``"`` is written in
    double quotes with ``"`` doubled, as in CSV: ``--key '"a=b"="x,y",z'``."""
    keys: dict[str, list[str]] = {}
    for spec in specs:
        names = _names(spec)
        if names is None or len(names) < 2 or names[0][1] != "=" or any(sep != "," for _, sep in names[1:-1]):
            raise UsageError(
                f'--key {spec!r}: expected TABLE=COL[,COL]; write a name holding = , or " in double quotes, '
                'with " doubled (--key \'"a=b"="x,y"\')'
            )
        keys.setdefault(names[0][0], []).extend(name for name, _ in names[1:])
    return keys


def _names(text: str) -> list[tuple[str, str]] | None:
    """``text`` split at ``=`` and ``,`` outside double quotes: (name, separator after it) pairs.
    None when a name is empty or a quote is not closed."""
    out: list[tuple[str, str]] = []
    i = 0
    while True:
        if text.startswith('"', i):
            end = i + 1
            while True:
                end = text.find('"', end)
                if end < 0:
                    return None
                if not text.startswith('"', end + 1):
                    break
                end += 2
            name, i = text[i + 1 : end].replace('""', '"'), end + 1
        else:
            j = min((k for k in (text.find("=", i), text.find(",", i)) if k >= 0), default=len(text))
            name, i = text[i:j], j
        if not name or (i < len(text) and text[i] not in "=,"):
            return None
        out.append((name, text[i : i + 1]))
        if i >= len(text):
            return out
        i += 1


def load(ctx: Context) -> int:
    args = ctx.args
    kwargs: dict[str, Any] = {
        "strategy": args.strategy,
        "keys": _keys(args.key),
        "batch_size": args.batch_size,
        "on_error": args.on_error,
        "max_rejects": args.max_rejects,
        "cascade": args.cascade,
    }
    config = ctx.config_for(args.targets)
    data: Any = args.sources if len(args.sources) > 1 else args.sources[0]
    if args.dry_run:
        plans = [api.plan(data, t, table=args.table, config=config, **kwargs) for t in args.targets]
        if args.json:
            ctx.emit_json({"plans": [render.plan_dict(p) for p in plans]})
        else:
            ctx.emit("\n\n".join(p.describe() for p in plans))
        return EXIT_OK
    load_id = new_load_id()
    files = FileOptions(args.format, args.compression)
    resolved = api.resolve_all(args.targets, config, files)
    for r in resolved:
        ctx.hide(r.spec.secrets() if r.spec is not None else ())
    modes = {args.on_error or (r.target and r.target.on_error) for r in resolved}
    if "reject" in modes or OnError.REJECT in modes:
        kwargs["rejects"] = args.rejects or f"laden-rejects-{load_id}.jsonl"
    cancel = _cancel_on_signals(ctx.err)
    with progress_for(ctx.err, enabled=not args.json) as progress:
        report = api.distribute(
            data, args.targets, table=args.table, progress=progress, cancel=cancel, load_id=load_id, config=config,
            file_format=args.format, compression=args.compression, **kwargs,
        )  # fmt: skip
    ctx.emit(report.to_json() if args.json else str(report))
    return EXIT_OK if report.ok else EXIT_FAILED


@contextlib.contextmanager
def progress_for(stream: TextIO, *, enabled: bool = True) -> Iterator[ProgressCallback | None]:
    """Progress bars on ``stream`` when it is a terminal (and ``enabled``); else None, no output."""
    if not (enabled and stream.isatty()):
        yield None
        return
    from rich.console import Console

    from laden.cli.progress import Bars

    with Bars(Console(file=stream)) as bars:
        yield bars


def _cancel_on_signals(err: TextIO) -> CancelToken:
    """SIGTERM or a first Ctrl-C cancel the load cleanly (rollback, report); a second Ctrl-C kills."""
    cancel = CancelToken()

    def handler(signum: int, _frame: object) -> None:
        err.write("\ncancelling: rolling back (Ctrl-C again to abort at once)\n")
        cancel.cancel()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return cancel


# -- inspect, query, model ----------------------------------------------------------------------------


def inspect(ctx: Context) -> int:
    args = ctx.args
    schema = api.inspect(args.target, tables=args.tables, config=ctx.config_for([args.target]))
    if args.tables:
        missing = [t for t in args.tables if schema.table(t) is None]
        if missing:
            raise UsageError(f"{args.target}: no table {', '.join(map(repr, missing))}")
    if args.json:
        ctx.emit_json(render.schema_dict(schema))
    else:
        ctx.emit(render.schema_text(schema))
    return EXIT_OK


def query(ctx: Context) -> int:
    from laden.queries import QueryResult

    args = ctx.args
    if args.limit is not None and args.limit < 0:
        raise UsageError(f"--limit must be 0 or more (got {args.limit})")
    result: QueryResult = api.query(
        args.sql,
        datasource=args.datasource,
        database=args.database,
        write=args.write,
        limit=args.limit,
        timeout=args.timeout,
        config=ctx.config_for([args.datasource]),
    )
    if args.json:
        ctx.emit_json(result.to_dict())
    elif not result.success:
        ctx.err.write(f"laden: error: {ctx.scrub(result.error or 'the query failed')}\n")
    elif args.csv:
        result.to_csv(ctx.out)
    else:
        ctx.emit(render.query_text(result))
    return EXIT_OK if result.success else EXIT_FAILED


def model(ctx: Context) -> int:
    from laden.export import model as export_model

    args = ctx.args
    text = export_model(
        args.target, args.table, format=args.format, constraints=args.constraint, config=ctx.config_for([args.target])
    )
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    if args.json:
        ctx.emit_json({"table": args.table, "format": args.format, "model": text, "output": args.output})
    elif not args.output:
        ctx.out.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


# -- generate -----------------------------------------------------------------------------------------


def generate(ctx: Context) -> int:
    args = ctx.args
    if args.dataset == "schema":
        return _generate_schema(ctx)
    from laden.generate import generate_retail

    config = ctx.config_for(args.targets)
    for r in api.resolve_all(args.targets, config, FileOptions(args.format)):
        ctx.hide(r.spec.secrets() if r.spec is not None else ())
    cancel = _cancel_on_signals(ctx.err)
    with progress_for(ctx.err, enabled=not args.json) as progress:
        report = generate_retail(
            args.scale, args.seed, args.targets, create=args.create, workers=args.workers, progress=progress,
            cancel=cancel, config=config, file_format=args.format,
        )  # fmt: skip
    ctx.emit(report.to_json() if args.json else str(report))
    return EXIT_OK if report.ok else EXIT_FAILED


def _rows(specs: Sequence[str]) -> int | dict[str, int]:
    """``--rows 500`` for every table, ``--rows orders=5000`` for one (the rest take the plain number or 1000)."""
    default, per_table = 1000, {}
    for spec in specs:
        table, eq, count = spec.rpartition("=")
        if not count.isdigit() or (eq and not table):
            raise UsageError(f"--rows {spec!r}: expected N or TABLE=N")
        if eq:
            per_table[table] = int(count)
        else:
            default = int(count)
    return {"*": default, **per_table} if per_table else default


def _generate_schema(ctx: Context) -> int:
    from laden.generate.from_schema import generate_from_schema

    args = ctx.args
    targets = args.targets or [args.source]
    config = ctx.config_for([args.source, *targets])
    overrides = ctx.config.generators  # from ./laden.yaml too when --from and --to are URLs
    cancel = _cancel_on_signals(ctx.err)
    with progress_for(ctx.err, enabled=not args.json) as progress:
        report = generate_from_schema(
            args.source, targets, rows=_rows(args.rows), seed=args.seed, locale=args.locale, config=config,
            progress=progress, cancel=cancel, tables=args.tables, overrides=overrides,
        )  # fmt: skip
    ctx.emit(report.to_json() if args.json else str(report))
    return EXIT_OK if report.ok else EXIT_FAILED


# -- config, demo -----------------------------------------------------------------------------------


def config(ctx: Context) -> int:
    result = check.check_config(getattr(ctx.args, "config", None))
    for r in (*result.datasources, *result.targets):
        r.errors = [ctx.scrub(e) for e in r.errors]
    if ctx.args.json:
        ctx.emit_json(result.to_dict())
    else:
        ctx.emit(render.config_check_text(result))
    if result.problems:
        return EXIT_USAGE
    return EXIT_OK if result.valid else EXIT_FAILED


def run_demo(ctx: Context) -> int:
    args = ctx.args
    with progress_for(ctx.err, enabled=not args.json) as progress:
        result = demo.run(args.db, scale=args.scale, seed=args.seed, progress=progress)
    if args.json:
        integrity = result.integrity.to_dict() if result.integrity else None
        ctx.emit_json({"report": result.report.to_dict(), "integrity": integrity})
    else:
        ctx.emit(str(result.report))
        if result.integrity is not None:
            ctx.emit("\n" + str(result.integrity))
            ctx.emit(f"\nlook inside with: sqlite3 {args.db} 'SELECT * FROM customers LIMIT 5'")
    return EXIT_OK if result.ok else EXIT_FAILED


COMMANDS: dict[str, Callable[[Context], int]] = {
    "load": load,
    "inspect": inspect,
    "query": query,
    "model": model,
    "generate": generate,
    "config": config,
    "demo": run_demo,
}
