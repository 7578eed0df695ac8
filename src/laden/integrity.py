"""Count what a load left behind: rows per table and FK orphans per foreign key.

An orphan is a child row whose FK columns are all set but match no parent row (FKs are
``MATCH SIMPLE``: a NULL in any column exempts the row). Databases that enforce FKs have
none; the check proves it to the user (``laden demo``) and finds them where checks were off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from laden.reflect import RowCounts
from laden.targets import backend_for


@dataclass(frozen=True)
class Orphans:
    table: str
    foreign_key: str
    rows: int


@dataclass
class IntegrityReport:
    target: str
    row_counts: dict[str, int] = field(default_factory=dict)
    orphans: list[Orphans] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o.rows == 0 for o in self.orphans)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "ok": self.ok,
            "row_counts": self.row_counts,
            "orphans": [{"table": o.table, "foreign_key": o.foreign_key, "rows": o.rows} for o in self.orphans],
        }

    def __str__(self) -> str:
        lines = [f"integrity of {self.target}:"]
        width = max((len(t) for t in self.row_counts), default=5)
        lines.extend(f"  {t:<{width}}  {n:>12,} rows" for t, n in self.row_counts.items())
        bad = [o for o in self.orphans if o.rows]
        lines.append(
            f"  FK orphans: 0 across {len(self.orphans)} foreign keys"
            if not bad
            else "  FK orphans: " + "; ".join(f"{o.foreign_key}: {o.rows:,}" for o in bad)
        )
        return "\n".join(lines)


def check_integrity(target: str, tables: Sequence[str] | None = None) -> IntegrityReport:
    """Exact row counts and orphan counts for every table (or ``tables``) of a database target."""
    backend = backend_for(target)
    backend.connect()
    try:
        schema = backend.reflect(tables, RowCounts.EXACT)
        report = IntegrityReport(backend.name)
        names = {t.name for t in schema.tables}
        for t in schema.tables:
            report.row_counts[t.name] = t.row_count or 0
            for fk in t.foreign_keys:
                if fk.ref_table in names:
                    count, _ = backend.orphans(t, fk, limit=0)
                    report.orphans.append(Orphans(t.name, fk.describe(t.name), count))
        return report
    finally:
        backend.close()
