"""Shared pieces of the per-engine reflectors: the query protocol, row-count modes, quoting
and a mutable builder that becomes an immutable :class:`~laden.schema.Table`."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from laden.schema import CheckConstraint, Column, ForeignKey, Index, Schema, Table, UniqueConstraint

#: Runs one SQL statement with positional parameters and returns all rows.
Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]

#: Compound SELECTs per exact-count statement (SQLite allows at most 500 by default).
COUNT_BATCH = 200


class RowCounts(enum.Enum):
    """How :func:`laden.reflect.reflect` fills ``Table.row_count``."""

    NONE = "none"  #: leave it None
    ESTIMATE = "estimate"  #: planner statistics (cheap, may be stale or None)
    EXACT = "exact"  #: ``SELECT count(*)`` per table


def quote_ident(name: str, quote: str = '"') -> str:
    """Quote an identifier for SQL, doubling the quote character inside it."""
    return quote + name.replace(quote, quote * 2) + quote


def placeholders(count: int, mark: str) -> str:
    """``(?, ?, ?)`` for an ``IN`` list of ``count`` parameters (``count`` > 0)."""
    return "(" + ", ".join([mark] * count) + ")"


def as_int(value: Any) -> int | None:
    """An integer from a driver value (int, Decimal, str, float) or None."""
    if value is None:
        return None
    return int(value)


def as_bool(value: Any) -> bool:
    """A boolean from a driver value (bool, int, 'YES'/'NO', 't'/'f')."""
    if isinstance(value, str):
        return value.strip().upper() in ("YES", "Y", "T", "TRUE", "1")
    return bool(value)


@dataclass
class TableBuilder:
    """Mutable collector for one table; :meth:`build` freezes it."""

    name: str
    columns: list[Column] = field(default_factory=list)
    primary_key: tuple[str, ...] = ()
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    unique_constraints: list[UniqueConstraint] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    checks: list[CheckConstraint] = field(default_factory=list)
    row_count: int | None = None

    def build(self, namespace: str | None) -> Table:
        return Table(
            name=self.name,
            columns=tuple(self.columns),
            primary_key=self.primary_key,
            foreign_keys=tuple(sorted(self.foreign_keys, key=_fk_key)),
            unique_constraints=tuple(sorted(self.unique_constraints, key=_unique_key)),
            indexes=tuple(sorted(self.indexes, key=lambda i: i.name)),
            checks=tuple(sorted(self.checks, key=_check_key)),
            row_count=self.row_count,
            namespace=namespace,
        )


def _fk_key(fk: ForeignKey) -> tuple[str, tuple[str, ...], str]:
    return (fk.name or "", fk.columns, fk.ref_table)


def _unique_key(u: UniqueConstraint) -> tuple[str, tuple[str, ...]]:
    return (u.name or "", u.columns)


def _check_key(c: CheckConstraint) -> tuple[str, str]:
    return (c.name or "", c.expression)


def build_schema(builders: Iterable[TableBuilder], namespace: str | None) -> Schema:
    """Freeze the builders into a :class:`Schema` with tables sorted by name."""
    return Schema(tables=tuple(b.build(namespace) for b in sorted(builders, key=lambda b: b.name)))


def exact_counts(
    query: Query,
    tables: Sequence[tuple[str, str]],
    *,
    mark: str,
    label: str | None = None,
) -> dict[str, int]:
    """``count(*)`` of every table, batched into ``UNION ALL`` statements.

    ``tables`` holds ``(name, quoted_qualified_name)`` pairs. The name is passed as a
    parameter (so every statement has parameters); with ``%s``-style drivers literal
    percent signs in the spliced identifiers are doubled. ``label`` wraps the parameter
    (e.g. ``"CAST({} AS text)"``) for engines that cannot type a bare parameter.
    """
    counts: dict[str, int] = {}
    for start in range(0, len(tables), COUNT_BATCH):
        batch = tables[start : start + COUNT_BATCH]
        parts = []
        for _, qualified in batch:
            ident = qualified.replace("%", "%%") if mark == "%s" else qualified
            param = label.format(mark) if label else mark
            parts.append(f"SELECT {param}, count(*) FROM {ident}")
        rows = query(" UNION ALL ".join(parts), [name for name, _ in batch])
        for name, count in rows:
            counts[str(name)] = int(count)
    return counts


def fill_counts(builders: dict[str, TableBuilder], counts: dict[str, int]) -> None:
    for name, count in counts.items():
        if name in builders:
            builders[name].row_count = count
