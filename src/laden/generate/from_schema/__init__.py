"""Synthetic data for any schema: reflect it, plan every column, stream rows that satisfy every constraint.

.. code-block:: python

    plan = plan_schema_generation(schema, {"*": 1000, "orders": 5000}, seed=7)   # raises on any problem
    dataset = schema_dataset(plan)                                               # replayable, FK order
    report = generate_from_schema("postgresql://app@db/shop", rows=10_000)       # reflect, plan, load

The rows satisfy column types, lengths, precision, NOT NULL, primary and unique keys
(composite too), foreign keys (composite, self-references, cycles) and CHECKs of simple forms
(comparisons with constants, ``IN``, ``BETWEEN``, ``length()``, two columns compared). Values
look real where the column name says what it holds (emails, names, phones, addresses, prices,
``created_at <= updated_at``, ...); :class:`Overrides` pick a generator, values with weights,
a range or a pattern per column, and the fan-out of foreign keys. What cannot be satisfied is
reported before any row is made — every problem at once, by table and constraint.

How: key-like columns are pure functions of the row index (see :mod:`.keys`, :mod:`.assign`),
so a child computes its parents' keys without reading them and every table streams in
fixed blocks with bounded memory; other columns draw from per-block random streams, so the
rows are the same for any batch size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from laden.generate.from_schema.batches import schema_dataset
from laden.generate.from_schema.keys import Distribution
from laden.generate.from_schema.model import GenerationPlan, Problem
from laden.generate.from_schema.overrides import (
    ColumnOverride,
    Fanout,
    Named,
    Overrides,
    Range,
    Regex,
    Values,
    read_overrides,
)
from laden.generate.from_schema.plan import FanoutSpec, GenerationError, plan_schema_generation
from laden.generate.from_schema.realism import Generator
from laden.progress import CancelToken, ProgressCallback
from laden.report import Report

__all__ = [
    "ColumnOverride",
    "Distribution",
    "Fanout",
    "GenerationError",
    "GenerationPlan",
    "Generator",
    "Named",
    "Overrides",
    "Problem",
    "Range",
    "Regex",
    "Values",
    "generate_from_schema",
    "plan_schema_generation",
    "read_overrides",
    "schema_dataset",
]


def generate_from_schema(
    source: str,
    targets: Sequence[str] = (),
    *,
    rows: int | Mapping[str, int] = 1000,
    seed: int = 0,
    locale: str = "en_US",
    overrides: Overrides | None = None,
    config: Any = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    tables: Sequence[str] | None = None,
    fanout: FanoutSpec = None,
    **options: Any,
) -> Report:
    """Reflect ``source`` (a URL or name), plan the generation and load the rows into ``targets`` (default: ``source``).

    ``rows``: one count for every table, or ``{table: count}`` (``"*"``: the others; default 1000).
    ``tables``: generate only these (FKs to other tables must be nullable: they stay NULL).
    ``options`` go to :func:`laden.api.distribute` (``strategy``, ``batch_size``, ``on_error``, ...).
    Raises :class:`GenerationError` (a :class:`~laden.errors.UsageError`) listing every problem
    before anything is generated or written.
    """
    from laden import api

    if isinstance(targets, str):
        targets = [targets]
    schema = api.inspect(source, tables=tables, row_counts="none", config=config)
    if tables is not None:
        missing = [t for t in tables if schema.table(t, fold_case=True) is None]
        if missing:
            from laden.errors import UsageError

            raise UsageError(f"table(s) {', '.join(missing)} not found in {source}")
    plan = plan_schema_generation(schema, rows, seed=seed, locale=locale, overrides=overrides, fanout=fanout)
    batch_size = options.get("batch_size") or 100_000
    dataset = schema_dataset(plan, batch_size=batch_size)
    return api.distribute(
        dataset, list(targets) or [source], progress=progress, cancel=cancel, config=config, **options
    )
