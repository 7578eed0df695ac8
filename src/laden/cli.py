"""The ``laden`` command: parse, call the library, render. Nothing else lives here.

Exit codes: 0 every target ok, 1 a target failed or was cancelled, 2 usage error
(bad option, unreadable source, unknown table).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from laden import api, demo
from laden.errors import LadenError, SchemaMismatchError, SourceError, UnsupportedError, UsageError
from laden.progress import CancelToken, EventKind, ProgressEvent, new_load_id
from laden.report import Report
from laden.schema import Schema
from laden.urls import mask_url

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="laden", description="Load datasets into databases in FK order, atomically.")
    p.add_argument("--version", action="version", version=f"laden {_version()}")
    sub = p.add_subparsers(dest="command", required=True)

    ld = sub.add_parser("load", help="load files or directories into one or more targets")
    ld.add_argument("sources", nargs="+", metavar="SOURCE", help="CSV / Parquet / JSON Lines files or directories")
    ld.add_argument(
        "--to", dest="targets", action="append", required=True, metavar="URL", help="target URL (repeatable)"
    )
    ld.add_argument("--table", help="target table name when one source is given (default: the file stem)")
    ld.add_argument("--strategy", default="append", choices=["append", "truncate_insert", "upsert"])
    ld.add_argument("--key", action="append", default=[], metavar="TABLE=COL[,COL]", help="upsert keys (repeatable)")
    ld.add_argument("--batch-size", type=int, default=100_000, metavar="N")
    ld.add_argument("--on-error", default="fail", choices=["fail", "reject"])
    ld.add_argument("--rejects", metavar="PATH", help="rejects file (JSON Lines); default laden-rejects-<id>.jsonl")
    ld.add_argument("--max-rejects", type=int, metavar="N")
    ld.add_argument("--cascade", action="store_true", help="truncate_insert may clear tables referencing the dataset")
    ld.add_argument("--dry-run", action="store_true", help="print the plan per target, load nothing")
    ld.add_argument("--json", action="store_true", help="print only the report, as JSON, on stdout")

    ins = sub.add_parser("inspect", help="show a target's tables, keys and row counts")
    ins.add_argument("target", metavar="URL")
    ins.add_argument("--table", action="append", dest="tables", metavar="NAME")
    ins.add_argument("--json", action="store_true")

    dm = sub.add_parser("demo", help="load a small shop with FKs into an embedded SQLite file")
    dm.add_argument("--db", default="laden-demo.db", metavar="PATH", help="SQLite file (default laden-demo.db)")
    dm.add_argument("--json", action="store_true")
    return p


def _version() -> str:
    from laden import __version__

    return __version__


def _keys(specs: Sequence[str]) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for spec in specs:
        table, eq, cols = spec.partition("=")
        if not eq or not table or not cols:
            raise UsageError(f"--key {spec!r}: expected TABLE=COL[,COL]")
        keys[table] = [c for c in cols.split(",") if c]
    return keys


class Progress:
    """One status line on stderr, redrawn in place, only when stderr is a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.last = 0.0

    def __call__(self, event: ProgressEvent) -> None:
        now = time.monotonic()
        if event.kind is EventKind.ROWS_WRITTEN and now - self.last < 0.2:
            return
        self.last = now
        if event.kind is EventKind.LOAD_FINISHED:
            self.stream.write("\r\033[K")
        elif event.table:
            self.stream.write(f"\r\033[K{event.target}: {event.table}: {event.rows:,} rows")
        self.stream.flush()


def _render_schema(schema: Schema) -> str:
    lines = []
    for t in schema.tables:
        count = "" if t.row_count is None else f"  ({t.row_count:,} rows)"
        lines.append(f"{t.name}{count}")
        for c in t.columns:
            flags = [] if c.nullable else ["NOT NULL"]
            if c.name in t.primary_key:
                flags.append("PK")
            if c.default is not None:
                flags.append(f"DEFAULT {c.default}")
            lines.append(f"  {c.name:<24} {c.type:<28} {' '.join(flags)}".rstrip())
        for fk in t.foreign_keys:
            lines.append(f"  FK {fk.describe(t.name)}" + (" DEFERRABLE" if fk.deferrable else ""))
        for u in t.unique_constraints:
            lines.append(f"  UNIQUE ({', '.join(u.columns)})")
        for i in t.indexes:
            lines.append(f"  {'UNIQUE ' if i.unique else ''}INDEX {i.name} ({', '.join(i.columns)})")
    return "\n".join(lines)


def _schema_dict(schema: Schema) -> dict[str, Any]:
    from dataclasses import asdict

    out = asdict(schema)
    for t in out["tables"]:
        for c in t["columns"]:
            c["kind"] = c["kind"].value
    return out


def _load(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    kwargs: dict[str, Any] = {
        "strategy": args.strategy,
        "keys": _keys(args.key),
        "batch_size": args.batch_size,
        "on_error": args.on_error,
        "max_rejects": args.max_rejects,
        "cascade": args.cascade,
    }
    data: Any = args.sources if len(args.sources) > 1 else args.sources[0]
    if args.dry_run:
        for target in args.targets:
            plan = api.plan(data, target, table=args.table, **kwargs)
            out.write(plan.describe() + "\n")
        return EXIT_OK
    load_id = new_load_id()
    if args.on_error == "reject":
        kwargs["rejects"] = args.rejects or f"laden-rejects-{load_id}.jsonl"
    cancel = _cancel_on_signals(err)
    progress = Progress(err) if err.isatty() and not args.json else None
    report = api.distribute(
        data, args.targets, table=args.table, progress=progress, cancel=cancel, load_id=load_id, **kwargs
    )
    _render_report(report, args.json, out)
    return EXIT_OK if report.ok else EXIT_FAILED


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


def _render_report(report: Report, as_json: bool, out: TextIO) -> None:
    out.write((report.to_json() if as_json else str(report)) + "\n")


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parser().parse_args(argv)
    try:
        if args.command == "load":
            return _load(args, out, err)
        if args.command == "inspect":
            schema = api.inspect(args.target, tables=args.tables)
            out.write((json.dumps(_schema_dict(schema), indent=2) if args.json else _render_schema(schema)) + "\n")
            return EXIT_OK
        path = os.path.abspath(args.db)
        report = demo.run(path)
        _render_report(report, args.json, out)
        if not args.json:
            out.write(f"\nloaded into {path}; look inside with: sqlite3 {args.db} 'SELECT * FROM orders LIMIT 5'\n")
        return EXIT_OK if report.ok else EXIT_FAILED
    except (UsageError, SourceError, SchemaMismatchError, UnsupportedError) as exc:
        err.write(f"laden: error: {mask_url(str(exc))}\n")
        return EXIT_USAGE
    except LadenError as exc:
        err.write(f"laden: error: {mask_url(str(exc))}\n")
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
