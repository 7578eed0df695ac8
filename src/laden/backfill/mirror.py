"""A manifest's windows mirrored into a table of the target (``--mirror TABLE``).

One row per backfill and window, replaced as the window finishes, so the audit trail can be
queried next to the data it describes. laden creates the table when it is missing.
"""

from __future__ import annotations

import pyarrow as pa

from laden.backfill.manifest import Manifest, WindowEntry
from laden.errors import LadenError
from laden.plan import LoadOptions, Strategy
from laden.resolve import ResolvedTarget
from laden.urls import DatabaseURL, Engine

_COLUMNS = [
    ("backfill_id", "key"), ("window_index", "int"), ("window_start", "text"), ("window_end", "text"),
    ("status", "key"), ("rows_read", "int"), ("rows_loaded", "int"), ("rows_rejected", "int"),
    ("checksum", "text"), ("duration_s", "float"), ("attempts", "int"), ("error", "text"), ("finished_at", "text"),
]  # fmt: skip
_TYPES = {
    Engine.POSTGRESQL: {"key": "varchar(64)", "int": "bigint", "text": "text", "float": "double precision"},
    Engine.MYSQL: {"key": "VARCHAR(64)", "int": "BIGINT", "text": "TEXT", "float": "DOUBLE"},
    Engine.SQLITE: {"key": "TEXT", "int": "INTEGER", "text": "TEXT", "float": "REAL"},
    Engine.DUCKDB: {"key": "VARCHAR", "int": "BIGINT", "text": "VARCHAR", "float": "DOUBLE"},
}


def create_mirror(target: ResolvedTarget, table: str) -> None:
    """Create the mirror table unless it exists (quoted name, the engine's own types)."""
    from laden.targets import backend_for

    backend = backend_for(target.url, name=target.name, namespace=target.namespace)
    types = _TYPES[DatabaseURL.parse(target.url).engine]
    cols = ", ".join(f"{backend.quote(name)} {types[kind]}" for name, kind in _COLUMNS)
    key = f"{backend.quote('backfill_id')}, {backend.quote('window_index')}"
    backend.connect()
    try:
        backend.begin()
        backend.execute(f"CREATE TABLE IF NOT EXISTS {backend.qualified(table)} ({cols}, PRIMARY KEY ({key}))")
        backend.commit()
    finally:
        backend.close()


def mirror_window(target: ResolvedTarget, table: str, manifest: Manifest, w: WindowEntry) -> None:
    """Upsert one window's row; a failure here fails loudly (the manifest file stays the record)."""
    from laden.api import load_untracked

    row = {
        "backfill_id": manifest.id, "window_index": w.index,
        "window_start": None if w.start is None else str(w.start), "window_end": None if w.end is None else str(w.end),
        "status": w.status, "rows_read": w.rows_read, "rows_loaded": w.rows_loaded, "rows_rejected": w.rows_rejected,
        "checksum": w.checksum, "duration_s": w.duration_s, "attempts": w.attempts, "error": w.error,
        "finished_at": w.finished_at,
    }  # fmt: skip
    data = pa.Table.from_pylist([row], schema=_schema())
    opts = LoadOptions(strategy=Strategy.UPSERT, keys={table: ("backfill_id", "window_index")})
    report = load_untracked(data, target, opts, table=table)
    if not report.ok:
        raise LadenError(f"cannot mirror window {w.index} into {target.name} table {table!r}: {report.error}")


def _schema() -> pa.Schema:
    arrow = {"key": pa.string(), "int": pa.int64(), "text": pa.string(), "float": pa.float64()}
    return pa.schema([(name, arrow[kind]) for name, kind in _COLUMNS])
