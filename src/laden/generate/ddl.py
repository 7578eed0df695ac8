"""``CREATE TABLE`` for a laden :class:`~laden.schema.Schema` on PostgreSQL, MySQL/MariaDB, SQLite, DuckDB.

:func:`create_tables` creates the tables that are missing, parents first, each with its
primary key, foreign keys, unique keys and checks, identifiers quoted by the engine, all in one
transaction where the engine has transactional DDL (MySQL commits each statement itself).

A table that already exists is left alone when it has the same shape — the same column names
(as the engine folds them) and the same primary key — and is refused otherwise, before anything
is created: laden never drops or alters a table it did not create.
"""

from __future__ import annotations

from collections.abc import Sequence

from laden.errors import UsageError
from laden.graph import load_order
from laden.schema import Column, Schema, Table, TypeKind
from laden.targets import SqlBackend, backend_for
from laden.urls import Engine

__all__ = ["column_type", "create_sql", "create_tables"]

_INT = {
    Engine.POSTGRESQL: ("integer", "bigint"),
    Engine.MYSQL: ("INT", "BIGINT"),
    Engine.SQLITE: ("INTEGER", "INTEGER"),
    Engine.DUCKDB: ("INTEGER", "BIGINT"),
}
_SIMPLE = {
    TypeKind.FLOAT: {Engine.POSTGRESQL: "double precision", Engine.MYSQL: "DOUBLE", Engine.SQLITE: "REAL",
                     Engine.DUCKDB: "DOUBLE"},
    TypeKind.DATE: dict.fromkeys(Engine, "DATE"),
    TypeKind.TIMESTAMP: {Engine.POSTGRESQL: "timestamp(6)", Engine.MYSQL: "DATETIME(6)", Engine.SQLITE: "TIMESTAMP",
                         Engine.DUCKDB: "TIMESTAMP"},
    TypeKind.BOOLEAN: dict.fromkeys(Engine, "BOOLEAN"),
}  # fmt: skip


def column_type(engine: Engine, column: Column) -> str:
    """The engine's spelling of ``column``'s type (integers, decimals, strings, floats, dates, timestamps)."""
    if column.kind is TypeKind.INTEGER:
        return _INT[engine][1 if (column.int_bits or 64) > 32 else 0]
    if column.kind is TypeKind.DECIMAL:
        return f"DECIMAL({column.precision or 18},{column.scale or 0})"
    if column.kind is TypeKind.STRING:
        if engine is Engine.DUCKDB or (column.max_length is None and engine is not Engine.MYSQL):
            return "VARCHAR" if engine is Engine.DUCKDB else "TEXT"
        return f"VARCHAR({column.max_length or 255})"
    if column.kind in _SIMPLE:
        return _SIMPLE[column.kind][engine]
    raise UsageError(f"column {column.name!r}: laden cannot create a {column.kind.value} column")


def create_sql(backend: SqlBackend, table: Table) -> str:
    """The ``CREATE TABLE`` statement of ``table`` for ``backend``'s engine."""
    q = backend.quote
    lines = [f"{q(c.name)} {column_type(backend.engine, c)}{'' if c.nullable else ' NOT NULL'}" for c in table.columns]
    if table.primary_key:
        lines.append(f"PRIMARY KEY ({backend.cols(table.primary_key)})")
    for u in table.unique_constraints:
        lines.append(f"{'CONSTRAINT ' + q(u.name) + ' ' if u.name else ''}UNIQUE ({backend.cols(u.columns)})")
    for fk in table.foreign_keys:
        name = f"CONSTRAINT {q(fk.name)} " if fk.name else ""
        lines.append(
            f"{name}FOREIGN KEY ({backend.cols(fk.columns)}) "
            f"REFERENCES {backend.qualified(fk.ref_table)} ({backend.cols(fk.ref_columns)})"
        )
    for check in table.checks:
        lines.append(f"{'CONSTRAINT ' + q(check.name) + ' ' if check.name else ''}CHECK ({check.expression})")
    body = ",\n  ".join(lines)
    return f"CREATE TABLE {backend.qualified(table.name)} (\n  {body}\n)"


def _same_shape(want: Table, have: Table) -> str | None:
    """None when ``have`` (reflected) matches ``want``, else what differs."""
    fold = str.lower
    want_cols, have_cols = [fold(c) for c in want.column_names], [fold(c) for c in have.column_names]
    if sorted(want_cols) != sorted(have_cols):
        missing = sorted(set(want_cols) - set(have_cols))
        extra = sorted(set(have_cols) - set(want_cols))
        return f"columns differ (missing: {', '.join(missing) or '-'}; unexpected: {', '.join(extra) or '-'})"
    if [fold(c) for c in want.primary_key] != [fold(c) for c in have.primary_key]:
        return f"primary key is ({', '.join(have.primary_key) or 'none'}), expected ({', '.join(want.primary_key)})"
    return None


def create_tables(target_url: str, schema: Schema, *, namespace: str | None = None) -> list[str]:
    """Create the tables of ``schema`` missing at ``target_url`` (parents first); return the created names.

    Tables already there with the same columns and primary key are kept as they are; one with a
    different shape is an error naming the difference, raised before any table is created.
    """
    backend = backend_for(target_url, namespace=namespace)
    order = load_order(schema.tables)
    if order.cycles:
        raise UsageError("cannot create tables whose foreign keys form a cycle")
    tables = [t for name in order.tables for t in schema.tables if t.name == name]
    backend.connect()
    try:
        existing = backend.reflect([t.name for t in tables])
        fold = backend.caps.fold_case
        todo: list[Table] = []
        for table in tables:
            found = existing.table(table.name, fold_case=fold)
            if found is None:
                todo.append(table)
            elif (problem := _same_shape(table, found)) is not None:
                raise UsageError(
                    f"{backend.name}: table {table.name!r} already exists with another shape: {problem}; "
                    "drop or rename it, or load into another database"
                )
        _run(backend, [create_sql(backend, t) for t in todo])
        return [t.name for t in todo]
    finally:
        backend.close()


def _run(backend: SqlBackend, statements: Sequence[str]) -> None:
    if not statements:
        return
    backend.begin()
    try:
        for sql in statements:
            backend.execute(sql)
        backend.commit()
    except BaseException:
        backend.rollback()
        raise
