"""TPC-H into PostgreSQL with every PK and FK declared: laden vs the raw path table by table.

    python -m bench.tpch [--scale 1] [--repeat 3] [--no-record]

The data comes from ``tpchgen-cli`` (the ``bench`` extra) as one Parquet file per table.
Each repetition, on a fresh schema, times as whole processes:

* ``laden load DIR --to URL``: all eight tables, laden puts them in FK order itself;
* the raw path: ADBC binary COPY of each table alone, parents first (so every FK holds),
  one process per table; the figure is the sum of the eight.

The goal of issue 3: laden's time at most 1.2x that sum. Rows in every table are checked.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from bench import report
from bench.runner import child_env, run_process
from bench.targets import REPO

TABLES = ("region", "nation", "part", "supplier", "partsupp", "customer", "orders", "lineitem")  # parents first
DDL = """
CREATE TABLE region (r_regionkey bigint PRIMARY KEY, r_name char(25) NOT NULL, r_comment varchar(152));
CREATE TABLE nation (n_nationkey bigint PRIMARY KEY, n_name char(25) NOT NULL,
  n_regionkey bigint NOT NULL REFERENCES region, n_comment varchar(152));
CREATE TABLE part (p_partkey bigint PRIMARY KEY, p_name varchar(55) NOT NULL, p_mfgr char(25) NOT NULL,
  p_brand char(10) NOT NULL, p_type varchar(25) NOT NULL, p_size integer NOT NULL, p_container char(10) NOT NULL,
  p_retailprice numeric(15,2) NOT NULL, p_comment varchar(23) NOT NULL);
CREATE TABLE supplier (s_suppkey bigint PRIMARY KEY, s_name char(25) NOT NULL, s_address varchar(40) NOT NULL,
  s_nationkey bigint NOT NULL REFERENCES nation, s_phone char(15) NOT NULL, s_acctbal numeric(15,2) NOT NULL,
  s_comment varchar(101) NOT NULL);
CREATE TABLE partsupp (ps_partkey bigint NOT NULL REFERENCES part, ps_suppkey bigint NOT NULL REFERENCES supplier,
  ps_availqty integer NOT NULL, ps_supplycost numeric(15,2) NOT NULL, ps_comment varchar(199) NOT NULL,
  PRIMARY KEY (ps_partkey, ps_suppkey));
CREATE TABLE customer (c_custkey bigint PRIMARY KEY, c_name varchar(25) NOT NULL, c_address varchar(40) NOT NULL,
  c_nationkey bigint NOT NULL REFERENCES nation, c_phone char(15) NOT NULL, c_acctbal numeric(15,2) NOT NULL,
  c_mktsegment char(10) NOT NULL, c_comment varchar(117) NOT NULL);
CREATE TABLE orders (o_orderkey bigint PRIMARY KEY, o_custkey bigint NOT NULL REFERENCES customer,
  o_orderstatus char(1) NOT NULL, o_totalprice numeric(15,2) NOT NULL, o_orderdate date NOT NULL,
  o_orderpriority char(15) NOT NULL, o_clerk char(15) NOT NULL, o_shippriority integer NOT NULL,
  o_comment varchar(79) NOT NULL);
CREATE TABLE lineitem (l_orderkey bigint NOT NULL REFERENCES orders, l_partkey bigint NOT NULL,
  l_suppkey bigint NOT NULL, l_linenumber integer NOT NULL, l_quantity numeric(15,2) NOT NULL,
  l_extendedprice numeric(15,2) NOT NULL, l_discount numeric(15,2) NOT NULL, l_tax numeric(15,2) NOT NULL,
  l_returnflag char(1) NOT NULL, l_linestatus char(1) NOT NULL, l_shipdate date NOT NULL,
  l_commitdate date NOT NULL, l_receiptdate date NOT NULL, l_shipinstruct char(25) NOT NULL,
  l_shipmode char(10) NOT NULL, l_comment varchar(44) NOT NULL, PRIMARY KEY (l_orderkey, l_linenumber),
  FOREIGN KEY (l_partkey, l_suppkey) REFERENCES partsupp);
"""


def generate(cache: Path, scale: float) -> Path:
    out = cache / f"tpch-sf{scale:g}"
    if all((out / f"{t}.parquet").exists() for t in TABLES):
        return out
    tool = shutil.which("tpchgen-cli") or str(Path(sys.executable).with_name("tpchgen-cli"))
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([tool, "parquet", "-s", f"{scale:g}", f"--output-dir={out}"], check=True)
    return out


@contextlib.contextmanager
def server(workdir: Path) -> Iterator[str]:
    import os

    url = os.environ.get("LADEN_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    sys.path.insert(0, str(REPO))
    from tests.servers import start_postgres

    srv = start_postgres(workdir)
    try:
        yield srv.url
    finally:
        srv.stop()


def _sql(url: str, statements: str | list[str], autocommit: bool = True) -> list[tuple[object, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=autocommit) as con:
        rows: list[tuple[object, ...]] = []
        for s in [statements] if isinstance(statements, str) else statements:
            cur = con.execute(s.encode())
            rows = cur.fetchall() if cur.description else []
        return rows


def reset(url: str) -> None:
    _sql(url, ["DROP SCHEMA IF EXISTS public CASCADE", "CREATE SCHEMA public"])
    _sql(url, [s for s in DDL.split(";") if s.strip()])
    _sql(url, "CHECKPOINT")


def counts(url: str) -> dict[str, int]:
    return {t: int(_sql(url, f"SELECT count(*) FROM {t}")[0][0]) for t in TABLES}  # type: ignore[call-overload]


def run_raw(data: Path, url: str, timeout: float) -> float:
    total = 0.0
    for t in TABLES:
        cmd = [sys.executable, str(REPO / "bench" / "loaders.py"), "adbc_ingest", str(data / f"{t}.parquet"), url, t]
        run = run_process(cmd, REPO, child_env(), timeout)
        if run.returncode != 0:
            raise RuntimeError(f"raw load of {t} failed: {run.output[-800:]}")
        total += run.seconds
    return total


def run_laden(data: Path, url: str, timeout: float) -> float:
    laden = str(Path(sys.executable).with_name("laden"))
    run = run_process([laden, "load", str(data), "--to", url], REPO, child_env(), timeout)
    if run.returncode != 0:
        raise RuntimeError(f"laden failed: {run.output[-1500:]}")
    return run.seconds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.tpch", description=__doc__)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--timeout", type=float, default=3600.0)
    p.add_argument("--cache-dir", type=Path, default=Path(__file__).with_name(".data"))
    p.add_argument("--no-record", action="store_true")
    args = p.parse_args(argv)
    data = generate(args.cache_dir, args.scale)
    expected: dict[str, int] | None = None
    raw_times: list[float] = []
    laden_times: list[float] = []
    with server(args.cache_dir / "tpch-server") as admin:
        version = str(_sql(admin, "SELECT version()")[0][0])
        _sql(admin, ["DROP DATABASE IF EXISTS laden_tpch", "CREATE DATABASE laden_tpch"])
        url = admin.rsplit("/", 1)[0] + "/laden_tpch"
        try:
            for i in range(args.repeat):
                for name, run, times in (("raw", run_raw, raw_times), ("laden", run_laden, laden_times)):
                    reset(url)
                    seconds = run(data, url, args.timeout)
                    found = counts(url)
                    expected = expected or found
                    if found != expected:
                        raise RuntimeError(f"{name} loaded {found}, expected {expected}")
                    times.append(seconds)
                    print(f"  [{i + 1}/{args.repeat}] {name:5} {seconds:7.2f} s", file=sys.stderr)
        finally:
            _sql(admin, "DROP DATABASE IF EXISTS laden_tpch WITH (FORCE)")
    rows = sum((expected or {}).values())
    raw, laden = statistics.median(raw_times), statistics.median(laden_times)
    table = report.markdown_table(
        ("contender", "rows", "median s", "rows/s", "x raw sum"),
        [
            (
                "laden load DIR (FK order, one transaction)",
                f"{rows:,}",
                f"{laden:.2f}",
                f"{rows / laden:,.0f}",
                f"{laden / raw:.2f}",
            ),
            ("raw: ADBC binary COPY, each table alone (sum)", f"{rows:,}", f"{raw:.2f}", f"{rows / raw:,.0f}", "1.00"),
        ],
    )
    title = f"TPC-H SF{args.scale:g} into PostgreSQL, every PK and FK declared, median of {args.repeat}"
    print(f"\n### {title}\n\n{table}")
    if not args.no_record:
        env = report.environment({"postgresql": version})
        env["command"] = "python -m bench.tpch " + " ".join(argv or sys.argv[1:])
        report.append_results([(title, table)], env)
    return 0 if laden <= 1.2 * raw else 1


if __name__ == "__main__":
    sys.exit(main())
