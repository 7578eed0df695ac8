"""DuckDB reflection from the ``duckdb_*()`` table functions (``?`` marks).

Only tables of the current database (catalog) are seen; ``namespace`` is a schema in it.
DuckDB keeps neither declared VARCHAR lengths nor user-given constraint names (the
reported names are generated, e.g. ``orders_customer_id_id_fkey``), and its foreign keys
are never deferrable. Index keys are read from the ``CREATE INDEX`` text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from laden.reflect._base import (
    Query,
    RowCounts,
    TableBuilder,
    as_bool,
    as_int,
    build_schema,
    exact_counts,
    fill_counts,
    placeholders,
    quote_ident,
)
from laden.reflect._ddl import index_columns, strip_outer_parens
from laden.schema import CheckConstraint, Column, ForeignKey, Index, Schema, TypeKind, UniqueConstraint

_INTS = {
    "TINYINT": (8, False),
    "SMALLINT": (16, False),
    "INTEGER": (32, False),
    "BIGINT": (64, False),
    "HUGEINT": (128, False),
    "UTINYINT": (8, True),
    "USMALLINT": (16, True),
    "UINTEGER": (32, True),
    "UBIGINT": (64, True),
    "UHUGEINT": (128, True),
}
_FLOATS = {"FLOAT": 32, "DOUBLE": 64}
# type -> (kind, fractional-second digits)
_SIMPLE: dict[str, tuple[TypeKind, int | None]] = {
    "VARCHAR": (TypeKind.STRING, None),
    "BOOLEAN": (TypeKind.BOOLEAN, None),
    "DATE": (TypeKind.DATE, None),
    "TIME": (TypeKind.TIME, 6),
    "TIME_NS": (TypeKind.TIME, 9),
    "TIME WITH TIME ZONE": (TypeKind.TIME, 6),
    "TIMESTAMP": (TypeKind.TIMESTAMP, 6),
    "TIMESTAMP_S": (TypeKind.TIMESTAMP, 0),
    "TIMESTAMP_MS": (TypeKind.TIMESTAMP, 3),
    "TIMESTAMP_NS": (TypeKind.TIMESTAMP, 9),
    "TIMESTAMP WITH TIME ZONE": (TypeKind.TIMESTAMP_TZ, 6),
    "JSON": (TypeKind.JSON, None),
    "UUID": (TypeKind.UUID, None),
    "BLOB": (TypeKind.BINARY, None),
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def reflect(query: Query, namespace: str | None, tables: Sequence[str] | None, row_counts: RowCounts) -> Schema:
    rows = query("SELECT current_database(), COALESCE(CAST(? AS VARCHAR), current_schema())", [namespace])
    database, schema = str(rows[0][0]), str(rows[0][1])
    where = "database_name = ? AND schema_name = ?"
    params: list[Any] = [database, schema]
    if tables is not None:
        if not tables:
            return Schema()
        # DuckDB identifiers are case-insensitive (case-preserving), so is this filter
        where += " AND lower(table_name) IN " + placeholders(len(tables), "?")
        params += [name.lower() for name in tables]
    rows = query(f"SELECT table_name, estimated_size FROM duckdb_tables() WHERE {where}", params)
    builders = {str(r[0]): TableBuilder(str(r[0])) for r in rows}
    if not builders:
        return Schema()
    for row in query(
        "SELECT table_name, column_name, data_type, is_nullable, column_default, is_generated,"
        " numeric_precision, numeric_scale"
        f" FROM duckdb_columns() WHERE {where} ORDER BY table_name, column_index",
        params,
    ):
        if row[0] in builders:
            builders[row[0]].columns.append(_column(row))
    _add_constraints(query, where, params, builders)
    _add_indexes(query, where, params, builders)
    if row_counts is RowCounts.ESTIMATE:
        for name, estimate in rows:
            builders[name].row_count = as_int(estimate)
    elif row_counts is RowCounts.EXACT:
        prefix = f"{quote_ident(database)}.{quote_ident(schema)}."
        refs = [(name, prefix + quote_ident(name)) for name in builders]
        fill_counts(builders, exact_counts(query, refs, mark="?"))
    return build_schema(builders.values(), namespace)


def _column(row: tuple[Any, ...]) -> Column:
    _, name, spelled, nullable, default, computed, precision, scale = row
    spelled = str(spelled)
    up = spelled.upper()
    details: dict[str, Any] = {}
    if up in _INTS:
        kind = TypeKind.INTEGER
        details["int_bits"], details["unsigned"] = _INTS[up]
    elif up in _FLOATS:
        kind, details["float_bits"] = TypeKind.FLOAT, _FLOATS[up]
    elif _DECIMAL.fullmatch(up):
        kind, details["precision"], details["scale"] = TypeKind.DECIMAL, as_int(precision), as_int(scale)
    elif up.startswith("ENUM("):
        kind = TypeKind.STRING
    elif up in _SIMPLE:
        kind, digits = _SIMPLE[up]
        if digits is not None:
            details["time_precision"] = digits
    else:
        kind = TypeKind.OTHER  # LIST, STRUCT, MAP, arrays, INTERVAL, BIT, ...
    computed = as_bool(computed)
    default = None if computed or default is None else str(default)
    return Column(
        name=str(name),
        type=spelled,
        kind=kind,
        nullable=as_bool(nullable),
        default=default,
        generated=computed or (default is not None and default.lower().startswith("nextval(")),
        computed=computed,
        **details,
    )


def _add_constraints(query: Query, where: str, params: list[Any], builders: dict[str, TableBuilder]) -> None:
    rows = query(
        "SELECT table_name, constraint_type, constraint_name, constraint_column_names, expression,"
        " referenced_table, referenced_column_names"
        f" FROM duckdb_constraints() WHERE {where} AND constraint_type <> 'NOT NULL'"
        " ORDER BY table_name, constraint_index",
        params,
    )
    for table, kind, name, cols, expression, ref_table, ref_cols in rows:
        if table not in builders:
            continue
        builder = builders[table]
        columns = tuple(str(c) for c in cols or ())
        name = None if name is None else str(name)
        if kind == "PRIMARY KEY":
            builder.primary_key = columns
        elif kind == "UNIQUE":
            builder.unique_constraints.append(UniqueConstraint(columns=columns, name=name))
        elif kind == "CHECK" and expression is not None:
            builder.checks.append(CheckConstraint(expression=strip_outer_parens(str(expression)), name=name))
        elif kind == "FOREIGN KEY" and ref_table is not None and ref_cols:
            ref_columns = tuple(str(c) for c in ref_cols)
            builder.foreign_keys.append(
                ForeignKey(columns=columns, ref_table=str(ref_table), ref_columns=ref_columns, name=name)
            )


def _add_indexes(query: Query, where: str, params: list[Any], builders: dict[str, TableBuilder]) -> None:
    rows = query(f"SELECT table_name, index_name, is_unique, sql FROM duckdb_indexes() WHERE {where}", params)
    for table, name, unique, sql in rows:
        if table not in builders or sql is None:
            continue
        by_lower = {c.name.lower(): c.name for c in builders[table].columns}
        keys = index_columns(str(sql))
        if not keys or any(len(k) != 1 or k[0].kind not in ("word", "ident") for k in keys):
            continue  # expression key: cannot be matched to columns
        names = [k[0].value if k[0].value in by_lower.values() else by_lower.get(k[0].value.lower()) for k in keys]
        if any(n is None for n in names):
            continue
        builders[table].indexes.append(
            Index(name=str(name), columns=tuple(str(n) for n in names), unique=as_bool(unique))
        )
