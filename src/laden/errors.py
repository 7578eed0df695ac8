"""The exception tree of laden.

Every error raised by laden derives from :class:`LadenError`. Driver errors are
translated once, at the connection boundary, and chained (``raise ... from exc``).

::

    LadenError
    ├── UsageError              bad arguments: unknown strategy, bad URL, bad key spec
    ├── SourceError             a source cannot be read (file missing, unknown format)
    ├── MissingDriverError      an optional backend package is not installed
    ├── TargetError             anything that went wrong on a target (names the target)
    │   ├── ConnectError        the target cannot be reached or refused the login
    │   ├── SchemaMismatchError source and target tables/columns do not fit
    │   ├── UnsupportedError    the backend cannot do what was asked (e.g. this cycle, upsert without unique key)
    │   ├── BadRowError         a row could not be loaded (names table, row, column, reason)
    │   ├── TooManyRejectsError ``max_rejects`` was exceeded
    │   └── CancelledError      the load was cancelled
    └── ReportError             ``Report.raise_for_status()`` when a target failed

Messages say what happened, where (target, table, row number, column) and what to do.
Connection URLs in messages are always masked.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class LadenError(Exception):
    """Root of every error laden raises."""


class UsageError(LadenError):
    """The caller asked for something malformed (bad option, URL, key spec)."""


class SourceError(LadenError):
    """A source could not be read."""


class MissingDriverError(LadenError):
    """An optional backend package is missing; the message names the install command."""


class TargetError(LadenError):
    """An error on one target. ``target`` is the masked URL or name of the target."""

    def __init__(self, message: str, *, target: str | None = None, table: str | None = None) -> None:
        self.target = target
        self.table = table
        super().__init__(message)


class ConnectError(TargetError):
    """The target could not be reached or refused the connection."""


class SchemaMismatchError(TargetError):
    """Source and target do not fit: unknown table or column, missing NOT NULL column."""


class UnsupportedError(TargetError):
    """The backend cannot do what was asked; the message lists what it can do."""


class BadRowError(TargetError):
    """A row could not be loaded."""

    def __init__(
        self,
        message: str,
        *,
        target: str | None = None,
        table: str | None = None,
        row: int | None = None,
        column: str | None = None,
        reason: str = "",
        file: str | None = None,
    ) -> None:
        self.row = row
        self.column = column
        self.reason = reason
        #: the source file the row came from (``row`` is its data row), when the source is a file
        self.file = file
        super().__init__(message, target=target, table=table)


class TooManyRejectsError(TargetError):
    """More rows were rejected than ``max_rejects`` allows."""


class CancelledError(TargetError):
    """The load was cancelled through its :class:`~laden.progress.CancelToken`."""


class ReportError(LadenError):
    """Raised by ``Report.raise_for_status()`` when any target did not finish ok."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``"did you mean 'age'?"`` for the one of ``choices`` closest to a misspelt ``name``
    (case aside), or ``""`` when none is close."""
    by_lower = {c.lower(): c for c in choices}
    found = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.75)
    return f"did you mean {by_lower[found[0]]!r}?" if found else ""


def aside(text: str) -> str:
    """``text`` as a parenthesis after a word, or nothing when empty."""
    return f" ({text})" if text else ""
