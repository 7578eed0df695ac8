"""How an HTTP target proves who it is: none, bearer token, basic, API-key header, HMAC-signed bodies.

Every secret is read from an environment variable when ``laden.yaml`` is read (never written in
the file), kept out of ``repr()``, and listed by :meth:`secrets` so that every message, report
and dead-letter line can be scrubbed of it.

HMAC-SHA256 webhooks: each attempt sends two headers,

* ``<timestamp_header>: <unix seconds>`` (sent again, fresh, on every retry), and
* ``<signature_header>: sha256=<hex>`` where ``hex = HMAC_SHA256(secret, b"<timestamp>." + body)``,

computed over the exact body bytes sent. A receiver recomputes the HMAC over the raw request body
(never over re-serialised JSON), compares it in constant time and rejects stale timestamps.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import quote


class AuthKind(str, enum.Enum):
    NONE = "none"
    BEARER = "bearer"
    BASIC = "basic"
    API_KEY = "api_key"
    HMAC = "hmac"


def _spellings(secret: str) -> tuple[str, ...]:
    """A secret and the forms it may take in a message (URL-quoted, base64)."""
    if not secret:
        return ()
    return (secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode())


@dataclass(frozen=True)
class NoAuth:
    kind: ClassVar[AuthKind] = AuthKind.NONE

    def headers(self, body: bytes, timestamp: int) -> dict[str, str]:
        return {}

    def secrets(self) -> tuple[str, ...]:
        return ()

    def describe(self) -> str:
        return "no authentication"


@dataclass(frozen=True)
class BearerAuth:
    """``Authorization: Bearer <token>``."""

    kind: ClassVar[AuthKind] = AuthKind.BEARER
    token: str = field(repr=False)
    #: the environment variable the token came from (for messages; None when given in code)
    env: str | None = None

    def headers(self, body: bytes, timestamp: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def secrets(self) -> tuple[str, ...]:
        return _spellings(self.token)

    def describe(self) -> str:
        return "bearer token" + (f" from ${self.env}" if self.env else "")


@dataclass(frozen=True)
class BasicAuth:
    """``Authorization: Basic base64(username:password)``."""

    kind: ClassVar[AuthKind] = AuthKind.BASIC
    username: str
    password: str = field(repr=False)
    env: str | None = None

    def _encoded(self) -> str:
        return base64.b64encode(f"{self.username}:{self.password}".encode()).decode()

    def headers(self, body: bytes, timestamp: int) -> dict[str, str]:
        return {"Authorization": f"Basic {self._encoded()}"}

    def secrets(self) -> tuple[str, ...]:
        if not self.password:
            return ()
        return (*_spellings(self.password), self._encoded())

    def describe(self) -> str:
        return f"basic auth as {self.username!r}" + (f" (password from ${self.env})" if self.env else "")


@dataclass(frozen=True)
class ApiKeyAuth:
    """``<header>: <key>``."""

    kind: ClassVar[AuthKind] = AuthKind.API_KEY
    key: str = field(repr=False)
    header: str = "X-API-Key"
    env: str | None = None

    def headers(self, body: bytes, timestamp: int) -> dict[str, str]:
        return {self.header: self.key}

    def secrets(self) -> tuple[str, ...]:
        return _spellings(self.key)

    def describe(self) -> str:
        return f"API key in {self.header}" + (f" from ${self.env}" if self.env else "")


@dataclass(frozen=True)
class HmacAuth:
    """HMAC-SHA256 over ``b"<timestamp>." + body``; see the module docstring."""

    kind: ClassVar[AuthKind] = AuthKind.HMAC
    secret: str = field(repr=False)
    signature_header: str = "X-Signature"
    timestamp_header: str = "X-Timestamp"
    env: str | None = None

    def headers(self, body: bytes, timestamp: int) -> dict[str, str]:
        return {
            self.timestamp_header: str(timestamp),
            self.signature_header: "sha256=" + sign(self.secret, timestamp, body),
        }

    def secrets(self) -> tuple[str, ...]:
        return _spellings(self.secret)

    def describe(self) -> str:
        return f"HMAC-SHA256 signature in {self.signature_header}" + (f" (secret from ${self.env})" if self.env else "")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``b"<timestamp>." + body`` under ``secret``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


Auth = NoAuth | BearerAuth | BasicAuth | ApiKeyAuth | HmacAuth
