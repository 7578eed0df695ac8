"""Database URLs in SQLAlchemy's forms, parsed once, masked whenever shown.

``postgresql://user:pw@host:5432/db``, ``mysql://user:pw@host/db`` (also ``mariadb://``),
``sqlite:///relative.db``, ``sqlite:////absolute.db``, ``sqlite:///:memory:``,
``duckdb:///file.duckdb``. Driver suffixes (``postgresql+psycopg://``) are accepted.
"""

from __future__ import annotations

import base64
import enum
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from laden.errors import UsageError


class Engine(str, enum.Enum):
    POSTGRESQL = "postgresql"
    MYSQL = "mysql"
    SQLITE = "sqlite"
    DUCKDB = "duckdb"


_SCHEMES = {
    "postgresql": Engine.POSTGRESQL,
    "postgres": Engine.POSTGRESQL,
    "mysql": Engine.MYSQL,
    "mariadb": Engine.MYSQL,
    "sqlite": Engine.SQLITE,
    "duckdb": Engine.DUCKDB,
}


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed target URL. ``str()`` and ``repr()`` never show the password."""

    engine: Engine
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    #: file path for SQLite / DuckDB (``:memory:`` for in-memory)
    path: str | None = None
    query: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, url: str) -> DatabaseURL:
        scheme, sep, _ = url.partition("://")
        base = scheme.split("+", 1)[0].lower()
        if not sep or base not in _SCHEMES:
            raise UsageError(
                f"unsupported target URL {mask_url(url)!r}: expected one of "
                "postgresql://, mysql://, sqlite:///, duckdb:///"
            )
        engine = _SCHEMES[base]
        if engine in (Engine.SQLITE, Engine.DUCKDB):
            rest = url[len(scheme) + 3 :]
            path, _, qs = rest.partition("?")
            if not path.startswith("/"):
                raise UsageError(f"{engine.value} URL needs three slashes: {engine.value}:///file (got {url!r})")
            path = unquote(path[1:])  # sqlite:///rel.db -> rel.db ; sqlite:////abs.db -> /abs.db
            return cls(engine=engine, path=path or ":memory:", query=tuple(parse_qsl(qs)))
        try:
            parts = urlsplit(url)
        except ValueError as exc:  # an unclosed "[" of an IPv6 address
            raise UsageError(f"bad target URL {mask_url(url)!r}: {exc}") from exc
        try:
            port = parts.port
        except ValueError as exc:
            raise UsageError(f"bad port in target URL {mask_url(url)!r}") from exc
        database = unquote(parts.path.lstrip("/")) or None
        return cls(
            engine=engine,
            host=parts.hostname,
            port=port,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            database=database,
            query=tuple(parse_qsl(parts.query)),
        )

    def masked(self) -> str:
        """The URL for display: password replaced by ``***``."""
        if self.engine in (Engine.SQLITE, Engine.DUCKDB):
            return f"{self.engine.value}:///{self.path}"
        auth = ""
        if self.user:
            auth = quote(self.user, safe="")
            if self.password is not None:
                auth += ":***"
            auth += "@"
        host = self.host or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{self.port}" if self.port else ""
        db = f"/{quote(self.database, safe='')}" if self.database else ""
        return f"{self.engine.value}://{auth}{host}{port}{db}"

    def secrets(self) -> tuple[str, ...]:
        """Every spelling of the password that could leak into a message."""
        if not self.password:
            return ()
        pw = self.password
        return (
            pw,
            quote(pw, safe=""),
            quote(pw),
            base64.b64encode(pw.encode()).decode(),
        )

    def __str__(self) -> str:
        return self.masked()


def database_scheme(spec: str) -> bool:
    """Whether ``spec`` starts with a database URL scheme laden knows (``postgresql+psycopg://`` too)."""
    scheme, sep, _ = spec.partition("://")
    return bool(sep) and scheme.split("+", 1)[0].lower() in _SCHEMES


def mask_url(url: str) -> str:
    """Mask the password of any URL-looking string, even one that does not parse."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc_end = len(rest)
    for ch in "/?#":
        pos = rest.find(ch)
        if pos != -1:
            netloc_end = min(netloc_end, pos)
    netloc = rest[:netloc_end]
    at = netloc.rfind("@")
    if at == -1:
        return url
    userinfo = netloc[:at]
    user = userinfo.split(":", 1)[0]
    masked = f"{user}:***" if ":" in userinfo else user
    return f"{scheme}://{masked}{rest[at:]}"


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """Remove every secret from ``text`` (error messages from drivers, for example)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text
