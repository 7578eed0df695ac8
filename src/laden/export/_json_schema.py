"""JSON Schema (draft 2020-12) for one row of a table, as ``laden query --json`` prints it.

Row encoding it describes: integers and floats as JSON numbers, booleans as booleans,
**decimals as strings** (``"12.50"``), dates, times and timestamps as ISO 8601 strings,
UUIDs as strings, binary as base64, JSON columns as their JSON value.

Decimals are strings because a JSON number is read as a binary float by most consumers and
``numeric(38,10)`` values do not survive that; the string keeps every digit, and a
``pattern`` checks precision and scale exactly. The price: bounds on a decimal column
(``price >= 0``) cannot be checked by JSON Schema on a string, so they are kept in
``$comment``. Timestamps without time zone and times are checked by ``pattern`` (the
``date-time`` and ``time`` formats require an offset); timestamps with time zone use
``format: date-time``. Every column is ``required`` (a NULL is present as ``null``);
no other property is allowed.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from laden.export._common import Bound, ColumnModel, TableModel, describe_all, describe_fk
from laden.export.constraints import NotNull, Scalar, describe
from laden.schema import TypeKind

DRAFT = "https://json-schema.org/draft/2020-12/schema"
_FRACTION = r"(\.[0-9]+)?"
_TIME = "[0-9]{2}:[0-9]{2}:[0-9]{2}" + _FRACTION
_DATE = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
_BASE64 = "^[A-Za-z0-9+/]*={0,2}$"


def render(model: TableModel) -> str:
    table = model.table
    doc: dict[str, Any] = {
        "$schema": DRAFT,
        "title": model.class_name,
        "description": f"One row of table {table.name!r}.",
        "type": "object",
        "properties": {cm.name: _property(cm) for cm in model.columns},
        "required": [cm.name for cm in model.columns],
        "additionalProperties": False,
    }
    if table.primary_key:
        doc["x-primary-key"] = list(table.primary_key)
    uniques = [list(key) for key in table.unique_keys() if key != table.primary_key]
    if uniques:
        doc["x-unique"] = uniques
    if table.foreign_keys:
        doc["x-foreign-keys"] = [
            {"columns": list(fk.columns), "table": fk.ref_table, "ref_columns": list(fk.ref_columns)}
            for fk in table.foreign_keys
        ]
        doc["$comment"] = "foreign keys: " + "; ".join(describe_fk(fk) for fk in table.foreign_keys)
    untranslated = [f"CHECK ({c.expression})" for c in model.untranslated]
    if untranslated:
        note = "not checked by this schema: " + "; ".join(untranslated)
        doc["$comment"] = f"{doc['$comment']}. {note}" if "$comment" in doc else note
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _number(value: Decimal | Scalar, integer: bool) -> int | float:
    number = Decimal(value)
    if integer or number == number.to_integral_value():
        return int(number)
    return float(number)


def _property(cm: ColumnModel) -> dict[str, Any]:
    notes: list[str] = []
    prop = _base(cm, notes)
    if cm.enum is not None and cm.kind is not TypeKind.DECIMAL:  # decimals: noted by _decimal
        values: list[Any] = [
            _number(v, cm.kind is TypeKind.INTEGER) if cm.kind in (TypeKind.INTEGER, TypeKind.FLOAT) else v
            for v in cm.enum
        ]
        prop["enum"] = [*values, None] if cm.nullable else values
    if cm.nullable and "type" in prop:
        prop["type"] = [prop["type"], "null"]
    if cm.references:
        refs = [f"{t}.{c}" for t, c in cm.references]
        prop["x-references"] = refs[0] if len(refs) == 1 else refs
    prop["x-sql-type"] = cm.column.type
    if cm.other:
        notes.append("not checked: " + describe_all(cm.other))
    if notes:
        prop["$comment"] = "; ".join(notes)
    return prop


def _base(cm: ColumnModel, notes: list[str]) -> dict[str, Any]:
    kind = cm.kind
    if kind is TypeKind.INTEGER or kind is TypeKind.FLOAT:
        prop: dict[str, Any] = {"type": "integer" if kind is TypeKind.INTEGER else "number"}
        _numeric_bounds(prop, cm.lower, cm.upper, kind is TypeKind.INTEGER)
        if cm.not_equal:
            values = [_number(v, kind is TypeKind.INTEGER) for v in cm.not_equal]
            prop["not"] = {"const": values[0]} if len(values) == 1 else {"enum": values}
        return prop
    if kind is TypeKind.DECIMAL:
        return _decimal(cm, notes)
    if kind is TypeKind.STRING:
        return _string(cm, notes)
    if kind is TypeKind.BINARY:
        prop = {"type": "string", "contentEncoding": "base64", "pattern": _BASE64}
        if cm.max_bytes is not None:
            prop["maxLength"] = 4 * math.ceil(cm.max_bytes / 3)
        if cm.min_bytes:
            prop["minLength"] = 4 * math.ceil(cm.min_bytes / 3)
        return prop
    simple: dict[TypeKind, dict[str, Any]] = {
        TypeKind.BOOLEAN: {"type": "boolean"},
        TypeKind.DATE: {"type": "string", "format": "date"},
        TypeKind.TIME: {"type": "string", "pattern": f"^{_TIME}$"},
        TypeKind.TIMESTAMP: {"type": "string", "pattern": f"^{_DATE}T{_TIME}$"},
        TypeKind.TIMESTAMP_TZ: {"type": "string", "format": "date-time"},
        TypeKind.UUID: {"type": "string", "format": "uuid"},
    }
    if kind in simple:
        return dict(simple[kind])
    if kind is TypeKind.JSON:
        return {"description": "any JSON value"}
    notes.append(f"database type {cm.column.type}: not checked")
    return {}


def _numeric_bounds(prop: dict[str, Any], lower: Bound | None, upper: Bound | None, integer: bool) -> None:
    if lower is not None:
        prop["exclusiveMinimum" if lower.exclusive else "minimum"] = _number(lower.value, integer)
    if upper is not None:
        prop["exclusiveMaximum" if upper.exclusive else "maximum"] = _number(upper.value, integer)


def _decimal(cm: ColumnModel, notes: list[str]) -> dict[str, Any]:
    col = cm.column
    if col.precision is None:
        pattern = r"^-?[0-9]+(\.[0-9]+)?$"
    else:
        scale = col.scale or 0
        digits = max(col.precision - scale, 1)
        fraction = rf"(\.[0-9]{{1,{scale}}})?" if scale > 0 else ""
        pattern = f"^-?[0-9]{{1,{digits}}}{fraction}$"
    prop: dict[str, Any] = {"type": "string", "pattern": pattern}
    bounds = [describe(c) for c in cm.constraints if not isinstance(c, NotNull)]
    if bounds:
        notes.append("not checked (decimals are strings): " + "; ".join(bounds))
    return prop


def _string(cm: ColumnModel, notes: list[str]) -> dict[str, Any]:
    prop: dict[str, Any] = {"type": "string"}
    if cm.max_chars is not None:
        prop["maxLength"] = cm.max_chars
    if cm.min_chars:
        prop["minLength"] = cm.min_chars
    if cm.patterns:
        prop["pattern"] = cm.patterns[0]
        if len(cm.patterns) > 1:
            prop["allOf"] = [{"pattern": p} for p in cm.patterns[1:]]
    if cm.not_equal:
        prop["not"] = {"const": cm.not_equal[0]} if len(cm.not_equal) == 1 else {"enum": list(cm.not_equal)}
    if cm.min_bytes or cm.max_bytes is not None:
        notes.append(f"byte length between {cm.min_bytes or 0} and {cm.max_bytes} (not checked)")
    return prop
