"""HTTP targets against a real HTTP server on loopback (tests/httpserver.py), with scripted faults.

Every test checks what the server stored: no record missing, none twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from laden.config import Reader
from laden.http import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    BodyShape,
    HmacAuth,
    HttpMethod,
    HttpSpec,
    HttpTarget,
    ItemStatus,
    NoAuth,
    RetryPolicy,
    http_spec_from_url,
    is_http_target,
    read_http_spec,
)
from laden.http.auth import sign
from laden.http.delivery import retry_after
from laden.http.encode import encode_batch, idempotency_key, requests
from laden.plan import LoadOptions, OnError, Strategy
from laden.progress import CancelToken, EventKind, ProgressEvent
from laden.report import Report, Status, TargetReport
from laden.source import as_dataset

try:
    from .httpserver import ApiServer, Expect, ItemFaults
except ImportError:
    from httpserver import ApiServer, Expect, ItemFaults  # type: ignore[no-redef]

FAST = RetryPolicy(max_attempts=5, max_seconds=10, backoff_base=0.01, backoff_max=0.05)
UTC = dt.timezone.utc
CANARY = "s3cr3t-CANARY-9f8e7d"


@pytest.fixture
def api() -> Iterator[ApiServer]:
    server = ApiServer().start()
    yield server
    server.stop()


def rows(n: int, start: int = 1) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "name": pa.array([f'n"{i}"\\\n\té' for i in ids]),
            "amount": pa.array([Decimal(i) / 100 for i in ids], pa.decimal128(12, 2)),
            "at": pa.array([dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=i) for i in ids]),
        }
    )


def spec_for(api: ApiServer, **kw: Any) -> HttpSpec:
    kw.setdefault("retry", FAST)
    return HttpSpec(url_template=api.url + "/{table}", **kw)


def send(
    api: ApiServer | None,
    data: Any,
    spec: HttpSpec | None = None,
    *,
    table: str = "items",
    progress: Any = None,
    cancel: CancelToken | None = None,
    **options: Any,
) -> TargetReport:
    assert spec is not None or api is not None
    spec = spec or spec_for(api)  # type: ignore[arg-type]
    dataset = as_dataset(data, table=table) if isinstance(data, pa.Table) else as_dataset(data)
    report = HttpTarget(spec, name="api").load(
        dataset, LoadOptions(**options), "load1", progress=progress, cancel=cancel
    )
    for t in report.tables:
        assert t.rows_read == t.rows_loaded + t.rows_rejected, t  # sent == acknowledged + dead-lettered, always
    return report


def once(ids: Any) -> Counter[Any]:
    return Counter(ids)


def dead_letters(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


# -- body shapes and values ------------------------------------------------------------------------


@pytest.mark.parametrize("shape", list(BodyShape))
def test_each_body_shape_stores_every_record_once(api: ApiServer, shape: BodyShape) -> None:
    api.wrap_key = "items_"
    n = 30 if shape is BodyShape.RECORD else 250
    report = send(api, rows(n), spec_for(api, body=shape, wrap_key="items_", batch_size=100))
    assert report.status is Status.OK and report.engine == "http"
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (n, n, 0)
    assert api.ids("items") == once(range(1, n + 1))
    bodies = [r.body for r in api.log]
    assert len(bodies) == (n if shape is BodyShape.RECORD else 3)
    start = {BodyShape.ARRAY: b"[{", BodyShape.OBJECT: b'{"items_":[{', BodyShape.RECORD: b'{"id":'}[shape]
    assert all(b.startswith(start) for b in bodies)
    stored = {r["id"]: r for _, r in api.stored}
    assert stored[7] == {"id": 7, "name": 'n"7"\\\n\té', "amount": "0.07", "at": "2024-01-01T00:00:00.000007Z"}
    assert all(r.path == "/items" and r.method == "POST" for r in api.log)


def test_values_serialise_exactly() -> None:
    batch = pa.record_batch(
        {
            "d": pa.array([Decimal("1.50"), Decimal("-0.01"), None], pa.decimal128(5, 2)),
            "f": pa.array([0.1, 1e20, -0.0]),
            "ts": pa.array([0, 1, 2], pa.timestamp("ns")),
            "tz": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, 6)] * 3, pa.timestamp("us", tz="Europe/Berlin")),
            "day": pa.array([dt.date(2024, 2, 29)] * 3),
            "t": pa.array([dt.time(23, 59, 59, 999999)] * 3),
            "s": pa.array(["\x00\x1f\u2028😀", "", None]),
            "b": pa.array([b"\x00\xff", b"", None]),
            "l": pa.array([[1, None], [], None]),
            "st": pa.array([{"x": Decimal("2.5")}, None, {"x": None}], pa.struct([("x", pa.decimal128(3, 1))])),
            "u": pa.array([2**64 - 1, 0, None], pa.uint64()),
            "dict": pa.array(["a", "b", "a"]).dictionary_encode(),
        }
    )
    enc, bad = encode_batch(batch, 1)
    assert bad == []
    [records] = list(requests([enc], 10))
    got = [json.loads(records.record(i)) for i in range(3)]
    assert got[0] == {
        "d": "1.50",
        "f": 0.1,
        "ts": "1970-01-01T00:00:00.000000000",
        "tz": "2024-01-02T04:04:05.000006+01:00",  # the instant 03:04:05 UTC, at its zone
        "day": "2024-02-29",
        "t": "23:59:59.999999",
        "s": "\x00\x1f\u2028😀",
        "b": "AP8=",
        "l": [1, None],
        "st": {"x": "2.5"},
        "u": 2**64 - 1,
        "dict": "a",
    }
    assert got[1]["f"] == 1e20 and records.record(1).count(b'"f":1e+20') == 1
    assert got[2]["d"] is None and got[2]["s"] is None and got[2]["st"] == {"x": None} and got[2]["u"] is None


def test_every_character_survives_the_string_escapes() -> None:
    texts = [chr(c) for c in range(0x80)] + ["".join(chr(c) for c in range(0x80)) * 3, 'é\u2028\U0001f600\\"', ""]
    batch = pa.record_batch({"s": pa.array(texts, pa.large_string())})
    enc, _ = encode_batch(batch, 1)
    [records] = list(requests([enc], len(texts)))
    assert [json.loads(records.record(i))["s"] for i in range(len(texts))] == texts
    assert [r["s"] for r in json.loads(b"[" + b"".join(records.pieces()) + b"]")] == texts


def test_nan_rows_are_not_sent_but_dead_lettered(api: ApiServer, tmp_path: Path) -> None:
    data = pa.table({"id": [1, 2, 3, 4], "score": [0.5, float("nan"), float("inf"), None]})
    dead = tmp_path / "dead.jsonl"
    report = send(api, data, spec_for(api, dead_letter=str(dead)), on_error="reject")
    assert report.status is Status.OK
    assert api.ids() == once([1, 4])
    lines = dead_letters(dead)
    assert [(x["row"], x["status"], x["record"]["score"]) for x in lines] == [(2, None, "nan"), (3, None, "inf")]
    assert "no JSON form" in lines[0]["reason"]
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (4, 2, 2)


def test_durations_are_refused_with_a_clear_error(api: ApiServer) -> None:
    data = pa.table({"id": [1], "took": pa.array([5], pa.duration("s"))})
    report = send(api, data)
    assert report.status is Status.FAILED
    assert "'took'" in (report.error or "") and "convert them to numbers or text" in (report.error or "")
    assert api.log == []


def test_request_boundaries_do_not_depend_on_source_chunking(api: ApiServer) -> None:
    data = rows(250)
    keys = {}
    for read_size in (7, 100_000):
        send(api, data, batch_size=read_size)
        keys[read_size] = api.keys()[-3:]
    assert sorted(keys[7]) == sorted(keys[100_000])
    assert api.ids() == once(range(1, 251))  # the second load was replayed by key, nothing stored twice
    assert api.replays == 3


# -- auth --------------------------------------------------------------------------------------------

_AUTHS = {
    "bearer": (BearerAuth(CANARY), Expect("bearer", CANARY)),
    "basic": (BasicAuth("loader", CANARY), Expect("basic", CANARY)),
    "api_key": (ApiKeyAuth(CANARY, header="X-Key"), Expect("api_key", CANARY, header="X-Key")),
    "hmac": (
        HmacAuth(CANARY, signature_header="X-Sig", timestamp_header="X-TS"),
        Expect("hmac", CANARY, signature_header="X-Sig", timestamp_header="X-TS"),
    ),
}


@pytest.mark.parametrize("kind", list(_AUTHS))
def test_auth_is_accepted_by_the_server(api: ApiServer, kind: str) -> None:
    auth, expect = _AUTHS[kind]
    api.auth = expect
    report = send(api, rows(120), spec_for(api, auth=auth))
    assert report.status is Status.OK, report.error
    assert api.auth_failures == []
    assert api.ids() == once(range(1, 121))


def _leaks(*texts: str) -> list[str]:
    import base64

    forms = [CANARY, base64.b64encode(f"loader:{CANARY}".encode()).decode()]
    return [t for t in texts for f in forms if f in t]


@pytest.mark.parametrize("kind", list(_AUTHS))
def test_refused_credentials_fail_without_retry_and_never_leak(api: ApiServer, kind: str, tmp_path: Path) -> None:
    auth, expect = _AUTHS[kind]
    api.auth = Expect(
        expect.kind, "the-right-one", header=expect.header, signature_header="X-Sig", timestamp_header="X-TS"
    )
    dead = tmp_path / "dead.jsonl"
    spec = spec_for(api, auth=auth, dead_letter=str(dead))
    report = send(api, rows(5), spec)
    assert report.status is Status.FAILED
    assert len(api.log) == 1  # 401 is not retried
    assert "rows 1-5 (one request): HTTP 401" in (report.error or "") and "credentials" in (report.error or "")
    assert api.stored == []
    whole = Report("load1", [report])
    text = dead.read_text()
    assert "***" in text or kind == "hmac"  # the server echoed the credentials; laden scrubbed them
    assert _leaks(whole.to_json(), str(whole), repr(whole), repr(spec), repr(HttpTarget(spec, name="x")), text) == []


# -- faults ------------------------------------------------------------------------------------------


def test_429_waits_for_retry_after(api: ApiServer) -> None:
    api.faults.status(429, retry_after="1")
    report = send(api, rows(50), spec_for(api, concurrency=1))
    assert report.status is Status.OK
    first, second = api.log
    assert second.at - first.at >= 1.0  # measured where the server received them
    assert first.key == second.key
    assert api.ids() == once(range(1, 51))
    assert "retries made: 1" in report.notes


def test_retry_after_forms() -> None:
    now = dt.datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after("3", now) == 3.0
    assert retry_after("Mon, 01 Jan 2024 12:00:10 GMT", now) == 10.0
    assert retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now) == 0.0
    assert retry_after("soon", now) is None and retry_after(None) is None


def test_503_burst_then_success(api: ApiServer) -> None:
    api.faults.status(503, times=3)
    report = send(api, rows(50), spec_for(api, concurrency=1))
    assert report.status is Status.OK
    assert len(api.log) == 4 and len(set(api.keys())) == 1
    assert api.ids() == once(range(1, 51))
    assert "retries made: 3" in report.notes


def test_503_past_the_budget_is_dead_lettered(api: ApiServer, tmp_path: Path) -> None:
    api.faults.status(503, times=3)
    dead = tmp_path / "dead.jsonl"
    spec = spec_for(api, concurrency=1, batch_size=10, dead_letter=str(dead), retry=RetryPolicy(3, 10, 0.01, 0.02))
    report = send(api, rows(20), spec, on_error="reject")
    assert report.status is Status.OK
    assert api.ids() == once(range(11, 21))
    lines = dead_letters(dead)
    assert [x["row"] for x in lines] == list(range(1, 11))
    assert all(x["status"] == 503 and x["attempts"] == 3 and "gave up after 3" in x["reason"] for x in lines)
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (20, 10, 10)


def test_slow_answer_past_the_timeout_is_retried_with_the_same_key(api: ApiServer) -> None:
    api.faults.slow(1.0)
    report = send(api, rows(40), spec_for(api, timeout=0.3, concurrency=1))
    assert report.status is Status.OK
    assert len(api.log) == 2 and api.log[0].key == api.log[1].key
    assert api.replays == 1
    assert api.ids() == once(range(1, 41))


def test_connection_dropped_after_store_is_not_stored_twice(api: ApiServer) -> None:
    api.faults.drop_after_store()
    report = send(api, rows(150), spec_for(api, concurrency=1))
    assert report.status is Status.OK
    assert api.log[0].key == api.log[1].key and api.replays == 1
    assert api.ids() == once(range(1, 151))
    assert (report.rows_read, report.rows_loaded) == (150, 150)


def test_unreachable_endpoint_stops_the_load(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spec = HttpSpec(url_template=f"http://127.0.0.1:{port}/{{table}}", retry=RetryPolicy(2, 5, 0.01, 0.01))
    report = send(None, rows(300), spec, on_error="reject")
    assert report.status is Status.FAILED
    assert "gave no answer" in (report.error or "") and "0 row(s) were acknowledged" in (report.error or "")
    assert report.rows_loaded == 0


# -- per-item answers --------------------------------------------------------------------------------


def test_per_item_errors_retry_only_the_failed_items(api: ApiServer, tmp_path: Path) -> None:
    api.items = ItemFaults(transient={3: 1, 7: 2}, permanent={5: 422, 9: 400})
    dead = tmp_path / "dead.jsonl"
    spec = spec_for(
        api, batch_size=10, concurrency=1, item_status=ItemStatus.of("results[*].status"), dead_letter=str(dead)
    )
    report = send(api, rows(12), spec, on_error="reject")
    assert report.status is Status.OK
    assert api.ids() == once([i for i in range(1, 13) if i not in (5, 9)])
    sent = [[r["id"] for r in x.records] for x in api.log]
    assert sent == [list(range(1, 11)), [3, 7], [7], [11, 12]]
    assert len(set(api.keys())) == 4  # a retry of some items is a different body: its own key
    lines = dead_letters(dead)
    assert [(x["row"], x["status"], x["http_status"]) for x in lines] == [(5, 422, 207), (9, 400, 207)]
    assert "not acceptable" in lines[0]["response"] and lines[0]["record"]["id"] == 5
    table = report.table("items")
    assert (table.rows_read, table.rows_loaded, table.rows_rejected) == (12, 10, 2)
    assert any("2 record(s) dead-lettered" in n for n in report.notes)


def test_per_item_list_of_wrong_length_fails_the_batch(api: ApiServer) -> None:
    api.items = ItemFaults()
    spec = spec_for(api, batch_size=10, item_status=ItemStatus.of("answers[*].status"))
    report = send(api, rows(10), spec)
    assert report.status is Status.FAILED
    assert "no 'answers'" in (report.error or "") and "item_status.path" in (report.error or "")


# -- 4xx and on_error ----------------------------------------------------------------------------------


def test_400_is_not_retried_and_fail_mode_stops(api: ApiServer) -> None:
    api.invalid_ids = {150}
    report = send(api, rows(300), spec_for(api, concurrency=1))
    assert report.status is Status.FAILED
    assert len(api.log) == 2  # batch 1 ok, batch 2 refused once; batch 3 never sent
    assert api.ids() == once(range(1, 101))
    error = report.error or ""
    assert "table 'items', rows 101-200 (one request): HTTP 400, not retried" in error
    assert "100 row(s) were acknowledged" in error and "on_error='reject'" in error
    table = report.table("items")
    assert table.status is Status.FAILED and (table.rows_read, table.rows_loaded, table.rows_rejected) == (
        200,
        100,
        100,
    )
    assert report.rejects and report.rejects[0].row == 101  # no dead-letter file: kept on the report


def test_fail_mode_accounts_for_requests_in_flight(api: ApiServer) -> None:
    api.invalid_ids = {450}
    report = send(api, rows(2000), spec_for(api, concurrency=4))
    assert report.status is Status.FAILED
    table = report.table("items")
    assert table.rows_loaded == sum(api.ids().values()) and max(api.ids().values()) == 1
    assert table.rows_rejected == 100
    assert f"{table.rows_loaded} row(s) were acknowledged" in (report.error or "")


def test_reject_mode_goes_on_past_a_400(api: ApiServer, tmp_path: Path) -> None:
    api.invalid_ids = {150, 1999}
    dead = tmp_path / "dead.jsonl"
    report = send(api, rows(2000), spec_for(api, dead_letter=str(dead)), on_error="reject")
    assert report.status is Status.OK
    assert api.ids() == once([i for i in range(1, 2001) if not 101 <= i <= 200 and not 1901 <= i <= 2000])
    lines = dead_letters(dead)
    assert [x["row"] for x in lines] == [*range(101, 201), *range(1901, 2001)]  # in source order
    assert all(x["status"] == 400 and "invalid record" in x["response"] for x in lines)
    assert (report.rows_loaded, report.rows_rejected) == (1800, 200)


def test_max_rejects_stops_the_load(api: ApiServer) -> None:
    api.invalid_ids = {5}
    report = send(api, rows(50), spec_for(api, batch_size=10, concurrency=1), on_error="reject", max_rejects=3)
    assert report.status is Status.FAILED and "max_rejects" in (report.error or "")
    assert report.rows_rejected == 10 and len(api.log) == 1


@pytest.mark.parametrize("strategy", [Strategy.UPSERT, Strategy.TRUNCATE_INSERT])
def test_other_strategies_are_refused(api: ApiServer, strategy: Strategy) -> None:
    report = send(api, rows(3), strategy=strategy)
    assert report.status is Status.FAILED
    assert f"api: strategy '{strategy.value}' is not supported by HTTP targets" in (report.error or "")
    assert api.log == [] and report.table("items").status is Status.SKIPPED


# -- idempotency across runs -----------------------------------------------------------------------


def test_rerun_sends_the_same_keys_and_stores_nothing_new(api: ApiServer) -> None:
    spec = spec_for(api)
    send(api, rows(250), spec)
    first = api.keys()
    send(api, rows(250), spec)
    assert sorted(api.keys()[3:]) == sorted(first)  # concurrency 4: arrival order may differ
    assert api.replays == 3 and api.ids() == once(range(1, 251))
    changed = rows(250).to_pylist()
    changed[150]["name"] = "changed"
    send(api, {"items": changed}, spec)
    third = set(api.keys()[6:])
    assert len(third & set(first)) == 2 and len(third - set(first)) == 1  # only the changed batch is new
    assert sum(api.ids().values()) == 350


def test_idempotency_key_is_a_hash_of_url_table_and_body() -> None:
    key = idempotency_key("https://x/a", "a", b"[1]")
    assert key == idempotency_key("https://x/a", "a", b"[1]")
    assert len({key, idempotency_key("https://x/b", "a", b"[1]"), idempotency_key("https://x/a", "b", b"[1]")}) == 3
    assert key != idempotency_key("https://x/a", "a", b"[2]")


# -- rate limit, progress, cancel --------------------------------------------------------------------


def test_rate_limit_is_shared_by_all_workers(api: ApiServer) -> None:
    report = send(api, rows(60), spec_for(api, batch_size=10, concurrency=4, rate_limit=10))
    assert report.status is Status.OK
    times = sorted(r.at for r in api.log)
    assert len(times) == 6 and times[-1] - times[0] >= 0.45  # 6 requests at 10/s: at least 5 gaps of 0.1 s
    assert api.ids() == once(range(1, 61))


def test_progress_events_and_cancel(api: ApiServer) -> None:
    token = CancelToken()
    events: list[ProgressEvent] = []

    def on(event: ProgressEvent) -> None:
        events.append(event)
        if event.kind is EventKind.ROWS_WRITTEN and event.rows >= 200:
            token.cancel()

    report = send(api, {"a": rows(1000), "b": rows(10)}, spec_for(api, concurrency=2), progress=on, cancel=token)
    assert report.status is Status.CANCELLED
    assert report.table("a").status is Status.CANCELLED and report.table("b").status is Status.CANCELLED
    assert events[0].kind is EventKind.LOAD_STARTED and events[-1].kind is EventKind.LOAD_FINISHED
    loaded = report.table("a").rows_loaded
    assert 200 <= loaded < 1000 and sum(api.ids("a").values()) == loaded and max(api.ids("a").values()) == 1
    assert f"{loaded} row(s) were acknowledged" in (report.error or "")


def test_tables_go_one_after_the_other_to_their_urls(api: ApiServer) -> None:
    events: list[ProgressEvent] = []
    report = send(api, {"customers": rows(3), "orders": rows(5, start=10)}, progress=events.append)
    assert report.status is Status.OK
    assert [r.path for r in api.log] == ["/customers", "/orders"]
    assert api.ids("orders") == once(range(10, 15))
    kinds = [(e.kind.value, e.table) for e in events if e.kind is not EventKind.ROWS_WRITTEN]
    assert kinds == [
        ("load_started", None),
        ("table_started", "customers"),
        ("table_finished", "customers"),
        ("table_started", "orders"),
        ("table_finished", "orders"),
        ("load_finished", None),
    ]


# -- spec and laden.yaml -------------------------------------------------------------------------------


def test_spec_from_url_defaults_and_credentials() -> None:
    assert is_http_target("https://x/y") and is_http_target("HTTP://x") and not is_http_target("sqlite:///x.db")
    spec = http_spec_from_url("https://api.example.com/v1/{table}")
    assert (spec.method, spec.body, spec.batch_size, spec.timeout, spec.concurrency) == (
        HttpMethod.POST,
        BodyShape.ARRAY,
        100,
        30.0,
        4,
    )
    assert isinstance(spec.auth, NoAuth) and spec.url_for("a b") == "https://api.example.com/v1/a%20b"
    spec = http_spec_from_url(f"https://loader:{CANARY}@api.example.com/in")
    assert spec.auth == BasicAuth("loader", CANARY) and spec.url_template == "https://api.example.com/in"
    assert CANARY not in repr(spec) and CANARY in spec.secrets()
    with pytest.raises(Exception, match="placeholder"):
        http_spec_from_url("https://x/{tabel}")


def _reader(environ: dict[str, str]) -> Reader:
    return Reader("laden.yaml", {("targets", "api"): 3}, environ)


def test_read_http_spec_from_yaml() -> None:
    import yaml

    doc = yaml.safe_load(
        """
        type: http
        url: https://api.example.com/{table}
        method: put
        headers: {X-Tenant: acme, X-Token: "${TENANT_TOKEN}"}
        body: {shape: object, key: data}
        batch_size: 50
        timeout: 5
        concurrency: 2
        rate_limit: 20
        auth: {type: hmac, secret_env: HOOK_SECRET, signature_header: X-Sig}
        retry: {max_attempts: 3, max_seconds: 0, backoff_base: 0.1}
        item_status: {path: "results[*].code", ok_values: [200, 201]}
        dead_letter: failed.jsonl
        strategy: append
        on_error: reject
        description: the orders API
        """
    )
    reader = _reader({"HOOK_SECRET": CANARY, "TENANT_TOKEN": "tt-123"})
    spec = read_http_spec(reader, ("targets", "api"), doc)
    assert reader.problems == [] and spec is not None
    assert spec.method is HttpMethod.PUT and spec.body is BodyShape.OBJECT and spec.wrap_key == "data"
    assert (spec.batch_size, spec.timeout, spec.concurrency, spec.rate_limit) == (50, 5.0, 2, 20.0)
    assert spec.auth == HmacAuth(CANARY, signature_header="X-Sig", env="HOOK_SECRET")
    assert spec.retry == RetryPolicy(3, 0.0, 0.1, 30.0)
    assert spec.item_status is not None and spec.item_status.path.to_status == ("code",)
    assert spec.item_status.is_ok("201") and not spec.item_status.is_ok("202")
    assert spec.dead_letter == "failed.jsonl"
    assert ("X-Token", "tt-123") in spec.headers and "tt-123" in spec.secrets() and CANARY in spec.secrets()
    assert CANARY not in repr(spec) and "tt-123" not in repr(spec)


def test_read_http_spec_reports_every_problem_without_values() -> None:
    doc = {
        "type": "http",
        "url": "ftp://x/{table}",
        "method": "GET",
        "batch_size": 0,
        "auth": {"type": "bearer", "token_env": "MISSING_TOKEN"},
        "item_status": {"path": "a[*]b"},
        "colour": "blue",
    }
    reader = _reader({})
    assert read_http_spec(reader, ("targets", "api"), doc) is None
    text = "\n".join(reader.problems)
    assert "targets.api.colour: unknown key" in text
    assert "targets.api.method: expected one of POST, PUT, PATCH, got 'GET'" in text
    assert "targets.api.batch_size: expected a number >= 1" in text
    assert "targets.api.auth.token_env: environment variable MISSING_TOKEN is not set" in text
    assert "targets.api.item_status.path" in text
    assert all(p.startswith("laden.yaml:3: ") for p in reader.problems)
    reader = _reader({"T": CANARY})
    assert (
        read_http_spec(reader, ("targets", "api"), {"url": "ftp://x/", "auth": {"type": "bearer", "token": CANARY}})
        is None
    )
    text = "\n".join(reader.problems)
    assert "use token_env: VARIABLE_NAME" in text and "http://host" in text and CANARY not in text


def test_hmac_signature_is_over_timestamp_and_exact_body() -> None:
    import hashlib
    import hmac

    body = b'[{"id":1}]'
    expected = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("k", 1700000000, body) == expected
    headers = HmacAuth("k").headers(body, 1700000000)
    assert headers == {"X-Timestamp": "1700000000", "X-Signature": f"sha256={expected}"}


def test_method_and_headers_reach_the_server(api: ApiServer) -> None:
    spec = spec_for(api, method=HttpMethod.PATCH, headers=(("X-Tenant", "acme"),))
    report = send(api, rows(3), spec)
    assert report.status is Status.OK
    [req] = api.log
    assert req.method == "PATCH" and req.headers["X-Tenant"] == "acme"
    assert req.headers["Content-Type"] == "application/json" and req.key == idempotency_key(
        api.url + "/items", "items", req.body
    )


def test_options_on_error_reject_without_file_keeps_rejects_on_report(api: ApiServer) -> None:
    api.invalid_ids = {2}
    report = send(api, rows(4), spec_for(api, batch_size=2), on_error=OnError.REJECT)
    assert report.status is Status.OK
    assert [r.row for r in report.rejects] == [1, 2] and report.rejects[0].values["id"] == 1
    assert "HTTP 400" in report.rejects[0].reason
