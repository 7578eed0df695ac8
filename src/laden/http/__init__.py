"""HTTP APIs and webhooks as load targets: records sent as JSON, retried, accounted for exactly.

>>> from laden.http import HttpTarget, http_spec_from_url
>>> target = HttpTarget(http_spec_from_url("https://api.example.com/v1/{table}"), name="api")
>>> report = target.load(dataset, LoadOptions(), load_id)          # doctest: +SKIP

Modules: :mod:`~laden.http.spec` (what a target is, ``laden.yaml`` reading), :mod:`~laden.http.auth`
(bearer, basic, API key, HMAC), :mod:`~laden.http.encode` (Arrow to JSON, request bodies,
idempotency keys), :mod:`~laden.http.delivery` (retries, rate limit, per-item statuses),
:mod:`~laden.http.deadletter` and :mod:`~laden.http.target` (the load and its accounting).
Needs ``httpx`` at load time only (``pip install 'laden[http]'``).
"""

from __future__ import annotations

from laden.http.auth import ApiKeyAuth, Auth, AuthKind, BasicAuth, BearerAuth, HmacAuth, NoAuth
from laden.http.spec import (
    BodyShape,
    HttpMethod,
    HttpSpec,
    ItemStatus,
    RetryPolicy,
    StatusPath,
    http_spec_from_url,
    is_http_target,
    read_http_spec,
)
from laden.http.target import HttpTarget

__all__ = [
    "ApiKeyAuth",
    "Auth",
    "AuthKind",
    "BasicAuth",
    "BearerAuth",
    "BodyShape",
    "HmacAuth",
    "HttpMethod",
    "HttpSpec",
    "HttpTarget",
    "ItemStatus",
    "NoAuth",
    "RetryPolicy",
    "StatusPath",
    "http_spec_from_url",
    "is_http_target",
    "read_http_spec",
]
