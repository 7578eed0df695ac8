"""The command line: every command, option and help text, and nothing that runs."""

from __future__ import annotations

import argparse

EPILOG = """\
targets:
  A target is a database URL (postgresql://user@host/db, mysql://..., sqlite:///file.db,
  duckdb:///file.duckdb), a directory or object-storage URL for files (out/, s3://bucket/p/),
  an HTTP endpoint (https://api.example.com/{table}), or the name of a target or datasource
  in laden.yaml (found with --config PATH, $LADEN_CONFIG, or ./laden.yaml).

exit codes:
  0  everything succeeded
  1  a load, query or check failed (target unreachable, bad rows, cancelled)
  2  usage or configuration error (bad option, unreadable source, unknown table or name)

--json on any command prints one JSON document on stdout and nothing else there.
Passwords are never printed; --debug adds tracebacks (still without them).
"""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    _common_options(common, argparse.SUPPRESS)
    p = argparse.ArgumentParser(
        prog="laden",
        description="Load datasets into databases, files and APIs in FK order, atomically, at bulk speed.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"laden {_version()}")
    _common_options(p, None)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _load(sub.add_parser("load", parents=[common], help="load files or directories into one or more targets"))
    _inspect(sub.add_parser("inspect", parents=[common], help="show a target's tables, keys, load order"))
    _query(sub.add_parser("query", parents=[common], help="run a SQL query against a datasource (read-only)"))
    _model(sub.add_parser("model", parents=[common], help="export a table as a typed model"))
    _generate(sub.add_parser("generate", parents=[common], help="generate synthetic data and load it"), common)
    cfg = sub.add_parser("config", parents=[common], help="work with laden.yaml")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = cfg_sub.add_parser("check", parents=[common], help="validate laden.yaml and reach every datasource")
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    _backfill(sub.add_parser("backfill", parents=[common], help="plan, validate and run windowed loads"), common)
    _runs(sub.add_parser("runs", parents=[common], help="loads and backfills: list, show, cancel"), common)
    dm = sub.add_parser("demo", parents=[common], help="generate a small retail dataset into SQLite and check it")
    dm.add_argument("--db", default="laden-demo.db", metavar="PATH", help="SQLite file (default laden-demo.db)")
    dm.add_argument("--scale", type=float, default=0.01, help="1 = about 1M customers (default 0.01)")
    dm.add_argument("--seed", type=int, default=0)
    dm.add_argument("--json", action="store_true")
    return p


def _common_options(p: argparse.ArgumentParser, default: object) -> None:
    """Accepted before and after the command: ``laden --debug load ...`` and ``laden load ... --debug``."""
    p.add_argument("--config", metavar="PATH", default=default, help="laden.yaml to use")
    p.add_argument("--debug", action="store_true", default=default, help="show tracebacks on errors")


def _load(ld: argparse.ArgumentParser) -> None:
    ld.add_argument("sources", nargs="+", metavar="SOURCE", help="CSV / Parquet / JSON Lines files or directories")
    ld.add_argument(
        "--to", dest="targets", action="append", required=True, metavar="TARGET", help="URL or name (repeatable)"
    )
    ld.add_argument("--table", help="target table name when one source is given (default: the file stem)")
    ld.add_argument("--strategy", choices=["append", "truncate_insert", "upsert"], help="default: append")
    ld.add_argument("--key", action="append", default=[], metavar="TABLE=COL[,COL]", help="upsert keys (repeatable)")
    ld.add_argument("--batch-size", type=int, metavar="N", help="rows per batch (default 100000)")
    ld.add_argument("--on-error", choices=["fail", "reject"], help="default: fail")
    ld.add_argument("--rejects", metavar="PATH", help="rejects file (JSON Lines); default laden-rejects-<id>.jsonl")
    ld.add_argument("--max-rejects", type=int, metavar="N")
    ld.add_argument("--cascade", action="store_true", help="truncate_insert may clear tables referencing the dataset")
    ld.add_argument("--dry-run", action="store_true", help="print the plan per target, load nothing")
    ld.add_argument("--format", choices=["parquet", "csv", "jsonl", "json"], help="file targets (default parquet)")
    ld.add_argument("--compression", metavar="CODEC", help="file targets: snappy, zstd, gzip, none")
    ld.add_argument("--json", action="store_true", help="print only the report (or plan), as JSON, on stdout")


def _inspect(ins: argparse.ArgumentParser) -> None:
    ins.add_argument("target", metavar="TARGET", help="URL, or a target or datasource name from laden.yaml")
    ins.add_argument("--table", action="append", dest="tables", metavar="NAME", help="only this table (repeatable)")
    ins.add_argument("--json", action="store_true")


def _query(q: argparse.ArgumentParser) -> None:
    q.add_argument("sql", metavar="SQL")
    q.add_argument(
        "--datasource", "--to", dest="datasource", required=True, metavar="NAME", help="datasource, target or URL"
    )
    q.add_argument("--database", metavar="DB", help="logical database: PostgreSQL/DuckDB schema, MySQL database")
    fmt = q.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the result as JSON")
    fmt.add_argument("--csv", action="store_true", help="print the rows as CSV with a header")
    q.add_argument("--limit", type=int, metavar="N", help="fetch at most N rows")
    q.add_argument("--write", action="store_true", help="allow statements that write (default: read-only)")
    q.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS", help="statement timeout (default 30)")


def _generate(g: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    kinds = g.add_subparsers(dest="dataset", required=True, metavar="DATASET")
    r = kinds.add_parser("retail", parents=[common], help="a retail chain: places, stores, customers, products, stock")
    r.add_argument("--scale", type=float, default=0.01, help="1 = about 1M customers (default 0.01)")
    r.add_argument("--seed", type=int, default=0, help="same scale + seed + version = the same bytes (default 0)")
    r.add_argument(
        "--to", dest="targets", action="append", required=True, metavar="TARGET", help="URL, path or name (repeatable)"
    )
    r.add_argument("--create", action="store_true", help="create the tables (with PKs and FKs) in database targets")
    r.add_argument("--workers", type=int, metavar="N", help="generator processes (default: one per core)")
    r.add_argument("--format", choices=["parquet", "csv", "jsonl", "json"], help="file targets (default parquet)")
    r.add_argument("--json", action="store_true", help="print only the report, as JSON")
    f = kinds.add_parser("schema", parents=[common], help="rows that satisfy a reflected schema's keys and checks")
    f.add_argument("--from", dest="source", required=True, metavar="TARGET", help="the database to reflect")
    f.add_argument(
        "--rows", action="append", default=[], metavar="N|TABLE=N", help="rows per table (repeatable; default 1000)"
    )
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--locale", default="en_US", help="names, streets, phones (en_US, de_DE)")
    f.add_argument("--table", action="append", dest="tables", metavar="NAME", help="only these tables (repeatable)")
    f.add_argument(
        "--to", dest="targets", action="append", default=[], metavar="TARGET", help="where to load (default: --from)"
    )
    f.add_argument("--json", action="store_true", help="print only the report, as JSON")


def _backfill(b: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    actions = b.add_subparsers(dest="backfill_command", required=True, metavar="ACTION")
    helps = {
        "plan": "the windows, their row counts and estimated durations",
        "validate": "check a seeded sample against laden.yaml's validation rules",
        "run": "load the windows in parallel, with a manifest; --resume continues",
    }
    for name, text in helps.items():
        a = actions.add_parser(name, parents=[common], help=text)
        a.add_argument(
            "source", metavar="SOURCE", help="files (dir, glob, s3://...), a database, or generate:retail?scale="
        )
        a.add_argument("--to", dest="targets", action="append", required=True, metavar="TARGET", help="database")
        a.add_argument("--table", required=True, metavar="NAME", help="the target table")
        a.add_argument("--window-by", required=True, metavar="COLUMN", help="a number, date or timestamp column")
        a.add_argument("--window", required=True, metavar="SIZE", help="100000rows | 1000 | 1d, 6h, 1mo ...")
        a.add_argument("--source-table", metavar="NAME", help="SOURCE is a database: read this table")
        a.add_argument("--source-query", metavar="SQL", help="SOURCE is a database: read this query")
        a.add_argument(
            "--strategy",
            choices=["replace", "upsert"],
            default="replace",
            help="replace: delete the window's range and insert (default); upsert: merge on keys",
        )
        a.add_argument("--key", metavar="COL[,COL]", help="upsert keys (default: the primary key)")
        a.add_argument("--parallel", type=int, default=2, metavar="N", help="windows at once (default 2)")
        a.add_argument("--retries", type=int, default=2, metavar="N", help="retries of a failed window (default 2)")
        a.add_argument("--batch-size", type=int, default=100_000, metavar="N")
        a.add_argument("--on-error", choices=["fail", "reject"], default="fail")
        a.add_argument("--cluster", metavar="ADDRESS", help="a Dask scheduler, e.g. tcp://host:8786")
        a.add_argument(
            "--manifest", metavar="PATH", help="run: the manifest to write (default laden-backfill-TABLE.json)"
        )
        a.add_argument("--resume", metavar="PATH", help="run: continue the run whose manifest this is")
        a.add_argument("--mirror", metavar="TABLE", help="run: also record the windows in this table of the target")
        a.add_argument("--spool", metavar="DIR", help="generator sources: where the generated rows are kept")
        a.add_argument("--seed", type=int, default=0, help="row windows: the sample their bounds come from")
        a.add_argument("--json", action="store_true")


def _runs(r: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    actions = r.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    ls = actions.add_parser("list", parents=[common], help="recorded runs, newest first")
    ls.add_argument("--active", action="store_true", help="only runs still going")
    ls.add_argument("--limit", type=int, default=50, metavar="N", help="at most N runs (default 50)")
    ls.add_argument("--json", action="store_true")
    show = actions.add_parser("show", parents=[common], help="one run: status, rows, times, error")
    show.add_argument("id", metavar="ID")
    show.add_argument("--json", action="store_true")
    cancel = actions.add_parser("cancel", parents=[common], help="ask a running load (any process) to stop")
    cancel.add_argument("id", metavar="ID")
    cancel.add_argument("--json", action="store_true")


def _model(m: argparse.ArgumentParser) -> None:
    m.add_argument("target", metavar="TARGET", help="URL, or a target or datasource name from laden.yaml")
    m.add_argument("--table", required=True, metavar="NAME")
    m.add_argument("--format", required=True, choices=["jsonschema", "pydantic", "sqlalchemy", "pure"])
    m.add_argument("--constraint", action="append", default=[], metavar="EXPR", help="e.g. 'qty > 0' (repeatable)")
    m.add_argument("--output", "-o", metavar="PATH", help="write to PATH instead of stdout")
    m.add_argument("--json", action="store_true", help="print {table, format, model} as JSON")


def _version() -> str:
    from laden import __version__

    return __version__
