"""Synthetic data from a reflected schema: rows/s of ``laden.generate.from_schema`` on a TPC-H-shaped schema.

    python -m bench.schema_generate [--scale 0.2] [--repeat 3] [--source URL] [--no-record]

The eight TPC-H tables (with composite keys, composite FKs, CHECKs, decimals, dates and text
of bounded length) are created in a fresh SQLite file — or taken from ``--source``, a database
that already holds them — and reflected by laden; the generator then plans the tables and
produces every row at TPC-H's proportions for ``--scale`` (SF 1 = 8.66 million rows), in this
process: once into Arrow batches that are dropped (the generator alone), once into one Parquet
file per table (zstd). Each is timed ``--repeat`` times; rows/s is rows / median seconds, plan
included. The goal of issue 6 is at least 300,000 rows/s. Results are appended to
``bench/RESULTS.md`` (``--no-record`` to skip).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import report

TABLES = ("region", "nation", "part", "supplier", "partsupp", "customer", "orders", "lineitem")
#: rows per table at scale factor 1 (TPC-H's own proportions)
SF1 = {
    "region": 5, "nation": 25, "part": 200_000, "supplier": 10_000, "partsupp": 800_000, "customer": 150_000,
    "orders": 1_500_000, "lineitem": 6_000_000,
}  # fmt: skip
DDL = """
CREATE TABLE region (r_regionkey integer PRIMARY KEY, r_name char(25) NOT NULL, r_comment varchar(152));
CREATE TABLE nation (n_nationkey integer PRIMARY KEY, n_name char(25) NOT NULL UNIQUE,
  n_regionkey integer NOT NULL REFERENCES region (r_regionkey), n_comment varchar(152));
CREATE TABLE part (p_partkey bigint PRIMARY KEY, p_name varchar(55) NOT NULL, p_mfgr char(25) NOT NULL,
  p_brand char(10) NOT NULL, p_type varchar(25) NOT NULL, p_size integer NOT NULL CHECK (p_size BETWEEN 1 AND 50),
  p_container char(10) NOT NULL CHECK (p_container IN ('SM CASE', 'SM BOX', 'MED BAG', 'LG JAR', 'WRAP PKG')),
  p_retailprice numeric(15,2) NOT NULL CHECK (p_retailprice > 0), p_comment varchar(23) NOT NULL);
CREATE TABLE supplier (s_suppkey bigint PRIMARY KEY, s_name char(25) NOT NULL, s_address varchar(40) NOT NULL,
  s_nationkey integer NOT NULL REFERENCES nation (n_nationkey), s_phone char(15) NOT NULL,
  s_acctbal numeric(15,2) NOT NULL, s_comment varchar(101) NOT NULL);
CREATE TABLE partsupp (ps_partkey bigint NOT NULL REFERENCES part (p_partkey),
  ps_suppkey bigint NOT NULL REFERENCES supplier (s_suppkey), ps_availqty integer NOT NULL CHECK (ps_availqty >= 0),
  ps_supplycost numeric(15,2) NOT NULL CHECK (ps_supplycost > 0), ps_comment varchar(199) NOT NULL,
  PRIMARY KEY (ps_partkey, ps_suppkey));
CREATE TABLE customer (c_custkey bigint PRIMARY KEY, c_name varchar(25) NOT NULL, c_address varchar(40) NOT NULL,
  c_nationkey integer NOT NULL REFERENCES nation (n_nationkey), c_phone char(15) NOT NULL,
  c_acctbal numeric(15,2) NOT NULL, c_email varchar(60) NOT NULL UNIQUE,
  c_mktsegment char(10) NOT NULL CHECK (c_mktsegment IN ('AUTOMOBILE', 'BUILDING', 'FURNITURE', 'HOUSEHOLD')),
  c_comment varchar(117) NOT NULL);
CREATE TABLE orders (o_orderkey bigint PRIMARY KEY, o_custkey bigint NOT NULL REFERENCES customer (c_custkey),
  o_orderstatus char(1) NOT NULL CHECK (o_orderstatus IN ('F', 'O', 'P')),
  o_totalprice numeric(15,2) NOT NULL CHECK (o_totalprice >= 0), o_orderdate date NOT NULL,
  o_orderpriority char(15) NOT NULL, o_clerk char(15) NOT NULL, o_shippriority integer NOT NULL,
  o_comment varchar(79) NOT NULL, created_at timestamp NOT NULL, updated_at timestamp NOT NULL);
CREATE TABLE lineitem (l_orderkey bigint NOT NULL REFERENCES orders (o_orderkey), l_partkey bigint NOT NULL,
  l_suppkey bigint NOT NULL, l_linenumber integer NOT NULL CHECK (l_linenumber BETWEEN 1 AND 7),
  l_quantity numeric(15,2) NOT NULL CHECK (l_quantity BETWEEN 1 AND 50), l_extendedprice numeric(15,2) NOT NULL,
  l_discount numeric(15,2) NOT NULL CHECK (l_discount BETWEEN 0 AND 0.10),
  l_tax numeric(15,2) NOT NULL CHECK (l_tax >= 0 AND l_tax <= 0.08),
  l_returnflag char(1) NOT NULL CHECK (l_returnflag IN ('A', 'N', 'R')), l_linestatus char(1) NOT NULL,
  l_shipdate date NOT NULL, l_commitdate date NOT NULL, l_receiptdate date NOT NULL,
  l_shipinstruct char(25) NOT NULL, l_shipmode char(10) NOT NULL,
  l_comment varchar(44) NOT NULL CHECK (length(l_comment) >= 5),
  PRIMARY KEY (l_orderkey, l_linenumber), CHECK (l_receiptdate >= l_shipdate),
  FOREIGN KEY (l_partkey, l_suppkey) REFERENCES partsupp (ps_partkey, ps_suppkey));
"""


def rows_at(scale: float) -> dict[str, int]:
    return {t: n if t in ("region", "nation") else max(1, round(n * scale)) for t, n in SF1.items()}


def sqlite_source(directory: Path) -> str:
    import sqlite3

    path = directory / "tpch-schema.db"
    con = sqlite3.connect(path)
    con.executescript(DDL)
    con.close()
    return f"sqlite:///{path}"


def run_arrow(schema: Any, rows: dict[str, int], seed: int) -> tuple[float, dict[str, float]]:
    from laden.generate.from_schema import plan_schema_generation, schema_dataset

    per_table: dict[str, float] = {}
    started = time.perf_counter()
    plan = plan_schema_generation(schema, rows, seed=seed)
    for name, source in schema_dataset(plan).items():
        t0 = time.perf_counter()
        count = sum(batch.num_rows for batch in source.batches(100_000))
        per_table[name] = time.perf_counter() - t0
        if count != rows[name]:
            raise RuntimeError(f"{name}: {count} rows generated, {rows[name]} planned")
    return time.perf_counter() - started, per_table


def run_parquet(schema: Any, rows: dict[str, int], seed: int, directory: Path) -> float:
    import pyarrow.parquet as pq

    from laden.generate.from_schema import plan_schema_generation, schema_dataset

    started = time.perf_counter()
    plan = plan_schema_generation(schema, rows, seed=seed)
    for name, source in schema_dataset(plan).items():
        with pq.ParquetWriter(directory / f"{name}.parquet", source.schema(), compression="zstd") as writer:
            for batch in source.batches(100_000):
                writer.write_batch(batch)
    seconds = time.perf_counter() - started
    for name in rows:
        found = pq.ParquetFile(directory / f"{name}.parquet").metadata.num_rows
        if found != rows[name]:
            raise RuntimeError(f"{name}.parquet: {found} rows, {rows[name]} planned")
    return seconds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.schema_generate", description=__doc__)
    p.add_argument("--scale", type=float, default=0.2, help="TPC-H scale factor (1 = 8.66M rows)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--source", help="a database holding the TPC-H tables (default: a fresh SQLite file)")
    p.add_argument("--no-record", action="store_true")
    args = p.parse_args(argv)
    import laden

    rows = rows_at(args.scale)
    total = sum(rows.values())
    arrow_times: list[float] = []
    parquet_times: list[float] = []
    tables: dict[str, list[float]] = {t: [] for t in TABLES}
    with tempfile.TemporaryDirectory(prefix="laden-bench-schema-") as tmp:
        source = args.source or sqlite_source(Path(tmp))
        schema = laden.inspect(source, tables=list(TABLES), row_counts="none")
        run_arrow(schema, rows_at(0.001), args.seed)  # warm-up: imports, name lists, place list
        for i in range(args.repeat):
            seconds, per_table = run_arrow(schema, rows, args.seed)
            arrow_times.append(seconds)
            for name, s in per_table.items():
                tables[name].append(s)
            parquet_times.append(run_parquet(schema, rows, args.seed, Path(tmp)))
            print(
                f"  [{i + 1}/{args.repeat}] arrow {seconds:6.2f} s, parquet {parquet_times[-1]:6.2f} s", file=sys.stderr
            )
    arrow, parquet = statistics.median(arrow_times), statistics.median(parquet_times)
    where = "SQLite" if not args.source else "the given source"
    title = f"generate from a reflected TPC-H-shaped schema ({where}), SF{args.scale:g}, median of {args.repeat}"
    table = report.markdown_table(
        ("output", "rows", "median s", "rows/s", "note"),
        [
            ("Arrow batches (generator alone)", f"{total:,}", f"{arrow:.2f}", f"{total / arrow:,.0f}", "plan included"),
            ("Parquet, one file per table", f"{total:,}", f"{parquet:.2f}", f"{total / parquet:,.0f}", "zstd"),
        ],
    )
    detail = report.markdown_table(
        ("table", "rows", "median s", "rows/s"),
        [
            (t, f"{rows[t]:,}", f"{statistics.median(s):.2f}", f"{rows[t] / max(statistics.median(s), 1e-9):,.0f}")
            for t, s in tables.items()
        ],
    )
    print(f"\n### {title}\n\n{table}\n\n#### per table (Arrow)\n\n{detail}")
    if not args.no_record:
        env = report.environment({})
        env["command"] = "python -m bench.schema_generate " + " ".join(argv if argv is not None else sys.argv[1:])
        report.append_results([(title, table), ("per table (Arrow)", detail)], env)
    return 0 if total / arrow >= 300_000 else 1


if __name__ == "__main__":
    sys.exit(main())
