"""Progress bars on a terminal: one per table, with rows, rows/s and time left.

Imported only when stderr is a terminal, so piped and scripted runs never load rich.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from laden.progress import EventKind, ProgressEvent


class RowsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:,.0f} rows/s" if task.speed else "")


class Bars:
    """Draws :class:`ProgressEvent` s; one bar per (target, table). A context manager."""

    def __init__(self, console: Console) -> None:
        self._tasks: dict[tuple[str, str], TaskID] = {}
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            RowsPerSecond(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[status]}"),
            console=console,
        )

    def __enter__(self) -> Bars:
        self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.progress.stop()

    def __call__(self, event: ProgressEvent) -> None:
        if event.table is None:
            return
        key = (event.target, event.table)
        if event.kind is EventKind.TABLE_STARTED or key not in self._tasks:
            self._tasks[key] = self.progress.add_task(f"{event.target}: {event.table}", total=event.total, status="")
        task = self._tasks[key]
        if event.kind is EventKind.TABLE_FINISHED:
            self.progress.update(task, completed=event.rows, total=event.total or event.rows, status=event.status or "")
        else:
            self.progress.update(task, completed=event.rows)
