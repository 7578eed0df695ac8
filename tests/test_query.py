"""Queries (laden.queries.run_query) and connection pools (laden.pool), against real databases."""

from __future__ import annotations

import datetime
import io
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from laden.errors import ConnectError, UsageError
from laden.pool import Pool, PoolConfig, close_pools, pool_for
from laden.queries import QueryResult, run_query
from laden.urls import DatabaseURL

try:
    from .helpers import ddl
except ImportError:  # rootdir-relative tests/ directory
    from helpers import ddl  # type: ignore[no-redef]

READ_ONLY = "the query tried to write, and queries are read-only; pass --write (write=True) to allow writes"

#: a statement that runs for minutes unless stopped
SLOW = {
    "postgresql": "SELECT pg_sleep(30)",
    "mysql": "SELECT SLEEP(30)",
    "sqlite": "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r",
    "duckdb": "SELECT sum(a.range * b.range) FROM range(1000000) a, range(1000000) b",
}
PH = {"postgresql": "%s", "mysql": "%s", "sqlite": "?", "duckdb": "?"}

ITEMS = """
CREATE TABLE items (id {int} PRIMARY KEY, name {text}, price {dec}, born {date});
INSERT INTO items VALUES (1, 'Zoë', 12.50, '2024-02-29');
INSERT INTO items VALUES (2, 'Bob, "the" builder', NULL, NULL);
INSERT INTO items VALUES (3, '', 0.05, '1999-12-31');
"""


def masked(url: str) -> str:
    return DatabaseURL.parse(url).masked()


@contextmanager
def _pool(url: str, **config: Any) -> Iterator[Pool]:
    p = Pool(url, PoolConfig(**{"min_size": 1, "max_size": 1, **config}))
    try:
        yield p
    finally:
        p.close()


@pytest.fixture
def items(target_url: str, engine: str, make_db: Callable[[str], Any]) -> str:
    """target_url with the three-row ``items`` table."""
    make_db(target_url).script(ddl(engine, ITEMS))
    return target_url


@pytest.fixture
def pool(items: str) -> Iterator[Pool]:
    """A one-connection pool on ``items``: every query of a test reuses the same session."""
    with _pool(items, connect_timeout=5) as p:
        yield p


# -- reading ---------------------------------------------------------------------------------------------


def test_select_returns_columns_rows_and_types(items: str, engine: str) -> None:
    result = run_query(items, "SELECT id, name, price, born FROM items ORDER BY id")
    assert result.success, result.error
    assert result.error is None
    assert result.columns == ["id", "name", "price", "born"]
    assert result.row_count == 3
    assert not result.truncated
    assert result.execution_time_ms > 0
    assert [r[:2] for r in result.rows] == [(1, "Zoë"), (2, 'Bob, "the" builder'), (3, "")]
    assert all(isinstance(r, tuple) for r in result.rows)
    price, born = result.rows[0][2:]
    if engine == "sqlite":  # NUMERIC affinity and ISO text: SQLite's own types
        assert (price, born) == (12.5, "2024-02-29")
    else:
        assert (price, born) == (Decimal("12.50"), datetime.date(2024, 2, 29))
    assert result.rows[1][2:] == (None, None)


def test_params_fill_the_drivers_placeholders(items: str, engine: str) -> None:
    ph = PH[engine]
    result = run_query(items, f"SELECT name FROM items WHERE id = {ph} OR name = {ph}", params=[1, ""])
    assert result.success, result.error
    assert sorted(r[0] for r in result.rows) == ["", "Zoë"]


def test_a_percent_sign_without_params_is_just_text(items: str) -> None:
    result = run_query(items, "SELECT name FROM items WHERE name LIKE 'Bob%'")
    assert result.rows == [('Bob, "the" builder',)], result.error


def test_an_sql_error_is_a_failed_result_naming_the_target(items: str) -> None:
    result = run_query(items, "SELECT nosuch FROM items")
    assert not result.success
    assert (result.rows, result.columns, result.row_count) == ([], [], 0)
    assert result.error is not None
    assert result.error.startswith(f"{masked(items)}: the query failed: ")
    assert "nosuch" in result.error


def test_one_statement_at_a_time(items: str, make_db: Callable[[str], Any]) -> None:
    # a COMMIT among several statements would end the read-only transaction
    result = run_query(items, "SELECT 1; DELETE FROM items")
    assert not result.success
    assert result.error is not None and result.error.startswith(masked(items))
    assert make_db(items).count("items") == 3


# -- limit --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "ids", "truncated"),
    [(None, [1, 2, 3], False), (2, [1, 2], True), (3, [1, 2, 3], False), (10, [1, 2, 3], False), (0, [], True)],
)
def test_limit_fetches_at_most_limit_rows(items: str, limit: int | None, ids: list[int], truncated: bool) -> None:
    result = run_query(items, "SELECT id FROM items ORDER BY id", limit=limit)
    assert result.success, result.error
    assert [r[0] for r in result.rows] == ids
    assert result.row_count == len(ids)
    assert result.truncated is truncated
    assert result.columns == ["id"]


def test_limit_on_an_empty_result_keeps_the_columns(items: str) -> None:
    result = run_query(items, "SELECT id, name FROM items WHERE id < 0", limit=5)
    assert (result.success, result.columns, result.rows, result.truncated) == (True, ["id", "name"], [], False)


def test_limit_over_a_huge_result_stops_early(pool: Pool, items: str, engine: str) -> None:
    huge = {
        "postgresql": "SELECT generate_series(1, 1000000000) AS g",  # streams (in FROM it would materialise)
        "mysql": "SELECT a.seq * 1000000 + b.seq FROM seq_0_to_999999 a, seq_0_to_999999 b",
        "sqlite": "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT x FROM r",
        "duckdb": "SELECT * FROM range(1000000000000)",
    }[engine]
    started = time.monotonic()
    result = run_query(items, huge, limit=3, timeout=20, pool=pool)
    assert result.success, result.error
    assert len(result.rows) == 3 and result.truncated
    assert time.monotonic() - started < 10
    # MariaDB drops that connection rather than stream the rest through it; the pool carries on
    assert run_query(items, "SELECT count(*) FROM items", pool=pool).rows == [(3,)]
    assert pool.size == 1


def test_limit_on_a_statement_that_is_not_a_select(items: str, engine: str) -> None:
    # PostgreSQL reads a SELECT through a server-side cursor; anything else runs plainly
    sql = {"postgresql": "SHOW search_path", "mysql": "SHOW DATABASES", "sqlite": "PRAGMA database_list"}
    result = run_query(items, sql.get(engine, "SHOW TABLES"), limit=1)
    assert result.success, result.error
    assert len(result.rows) == 1


# -- read-only and writes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO items (id, name) VALUES (9, 'nine')",
        "UPDATE items SET name = 'x'",
        "DELETE FROM items",
        "CREATE TABLE other (a INTEGER)",  # MariaDB would commit DDL implicitly, outside the transaction
        "DROP TABLE items",
    ],
)
def test_a_write_is_refused_in_read_only(pool: Pool, items: str, make_db: Callable[[str], Any], statement: str) -> None:
    db = make_db(items)
    before = db.query("SELECT id, name FROM items ORDER BY id")
    result = run_query(items, statement, pool=pool)
    assert not result.success
    assert result.error is not None
    assert result.error.splitlines()[0] == f"{masked(items)}: {READ_ONLY}"
    assert len(result.error.splitlines()) == 2  # the database's own reason on the second line
    assert db.query("SELECT id, name FROM items ORDER BY id") == before
    assert db.tables() == {"items"}
    # the connection goes back read-write: a write allowed next on it commits
    again = run_query(items, "INSERT INTO items (id, name) VALUES (8, 'eight')", write=True, pool=pool)
    assert again.success, again.error
    assert pool.size == 1
    assert db.count("items") == 4


def test_write_true_commits(items: str, make_db: Callable[[str], Any]) -> None:
    result = run_query(items, "UPDATE items SET name = 'changed' WHERE id <= 2", write=True)
    assert result.success, result.error
    assert make_db(items).query("SELECT id FROM items WHERE name = 'changed' ORDER BY id") == [(1,), (2,)]


def test_write_true_reports_the_rows_changed(items: str, engine: str) -> None:
    result = run_query(items, "DELETE FROM items WHERE id >= 2", write=True)
    assert result.success, result.error
    if engine == "duckdb":  # DuckDB answers a write with a one-row "Count" result
        assert (result.columns, result.rows) == (["Count"], [(2,)])
    else:
        assert (result.columns, result.rows, result.row_count) == ([], [], 2)


def test_a_failed_write_rolls_back(items: str, make_db: Callable[[str], Any]) -> None:
    result = run_query(items, "INSERT INTO items (id, name) VALUES (4, 'four'), (1, 'dup')", write=True)
    assert not result.success
    assert make_db(items).count("items") == 3


# -- timeout -------------------------------------------------------------------------------------------


def test_timeout_stops_the_query(pool: Pool, items: str, engine: str) -> None:
    started = time.monotonic()
    result = run_query(items, SLOW[engine], timeout=0.5, pool=pool)
    took = time.monotonic() - started
    assert not result.success
    assert result.error == f"{masked(items)}: the query ran longer than the 0.5 s timeout; raise it with --timeout"
    assert 0.4 < took < 10
    # the connection is still good, and the timeout was for that query only
    after = run_query(items, "SELECT count(*) FROM items", pool=pool)
    assert after.success and after.rows[0][0] == 3, after.error
    assert pool.size == 1


# -- logical databases ------------------------------------------------------------------------------------


@pytest.fixture
def two_namespaces(target_url: str, engine: str, make_db: Callable[[str], Any]) -> Iterator[tuple[str, str, str]]:
    """(url, a, b): two logical databases holding a table ``t`` each, with different rows."""
    if engine == "sqlite":
        pytest.skip("SQLite has no logical databases besides main")
    db = make_db(target_url)
    if engine == "mysql":
        a = DatabaseURL.parse(target_url).database or ""
        b = f"{a}_b"
        db.execute(f"CREATE DATABASE {db.quote(b)}")
    else:
        a, b = "sales", 'we"ird ones'
        db.execute(f"CREATE SCHEMA {db.quote(a)}")
        db.execute(f"CREATE SCHEMA {db.quote(b)}")
    for name, value in ((a, "from a"), (b, "from b")):
        t = f"{db.quote(name)}.{db.quote('t')}"
        db.execute(f"CREATE TABLE {t} (v {ddl(engine, '{text}')})")
        db.execute(f"INSERT INTO {t} VALUES ('{value}')")
    yield target_url, a, b
    if engine == "mysql":
        db.execute(f"DROP DATABASE IF EXISTS {db.quote(b)}")


def test_unqualified_names_resolve_in_the_logical_database(two_namespaces: tuple[str, str, str]) -> None:
    url, a, b = two_namespaces
    with _pool(url) as p:
        for name, expected in ((a, "from a"), (b, "from b"), (a, "from a")):  # the same session, switched
            result = run_query(url, "SELECT v FROM t", database=name, pool=p)
            assert result.rows == [(expected,)], result.error
        # without a database, the connection's default again
        engine = DatabaseURL.parse(url).engine.value
        default = {"postgresql": "public", "duckdb": "main"}.get(engine, a)
        current = "SELECT DATABASE()" if engine == "mysql" else "SELECT current_schema()"
        assert run_query(url, current, pool=p).rows == [(default,)]
        assert p.size == 1


def test_the_urls_schema_parameter_is_the_default(two_namespaces: tuple[str, str, str]) -> None:
    url, _, b = two_namespaces
    with_schema = f"{url}?schema={quote(b)}"
    assert run_query(with_schema, "SELECT v FROM t").rows == [("from b",)]


def test_an_unknown_logical_database_is_a_usage_error_listing_those_there(items: str, engine: str) -> None:
    with pytest.raises(UsageError) as caught:
        run_query(items, "SELECT 1", database="nosuch")
    message = str(caught.value)
    assert message.startswith(f"{masked(items)}: there is no ")
    assert "'nosuch'" in message
    existing = {"postgresql": "public", "duckdb": "main", "sqlite": "main"}
    expected = existing.get(engine) or DatabaseURL.parse(items).database
    assert expected is not None and expected in message


def test_sqlite_main_is_its_only_logical_database(
    sqlite_url: str, make_db: Callable[[str], Any], tmp_path: Any
) -> None:
    make_db(sqlite_url).execute("CREATE TABLE items (id INTEGER)")
    with _pool(sqlite_url) as p:
        assert run_query(sqlite_url, "SELECT count(*) FROM items", database="main", pool=p).rows == [(0,)]
        with p.connection() as conn:
            conn.raw.execute(f"ATTACH DATABASE '{tmp_path / 'other.db'}' AS other")
        with pytest.raises(UsageError) as caught:
            run_query(sqlite_url, "SELECT 1", database="other", pool=p)
        assert str(caught.value) == (
            f"{masked(sqlite_url)}: SQLite looks up unqualified names in 'main' first and cannot be told otherwise; "
            "qualify them instead (other.table_name)"
        )
        with pytest.raises(UsageError, match="there is no database 'nosuch'; the databases there: main, other"):
            run_query(sqlite_url, "SELECT 1", database="nosuch", pool=p)


def test_mysql_without_a_default_database_gets_a_clean_session(mysql_url: str) -> None:
    no_default = urlsplit(mysql_url)._replace(path="").geturl()
    name = DatabaseURL.parse(mysql_url).database
    with _pool(no_default) as p:
        assert run_query(no_default, "SELECT DATABASE()", database=name, pool=p).rows == [(name,)]
        # MySQL cannot unselect a database: the next query without one gets a fresh connection
        assert run_query(no_default, "SELECT DATABASE()", pool=p).rows == [(None,)]
        assert p.size == 1


# -- results as JSON and CSV -----------------------------------------------------------------------------


def test_to_dict_and_to_csv_of_real_rows(items: str, engine: str) -> None:
    result = run_query(items, "SELECT id, name, price, born FROM items ORDER BY id")
    data = result.to_dict()
    price = {"sqlite": [12.5, None, 0.05]}.get(engine, ["12.50", None, "0.05"])
    assert data["rows"] == [
        [1, "Zoë", price[0], "2024-02-29"],
        [2, 'Bob, "the" builder', None, None],
        [3, "", price[2], "1999-12-31"],
    ]
    assert {k: data[k] for k in ("success", "columns", "row_count", "truncated", "error")} == {
        "success": True,
        "columns": ["id", "name", "price", "born"],
        "row_count": 3,
        "truncated": False,
        "error": None,
    }
    json.dumps(data)
    out = io.StringIO()
    result.to_csv(out)
    p = [str(v) for v in price]
    assert out.getvalue() == (
        f'id,name,price,born\n1,Zoë,{p[0]},2024-02-29\n2,"Bob, ""the"" builder",,\n3,"",{p[2]},1999-12-31\n'
    )


def test_to_dict_and_to_csv_exact_values() -> None:
    row = (
        Decimal("-1234.5600"),
        datetime.date(2024, 1, 2),
        datetime.datetime(2024, 1, 2, 3, 4, 5, 600000, tzinfo=datetime.timezone.utc),
        datetime.time(23, 59, 1),
        datetime.timedelta(days=1, hours=2, seconds=3.5),
        None,
        "naïve ☃\nline",
        b"\x00\xffhi",
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        True,
        float("nan"),
        {"k": [1, Decimal("2.5")]},
    )
    result = QueryResult(True, [row], [f"c{i}" for i in range(len(row))], 1, None, 1.25)
    assert result.to_dict() == {
        "success": True,
        "columns": [f"c{i}" for i in range(12)],
        "rows": [
            [
                "-1234.5600",
                "2024-01-02",
                "2024-01-02T03:04:05.600000+00:00",
                "23:59:01",
                "P1DT2H3.5S",
                None,
                "naïve ☃\nline",
                "AP9oaQ==",
                "12345678-1234-5678-1234-567812345678",
                True,
                "NaN",
                {"k": [1, "2.5"]},
            ]
        ],
        "row_count": 1,
        "truncated": False,
        "execution_time_ms": 1.25,
        "error": None,
    }
    out = io.StringIO()
    result.to_csv(out)
    assert out.getvalue() == (
        "c0,c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11\n"
        "-1234.5600,2024-01-02,2024-01-02T03:04:05.600000+00:00,23:59:01,P1DT2H3.5S,,"
        '"naïve ☃\nline",AP9oaQ==,12345678-1234-5678-1234-567812345678,true,NaN,"{""k"": [1, ""2.5""]}"\n'
    )


def test_a_failed_result_as_json() -> None:
    failed = QueryResult(False, [], [], 0, "x: the query failed: boom", 2.0)
    assert failed.to_dict()["error"] == "x: the query failed: boom"
    out = io.StringIO()
    failed.to_csv(out)
    assert out.getvalue() == ""


# -- bad arguments -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sql": "  "}, "empty"),
        ({"limit": -1}, "limit"),
        ({"limit": 1.5}, "limit"),
        ({"timeout": 0}, "timeout"),
        ({"params": "abc"}, "params"),
        ({"database": ""}, "database"),
    ],
)
def test_bad_arguments_raise_usage_errors(sqlite_url: str, kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"sql": "SELECT 1", **kwargs}
    with pytest.raises(UsageError, match=match):
        run_query(sqlite_url, **args)


def test_a_missing_database_file_is_not_created(tmp_path: Any) -> None:
    path = tmp_path / "typo.db"
    result = run_query(f"sqlite:///{path}", "SELECT 1")
    assert not result.success
    assert result.error is not None and "does not exist" in result.error
    assert not path.exists()


# -- passwords ------------------------------------------------------------------------------------------


@pytest.fixture(params=["postgresql", "mysql"])
def server_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue({"postgresql": "postgres_url", "mysql": "mysql_url"}[request.param])
    return url


def _with_credentials(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.hostname}:{parts.port}"
    return parts._replace(netloc=netloc).geturl()


def test_a_wrong_password_never_shows(server_url: str) -> None:
    # the password is also the user name, so the server's "authentication failed for user ..." names it
    secret = "Sekr3t-pw"
    url = _with_credentials(server_url, secret, secret)
    result = run_query(url, "SELECT 1")
    assert not result.success
    assert result.error is not None
    assert secret not in result.error
    # the user name is the password here, so it is masked too
    assert result.error.startswith(f"cannot connect to {masked(url).replace(secret, '***')}: ")
    assert "Check host, port, user and password" in result.error
    with _pool(url, min_size=0) as p:
        with pytest.raises(ConnectError) as caught:
            p.acquire()
        assert secret not in str(caught.value)


def test_a_password_in_a_query_error_is_scrubbed(server_url: str) -> None:
    password = DatabaseURL.parse(server_url).password
    assert password
    q = "`" if server_url.startswith("mysql") else '"'
    result = run_query(server_url, f"SELECT * FROM {q}{password}{q}")
    assert not result.success
    assert result.error is not None and password not in result.error
    assert "***" in result.error


# -- pools ------------------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_file(sqlite_url: str, make_db: Callable[[str], Any]) -> str:
    make_db(sqlite_url).execute("CREATE TABLE t (a INTEGER)")
    return sqlite_url


def test_pool_config_is_validated() -> None:
    assert PoolConfig() == PoolConfig(min_size=1, max_size=10, connect_timeout=10.0)
    for bad in ({"max_size": 0}, {"min_size": 3, "max_size": 2}, {"min_size": -1}, {"connect_timeout": 0}):
        with pytest.raises(UsageError):
            PoolConfig(**bad)


def test_pool_opens_lazily_and_reuses_connections(sqlite_file: str) -> None:
    with _pool(sqlite_file, max_size=3) as p:
        assert p.size == 0
        with p.connection() as first:
            assert p.in_use == 1
        with p.connection() as second:
            pass
        assert first is second
        assert (p.size, p.idle, p.in_use) == (1, 1, 0)


def test_pool_waits_when_exhausted_then_says_so(sqlite_file: str) -> None:
    with _pool(sqlite_file, min_size=0, max_size=2, connect_timeout=0.3) as p:
        a, b = p.acquire(), p.acquire()
        assert a is not b and p.in_use == 2
        started = time.monotonic()
        with pytest.raises(ConnectError) as caught:
            p.acquire()
        assert 0.25 < time.monotonic() - started < 3
        assert str(caught.value) == (
            f"{masked(sqlite_file)}: all 2 connections of the pool are in use and none came free within 0.3 s; "
            "raise the pool's max_size or connect_timeout, or run fewer queries at once"
        )
        threading.Timer(0.05, p.release, [a]).start()  # comes free while the next checkout waits
        assert p.acquire() is a
        p.release(a)
        p.release(b)
        assert (p.size, p.idle) == (2, 2)


def test_run_query_on_an_exhausted_pool_fails_with_the_pools_error(sqlite_file: str) -> None:
    with _pool(sqlite_file, connect_timeout=0.2) as p, p.connection():
        result = run_query(sqlite_file, "SELECT 1", pool=p)
    assert not result.success
    assert result.error == (
        f"{masked(sqlite_file)}: the pool's only connection is in use and none came free within 0.2 s; "
        "raise the pool's max_size or connect_timeout, or run fewer queries at once"
    )


def test_pool_keeps_min_size_warm_after_first_use(sqlite_file: str) -> None:
    with _pool(sqlite_file, min_size=3, max_size=5) as p:
        assert p.size == 0
        with p.connection():
            pass
        # size counts a connection from the moment its slot is reserved, idle once it is open and handed back:
        # wait for the warmer to finish opening, not just to reserve
        deadline = time.monotonic() + 10
        while (p.size, p.idle) != (3, 3) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (p.size, p.idle) == (3, 3)
        time.sleep(0.05)
        assert (p.size, p.idle) == (3, 3)  # and it stops at min_size


def test_pool_closes_idle_connections_beyond_min_size(sqlite_file: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with _pool(sqlite_file, min_size=1, max_size=3) as p:
        a, b = p.acquire(), p.acquire()
        p.release(a)
        p.release(b)
        monkeypatch.setattr("laden.pool.IDLE_SECONDS", 0.0)
        time.sleep(0.01)
        with p.connection():
            assert p.size == 1
        assert not a.is_open()


def test_a_closed_pool_refuses_and_closes_what_comes_back(sqlite_file: str) -> None:
    p = Pool(sqlite_file, PoolConfig(min_size=0, max_size=2))
    held = p.acquire()
    p.close()
    with pytest.raises(ConnectError, match="closed"):
        p.acquire()
    p.release(held)
    assert not held.is_open() and p.size == 0


def test_concurrent_queries_share_a_bounded_pool(items: str) -> None:
    results: list[QueryResult] = []
    with _pool(items, max_size=3, connect_timeout=30) as p:
        threads = [
            threading.Thread(target=lambda: results.append(run_query(items, "SELECT count(*) FROM items", pool=p)))
            for _ in range(12)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert p.size <= 3
    assert [r.rows for r in results] == [[(3,)]] * 12, [r.error for r in results]


def test_pool_for_makes_one_pool_per_datasource(sqlite_file: str, duckdb_url: str) -> None:
    try:
        demo = pool_for("demo", sqlite_file, PoolConfig(max_size=2))
        assert pool_for("demo", DatabaseURL.parse(sqlite_file), PoolConfig(max_size=2)) is demo
        other = pool_for("other", duckdb_url)
        assert other is not demo and other.config == PoolConfig()
        resized = pool_for("demo", sqlite_file, PoolConfig(max_size=3))  # the configuration changed
        assert resized is not demo and demo.closed and not resized.closed
        close_pools()
        assert resized.closed and other.closed
        assert not pool_for("demo", sqlite_file).closed
    finally:
        close_pools()


def test_a_named_pool_names_the_datasource_in_messages(sqlite_file: str, tmp_path: Any) -> None:
    p = Pool(sqlite_file, PoolConfig(), name="demo_bank")
    try:
        assert run_query(sqlite_file, "SELECT nosuch", pool=p).error == (
            "demo_bank: the query failed: no such column: nosuch"
        )
    finally:
        p.close()
    missing = f"sqlite:///{tmp_path / 'gone.db'}"
    with pytest.raises(ConnectError, match=r"^demo_bank: cannot open sqlite:///.*gone\.db: the file .* does not exist"):
        Pool(missing, PoolConfig(), name="demo_bank").acquire()


def test_run_query_refuses_a_pool_of_another_database(sqlite_file: str, duckdb_url: str) -> None:
    with _pool(sqlite_file) as p, pytest.raises(UsageError, match="the pool is for"):
        run_query(duckdb_url, "SELECT 1", pool=p)


# -- dropped connections ----------------------------------------------------------------------------------


def test_a_connection_closed_behind_the_pools_back_is_replaced(pool: Pool, items: str) -> None:
    with pool.connection() as conn:
        conn.raw.close()  # the driver's connection: the pool does not know yet
    result = run_query(items, "SELECT count(*) FROM items", pool=pool)
    assert result.rows == [(3,)], result.error
    assert pool.size == 1


@pytest.fixture
def dead_connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every connection a pool opens from now on is already dropped; the list collects them."""
    import laden.pool

    real = laden.pool.connect
    opened: list[Any] = []

    def dead(url: DatabaseURL, timeout: float) -> Any:
        conn = real(url, timeout)
        conn.raw.close()
        opened.append(conn)
        return conn

    monkeypatch.setattr(laden.pool, "connect", dead)
    return opened


def test_a_read_is_retried_once_only(items: str, dead_connections: list[Any]) -> None:
    result = run_query(items, "SELECT count(*) FROM items")
    assert not result.success
    assert result.error is not None
    assert result.error.startswith(f"{masked(items)}: the connection was lost during the query, and again on a fresh")
    assert len(dead_connections) == 2


def test_a_write_is_never_retried(items: str, dead_connections: list[Any], make_db: Callable[[str], Any]) -> None:
    result = run_query(items, "DELETE FROM items", write=True)
    assert not result.success
    assert result.error is not None
    assert result.error.startswith(f"{masked(items)}: the connection was lost during the query (")
    assert result.error.endswith("writes are not retried: check whether it took effect before running it again")
    assert len(dead_connections) == 1
    assert make_db(items).count("items") == 3


SESSION_ID = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}


def _kill(url: str, make_db: Callable[[str], Any], session: int) -> None:
    """Kill a session from another connection, as an administrator would, and wait until it is gone."""
    admin = make_db(url)
    if url.startswith("postgresql"):
        admin.query("SELECT pg_terminate_backend(%s)", [session])
        alive = "SELECT count(*) FROM pg_stat_activity WHERE pid = %s"
    else:
        admin.execute(f"KILL {int(session)}")
        alive = "SELECT count(*) FROM information_schema.processlist WHERE id = %s"
    deadline = time.monotonic() + 10
    while admin.query(alive, [session])[0][0] and time.monotonic() < deadline:
        time.sleep(0.02)


def test_a_killed_connection_is_detected_and_the_read_retried(server_url: str, make_db: Callable[[str], Any]) -> None:
    ask = SESSION_ID[DatabaseURL.parse(server_url).engine.value]
    with _pool(server_url) as p:
        first = run_query(server_url, ask, pool=p)
        assert first.success, first.error
        _kill(server_url, make_db, first.rows[0][0])
        again = run_query(server_url, ask, pool=p)
        assert again.success, again.error
        assert again.rows[0][0] != first.rows[0][0]
        assert p.size == 1


def test_a_write_on_a_killed_connection_is_not_retried(server_url: str, make_db: Callable[[str], Any]) -> None:
    db = make_db(server_url)
    db.execute("CREATE TABLE w (a INTEGER)")
    ask = SESSION_ID[DatabaseURL.parse(server_url).engine.value]
    with _pool(server_url) as p:
        _kill(server_url, make_db, run_query(server_url, ask, pool=p).rows[0][0])
        result = run_query(server_url, "INSERT INTO w VALUES (1)", write=True, pool=p)
        assert not result.success
        assert result.error is not None
        assert result.error.startswith(f"{masked(server_url)}: the connection was lost during the query (")
        assert "writes are not retried" in result.error
        assert db.count("w") == 0
        assert run_query(server_url, "SELECT count(*) FROM w", pool=p).rows == [(0,)]  # replaced
