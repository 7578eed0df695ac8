"""A FINOS Legend PURE class for a table.

::

    Class {meta::pure::profiles::doc.doc = 'table items'} model::Items
    [
      qty_positive: $this.qty > 0,
      status_in: $this.status->isEmpty() || $this.status->toOne()->in(['new', 'paid'])
    ]
    {
      {meta::pure::profiles::doc.doc = 'primary key'} id: Integer[1];
      qty: Integer[1];
      status: String[0..1];
    }

NOT NULL columns have multiplicity ``[1]``, nullable ones ``[0..1]``; a constraint on a
nullable property holds when it is empty (as a SQL CHECK holds on NULL). ``varchar(n)``
becomes a ``length()`` constraint; decimal precision, keys and foreign keys (``references
model::Parent.id``) are documented with ``doc.doc`` tagged values. ``matches`` is written
so that it means the same whether Legend matches the whole string or searches in it.
Checks PURE cannot state are kept as ``//`` comments above the class.
"""

from __future__ import annotations

from decimal import Decimal

from laden.export._common import ColumnModel, TableModel, class_name, constraint_name, field_names
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
    describe,
)
from laden.schema import Schema, TypeKind

PACKAGE = "model"
#: words a property must not be named (PURE keywords)
RESERVED = frozenset(["true", "false", "let", "all", "extends", "import", "native", "function"])
_TYPES = {
    TypeKind.INTEGER: "Integer",
    TypeKind.DECIMAL: "Decimal",
    TypeKind.FLOAT: "Float",
    TypeKind.STRING: "String",
    TypeKind.BOOLEAN: "Boolean",
    TypeKind.DATE: "StrictDate",
    TypeKind.TIME: "StrictTime",
    TypeKind.TIMESTAMP: "DateTime",
    TypeKind.TIMESTAMP_TZ: "DateTime",
    TypeKind.UUID: "String",
    TypeKind.BINARY: "String",
    TypeKind.JSON: "String",
    TypeKind.OTHER: "String",
}
_NOTES = {
    TypeKind.TIMESTAMP_TZ: "with time zone",
    TypeKind.UUID: "uuid",
    TypeKind.BINARY: "binary, base64",
    TypeKind.JSON: "JSON text",
}
_OPS = {">": ">", ">=": ">=", "<": "<", "<=": "<=", "=": "==", "!=": "!="}


def string(text: str) -> str:
    """A PURE string literal."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return "'" + escaped.replace("\t", "\\t") + "'"


def _literal(value: Scalar | Decimal, kind: TypeKind) -> str:
    if isinstance(value, str):
        return string(value)
    number = Decimal(value)
    if kind is TypeKind.DECIMAL:
        return f"{number:f}d"
    if kind is TypeKind.INTEGER and number == number.to_integral_value():
        return str(int(number))
    text = f"{number:f}"
    return text if "." in text else text + ".0"


def legend_regex(pattern: str) -> str:
    """``pattern`` (search semantics) for ``matches``: kept when anchored at both ends, else
    wrapped in ``.*(?:...).*`` so a whole-string match and a search agree."""
    if pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern
    return f"(?s).*(?:{pattern}).*"


def _expression(c: Constraint, ref: str, kind: TypeKind) -> str:
    if isinstance(c, OneOf):
        return f"{ref}->in([{', '.join(_literal(v, kind) for v in c.values)}])"
    if isinstance(c, Matches):
        return f"{ref}->matches({string(legend_regex(c.pattern))})"
    assert isinstance(c, Compare | Between)
    if c.measure is Measure.CHARS:
        ref, kind = f"{ref}->length()", TypeKind.INTEGER
    if isinstance(c, Between):
        return f"{ref} >= {_literal(c.low, kind)} && {ref} <= {_literal(c.high, kind)}"
    return f"{ref} {_OPS[c.op.value]} {_literal(c.value, kind)}"


def _constraint(c: Constraint, cm: ColumnModel) -> str:
    if not cm.nullable:
        return _expression(c, f"$this.{cm.ident}", cm.kind)
    inner = _expression(c, f"$this.{cm.ident}->toOne()", cm.kind)
    if "&&" in inner:
        inner = f"({inner})"
    return f"$this.{cm.ident}->isEmpty() || {inner}"


def _expressible(c: Constraint) -> bool:
    return not isinstance(c, NotNull) and not (isinstance(c, Compare | Between) and c.measure is Measure.BYTES)


def render(model: TableModel, schema: Schema) -> str:
    constraints: list[str] = []
    comments = [f"// not translated: CHECK ({c.expression})" for c in model.untranslated]
    names: set[str] = set()
    for cm in model.columns:
        rules: list[tuple[str, str]] = []
        if cm.kind is TypeKind.STRING and cm.column.max_length is not None:
            length = Compare(cm.name, Op.LE, cm.column.max_length, Measure.CHARS)
            rules.append((f"{cm.ident}_max_length", _constraint(length, cm)))
        for c in dict.fromkeys(cm.constraints):
            if _expressible(c):
                rules.append((constraint_name(c, cm.ident), _constraint(c, cm)))
            elif not isinstance(c, NotNull):
                comments.append(f"// not translated: {describe(c)}")
        for name, expression in rules:
            unique, n = name, 2
            while unique in names:
                unique, n = f"{name}_{n}", n + 1
            names.add(unique)
            constraints.append(f"  {unique}: {expression}")
    lines = ["###Pure", f"// generated by laden from table {model.table.name!r}", *comments, ""]
    doc = string("table " + model.table.name)
    lines.append(f"Class {{meta::pure::profiles::doc.doc = {doc}}} {PACKAGE}::{model.class_name}")
    if constraints:
        lines += ["[", ",\n".join(constraints), "]"]
    lines.append("{")
    lines += [_property(cm, model, schema) for cm in model.columns]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _property(cm: ColumnModel, model: TableModel, schema: Schema) -> str:
    notes: list[str] = []
    if cm.ident != cm.name:
        notes.append(f"column {cm.name}")
    if cm.name in model.table.primary_key:
        notes.append("primary key")
    if cm.kind is TypeKind.DECIMAL and cm.column.precision is not None:
        notes.append(f"decimal({cm.column.precision},{cm.column.scale or 0})")
    elif cm.kind is TypeKind.OTHER:
        notes.append(cm.column.type)
    elif cm.kind in _NOTES:
        notes.append(_NOTES[cm.kind])
    notes += [f"references {_target(table, column, schema)}" for table, column in cm.references]
    doc = f"{{meta::pure::profiles::doc.doc = {string('; '.join(notes))}}} " if notes else ""
    multiplicity = "[0..1]" if cm.nullable else "[1]"
    return f"  {doc}{cm.ident}: {_TYPES[cm.kind]}{multiplicity};"


def _target(table: str, column: str, schema: Schema) -> str:
    """``model::Parent.id``: the class and property a foreign key points to."""
    parent = schema.table(table)
    if parent is None or parent.column(column) is None:
        return f"{table}.{column}"
    props = dict(zip(parent.column_names, field_names(parent.columns, ascii_only=True, reserved=RESERVED), strict=True))
    return f"{PACKAGE}::{class_name(table, ascii_only=True, taken={'Base'})}.{props[column]}"
