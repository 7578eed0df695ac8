"""Opening driver connections, one way for loads and queries alike.

Both functions raise :class:`~laden.errors.MissingDriverError` when the driver is not
installed and the driver's own error when the server refuses; callers wrap that into
their message (a load's target name, a pool's datasource).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from laden.errors import MissingDriverError
from laden.urls import DatabaseURL

if TYPE_CHECKING:
    import psycopg

#: every MariaDB/MySQL session laden opens: values are never silently truncated or converted
MYSQL_SQL_MODE = "STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"


def connect_postgres(url: DatabaseURL, timeout: float) -> psycopg.Connection[Any]:
    """A psycopg connection in autocommit mode, UTF-8 whatever the database's encoding."""
    try:
        import psycopg
    except ImportError as exc:
        raise MissingDriverError("PostgreSQL targets need psycopg: pip install 'laden[postgresql]'") from exc
    params: dict[str, Any] = {k: v for k, v in url.query if k not in ("password", "schema")}
    password = url.password if url.password is not None else dict(url.query).get("password")
    params["client_encoding"] = "UTF8"  # COPY payloads and results are UTF-8
    params.setdefault("application_name", "laden")
    params.setdefault("connect_timeout", str(max(2, math.ceil(timeout))))  # whole seconds; libpq's minimum is 2
    return psycopg.connect(
        host=url.host or None,
        port=url.port or None,
        user=url.user or None,
        password=password,
        dbname=url.database or None,
        autocommit=True,
        **params,
    )


def connect_mysql(url: DatabaseURL, timeout: float, *, local_infile: bool = False) -> Any:
    """A PyMySQL connection in autocommit mode, utf8mb4, strict SQL mode, UTC session time zone."""
    try:
        import pymysql
    except ImportError as exc:
        raise MissingDriverError("MySQL/MariaDB targets need PyMySQL: pip install 'laden[mysql]'") from exc
    raw = pymysql.connect(
        host=url.host or "localhost",
        port=url.port or 3306,
        user=url.user or "",
        password=url.password or "",
        database=url.database,
        charset="utf8mb4",
        local_infile=local_infile,
        autocommit=True,
        connect_timeout=timeout,
    )
    try:
        with raw.cursor() as cur:
            cur.execute(f"SET SESSION sql_mode = '{MYSQL_SQL_MODE}', time_zone = '+00:00'")
    except pymysql.Error:
        raw.close()
        raise
    return raw
