"""Issue 7.4: an over-long string, text into an integer column, an out-of-range number: a bad row
(or, where the engine has no bound, stored whole) — never truncated or converted. Read back on every engine."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

import laden
from helpers import ddl

BOUNDED_VARCHAR = {"postgresql", "mysql"}  # SQLite and DuckDB do not bound varchar(n) (README: known limits)


def test_bad_values_are_rejected_or_kept_whole_never_changed(db: Any, target_url: str, engine: str) -> None:
    db.script(ddl(engine, "CREATE TABLE t (id {bigint} PRIMARY KEY, code {vc10}, n {int}, big {bigint});"))
    source = pa.table(
        {
            "id": ["1", "2", "3", "4", "5", "6"],
            "code": ["ok", "x" * 11, "fine", "ok", "ok", "ok"],
            "n": ["7", "8", "12abc", "2147483648", "1.5", "9"],
            "big": ["1", "2", "3", "4", "5", "9223372036854775808"],
        }
    )
    report = laden.load({"t": source}, target_url, on_error="reject")
    assert report.ok, str(report)
    rejected = {r.row: (r.column, r.reason) for r in report.targets[0].rejects}
    int32 = engine != "sqlite"  # SQLite's INTEGER is 64-bit: 2147483648 fits there
    expected_bad = {3: "n", 5: "n", 6: "big"} | ({2: "code"} if engine in BOUNDED_VARCHAR else {})
    expected_bad |= {4: "n"} if int32 else {}
    assert {row: col for row, (col, _) in rejected.items()} == expected_bad, rejected
    table = report.targets[0].tables[0]
    assert table.rows_read == table.rows_loaded + table.rows_rejected == 6
    stored = {int(r[0]): (r[1], int(r[2]), int(r[3])) for r in db.query("SELECT id, code, n, big FROM t")}
    expected = {1: ("ok", 7, 1)} | ({} if engine in BOUNDED_VARCHAR else {2: ("x" * 11, 8, 2)})
    expected |= {} if int32 else {4: ("ok", 2147483648, 4)}
    assert stored == expected  # what is stored is exactly what was given
