"""Connection pools: one per datasource per process, DB-API connections opened on demand.

::

    pool = pool_for("demo_bank", "postgresql://app:pw@db/bank", PoolConfig(min_size=1, max_size=5))
    with pool.connection() as conn:      # a Connection; conn.raw is the driver's connection
        ...

A pool opens connections lazily, up to ``max_size``; after the first checkout it keeps
``min_size`` of them open (warmed in the background) and closes idle ones beyond that after
:data:`IDLE_SECONDS`. When every connection is in use, a checkout waits up to
``connect_timeout`` seconds and then raises :class:`~laden.errors.ConnectError`.

A connection found dropped (the server closed it, killed it, restarted) is never handed out
again: :func:`connection_lost` recognises each driver's connection-lost errors, and the user of
a connection marks it ``broken`` so that :meth:`Pool.release` closes it instead of keeping it.

The drivers are the targets' own, opened with the same parameters (PostgreSQL via psycopg,
MariaDB / MySQL via PyMySQL, DuckDB via duckdb) except SQLite, which uses the standard
library's ``sqlite3`` here. Messages name the masked URL; passwords are scrubbed from driver
messages.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import os
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

from laden.drivers import connect_mysql, connect_postgres
from laden.errors import ConnectError, LadenError, MissingDriverError, UsageError
from laden.urls import DatabaseURL, Engine, scrub

#: idle connections beyond ``min_size`` are closed after this many seconds unused
IDLE_SECONDS = 300.0

# client and server error codes that mean the connection is gone: server gone away, lost during
# query, lost at handshake, connection killed (MariaDB), disconnected for inactivity (MySQL 8)
_MYSQL_LOST = {2006, 2013, 2055, 1927, 4031}


@dataclass(frozen=True)
class PoolConfig:
    """How many connections a datasource may hold, and how long to wait for one."""

    min_size: int = 1
    max_size: int = 10
    #: seconds to wait for a connection: to open one, or for one to come free when all are in use
    connect_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.max_size < 1:
            raise UsageError(f"pool max_size must be 1 or more (got {self.max_size})")
        if not 0 <= self.min_size <= self.max_size:
            raise UsageError(f"pool min_size must be between 0 and max_size {self.max_size} (got {self.min_size})")
        if not self.connect_timeout > 0:
            raise UsageError(f"pool connect_timeout must be more than 0 seconds (got {self.connect_timeout})")


@dataclass(eq=False)
class Connection:
    """One pooled DB-API connection. Used by one thread at a time, between checkout and release."""

    engine: Engine
    #: the driver's connection (psycopg, pymysql, sqlite3 or duckdb)
    raw: Any
    #: MariaDB rather than MySQL (they differ in statement timeouts); False for other engines
    mariadb: bool = False
    #: set when the connection must not be handed out again (dropped, or left in an unknown state)
    broken: bool = False
    #: per-connection session state a user of the pool wants to remember (e.g. the current database)
    session: dict[str, Any] = field(default_factory=dict)
    created: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)
    _closed: bool = False

    def is_open(self) -> bool:
        """False when the connection is known to be closed; no round trip to the server."""
        if self._closed or self.broken:
            return False
        if self.engine is Engine.POSTGRESQL:
            return not (self.raw.closed or self.raw.broken)
        if self.engine is Engine.MYSQL:
            return bool(self.raw.open)
        return True

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(Exception):  # a dropped connection may refuse even this
            self.raw.close()


def connection_lost(engine: Engine, exc: BaseException, raw: Any = None) -> bool:
    """True when ``exc`` (raised by ``raw``) means the connection dropped, not that the statement failed."""
    if engine is Engine.POSTGRESQL:
        import psycopg

        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            return raw is None or bool(raw.closed or raw.broken)
        return False
    if engine is Engine.MYSQL:
        import pymysql

        if isinstance(exc, pymysql.err.InterfaceError):  # (0, '') on a connection already closed
            return True
        return isinstance(exc, pymysql.err.OperationalError) and bool(exc.args) and exc.args[0] in _MYSQL_LOST
    if engine is Engine.SQLITE:
        import sqlite3

        return isinstance(exc, sqlite3.ProgrammingError) and "closed database" in str(exc)
    import duckdb

    return isinstance(exc, duckdb.ConnectionException)


# -- opening connections, per engine ------------------------------------------------------------------


def _connect_postgres(url: DatabaseURL, timeout: float) -> Connection:
    import psycopg

    try:
        return Connection(Engine.POSTGRESQL, connect_postgres(url, timeout))
    except psycopg.Error as exc:
        raise _connect_error(url, str(exc)) from exc


def _connect_mysql(url: DatabaseURL, timeout: float) -> Connection:
    import pymysql

    try:
        raw = connect_mysql(url, timeout)
    except pymysql.Error as exc:
        raise _connect_error(url, str(exc)) from exc
    conn = Connection(Engine.MYSQL, raw, mariadb="mariadb" in raw.get_server_info().lower())
    conn.session["database"] = url.database
    return conn


def _file_path(url: DatabaseURL) -> str:
    """The database file, which must exist: a query against a mistyped path must not create an empty database."""
    path = url.path or ":memory:"
    if path != ":memory:" and not os.path.isfile(path):
        raise ConnectError(
            f"cannot open {url.masked()}: the file {path!r} does not exist; check the path", target=url.masked()
        )
    return path if path == ":memory:" else os.path.abspath(path)


def _connect_sqlite(url: DatabaseURL, timeout: float) -> Connection:
    import sqlite3

    path = _file_path(url)
    try:
        # autocommit (transactions are explicit); used by one thread at a time, but not always the same one
        raw = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
        raw.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        raise ConnectError(f"cannot open {url.masked()}: {exc}", target=url.masked()) from exc
    return Connection(Engine.SQLITE, raw)


def _connect_duckdb(url: DatabaseURL, timeout: float) -> Connection:
    try:
        import duckdb
    except ImportError as exc:
        raise MissingDriverError("DuckDB targets need duckdb: pip install 'laden[duckdb]'") from exc
    path = _file_path(url)
    try:
        raw = duckdb.connect(path)
    except duckdb.Error as exc:
        raise ConnectError(f"cannot open {url.masked()}: {exc}", target=url.masked()) from exc
    return Connection(Engine.DUCKDB, raw)


_CONNECT: dict[Engine, Callable[[DatabaseURL, float], Connection]] = {
    Engine.POSTGRESQL: _connect_postgres,
    Engine.MYSQL: _connect_mysql,
    Engine.SQLITE: _connect_sqlite,
    Engine.DUCKDB: _connect_duckdb,
}


def _connect_error(url: DatabaseURL, message: str) -> ConnectError:
    # the whole message is scrubbed: a password may also be spelled in the user name, or the database name
    target = scrub(url.masked(), url.secrets())
    reason = message.strip().split("\n")[0]
    text = f"cannot connect to {target}: {reason}. Check host, port, user and password."
    return ConnectError(scrub(text, url.secrets()), target=target)


def connect(url: DatabaseURL | str, timeout: float = 10.0) -> Connection:
    """One new, unpooled connection (the pool's own way of opening them)."""
    parsed = url if isinstance(url, DatabaseURL) else DatabaseURL.parse(url)
    return _CONNECT[parsed.engine](parsed, timeout)


# -- the pool -------------------------------------------------------------------------------------------


class Pool:
    """The connections of one datasource. Thread-safe; see the module docstring."""

    def __init__(self, url: DatabaseURL | str, config: PoolConfig | None = None, *, name: str | None = None) -> None:
        self.url = url if isinstance(url, DatabaseURL) else DatabaseURL.parse(url)
        self.config = config or PoolConfig()
        #: how messages name the datasource: the masked URL unless a name was given
        self.target = scrub(name or self.url.masked(), self.url.secrets())
        self._named = name is not None
        self._cond = threading.Condition()
        self._idle: collections.deque[Connection] = collections.deque()
        self._size = 0  # open connections, idle and in use, plus those being opened
        self._closed = False
        self._warming = False

    def __repr__(self) -> str:
        return f"<Pool {self.target} {self.in_use}/{self.size} in use, max {self.config.max_size}>"

    @property
    def size(self) -> int:
        """Connections open (or being opened), idle or in use."""
        with self._cond:
            return self._size

    @property
    def idle(self) -> int:
        with self._cond:
            return len(self._idle)

    @property
    def in_use(self) -> int:
        with self._cond:
            return self._size - len(self._idle)

    @property
    def closed(self) -> bool:
        return self._closed

    def clean(self, text: str) -> str:
        """``text`` without the password, in any spelling."""
        return scrub(text, self.url.secrets())

    @contextlib.contextmanager
    def connection(self, *, fresh: bool = False) -> Iterator[Connection]:
        """Check a connection out for the ``with`` block. ``fresh`` opens a new one rather than reuse an idle one.

        An exception escaping the block leaves the connection in an unknown state: it is closed, not reused.
        """
        conn = self.acquire(fresh=fresh)
        try:
            yield conn
        except BaseException:
            conn.broken = True
            raise
        finally:
            self.release(conn)

    def acquire(self, *, fresh: bool = False) -> Connection:
        """A connection for the caller alone until :meth:`release`; waits ``connect_timeout`` s if all are in use."""
        deadline = time.monotonic() + self.config.connect_timeout
        stale: list[Connection] = []
        try:
            with self._cond:
                while True:
                    if self._closed:
                        raise ConnectError(f"{self.target}: the connection pool is closed", target=self.target)
                    stale.extend(self._expired())
                    conn = None if fresh else self._take_idle(stale)
                    if conn is not None:
                        return self._checked_out(conn)
                    if fresh and self._idle and self._size >= self.config.max_size:
                        stale.append(self._idle.popleft())  # make room for the fresh one
                        self._size -= 1
                    if self._size < self.config.max_size:
                        self._size += 1  # reserve the slot; open outside the lock
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise self._exhausted()
                    self._cond.wait(remaining)
        finally:
            for old in stale:
                old.close()
        return self._checked_out(self._open())

    def release(self, conn: Connection) -> None:
        """Give ``conn`` back: kept for reuse if healthy, closed if broken or the pool is closed."""
        keep = not conn.broken and not self._closed and conn.is_open()
        with self._cond:
            if keep:
                conn.last_used = time.monotonic()
                self._idle.append(conn)
            else:
                self._size -= 1
            self._cond.notify()
        if not keep:
            conn.close()

    def close(self) -> None:
        """Close the idle connections now, and those in use when they come back. Waiters get a ConnectError."""
        with self._cond:
            self._closed = True
            idle = list(self._idle)
            self._idle.clear()
            self._size -= len(idle)
            self._cond.notify_all()
        for conn in idle:
            conn.close()

    # -- internals ----------------------------------------------------------------------------------
    def _take_idle(self, stale: list[Connection]) -> Connection | None:
        """The most recently used idle connection that is still open (caller holds the lock)."""
        while self._idle:
            conn = self._idle.pop()
            if conn.is_open():
                return conn
            stale.append(conn)
            self._size -= 1
        return None

    def _expired(self) -> list[Connection]:
        """Idle connections beyond ``min_size`` unused for IDLE_SECONDS (caller holds the lock)."""
        expired = []
        now = time.monotonic()
        while self._idle and self._size > self.config.min_size and now - self._idle[0].last_used > IDLE_SECONDS:
            expired.append(self._idle.popleft())
            self._size -= 1
        return expired

    def _open(self) -> Connection:
        """Open a connection for a slot already reserved in ``_size``; the slot is freed if it fails."""
        try:
            return connect(self.url, self.config.connect_timeout)
        except BaseException as exc:
            with self._cond:
                self._size -= 1
                self._cond.notify()
            if isinstance(exc, ConnectError) and self._named:  # the datasource's name, then the driver's story
                raise ConnectError(f"{self.target}: {exc}", target=self.target) from exc
            raise

    def _checked_out(self, conn: Connection) -> Connection:
        conn.last_used = time.monotonic()
        with self._cond:
            warm = not self._warming and not self._closed and self._size < self.config.min_size
            self._warming = self._warming or warm
        if warm:
            threading.Thread(target=self._warm, name=f"laden-pool-warm {self.target}", daemon=True).start()
        return conn

    def _warm(self) -> None:
        """Open idle connections until ``min_size`` are open (background; a failure just stops it)."""
        try:
            while True:
                with self._cond:
                    if self._closed or self._size >= self.config.min_size:
                        return
                    self._size += 1
                try:
                    conn = self._open()
                except LadenError:  # ConnectError / MissingDriverError: every driver failure is wrapped
                    return  # the next checkout reports the problem to someone who can act on it
                self.release(conn)
        finally:
            with self._cond:
                self._warming = False

    def _exhausted(self) -> ConnectError:
        n = self.config.max_size
        busy = "the pool's only connection is in use" if n == 1 else f"all {n} connections of the pool are in use"
        return ConnectError(
            f"{self.target}: {busy} and none came free within {self.config.connect_timeout:g} s; "
            "raise the pool's max_size or connect_timeout, or run fewer queries at once",
            target=self.target,
        )


# -- one pool per datasource per process ----------------------------------------------------------------

_pools: dict[Hashable, Pool] = {}
_pools_lock = threading.Lock()


def pool_for(
    key: Hashable, url: DatabaseURL | str, config: PoolConfig | None = None, *, name: str | None = None
) -> Pool:
    """The process's pool for datasource ``key``, made on first use.

    A pool whose URL or config differ from the ones given (the configuration changed) is
    replaced: the old one is closed, its connections in use are closed when they come back.
    """
    parsed = url if isinstance(url, DatabaseURL) else DatabaseURL.parse(url)
    config = config or PoolConfig()
    old = None
    with _pools_lock:
        pool = _pools.get(key)
        same = pool is not None and pool.url == parsed and pool.config == config
        if pool is not None and same and not pool.closed and (name is None or pool.target == name):
            return pool
        old = pool
        pool = _pools[key] = Pool(parsed, config, name=name)
    if old is not None:
        old.close()
    return pool


def close_pools() -> None:
    """Close every pool made by :func:`pool_for` (also run at interpreter exit)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


atexit.register(close_pools)
