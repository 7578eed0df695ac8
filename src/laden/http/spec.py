"""What an HTTP target is: URL template, method, body shape, auth, retries, per-item statuses.

:class:`HttpSpec` is built from ``--to https://...`` (:func:`http_spec_from_url`, defaults
throughout) or from a ``type: http`` target in ``laden.yaml`` (:func:`read_http_spec`)::

    targets:
      orders_api:
        type: http
        url: https://api.example.com/v1/{table}      # {table}: the dataset's table name, URL-quoted
        method: POST                                 # POST | PUT | PATCH
        headers: {X-Tenant: acme}
        body: {shape: object, key: records}          # array | object (the array under `key`) | record
        batch_size: 100                              # records per request (record shape: 1)
        timeout: 30                                  # seconds, per attempt (connect, read, write each)
        concurrency: 4                               # requests in flight
        rate_limit: 20                               # requests per second, all workers together
        auth: {type: bearer, token_env: ORDERS_API_TOKEN}
        #     {type: basic, username: loader, password_env: API_PASSWORD}
        #     {type: api_key, header: X-API-Key, key_env: API_KEY}
        #     {type: hmac, secret_env: WEBHOOK_SECRET, signature_header: X-Signature, timestamp_header: X-Timestamp}
        retry: {max_attempts: 5, max_seconds: 120, backoff_base: 0.5, backoff_max: 30}
        item_status: {path: "results[*].status", ok_values: [ok, 201], retry_values: [503, busy]}
        dead_letter: failed-orders.jsonl

Secrets are never written in the file: ``*_env`` keys name the environment variable holding
them, and a variable that is not set is a configuration problem naming it (never a value).

Per-item status paths, a tiny syntax: ``keys[*].keys``. The dotted keys before ``[*]`` lead
from the JSON response to the list that has one entry per record sent, in order; the dotted
keys after it lead from each entry to its status. ``results[*].status``, ``[*].status`` (the
response is the list), ``data.items[*]`` (the entries are the statuses); without ``[*]`` the
whole path leads to the list of statuses (``statuses`` = ``statuses[*]``). An entry is
acknowledged when its status is in ``ok_values`` (compared as text, case-insensitively);
by default a number or numeric text 200-299, ``true``, or one of ``ok``, ``success``,
``succeeded``, ``created``, ``accepted``, ``updated``, ``stored``. A failed entry is sent
again when its status is in ``retry_values`` (default: 408, 429 and 500-599, as number or
text); any other failed entry is final and goes to the dead-letter file.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from laden.config import Reader
from laden.errors import UsageError
from laden.http.auth import ApiKeyAuth, Auth, AuthKind, BasicAuth, BearerAuth, HmacAuth, NoAuth
from laden.urls import mask_url

__all__ = [
    "BodyShape",
    "HttpMethod",
    "HttpSpec",
    "ItemStatus",
    "RetryPolicy",
    "StatusPath",
    "http_spec_from_url",
    "is_http_target",
    "read_http_spec",
]


class HttpMethod(str, enum.Enum):
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"


class BodyShape(str, enum.Enum):
    """What one request body holds."""

    #: ``[{...}, {...}]``: up to ``batch_size`` records
    ARRAY = "array"
    #: ``{"<key>": [{...}, {...}]}``
    OBJECT = "object"
    #: ``{...}``: one record per request
    RECORD = "record"


@dataclass(frozen=True)
class RetryPolicy:
    """When to give up on a request: whichever of the two budgets runs out first.

    The wait before attempt ``n + 1`` is the server's ``Retry-After`` when it sends one, else
    "full jitter": a uniform random time in ``[0, min(backoff_max, backoff_base * 2 ** (n - 1))]``.
    A wait that would end past ``max_seconds`` (counted from the first attempt) is not made.
    """

    #: attempts per request, the first included (1 = never retry)
    max_attempts: int = 5
    max_seconds: float = 120.0
    backoff_base: float = 0.5
    backoff_max: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise UsageError(f"retry max_attempts must be at least 1 (got {self.max_attempts})")
        if self.max_seconds < 0 or self.backoff_base < 0 or self.backoff_max < 0:
            raise UsageError("retry max_seconds, backoff_base and backoff_max must not be negative")


_OK_WORDS = ("ok", "success", "succeeded", "created", "accepted", "updated", "stored", "true")


@dataclass(frozen=True)
class StatusPath:
    """A parsed per-item status path (see the module docstring)."""

    text: str
    #: keys from the response to the list of entries
    to_list: tuple[str, ...]
    #: keys from one entry to its status
    to_status: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> StatusPath:
        raw = text.strip()
        if raw.count("[*]") > 1:
            raise UsageError(f"item status path {text!r}: at most one [*] (the list with one entry per record)")
        before, star, after = raw.partition("[*]")
        if star and after and not after.startswith("."):
            raise UsageError(f"item status path {text!r}: after [*] comes '.key' or nothing")
        to_list = tuple(before.split(".")) if before else ()
        to_status = tuple(after[1:].split(".")) if after else ()
        if any(not k or "[" in k or "]" in k for k in (*to_list, *to_status)):
            raise UsageError(
                f"item status path {text!r}: expected dotted keys with one [*], like results[*].status or statuses"
            )
        return cls(raw, to_list, to_status)


@dataclass(frozen=True)
class ItemStatus:
    """Where a response says, per record, whether it was taken (see the module docstring)."""

    path: StatusPath
    #: statuses that mean "acknowledged" (lower-cased text); empty: the default rule
    ok_values: tuple[str, ...] = ()
    #: failed statuses worth sending again (lower-cased text); empty: 408, 429, 5xx
    retry_values: tuple[str, ...] = ()

    @classmethod
    def of(cls, path: str, ok_values: tuple[str, ...] = (), retry_values: tuple[str, ...] = ()) -> ItemStatus:
        return cls(StatusPath.parse(path), tuple(v.lower() for v in ok_values), tuple(v.lower() for v in retry_values))

    def is_ok(self, text: str) -> bool:
        if self.ok_values:
            return text in self.ok_values
        code = _code(text)
        return (code is not None and 200 <= code < 300) or text in _OK_WORDS

    def is_retryable(self, text: str) -> bool:
        if self.retry_values:
            return text in self.retry_values
        code = _code(text)
        return code is not None and (code in (408, 429) or 500 <= code < 600)


def status_text(value: object) -> str:
    """A per-item status as compared: lower-cased text, booleans as true/false, 201.0 as 201."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip().lower()


def _code(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) == 3 else None


_PLACEHOLDER = re.compile(r"\{[^}]*\}")


@dataclass(frozen=True, repr=False)
class HttpSpec:
    """One HTTP endpoint that receives records as JSON. ``repr()`` never shows a secret."""

    url_template: str
    method: HttpMethod = HttpMethod.POST
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    body: BodyShape = BodyShape.ARRAY
    #: the key holding the array for BodyShape.OBJECT
    wrap_key: str = "records"
    batch_size: int = 100
    timeout: float = 30.0
    concurrency: int = 4
    #: requests per second over all workers (a token bucket); None: unlimited
    rate_limit: float | None = None
    auth: Auth = field(default_factory=NoAuth)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    item_status: ItemStatus | None = None
    #: JSON Lines file for records that finally fail; None: the load's rejects path, else kept in memory
    dead_letter: str | None = None
    #: header values that are secrets too (came from environment variables)
    header_secrets: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url_template)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise UsageError(f"HTTP target URL must be http://host/... or https://host/..., got {self.masked_url()!r}")
        if parts.password is not None:
            raise UsageError(
                f"{self.masked_url()}: put credentials in auth (basic), not in the URL (http_spec_from_url moves them)"
            )
        others = [p for p in _PLACEHOLDER.findall(self.url_template) if p != "{table}"]
        if others:
            raise UsageError(f"{self.masked_url()}: unknown placeholder {others[0]}; the URL may only use {{table}}")
        for what, number, low in (("batch_size", self.batch_size, 1), ("concurrency", self.concurrency, 1)):
            if isinstance(number, bool) or not isinstance(number, int) or number < low:
                raise UsageError(f"HTTP target {what} must be a whole number >= {low}, got {number!r}")
        if self.timeout <= 0:
            raise UsageError(f"HTTP target timeout must be positive, got {self.timeout!r}")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise UsageError(f"HTTP target rate_limit must be positive (requests per second), got {self.rate_limit!r}")
        if self.body is BodyShape.RECORD and self.item_status is not None:
            raise UsageError(
                "item_status needs an array or object body: with one record per request, the HTTP status is its status"
            )
        if self.body is BodyShape.OBJECT and not self.wrap_key:
            raise UsageError("an object body needs a key to hold the array of records")

    @property
    def records_per_request(self) -> int:
        return 1 if self.body is BodyShape.RECORD else self.batch_size

    def url_for(self, table: str) -> str:
        """The URL for ``table``: ``{table}`` replaced by the name, URL-quoted."""
        from urllib.parse import quote

        return self.url_template.replace("{table}", quote(table, safe=""))

    def masked_url(self) -> str:
        return mask_url(self.url_template)

    def secrets(self) -> tuple[str, ...]:
        """Every secret string (and its common spellings), for scrubbing output."""
        return tuple(s for s in (*self.auth.secrets(), *self.header_secrets) if s)

    def describe(self) -> str:
        shape = {
            BodyShape.ARRAY: f"JSON arrays of up to {self.batch_size} records",
            BodyShape.OBJECT: f"JSON objects with up to {self.batch_size} records under {self.wrap_key!r}",
            BodyShape.RECORD: "one JSON record per request",
        }[self.body]
        rate = f", at most {self.rate_limit:g} requests/s" if self.rate_limit else ""
        where = f"{self.method.value} {self.masked_url()}"
        return f"{where}: {shape}, {self.concurrency} at a time{rate}, {self.auth.describe()}"

    def __repr__(self) -> str:
        return (
            f"HttpSpec({self.method.value} {self.masked_url()!r}, body={self.body.value}, "
            f"batch_size={self.batch_size}, concurrency={self.concurrency}, auth={self.auth.kind.value}, "
            f"headers={[k for k, _ in self.headers]})"
        )


def is_http_target(spec: str) -> bool:
    """Whether a ``--to`` value is an HTTP(S) URL."""
    return spec.strip().lower().startswith(("http://", "https://"))


def _split_userinfo(url: str) -> tuple[str, BasicAuth | None]:
    """``https://user:pw@host/x`` -> (``https://host/x``, BasicAuth); other URLs unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unclosed "[" of an IPv6 address
        raise UsageError(f"not a valid URL ({exc}): {mask_url(url)!r}") from exc
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.netloc.rpartition("@")[2]
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, BasicAuth(unquote(parts.username or ""), unquote(parts.password or ""))


def http_spec_from_url(url: str) -> HttpSpec:
    """Defaults for ``--to https://...``: POST, JSON array bodies of 100 records, timeout 30 s,
    concurrency 4, no auth (``https://user:password@host/...`` becomes basic auth)."""
    clean, basic = _split_userinfo(url.strip())
    return HttpSpec(url_template=clean, auth=basic or NoAuth())


# -- laden.yaml ------------------------------------------------------------------------------------

_KEYS = ["type", "url", "method", "headers", "body", "batch_size", "timeout", "concurrency", "rate_limit", "auth"]
_KEYS += ["retry", "item_status", "dead_letter"]
#: keys of a target that the caller reads (load options and documentation)
_OTHER_KEYS = ["strategy", "on_error", "max_rejects", "keys", "tables", "description"]
_AUTH_KEYS = {
    AuthKind.NONE: ["type"],
    AuthKind.BEARER: ["type", "token_env"],
    AuthKind.BASIC: ["type", "username", "password_env"],
    AuthKind.API_KEY: ["type", "header", "key_env"],
    AuthKind.HMAC: ["type", "secret_env", "signature_header", "timestamp_header"],
}
_SECRET_HINTS = {"token": "token_env", "password": "password_env", "key": "key_env", "secret": "secret_env"}
_SENSITIVE_HEADER = re.compile(r"auth|token|key|secret|password|signature|cookie", re.IGNORECASE)


def read_http_spec(reader: Reader, path: tuple[str, ...], value: Mapping[str, Any]) -> HttpSpec | None:
    """The :class:`HttpSpec` of a ``type: http`` target mapping; None when it has problems (reported on ``reader``)."""
    t = reader.mapping(dict(value), path, [*_KEYS, *_OTHER_KEYS])
    kind = reader.string(t.get("type"), (*path, "type"))
    if kind is not None and kind.lower() != "http":
        reader.problem((*path, "type"), f"expected http, got {kind!r}")
    before = len(reader.problems)
    url = _read_url(reader, t.get("url"), (*path, "url"))
    body, key = _read_body(reader, t.get("body"), (*path, "body"))
    headers, header_secrets = _read_headers(reader, t.get("headers"), (*path, "headers"))
    auth = _read_auth(reader, t.get("auth"), (*path, "auth"))
    retry = _read_retry(reader, t.get("retry"), (*path, "retry"))
    item_status = _read_item_status(reader, t.get("item_status"), (*path, "item_status"))
    fields: dict[str, Any] = {
        "method": _read_method(reader, t.get("method"), (*path, "method")),
        "batch_size": reader.integer(t.get("batch_size"), (*path, "batch_size"), minimum=1),
        "timeout": reader.number(t.get("timeout"), (*path, "timeout")),
        "concurrency": reader.integer(t.get("concurrency"), (*path, "concurrency"), minimum=1),
        "rate_limit": reader.number(t.get("rate_limit"), (*path, "rate_limit")),
        "dead_letter": reader.string(t.get("dead_letter"), (*path, "dead_letter")),
    }
    if url is None or len(reader.problems) > before:
        return None
    clean, basic = _split_userinfo(url)
    if basic is not None and auth is not None and auth.kind is not AuthKind.NONE:
        reader.problem((*path, "url"), "has a user and password and auth is set too: keep credentials in auth only")
        return None
    try:
        return HttpSpec(
            url_template=clean,
            headers=headers,
            body=body or BodyShape.ARRAY,
            wrap_key=key or "records",
            auth=auth or basic or NoAuth(),
            retry=retry or RetryPolicy(),
            item_status=item_status,
            header_secrets=header_secrets,
            **{k: v for k, v in fields.items() if v is not None},
        )
    except UsageError as exc:
        reader.problem(path, str(exc))
        return None


def _read_url(reader: Reader, value: Any, path: tuple[str, ...]) -> str | None:
    url = reader.string(value, path, required=True)
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:  # an unclosed "[" of an IPv6 address
        reader.problem(path, f"not a valid URL ({exc}): {mask_url(url)!r}")
        return None
    others = [p for p in _PLACEHOLDER.findall(url) if p != "{table}"]
    if parts.scheme.lower() not in ("http", "https") or not hostname:
        reader.problem(path, f"expected http://host/... or https://host/..., got {mask_url(url)!r}")
    elif others:
        reader.problem(path, f"unknown placeholder {others[0]}; the URL may only use {{table}}")
    else:
        return url
    return None


def _read_method(reader: Reader, value: Any, path: tuple[str, ...]) -> HttpMethod | None:
    text = reader.string(value, path)
    if text is None:
        return None
    try:
        return HttpMethod(text.upper())
    except ValueError:
        reader.problem(path, f"expected one of {', '.join(m.value for m in HttpMethod)}, got {text!r}")
        return None


def _read_body(reader: Reader, value: Any, path: tuple[str, ...]) -> tuple[BodyShape | None, str | None]:
    if isinstance(value, str):  # body: record
        return reader.choice(value, path, BodyShape), None
    b = reader.mapping(value, path, ["shape", "key"])
    shape = reader.choice(b.get("shape"), (*path, "shape"), BodyShape)
    key = reader.string(b.get("key"), (*path, "key"))
    if key is not None and shape is not BodyShape.OBJECT:
        reader.problem((*path, "key"), "is only used with shape: object (the key that holds the array)")
    return shape, key


def _read_headers(
    reader: Reader, value: Any, path: tuple[str, ...]
) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """Static headers; a value from an environment variable, or of a credential-looking header, is a secret."""
    out: list[tuple[str, str]] = []
    secrets: list[str] = []
    for name, raw in reader.mapping(value, path).items():
        text = reader.string(raw, (*path, name))
        if text is None:
            continue
        if name.lower() in ("content-type", "idempotency-key", "content-length"):
            reader.problem((*path, name), "is set by laden (JSON body, its length and the idempotency key)")
            continue
        out.append((name, text))
        if (isinstance(raw, str) and "${" in raw) or _SENSITIVE_HEADER.search(name):
            secrets.append(text)
    return tuple(out), tuple(secrets)


def _secret(reader: Reader, a: Mapping[str, Any], key: str, path: tuple[str, ...], what: str) -> tuple[str, str] | None:
    """(value, variable name) of the environment variable named by ``a[key]``; a problem if it is not set."""
    name = reader.string(a.get(key), (*path, key), required=True)
    if name is None:
        return None
    secret = reader.environ.get(name)
    if not secret:
        reader.problem((*path, key), f"environment variable {name} is not set (it should hold the {what})")
        return None
    return secret, name


def _read_auth(reader: Reader, value: Any, path: tuple[str, ...]) -> Auth | None:
    if value is None:
        return NoAuth()
    if isinstance(value, dict):
        for plain, env_key in _SECRET_HINTS.items():
            if plain in value:
                reader.problem((*path, plain), f"secrets are not written in the file: use {env_key}: VARIABLE_NAME")
                value = {k: v for k, v in value.items() if k != plain}
    raw = value if isinstance(value, dict) else {}
    kind = reader.choice(raw.get("type"), (*path, "type"), AuthKind)
    if kind is None:
        if isinstance(value, dict) and raw.get("type") is None:
            reader.problem((*path, "type"), "is required: one of " + ", ".join(k.value for k in AuthKind))
        reader.mapping(value, path, ["type"])
        return None
    a = reader.mapping(value, path, _AUTH_KEYS[kind])
    if kind is AuthKind.BEARER:
        s = _secret(reader, a, "token_env", path, "bearer token")
        return BearerAuth(s[0], env=s[1]) if s else None
    if kind is AuthKind.BASIC:
        user = reader.string(a.get("username"), (*path, "username"), required=True)
        s = _secret(reader, a, "password_env", path, "password")
        return BasicAuth(user, s[0], env=s[1]) if s and user else None
    if kind is AuthKind.API_KEY:
        header = reader.string(a.get("header"), (*path, "header")) or "X-API-Key"
        s = _secret(reader, a, "key_env", path, "API key")
        return ApiKeyAuth(s[0], header=header, env=s[1]) if s else None
    if kind is AuthKind.HMAC:
        s = _secret(reader, a, "secret_env", path, "HMAC secret")
        sig = reader.string(a.get("signature_header"), (*path, "signature_header")) or "X-Signature"
        ts = reader.string(a.get("timestamp_header"), (*path, "timestamp_header")) or "X-Timestamp"
        return HmacAuth(s[0], signature_header=sig, timestamp_header=ts, env=s[1]) if s else None
    return NoAuth()


def _read_retry(reader: Reader, value: Any, path: tuple[str, ...]) -> RetryPolicy | None:
    r = reader.mapping(value, path, ["max_attempts", "max_seconds", "backoff_base", "backoff_max"])
    base = RetryPolicy()
    attempts = reader.integer(r.get("max_attempts"), (*path, "max_attempts"), minimum=1)
    seconds = _seconds(reader, r.get("max_seconds"), (*path, "max_seconds"))
    backoff = _seconds(reader, r.get("backoff_base"), (*path, "backoff_base"))
    cap = _seconds(reader, r.get("backoff_max"), (*path, "backoff_max"))
    return RetryPolicy(
        max_attempts=base.max_attempts if attempts is None else attempts,
        max_seconds=base.max_seconds if seconds is None else seconds,
        backoff_base=base.backoff_base if backoff is None else backoff,
        backoff_max=base.backoff_max if cap is None else cap,
    )


def _seconds(reader: Reader, value: Any, path: tuple[str, ...]) -> float | None:
    """A number of seconds >= 0 (``Reader.number`` refuses 0, which is fine here: no waiting)."""
    value = reader.substitute(value, path)
    if not isinstance(value, bool) and value in (0, "0", "0.0"):
        return 0.0
    return reader.number(value, path)


def _read_item_status(reader: Reader, value: Any, path: tuple[str, ...]) -> ItemStatus | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = {"path": value}
    s = reader.mapping(value, path, ["path", "ok_values", "retry_values"])
    text = reader.string(s.get("path"), (*path, "path"), required=True)
    ok = reader.strings(s.get("ok_values"), (*path, "ok_values"))
    retry = reader.strings(s.get("retry_values"), (*path, "retry_values"))
    if text is None:
        return None
    try:
        return ItemStatus.of(text, ok, retry)
    except UsageError as exc:
        reader.problem((*path, "path"), str(exc))
        return None
