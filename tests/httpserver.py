"""A real HTTP API on a free loopback port, for the HTTP target tests.

:class:`ApiServer` is a ``ThreadingHTTPServer`` in a daemon thread that behaves like a
careful JSON API:

* ``POST|PUT|PATCH /<table>`` takes a JSON array of records, an object holding the array
  under ``wrap_key``, or one record; it keeps what it accepts in :attr:`ApiServer.stored`
  as ``(table, record)`` pairs;
* it honours ``Idempotency-Key``: a key seen before gets the first answer again and
  nothing is stored (:attr:`ApiServer.replays` counts those); a request without one is a 400;
* it checks credentials when :attr:`ApiServer.auth` is set (bearer, basic, API key, or an
  HMAC-SHA256 signature over ``b"<timestamp>." + raw body`` with a fresh timestamp); a 401
  answer echoes what it got, so tests can check that laden scrubs it;
* records whose ``id`` is in :attr:`ApiServer.invalid_ids` make the whole request a 400;
* with :attr:`ApiServer.items` set it answers per record, ``{"results": [{"id", "status"}, ...]}``
  (HTTP 207), storing only the records it accepts.

Faults come from the test double :class:`FaultScript`: scripted answers consumed one per
request in arrival order — a status (``429`` with ``Retry-After``, bursts of ``503``), a
response slower than the client's timeout (after storing), or a connection dropped after
the batch was stored. Every request is logged in :attr:`ApiServer.log` with its arrival time
(``time.monotonic()``), headers, idempotency key and body, so waits are measured on the
server's side.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FaultKind(enum.Enum):
    #: answer with a status (and Retry-After), store nothing
    STATUS = "status"
    #: store the batch, then answer only after ``seconds``
    SLOW = "slow"
    #: store the batch, then close the connection without answering
    DROP_AFTER_STORE = "drop_after_store"


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0


class FaultScript:
    """Scripted faults, one per request in arrival order; once empty, requests are served normally."""

    def __init__(self) -> None:
        self._queue: deque[Fault] = deque()
        self._lock = threading.Lock()

    def status(self, status: int, *, retry_after: str | None = None, times: int = 1) -> FaultScript:
        return self._add(Fault(FaultKind.STATUS, status=status, retry_after=retry_after), times)

    def slow(self, seconds: float, *, times: int = 1) -> FaultScript:
        return self._add(Fault(FaultKind.SLOW, seconds=seconds), times)

    def drop_after_store(self, *, times: int = 1) -> FaultScript:
        return self._add(Fault(FaultKind.DROP_AFTER_STORE), times)

    def _add(self, fault: Fault, times: int) -> FaultScript:
        with self._lock:
            self._queue.extend([fault] * times)
        return self

    def next(self) -> Fault | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def __len__(self) -> int:
        return len(self._queue)


@dataclass(frozen=True)
class Expect:
    """Credentials the server requires: kind is bearer | basic | api_key | hmac."""

    kind: str
    secret: str
    username: str = "loader"
    header: str = "X-API-Key"
    signature_header: str = "X-Signature"
    timestamp_header: str = "X-Timestamp"


@dataclass
class ItemFaults:
    """Per-record answers by ``id``: ``transient[id] = n`` fails the record n times with 503,
    ``permanent[id] = status`` fails it every time with that status."""

    transient: dict[Any, int] = field(default_factory=dict)
    permanent: dict[Any, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    at: float
    method: str
    path: str
    headers: dict[str, str]
    key: str | None
    body: bytes
    records: list[dict[str, Any]]


class ApiServer:
    def __init__(self) -> None:
        self.faults = FaultScript()
        self.auth: Expect | None = None
        self.items: ItemFaults | None = None
        self.invalid_ids: set[Any] = set()
        self.wrap_key = "records"
        self.stored: list[tuple[str, dict[str, Any]]] = []
        self.log: list[Received] = []
        self.replays = 0
        self.auth_failures: list[str] = []
        self._answers: dict[str, tuple[int, bytes]] = {}
        self._seen: Counter[Any] = Counter()
        self.lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="api-server", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> ApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- what the tests look at ----------------------------------------------------------------
    def ids(self, table: str | None = None) -> Counter[Any]:
        """How often each record id was stored."""
        with self.lock:
            return Counter(r.get("id") for t, r in self.stored if table is None or t == table)

    def keys(self) -> list[str | None]:
        with self.lock:
            return [r.key for r in self.log]

    # -- handling ------------------------------------------------------------------------------
    def handle(self, req: BaseHTTPRequestHandler, raw: bytes) -> tuple[int, dict[str, str], bytes] | None:
        """The answer (status, headers, body) or None to drop the connection."""
        headers = {k: v for k, v in req.headers.items()}
        key = req.headers.get("Idempotency-Key")
        try:
            records = self._records(raw)
        except ValueError as exc:
            return _json(400, {"error": f"not a JSON body in the expected shape: {exc}"})
        with self.lock:
            self.log.append(Received(time.monotonic(), req.command, req.path, headers, key, raw, records))
        denied = self._check_auth(req, raw)
        if denied is not None:
            with self.lock:
                self.auth_failures.append(denied)
            return _json(401, {"error": f"unauthorized: {denied}", "got": dict(headers)})
        fault = self.faults.next()
        if fault is not None and fault.kind is FaultKind.STATUS:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            status, hdrs, body = _json(fault.status, {"error": "scripted fault"})
            return status, {**hdrs, **extra}, body
        if key is None:
            return _json(400, {"error": "Idempotency-Key is required"})
        answer = self._process(req.path.strip("/"), key, records)
        if fault is not None and fault.kind is FaultKind.DROP_AFTER_STORE:
            return None
        if fault is not None and fault.kind is FaultKind.SLOW:
            time.sleep(fault.seconds)
        return answer

    def _records(self, raw: bytes) -> list[dict[str, Any]]:
        doc = json.loads(raw)
        if isinstance(doc, list):
            return doc
        if isinstance(doc, dict) and isinstance(doc.get(self.wrap_key), list) and len(doc) == 1:
            return list(doc[self.wrap_key])
        if isinstance(doc, dict):
            return [doc]
        raise ValueError(type(doc).__name__)

    def _process(self, table: str, key: str, records: list[dict[str, Any]]) -> tuple[int, dict[str, str], bytes]:
        with self.lock:  # one batch at a time: the same key twice never stores twice
            if key in self._answers:
                self.replays += 1
                status, body = self._answers[key]
                return status, {"Content-Type": "application/json", "Idempotent-Replayed": "true"}, body
            invalid = [r.get("id") for r in records if r.get("id") in self.invalid_ids]
            if invalid:
                answer = _json(400, {"error": f"invalid record id={invalid[0]}"})
            elif self.items is None:
                self.stored.extend((table, r) for r in records)
                answer = _json(201, {"stored": len(records)})
            else:
                answer = _json(207, {"results": [self._item(table, r) for r in records]})
            self._answers[key] = (answer[0], answer[2])
            return answer

    def _item(self, table: str, record: dict[str, Any]) -> dict[str, Any]:
        assert self.items is not None
        rid = record.get("id")
        self._seen[rid] += 1
        if rid in self.items.permanent:
            return {"id": rid, "status": self.items.permanent[rid], "error": f"record {rid} is not acceptable"}
        if self._seen[rid] <= self.items.transient.get(rid, 0):
            return {"id": rid, "status": 503, "error": "try again"}
        self.stored.append((table, record))
        return {"id": rid, "status": 201}

    def _check_auth(self, req: BaseHTTPRequestHandler, raw: bytes) -> str | None:
        want = self.auth
        if want is None:
            return None
        got = req.headers.get("Authorization", "")
        if want.kind == "bearer":
            return None if got == f"Bearer {want.secret}" else "bad bearer token"
        if want.kind == "basic":
            token = base64.b64encode(f"{want.username}:{want.secret}".encode()).decode()
            return None if got == f"Basic {token}" else "bad basic credentials"
        if want.kind == "api_key":
            return None if req.headers.get(want.header) == want.secret else "bad API key"
        stamp = req.headers.get(want.timestamp_header, "")
        signature = req.headers.get(want.signature_header, "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
            return "stale or missing timestamp"
        expected = hmac.new(want.secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
        return None if hmac.compare_digest(signature, f"sha256={expected}") else "bad signature"


def _json(status: int, doc: object) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(doc).encode()


def _handler(server: ApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            answer = server.handle(self, raw)
            if answer is None:
                self.close_connection = True  # dropped: the batch is stored, the client hears nothing
                return
            status, headers, body = answer
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:  # the client gave up (timeout) before the slow answer came
                self.close_connection = True

        do_POST = do_PUT = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
