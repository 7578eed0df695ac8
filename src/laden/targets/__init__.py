"""Backends, one per engine, each a small difference from :class:`~laden.targets.base.SqlBackend`."""

from __future__ import annotations

import dataclasses

from laden.targets.base import SqlBackend
from laden.urls import DatabaseURL, Engine


def backend_for(url: str | DatabaseURL, name: str | None = None, namespace: str | None = None) -> SqlBackend:
    """The backend for a URL; drivers are imported only when it connects.

    ``?schema=NAME`` in the URL (or ``namespace``) loads into that PostgreSQL or DuckDB schema,
    or that MySQL database, instead of the connection's default one.
    """
    parsed = url if isinstance(url, DatabaseURL) else DatabaseURL.parse(url)
    schema = dict(parsed.query).get("schema")
    if schema is not None:  # ?schema=sales: a PostgreSQL / DuckDB schema, a MySQL database
        parsed = dataclasses.replace(parsed, query=tuple(kv for kv in parsed.query if kv[0] != "schema"))
        namespace = namespace or schema
    cls: type[SqlBackend]
    if parsed.engine is Engine.POSTGRESQL:
        from laden.targets.postgres import PostgresBackend as cls
    elif parsed.engine is Engine.MYSQL:
        from laden.targets.mysql import MySQLBackend as cls
    elif parsed.engine is Engine.SQLITE:
        from laden.targets.sqlite import SQLiteBackend as cls
    else:
        from laden.targets.duckdb import DuckDBBackend as cls
    return cls(parsed, name=name, namespace=namespace)


__all__ = ["SqlBackend", "backend_for"]
