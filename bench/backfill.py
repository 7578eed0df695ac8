"""A backfill with 1 and with 2 workers: wall time of ``laden backfill run`` into PostgreSQL.

    python -m bench.backfill [--rows 4000000] [--window 500000rows] [--repeat 3] [--no-record]

The source is one Parquet file of ``--rows`` rows (the 8-column table of ``python -m bench``),
made once; the target a fresh ``t`` in a throwaway PostgreSQL database (or the server of
``$LADEN_TEST_POSTGRES_URL``). Each repetition runs the whole CLI process with ``--parallel 1``
and then ``--parallel 2`` (alternating), into an empty table, and is checked: the table holds
exactly ``--rows`` rows afterwards. Reported: median seconds, rows/s, and the speed-up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import report
from bench.data import dataset
from bench.targets import TABLE, open_targets


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.backfill", description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=4_000_000)
    p.add_argument("--window", default="500000rows")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-record", action="store_true")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="laden-bench-backfill-") as tmp:
        work = Path(tmp)
        source = dataset(work, args.rows)
        with open_targets(["postgresql"], work) as targets:
            target = targets["postgresql"]
            times: dict[int, list[float]] = {1: [], 2: []}
            for rep in range(args.repeat):
                for workers in (1, 2) if rep % 2 == 0 else (2, 1):
                    target.reset()  # an empty table, checkpointed
                    manifest = work / f"m-{rep}-{workers}.json"
                    cmd = [sys.executable, "-m", "laden.cli", "backfill", "run", str(source), "--to", target.url,
                           "--table", TABLE, "--window-by", "id", "--window", args.window,
                           "--parallel", str(workers), "--manifest", str(manifest)]  # fmt: skip
                    env = {**os.environ, "LADEN_STATE_DIR": str(work / "state")}
                    started = time.perf_counter()
                    subprocess.run(cmd, check=True, capture_output=True, env=env)
                    elapsed = time.perf_counter() - started
                    count = target.count()
                    if count != args.rows:
                        raise SystemExit(f"the table holds {count} rows after the run, not {args.rows}")
                    times[workers].append(elapsed)
                    print(f"# {workers} worker(s): {elapsed:.2f} s", file=sys.stderr)
            version = target.version()
    med = {w: statistics.median(t) for w, t in times.items()}
    rows = [[str(w), f"{med[w]:.2f}", f"{args.rows / med[w]:,.0f}", f"{med[1] / med[w]:.2f}x"] for w in (1, 2)]
    table = report.markdown_table(["workers", "median s", "rows/s", "speed-up"], rows)
    title = f"backfill of {args.rows:,} rows into PostgreSQL, windows of {args.window}, median of {args.repeat}"
    print(f"{title}\n\n{table}")
    if not args.no_record:
        report.append_results([(title, table)], report.environment({"postgresql": version}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
