"""``laden demo``: the retail dataset at a small scale, into an embedded SQLite file, checked.

It generates the retail master data (:mod:`laden.generate.retail`: US places, distribution
centers, stores, trucks, customers, products, inventory snapshots), creates the tables with
their primary and foreign keys, loads them in FK order in one transaction (replacing what a
previous run left), then counts rows and FK orphans (:mod:`laden.integrity`) so the user
sees that every key holds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import quote

from laden.integrity import IntegrityReport, check_integrity
from laden.progress import ProgressCallback
from laden.report import Report

#: about 10,000 customers and 36,000 rows in all: a second or two
DEFAULT_SCALE = 0.01


@dataclass
class DemoResult:
    url: str
    report: Report
    #: None when the load failed
    integrity: IntegrityReport | None

    @property
    def ok(self) -> bool:
        return self.report.ok and self.integrity is not None and self.integrity.ok


def run(
    path: str, *, scale: float = DEFAULT_SCALE, seed: int = 0, progress: ProgressCallback | None = None
) -> DemoResult:
    """Generate, create, load and check; ``path`` is the SQLite file (created when missing)."""
    from laden.generate import generate_retail

    url = "sqlite:///" + quote(os.path.abspath(path))
    report = generate_retail(scale, seed, [url], create=True, workers=1, progress=progress, strategy="truncate_insert")
    return DemoResult(url, report, check_integrity(url) if report.ok else None)
