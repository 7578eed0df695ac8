"""Reflect a target's tables into :class:`laden.schema.Schema`.

The caller supplies ``query``, a callable that runs one statement on its own connection
(inside its own transaction) and returns all rows; placeholders are the driver's own:
``%s`` for PostgreSQL (psycopg) and MySQL/MariaDB (pymysql), ``?`` for SQLite (any DB-API
connection, e.g. ADBC) and DuckDB. Table names always travel as parameters; where an
identifier must be spliced (exact row counts) it is quoted.

Common contract of every engine:

* only base tables (no views) of ``namespace`` — PostgreSQL schema (default
  ``current_schema()``), MySQL database (default ``DATABASE()``), SQLite schema (default
  ``main``), DuckDB schema of the current database (default ``current_schema()``);
  ``Table.namespace`` is the ``namespace`` argument as given (None = the default one);
* ``tables`` restricts to those names; missing ones are simply absent;
* tables sorted by name, columns in ordinal order;
* ``unique_constraints`` are UNIQUE constraints (never the primary key); ``indexes`` are
  the other indexes (those made by ``CREATE INDEX``; MySQL: every non-unique index).
  Indexes with an expression key are skipped; a partial unique index is reported with
  ``unique=False`` since it guarantees nothing outside its predicate;
* ``checks`` hold the expression text without the ``CHECK`` keyword; NOT NULL is not a check;
* ``generated`` marks columns the database fills itself — identity, serial / nextval
  defaults, AUTO_INCREMENT, SQLite rowid aliases — and computed (``GENERATED ALWAYS AS``)
  columns, whose ``default`` is None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from laden.errors import UsageError
from laden.reflect._base import Query, RowCounts, quote_ident
from laden.schema import Schema

__all__ = ["ENGINES", "Query", "RowCounts", "quote_ident", "reflect"]

Engine = Literal["postgresql", "mysql", "sqlite", "duckdb"]
ENGINES: tuple[str, ...] = ("postgresql", "mysql", "sqlite", "duckdb")


def reflect(
    engine: Engine,
    query: Query,
    *,
    namespace: str | None = None,
    tables: Sequence[str] | None = None,
    row_counts: RowCounts = RowCounts.EXACT,
) -> Schema:
    """Reflect the base tables of one namespace of ``engine`` through ``query``."""
    if isinstance(tables, str):
        raise UsageError("tables must be a sequence of table names, not a single string")
    if tables is not None and not tables:
        return Schema()
    if not isinstance(row_counts, RowCounts):
        raise UsageError(f"row_counts must be a RowCounts member, got {row_counts!r}")
    if engine == "postgresql":
        from laden.reflect import postgres as module
    elif engine == "mysql":
        from laden.reflect import mysql as module  # type: ignore[no-redef]
    elif engine == "sqlite":
        from laden.reflect import sqlite as module  # type: ignore[no-redef]
    elif engine == "duckdb":
        from laden.reflect import duckdb as module  # type: ignore[no-redef]
    else:
        raise UsageError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    return module.reflect(query, namespace, tables, row_counts)
