"""Delivering one request: rate limit, retries with backoff, ``Retry-After``, per-item statuses.

:meth:`Sender.deliver` takes the records of one request and returns an :class:`Outcome`:
how many the server acknowledged and, for every other record, why it finally failed. It
never raises for an HTTP or network problem; it runs on a worker thread, and the caller
accounts for outcomes in request order.

What is retried (each retry waits ``Retry-After`` when the server sent it, else a
full-jitter exponential backoff, within :class:`~laden.http.spec.RetryPolicy`'s budget):

* no answer: connection refused or dropped, timeouts (connect, read, write);
* ``408``, ``429`` and ``5xx`` answers (the whole request);
* with ``item_status``: only the entries whose status says so (by default 408, 429, 5xx),
  sent again as a smaller request of just those records.

Not retried: any other ``4xx``, redirects (laden does not follow them: a redirected POST
would silently become a GET on many servers), and a ``2xx`` whose per-item list cannot be
read (wrong path, wrong length): the records of such a request finally fail at once.

Every attempt of the same body carries the same ``Idempotency-Key`` (see
:func:`~laden.http.encode.idempotency_key`), so a server that honours it stores a batch once
even when the answer to the first attempt was lost. A retry of some records of a batch is a
different body, so it carries its own key (reusing the batch's key would make such a server
replay the first answer, and the failed records would never get in).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import random
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from laden.http.encode import Records, body, idempotency_key
from laden.http.spec import HttpSpec, ItemStatus, status_text
from laden.urls import scrub

if TYPE_CHECKING:
    import httpx

#: characters of a response body kept in errors and dead-letter lines
EXCERPT = 500
IDEMPOTENCY_HEADER = "Idempotency-Key"
_STOPPED = "not retried: the load was stopped (cancelled, or on_error=fail after another failure)"


@dataclass(frozen=True)
class Failure:
    """A record the server did not take, after every attempt allowed."""

    #: position of the record in its request
    index: int
    #: the HTTP status of the last answer (None: there was none)
    http_status: int | None
    #: the record's own status from the per-item list, as the server wrote it (None: not per item)
    item_status: object
    #: what went wrong and why it was not (or no longer) retried; secrets scrubbed
    reason: str
    #: the start of the answer: the response body, or the record's entry of the per-item list
    excerpt: str
    attempts: int
    #: the Idempotency-Key of the last attempt
    key: str


@dataclass
class Outcome:
    """What became of one request's records."""

    sent: bool = True
    acknowledged: int = 0
    failures: list[Failure] = field(default_factory=list)
    retries: int = 0
    #: the endpoint gave no answer at all, even after every retry: the load should stop
    unreachable: bool = False


@dataclass
class _Answer:
    """One attempt, classified."""

    ok: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    #: (index, item status, reason, excerpt) of records that finally failed in this attempt
    final: list[tuple[int, object, str, str]] = field(default_factory=list)
    status: int | None = None
    retry_after: float | None = None
    #: why the ``retry`` records failed this time (used if they are not retried)
    reason: str = ""
    excerpt: str = ""
    #: per record to retry: its status and entry (per-item answers)
    item: dict[int, tuple[object, str]] = field(default_factory=dict)
    no_answer: bool = False


class TokenBucket:
    """Requests per second over every worker: a token bucket of capacity ``burst`` refilled at ``rate``.

    Kept as the time the next token is due (the GCRA form of a token bucket): one lock, no
    refill thread, and waiting happens outside the lock.
    """

    def __init__(self, rate: float, burst: float = 1.0) -> None:
        self.interval = 1.0 / rate
        self.burst = burst
        self._due = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self, stop: threading.Event) -> bool:
        """Wait for a token; False when ``stop`` was set meanwhile."""
        with self._lock:
            now = time.monotonic()
            self._due = max(self._due, now - (self.burst - 1) * self.interval)
            slot = self._due
            self._due += self.interval
        wait = slot - now
        if wait > 0:
            return not stop.wait(wait)
        return not stop.is_set()


def retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date; None if absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - (now or dt.datetime.now(dt.timezone.utc))).total_seconds())


def _hint(status: int) -> str:
    if status in (401, 403):
        return "; check the credentials (auth) and what they may do"
    if status == 404:
        return "; check the URL (and {table} in it)"
    if status == 413:
        return "; the body is too large: lower batch_size"
    if 300 <= status < 400:
        return "; laden does not follow redirects: use the URL it points to"
    return ""


class Sender:
    """Sends requests for one target; shared by the worker threads (httpx.Client is thread-safe)."""

    def __init__(
        self,
        spec: HttpSpec,
        client: httpx.Client,
        stop: threading.Event,
        *,
        limiter: TokenBucket | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.spec = spec
        self.client = client
        self.stop = stop
        self.limiter = limiter
        self.rng = rng or random.Random()
        self._secrets = spec.secrets()

    def clean(self, text: str) -> str:
        return scrub(text, self._secrets)

    def excerpt(self, text: str) -> str:
        """The start of ``text``, scrubbed before it is cut (a secret across the cut is still caught)."""
        longest = max((len(s) for s in self._secrets), default=0)
        return self.clean(text[: EXCERPT + longest])[:EXCERPT]

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2 ** (attempt - 1))]."""
        policy = self.spec.retry
        return self.rng.uniform(0.0, min(policy.backoff_max, policy.backoff_base * 2 ** (attempt - 1)))

    def deliver(self, table: str, url: str, records: Records) -> Outcome:
        """Send ``records`` to ``url`` until each is acknowledged or finally failed."""
        outcome = Outcome()
        pending: list[int] | None = None  # None: the whole request, as first cut
        started = time.monotonic()
        attempt, answer, key = 0, _Answer(), ""
        while True:
            if self.stop.is_set() or (self.limiter is not None and not self.limiter.acquire(self.stop)):
                if attempt == 0:
                    return Outcome(sent=False)
                return self._give_up(outcome, answer, attempt, key, _STOPPED)
            payload = body(self.spec, records, pending)
            key = idempotency_key(url, table, payload)
            attempt += 1
            answer = self._attempt(url, payload, key, list(range(len(records))) if pending is None else pending)
            outcome.acknowledged += len(answer.ok)
            outcome.failures += [Failure(i, answer.status, s, r, e, attempt, key) for i, s, r, e in answer.final]
            if not answer.retry:
                return outcome
            wait = answer.retry_after if answer.retry_after is not None else self.backoff(attempt)
            why = self._why_not_retry(attempt, time.monotonic() - started + wait, answer.retry_after)
            if why is None and self.stop.wait(wait):
                why = _STOPPED
            if why is not None:
                return self._give_up(outcome, answer, attempt, key, why)
            outcome.retries += 1
            pending = answer.retry

    def _give_up(self, outcome: Outcome, answer: _Answer, attempt: int, key: str, why: str) -> Outcome:
        """The records still to retry finally fail."""
        outcome.unreachable = answer.no_answer and why is not _STOPPED
        for i in answer.retry:
            status, entry = answer.item.get(i, (None, answer.excerpt))
            outcome.failures.append(Failure(i, answer.status, status, f"{answer.reason}; {why}", entry, attempt, key))
        return outcome

    def _why_not_retry(self, attempt: int, elapsed_after_wait: float, asked: float | None) -> str | None:
        policy = self.spec.retry
        if attempt >= policy.max_attempts:
            return f"gave up after {attempt} attempt(s) (retry.max_attempts)"
        if elapsed_after_wait > policy.max_seconds:
            if asked is not None:
                return f"the server asked to wait {asked:g} s, past the retry budget of {policy.max_seconds:g} s"
            return f"gave up after {attempt} attempt(s): the retry budget of {policy.max_seconds:g} s is spent"
        return None

    # -- one attempt ---------------------------------------------------------------------------
    def _attempt(self, url: str, payload: bytes, key: str, indices: list[int]) -> _Answer:
        import httpx

        headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: key}
        headers.update(self.spec.auth.headers(payload, int(time.time())))
        try:
            response = self.client.request(self.spec.method.value, url, content=payload, headers=headers)
        except httpx.TimeoutException as exc:
            why = f"no answer within the timeout of {self.spec.timeout:g} s ({type(exc).__name__})"
            return _Answer(retry=indices, reason=why, no_answer=True)
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            why = self.clean(f"connection failed ({type(exc).__name__}: {exc})")
            return _Answer(retry=indices, reason=why, no_answer=True)
        except httpx.HTTPError as exc:  # unsupported protocol, proxy, invalid request: not worth retrying
            why = self.clean(f"the request could not be sent ({type(exc).__name__}: {exc})")
            return _Answer(final=[(i, None, why, "") for i in indices], no_answer=True)
        status = response.status_code
        excerpt = self.excerpt(response.text) if response.content else ""
        if status in (408, 429) or 500 <= status < 600:
            wait = retry_after(response.headers.get("Retry-After"))
            return _Answer(retry=indices, status=status, retry_after=wait, reason=f"HTTP {status}", excerpt=excerpt)
        if not 200 <= status < 300:
            where = f" to {response.headers.get('Location')}" if 300 <= status < 400 else ""
            why = self.clean(f"HTTP {status}{where}, not retried{_hint(status)}")
            return _Answer(final=[(i, None, why, excerpt) for i in indices], status=status)
        if self.spec.item_status is None:
            return _Answer(ok=indices, status=status)
        return self._per_item(response, status, excerpt, indices, self.spec.item_status)

    def _per_item(
        self, response: httpx.Response, status: int, excerpt: str, indices: list[int], items: ItemStatus
    ) -> _Answer:
        entries = _entries(response, items, len(indices))
        if isinstance(entries, str):
            why = f"HTTP {status}, but {entries}; the records are taken as failed (check item_status.path)"
            return _Answer(final=[(i, None, why, excerpt) for i in indices], status=status)
        answer = _Answer(status=status, retry_after=retry_after(response.headers.get("Retry-After")))
        answer.reason = f"HTTP {status} with per-item failures"
        for i, (entry, value) in zip(indices, entries, strict=True):
            text = status_text(value) if value is not None else ""
            if value is not None and items.is_ok(text):
                answer.ok.append(i)
                continue
            shown = self.excerpt(_dump(entry))
            if value is not None and items.is_retryable(text):
                answer.retry.append(i)
                answer.item[i] = (value, shown)
                continue
            why = f"item status {value!r}, not retried" if value is not None else "its entry has no status"
            answer.final.append((i, value, f"HTTP {status}, {why}", shown))
        if answer.retry:
            answer.reason = f"HTTP {status}, item status " + ", ".join(
                sorted({repr(v) for v, _ in answer.item.values()})
            )
        return answer


_MISSING = object()


def _entries(response: httpx.Response, items: ItemStatus, count: int) -> list[tuple[Any, Any]] | str:
    """(entry, status) per record from a per-item answer, or why they cannot be read."""
    path = items.path
    try:
        node: Any = response.json()
    except ValueError:
        return "the response is not JSON"
    for i, key in enumerate(path.to_list):
        if not isinstance(node, dict) or key not in node:
            return f"the response has no {'.'.join(path.to_list[: i + 1])!r}"
        node = node[key]
    if not isinstance(node, list):
        return f"{path.text!r} does not lead to a list"
    if len(node) != count:
        return f"its list at {path.text!r} has {len(node)} entries for {count} records sent"
    out: list[tuple[Any, Any]] = []
    for entry in node:
        value: Any = entry
        for key in path.to_status:
            value = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
            if value is _MISSING:
                break
        out.append((entry, None if value is _MISSING else value))
    return out


def _dump(value: object) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)
