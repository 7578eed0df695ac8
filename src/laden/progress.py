"""Progress events and cancellation.

The engine calls a user callback with :class:`ProgressEvent` objects and checks a
:class:`CancelToken` between batches. Both are plain and thread-safe, so a UI thread, a
signal handler or another service can cancel a running load.
"""

from __future__ import annotations

import enum
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass


class EventKind(str, enum.Enum):
    LOAD_STARTED = "load_started"
    TABLE_STARTED = "table_started"
    ROWS_WRITTEN = "rows_written"
    TABLE_FINISHED = "table_finished"
    LOAD_FINISHED = "load_finished"


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    load_id: str
    kind: EventKind
    target: str
    table: str | None = None
    #: rows written so far for this table (ROWS_WRITTEN, TABLE_FINISHED)
    rows: int = 0
    #: rows expected for this table when the source knows it (Parquet, Arrow), else None
    total: int | None = None
    status: str | None = None


ProgressCallback = Callable[[ProgressEvent], None]


class CancelToken:
    """Cancel a load from any thread: ``token.cancel()``; the engine stops between batches."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


def new_load_id() -> str:
    return uuid.uuid4().hex[:12]
