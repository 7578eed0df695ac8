"""Who is measured: laden, each engine's raw bulk path, and the peers users pick today.

A contender is data: a name, an engine, what it runs (``laden`` or a function of
``bench/loaders.py``), its role, and the rows it loads. Every contender on an engine loads
the same generated rows into the same freshly created table.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.targets import TABLE

LADEN = str(Path(sys.executable).with_name("laden"))
LOADERS_PY = str(Path(__file__).with_name("loaders.py"))


@dataclass(frozen=True)
class Contender:
    name: str
    engine: str
    loader: str  # "laden", or the name of a function in bench/loaders.py
    role: str = "peer"  # "laden" | "raw" (the headline's denominator) | "raw-alt" | "peer"
    source: str = "parquet"  # "csv": the CSV written beforehand, outside the timed process
    small: bool = False  # runs on --peer-rows rows (too slow for the full table)
    requires: tuple[str, ...] = ()  # importable modules it needs

    def missing(self) -> str | None:
        """Why the contender cannot run here, or None."""
        if self.loader == "laden":
            return None if Path(LADEN).exists() else f"{LADEN} not found"
        absent = [m for m in self.requires if importlib.util.find_spec(m) is None]
        if absent:
            return f"not installed: {', '.join(absent)} (pip install -e '.[bench]')"
        return None

    def command(self, file: Path, url: str, *extra: str) -> list[str]:
        if self.loader == "laden":
            return [LADEN, "load", str(file), "--to", url, "--table", TABLE, *extra]
        return [sys.executable, LOADERS_PY, self.loader, str(file), url, TABLE]


_PANDAS = ("pandas", "sqlalchemy")

CONTENDERS: tuple[Contender, ...] = (
    # PostgreSQL
    Contender("laden", "postgresql", "laden", role="laden"),
    Contender("raw: ADBC binary COPY", "postgresql", "adbc_ingest", role="raw", requires=("adbc_driver_postgresql",)),
    Contender("pandas to_sql", "postgresql", "pandas_to_sql", requires=(*_PANDAS, "psycopg")),
    Contender(
        "pandas to_sql(method=multi)", "postgresql", "pandas_to_sql_multi", small=True, requires=(*_PANDAS, "psycopg")
    ),
    Contender("dlt (postgres, append)", "postgresql", "dlt_append", requires=("dlt", "psycopg2")),
    Contender("psycopg executemany", "postgresql", "psycopg_executemany", requires=("psycopg",)),
    Contender("psycopg copy.write_row", "postgresql", "psycopg_write_row", requires=("psycopg",)),
    # MariaDB / MySQL
    Contender("laden", "mysql", "laden", role="laden"),
    Contender("raw: LOAD DATA (parquet->CSV timed)", "mysql", "mysql_load_data", role="raw", requires=("pymysql",)),
    Contender(
        "raw: LOAD DATA (CSV exists)", "mysql", "mysql_load_data", role="raw-alt", source="csv", requires=("pymysql",)
    ),
    Contender("pandas to_sql", "mysql", "pandas_to_sql", requires=(*_PANDAS, "pymysql")),
    Contender("PyMySQL executemany", "mysql", "pymysql_executemany", requires=("pymysql",)),
    # SQLite
    Contender("laden", "sqlite", "laden", role="laden"),
    Contender("raw: ADBC ingest", "sqlite", "adbc_ingest", role="raw", requires=("adbc_driver_sqlite",)),
    Contender("pandas to_sql", "sqlite", "pandas_to_sql", requires=_PANDAS),
    Contender("sqlite3 executemany", "sqlite", "sqlite3_executemany"),
    Contender("sqlite-utils insert_all", "sqlite", "sqlite_utils_insert_all", requires=("sqlite_utils",)),
    # DuckDB
    Contender("laden", "duckdb", "laden", role="laden"),
    # the raw path for DuckDB is its Arrow scan; DuckDB's own Parquet reader is shown beside it
    Contender("raw: INSERT ... Arrow scan", "duckdb", "duckdb_arrow_scan", role="raw", requires=("duckdb",)),
    Contender("raw: INSERT ... read_parquet", "duckdb", "duckdb_read_parquet", role="raw-alt", requires=("duckdb",)),
)


#: the upsert benchmark's reference: the engine's upsert as an expert writes it by hand
RAW_UPSERT: tuple[Contender, ...] = (
    Contender(
        "raw: ADBC COPY to temp + MERGE", "postgresql", "adbc_merge", role="raw", requires=("adbc_driver_postgresql",)
    ),
)


def for_engine(engine: str, role: str | None = None) -> list[Contender]:
    return [c for c in CONTENDERS if c.engine == engine and (role is None or c.role == role)]
