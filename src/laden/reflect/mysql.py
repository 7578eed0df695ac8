"""MySQL / MariaDB reflection from ``information_schema`` (pymysql ``%s`` placeholders).

One query each for tables, columns, index columns, foreign-key columns and checks over
the whole database, plus one batched ``count(*)`` statement for exact row counts.

* Every unique index is a UNIQUE constraint in MySQL: they are reported as
  ``unique_constraints``; ``indexes`` holds the non-unique ones (including the index
  InnoDB adds for a foreign key). Unique prefix indexes (``UNIQUE (name(10))``) guarantee
  nothing about whole values and are reported as non-unique indexes.
* MariaDB's ``JSON`` is ``LONGTEXT`` with a ``json_valid`` check, so such columns get
  ``TypeKind.JSON`` (the check itself stays in ``checks``).
* MySQL ``TIMESTAMP`` stores an instant (converted from the session time zone):
  ``TIMESTAMP_TZ``; ``DATETIME`` is ``TIMESTAMP``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from laden.errors import UsageError
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
from laden.reflect._ddl import strip_outer_parens
from laden.schema import CheckConstraint, Column, ForeignKey, Index, Schema, TypeKind, UniqueConstraint

_INTS = {"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "integer": 32, "bigint": 64}
_FLOATS = {"float": 32, "double": 64, "real": 64, "double precision": 64}
_SIMPLE = {
    "char": TypeKind.STRING,
    "varchar": TypeKind.STRING,
    "tinytext": TypeKind.STRING,
    "text": TypeKind.STRING,
    "mediumtext": TypeKind.STRING,
    "longtext": TypeKind.STRING,
    "enum": TypeKind.STRING,
    "set": TypeKind.STRING,
    "json": TypeKind.JSON,
    "uuid": TypeKind.UUID,
    "binary": TypeKind.BINARY,
    "varbinary": TypeKind.BINARY,
    "tinyblob": TypeKind.BINARY,
    "blob": TypeKind.BINARY,
    "mediumblob": TypeKind.BINARY,
    "longblob": TypeKind.BINARY,
    "date": TypeKind.DATE,
    "time": TypeKind.TIME,
    "datetime": TypeKind.TIMESTAMP,
    "timestamp": TypeKind.TIMESTAMP_TZ,
}
_UNQUOTED_DEFAULTS = (
    "tinyint",
    "smallint",
    "mediumint",
    "int",
    "integer",
    "bigint",
    "decimal",
    "numeric",
    "float",
    "double",
    "real",
    "bit",
)


def _text(value: Any) -> str:
    """information_schema text (some MySQL 8 columns arrive as bytes)."""
    return value.decode() if isinstance(value, bytes | bytearray) else str(value)


def reflect(query: Query, namespace: str | None, tables: Sequence[str] | None, row_counts: RowCounts) -> Schema:
    version, database = query("SELECT VERSION(), DATABASE()", [])[0]
    database = namespace if namespace is not None else database
    if database is None:
        raise UsageError("no MySQL database selected: put one in the URL or pass namespace=")
    database = _text(database)
    mariadb = "mariadb" in _text(version).lower()
    where, params = "TABLE_SCHEMA = %s", [database]
    if tables is not None:
        if not tables:
            return Schema()
        where += " AND TABLE_NAME IN " + placeholders(len(tables), "%s")
        params += list(tables)
    rows = query(
        "SELECT TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES"
        f" WHERE {where} AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')",
        params,
    )
    builders = {_text(r[0]): TableBuilder(_text(r[0])) for r in rows}
    if not builders:
        return Schema()
    json_columns = _add_checks(query, where, params, builders, mariadb)
    _add_columns(query, where, params, builders, json_columns, mariadb)
    _add_indexes(query, where, params, builders)
    _add_foreign_keys(query, where, params, builders)
    if row_counts is RowCounts.ESTIMATE:
        for name, estimate in rows:
            builders[_text(name)].row_count = as_int(estimate)
    elif row_counts is RowCounts.EXACT:
        prefix = quote_ident(database, "`") + "."
        refs = [(name, prefix + quote_ident(name, "`")) for name in builders]
        fill_counts(builders, exact_counts(query, refs, mark="%s"))
    return build_schema(builders.values(), namespace)


def _add_checks(
    query: Query, where: str, params: list[Any], builders: dict[str, TableBuilder], mariadb: bool
) -> set[tuple[str, str]]:
    """CHECK constraints; returns the (table, column) pairs of MariaDB JSON columns."""
    if mariadb:  # MariaDB names column-level checks after the column: names repeat per table
        sql = (
            "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE, LEVEL"
            " FROM information_schema.CHECK_CONSTRAINTS"
            " WHERE " + where.replace("TABLE_SCHEMA", "CONSTRAINT_SCHEMA")
        )
    else:  # MySQL 8: check names are unique per schema; CHECK_CONSTRAINTS has no TABLE_NAME
        sql = (
            "SELECT tc.TABLE_NAME, cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE, 'Table'"
            " FROM information_schema.TABLE_CONSTRAINTS tc JOIN information_schema.CHECK_CONSTRAINTS cc"
            " ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME"
            f" WHERE tc.CONSTRAINT_TYPE = 'CHECK' AND {where.replace('TABLE_', 'tc.TABLE_')}"
        )
    json_columns: set[tuple[str, str]] = set()
    for table, name, clause, level in query(sql, params):
        table, name, clause = _text(table), _text(name), _text(clause)
        if table not in builders:
            continue
        builders[table].checks.append(CheckConstraint(expression=strip_outer_parens(clause), name=name))
        if _text(level) == "Column" and clause.lower() == f"json_valid({quote_ident(name, '`')})".lower():
            json_columns.add((table, name))
    return json_columns


def _add_columns(
    query: Query,
    where: str,
    params: list[Any],
    builders: dict[str, TableBuilder],
    json_columns: set[tuple[str, str]],
    mariadb: bool,
) -> None:
    rows = query(
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA,"
        " CHARACTER_MAXIMUM_LENGTH, CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE,"
        " DATETIME_PRECISION FROM information_schema.COLUMNS"
        f" WHERE {where} ORDER BY TABLE_NAME, ORDINAL_POSITION",
        params,
    )
    for row in rows:
        table = _text(row[0])
        if table in builders:
            is_json = (table, _text(row[1])) in json_columns
            builders[table].columns.append(_column(row, is_json, mariadb))


def _column(row: tuple[Any, ...], is_json: bool, mariadb: bool) -> Column:
    _, name, spelled, data_type, nullable, default, extra, chars, octets, precision, scale, fsp = row
    spelled, data_type, extra = _text(spelled), _text(data_type).lower(), _text(extra).lower()
    kind = TypeKind.JSON if is_json else _SIMPLE.get(data_type, TypeKind.OTHER)
    details: dict[str, Any] = {}
    if data_type in _INTS:
        if spelled.lower().split()[0] == "tinyint(1)":
            kind = TypeKind.BOOLEAN
        else:
            kind, details["int_bits"] = TypeKind.INTEGER, _INTS[data_type]
            details["unsigned"] = "unsigned" in spelled.lower()
    elif data_type == "bit":
        kind = TypeKind.BOOLEAN if as_int(precision) == 1 else TypeKind.OTHER
    elif data_type in _FLOATS:
        kind, details["float_bits"] = TypeKind.FLOAT, _FLOATS[data_type]
    elif data_type in ("decimal", "numeric"):
        kind, details["precision"], details["scale"] = TypeKind.DECIMAL, as_int(precision), as_int(scale)
    elif data_type in ("char", "varchar"):
        details["max_length"] = as_int(chars)
    elif data_type in ("binary", "varbinary"):
        details["max_length"] = as_int(octets)
    elif data_type in ("time", "datetime", "timestamp"):
        details["time_precision"] = as_int(fsp)
    computed = "virtual generated" in extra or "stored generated" in extra
    return Column(
        name=_text(name),
        type=spelled,
        kind=kind,
        nullable=_text(nullable).upper() == "YES",
        default=None if computed else _default(default, extra, data_type, mariadb),
        generated=computed or "auto_increment" in extra,
        computed=computed,
        **details,
    )


def _default(raw: Any, extra: str, data_type: str, mariadb: bool) -> str | None:
    """The default as an SQL expression. MariaDB reports it so already (``'NULL'`` = none);
    MySQL reports literals unquoted and marks expressions ``DEFAULT_GENERATED``."""
    if raw is None:
        return None
    text = _text(raw)
    if mariadb:
        return None if text == "NULL" else text
    if "default_generated" in extra or data_type in _UNQUOTED_DEFAULTS:
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _add_indexes(query: Query, where: str, params: list[Any], builders: dict[str, TableBuilder]) -> None:
    rows = query(
        "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS"
        f" WHERE {where} ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
        params,
    )
    grouped: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for row in rows:
        grouped.setdefault((_text(row[0]), _text(row[1])), []).append(row)
    for (table, index), parts in grouped.items():
        if table not in builders or any(p[3] is None for p in parts):
            continue  # functional key part (MySQL 8)
        columns = tuple(_text(p[3]) for p in parts)
        unique = not as_int(parts[0][2])
        if index == "PRIMARY":
            builders[table].primary_key = columns
        elif unique and all(p[4] is None for p in parts):
            builders[table].unique_constraints.append(UniqueConstraint(columns=columns, name=index))
        else:
            builders[table].indexes.append(Index(name=index, columns=columns, unique=False))


def _add_foreign_keys(query: Query, where: str, params: list[Any], builders: dict[str, TableBuilder]) -> None:
    rows = query(
        "SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME"
        f" FROM information_schema.KEY_COLUMN_USAGE WHERE {where} AND REFERENCED_TABLE_NAME IS NOT NULL"
        " ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
        params,
    )
    grouped: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for row in rows:
        grouped.setdefault((_text(row[0]), _text(row[1])), []).append(row)
    for (table, name), parts in grouped.items():
        if table in builders:
            builders[table].foreign_keys.append(
                ForeignKey(
                    columns=tuple(_text(p[2]) for p in parts),
                    ref_table=_text(parts[0][3]),
                    ref_columns=tuple(_text(p[4]) for p in parts),
                    name=name,
                )
            )
