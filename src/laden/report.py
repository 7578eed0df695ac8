"""The outcome of a load: one entry per target and per table.

A :class:`Report` serialises to JSON (``to_dict``/``to_json``) and renders as a table
(``str(report)``). Target URLs in it are always masked.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

from laden.errors import ReportError
from laden.rejects import Reject


class Status(str, enum.Enum):
    OK = "ok"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


@dataclass
class TableReport:
    table: str
    strategy: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    duration_s: float = 0.0
    status: Status = Status.SKIPPED
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "strategy": self.strategy,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "duration_s": round(self.duration_s, 6),
            "status": self.status.value,
            "error": self.error,
        }


@dataclass
class TargetReport:
    target: str
    engine: str
    strategy: str
    status: Status = Status.SKIPPED
    error: str | None = None
    duration_s: float = 0.0
    tables: list[TableReport] = field(default_factory=list)
    #: how the load went where it matters to the user (bulk path used, fallbacks, cycle method)
    notes: list[str] = field(default_factory=list)
    rejects_path: str | None = None
    #: rejected rows kept in memory when no rejects file was given
    rejects: list[Reject] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    @property
    def rows_read(self) -> int:
        return sum(t.rows_read for t in self.tables)

    @property
    def rows_loaded(self) -> int:
        return sum(t.rows_loaded for t in self.tables)

    @property
    def rows_rejected(self) -> int:
        return sum(t.rows_rejected for t in self.tables)

    def table(self, name: str) -> TableReport:
        for t in self.tables:
            if t.table == name:
                return t
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "engine": self.engine,
            "strategy": self.strategy,
            "status": self.status.value,
            "error": self.error,
            "duration_s": round(self.duration_s, 6),
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "rejects_path": self.rejects_path,
            "notes": list(self.notes),
            "tables": [t.to_dict() for t in self.tables],
            "rejects": [r.to_dict(self.target) for r in self.rejects],
        }


@dataclass(repr=False)
class Report:
    load_id: str
    targets: list[TargetReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.targets) and all(t.ok for t in self.targets)

    @property
    def status(self) -> Status:
        if self.ok:
            return Status.OK
        if any(t.status is Status.CANCELLED for t in self.targets):
            return Status.CANCELLED
        return Status.FAILED

    @property
    def rows_read(self) -> int:
        return sum(t.rows_read for t in self.targets)

    @property
    def rows_loaded(self) -> int:
        return sum(t.rows_loaded for t in self.targets)

    @property
    def rows_rejected(self) -> int:
        return sum(t.rows_rejected for t in self.targets)

    def target(self, name: str) -> TargetReport:
        for t in self.targets:
            if t.target == name:
                return t
        raise KeyError(name)

    def raise_for_status(self) -> Report:
        bad = [t for t in self.targets if not t.ok]
        if bad:
            raise ReportError("; ".join(f"{t.target}: {t.status.value}: {t.error}" for t in bad))
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "load_id": self.load_id,
            "status": self.status.value,
            "ok": self.ok,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "targets": [t.to_dict() for t in self.targets],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def __str__(self) -> str:
        return render(self)

    def __repr__(self) -> str:
        parts = ", ".join(f"{t.target}: {t.status.value}" + (f" ({t.error})" if t.error else "") for t in self.targets)
        return f"<Report {self.load_id} {self.status.value}: {parts}>"


def render(report: Report) -> str:
    """A plain-text table, one block per target."""
    lines: list[str] = [f"load {report.load_id}: {report.status.value}"]
    header = ("table", "strategy", "read", "loaded", "rejected", "seconds", "status")
    for tgt in report.targets:
        lines.append("")
        lines.append(f"{tgt.target}  [{tgt.status.value}, {tgt.duration_s:.2f}s]")
        rows = [header]
        for t in tgt.tables:
            rows.append(
                (
                    t.table,
                    t.strategy,
                    f"{t.rows_read:,}",
                    f"{t.rows_loaded:,}",
                    f"{t.rows_rejected:,}",
                    f"{t.duration_s:.2f}",
                    t.status.value,
                )
            )
        rows.append(
            (
                "total",
                "",
                f"{tgt.rows_read:,}",
                f"{tgt.rows_loaded:,}",
                f"{tgt.rows_rejected:,}",
                f"{tgt.duration_s:.2f}",
                tgt.status.value,
            )
        )
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        for i, r in enumerate(rows):
            cells = [c.ljust(w) if j < 2 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths, strict=True))]
            lines.append("  " + "  ".join(cells).rstrip())
            if i == 0 or i == len(rows) - 2:
                lines.append("  " + "  ".join("-" * w for w in widths))
        for note in tgt.notes:
            lines.append(f"  note: {note}")
        if tgt.rejects_path and tgt.rows_rejected:
            lines.append(f"  rejects: {tgt.rejects_path}")
        if tgt.error:
            lines.append(f"  error: {tgt.error}")
    return "\n".join(lines)
