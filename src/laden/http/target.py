"""An HTTP endpoint as a load target: records sent as JSON, accounted for exactly.

Tables are sent one after the other in the dataset's order (an HTTP API states no foreign
keys to order by). Within a table, the main thread reads and encodes batches and cuts them
into requests; up to ``concurrency`` requests are in flight on worker threads. Outcomes
are accounted for strictly in request order, on the main thread, so counts, the dead-letter
file, progress events and the ``on_error=fail`` stop come out the same whatever the timing.

Why threads with httpx's sync client rather than asyncio: laden's API is synchronous and
already uses threads; a private event loop would fail inside callers that run one (Jupyter,
async web apps); the sync client pools connections and is thread-safe; waiting on sockets
and encoding with Arrow both release the GIL; and the useful concurrency against one API is
small (bounded by its rate limits), where threads cost nothing noticeable.

Accounting, per table: ``rows_read`` counts the records sent (and those that could not be
encoded), ``rows_loaded`` those the server acknowledged, ``rows_rejected`` those written to the
dead-letter file; ``rows_read == rows_loaded + rows_rejected`` always. Nothing is rolled back:
HTTP has no transaction, so a failed load says how many records the server already has.
"""

from __future__ import annotations

import functools
import ssl
import time
from collections import deque
from collections.abc import Generator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from laden.errors import (
    BadRowError,
    CancelledError,
    ConnectError,
    LadenError,
    MissingDriverError,
    SchemaMismatchError,
    TooManyRejectsError,
    UnsupportedError,
)
from laden.http.deadletter import DeadLetter, DeadLetters
from laden.http.delivery import Outcome, Sender, TokenBucket
from laden.http.encode import BadRecord, Encoded, Records, UnsupportedColumn, encode_batch, requests
from laden.http.spec import HttpSpec
from laden.plan import LoadOptions, OnError, Strategy
from laden.progress import CancelToken, EventKind, ProgressCallback, ProgressEvent
from laden.report import Status, TableReport, TargetReport
from laden.source import Dataset, TableSource, normalize_batch
from laden.urls import mask_url, scrub

if TYPE_CHECKING:
    import httpx

__all__ = ["HttpTarget"]

_Item = tuple[Records | BadRecord, Future[Outcome] | None]


class HttpTarget:
    """Sends a dataset's records to one HTTP endpoint (see the module docstring)."""

    def __init__(self, spec: HttpSpec, *, name: str) -> None:
        self.spec = spec
        self.name = name

    def __repr__(self) -> str:
        return f"HttpTarget({self.name!r}, {self.spec!r})"

    def load(
        self,
        dataset: Dataset,
        options: LoadOptions,
        load_id: str,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> TargetReport:
        """Send every table; never raises for this target's failure: see ``status`` and ``error``."""
        return _HttpLoad(self.spec, self.name, dataset, options, load_id, progress, cancel).run()


@dataclass
class _FirstFailure:
    table: str
    #: "row 17", or "rows 101-200 (one request)" when the whole request was refused
    rows: str
    reason: str
    response: str


@dataclass
class _HttpLoad:
    spec: HttpSpec
    name: str
    dataset: Dataset
    options: LoadOptions
    load_id: str
    progress: ProgressCallback | None = None
    cancel: CancelToken | None = None
    report: TargetReport = field(init=False)
    dead: DeadLetters = field(init=False)
    retries: int = 0
    first_failure: _FirstFailure | None = None
    stop_error: LadenError | None = None
    current: str | None = None

    def __post_init__(self) -> None:
        import threading

        self.stop = threading.Event()
        self.report = TargetReport(self.name, "http", self.options.strategy.value)
        self.report.tables = [TableReport(n, self.options.strategy.value) for n in self.dataset.tables]
        path = self.spec.dead_letter or self.options.rejects_path
        self.dead = DeadLetters(self.name, self.load_id, path, self.spec.secrets())
        self.report.rejects_path = path

    # -- the whole target ---------------------------------------------------------------------
    def run(self) -> TargetReport:
        started = time.perf_counter()
        self._emit(EventKind.LOAD_STARTED)
        self.report.notes.append(self.spec.describe())
        try:
            self._refuse_strategy()
            if self.spec.dead_letter and self.options.rejects_path != self.spec.dead_letter:
                _truncate(self.spec.dead_letter)  # this load's dead letters only
            with (
                self._client() as client,
                ThreadPoolExecutor(self.spec.concurrency, thread_name_prefix=f"laden-http-{self.load_id}") as pool,
            ):
                limiter = TokenBucket(self.spec.rate_limit) if self.spec.rate_limit else None
                sender = Sender(self.spec, client, self.stop, limiter=limiter)
                for rep in self.report.tables:
                    self.current = rep.table
                    self._load_table(rep, sender, pool)
                self.current = None
            self.report.status = Status.OK
        except Exception as exc:  # one target failing must not stop the others: record it
            self._fail(exc)
        finally:
            self.stop.set()
            self.dead.close()
            self._finish_notes()
            self.report.rejects = self.dead.rejects
            self.report.duration_s = time.perf_counter() - started
            self._emit(EventKind.LOAD_FINISHED, status=self.report.status.value)
        return self.report

    def _refuse_strategy(self) -> None:
        if self.options.strategy is not Strategy.APPEND:
            raise UnsupportedError(
                f"{self.name}: strategy {self.options.strategy.value!r} is not supported by HTTP targets, which can "
                "only send records (append); load with strategy='append' (CLI: --strategy append)",
                target=self.name,
            )

    def _client(self) -> httpx.Client:
        try:
            import httpx
        except ImportError as exc:
            raise MissingDriverError(
                f"{self.name}: HTTP targets need httpx: pip install 'laden[http]' (or pip install httpx)"
            ) from exc
        limits = httpx.Limits(max_connections=self.spec.concurrency, max_keepalive_connections=self.spec.concurrency)
        headers = [("User-Agent", "laden"), ("Accept", "application/json"), *self.spec.headers]
        return httpx.Client(
            timeout=self.spec.timeout, limits=limits, headers=headers, follow_redirects=False, verify=_tls_context()
        )

    # -- one table ----------------------------------------------------------------------------
    def _load_table(self, rep: TableReport, sender: Sender, pool: ThreadPoolExecutor) -> None:
        started = time.perf_counter()
        rep.status = Status.FAILED  # until it finishes
        self._emit(EventKind.TABLE_STARTED, rep.table)
        url = self.spec.url_for(rep.table)
        inflight: deque[_Item] = deque()
        items = self._items(self.dataset.tables[rep.table])
        try:
            for item in items:
                self._check_cancel()
                if self.stop.is_set():
                    break
                future = pool.submit(sender.deliver, rep.table, url, item) if isinstance(item, Records) else None
                inflight.append((item, future))
                self._settle(inflight, rep, url, room=True)
        except BaseException:
            self.stop.set()  # a source or encoding error: let the requests in flight end, account for them
            raise
        finally:
            items.close()  # the source's files, if it stopped early
            self._settle(inflight, rep, url, room=False)
            rep.duration_s = time.perf_counter() - started
        self._check_cancel()
        if self.stop_error is not None:
            raise self.stop_error
        rep.status = Status.OK
        self._emit(EventKind.TABLE_FINISHED, rep.table, rows=rep.rows_loaded, status="ok")

    def _items(self, source: TableSource) -> Generator[Records | BadRecord]:
        """The table's requests in order, with the rows that cannot be encoded among them."""
        bad: list[BadRecord] = []
        table = source.name

        def encoded() -> Generator[Encoded]:
            row = 1
            for raw in source.batches(self.options.batch_size):
                batch = normalize_batch(raw)
                try:
                    enc, unsendable = encode_batch(batch, row)
                except UnsupportedColumn as exc:
                    raise SchemaMismatchError(
                        f"{self.name}: table {table!r}: {exc}", target=self.name, table=table
                    ) from exc
                row += batch.num_rows
                bad.extend(unsendable)
                yield enc

        for records in requests(encoded(), self.spec.records_per_request):
            yield from bad
            bad.clear()
            yield records
        yield from bad

    def _settle(self, inflight: deque[_Item], rep: TableReport, url: str, *, room: bool) -> None:
        """Account for finished requests in order; with ``room``, return once another may be sent,
        else wait for all of them."""
        limit = self.spec.concurrency
        while inflight:
            while inflight and (inflight[0][1] is None or inflight[0][1].done()):
                item, future = inflight.popleft()
                if future is None:
                    assert isinstance(item, BadRecord)
                    self._unsendable(rep, item)
                else:
                    assert isinstance(item, Records)
                    self._account(rep, url, item, future.result())
            running = [f for _, f in inflight if f is not None and not f.done()]
            if room and len(running) < limit and len(inflight) <= 4 * limit:
                return
            if running:
                wait(running, timeout=0.1, return_when=FIRST_COMPLETED)
            if self.cancel is not None and self.cancel.cancelled:
                self.stop.set()  # workers give up retrying; what is in flight ends and is counted

    def _account(self, rep: TableReport, url: str, records: Records, outcome: Outcome) -> None:
        if not outcome.sent:
            return
        self.retries += outcome.retries
        rep.rows_read += outcome.acknowledged + len(outcome.failures)
        rep.rows_loaded += outcome.acknowledged
        shown = mask_url(url)
        first = self.first_failure
        for f in sorted(outcome.failures, key=lambda f: f.index):
            status = f.item_status if f.item_status is not None else f.http_status
            letter = DeadLetter(
                rep.table, records.row(f.index), shown, status, f.http_status, f.reason, f.excerpt, f.attempts, f.key,
                records.record(f.index),
            )  # fmt: skip
            self._dead_letter(rep, letter)
        whole = len(outcome.failures) == len(records) > 1 and all(f.item_status is None for f in outcome.failures)
        if first is None and self.first_failure is not None and whole:
            self.first_failure.rows = f"rows {records.row(0)}-{records.row(len(records) - 1)} (one request)"
        if outcome.unreachable and self.stop_error is None:
            self._stop(ConnectError(self._unreachable_message(rep, outcome), target=self.name, table=rep.table))
        self._emit(EventKind.ROWS_WRITTEN, rep.table, rows=rep.rows_read)

    def _unsendable(self, rep: TableReport, bad: BadRecord) -> None:
        rep.rows_read += 1
        url = mask_url(self.spec.url_for(rep.table))
        letter = DeadLetter(rep.table, bad.row, url, None, None, bad.reason, "", 0, None, bad.values, bad.column)
        self._dead_letter(rep, letter)

    def _dead_letter(self, rep: TableReport, letter: DeadLetter) -> None:
        self.dead.add(letter)
        rep.rows_rejected += 1
        if self.first_failure is None:
            self.first_failure = _FirstFailure(letter.table, f"row {letter.row}", letter.reason, letter.response)
        if self.stop_error is not None:
            return
        if self.options.on_error is OnError.FAIL:
            self._stop(
                BadRowError(
                    "", target=self.name, table=rep.table, row=letter.row, column=letter.column, reason=letter.reason
                )
            )
        elif self.options.max_rejects is not None and self.dead.count > self.options.max_rejects:
            self._stop(TooManyRejectsError("", target=self.name, table=rep.table))

    def _stop(self, error: LadenError) -> None:
        self.stop_error = error
        self.stop.set()

    # -- messages -----------------------------------------------------------------------------
    def _unreachable_message(self, rep: TableReport, outcome: Outcome) -> str:
        last = outcome.failures[-1].reason if outcome.failures else "no answer"
        return f"{self.name}: table {rep.table!r}: {mask_url(self.spec.url_for(rep.table))} gave no answer: {last}"

    def _where(self) -> str:
        if self.dead.path:
            return f"the dead-letter file {self.dead.path}"
        return "report.rejects (no dead-letter file was given)"

    def _outcome_message(self) -> str:
        acked = sum(t.rows_loaded for t in self.report.tables)
        return (
            f"HTTP cannot be rolled back: {acked} row(s) were acknowledged by the server and stay there; "
            f"{self.dead.count} went to {self._where()}"
        )

    def _failure_message(self, exc: LadenError) -> str:
        first = self.first_failure
        if isinstance(exc, BadRowError) and first is not None:
            answer = f" (answer: {first.response[:120]})" if first.response else ""
            return (
                f"{self.name}: table {first.table!r}, {first.rows}: {first.reason}{answer}. The load stopped "
                f"(on_error=fail). {self._outcome_message()}. Fix the cause and load again: requests with unchanged "
                "data carry the same Idempotency-Key, so a server that honours it stores nothing twice; or load with "
                "on_error='reject' (CLI: --on-error reject) to set failing rows aside and go on."
            )
        if isinstance(exc, TooManyRejectsError):
            return (
                f"{self.name}: more than {self.options.max_rejects} rows failed (max_rejects); the load stopped. "
                f"{self._outcome_message()}."
            )
        if isinstance(exc, ConnectError):
            return (
                f"{exc}. The load stopped. {self._outcome_message()}. Check that the endpoint is up, then load again."
            )
        if isinstance(exc, CancelledError):
            return f"{self.name}: load {self.load_id} cancelled. {self._outcome_message()}."
        return str(exc)

    def _fail(self, exc: Exception) -> None:
        cancelled = isinstance(exc, CancelledError)
        self.report.status = Status.CANCELLED if cancelled else Status.FAILED
        message = (
            self._failure_message(exc) if isinstance(exc, LadenError) else f"{self.name}: {type(exc).__name__}: {exc}"
        )
        self.report.error = scrub(message, self.spec.secrets())
        after = False
        for t in self.report.tables:
            if t.table == self.current:
                t.status = Status.CANCELLED if cancelled else Status.FAILED
                t.error = self.report.error
                after = True
            elif after or self.current is None:
                t.status = Status.CANCELLED if cancelled else Status.SKIPPED

    def _finish_notes(self) -> None:
        self.report.notes.append(f"retries made: {self.retries}")
        if self.dead.count:
            self.report.notes.append(f"{self.dead.count} record(s) dead-lettered to {self._where()}")
        elif self.dead.path:
            self.report.notes.append(f"dead-letter file: {self.dead.path} (nothing failed)")

    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.cancelled:
            self.stop.set()
            raise CancelledError(f"{self.name}: load {self.load_id} cancelled", target=self.name, table=self.current)

    def _emit(self, kind: EventKind, table: str | None = None, rows: int = 0, status: str | None = None) -> None:
        if self.progress is not None:
            total = self.dataset.tables[table].rows() if table in self.dataset.tables else None
            self.progress(ProgressEvent(self.load_id, kind, self.name, table, rows, total, status))


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verifying context (certifi's CAs), built once: loading the CAs takes tens of ms."""
    import httpx

    return httpx.create_ssl_context()


def _truncate(path: str) -> None:
    """Empty an existing dead-letter file (it is created when the first record fails)."""
    import os

    if os.path.exists(path):
        with open(path, "w", encoding="utf-8"):
            pass
