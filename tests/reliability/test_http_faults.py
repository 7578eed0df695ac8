"""Issue 7.9: Retry-After is honoured to the second; 400/401/403/422 are final and dead-lettered, redacted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from httpserver import ApiServer, Expect
from laden.http import HttpSpec
from laden.http.auth import BearerAuth
from laden.plan import OnError
from laden.report import Status
from test_http import FAST, rows, send  # the same helpers as the HTTP target's own tests

CANARY = "tok-CANARY-52c1"


@pytest.fixture
def api() -> Iterator[ApiServer]:
    server = ApiServer().start()
    yield server
    server.stop()


def test_429_with_retry_after_2_waits_2_seconds(api: ApiServer) -> None:
    api.faults.status(429, retry_after="2")
    spec = HttpSpec(url_template=api.url + "/{table}", retry=FAST, concurrency=1)
    report = send(api, rows(10), spec)
    assert report.status is Status.OK
    first, second = api.log
    assert second.at - first.at >= 2.0  # server-side clock: no sooner than Retry-After says
    assert first.key == second.key


@pytest.mark.parametrize("status", [400, 401, 403, 422])
def test_final_statuses_are_not_retried_and_are_dead_lettered_redacted(
    api: ApiServer, status: int, tmp_path: Path
) -> None:
    dead = tmp_path / "dead.jsonl"
    if status == 401:  # the server refuses the token and echoes the request headers back
        api.auth = Expect("bearer", "the-right-one")
    else:
        api.faults.status(status, times=100)
    spec = HttpSpec(
        url_template=api.url + "/{table}", retry=FAST, concurrency=1, batch_size=5,
        auth=BearerAuth(CANARY), dead_letter=str(dead),
    )  # fmt: skip
    report = send(api, rows(5), spec, on_error=OnError.REJECT)
    assert len(api.log) == 1  # one request, never retried
    letters = [json.loads(line) for line in dead.read_text().splitlines()]
    assert sorted(d["record"]["id"] for d in letters) == [1, 2, 3, 4, 5]
    assert {d["status"] for d in letters} == {status}
    assert report.tables[0].rows_rejected == 5 and report.tables[0].rows_loaded == 0
    assert CANARY not in dead.read_text() + report.to_dict().__repr__()
