"""Bugs found in review, each pinned by the outcome a broken implementation got wrong."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pyarrow as pa
import pytest

import laden
from helpers import create_shop, ddl, rows


def test_upsert_never_moves_a_unique_value_to_another_row(db: Any, target_url: str) -> None:
    """MySQL's ON DUPLICATE KEY fires on any unique key: it overwrote row 1 with row 4's name."""
    create_shop(db)
    assert laden.load({"customers": pa.table({"id": [1], "name": ["Alice"], "email": ["a@x"]})}, target_url).ok
    data = pa.table({"id": [4, 5, 6], "name": ["Mallory", "Eve", "Eve2"], "email": ["a@x", "e@x", "e@x"]})
    report = laden.load({"customers": data}, target_url, strategy="upsert", on_error="reject")
    assert report.ok, str(report)
    reasons = {r.row: r.reason for r in report.targets[0].rejects}
    assert sorted(reasons) == [1, 3]
    assert "already belongs to another row" in reasons[1] and "the same key is in row 2" in reasons[3]
    assert rows(db, "customers") == [(1, "Alice", "a@x"), (5, "Eve", "e@x")]
    assert report.targets[0].tables[0].rows_loaded == 1


def test_upsert_takes_two_rows_without_a_value_in_a_unique_column(db: Any, target_url: str) -> None:
    """The duplicate check grouped NULL emails together: the second customer without an email
    was rejected as a duplicate, though the unique index takes any number of them."""
    create_shop(db)
    assert laden.load({"customers": pa.table({"id": [1], "name": ["Alice"], "email": ["a@x"]})}, target_url).ok
    data = pa.table({"id": [2, 3, 1], "name": ["Bob", "Carol", "Alice"], "email": [None, None, "a@x"]})
    report = laden.load({"customers": data}, target_url, strategy="upsert", on_error="reject")
    assert report.ok, str(report)
    assert report.targets[0].rejects == []
    assert rows(db, "customers") == [(1, "Alice", "a@x"), (2, "Bob", None), (3, "Carol", None)]


def test_text_survives_a_latin1_postgres_database(postgres_url: str, make_db: Any) -> None:
    admin = make_db(postgres_url)
    admin.execute("CREATE DATABASE latin ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    url = postgres_url.rsplit("/", 1)[0] + "/latin"
    try:
        latin = make_db(url)
        latin.execute("CREATE TABLE t (id int PRIMARY KEY, s text)")
        for strategy in ("append", "upsert"):
            report = laden.load({"t": pa.table({"id": [1], "s": ["café"]})}, url, strategy=strategy)
            assert report.ok, str(report)
            assert latin.query("SELECT s, length(s) FROM t") == [("café", 4)]
        latin.close()
    finally:
        admin.execute("DROP DATABASE latin WITH (FORCE)")


def test_password_given_as_a_url_parameter(postgres_url: str, make_db: Any) -> None:
    create_shop(make_db(postgres_url))
    head, _, tail = postgres_url.partition("@")
    user, _, password = head.rpartition("//")[2].partition(":")
    url = f"postgresql://{user}@{tail}?password={password}"
    report = laden.load({"customers": pa.table({"id": [1], "name": ["a"]})}, url)
    assert report.ok, str(report)


def test_sqlite_affinity_would_change_values(sqlite_url: str, make_db: Any) -> None:
    db = make_db(sqlite_url)
    db.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, code STRING, amount DECIMAL(20,2), note TEXT)")
    data = pa.table(
        {
            "id": [1, 2, 3],
            "code": ["A1", "00123", "x"],
            "amount": pa.array(
                [decimal.Decimal("1.50"), decimal.Decimal("2.00"), decimal.Decimal("12345678901234567.89")],
                pa.decimal128(20, 2),
            ),
            "note": ["00123", "n", "n"],
        }
    )
    report = laden.load({"a": data}, sqlite_url, on_error="reject")
    assert report.ok, str(report)
    reasons = {r.row: (r.column, r.reason) for r in report.targets[0].rejects}
    assert sorted(reasons) == [2, 3]
    assert reasons[2][0] == "code" and "declare the column TEXT" in reasons[2][1]
    assert reasons[3][0] == "amount" and "15 significant digits" in reasons[3][1]
    assert db.query("SELECT id, code, note FROM a") == [(1, "A1", "00123")]


def test_sqlite_table_name_with_quoted_dot(sqlite_url: str, make_db: Any) -> None:
    db = make_db(sqlite_url)
    db.execute('CREATE TABLE "x"".""y" (id INTEGER PRIMARY KEY)')
    db.execute("CREATE TABLE y (id INTEGER PRIMARY KEY)")
    report = laden.load({'x"."y': pa.table({"id": [1, 2]})}, sqlite_url)
    assert report.ok, str(report)
    assert db.query('SELECT COUNT(*) FROM "x"".""y"') == [(2,)] and db.count("y") == 0


def test_mariadb_bit_columns_take_booleans(mysql_url: str, make_db: Any) -> None:
    db = make_db(mysql_url)
    db.execute("CREATE TABLE f (id INT PRIMARY KEY, b BIT(1))")
    report = laden.load({"f": pa.table({"id": [1, 2, 3], "b": [True, False, None]})}, mysql_url)
    assert report.ok, str(report)
    assert db.query("SELECT id, b + 0 FROM f ORDER BY id") == [(1, 1), (2, 0), (3, None)]


def test_staged_rows_the_database_refuses_are_rejected(postgres_url: str, make_db: Any) -> None:
    db = make_db(postgres_url)
    db.execute("CREATE TABLE j (id int PRIMARY KEY, doc jsonb, s text)")
    data = pa.table({"id": [1, 2, 3], "doc": ['{"a": 1}', "{not json", "[]"], "s": ["x", "y", "z\x00"]})
    report = laden.load({"j": data}, postgres_url, strategy="upsert", on_error="reject")
    assert report.ok, str(report)
    assert [r.row for r in report.targets[0].rejects] == [2, 3]
    assert db.query("SELECT id FROM j") == [(1,)]


@pytest.mark.parametrize("engine", ["sqlite", "duckdb", "postgresql", "mysql"], indirect=True)
def test_cycle_tables_given_without_their_fk_columns(db: Any, target_url: str, engine: str) -> None:
    db.script(ddl(engine, "CREATE TABLE e (id {bigint} PRIMARY KEY, boss {bigint} REFERENCES e(id));"))
    report = laden.load({"e": pa.table({"id": [1, 2]})}, target_url, strategy="upsert")
    assert report.ok, str(report)
    assert rows(db, "e") == [(1, None), (2, None)]


def test_duckdb_error_is_not_hidden_by_cleanup(duckdb_url: str, make_db: Any) -> None:
    db = make_db(duckdb_url)
    db.script("CREATE TYPE mood AS ENUM ('happy', 'sad'); CREATE TABLE m (id INTEGER PRIMARY KEY, v mood);")
    report = laden.load({"m": pa.table({"id": [1], "v": ["angry"]})}, duckdb_url)
    assert not report.ok
    error = report.targets[0].error or ""
    assert error.startswith(duckdb_url) and "angry" in error


def test_a_refused_row_does_not_take_its_key(db: Any, target_url: str) -> None:
    create_shop(db)
    assert laden.load({"customers": pa.table({"id": [1], "name": ["a"]})}, target_url).ok
    orders = pa.table({"id": [30, 30], "customer_id": [99, 1], "total": ["1.00", "2.00"]})
    report = laden.load({"orders": orders}, target_url, on_error="reject")
    assert report.ok, str(report)
    assert [r.row for r in report.targets[0].rejects] == [1]
    assert [r[:2] for r in rows(db, "orders")] == [(30, 1)]


def test_upsert_on_keys_without_unique_index_refuses_a_new_key_twice(db: Any, target_url: str, engine: str) -> None:
    """PostgreSQL's MERGE inserted a new key given twice both times when no unique index covered the keys."""
    db.script(ddl(engine, "CREATE TABLE prices (sku {text} NOT NULL, region {text} NOT NULL, price {int});"))
    assert laden.load({"prices": pa.table({"sku": ["b"], "region": ["eu"], "price": [2]})}, target_url).ok
    data = pa.table({"sku": ["b", "c", "c"], "region": ["eu", "us", "us"], "price": [25, 30, 40]})
    keys = {"prices": "sku,region"}
    report = laden.load({"prices": data}, target_url, strategy="upsert", keys=keys, on_error="reject")
    if engine == "mysql":  # ON DUPLICATE KEY needs a unique index: refused before anything moves
        assert not report.ok and "needs a PRIMARY KEY or UNIQUE index" in (report.targets[0].error or "")
        assert rows(db, "prices") == [("b", "eu", 2)]
        return
    assert report.ok, str(report)
    [reject] = report.targets[0].rejects
    assert reject.row == 3 and "the same key is in row 2" in reject.reason
    assert rows(db, "prices") == [("b", "eu", 25), ("c", "us", 30)]
    report = laden.load({"prices": data}, target_url, strategy="upsert", keys=keys)
    assert not report.ok and "row 3" in (report.targets[0].error or "")
    assert rows(db, "prices") == [("b", "eu", 25), ("c", "us", 30)]


def test_postgres_sequences_follow_loaded_ids(postgres_url: str, make_db: Any) -> None:
    """Ids loaded into serial / identity columns left the sequences at 1: the next INSERT collided."""
    db = make_db(postgres_url)
    db.execute("CREATE TABLE s (id serial PRIMARY KEY, v text)")
    db.execute("CREATE TABLE i (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text)")
    db.execute("CREATE TABLE ahead (id serial PRIMARY KEY, v text)")
    db.execute("SELECT setval('ahead_id_seq', 100)")  # a sequence already past the loaded ids stays put
    data = pa.table({"id": [3, 1, 5], "v": ["c", "a", "e"]})
    for table in ("s", "i", "ahead"):
        assert laden.load({table: data}, postgres_url).ok
    for table, expected in (("s", 6), ("i", 6), ("ahead", 101)):
        assert db.query(f"INSERT INTO {table} (v) VALUES ('new') RETURNING id") == [(expected,)]
    assert laden.load({"s": pa.table({"id": [7], "v": ["g"]})}, postgres_url, strategy="upsert").ok
    assert db.query("INSERT INTO s (v) VALUES ('newer') RETURNING id") == [(8,)]


def test_sqlite_upsert_rejects_carry_sqlite_words_only(sqlite_url: str, make_db: Any) -> None:
    """The staged upsert's statements failed with the driver's prefix before SQLite's message
    ("INTEGRITY: failed to execute query: FOREIGN KEY constraint failed")."""
    db = make_db(sqlite_url)
    db.script(
        "CREATE TABLE par (id INTEGER PRIMARY KEY); INSERT INTO par VALUES (1);"
        "CREATE TABLE ch (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES par(id), v TEXT CHECK (v <> 'bad'));"
        "INSERT INTO ch VALUES (1, 1, 'x');"
    )
    source = pa.table({"id": [1, 2, 3], "pid": [1, 99, 1], "v": ["y", "z", "bad"]})
    report = laden.load({"ch": source}, sqlite_url, strategy="upsert", on_error="reject")
    assert report.ok, str(report)
    assert sorted((r.row, r.column, r.reason) for r in report.targets[0].rejects) == [
        (2, "pid", "FOREIGN KEY constraint failed"),
        (3, None, "CHECK constraint failed: v <> 'bad'"),
    ]
    assert rows(db, "ch") == [(1, 1, "y")]


@pytest.mark.parametrize("unique", [True, False], ids=["on_conflict", "update_then_insert"])
def test_sqlite_upsert_leaves_rows_already_as_staged_alone(sqlite_url: str, make_db: Any, unique: bool) -> None:
    """Re-running an upsert rewrote every row and fired every UPDATE trigger. A change SQLite's
    collation would hide still counts: 'Ann' -> 'ANN' under NOCASE."""
    db = make_db(sqlite_url)
    key = "PRIMARY KEY" if unique else ""
    db.script(
        f"CREATE TABLE p (id INTEGER {key}, name TEXT COLLATE NOCASE, price NUMERIC, tag TEXT, v REAL);"
        "CREATE TABLE updates (n INTEGER); INSERT INTO updates VALUES (0);"
        "CREATE TRIGGER counted AFTER UPDATE ON p BEGIN UPDATE updates SET n = n + 1; END;"
    )
    first = pa.table(
        {
            "id": [1, 2, 3],
            "name": ["Ann", "Bob", None],
            "price": [1.5, 2.0, None],
            "tag": ["1", "x", None],
            "v": [0.5, 1.0, None],
        }
    )
    assert laden.load({"p": first}, sqlite_url).ok
    again = laden.load({"p": first}, sqlite_url, strategy="upsert", keys={"p": ["id"]})
    assert again.ok, str(again)
    assert db.query("SELECT n FROM updates") == [(0,)]
    changed = pa.table(
        {
            "id": [1, 2, 3, 4],
            "name": ["ANN", "Bob", None, "Dee"],
            "price": [1.5, 2.0, 3.0, None],
            "tag": ["1", "x", None, None],
            "v": [0.5, 1.0, None, None],
        }
    )
    report = laden.load({"p": changed}, sqlite_url, strategy="upsert", keys={"p": ["id"]})
    assert report.ok, str(report)
    assert db.query("SELECT n FROM updates") == [(2,)]
    assert rows(db, "p") == [
        (1, "ANN", 1.5, "1", 0.5),
        (2, "Bob", 2, "x", 1.0),
        (3, None, 3, None, None),
        (4, "Dee", None, None, None),
    ]


BIGINT = {"sqlite": "INTEGER", "duckdb": "BIGINT", "postgresql": "bigint", "mysql": "bigint(20)"}


def test_a_timestamp_into_an_integer_column_is_refused_not_stored_as_a_count(
    db: Any, target_url: str, engine: str
) -> None:
    """Arrow casts a timestamp to int64 as microseconds since 1970: 2024-01-01 was stored as 1704067200000000."""
    db.script(ddl(engine, "CREATE TABLE t (id {bigint} PRIMARY KEY, n {bigint});"))
    data = pa.table({"id": [1], "n": pa.array([dt.datetime(2024, 1, 1)], pa.timestamp("us"))})
    report = laden.load({"t": data}, target_url)
    assert not report.ok
    assert report.targets[0].error == (
        f"{report.targets[0].target}: table 't': column 'n': a timestamp column cannot go into {BIGINT[engine]}: "
        "laden does not turn dates and times into numbers; convert it in the source (to epoch seconds, say) "
        "if that is what you mean"
    )
    assert rows(db, "t") == []
