"""Records an HTTP target could not deliver: a JSON Lines file, or kept in memory.

One line per record::

    {"target": "orders_api", "load_id": "…", "table": "orders", "row": 17,
     "url": "https://api.example.com/v1/orders", "status": 422, "http_status": 207,
     "reason": "HTTP 207, item status 422, not retried", "response": "{\\"status\\": 422, …}",
     "attempts": 1, "idempotency_key": "…", "record": {…the exact JSON that was sent…}}

``status`` is the record's own status when the server answers per item, else the HTTP status
(null when there was no answer); ``response`` is the start of the answer (the record's entry
of the per-item list, or the response body), with every secret replaced by ``***``.
``record`` is spliced in byte for byte, exactly as it was sent. A record that was never sent
(a value with no JSON form) has ``"status": null`` and its values as the source gave them.
Without a file, the records are kept on the report as :class:`~laden.rejects.Reject` objects.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from typing import IO, Any

from laden.errors import TargetError
from laden.rejects import Reject
from laden.urls import scrub


@dataclass
class DeadLetter:
    table: str
    row: int
    url: str
    status: object
    http_status: int | None
    reason: str
    response: str
    attempts: int
    key: str | None
    #: the exact JSON bytes sent, or the source values of a record that could not be encoded
    record: bytes | dict[str, Any]
    column: str | None = None


@dataclass
class DeadLetters:
    """Where one target's undeliverable records go; counts them per table."""

    target: str
    load_id: str
    path: str | None
    secrets: tuple[str, ...] = ()
    count: int = 0
    per_table: dict[str, int] = field(default_factory=dict)
    #: kept when there is no file
    rejects: list[Reject] = field(default_factory=list)
    _file: IO[str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, letter: DeadLetter) -> None:
        with self._lock:
            self.count += 1
            self.per_table[letter.table] = self.per_table.get(letter.table, 0) + 1
            if self.path is None:
                self.rejects.append(self._reject(letter))
                return
            try:
                if self._file is None:
                    os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
                    self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
                self._file.write(self._line(letter) + "\n")
            except OSError as exc:
                raise TargetError(
                    f"{self.target}: cannot write the dead-letter file {self.path}: {exc}; "
                    "choose a writable path (dead_letter, or the rejects path)",
                    target=self.target,
                    table=letter.table,
                ) from exc

    def _line(self, letter: DeadLetter) -> str:
        head = {
            "target": self.target,
            "load_id": self.load_id,
            "table": letter.table,
            "row": letter.row,
            "url": letter.url,
            "status": letter.status,
            "http_status": letter.http_status,
            "reason": scrub(letter.reason, self.secrets),
            "response": scrub(letter.response, self.secrets),
            "attempts": letter.attempts,
            "idempotency_key": letter.key,
        }
        text = json.dumps(head, ensure_ascii=False, default=str)
        record = letter.record
        raw = record.decode() if isinstance(record, bytes) else json.dumps(record, ensure_ascii=False, default=str)
        return text[:-1] + ', "record": ' + raw + "}"

    def _reject(self, letter: DeadLetter) -> Reject:
        record = letter.record
        values = json.loads(record) if isinstance(record, bytes) else record
        reason = scrub(letter.reason, self.secrets)
        if letter.response:
            reason += f"; response: {scrub(letter.response, self.secrets)}"
        return Reject(letter.table, letter.row, letter.column, reason, values)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
