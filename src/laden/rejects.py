"""Rejected rows: where they go and how they are counted.

In ``on_error="reject"`` mode every bad row becomes one JSON Lines record:
``{"target", "table", "row", "column", "reason", "values"}`` where ``row`` is the row
number in the source (1 = first data row); a file row that could not be split into columns
(a CSV row with the wrong number of fields) has empty ``values`` and its ``text`` instead.
``max_rejects`` turns too many into a failure.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import os
import threading
from dataclasses import dataclass, field
from typing import IO, Any

from laden.errors import TooManyRejectsError


@dataclass(frozen=True, slots=True)
class Reject:
    table: str
    row: int
    column: str | None
    reason: str
    values: dict[str, Any]
    #: the row as it stands in the source file, when it could not be split into columns
    text: str | None = None

    def to_dict(self, target: str) -> dict[str, Any]:
        record = {
            "target": target,
            "table": self.table,
            "row": self.row,
            "column": self.column,
            "reason": self.reason,
            "values": self.values,
        }
        if self.text is not None:
            record["text"] = self.text
        return record


def _json_default(value: object) -> object:
    if isinstance(value, bytes | bytearray | memoryview):
        return "base64:" + base64.b64encode(bytes(value)).decode()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return str(value)


@dataclass
class RejectSink:
    """Collects the rejects of one target; appends them to ``path`` (JSON Lines) if given."""

    target: str
    path: str | None = None
    max_rejects: int | None = None
    count: int = 0
    per_table: dict[str, int] = field(default_factory=dict)
    _file: IO[str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, reject: Reject) -> None:
        with self._lock:
            self.count += 1
            self.per_table[reject.table] = self.per_table.get(reject.table, 0) + 1
            if self.path is not None:
                if self._file is None:
                    os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
                    self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
                line = json.dumps(reject.to_dict(self.target), default=_json_default, ensure_ascii=False)
                self._file.write(line + "\n")
        if self.max_rejects is not None and self.count > self.max_rejects:
            raise TooManyRejectsError(
                f"{self.target}: more than {self.max_rejects} rejected rows (max_rejects); "
                f"last: table {reject.table!r}, row {reject.row}: {reject.reason}. Rolled back.",
                target=self.target,
                table=reject.table,
            )

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
