"""The entry points: :func:`model` (reflect a target, render one table) and :func:`render`."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from laden.errors import UsageError, aside, did_you_mean
from laden.export import _json_schema, _pure, _pydantic, _sqlalchemy
from laden.export._common import PY_RESERVED, build
from laden.export.constraints import Constraint, parse_constraints, validate
from laden.schema import Schema, Table


class ModelFormat(str, enum.Enum):
    """What :func:`model` writes."""

    #: JSON Schema (draft 2020-12) of one row as ``laden query --json`` prints it
    JSONSCHEMA = "jsonschema"
    #: a Pydantic v2 module with one ``BaseModel``
    PYDANTIC = "pydantic"
    #: a SQLAlchemy 2.0 declarative module that recreates the table
    SQLALCHEMY = "sqlalchemy"
    #: a FINOS Legend PURE class with multiplicities and constraints
    PURE = "pure"


def model_format(value: str | ModelFormat) -> ModelFormat:
    try:
        return ModelFormat(value)
    except ValueError:
        allowed = ", ".join(f.value for f in ModelFormat)
        raise UsageError(f"unknown model format {value!r}; expected one of: {allowed}") from None


def find_table(schema: Schema, name: str) -> Table:
    """The table called ``name`` (case-insensitively if need be), or a UsageError listing the tables."""
    table = schema.table(name) or schema.table(name, fold_case=True)
    if table is None:
        have = ", ".join(schema.table_names) if schema.tables else "none"
        raise UsageError(
            f"unknown table {name!r}{aside(did_you_mean(name, schema.table_names))}; the target's tables: {have}"
        )
    return table


def render(
    schema: Schema,
    table: str,
    fmt: str | ModelFormat,
    constraints: Sequence[Constraint] = (),
    *,
    engine: str | None = None,
) -> str:
    """The model of ``table`` (a table of ``schema``) in ``fmt``, with the database's CHECKs
    and the extra ``constraints`` merged. No database is touched.

    ``engine`` ("postgresql", "mysql", "sqlite", "duckdb") says how the CHECK texts are
    spelled; when None it is guessed from them.
    """
    fmt = model_format(fmt)
    found = find_table(schema, table)
    for c in constraints:
        validate(c, found)
    if fmt is ModelFormat.PURE:
        tm = build(found, constraints, engine=engine, ascii_only=True, reserved=_pure.RESERVED)
        return _pure.render(tm, schema)
    tm = build(found, constraints, engine=engine, reserved=PY_RESERVED)
    if fmt is ModelFormat.JSONSCHEMA:
        return _json_schema.render(tm)
    if fmt is ModelFormat.PYDANTIC:
        return _pydantic.render(tm)
    return _sqlalchemy.render(tm, schema)


def model(
    target: str,
    table: str,
    *,
    format: str | ModelFormat,
    constraints: Sequence[str] = (),
    config: Any = None,
) -> str:
    """Reflect ``target`` (a URL, or a name from ``laden.yaml`` with ``config``) and return
    the source text of ``table``'s model in ``format``.

    ``constraints`` are extra rules in laden's small syntax (``qty > 0``, ``ticker matches
    '^[A-Z]{1,5}$'``, ``not_null(note)``, ...); they are merged with the CHECK constraints
    read from the database. Raises :class:`UsageError` for an unknown format, table or
    column, or a constraint that cannot be parsed.
    """
    from laden import api
    from laden.reflect import RowCounts
    from laden.urls import DatabaseURL

    fmt = model_format(format)
    if isinstance(constraints, str):
        constraints = [constraints]
    kwargs: dict[str, Any] = {"row_counts": RowCounts.NONE}
    if config is not None:
        kwargs["config"] = config
    schema = api.inspect(target, **kwargs)  # every table: FKs name their targets
    found = find_table(schema, table)
    parsed = [c for text in constraints for c in parse_constraints(text, found)]
    engine = DatabaseURL.parse(target).engine.value if "://" in target else None
    return render(schema, found.name, fmt, parsed, engine=engine)
