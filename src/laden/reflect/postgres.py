"""PostgreSQL reflection from ``pg_catalog`` (psycopg ``%s`` placeholders).

Four catalog queries for the whole namespace (tables, columns, constraints, indexes)
plus one batched ``count(*)`` statement for exact row counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from laden.reflect._base import (
    Query,
    RowCounts,
    TableBuilder,
    as_int,
    build_schema,
    exact_counts,
    fill_counts,
    quote_ident,
)
from laden.reflect._ddl import strip_outer_parens
from laden.schema import CheckConstraint, Column, ForeignKey, Index, Schema, TypeKind, UniqueConstraint

# Every catalog query filters on these; parameters: schema name, names array, names array.
_FILTER = """n.nspname = %s AND c.relkind IN ('r', 'p')
  AND (%s::text[] IS NULL OR c.relname = ANY(%s::text[]))"""

_TABLES = """
SELECT c.relname, n.nspname, c.reltuples
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = COALESCE(%s, current_schema()) AND c.relkind IN ('r', 'p')
  AND (%s::text[] IS NULL OR c.relname = ANY(%s::text[]))
"""

_COLUMNS = f"""
SELECT c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
       a.attnotnull OR COALESCE(t.typnotnull, false),
       pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
       COALESCE(bt.typname, t.typname),
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END,
       COALESCE(bt.typtype, t.typtype), COALESCE(bt.typcategory, t.typcategory)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND {_FILTER}
ORDER BY c.relname, a.attnum
"""

_CONSTRAINTS = f"""
SELECT c.relname, con.conname, con.contype,
  ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
        JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num
        ORDER BY k.ord),
  rc.relname,
  ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
        JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num
        ORDER BY k.ord),
  con.condeferrable, con.condeferred, pg_catalog.pg_get_expr(con.conbin, con.conrelid)
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
WHERE con.contype IN ('p', 'u', 'f', 'c') AND {_FILTER}
"""

# Indexes that do not back a PRIMARY KEY / UNIQUE / EXCLUDE constraint.
_INDEXES = f"""
SELECT c.relname, ic.relname, ix.indisunique, ix.indpred IS NOT NULL, ix.indexprs IS NOT NULL,
  ARRAY(SELECT a.attname::text FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(num, ord)
        LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.num
        WHERE k.ord <= ix.indnkeyatts ORDER BY k.ord)
FROM pg_catalog.pg_index ix
JOIN pg_catalog.pg_class ic ON ic.oid = ix.indexrelid
JOIN pg_catalog.pg_class c ON c.oid = ix.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE NOT ix.indisprimary AND NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_constraint k
    WHERE k.conrelid = ix.indrelid AND k.conindid = ix.indexrelid AND k.contype IN ('p', 'u', 'x'))
  AND {_FILTER}
"""

_INTS = {"int2": 16, "int4": 32, "int8": 64}
_FLOATS = {"float4": 32, "float8": 64}
_SIMPLE = {
    "bool": TypeKind.BOOLEAN,
    "date": TypeKind.DATE,
    "time": TypeKind.TIME,
    "timetz": TypeKind.TIME,
    "timestamp": TypeKind.TIMESTAMP,
    "timestamptz": TypeKind.TIMESTAMP_TZ,
    "json": TypeKind.JSON,
    "jsonb": TypeKind.JSON,
    "uuid": TypeKind.UUID,
    "bytea": TypeKind.BINARY,
    "text": TypeKind.STRING,
    "varchar": TypeKind.STRING,
    "bpchar": TypeKind.STRING,
    "name": TypeKind.STRING,
    "char": TypeKind.STRING,
    "citext": TypeKind.STRING,
}
_TIMES = ("time", "timetz", "timestamp", "timestamptz")


def reflect(query: Query, namespace: str | None, tables: Sequence[str] | None, row_counts: RowCounts) -> Schema:
    names = list(tables) if tables is not None else None
    rows = query(_TABLES, [namespace, names, names])
    if not rows:
        return Schema()
    nsp = str(rows[0][1])
    builders = {str(r[0]): TableBuilder(str(r[0])) for r in rows}
    params: list[Any] = [nsp, names, names]
    for row in query(_COLUMNS, params):
        if row[0] in builders:
            builders[row[0]].columns.append(_column(row))
    for row in query(_CONSTRAINTS, params):
        if row[0] in builders:
            _add_constraint(builders[row[0]], row)
    for row in query(_INDEXES, params):
        if row[0] in builders:
            _add_index(builders[row[0]], row)
    if row_counts is RowCounts.ESTIMATE:
        for name, _, reltuples in rows:
            estimate = float(reltuples)
            builders[name].row_count = None if estimate < 0 else round(estimate)
    elif row_counts is RowCounts.EXACT:
        refs = [(name, f"{quote_ident(nsp)}.{quote_ident(name)}") for name in builders]
        fill_counts(builders, exact_counts(query, refs, mark="%s", label="CAST({} AS text)"))
    return build_schema(builders.values(), namespace)


def _column(row: tuple[Any, ...]) -> Column:
    _, name, spelled, notnull, default, identity, generated_expr, typname, typmod, typtype, category = row
    typmod = as_int(typmod)
    mod = typmod if typmod is not None and typmod >= 0 else None
    kind = _SIMPLE.get(typname, TypeKind.OTHER)
    extra: dict[str, Any] = {}
    if category == "A":
        kind = TypeKind.OTHER
    elif typtype == "e":
        kind = TypeKind.STRING
    elif typname in _INTS:
        kind, extra["int_bits"] = TypeKind.INTEGER, _INTS[typname]
    elif typname in _FLOATS:
        kind, extra["float_bits"] = TypeKind.FLOAT, _FLOATS[typname]
    elif typname == "numeric":
        kind = TypeKind.DECIMAL
        if mod is not None and mod >= 4:
            extra["precision"] = ((mod - 4) >> 16) & 0xFFFF
            extra["scale"] = (((mod - 4) & 0x7FF) ^ 1024) - 1024
    elif typname in ("varchar", "bpchar") and mod is not None and mod >= 4:
        extra["max_length"] = mod - 4
    elif typname in _TIMES and mod is not None:
        extra["time_precision"] = mod
    identity = identity or ""
    generated_expr = generated_expr or ""
    generated = bool(identity) or bool(generated_expr)
    if generated_expr:  # GENERATED ALWAYS AS (expr) STORED: the expression is no default
        default = None
    elif default is not None and str(default).startswith("nextval("):
        generated = True
    return Column(
        name=str(name),
        type=str(spelled),
        kind=kind,
        nullable=not notnull,
        default=None if default is None else str(default),
        generated=generated,
        computed=bool(generated_expr) or identity == "a",
        **extra,
    )


def _add_constraint(table: TableBuilder, row: tuple[Any, ...]) -> None:
    _, name, contype, cols, ref_table, ref_cols, deferrable, deferred, check = row
    columns = tuple(str(c) for c in cols or ())
    if contype == "p":
        table.primary_key = columns
    elif contype == "u":
        table.unique_constraints.append(UniqueConstraint(columns=columns, name=str(name)))
    elif contype == "f":
        table.foreign_keys.append(
            ForeignKey(
                columns=columns,
                ref_table=str(ref_table),
                ref_columns=tuple(str(c) for c in ref_cols or ()),
                name=str(name),
                deferrable=bool(deferrable),
                initially_deferred=bool(deferred),
            )
        )
    elif contype == "c" and check is not None:
        table.checks.append(CheckConstraint(expression=strip_outer_parens(str(check)), name=str(name)))


def _add_index(table: TableBuilder, row: tuple[Any, ...]) -> None:
    _, name, unique, partial, has_exprs, cols = row
    if has_exprs or not cols or any(c is None for c in cols):
        return  # expression indexes cannot be matched to columns
    # A partial unique index guarantees uniqueness only where its predicate holds.
    table.indexes.append(Index(name=str(name), columns=tuple(cols), unique=bool(unique) and not partial))
