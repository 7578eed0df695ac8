"""``python -m bench``: argument parsing and the order of things."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from bench import data, report
from bench.contenders import for_engine
from bench.runner import Result, Runner, child_env
from bench.scenarios import MEMORY_ENGINES, Sizes, append_jobs, memory_jobs, upsert_jobs
from bench.targets import ENGINES, Target, open_targets

DEFAULT_CACHE = Path(__file__).with_name(".data")


def _engines(value: str) -> list[str]:
    engines = [e.strip() for e in value.split(",") if e.strip()]
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown or not engines:
        raise argparse.ArgumentTypeError(f"unknown engine(s) {unknown}; choose from {','.join(ENGINES)}")
    return engines


def _counts(value: str) -> list[int]:
    return [int(v.replace("_", "")) for v in value.split(",") if v.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--engines", type=_engines, default=list(ENGINES), help="comma-separated (default: all)")
    p.add_argument("--rows", type=int, default=1_000_000, help="rows in the table (default 1,000,000)")
    p.add_argument("--peer-rows", type=int, default=200_000, help="rows for the slow peers (default 200,000)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per contender (default 3)")
    p.add_argument(
        "--headline",
        action="store_true",
        help="append: laden and the raw bulk paths only, no peers (cheap enough for many --repeat)",
    )
    p.add_argument("--upsert", action="store_true", help="run the upsert benchmark (instead of append)")
    p.add_argument("--memory", action="store_true", help="run the memory benchmark (instead of append)")
    p.add_argument("--append", action="store_true", help="run the append benchmark too with --upsert/--memory")
    p.add_argument("--memory-rows", type=_counts, default=[1_000_000, 10_000_000], help="default 1000000,10000000")
    p.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE, help=f"data and work files (default {DEFAULT_CACHE})"
    )
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds before a run is killed (default 1800)")
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout (tables go to stderr)")
    p.add_argument("--no-record", action="store_true", help="do not append to bench/RESULTS.md")
    args = p.parse_args(argv)
    if args.repeat < 1 or args.rows < 2 or args.peer_rows < 1:
        p.error("--repeat, --rows and --peer-rows must be positive (--rows at least 2)")
    args.append = args.append or not (args.upsert or args.memory)
    return args


def prepare_data(args: argparse.Namespace, log: Any) -> None:
    """Generate (or find cached) every file this run needs, before any server starts."""
    started = time.monotonic()
    cache: Path = args.cache_dir
    data.dataset(cache, args.rows)
    if args.append:
        data.dataset(cache, min(args.peer_rows, args.rows))
        if "mysql" in args.engines:
            data.dataset_csv(cache, args.rows)
    if args.upsert:
        data.upsert_dataset(cache, args.rows)
    if args.memory:
        for rows in args.memory_rows:
            data.dataset(cache, rows)
    print(f"# data ready in {cache} ({time.monotonic() - started:.1f} s)", file=log)


def _ordered(engine: str, results: list[Result]) -> list[Result]:
    order = [c.name for c in for_engine(engine)]
    return sorted(results, key=lambda r: order.index(r.name))


def run_benchmarks(args: argparse.Namespace, targets: dict[str, Target], runner: Runner, out: Any) -> dict[str, Any]:
    """Run what was asked for; print each table as soon as it is done; return the results."""
    cache: Path = args.cache_dir
    sections: list[tuple[str, str]] = []
    payload: dict[str, Any] = {}

    def emit(title: str, table: str) -> None:
        sections.append((title, table))
        print(f"\n### {title}\n\n{table}\n", file=out, flush=True)

    if args.append:
        payload["append"] = {}
        for engine, target in targets.items():
            sizes = Sizes(args.rows, args.peer_rows)
            jobs, unavailable = append_jobs(engine, target, cache, sizes, peers=not args.headline)
            results = _ordered(engine, runner.measure(jobs, args.repeat) + unavailable)
            payload["append"][engine] = [r.as_dict() for r in results]
            emit(f"append, {engine}, {args.rows:,} rows, median of {args.repeat}", report.append_table(results))
    if args.upsert:
        pairs: dict[str, list[Result]] = {}
        for engine, target in targets.items():
            pairs[engine] = runner.measure(upsert_jobs(runner, target, cache, args.rows), args.repeat)
        payload["upsert"] = {e: [r.as_dict() for r in rs] for e, rs in pairs.items()}
        emit(f"upsert, {args.rows:,} rows into {args.rows:,}, median of {args.repeat}", report.upsert_table(pairs))
    if args.memory:
        results = []
        for engine in [e for e in MEMORY_ENGINES if e in targets]:
            results += runner.measure(memory_jobs(targets[engine], cache, args.memory_rows), 1, warmup=False)
        payload["memory"] = [r.as_dict() for r in results]
        emit("memory: peak RSS of `laden load` (append), one run each", report.memory_table(results))
    payload["sections"] = sections
    return payload


def _needed_engines(args: argparse.Namespace) -> list[str]:
    """The memory benchmark alone needs no MariaDB (nor DuckDB)."""
    if args.append or args.upsert:
        return list(args.engines)
    return [e for e in args.engines if e in MEMORY_ENGINES]


def _interrupt(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # stop servers and children on SIGTERM as on Ctrl-C
    log = sys.stderr
    out = sys.stderr if args.json else sys.stdout
    prepare_data(args, log)
    workdir = args.cache_dir / "work"
    try:
        with open_targets(_needed_engines(args), workdir, log) as targets:
            env = report.environment({e: t.version() for e, t in targets.items()})
            runner = Runner(workdir, child_env(), args.timeout, log)
            payload = run_benchmarks(args, targets, runner, out)
    except KeyboardInterrupt:
        print("# interrupted; servers stopped, nothing recorded", file=log)
        return 130
    sections = payload.pop("sections")
    if report.source_fingerprint() != env["laden_source"]:
        env["laden_source"] += " (CHANGED during the run: laden's src/ was edited; rerun for clean figures)"
        print("# WARNING: src/laden changed while the benchmark ran", file=log)
    if not args.no_record:
        report.append_results(sections, env)
        print(f"# appended to {report.RESULTS}", file=log)
    if args.json:
        print(json.dumps({"environment": env, **payload}, indent=2))
    return 0
