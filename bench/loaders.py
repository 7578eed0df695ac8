"""The raw bulk paths and the peers, one function each, run as a standalone script.

    python bench/loaders.py NAME FILE URL TABLE

Each run is a whole process, like ``laden load``: interpreter start-up, imports, reading
the file and loading it all count. Nothing here imports the ``bench`` package or laden, and
every function imports only the tool it measures, so no contender pays for another's imports.
URLs are laden's (``postgresql://``, ``mysql://``, ``sqlite:////abs.db``, ``duckdb:////abs``);
each function turns them into what its tool wants, as a user would.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

# --------------------------------------------------------------------------- helpers


def file_path(url: str) -> str:
    """sqlite:////abs/x.db -> /abs/x.db (also duckdb://)."""
    return url.split(":///", 1)[1]


def sqlalchemy_url(url: str) -> str:
    scheme, rest = url.split("://", 1)
    driver = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql", "sqlite": "sqlite"}[scheme]
    return f"{driver}://{rest}"


def mysql_kwargs(url: str) -> dict[str, Any]:
    u = urlsplit(url)
    return {
        "host": u.hostname,
        "port": u.port or 3306,
        "user": unquote(u.username or ""),
        "password": unquote(u.password or ""),
        "database": u.path.lstrip("/"),
    }


def read_table(file: str) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(file)


def python_rows(file: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows as tuples of Python values, the way a user feeds executemany."""
    table = read_table(file)
    columns = [c.to_pylist() for c in table.columns]
    return table.column_names, list(zip(*columns, strict=True))


def write_mysql_csv(parquet: str, out: str) -> None:
    """The Parquet file as CSV for LOAD DATA: pyarrow's writer, booleans as 0/1."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    table = read_table(parquet)
    for i, field in enumerate(table.schema):
        if pa.types.is_boolean(field.type):
            table = table.set_column(i, field.name, pc.cast(table.column(i), pa.int8()))
    pcsv.write_csv(table, out)


def _insert_sql(table: str, names: list[str], placeholder: str) -> str:
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join([placeholder] * len(names))})"


# --------------------------------------------------------------------------- raw bulk paths


def adbc_ingest(file: str, url: str, table: str) -> None:
    """PostgreSQL (binary COPY) or SQLite ADBC bulk ingest of the Arrow table."""
    data = read_table(file)
    conn: Any
    if url.startswith("postgresql://"):
        import adbc_driver_postgresql.dbapi

        conn = adbc_driver_postgresql.dbapi.connect(url)
    else:
        import adbc_driver_sqlite.dbapi

        conn = adbc_driver_sqlite.dbapi.connect(file_path(url))
    with conn, conn.cursor() as cur:
        cur.adbc_ingest(table, data, mode="append")
        conn.commit()


def adbc_merge(file: str, url: str, table: str) -> None:
    """PostgreSQL upsert as an expert writes it by hand: ADBC binary COPY into a temporary
    table, ANALYZE it, one MERGE in key order on the first column (the primary key)."""
    import adbc_driver_postgresql.dbapi

    data = read_table(file)
    names = [f'"{n}"' for n in data.schema.names]
    key, rest = names[0], names[1:]
    sets = ", ".join(f"{n} = s.{n}" for n in rest)
    values = ", ".join(f"s.{n}" for n in names)
    with adbc_driver_postgresql.dbapi.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SET work_mem = '256MB'")
        cur.adbc_ingest("raw_stage", data, mode="create", temporary=True)
        cur.execute("ANALYZE raw_stage")
        cur.execute(
            f'MERGE INTO "{table}" t USING (SELECT * FROM raw_stage ORDER BY {key}) s ON t.{key} = s.{key} '
            f"WHEN MATCHED THEN UPDATE SET {sets} "
            f"WHEN NOT MATCHED THEN INSERT ({', '.join(names)}) VALUES ({values})"
        )
        conn.commit()


def mysql_load_data(file: str, url: str, table: str) -> None:
    """LOAD DATA LOCAL INFILE of a CSV; a .parquet FILE is written to CSV first (timed)."""
    import pymysql

    if file.endswith(".csv"):
        _load_data_file(pymysql, file, url, table)
        return
    fd, csv_path = tempfile.mkstemp(suffix=".csv", dir=os.getcwd())
    os.close(fd)
    try:
        write_mysql_csv(file, csv_path)
        _load_data_file(pymysql, csv_path, url, table)
    finally:
        os.unlink(csv_path)


def _load_data_file(pymysql: Any, csv_path: str, url: str, table: str) -> None:
    with open(csv_path, encoding="utf-8") as f:
        names = f.readline().strip().replace('"', "").split(",")
    conn = pymysql.connect(**mysql_kwargs(url), local_infile=True)
    try:
        with conn.cursor() as cur:
            cur.execute(
                f"LOAD DATA LOCAL INFILE %s INTO TABLE {table} CHARACTER SET utf8mb4 "
                "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' "
                f"IGNORE 1 LINES ({', '.join(names)})",
                (csv_path,),
            )
            cur.execute("SHOW COUNT(*) WARNINGS")
            warnings = cur.fetchone()[0]
            if warnings:
                cur.execute("SHOW WARNINGS LIMIT 3")
                raise RuntimeError(f"LOAD DATA raised {warnings} warnings: {cur.fetchall()}")
        conn.commit()
    finally:
        conn.close()


def duckdb_read_parquet(file: str, url: str, table: str) -> None:
    import duckdb

    with duckdb.connect(file_path(url)) as con:
        con.execute(f"INSERT INTO {table} SELECT * FROM read_parquet(?)", [file])


def duckdb_arrow_scan(file: str, url: str, table: str) -> None:
    import duckdb

    data = read_table(file)
    with duckdb.connect(file_path(url)) as con:
        con.register("source_data", data)
        con.execute(f"INSERT INTO {table} SELECT * FROM source_data")


# --------------------------------------------------------------------------- peers


def _pandas_to_sql(file: str, url: str, table: str, **kwargs: Any) -> None:
    import pandas as pd
    import sqlalchemy

    engine = sqlalchemy.create_engine(sqlalchemy_url(url))
    try:
        pd.read_parquet(file).to_sql(table, engine, if_exists="append", index=False, **kwargs)
    finally:
        engine.dispose()


def pandas_to_sql(file: str, url: str, table: str) -> None:
    _pandas_to_sql(file, url, table)


def pandas_to_sql_multi(file: str, url: str, table: str) -> None:
    # One multi-row INSERT per 1000 rows: without a chunksize the statement exceeds the
    # 65535 bind parameters PostgreSQL allows.
    _pandas_to_sql(file, url, table, method="multi", chunksize=1000)


def dlt_append(file: str, url: str, table: str) -> None:
    import dlt

    data = read_table(file)
    with tempfile.TemporaryDirectory(dir=os.getcwd()) as pipelines_dir:
        pipeline = dlt.pipeline(
            pipeline_name="laden_bench",
            destination=dlt.destinations.postgres(credentials=url),
            dataset_name="public",
            pipelines_dir=pipelines_dir,
        )
        info = pipeline.run(data, table_name=table, write_disposition="append")
        info.raise_on_failed_jobs()


def psycopg_executemany(file: str, url: str, table: str) -> None:
    import psycopg

    names, rows = python_rows(file)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany(_insert_sql(table, names, "%s"), rows)


def psycopg_write_row(file: str, url: str, table: str) -> None:
    import psycopg

    names, rows = python_rows(file)
    with (
        psycopg.connect(url) as conn,
        conn.cursor() as cur,
        cur.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def pymysql_executemany(file: str, url: str, table: str) -> None:
    import pymysql

    names, rows = python_rows(file)
    conn = pymysql.connect(**mysql_kwargs(url))
    try:
        with conn.cursor() as cur:
            cur.executemany(_insert_sql(table, names, "%s"), rows)
        conn.commit()
    finally:
        conn.close()


def sqlite3_executemany(file: str, url: str, table: str) -> None:
    import sqlite3

    names, rows = python_rows(file)
    conn = sqlite3.connect(file_path(url))
    try:
        conn.executemany(_insert_sql(table, names, "?"), rows)
        conn.commit()
    finally:
        conn.close()


def sqlite_utils_insert_all(file: str, url: str, table: str) -> None:
    import sqlite_utils

    records = read_table(file).to_pylist()
    db = sqlite_utils.Database(file_path(url))
    try:
        db[table].insert_all(records)  # type: ignore[union-attr]
    finally:
        db.close()


LOADERS: dict[str, Callable[[str, str, str], None]] = {
    f.__name__: f
    for f in (
        adbc_ingest,
        adbc_merge,
        mysql_load_data,
        duckdb_read_parquet,
        duckdb_arrow_scan,
        pandas_to_sql,
        pandas_to_sql_multi,
        dlt_append,
        psycopg_executemany,
        psycopg_write_row,
        pymysql_executemany,
        sqlite3_executemany,
        sqlite_utils_insert_all,
    )
}


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] not in LOADERS:
        print(f"usage: loaders.py {{{','.join(LOADERS)}}} FILE URL TABLE", file=sys.stderr)
        return 2
    name, file, url, table = argv
    LOADERS[name](file, url, table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
