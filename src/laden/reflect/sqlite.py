"""SQLite reflection through plain SQL over the pragma table-valued functions (``?`` marks).

Works over any DB-API connection (the ADBC SQLite driver included): no sqlite3-module
APIs. Types follow SQLite's declared-type affinity rules. Foreign-key names and
deferrability, CHECK constraints and UNIQUE-constraint names come from the stored
``CREATE TABLE`` text (see :mod:`laden.reflect._ddl`).

``indexes`` holds the indexes made by ``CREATE INDEX``; the automatic indexes behind
PRIMARY KEY and UNIQUE constraints are reported as those constraints instead.
"""

from __future__ import annotations

import re
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
    placeholders,
    quote_ident,
)
from laden.reflect._ddl import ParsedForeignKey, ParsedTable, parse_create_table
from laden.schema import CheckConstraint, Column, ForeignKey, Index, Schema, TypeKind, UniqueConstraint

_LIST = "pragma_table_list l"
_WHERE = "l.schema = ? AND l.type = 'table' AND l.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"

_DECIMAL = re.compile(r"\(\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?\)")
# Declared-type keywords of NUMERIC affinity, checked in this order.
_NUMERIC_KINDS = (
    ("DEC", TypeKind.DECIMAL),
    ("NUMERIC", TypeKind.DECIMAL),
    ("BOOL", TypeKind.BOOLEAN),
    ("TIMESTAMPTZ", TypeKind.TIMESTAMP_TZ),
    ("WITH TIME ZONE", TypeKind.TIMESTAMP_TZ),
    ("DATETIME", TypeKind.TIMESTAMP),
    ("TIMESTAMP", TypeKind.TIMESTAMP),
    ("DATE", TypeKind.DATE),
    ("TIME", TypeKind.TIME),
    ("JSON", TypeKind.JSON),
    ("UUID", TypeKind.UUID),
)


def reflect(query: Query, namespace: str | None, tables: Sequence[str] | None, row_counts: RowCounts) -> Schema:
    schema = namespace or "main"
    where, params = _WHERE, [schema]
    if tables is not None:
        if not tables:
            return Schema()
        # SQLite identifiers are case-insensitive (ASCII), so is this filter
        where += " AND l.name COLLATE NOCASE IN " + placeholders(len(tables), "?")
        params += list(tables)
    master = f"{quote_ident(schema)}.sqlite_master"
    rows = query(
        f"SELECT l.name, l.wr, m.sql FROM {_LIST} JOIN {master} m ON m.type = 'table' AND m.name = l.name"
        f" WHERE {where}",
        params,
    )
    builders = {str(r[0]): TableBuilder(str(r[0])) for r in rows}
    if not builders:
        return Schema()
    parsed = {str(r[0]): parse_create_table(str(r[2] or "")) for r in rows}
    without_rowid = {str(r[0]) for r in rows if as_int(r[1])}
    pk_index = _add_indexes(query, where, params, builders, parsed)
    _add_columns(query, where, params, builders, without_rowid, pk_index)
    _add_foreign_keys(query, where, params, builders, parsed, schema)
    for name, table in parsed.items():
        builders[name].checks.extend(CheckConstraint(expression=e, name=n) for n, e in table.checks)
    if row_counts is not RowCounts.NONE:  # an exact count is SQLite's only estimate
        refs = [(name, f"{quote_ident(schema)}.{quote_ident(name)}") for name in builders]
        fill_counts(builders, exact_counts(query, refs, mark="?"))
    return build_schema(builders.values(), namespace)


def _add_columns(
    query: Query,
    where: str,
    params: list[Any],
    builders: dict[str, TableBuilder],
    without_rowid: set[str],
    pk_index: set[str],
) -> None:
    """Columns in order, plus the primary key. A single ``INTEGER`` primary key is a rowid
    alias unless the table is WITHOUT ROWID or the key has an index (``PRIMARY KEY DESC``)."""
    rows = query(
        'SELECT l.name, p.cid, p.name, p.type, p."notnull", p.dflt_value, p.pk, p.hidden'
        f" FROM {_LIST} JOIN pragma_table_xinfo(l.name, l.schema) p WHERE {where}"
        " ORDER BY l.name, p.cid",
        params,
    )
    rows = [r for r in rows if as_int(r[7]) != 1]  # hidden columns of virtual tables
    pks: dict[str, list[tuple[int, str]]] = {}
    for table, _, name, _, _, _, pk, _ in rows:
        if as_int(pk):
            pks.setdefault(table, []).append((int(pk), str(name)))
    for table, builder in builders.items():
        builder.primary_key = tuple(name for _, name in sorted(pks.get(table, [])))
    for table, _, name, declared, notnull, default, pk, hidden in rows:
        builder = builders[table]
        declared = str(declared or "")
        alias = (
            builder.primary_key == (name,)
            and declared.upper() == "INTEGER"
            and table not in without_rowid
            and table not in pk_index
        )
        computed = as_int(hidden) in (2, 3)  # GENERATED ALWAYS AS (...) VIRTUAL / STORED
        kind, details = _kind(declared)
        builder.columns.append(
            Column(
                name=str(name),
                type=declared,
                kind=kind,
                # rowid aliases and WITHOUT ROWID primary keys can never hold NULL
                nullable=not (as_int(notnull) or alias or (as_int(pk) and table in without_rowid)),
                default=None if computed or default is None else str(default),
                generated=alias or computed,
                computed=computed,
                **details,
            )
        )


def _kind(declared: str) -> tuple[TypeKind, dict[str, Any]]:
    """Kind and detail fields of a declared type by SQLite's affinity rules."""
    up = declared.upper()
    if "INT" in up:
        return TypeKind.INTEGER, {"int_bits": 64}
    if "CHAR" in up or "CLOB" in up or "TEXT" in up:
        return TypeKind.STRING, {}
    if "BLOB" in up:
        return TypeKind.BINARY, {}
    if not up.strip():
        return TypeKind.OTHER, {}
    if "REAL" in up or "FLOA" in up or "DOUB" in up:
        return TypeKind.FLOAT, {"float_bits": 64}
    for word, kind in _NUMERIC_KINDS:
        if word in up:
            match = _DECIMAL.search(up) if kind is TypeKind.DECIMAL else None
            if match:
                scale = int(match.group(2)) if match.group(2) else 0
                return kind, {"precision": int(match.group(1)), "scale": scale}
            return kind, {}
    return TypeKind.OTHER, {}


def _add_indexes(
    query: Query,
    where: str,
    params: list[Any],
    builders: dict[str, TableBuilder],
    parsed: dict[str, ParsedTable],
) -> set[str]:
    """Unique constraints and CREATE INDEX indexes; returns the tables with a PK index."""
    rows = query(
        'SELECT l.name, il.name, il."unique", il.origin, il.partial, ii.cid, ii.name'
        f" FROM {_LIST} JOIN pragma_index_list(l.name, l.schema) il"
        f" JOIN pragma_index_info(il.name, l.schema) ii WHERE {where}"
        " ORDER BY l.name, il.name, ii.seqno",
        params,
    )
    grouped: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for row in rows:
        grouped.setdefault((str(row[0]), str(row[1])), []).append(row)
    with_pk_index: set[str] = set()
    for (table, index), parts in grouped.items():
        _, _, unique, origin, partial, _, _ = parts[0]
        if origin == "pk":
            with_pk_index.add(table)
            continue
        if any((as_int(p[5]) or 0) < 0 or p[6] is None for p in parts):
            continue  # expression or rowid key column
        columns = tuple(str(p[6]) for p in parts)
        if origin == "u":
            names = [n for n, cols in parsed[table].uniques if cols == columns]
            builders[table].unique_constraints.append(UniqueConstraint(columns, names[0] if names else None))
        else:
            is_unique = bool(as_int(unique)) and not as_int(partial)
            builders[table].indexes.append(Index(name=index, columns=columns, unique=is_unique))
    return with_pk_index


def _add_foreign_keys(
    query: Query,
    where: str,
    params: list[Any],
    builders: dict[str, TableBuilder],
    parsed: dict[str, ParsedTable],
    schema: str,
) -> None:
    rows = query(
        'SELECT l.name, f.id, f."table", f."from", f."to"'
        f" FROM {_LIST} JOIN pragma_foreign_key_list(l.name, l.schema) f WHERE {where}"
        " ORDER BY l.name, f.id, f.seq",
        params,
    )
    grouped: dict[tuple[str, int], list[tuple[Any, ...]]] = {}
    for row in rows:
        grouped.setdefault((str(row[0]), int(row[1])), []).append(row)
    for (table, _), parts in sorted(grouped.items()):
        ref_table = str(parts[0][2])
        columns = tuple(str(p[3]) for p in parts)
        ref_columns = tuple(str(p[4]) for p in parts if p[4] is not None)
        if len(ref_columns) != len(columns):  # REFERENCES t without columns: t's primary key
            ref_columns = _primary_key(query, builders, ref_table, schema)
        clause = _match_clause(parsed[table], columns, ref_table)
        builders[table].foreign_keys.append(
            ForeignKey(
                columns=columns,
                ref_table=ref_table,
                ref_columns=ref_columns,
                name=clause.name if clause else None,
                deferrable=clause.deferrable if clause else False,
                initially_deferred=clause.initially_deferred if clause else False,
            )
        )


def _match_clause(parsed: ParsedTable, columns: tuple[str, ...], ref_table: str) -> ParsedForeignKey | None:
    """The first not yet matched parsed FOREIGN KEY clause with these columns and target."""
    want = (tuple(c.lower() for c in columns), ref_table.lower())
    for i, fk in enumerate(parsed.foreign_keys):
        if (tuple(c.lower() for c in fk.columns), fk.ref_table.lower()) == want:
            return parsed.foreign_keys.pop(i)
    return None


def _primary_key(query: Query, builders: dict[str, TableBuilder], table: str, schema: str) -> tuple[str, ...]:
    if table in builders and builders[table].primary_key:
        return builders[table].primary_key
    rows = query("SELECT name, pk FROM pragma_table_info(?, ?) WHERE pk > 0 ORDER BY pk", [table, schema])
    return tuple(str(r[0]) for r in rows)
