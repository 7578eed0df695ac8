"""The four target databases: the table's DDL, reset before every run, row counts, servers.

PostgreSQL and MariaDB come from ``LADEN_TEST_POSTGRES_URL`` / ``LADEN_TEST_MYSQL_URL`` when
set, else throwaway servers are started with ``tests/servers.py`` and stopped on exit. Either
way the benchmark works in its own database ``laden_bench``, created fresh and dropped at
the end. SQLite and DuckDB files live in the work directory and are deleted and created
again before every run.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.loaders import file_path, mysql_kwargs

REPO = Path(__file__).resolve().parents[1]
TABLE = "t"
DATABASE = "laden_bench"
ENGINES = ("postgresql", "mysql", "sqlite", "duckdb")
SERVER_ENV = {"postgresql": "LADEN_TEST_POSTGRES_URL", "mysql": "LADEN_TEST_MYSQL_URL"}

# One CREATE TABLE per engine, the same for every contender on that engine. SQLite's
# INTEGER PRIMARY KEY is its 64-bit rowid key.
DDL = {
    "postgresql": f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, a bigint, s1 varchar(16), s2 varchar(16), "
    "f double precision, ts timestamp(6), b boolean, i integer)",
    "mysql": f"CREATE TABLE {TABLE} (id BIGINT NOT NULL PRIMARY KEY, a BIGINT, s1 VARCHAR(16), s2 VARCHAR(16), "
    "f DOUBLE, ts DATETIME(6), b BOOLEAN, i INT) ENGINE=InnoDB",
    "sqlite": f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, a BIGINT, s1 VARCHAR(16), s2 VARCHAR(16), "
    "f REAL, ts TIMESTAMP, b BOOLEAN, i INTEGER)",
    "duckdb": f"CREATE TABLE {TABLE} (id BIGINT PRIMARY KEY, a BIGINT, s1 VARCHAR(16), s2 VARCHAR(16), "
    "f DOUBLE, ts TIMESTAMP, b BOOLEAN, i INTEGER)",
}
# Server targets: statements before the CREATE. PostgreSQL drops the whole schema, which
# also removes what dlt leaves behind (_dlt_loads, _dlt_version, ...), then checkpoints so
# no contender inherits the previous run's dirty buffers.
RESET = {
    "postgresql": ["DROP SCHEMA IF EXISTS public CASCADE", "CREATE SCHEMA public"],
    "mysql": [f"DROP TABLE IF EXISTS {TABLE}"],
}
AFTER_CREATE = {"postgresql": ["CHECKPOINT"]}
# After a table is pre-filled (upsert benchmark): what a table that has been there a while
# has had done to it, so the upsert does not pay for the bulk load's aftermath.
SETTLE = {
    "postgresql": [f"VACUUM ANALYZE {TABLE}", "CHECKPOINT"],
    "mysql": [f"ANALYZE TABLE {TABLE}"],
    "sqlite": ["ANALYZE"],
    "duckdb": ["CHECKPOINT"],
}
VERSION_SQL = {
    "postgresql": "SELECT version()",
    "mysql": "SELECT VERSION()",
    "sqlite": "SELECT 'SQLite ' || sqlite_version()",
    "duckdb": "SELECT 'DuckDB ' || version()",
}


@dataclass(frozen=True)
class Target:
    engine: str
    url: str  # laden's form of the URL

    def connect(self) -> Any:
        if self.engine == "postgresql":
            import psycopg

            return psycopg.connect(self.url, autocommit=True)
        if self.engine == "mysql":
            import pymysql

            return pymysql.connect(**mysql_kwargs(self.url), autocommit=True)
        if self.engine == "sqlite":
            import sqlite3

            return sqlite3.connect(file_path(self.url))
        import duckdb

        return duckdb.connect(file_path(self.url))

    def execute(self, statements: list[str]) -> list[Any]:
        """Run statements in one connection; return the last one's first row."""
        conn = self.connect()
        try:
            cur = conn.cursor()
            row: list[Any] = []
            for sql in statements:
                cur.execute(sql)
                row = list(cur.fetchone() or []) if cur.description else []
            conn.commit()
            return row
        finally:
            conn.close()

    def reset(self) -> None:
        """An empty table `t` with the engine's DDL (a fresh file for SQLite / DuckDB)."""
        if self.engine in RESET:
            self.execute([*RESET[self.engine], DDL[self.engine]])
        else:
            path = Path(file_path(self.url))
            for p in (path, *(Path(f"{path}{s}") for s in ("-wal", "-shm", "-journal", ".wal"))):
                p.unlink(missing_ok=True)
            self.execute([DDL[self.engine]])
        if self.engine in AFTER_CREATE:
            self.execute(AFTER_CREATE[self.engine])

    def settle(self) -> None:
        self.execute(SETTLE[self.engine])

    def count(self) -> int:
        return int(self.execute([f"SELECT count(*) FROM {TABLE}"])[0])

    def version(self) -> str:
        return str(self.execute([VERSION_SQL[self.engine]])[0])


def _with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def _create_database(engine: str, admin_url: str) -> None:
    admin = Target(engine, admin_url)
    admin.execute([f"DROP DATABASE IF EXISTS {DATABASE}", f"CREATE DATABASE {DATABASE}"])


def _drop_database(engine: str, admin_url: str) -> None:
    force = " WITH (FORCE)" if engine == "postgresql" else ""
    Target(engine, admin_url).execute([f"DROP DATABASE IF EXISTS {DATABASE}{force}"])


def _server_url(engine: str, workdir: Path, stack: contextlib.ExitStack, log: Any) -> str:
    env_url = os.environ.get(SERVER_ENV[engine])
    if env_url:
        print(f"# {engine}: reusing the server from ${SERVER_ENV[engine]}", file=log)
        return env_url
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.servers import start_mariadb, start_postgres

    start = start_postgres if engine == "postgresql" else start_mariadb
    print(f"# {engine}: starting a throwaway server ...", file=log)
    server = start(workdir / "servers")
    stack.callback(server.stop)
    print(f"# {engine}: {server!r}", file=log)
    return server.url


@contextlib.contextmanager
def open_targets(engines: list[str], workdir: Path, log: Any = sys.stderr) -> Iterator[dict[str, Target]]:
    """Targets for `engines`; servers this starts are stopped on exit, also on error or Ctrl-C."""
    workdir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        targets: dict[str, Target] = {}
        for engine in engines:
            if engine in SERVER_ENV:
                admin_url = _server_url(engine, workdir, stack, log)
                _create_database(engine, admin_url)
                stack.callback(_drop_database, engine, admin_url)
                targets[engine] = Target(engine, _with_database(admin_url, DATABASE))
            else:
                suffix = "db" if engine == "sqlite" else "duckdb"
                targets[engine] = Target(engine, f"{engine}:///{workdir.absolute() / f'bench.{suffix}'}")
        yield targets
