"""laden: load datasets into databases in foreign-key order, atomically, at bulk speed.

>>> import laden
>>> report = laden.load({"customers": df, "orders": "orders.parquet"}, "sqlite:///shop.db")
>>> report.ok
True
"""

from __future__ import annotations

from laden.api import distribute, inspect, load, plan
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
from laden.progress import CancelToken, EventKind, ProgressEvent
from laden.reflect import RowCounts
from laden.rejects import Reject
from laden.report import Report, Status, TableReport, TargetReport
from laden.schema import CheckConstraint, Column, ForeignKey, Index, Schema, Table, TypeKind, UniqueConstraint
from laden.source import Dataset, TableSource, as_dataset

__version__ = "0.1.0"

__all__ = [
    "BadRowError",
    "CancelToken",
    "CancelledError",
    "CheckConstraint",
    "Column",
    "ConnectError",
    "CycleMethod",
    "Dataset",
    "EventKind",
    "ForeignKey",
    "Index",
    "LadenError",
    "LoadOptions",
    "LoadPlan",
    "MissingDriverError",
    "OnError",
    "ProgressEvent",
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
    "TargetError",
    "TargetReport",
    "TooManyRejectsError",
    "TypeKind",
    "UniqueConstraint",
    "UnsupportedError",
    "UsageError",
    "__version__",
    "as_dataset",
    "distribute",
    "inspect",
    "load",
    "plan",
]
