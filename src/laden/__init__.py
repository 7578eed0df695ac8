"""laden: load datasets into databases in foreign-key order, atomically, at bulk speed.

>>> import laden
>>> report = laden.load({"customers": df, "orders": "orders.parquet"}, "sqlite:///shop.db")
>>> report.ok
True
"""

from __future__ import annotations

from laden.api import distribute, inspect, load, plan, query
from laden.check import ConfigCheck, DatabaseCheck, ValidationResult, check_config, validate, validate_databases
from laden.config import Config, ConfigError, Datasource, TargetConfig, load_config
from laden.errors import (
    BadRowError,
    CancelledError,
    ConnectError,
    LadenError,
    MissingDriverError,
    ReportError,
    SchemaMismatchError,
    SourceError,
    TargetError,
    TooManyRejectsError,
    UnsupportedError,
    UsageError,
)
from laden.plan import CycleMethod, LoadOptions, LoadPlan, OnError, Strategy
from laden.pool import PoolConfig, close_pools
from laden.progress import CancelToken, EventKind, ProgressEvent
from laden.reflect import RowCounts
from laden.rejects import Reject
from laden.report import Report, Status, TableReport, TargetReport
from laden.schema import CheckConstraint, Column, ForeignKey, Index, Schema, Table, TypeKind, UniqueConstraint
from laden.source import Dataset, TableSource, as_dataset

__version__ = "0.1.0"


_GENERATE = ("generate_retail", "retail_dataset", "retail_schema", "retail_counts", "create_tables")
_FROM_SCHEMA = ("generate_from_schema", "plan_schema_generation", "schema_dataset", "GenerationError")


def __getattr__(name: str) -> object:
    """``laden.QueryResult``, ``laden.model`` and the generators without importing them at start-up."""
    if name == "QueryResult":
        from laden.queries import QueryResult

        return QueryResult
    if name == "model":
        from laden.export import model

        return model
    if name in _GENERATE:
        import laden.generate

        return getattr(laden.generate, name)
    if name in _FROM_SCHEMA:
        import laden.generate.from_schema

        return getattr(laden.generate.from_schema, name)
    raise AttributeError(f"module 'laden' has no attribute {name!r}")


__all__ = [
    "BadRowError",
    "CancelToken",
    "CancelledError",
    "CheckConstraint",
    "Column",
    "Config",
    "ConfigCheck",
    "ConfigError",
    "ConnectError",
    "CycleMethod",
    "DatabaseCheck",
    "Dataset",
    "Datasource",
    "EventKind",
    "ForeignKey",
    "Index",
    "LadenError",
    "LoadOptions",
    "LoadPlan",
    "MissingDriverError",
    "OnError",
    "PoolConfig",
    "ProgressEvent",
    "QueryResult",
    "Reject",
    "Report",
    "ReportError",
    "RowCounts",
    "Schema",
    "SchemaMismatchError",
    "SourceError",
    "Status",
    "Strategy",
    "Table",
    "TableReport",
    "TableSource",
    "TargetConfig",
    "TargetError",
    "TargetReport",
    "TooManyRejectsError",
    "TypeKind",
    "UniqueConstraint",
    "UnsupportedError",
    "UsageError",
    "ValidationResult",
    "__version__",
    "as_dataset",
    "check_config",
    "close_pools",
    "distribute",
    "inspect",
    "load",
    "load_config",
    "model",
    "plan",
    "query",
    "validate",
    "validate_databases",
]
