"""The test infrastructure itself: servers, fresh databases, TestDB (no laden code)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import TestDB


def _create_t(db: TestDB) -> None:
    db.execute(f"CREATE TABLE {db.quote('t')} (id INTEGER PRIMARY KEY, name VARCHAR(50))")


def test_engine_ids(engine: str, request: pytest.FixtureRequest) -> None:
    assert engine in ("sqlite", "duckdb", "postgresql", "mysql")
    assert request.node.name == f"test_engine_ids[{engine}]"


def test_roundtrip(db: TestDB) -> None:
    assert db.tables() == set()
    _create_t(db)
    db.execute(f"INSERT INTO t (id, name) VALUES ({db.ph}, {db.ph})", (1, "héllo ✓ 日本"))
    assert db.query("SELECT id, name FROM t") == [(1, "héllo ✓ 日本")]
    assert db.query(f"SELECT name FROM t WHERE id = {db.ph}", [1]) == [("héllo ✓ 日本",)]
    assert db.count("t") == 1
    assert db.tables() == {"t"}


def test_database_starts_empty(db: TestDB) -> None:
    # Same table name as test_roundtrip: would fail if databases were shared.
    assert db.tables() == set()
    _create_t(db)
    assert db.count("t") == 0


def test_script_and_quoting(db: TestDB) -> None:
    odd = db.quote('odd "name`')
    db.script(
        f"CREATE TABLE {odd} (x INTEGER);\n"
        f"INSERT INTO {odd} VALUES (1);\n"
        f"INSERT INTO {odd} VALUES (2);\n"
        "CREATE TABLE other (y INTEGER);\n"
    )
    assert db.count('odd "name`') == 2
    assert db.tables() == {'odd "name`', "other"}
    assert db.query(f"SELECT x FROM {odd} ORDER BY x") == [(1,), (2,)]


def test_failing_statement_raises(db: TestDB) -> None:
    with pytest.raises(Exception, match=r"(?i)no_such_table|doesn't exist|does not exist"):
        db.query("SELECT * FROM no_such_table")
    # the connection is still usable afterwards
    assert db.query("SELECT 1") == [(1,)]


def test_url_shapes(engine: str, target_url: str, tmp_path: os.PathLike[str]) -> None:
    if engine == "sqlite":
        assert target_url == f"sqlite:///{tmp_path}/test.db"
        assert target_url.startswith("sqlite:////")
    elif engine == "duckdb":
        assert target_url == f"duckdb:///{tmp_path}/test.duckdb"
    elif engine == "postgresql":
        assert target_url.startswith("postgresql://")
        assert "/laden_t" in target_url
    else:
        assert target_url.startswith("mysql://")
        assert "/laden_t" in target_url


def test_make_db_fixture(make_db: Callable[[str], TestDB], sqlite_url: str, duckdb_url: str) -> None:
    a, b = make_db(sqlite_url), make_db(duckdb_url)
    assert (a.engine, b.engine) == ("sqlite", "duckdb")
    for d in (a, b):
        d.execute("CREATE TABLE x (i INTEGER)")
        assert d.tables() == {"x"}


def test_sqlite_foreign_keys_on(make_db: Callable[[str], TestDB], sqlite_url: str) -> None:
    db = make_db(sqlite_url)
    assert db.query("PRAGMA foreign_keys") == [(1,)]
    db.script("CREATE TABLE p (id INTEGER PRIMARY KEY);\nCREATE TABLE c (pid INTEGER REFERENCES p(id));\n")
    with pytest.raises(Exception, match="FOREIGN KEY"):
        db.execute("INSERT INTO c VALUES (42)")


def test_duckdb_file_not_held_open(make_db: Callable[[str], TestDB], duckdb_url: str) -> None:
    db = make_db(duckdb_url)
    db.execute("CREATE TABLE x (i INTEGER)")
    db.execute("INSERT INTO x VALUES (7)")
    assert db.count("x") == 1
    # Another process can only open the file read-write if we hold no lock on it.
    code = textwrap.dedent(
        f"""
        import duckdb
        con = duckdb.connect({db.path!r})
        con.execute("INSERT INTO x VALUES (8)")
        con.close()
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert db.query("SELECT i FROM x ORDER BY i") == [(7,), (8,)]


@pytest.mark.server
def test_mysql_server_settings(make_db: Callable[[str], TestDB], mysql_url: str) -> None:
    db = make_db(mysql_url)
    assert db.query("SELECT @@local_infile") == [(1,)]
    (sql_mode,) = db.query("SELECT @@sql_mode")[0]
    assert "STRICT_TRANS_TABLES" in sql_mode.split(",")
    assert db.query("SELECT @@character_set_database") == [("utf8mb4",)]
    assert db.query("SELECT DATABASE()") == [(mysql_url.rsplit("/", 1)[1],)]


@pytest.mark.server
def test_mysql_user_has_all_privileges(make_db: Callable[[str], TestDB], mysql_server_url: str) -> None:
    db = make_db(mysql_server_url)
    grants = " ".join(r[0] for r in db.query("SHOW GRANTS"))
    assert "GRANT ALL PRIVILEGES ON *.*" in grants
    assert "WITH GRANT OPTION" in grants


@pytest.mark.server
def test_postgres_server_settings(make_db: Callable[[str], TestDB], postgres_url: str) -> None:
    db = make_db(postgres_url)
    assert db.query("SHOW server_encoding") == [("UTF8",)]
    assert db.query("SELECT current_database()") == [(postgres_url.rsplit("/", 1)[1],)]
    assert db.query("SELECT rolsuper FROM pg_roles WHERE rolname = current_user") == [(True,)]
