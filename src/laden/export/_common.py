"""What every renderer shares: identifiers made from table and column names, the model of
one table (columns, their merged constraints, FKs, checks kept as comments), and bounds.

Renderers read a :class:`TableModel` (and the schema, for the tables FKs point to), so
each format states the same facts: a rule a format cannot express is kept as a comment,
never dropped.
"""

from __future__ import annotations

import json
import keyword
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from laden.export.constraints import (
    Between,
    Compare,
    Constraint,
    Matches,
    Measure,
    NotNull,
    OneOf,
    Op,
    Scalar,
    TableCheck,
    describe,
    merge,
    parse_checks,
)
from laden.schema import Column, ForeignKey, Table, TypeKind

NUMERIC_KINDS = (TypeKind.INTEGER, TypeKind.DECIMAL, TypeKind.FLOAT)

#: names a generated Python field must not take: keywords, pydantic BaseModel and
#: SQLAlchemy declarative attributes
PY_RESERVED = frozenset(
    [
        *keyword.kwlist,
        *keyword.softkwlist,
        *("metadata", "registry", "construct", "copy", "dict", "json", "schema", "schema_json", "validate"),
        *("from_orm", "parse_obj", "parse_raw", "parse_file", "update_forward_refs", "fields"),
    ]
)


# --------------------------------------------------------------------------- names


def _ascii(text: str) -> str:
    """``Grüße`` -> ``Gruesse``-ish: accents dropped, a few letters spelled out."""
    for letter, spelled in (("ß", "ss"), ("æ", "ae"), ("Æ", "AE"), ("ø", "o"), ("Ø", "O"), ("œ", "oe"), ("ł", "l")):
        text = text.replace(letter, spelled)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _words(name: str, ascii_only: bool) -> list[str]:
    if ascii_only:
        name = _ascii(name)
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^0-9A-Za-z]+" if ascii_only else r"[\W_]+", spaced) if w]


def class_name(table: str, *, ascii_only: bool = False, taken: Iterable[str] = ()) -> str:
    """``order_items`` -> ``OrderItems``: a PascalCase identifier for a table."""
    words = _words(table, ascii_only)
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Table"
    if name[0].isdigit():
        name = "T" + name
    if name in set(taken) or keyword.iskeyword(name):
        name += "Model"
    return name


def identifier(name: str, *, ascii_only: bool = False, reserved: Iterable[str] = ()) -> str:
    """A safe identifier for a column: the name itself when it already is one, else a
    cleaned version (``unit price`` -> ``unit_price``, ``2nd`` -> ``c_2nd``). Never starts
    with an underscore (pydantic treats those as private)."""
    text = re.sub(r"[^0-9A-Za-z_]+", "_", _ascii(name)) if ascii_only else re.sub(r"\W+", "_", name)
    text = text.strip("_") or "col"
    if text[0].isdigit():
        text = "c_" + text
    if text in set(reserved) or text.startswith("model_"):
        text += "_"
    return text


def field_names(columns: Sequence[Column], *, ascii_only: bool = False, reserved: Iterable[str] = ()) -> list[str]:
    """One distinct identifier per column, in column order."""
    reserved = set(reserved)
    out: list[str] = []
    for column in columns:
        name = identifier(column.name, ascii_only=ascii_only, reserved=reserved)
        base, n = name, 2
        while name in out:
            name, n = f"{base}_{n}", n + 1
        out.append(name)
    return out


def constraint_name(constraint: Constraint, field: str) -> str:
    """A readable name: ``qty_positive``, ``status_in``, ``code_length_le_10``."""
    if isinstance(constraint, Compare):
        special: dict[tuple[Op, int | Decimal], str] = {
            (Op.GT, 0): "positive",
            (Op.GE, 0): "non_negative",
            (Op.LT, 0): "negative",
            (Op.LE, 0): "non_positive",
        }
        if constraint.measure is Measure.VALUE and isinstance(constraint.value, int | Decimal):
            word = special.get((constraint.op, constraint.value))
            if word:
                return f"{field}_{word}"
        text = str(constraint.value)
        text = "minus_" + text[1:] if text.startswith("-") else text
        value = re.sub(r"\W+", "_", text).strip("_") or "value"
        prefix = {Measure.VALUE: "", Measure.CHARS: "length_", Measure.BYTES: "bytes_"}[constraint.measure]
        return f"{field}_{prefix}{constraint.op.name.lower()}_{value}"
    if isinstance(constraint, Between):
        return f"{field}_{'length_' if constraint.measure is Measure.CHARS else ''}between"
    if isinstance(constraint, OneOf):
        return f"{field}_in"
    if isinstance(constraint, Matches):
        return f"{field}_pattern"
    return f"{field}_not_null"


# --------------------------------------------------------------------------- bounds


@dataclass(frozen=True, slots=True)
class Bound:
    value: Decimal
    exclusive: bool = False


def _tighter(a: Bound | None, b: Bound, lower: bool) -> Bound:
    if a is None:
        return b
    if a.value == b.value:
        return Bound(a.value, a.exclusive or b.exclusive)
    return (max if lower else min)((a, b), key=lambda x: x.value)


def _integral(bound: Bound, lower: bool) -> Bound:
    """The same bound for an integer column, inclusive: ``> 0.5`` -> ``>= 1``."""
    if lower:
        value = math.floor(bound.value) + 1 if bound.exclusive else math.ceil(bound.value)
    else:
        value = math.ceil(bound.value) - 1 if bound.exclusive else math.floor(bound.value)
    return Bound(Decimal(value))


def int_range(column: Column) -> tuple[int, int] | None:
    """The values an integer column can hold, from its width and signedness."""
    if column.kind is not TypeKind.INTEGER or not column.int_bits:
        return None
    if column.unsigned:
        return 0, 2**column.int_bits - 1
    half = 2 ** (column.int_bits - 1)
    return -half, half - 1


# --------------------------------------------------------------------------- table model


@dataclass
class ColumnModel:
    """One column and every rule on it, merged."""

    column: Column
    ident: str
    nullable: bool
    #: bounds on the value (numeric columns; integer columns include their width)
    lower: Bound | None = None
    upper: Bound | None = None
    #: bounds on the length in characters (strings, including varchar(n)) and bytes
    min_chars: int | None = None
    max_chars: int | None = None
    min_bytes: int | None = None
    max_bytes: int | None = None
    #: allowed values (IN lists and = comparisons, intersected), or None
    enum: tuple[Scalar, ...] | None = None
    not_equal: list[Scalar] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    #: understood constraints that map to none of the above (e.g. ``name > 'm'``)
    other: list[Constraint] = field(default_factory=list)
    #: (referenced table, referenced column) for each FK this column is part of
    references: list[tuple[str, str]] = field(default_factory=list)
    #: the constraints on this column, in order (for formats that write them one by one)
    constraints: list[Constraint] = field(default_factory=list)
    #: bounds from constraints only (no integer width), as written
    check_lower: Bound | None = None
    check_upper: Bound | None = None

    @property
    def name(self) -> str:
        return self.column.name

    @property
    def kind(self) -> TypeKind:
        return self.column.kind


@dataclass
class TableModel:
    table: Table
    class_name: str
    columns: list[ColumnModel]
    #: CHECKs as read from the database
    checks: tuple[TableCheck, ...]
    #: constraints the user added (already merged into ``columns``)
    user: tuple[Constraint, ...]

    def column(self, name: str) -> ColumnModel:
        return next(c for c in self.columns if c.name == name)

    @property
    def untranslated(self) -> list[TableCheck]:
        """Database checks that are not (fully) understood: kept as comments everywhere."""
        return [c for c in self.checks if c.unparsed is not None]


def build(
    table: Table,
    user: Sequence[Constraint],
    *,
    engine: str | None = None,
    ascii_only: bool = False,
    reserved: Iterable[str] = PY_RESERVED,
) -> TableModel:
    """The model of ``table``: columns with database and user constraints merged."""
    checks = parse_checks(table, engine)
    names = field_names(table.columns, ascii_only=ascii_only, reserved=reserved)
    columns = [ColumnModel(col, name, col.nullable) for col, name in zip(table.columns, names, strict=True)]
    by_name = {c.name: c for c in columns}
    for cm in columns:
        _apply_type(cm)
    for constraint in merge(checks, user):
        _apply(by_name[constraint.column], constraint)
    for fk in table.foreign_keys:
        for col, ref in zip(fk.columns, fk.ref_columns, strict=False):
            if col in by_name:
                by_name[col].references.append((fk.ref_table, ref))
    name = class_name(table.name, ascii_only=ascii_only, taken={"Base"})
    return TableModel(table, name, columns, checks, tuple(user))


def _apply_type(cm: ColumnModel) -> None:
    col = cm.column
    if col.kind is TypeKind.STRING and col.max_length is not None:
        cm.max_chars = col.max_length
    if col.kind is TypeKind.BINARY and col.max_length is not None:
        cm.max_bytes = col.max_length
    span = int_range(col)
    if span is not None:
        cm.lower, cm.upper = Bound(Decimal(span[0])), Bound(Decimal(span[1]))


def _apply(cm: ColumnModel, c: Constraint) -> None:
    cm.constraints.append(c)
    numeric = cm.kind in NUMERIC_KINDS
    if isinstance(c, NotNull):
        cm.nullable = False
    elif isinstance(c, Matches):
        cm.patterns.append(c.pattern)
    elif isinstance(c, OneOf):
        _restrict(cm, c.values)
    elif isinstance(c, Compare | Between) and c.measure is not Measure.VALUE:
        _apply_length(cm, c)
    elif isinstance(c, Between):
        if numeric:
            _bound(cm, Bound(Decimal(c.low)), lower=True)
            _bound(cm, Bound(Decimal(c.high)), lower=False)
        else:
            cm.other.append(c)
    elif c.op is Op.NE:
        cm.not_equal.append(c.value)
    elif numeric:
        value = Decimal(c.value)
        if c.op in (Op.GT, Op.GE, Op.EQ):
            _bound(cm, Bound(value, c.op is Op.GT), lower=True)
        if c.op in (Op.LT, Op.LE, Op.EQ):
            _bound(cm, Bound(value, c.op is Op.LT), lower=False)
    elif c.op is Op.EQ:
        _restrict(cm, (c.value,))
    else:
        cm.other.append(c)


def _restrict(cm: ColumnModel, values: tuple[Scalar, ...]) -> None:
    if cm.enum is None:
        cm.enum = tuple(dict.fromkeys(values))
    else:
        cm.enum = tuple(v for v in cm.enum if v in values)


def _bound(cm: ColumnModel, bound: Bound, *, lower: bool) -> None:
    if lower:
        cm.check_lower = _tighter(cm.check_lower, bound, True)
    else:
        cm.check_upper = _tighter(cm.check_upper, bound, False)
    if cm.kind is TypeKind.INTEGER:
        bound = _integral(bound, lower)
    if lower:
        cm.lower = _tighter(cm.lower, bound, True)
    else:
        cm.upper = _tighter(cm.upper, bound, False)


def _apply_length(cm: ColumnModel, c: Compare | Between) -> None:
    chars = c.measure is Measure.CHARS
    low: int | None
    high: int | None
    if isinstance(c, Between):
        low, high = int(c.low), int(c.high)
    elif c.op is Op.NE:
        cm.other.append(c)
        return
    else:
        n = int(c.value)
        low = {Op.GT: n + 1, Op.GE: n, Op.EQ: n}.get(c.op)
        high = {Op.LT: n - 1, Op.LE: n, Op.EQ: n}.get(c.op)
    if chars:
        if low is not None:
            cm.min_chars = max(low, cm.min_chars or 0)
        if high is not None:
            cm.max_chars = high if cm.max_chars is None else min(high, cm.max_chars)
    else:
        if low is not None:
            cm.min_bytes = max(low, cm.min_bytes or 0)
        if high is not None:
            cm.max_bytes = high if cm.max_bytes is None else min(high, cm.max_bytes)


# --------------------------------------------------------------------------- text helpers


def py_str(text: str) -> str:
    """A double-quoted Python string literal (what ruff format would write)."""
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        return repr(text)
    return json.dumps(text, ensure_ascii=False)


def describe_fk(fk: ForeignKey) -> str:
    return f"({', '.join(fk.columns)}) references {fk.ref_table}({', '.join(fk.ref_columns)})"


def describe_all(constraints: Iterable[Constraint]) -> str:
    return "; ".join(describe(c) for c in constraints)


def type_summary(column: Column) -> str:
    """An engine-neutral spelling of a column's type: ``decimal(12,2)``, ``varchar(10)``, ``int32``."""
    kind = column.kind
    if kind is TypeKind.INTEGER and column.int_bits:
        return f"{'u' if column.unsigned else ''}int{column.int_bits}"
    if kind is TypeKind.DECIMAL:
        if column.precision is None:
            return "decimal"
        return f"decimal({column.precision},{column.scale or 0})"
    if kind is TypeKind.FLOAT:
        return f"float{column.float_bits or 64}"
    if kind is TypeKind.STRING:
        return f"varchar({column.max_length})" if column.max_length is not None else "text"
    if kind is TypeKind.BINARY:
        return f"varbinary({column.max_length})" if column.max_length is not None else "binary"
    if kind is TypeKind.OTHER:
        return column.type
    return str(kind.value)
