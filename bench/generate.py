"""Synthetic data to Parquet: laden's retail generator vs ``tpchgen-cli`` at the same row count.

    python -m bench.generate [--scale 1] [--repeat 3] [--workers 1,2] [--memory] [--no-record]

Each repetition runs, alternating, as whole processes (interpreter start-up and imports
included, timed by bench/spawn.py like every other benchmark):

* ``laden (workers=N)``: ``generate_retail(scale, seed=1, [DIR], workers=N)`` — every retail
  table into a fresh directory of Parquet files (snappy), through laden's file target;
* ``tpchgen-cli``: TPC-H in Parquet (snappy, its default, all cores) at the scale factor whose
  row count is closest to laden's (SF1 is 8,661,245 rows; rows/s uses the rows actually written).

rows/s is rows / median seconds. The goal of issue 6: laden >= 1,000,000 rows/s. ``--memory``
adds one run of laden at 4x the scale: peak RSS must not grow with the scale (the data stream
in blocks). Results are appended to bench/RESULTS.md (``--no-record`` to skip).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from bench import report
from bench.runner import ProcessRun, child_env, run_process
from bench.targets import REPO

TPCH_SF1_ROWS = 8_661_245
GOAL_ROWS_PER_S = 1_000_000
LADEN = """
import sys
from laden.generate import generate_retail
report = generate_retail(float(sys.argv[1]), 1, [sys.argv[2]], workers=int(sys.argv[3]))
sys.exit(0 if report.ok else 1)
"""


@dataclass
class Contender:
    name: str
    argv: list[str]
    out: Path
    rows: int = 0
    seconds: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    mib: float = 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def tool_version(tool: str) -> str:
    try:
        return subprocess.run([tool, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "?"


def parquet_rows(directory: Path) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in directory.rglob("*.parquet"))


def run_once(c: Contender, timeout: float) -> ProcessRun:
    shutil.rmtree(c.out, ignore_errors=True)
    if c.name == "tpchgen-cli":
        c.out.mkdir(parents=True)
    run = run_process(c.argv, REPO, child_env(), timeout)
    if run.returncode != 0:
        raise RuntimeError(f"{c.name} failed: {run.output[-1500:]}")
    c.rows = parquet_rows(c.out)
    c.mib = sum(p.stat().st_size for p in c.out.rglob("*.parquet")) / 2**20
    return run


def contenders(scale: float, workers: list[int], work: Path) -> list[Contender]:
    from laden.generate import retail_counts

    rows = sum(retail_counts(scale).values())
    sf = round(rows / TPCH_SF1_ROWS, 3)
    tool = shutil.which("tpchgen-cli") or str(Path(sys.executable).with_name("tpchgen-cli"))
    found = [
        Contender(
            f"laden (workers={w})",
            [sys.executable, "-c", LADEN, f"{scale:g}", str(work / f"laden-{w}"), str(w)],
            work / f"laden-{w}",
        )
        for w in workers
    ]
    out = work / "tpch"
    found.append(Contender("tpchgen-cli", [tool, "parquet", "-s", f"{sf:g}", f"--output-dir={out}"], out))
    return found


def memory_rows(scale: float, work: Path, timeout: float) -> list[list[str]]:
    rows = []
    for s in (scale, 4 * scale):
        c = Contender(
            f"laden scale {s:g}", [sys.executable, "-c", LADEN, f"{s:g}", str(work / "mem"), "1"], work / "mem"
        )
        run = run_once(c, timeout)
        rows.append(
            [
                c.name,
                f"{c.rows:,}",
                f"{run.seconds:.2f}",
                f"{c.rows / run.seconds:,.0f}",
                f"{run.max_rss_kib / 1024:,.0f}",
            ]
        )
        print(f"  memory: {c.name} {run.seconds:.2f} s, peak RSS {run.max_rss_kib / 1024:,.0f} MiB", file=sys.stderr)
    shutil.rmtree(work / "mem", ignore_errors=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--workers", default="1,2", help="comma-separated worker counts for laden (default 1,2)")
    p.add_argument("--memory", action="store_true", help="also run laden at 4x the scale and compare peak RSS")
    p.add_argument("--timeout", type=float, default=3600.0)
    p.add_argument("--cache-dir", type=Path, default=Path(__file__).with_name(".data"))
    p.add_argument("--no-record", action="store_true")
    args = p.parse_args(argv)
    work = args.cache_dir / "generate"
    runs = contenders(args.scale, [int(w) for w in args.workers.split(",")], work)
    try:
        for c in runs:  # warm-up: page cache, imports, the tool's first start
            run_once(c, args.timeout)
        for i in range(args.repeat):
            for c in runs:
                run = run_once(c, args.timeout)
                c.seconds.append(run.seconds)
                c.rss_mib.append(run.max_rss_kib / 1024)
                print(f"  [{i + 1}/{args.repeat}] {c.name:18} {run.seconds:7.2f} s  {c.rows:,} rows", file=sys.stderr)
        memory = memory_rows(args.scale, work, args.timeout) if args.memory else []
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = report.markdown_table(
        ("contender", "rows", "median s", "rows/s", "Parquet MiB", "peak RSS MiB", "note"),
        [
            [c.name, f"{c.rows:,}", f"{c.median:.2f}", f"{c.rows / c.median:,.0f}", f"{c.mib:,.0f}",
             f"{max(c.rss_mib):,.0f}",
             "TPC-H, all cores" if c.name == "tpchgen-cli" else f"retail scale {args.scale:g}, 8 tables"]
            for c in runs
        ],
    )  # fmt: skip
    title = f"synthetic data to Parquet (snappy), ~{runs[0].rows:,} rows, median of {args.repeat}"
    sections = [(title, table)]
    if memory:
        header = ("run", "rows", "seconds", "rows/s", "peak RSS MiB")
        sections.append(
            (
                f"laden generator memory, scale {args.scale:g} vs {4 * args.scale:g}",
                report.markdown_table(header, memory),
            )
        )
    for t, body in sections:
        print(f"\n### {t}\n\n{body}")
    if not args.no_record:
        env = report.environment({"tpchgen-cli": tool_version(runs[-1].argv[0])})
        env["command"] = "python -m bench.generate " + " ".join(argv if argv is not None else sys.argv[1:])
        report.append_results(sections, env)
    best = max(c.rows / c.median for c in runs if c.name.startswith("laden"))
    return 0 if best >= GOAL_ROWS_PER_S else 1


if __name__ == "__main__":
    sys.exit(main())
