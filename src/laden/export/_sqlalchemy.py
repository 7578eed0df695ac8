"""A SQLAlchemy 2.0 declarative module for a table.

Columns use SQLAlchemy's engine-neutral types (``BigInteger``, ``Numeric(p, s)``,
``String(n)`` ...); where a neutral type would lose something on one engine (MySQL
unsigned integers, fractional seconds, ``TIMESTAMP``; a SQLite rowid alias), the
engine's own type is added with ``with_variant``, so ``Base.metadata.create_all()`` into a
database of the source engine recreates an equivalent table. Tables referenced by FKs get
a minimal stub (just the referenced columns and their key) unless it is the table itself.

CHECK constraints that were understood are written as SQLAlchemy expressions (compiled
for whichever engine runs the DDL); the others are copied as the database spells them,
which recreates them on the same engine. User constraints add checks (``not_null``
makes the column NOT NULL). ``matches`` becomes ``regexp_match``: PostgreSQL ``~``,
MySQL ``REGEXP``; SQLite's ``REGEXP`` needs a ``regexp()`` function on every connection
that writes (SQLAlchemy's pysqlite dialect registers one).
"""

from __future__ import annotations

from decimal import Decimal

from laden.export._common import ColumnModel, TableModel, identifier, py_str
from laden.export.constraints import Between, Compare, Constraint, Matches, Measure, NotNull, OneOf, Scalar, TableCheck
from laden.schema import Column, ForeignKey, Schema, Table, TypeKind

_PY_TYPES = {
    TypeKind.INTEGER: "int",
    TypeKind.FLOAT: "float",
    TypeKind.DECIMAL: "_decimal.Decimal",
    TypeKind.STRING: "str",
    TypeKind.BOOLEAN: "bool",
    TypeKind.DATE: "_dt.date",
    TypeKind.TIME: "_dt.time",
    TypeKind.TIMESTAMP: "_dt.datetime",
    TypeKind.TIMESTAMP_TZ: "_dt.datetime",
    TypeKind.UUID: "_uuid.UUID",
    TypeKind.BINARY: "bytes",
    TypeKind.JSON: "_t.Any",
    TypeKind.OTHER: "_t.Any",
}
_MYSQL = '"mysql", "mariadb"'
_MYSQL_INTS = {8: "TINYINT", 16: "SMALLINT", 24: "MEDIUMINT", 32: "INTEGER", 64: "BIGINT"}
_NEUTRAL_INTS = {8: "SmallInteger", 16: "SmallInteger", 24: "Integer", 32: "Integer", 64: "BigInteger"}
_MYSQL_BLOBS = {"tinyblob": "TINYBLOB", "mediumblob": "MEDIUMBLOB", "longblob": "LONGBLOB"}
_MYSQL_TEXTS = {"tinytext": "TINYTEXT", "mediumtext": "MEDIUMTEXT", "longtext": "LONGTEXT"}
_OPS = {">": ">", ">=": ">=", "<": "<", "<=": "<=", "=": "==", "!=": "!="}
_RAW_TYPE = '''

class _Raw(_sa.types.UserDefinedType[_t.Any]):
    """A database type SQLAlchemy has no neutral spelling for, written as reflected."""

    cache_ok = True

    def __init__(self, spelled: str) -> None:
        self.spelled = spelled

    def get_col_spec(self, **kw: _t.Any) -> str:
        return self.spelled
'''


def sa_type(column: Column) -> str:
    """The SQLAlchemy type expression for a column (``_sa`` / ``_mysql`` / ``_postgresql`` names)."""
    kind = column.kind
    lower = column.type.lower()
    if kind is TypeKind.INTEGER:
        return _integer(column)
    if kind is TypeKind.DECIMAL:
        if column.precision is None:
            return "_sa.Numeric()"
        return f"_sa.Numeric({column.precision}, {column.scale or 0})"
    if kind is TypeKind.FLOAT:
        return "_sa.Double()" if (column.float_bits or 64) > 32 else f"_sa.REAL().with_variant(_sa.Float(), {_MYSQL})"
    if kind is TypeKind.STRING:
        fixed = lower.startswith(("char", "character(", "bpchar", "nchar")) and "varying" not in lower
        if column.max_length is not None:
            return f"_sa.{'CHAR' if fixed else 'String'}({column.max_length})"
        text = lower.split("(")[0].strip()
        if text in _MYSQL_TEXTS:
            return f"_sa.Text().with_variant(_mysql.{_MYSQL_TEXTS[text]}(), {_MYSQL})"
        return "_sa.Text()"
    if kind is TypeKind.BINARY:
        base = lower.split("(")[0].strip()
        if base in ("binary", "varbinary") and column.max_length is not None:
            return f"_sa.LargeBinary().with_variant(_mysql.{base.upper()}({column.max_length}), {_MYSQL})"
        if base in _MYSQL_BLOBS:
            return f"_sa.LargeBinary().with_variant(_mysql.{_MYSQL_BLOBS[base]}(), {_MYSQL})"
        return "_sa.LargeBinary()"
    if kind in (TypeKind.TIME, TypeKind.TIMESTAMP, TypeKind.TIMESTAMP_TZ):
        return _temporal(column)
    if kind is TypeKind.JSON:
        return '_sa.JSON().with_variant(_postgresql.JSONB(), "postgresql")' if lower == "jsonb" else "_sa.JSON()"
    simple = {TypeKind.BOOLEAN: "_sa.Boolean()", TypeKind.DATE: "_sa.Date()", TypeKind.UUID: "_sa.UUID()"}
    return simple.get(kind, f"_Raw({py_str(column.type)})")


def _integer(column: Column) -> str:
    bits = column.int_bits or 64
    if bits not in _NEUTRAL_INTS:
        return f"_Raw({py_str(column.type)})"
    out = f"_sa.{_NEUTRAL_INTS[bits]}()"
    if column.unsigned or bits in (8, 24):
        unsigned = "unsigned=True" if column.unsigned else ""
        out += f".with_variant(_mysql.{_MYSQL_INTS[bits]}({unsigned}), {_MYSQL})"
    if column.generated and bits == 64:  # a SQLite rowid alias must be spelled INTEGER
        out += '.with_variant(_sa.Integer(), "sqlite")'
    return out


def _temporal(column: Column) -> str:
    digits = column.time_precision
    if column.kind is TypeKind.TIME:
        base, pg, my = "_sa.Time()", "TIME", "TIME"
    elif column.kind is TypeKind.TIMESTAMP:
        base, pg, my = "_sa.DateTime()", "TIMESTAMP", "DATETIME"
    else:
        base, pg, my = "_sa.DateTime(timezone=True)", "TIMESTAMP", "TIMESTAMP"
    tz = ", timezone=True" if column.kind is TypeKind.TIMESTAMP_TZ else ""
    if digits is not None:
        base += f'.with_variant(_postgresql.{pg}(precision={digits}{tz}), "postgresql")'
    if digits is not None or column.kind is TypeKind.TIMESTAMP_TZ:
        base += f".with_variant(_mysql.{my}(fsp={digits or 0}), {_MYSQL})"
    return base


def _base_type(column: Column) -> str:
    """The neutral type alone, for typing the columns inside CHECK expressions."""
    return sa_type(column).split(".with_variant(")[0]


# --------------------------------------------------------------------------- checks


def _value(value: Scalar | Decimal, kind: TypeKind) -> str:
    if kind is TypeKind.DECIMAL:
        return f"_decimal.Decimal({py_str(str(value))})"
    if kind is TypeKind.FLOAT:
        return repr(float(value))
    return py_str(value) if isinstance(value, str) else repr(value)


def _expression(c: Constraint, column: Column) -> str:
    ref = f"_sa.column({py_str(column.name)}, {_base_type(column)})"
    if isinstance(c, NotNull):
        return f"{ref}.is_not(None)"
    if isinstance(c, Matches):
        return f"{ref}.regexp_match({py_str(c.pattern)})"
    if isinstance(c, OneOf):
        return f"{ref}.in_([{', '.join(_value(v, column.kind) for v in c.values)}])"
    kind = column.kind
    if c.measure is Measure.CHARS:
        ref, kind = f"_sa.func.char_length({ref})", TypeKind.INTEGER
    elif c.measure is Measure.BYTES:
        ref, kind = f"_sa.func.octet_length({ref})", TypeKind.INTEGER
    if isinstance(c, Between):
        return f"{ref}.between({_value(c.low, kind)}, {_value(c.high, kind)})"
    return f"{ref} {_OPS[c.op.value]} {_value(c.value, kind)}"


def _check(constraints: tuple[Constraint, ...], table: Table, name: str | None) -> str:
    parts = []
    for c in constraints:
        column = table.column(c.column)
        assert column is not None
        parts.append(_expression(c, column))
    expr = parts[0] if len(parts) == 1 else f"_sa.and_({', '.join(parts)})"
    return f"_sa.CheckConstraint({expr}{_name(name)})"


def _name(name: str | None) -> str:
    return f", name={py_str(name)}" if name else ""


def _sql_text(text: str) -> str:
    """Text for ``CheckConstraint`` / ``server_default``: a lone colon would be a bind parameter."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("::", i):
            out.append("::")
            i += 2
        else:
            out.append("\\:" if text[i] == ":" else text[i])
            i += 1
    return "".join(out)


def _database_check(check: TableCheck, table: Table) -> list[str]:
    if check.implied:
        return [f"# CHECK ({check.expression}) comes with the column type"]
    portable = check.unparsed is None and all(
        not isinstance(c, Compare | Between) or c.measure is not Measure.BYTES for c in check.constraints
    )
    if portable and check.constraints:
        return [_check(check.constraints, table, check.name) + ","]
    reason = check.unparsed or "byte lengths are spelled differently by each engine"
    return [
        f"# not translated ({reason}): as the database spells it",
        f"_sa.CheckConstraint({py_str(_sql_text(check.expression))}{_name(check.name)}),",
    ]


# --------------------------------------------------------------------------- module


def render(model: TableModel, schema: Schema) -> str:
    table = model.table
    stubs, stub_vars = _stubs(table, schema)
    args = _table_args(model, stub_vars)
    columns = [line for cm in model.columns for line in _column(cm, model, stub_vars)]
    body = "\n".join([*stubs, *_class(model, args, columns)])
    dialects = [d for d in ("mysql", "postgresql") if f"_{d}." in body]
    head = [
        f'"""SQLAlchemy 2.0 model of table {py_str(table.name)}, generated by laden.',
        "",
        "``Base.metadata.create_all(engine)`` creates it, with minimal stubs of the tables it references.",
        '"""',
        "",
        "import datetime as _dt",
        "import decimal as _decimal",
        "import typing as _t",
        "import uuid as _uuid",
        "",
        "import sqlalchemy as _sa",
        "from sqlalchemy import orm as _orm",
        *[f"from sqlalchemy.dialects import {d} as _{d}" for d in dialects],
    ]
    raw = _RAW_TYPE if "_Raw(" in body else ""
    base = "\n\nclass Base(_orm.DeclarativeBase):\n    pass\n"
    return "\n".join(head) + "\n" + raw + base + body + "\n"


def _stubs(table: Table, schema: Schema) -> tuple[list[str], dict[str, str]]:
    """Minimal ``Table`` stubs for the referenced tables; returns lines and table -> variable."""
    wanted: dict[str, list[str]] = {}
    local: dict[str, Column] = {}
    for fk in table.foreign_keys:
        if fk.ref_table == table.name:
            continue
        for col, ref in zip(fk.columns, fk.ref_columns, strict=False):
            wanted.setdefault(fk.ref_table, [])
            if ref not in wanted[fk.ref_table]:
                wanted[fk.ref_table].append(ref)
            found = table.column(col)
            if found is not None:
                local[f"{fk.ref_table}.{ref}"] = found
    lines: list[str] = []
    names: dict[str, str] = {}
    for ref_table, ref_cols in wanted.items():
        var = "_ref_" + identifier(ref_table)
        while var in names.values():
            var += "_"
        names[ref_table] = var
        lines += ["", "", "# referenced by a foreign key: only the referenced columns and their key"]
        lines.append(f"{var} = _sa.Table(")
        lines.append(f"    {py_str(ref_table)},")
        lines.append("    Base.metadata,")
        lines += _stub_columns(schema.table(ref_table), ref_cols, local, ref_table)
        lines.append(")")
    return lines, names


def _stub_columns(parent: Table | None, ref_cols: list[str], local: dict[str, Column], name: str) -> list[str]:
    as_pk = parent is not None and set(ref_cols) == set(parent.primary_key)
    lines = []
    for ref in ref_cols:
        column = parent.column(ref) if parent is not None else None
        column = column or local[f"{name}.{ref}"]
        flags = ", primary_key=True, autoincrement=False" if as_pk else f", nullable={column.nullable}"
        lines.append(f"    _sa.Column({py_str(ref)}, {sa_type(column)}{flags}),")
    if not as_pk:
        lines.append(f"    _sa.UniqueConstraint({', '.join(py_str(r) for r in ref_cols)}),")
    return lines


def _table_args(model: TableModel, stub_vars: dict[str, str]) -> list[str]:
    table = model.table
    lines: list[str] = []
    names = [c.name for c in table.columns]
    pk = table.primary_key
    if len(pk) > 1 and list(pk) != [n for n in names if n in pk]:
        lines.append(f"_sa.PrimaryKeyConstraint({', '.join(map(py_str, pk))}),")
    for unique in table.unique_constraints:
        lines.append(f"_sa.UniqueConstraint({', '.join(map(py_str, unique.columns))}{_name(unique.name)}),")
    for index in table.indexes:
        if index.unique:
            lines.append(f"_sa.Index({py_str(index.name)}, {', '.join(map(py_str, index.columns))}, unique=True),")
    for fk in table.foreign_keys:
        if len(fk.columns) > 1:
            lines.append(_fk_constraint(fk, table, stub_vars))
    for check in model.checks:
        lines += _database_check(check, table)
    known = {c for check in model.checks for c in check.constraints}
    for c in model.user:
        if not isinstance(c, NotNull) and c not in known:
            lines.append(_check((c,), table, None) + ",  # user constraint")
    return lines


def _fk_constraint(fk: ForeignKey, table: Table, stub_vars: dict[str, str]) -> str:
    var = stub_vars.get(fk.ref_table)
    refs = [f"{var}.c[{py_str(r)}]" if var else py_str(f"{fk.ref_table}.{r}") for r in fk.ref_columns]
    return (
        f"_sa.ForeignKeyConstraint([{', '.join(map(py_str, fk.columns))}], [{', '.join(refs)}]"
        f"{_name(fk.name)}{_deferrable(fk)}),"
    )


def _deferrable(fk: ForeignKey) -> str:
    if not fk.deferrable:
        return ""
    return f", deferrable=True, initially={'DEFERRED' if fk.initially_deferred else 'IMMEDIATE'!r}"


def _class(model: TableModel, args: list[str], columns: list[str]) -> list[str]:
    table = model.table
    lines = ["", "", f"class {model.class_name}(Base):", f'    """One row of table {py_str(table.name)}."""', ""]
    lines.append(f"    __tablename__ = {py_str(table.name)}")
    if args:
        lines.append("    __table_args__ = (")
        lines += [f"        {a}" for a in args]
        lines.append("    )")
    if not table.primary_key:  # the ORM needs a key: map all columns as one (the table has none)
        keys = ", ".join(f"cls.__table__.c[{py_str(c.name)}]" for c in table.columns)
        lines += [
            "",
            "    @_orm.declared_attr.directive",
            "    def __mapper_args__(cls) -> dict[str, _t.Any]:",
            f"        return {{'primary_key': [{keys}]}}",
        ]
    return [*lines, "", *columns]


def _column(cm: ColumnModel, model: TableModel, stub_vars: dict[str, str]) -> list[str]:
    column, table = cm.column, model.table
    user_not_null = any(isinstance(c, NotNull) and c.column == column.name for c in model.user)
    nullable = column.nullable and not user_not_null
    args = [py_str(column.name)] if cm.ident != column.name else []
    args.append(sa_type(column))
    args += _column_fks(column, table, stub_vars)
    pk = table.primary_key
    in_pk = column.name in pk and (len(pk) == 1 or list(pk) == [n for n in table.column_names if n in pk])
    if in_pk:
        args.append("primary_key=True")
    if column.name in pk and column.kind is TypeKind.INTEGER:
        args.append(f"autoincrement={column.generated and not column.computed}")
    args.append(f"nullable={nullable}")
    if column.default is not None and not column.computed and not column.default.lower().startswith("nextval("):
        args.append(f"server_default=_sa.text({py_str(_sql_text(column.default))})")
    notes = []
    if column.computed:
        notes.append("    # computed by the database: its expression is not reflected, so it is a plain column here")
    elif column.kind is TypeKind.OTHER or (column.kind is TypeKind.STRING and "enum" in column.type.lower()):
        notes.append(f"    # database type {column.type}")
    py_type = _PY_TYPES[column.kind]
    annotation = f"_t.Optional[{py_type}]" if nullable else py_type
    return [*notes, f"    {cm.ident}: _orm.Mapped[{annotation}] = _orm.mapped_column({', '.join(args)})"]


def _column_fks(column: Column, table: Table, stub_vars: dict[str, str]) -> list[str]:
    out = []
    for fk in table.foreign_keys:
        if fk.columns != (column.name,):
            continue
        var = stub_vars.get(fk.ref_table)
        target = f"{var}.c[{py_str(fk.ref_columns[0])}]" if var else py_str(f"{fk.ref_table}.{fk.ref_columns[0]}")
        out.append(f"_sa.ForeignKey({target}{_name(fk.name)}{_deferrable(fk)})")
    return out
