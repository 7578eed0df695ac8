"""Shared fixtures: throwaway database servers and one fresh, empty database per test.

Fixtures
--------
postgres_server_url, mysql_server_url   (session) base URL of the server; from
        LADEN_TEST_POSTGRES_URL / LADEN_TEST_MYSQL_URL, else a server started from
        tests/servers.py for the session (only when a test needs it).
engine                                  "sqlite" | "duckdb" | "postgresql" | "mysql" (parametrized)
target_url                              fresh empty database of `engine`
sqlite_url, duckdb_url, postgres_url, mysql_url
                                        fresh empty database of that engine
db                                      TestDB on `target_url`
make_db                                 factory: make_db(url) -> TestDB, closed at teardown

If a server cannot be started, tests needing it are skipped, or fail when CI=true.

TestDB talks to the databases through the raw drivers only (sqlite3, duckdb, psycopg,
pymysql), never through laden, so tests check laden independently.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NoReturn
from urllib.parse import quote, unquote, urlsplit

import pytest

try:  # tests/ as a package (tests/__init__.py) ...
    from . import servers
except ImportError:  # ... or as a rootdir-relative directory (pytest puts it on sys.path)
    import servers  # type: ignore[no-redef]

# every load records itself in a state store (laden.loads): keep the tests' runs out of the user's
os.environ["LADEN_STATE_DIR"] = tempfile.mkdtemp(prefix="laden-test-state-")

ENGINES = ["sqlite", "duckdb", "postgresql", "mysql"]
SERVER_ENGINES = {"postgresql", "mysql"}

_ENGINE_FIXTURE = {
    "sqlite": "sqlite_url",
    "duckdb": "duckdb_url",
    "postgresql": "postgres_url",
    "mysql": "mysql_url",
}
_SCHEMES = {
    "sqlite": "sqlite",
    "duckdb": "duckdb",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
}


# --------------------------------------------------------------------------- TestDB


def engine_of(url: str) -> str:
    """'sqlite' | 'duckdb' | 'postgresql' | 'mysql' for a laden-style URL."""
    scheme = url.partition("://")[0].split("+", 1)[0].lower()
    try:
        return _SCHEMES[scheme]
    except KeyError:
        raise ValueError(f"unsupported URL scheme in {url!r}") from None


def _file_path(url: str) -> str:
    """sqlite:///rel.db -> rel.db ; sqlite:////abs/x.db -> /abs/x.db (same rule as laden)."""
    rest = url.partition("://")[2].partition("?")[0]
    if not rest.startswith("/"):
        raise ValueError(f"file URL needs three slashes: {url!r}")
    return unquote(rest[1:]) or ":memory:"


def _mysql_params(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "database": unquote(parts.path.lstrip("/")) or None,
        "charset": "utf8mb4",
        "autocommit": True,
        "connect_timeout": 10,
    }


def _pg_conninfo(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return "postgresql" + sep + rest if "+" in scheme else url


class TestDB:
    """Independent access to one test database via the raw driver, autocommit.

    SQLite and DuckDB get a new connection per call (DuckDB locks its file, and laden
    opens the same file in this process); PostgreSQL and MySQL keep one connection,
    closed by close().  Parameter placeholders are the driver's: `db.ph` is "?" for
    sqlite/duckdb and "%s" for postgresql/mysql.
    """

    __test__ = False  # not a test class

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = engine_of(url)
        self.ph = "?" if self.engine in ("sqlite", "duckdb") else "%s"
        self._con: Any = None
        #: the database file (sqlite/duckdb), else None
        self.path: str | None = _file_path(url) if self.engine in ("sqlite", "duckdb") else None

    def __repr__(self) -> str:
        return f"<TestDB {self.engine} {self.url}>"

    # ------------------------------------------------------------------ connections

    def _open(self) -> Any:
        if self.engine == "sqlite":
            con = sqlite3.connect(self.path, isolation_level=None)  # autocommit
            con.execute("PRAGMA foreign_keys=ON")
            return con
        if self.engine == "duckdb":
            import duckdb

            return duckdb.connect(self.path)
        if self.engine == "postgresql":
            import psycopg

            return psycopg.connect(_pg_conninfo(self.url), autocommit=True, connect_timeout=10)
        import pymysql

        return pymysql.connect(**_mysql_params(self.url))

    def _run(self, fn: Callable[[Any], Any]) -> Any:
        if self.engine in ("sqlite", "duckdb"):
            con = self._open()
            try:
                return fn(con)
            finally:
                con.close()
        if self._con is None or getattr(self._con, "closed", False) or (self.engine == "mysql" and not self._con.open):
            self._con = self._open()
        return fn(self._con)

    def close(self) -> None:
        if self._con is not None:
            con, self._con = self._con, None
            with contextlib.suppress(Exception):
                con.close()

    def __enter__(self) -> TestDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ statements

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one statement; its rows as tuples ([] if it returns none)."""

        def run(con: Any) -> list[tuple[Any, ...]]:
            cur = con.cursor()
            try:
                if params is None:
                    cur.execute(sql)
                else:
                    cur.execute(sql, params)
                if cur.description is None:
                    return []
                return [tuple(r) for r in cur.fetchall()]
            finally:
                cur.close()

        result: list[tuple[Any, ...]] = self._run(run)
        return result

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> None:
        """Run one statement (autocommit)."""
        self.query(sql, params)

    def script(self, sql: str) -> None:
        """Run several ;-separated statements (no parameters)."""
        if self.engine == "sqlite":
            self._run(lambda con: con.executescript(sql))
        elif self.engine == "duckdb":
            self._run(lambda con: con.execute(sql))
        elif self.engine == "postgresql":
            # Without parameters psycopg uses the simple protocol: many statements are
            # fine (run as one implicit transaction).
            self._run(lambda con: con.execute(sql))
        else:
            import pymysql
            from pymysql.constants import CLIENT

            con = pymysql.connect(**_mysql_params(self.url), client_flag=CLIENT.MULTI_STATEMENTS)
            try:
                with con.cursor() as cur:
                    cur.execute(sql)
                    while cur.nextset():
                        pass
            finally:
                con.close()

    # ------------------------------------------------------------------ helpers

    def quote(self, name: str) -> str:
        """Quote an identifier for this engine."""
        if self.engine == "mysql":
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def count(self, table: str) -> int:
        return int(self.query(f"SELECT COUNT(*) FROM {self.quote(table)}")[0][0])

    def tables(self) -> set[str]:
        """Names of the base tables in the current database/schema."""
        sql = {
            "sqlite": (
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            ),
            "duckdb": (
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
                "AND table_catalog = current_database() AND table_schema = current_schema()"
            ),
            "postgresql": "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema()",
            "mysql": (
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'"
            ),
        }[self.engine]
        return {str(r[0]) for r in self.query(sql)}


def make_db(url: str) -> TestDB:
    """A TestDB for any URL (sqlite:///, duckdb:///, postgresql://, mysql://). Call close()."""
    return TestDB(url)


# --------------------------------------------------------------------------- servers


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it under CI=true (CI must never silently skip)."""
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: failing instead of skipping)", pytrace=False)
    pytest.skip(reason)


def _session_server(
    kind: str, env: str, driver: str, start: Callable[[Any], servers.Server], tmp_path_factory: Any
) -> Iterator[str]:
    try:
        __import__(driver)
    except ImportError as e:
        _unavailable(f"{kind}: Python driver {driver!r} not installed ({e})")
    url = os.environ.get(env, "").strip()
    if url:
        yield url
        return
    error = None
    try:
        server = start(tmp_path_factory.mktemp(f"{kind}-server"))
    except Exception as e:
        error = str(e) or repr(e)
    if error is not None:
        _unavailable(f"could not start a {kind} server (set {env} to use an existing one): {error}")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (superuser, database 'postgres') of the session's PostgreSQL server."""
    yield from _session_server(
        "PostgreSQL", "LADEN_TEST_POSTGRES_URL", "psycopg", servers.start_postgres, tmp_path_factory
    )


@pytest.fixture(scope="session")
def mysql_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (user with ALL PRIVILEGES, database 'mysql') of the session's MariaDB server."""
    yield from _session_server("MariaDB", "LADEN_TEST_MYSQL_URL", "pymysql", servers.start_mariadb, tmp_path_factory)


_db_counter = itertools.count(1)


def _unique_db_name() -> str:
    # pid: several test runs may share one server (LADEN_TEST_*_URL).
    return f"laden_t{os.getpid()}_{next(_db_counter)}"


def _with_database(url: str, name: str) -> str:
    return urlsplit(url)._replace(path="/" + quote(name, safe="")).geturl()


# --------------------------------------------------------------------------- per-test databases


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    """sqlite:////ABS/tmp_path/test.db (the file does not exist yet)."""
    return "sqlite:///" + quote(str(tmp_path / "test.db"))


@pytest.fixture
def duckdb_url(tmp_path: Any) -> str:
    """duckdb:////ABS/tmp_path/test.duckdb (the file does not exist yet)."""
    return "duckdb:///" + quote(str(tmp_path / "test.duckdb"))


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database; dropped (WITH (FORCE)) after the test."""
    import psycopg

    name = _unique_db_name()
    base = _pg_conninfo(postgres_server_url)
    with psycopg.connect(base, autocommit=True, connect_timeout=10) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(postgres_server_url, name)
    finally:
        with psycopg.connect(base, autocommit=True, connect_timeout=10) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def mysql_url(mysql_server_url: str) -> Iterator[str]:
    """A fresh, empty MySQL/MariaDB database; dropped after the test."""
    import pymysql

    name = _unique_db_name()
    params = _mysql_params(mysql_server_url)
    params["database"] = None
    con = pymysql.connect(**params)
    try:
        with con.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
    finally:
        con.close()
    try:
        yield _with_database(mysql_server_url, name)
    finally:
        con = pymysql.connect(**params)
        try:
            with con.cursor() as cur:
                # Like PostgreSQL's WITH (FORCE): connections a test leaked would make
                # DROP DATABASE wait for their metadata locks.
                cur.execute("SET SESSION lock_wait_timeout = 30")
                cur.execute(
                    "SELECT id FROM information_schema.processlist WHERE db = %s AND id <> CONNECTION_ID()",
                    (name,),
                )
                for (conn_id,) in cur.fetchall():
                    with contextlib.suppress(pymysql.MySQLError):  # may be gone already
                        cur.execute(f"KILL CONNECTION {int(conn_id)}")
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            con.close()


@pytest.fixture(
    params=[pytest.param(e, id=e, marks=[pytest.mark.server] if e in SERVER_ENGINES else []) for e in ENGINES]
)
def engine(request: pytest.FixtureRequest) -> str:
    """The engine under test: "sqlite", "duckdb", "postgresql" or "mysql"."""
    value: str = request.param
    return value


@pytest.fixture
def target_url(engine: str, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database of `engine` (servers are only started when needed)."""
    url: str = request.getfixturevalue(_ENGINE_FIXTURE[engine])
    return url


@pytest.fixture
def db(target_url: str) -> Iterator[TestDB]:
    """TestDB on `target_url` (raw driver, autocommit)."""
    d = TestDB(target_url)
    try:
        yield d
    finally:
        d.close()


@pytest.fixture(name="make_db")
def make_db_fixture(request: pytest.FixtureRequest) -> Iterator[Callable[[str], TestDB]]:
    """make_db(url) -> TestDB; every TestDB made is closed at teardown."""
    made: list[TestDB] = []

    def factory(url: str) -> TestDB:
        d = TestDB(url)
        made.append(d)
        # Close it before the fixture that made `url` drops the database, whatever the
        # order of the test's arguments (node finalizers run last-in, first-out).
        request.node.addfinalizer(d.close)
        return d

    yield factory
    for d in made:
        d.close()


# --------------------------------------------------------------------------- markers

_SERVER_FIXTURES = {"postgres_url", "mysql_url", "postgres_server_url", "mysql_server_url"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.server)
