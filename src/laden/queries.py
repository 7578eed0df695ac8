"""Run one SQL statement on a datasource: read-only unless asked, under a timeout, rows capped by a limit.

::

    result = run_query("postgresql://app:pw@db/bank", "SELECT * FROM accounts", database="customer_db", limit=100)
    result.success, result.columns, result.rows, result.truncated, result.error

Each query runs in its own transaction on a pooled connection (:mod:`laden.pool`):

========== ===================================== ================================ ==================================
engine     read-only (the default)               timeout                          unqualified names resolve in
========== ===================================== ================================ ==================================
PostgreSQL ``BEGIN READ ONLY``                   ``SET LOCAL statement_timeout``  ``SET LOCAL search_path`` (schema)
MariaDB    ``SET SESSION TRANSACTION READ ONLY`` ``max_statement_time`` (MySQL:   ``USE`` (database)
           + ``START TRANSACTION READ ONLY``     ``max_execution_time``, SELECTs)
SQLite     ``PRAGMA query_only``                 a progress handler's deadline    ``main`` only
DuckDB     ``BEGIN TRANSACTION READ ONLY``       ``interrupt()`` from a timer     ``SET schema``
========== ===================================== ================================ ==================================

A read-only query is rolled back at the end; ``write=True`` commits. MariaDB's session-wide
read-only switch also refuses DDL, which would otherwise commit implicitly and escape the
read-only transaction. One statement per query: PostgreSQL (extended protocol), MariaDB and
SQLite refuse several; DuckDB's are counted before anything runs. DuckDB's read-only
transaction refuses writes to the database file, but not ``COPY ... TO`` a file or temporary
tables (PostgreSQL refuses those too).

``limit`` fetches at most that many rows and sets ``truncated`` when there were more; the
SQL is never rewritten. PostgreSQL reads a SELECT through a server-side cursor then, so the
rest of a big result never leaves the server; MariaDB streams and skips the rest.

A read whose connection dropped (server restart, killed session) is retried once on a fresh
connection; a write never is. Database errors come back as ``success=False`` with ``error``
naming the masked target; bad arguments (an unknown logical database, a negative limit)
raise :class:`~laden.errors.UsageError`.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import enum
import json
import math
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, TextIO

from laden.errors import ConnectError, LadenError, UsageError
from laden.pool import Connection, Pool, PoolConfig, connection_lost
from laden.urls import DatabaseURL, Engine

__all__ = ["Access", "QueryResult", "json_value", "run_query"]


class Access(str, enum.Enum):
    """What a query may do."""

    READ = "read"
    WRITE = "write"


class _Failure(enum.Enum):
    WRITE_REFUSED = "write refused"
    TIMEOUT = "timeout"
    LOST = "connection lost"
    OTHER = "other"


@dataclass
class QueryResult:
    """What a query returned, or why it failed (``success`` False, ``error`` set).

    ``row_count`` is the number of rows in ``rows`` when the statement returns rows, else the
    number of rows it changed (0 when the driver does not say). ``truncated``: ``limit``
    stopped the fetch and the statement had more rows.
    """

    success: bool
    rows: list[tuple[Any, ...]]
    columns: list[str]
    row_count: int
    error: str | None
    execution_time_ms: float
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: decimals as strings, dates and times in ISO 8601, bytes in base64, rows as lists."""
        return {
            "success": self.success,
            "columns": list(self.columns),
            "rows": [[json_value(v) for v in row] for row in self.rows],
            "row_count": self.row_count,
            "truncated": self.truncated,
            "execution_time_ms": round(self.execution_time_ms, 3),
            "error": self.error,
        }

    def to_csv(self, stream: TextIO) -> None:
        """A header line and one line per row. NULL is an empty field, the empty string a quoted ``""``
        (how ``laden load`` reads CSV); booleans are ``true`` / ``false``; JSON values as JSON text."""
        if not self.columns:
            return
        stream.write(",".join(_csv_field(c) for c in self.columns) + "\n")
        for row in self.rows:
            stream.write(",".join(_csv_field(v) for v in row) + "\n")


def json_value(value: Any) -> Any:
    """``value`` as something :func:`json.dumps` writes without loss or surprise."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return _iso_duration(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_value(v) for v in value]
    return str(value)


def _iso_duration(delta: datetime.timedelta) -> str:
    """ISO 8601 duration: ``P1DT2H3M4.5S``; ``-PT1S`` for negative ones."""
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    sign, micros = ("-" if micros < 0 else ""), abs(micros)
    days, micros = divmod(micros, 86_400_000_000)
    hours, micros = divmod(micros, 3_600_000_000)
    minutes, micros = divmod(micros, 60_000_000)
    seconds, micros = divmod(micros, 1_000_000)
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or micros:
        clock += f"{seconds}" + (f".{micros:06d}".rstrip("0") if micros else "") + "S"
    if not clock and not days:
        clock = "0S"
    return f"{sign}P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "")


def _csv_field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict | list | tuple):
        text = json.dumps(json_value(value), ensure_ascii=False)
    else:
        text = str(json_value(value))
    if text == "" or any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


# -- the request and its outcome -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    sql: str
    params: tuple[Any, ...] | None
    access: Access
    limit: int | None
    timeout: float
    #: the logical database asked for, or the URL's ``?schema=``; None = the connection's default
    database: str | None


@dataclass
class _Fetched:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    count: int
    truncated: bool = False


class _Lost(Exception):
    """The connection dropped during an attempt; ``reason`` is the driver's word, scrubbed."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class _Stale(Exception):
    """This connection cannot be put in the state the query needs: use a fresh one (not a retry)."""


class _Refused(Exception):
    """laden refuses the statement before the database sees it; the message says why."""


def _fetch(cur: Any, limit: int | None) -> _Fetched:
    """Columns and rows from a DB-API cursor that has executed, at most ``limit`` rows."""
    if not cur.description:
        count = cur.rowcount if isinstance(cur.rowcount, int) and 0 <= cur.rowcount < 2**63 else 0
        return _Fetched([], [], count)
    columns = [str(d[0]) for d in cur.description]
    if limit is None:
        rows = [tuple(r) for r in cur.fetchall()]
        return _Fetched(columns, rows, len(rows))
    rows = [tuple(r) for r in cur.fetchmany(limit + 1)]
    truncated = len(rows) > limit
    del rows[limit:]
    return _Fetched(columns, rows, len(rows), truncated)


@contextlib.contextmanager
def _closing(cur: Any) -> Iterator[Any]:
    """Close ``cur`` afterwards; when the block failed, a failing close must not hide why."""
    try:
        yield cur
    except BaseException:
        with contextlib.suppress(Exception):
            cur.close()
        raise
    cur.close()


# -- one engine's way of running a request ---------------------------------------------------------------


class _Session(ABC):
    """Runs a request on one checked-out connection: begin, execute, finish or abort, reset."""

    #: what this engine's logical databases are called in messages
    noun: ClassVar[str] = "database"
    #: logical databases that exist but are not listed in messages
    hidden: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, conn: Connection, pool: Pool) -> None:
        self.conn = conn
        self.raw: Any = conn.raw
        self.pool = pool
        #: the connection was closed on purpose to end a read early: nothing to roll back or reset
        self.dropped = False

    @abstractmethod
    def databases(self) -> list[str]: ...

    @abstractmethod
    def begin(self, req: _Request) -> None:
        """Open the transaction (read-only unless writing), set the timeout and the logical database."""

    @abstractmethod
    def execute(self, req: _Request) -> _Fetched: ...

    @abstractmethod
    def failure(self, exc: BaseException, req: _Request) -> _Failure: ...

    @staticmethod
    @abstractmethod
    def driver_errors() -> tuple[type[BaseException], ...]:
        """The driver's own error classes: what laden's own statements can raise."""

    def sql(self, statement: Any, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one of laden's own statements; its rows, if any."""
        with _closing(self.raw.cursor()) as cur:
            if params is None:
                cur.execute(statement)
            else:
                cur.execute(statement, params)
            return [tuple(r) for r in cur.fetchall()] if cur.description else []

    def finish(self, req: _Request) -> None:
        """Commit a write; roll a read back (it changed nothing, or only temporary things)."""
        if self.dropped:
            return
        self._end("COMMIT" if req.access is Access.WRITE else "ROLLBACK")

    def abort(self) -> None:
        """Roll back after a failure; a connection that cannot is not reused."""
        if self.dropped:
            return
        try:
            self._end("ROLLBACK")
        except self.driver_errors():  # the connection cannot roll back: never hand it out again
            self.conn.broken = True

    def _end(self, statement: str) -> None:
        try:
            self.sql(statement)
        except self.driver_errors() as exc:  # the statement itself ended the transaction (COMMIT, DDL in MariaDB)
            if "no transaction" not in str(exc).lower():
                raise

    def reset(self, req: _Request) -> None:  # noqa: B027 - only engines with session-wide settings need it
        """Undo session-wide settings made for the request."""

    def reason(self, exc: BaseException) -> str:
        """The driver's message, first line, without secrets."""
        return self.pool.clean(str(exc).strip().split("\n")[0] or type(exc).__name__)

    def listed(self, name: str) -> bool:
        """Whether messages list this logical database (system ones are not)."""
        return name not in self.hidden

    def check_database(self, name: str) -> None:
        names = self.databases()
        if name not in names:
            shown = ", ".join(n for n in names if self.listed(n)) or "(none)"
            raise UsageError(f"{self.pool.target}: there is no {self.noun} {name!r}; the {self.noun}s there: {shown}")


class _Postgres(_Session):
    noun = "schema"
    hidden = frozenset({"information_schema"})

    @staticmethod
    def driver_errors() -> tuple[type[BaseException], ...]:
        import psycopg

        return (psycopg.Error,)

    def databases(self) -> list[str]:
        return [str(r[0]) for r in self.sql("SELECT nspname FROM pg_catalog.pg_namespace ORDER BY 1")]

    def listed(self, name: str) -> bool:
        return super().listed(name) and not name.startswith("pg_")

    def begin(self, req: _Request) -> None:
        from psycopg import sql

        self.sql("BEGIN READ ONLY" if req.access is Access.READ else "BEGIN READ WRITE")
        self.sql(f"SET LOCAL statement_timeout = {max(1, round(req.timeout * 1000))}")
        if req.database is not None:
            self.check_database(req.database)
            self.sql(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(req.database)))

    def execute(self, req: _Request) -> _Fetched:
        import psycopg

        if req.limit is not None and req.access is Access.READ:
            fetched = self._through_server_cursor(req)
            if fetched is not None:
                return fetched
        with _closing(self.raw.cursor()) as cur:
            if psycopg.Pipeline.is_supported():
                with self.raw.pipeline():  # the extended protocol: one statement, never several
                    cur.execute(req.sql, req.params)
            else:  # pragma: no cover - libpq before 14
                cur.execute(req.sql, req.params)
            return _fetch(cur, req.limit)

    def _through_server_cursor(self, req: _Request) -> _Fetched | None:
        """A SELECT read through DECLARE / FETCH: only ``limit`` + 1 rows leave the server.
        None when DECLARE refuses the statement (not a SELECT / VALUES / TABLE): run it plainly."""
        import psycopg

        self.sql("SAVEPOINT laden_query")
        cur = self.raw.cursor(name="laden_query")
        try:
            cur.execute(req.sql, req.params)
        except psycopg.errors.SyntaxError:
            cur.close()
            self.sql("ROLLBACK TO SAVEPOINT laden_query")
            return None
        with _closing(cur):
            return _fetch(cur, req.limit)

    def failure(self, exc: BaseException, req: _Request) -> _Failure:
        import psycopg

        if connection_lost(Engine.POSTGRESQL, exc, self.raw):
            return _Failure.LOST
        if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction) and req.access is Access.READ:
            return _Failure.WRITE_REFUSED
        if isinstance(exc, psycopg.errors.QueryCanceled) and "statement timeout" in str(exc):
            return _Failure.TIMEOUT
        return _Failure.OTHER

    def reason(self, exc: BaseException) -> str:
        import psycopg

        if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
            return self.pool.clean(exc.diag.message_primary.strip())
        return super().reason(exc)


_MYSQL_WRITE_REFUSED = 1792  # ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
_MYSQL_TIMEOUTS = {1969, 3024}  # MariaDB max_statement_time, MySQL max_execution_time


class _MySQL(_Session):
    hidden = frozenset({"information_schema", "performance_schema", "mysql", "sys"})

    @staticmethod
    def driver_errors() -> tuple[type[BaseException], ...]:
        import pymysql

        return (pymysql.Error,)

    def databases(self) -> list[str]:
        return [str(r[0]) for r in self.sql("SELECT schema_name FROM information_schema.schemata ORDER BY 1")]

    def begin(self, req: _Request) -> None:
        self._use(req.database or self.pool.url.database)
        if self.conn.mariadb:
            self.sql("SET SESSION max_statement_time = %s", [req.timeout])
        else:  # MySQL bounds only SELECTs
            self.sql("SET SESSION max_execution_time = %s", [max(1, round(req.timeout * 1000))])
        if req.access is Access.READ:
            # session-wide too: DDL commits implicitly and would run outside a read-only transaction
            self.sql("SET SESSION TRANSACTION READ ONLY")
            self.sql("START TRANSACTION READ ONLY")
        else:
            self.sql("START TRANSACTION")

    def _use(self, database: str | None) -> None:
        current = self.conn.session.get("database")
        if database is None:
            if current is not None:  # a database chosen by an earlier query, which MySQL cannot unselect
                raise _Stale()
            return
        if database != current:
            self.check_database(database)
            self.sql("USE `" + database.replace("`", "``") + "`")
            self.conn.session["database"] = database

    def execute(self, req: _Request) -> _Fetched:
        import pymysql.cursors

        # unbuffered: rows arrive as they are fetched, so a limit keeps memory small
        cur = self.raw.cursor(pymysql.cursors.SSCursor)
        with contextlib.ExitStack() as stack:
            stack.callback(self._close_cursor, cur)
            cur.execute(req.sql, req.params)
            fetched = _fetch(cur, req.limit)
            if fetched.truncated and req.access is Access.READ and not self._drained(cur):
                # the server would stream the rest through (for up to the timeout) before the connection
                # could be used again: drop the connection instead, which ends the read
                self.dropped = True
                stack.pop_all()
                if self.raw._result is not None:  # or PyMySQL drains it on garbage collection, on a closed socket
                    self.raw._result.unbuffered_active = False
                self.conn.broken = True
                self.conn.close()
            return fetched

    @staticmethod
    def _drained(cur: Any, batches: int = 10, size: int = 1000) -> bool:
        """Read (and forget) what little is left of a result cut short; False when there is more than that."""
        return any(len(cur.fetchmany(size)) < size for _ in range(batches))  # stops at the first short batch

    @staticmethod
    def _close_cursor(cur: Any) -> None:
        with contextlib.suppress(Exception):  # closing reads the rest of the result; an error there is reported
            cur.close()

    def reset(self, req: _Request) -> None:
        if self.dropped:
            return
        try:
            if req.access is Access.READ:
                self.sql("SET SESSION TRANSACTION READ WRITE")
            self.sql(f"SET SESSION {'max_statement_time' if self.conn.mariadb else 'max_execution_time'} = DEFAULT")
        except self.driver_errors():  # settings that cannot be undone: the connection is not reused
            self.conn.broken = True

    def failure(self, exc: BaseException, req: _Request) -> _Failure:
        import pymysql

        if connection_lost(Engine.MYSQL, exc, self.raw):
            return _Failure.LOST
        code = exc.args[0] if isinstance(exc, pymysql.Error) and exc.args else None
        if code == _MYSQL_WRITE_REFUSED and req.access is Access.READ:
            return _Failure.WRITE_REFUSED
        if code in _MYSQL_TIMEOUTS:
            return _Failure.TIMEOUT
        return _Failure.OTHER

    def reason(self, exc: BaseException) -> str:
        import pymysql

        if isinstance(exc, pymysql.Error) and len(exc.args) > 1:
            return self.pool.clean(f"{exc.args[1]} (error {exc.args[0]})")
        return super().reason(exc)


class _SQLite(_Session):
    #: VM instructions between two looks at the deadline (about 0.1 ms)
    progress_steps: ClassVar[int] = 10_000

    @staticmethod
    def driver_errors() -> tuple[type[BaseException], ...]:
        import sqlite3

        return (sqlite3.Error,)

    def __init__(self, conn: Connection, pool: Pool) -> None:
        super().__init__(conn, pool)
        self.deadline = math.inf
        self.timed_out = False

    def databases(self) -> list[str]:
        return [str(r[1]) for r in self.sql("PRAGMA database_list")]

    def begin(self, req: _Request) -> None:
        if req.database not in (None, "main"):
            self.check_database(req.database)
            raise UsageError(
                f"{self.pool.target}: SQLite looks up unqualified names in 'main' first and cannot be told "
                f"otherwise; qualify them instead ({req.database}.table_name)"
            )
        self.deadline = time.monotonic() + req.timeout
        self.raw.set_progress_handler(self._progress, self.progress_steps)
        if req.access is Access.READ:
            self.sql("PRAGMA query_only = ON")
            self.sql("BEGIN")
        else:
            self.sql("BEGIN IMMEDIATE")  # the write lock now, not halfway through

    def _progress(self) -> int:
        if time.monotonic() > self.deadline:
            self.timed_out = True
            return 1  # interrupt
        return 0

    def execute(self, req: _Request) -> _Fetched:
        with _closing(self.raw.cursor()) as cur:
            cur.execute(req.sql, req.params or ())
            return _fetch(cur, req.limit)

    def reset(self, req: _Request) -> None:
        try:
            self.raw.set_progress_handler(None, 0)
            if req.access is Access.READ:
                self.sql("PRAGMA query_only = OFF")
        except self.driver_errors():  # settings that cannot be undone: the connection is not reused
            self.conn.broken = True

    def failure(self, exc: BaseException, req: _Request) -> _Failure:
        import sqlite3

        if connection_lost(Engine.SQLITE, exc, self.raw):
            return _Failure.LOST
        if not isinstance(exc, sqlite3.OperationalError):
            return _Failure.OTHER
        name = getattr(exc, "sqlite_errorname", "")
        if self.timed_out and (name == "SQLITE_INTERRUPT" or str(exc) == "interrupted"):
            return _Failure.TIMEOUT
        if req.access is Access.READ and (name == "SQLITE_READONLY" or "readonly database" in str(exc)):
            return _Failure.WRITE_REFUSED
        return _Failure.OTHER


class _Deadline:
    """Calls ``interrupt`` once ``seconds`` have passed, unless stopped first (never after)."""

    def __init__(self, seconds: float, interrupt: Callable[[], None]) -> None:
        self.fired = False
        self._interrupt = interrupt
        self._lock = threading.Lock()
        self._stopped = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        with self._lock:
            if not self._stopped:
                self.fired = True
                self._interrupt()

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._stopped = True
        self._timer.cancel()


class _DuckDB(_Session):
    noun = "schema"
    hidden = frozenset({"information_schema", "pg_catalog"})

    @staticmethod
    def driver_errors() -> tuple[type[BaseException], ...]:
        import duckdb

        return (duckdb.Error,)

    def __init__(self, conn: Connection, pool: Pool) -> None:
        super().__init__(conn, pool)
        self.deadline: _Deadline | None = None

    def sql(self, statement: Any, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        # the connection itself, not a cursor: a DuckDB cursor is another connection, another transaction
        self.raw.execute(statement, list(params) if params else None)
        return [tuple(r) for r in self.raw.fetchall()] if self.raw.description else []

    def databases(self) -> list[str]:
        names = "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = current_database() ORDER BY 1"
        return [str(r[0]) for r in self.sql(names)]

    def begin(self, req: _Request) -> None:
        count = len(self.raw.extract_statements(req.sql))
        if count != 1:  # DuckDB would run them all, a COMMIT among them ending the read-only transaction
            raise _Refused(f"the text holds {count or 'no'} statements; run one at a time")
        self.sql("BEGIN TRANSACTION READ ONLY" if req.access is Access.READ else "BEGIN TRANSACTION")
        if req.database is None:
            self.sql("RESET schema")
        else:
            self.check_database(req.database)
            quoted = '"' + req.database.replace('"', '""') + '"'  # SET schema parses its value as a name
            self.sql("SET schema = '" + quoted.replace("'", "''") + "'")

    def execute(self, req: _Request) -> _Fetched:
        with _Deadline(req.timeout, self.raw.interrupt) as self.deadline:
            self.raw.execute(req.sql, list(req.params) if req.params else None)
            return _fetch(self.raw, req.limit)

    def failure(self, exc: BaseException, req: _Request) -> _Failure:
        import duckdb

        if connection_lost(Engine.DUCKDB, exc, self.raw):
            return _Failure.LOST
        if isinstance(exc, duckdb.InterruptException) and self.deadline is not None and self.deadline.fired:
            return _Failure.TIMEOUT
        if isinstance(exc, duckdb.TransactionException) and "read-only" in str(exc) and req.access is Access.READ:
            return _Failure.WRITE_REFUSED
        return _Failure.OTHER


_SESSIONS: dict[Engine, type[_Session]] = {
    Engine.POSTGRESQL: _Postgres,
    Engine.MYSQL: _MySQL,
    Engine.SQLITE: _SQLite,
    Engine.DUCKDB: _DuckDB,
}


# -- running it ------------------------------------------------------------------------------------------


def run_query(
    url: DatabaseURL | str,
    sql: str,
    *,
    database: str | None = None,
    params: Sequence[Any] | None = None,
    write: bool = False,
    limit: int | None = None,
    timeout: float = 30.0,
    pool: Pool | None = None,
) -> QueryResult:
    """Run one statement on ``url`` (through ``pool`` when given, else a connection of its own).

    ``database``: the logical database unqualified names resolve in (PostgreSQL / DuckDB
    schema, MariaDB database, SQLite ``main``); default the URL's ``?schema=`` or the
    connection's own. ``params`` fill the driver's placeholders (``%s`` for PostgreSQL and
    MariaDB, ``?`` for SQLite and DuckDB). Read-only unless ``write``; ``timeout`` seconds;
    at most ``limit`` rows. Never raises for a database error; raises UsageError for bad arguments.
    """
    parsed = url if isinstance(url, DatabaseURL) else DatabaseURL.parse(url)
    req = _request(parsed, sql, database, params, write, limit, timeout)
    if pool is not None:
        if pool.url != parsed:
            raise UsageError(f"run_query: the pool is for {pool.url.masked()}, not {parsed.masked()}")
        return _run(pool, req)
    own = Pool(parsed, PoolConfig(min_size=0, max_size=1))
    try:
        return _run(own, req)
    finally:
        own.close()


def _request(
    url: DatabaseURL,
    sql: str,
    database: str | None,
    params: Sequence[Any] | None,
    write: bool,
    limit: int | None,
    timeout: float,
) -> _Request:
    if not isinstance(sql, str) or not sql.strip():
        raise UsageError("the query is empty: give one SQL statement")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise UsageError(f"limit must be a whole number, 0 or more (got {limit!r})")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < math.inf:
        raise UsageError(f"timeout must be a number of seconds above 0 (got {timeout!r})")
    if params is not None and (isinstance(params, str | bytes) or not isinstance(params, Sequence)):
        raise UsageError(f"params must be a list or tuple of values (got {type(params).__name__})")
    if database is not None and (not isinstance(database, str) or not database):
        raise UsageError(f"database must be a non-empty name (got {database!r})")
    return _Request(
        sql=sql,
        params=tuple(params) if params is not None else None,
        access=Access.WRITE if write else Access.READ,
        limit=limit,
        timeout=float(timeout),
        database=database or dict(url.query).get("schema") or None,
    )


def _run(pool: Pool, req: _Request) -> QueryResult:
    """Attempts on the pool's connections: a dropped one means one more read on a fresh connection."""
    started = time.monotonic()
    fresh = False
    lost: str | None = None
    while True:
        try:
            return _attempt_on(pool, req, fresh=fresh)
        except ConnectError as exc:
            return _failed(pool, str(exc), started)
        except _Stale:
            fresh = True
        except _Lost as exc:
            target = pool.target
            if req.access is Access.WRITE:
                return _failed(
                    pool,
                    f"{target}: the connection was lost during the query ({exc.reason}); writes are not retried: "
                    "check whether it took effect before running it again",
                    started,
                )
            if lost is not None:
                return _failed(
                    pool,
                    f"{target}: the connection was lost during the query, and again on a fresh connection "
                    f"({exc.reason}); check that the server is up and reachable",
                    started,
                )
            lost, fresh = exc.reason, True


def _attempt_on(pool: Pool, req: _Request, *, fresh: bool) -> QueryResult:
    """One attempt on a pooled connection (any exception escaping it retires the connection)."""
    usage: UsageError | None = None
    with pool.connection(fresh=fresh) as conn:
        try:
            return _attempt(pool, conn, req)
        except UsageError as exc:  # the transaction is rolled back: the connection is fine
            usage = exc
    raise usage


def _attempt(pool: Pool, conn: Connection, req: _Request) -> QueryResult:
    session = _SESSIONS[conn.engine](conn, pool)
    answers: tuple[type[BaseException], ...] = (_Refused, *session.driver_errors())
    started = time.monotonic()
    try:
        session.begin(req)
        started = time.monotonic()
        fetched = session.execute(req)
        elapsed = (time.monotonic() - started) * 1000
        session.finish(req)
    except (_Stale, LadenError):
        session.abort()
        raise
    except answers as exc:  # the database's answer (or laden's refusal); anything else is a bug: raise
        failure = _Failure.OTHER if isinstance(exc, _Refused) else session.failure(exc, req)
        if failure is _Failure.LOST:
            raise _Lost(session.reason(exc)) from exc
        session.abort()
        return _failed(pool, _message(failure, pool.target, session.reason(exc), req), started)
    finally:
        session.reset(req)
    return QueryResult(True, fetched.rows, fetched.columns, fetched.count, None, elapsed, fetched.truncated)


def _message(failure: _Failure, target: str, reason: str, req: _Request) -> str:
    if failure is _Failure.WRITE_REFUSED:
        return (
            f"{target}: the query tried to write, and queries are read-only; pass --write (write=True) to allow writes"
            f"\n  {reason}"
        )
    if failure is _Failure.TIMEOUT:
        return f"{target}: the query ran longer than the {req.timeout:g} s timeout; raise it with --timeout"
    return f"{target}: the query failed: {reason}"


def _failed(pool: Pool, message: str, started: float) -> QueryResult:
    return QueryResult(
        success=False,
        rows=[],
        columns=[],
        row_count=0,
        error=pool.clean(message),
        execution_time_ms=(time.monotonic() - started) * 1000,
    )
