"""Synthetic data: value primitives, the US place list, and the retail master-data generator.

* :mod:`laden.generate.values` — reusable column generators ``(rng, n, ...) -> Arrow array``;
* :mod:`laden.generate.places` — the shipped US place list (Census, public domain);
* :mod:`laden.generate.retail` — the retail tables, their counts per scale, block generators;
* :mod:`laden.generate.run` — :func:`retail_dataset` / :func:`generate_retail` (parallel, streamed);
* :mod:`laden.generate.ddl` — ``CREATE TABLE`` with keys for the four engines.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_tables", "generate_retail", "retail_counts", "retail_dataset", "retail_schema"]

_HOMES = {
    "create_tables": "laden.generate.ddl",
    "generate_retail": "laden.generate.run",
    "retail_dataset": "laden.generate.run",
    "retail_counts": "laden.generate.retail",
    "retail_schema": "laden.generate.retail",
}


def __getattr__(name: str) -> Any:  # imported on first use: workers need only the modules they run
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'laden.generate' has no attribute {name!r}")
