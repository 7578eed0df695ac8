"""Model export (``laden model``): a table as JSON Schema, Pydantic, SQLAlchemy or Legend PURE.

>>> from laden.export import model
>>> print(model("sqlite:///shop.db", "orders", format="pydantic", constraints=["qty > 0"]))

Types, nullability, lengths, numeric precision and enum-like CHECK constraints carry over;
FKs become references; extra constraints (:mod:`laden.export.constraints`) merge with the
database's checks and appear in every format that can state them. A check that cannot be
translated is kept as a comment. :func:`render` does the same from a reflected
:class:`~laden.schema.Schema`, without a database.
"""

from __future__ import annotations

from laden.export._api import ModelFormat, model, render
from laden.export.constraints import Constraint, TableCheck, parse_checks, parse_constraint, parse_constraints

__all__ = [
    "Constraint",
    "ModelFormat",
    "TableCheck",
    "model",
    "parse_checks",
    "parse_constraint",
    "parse_constraints",
    "render",
]
