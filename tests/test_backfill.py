"""Backfills (issue 8.1-8.7): windows that cover the source exactly, sample validation, runs
in parallel with a manifest, idempotent windows, retries, resume after a kill, a Dask cluster."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from laden.backfill.manifest import DONE, PENDING, RUNNING, Manifest, entries
from laden.backfill.windows import Window, WindowSpec, plan_windows

LADEN = [sys.executable, "-m", "laden.cli"]
T0 = dt.datetime(2024, 1, 1)


def _cli(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LADEN, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)


def _events(n: int, *, nulls: int = 0, seed: int = 0) -> pa.Table:
    """n events, 17 minutes apart, the last ``nulls`` without a time."""
    ids = np.arange(n, dtype=np.int64)
    minutes = (ids * 17).astype("timedelta64[m]")
    ts = pa.array((np.datetime64(T0) + minutes).astype("datetime64[us]"))
    if nulls:
        ts = pa.array(ts.to_pylist()[: n - nulls] + [None] * nulls, pa.timestamp("us"))
    rng = np.random.default_rng(seed)
    amount = np.round(rng.uniform(0, 1000, n), 2)
    currency = pa.array(np.where(rng.random(n) < 0.5, "EUR", "USD"))
    return pa.table({"id": ids, "ts": ts, "amount": amount, "currency": currency})


def _create(db: Any, engine: str) -> None:
    ts = {"postgresql": "timestamp", "mysql": "DATETIME(6)", "sqlite": "TIMESTAMP", "duckdb": "TIMESTAMP"}[engine]
    double = "DOUBLE" if engine == "mysql" else "DOUBLE PRECISION"
    db.execute(f"CREATE TABLE events (id BIGINT PRIMARY KEY, ts {ts}, amount {double} NOT NULL, currency VARCHAR(3))")


def _target_rows(db: Any) -> list[tuple[Any, ...]]:
    rows = db.query("SELECT id, ts, amount, currency FROM events ORDER BY id")
    return [(int(i), _ts(t), round(float(a), 2), c) for i, t, a, c in rows]


def _ts(value: Any) -> Any:
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


def _source_rows(table: pa.Table) -> list[tuple[Any, ...]]:
    return [(r["id"], r["ts"], round(r["amount"], 2), r["currency"]) for r in table.to_pylist()]


# -- windows --------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["1d", "6h", "1w", "1mo", "1y", "500rows", "1234rows", "1rows"])
def test_windows_cover_the_source_exactly_with_nulls_on_their_own(size: str) -> None:
    table = _events(5_000, nulls=7)
    column = table.column("ts")
    windows = plan_windows(WindowSpec.parse(size), pa.field("ts", column.type), lambda: iter(column.chunks))
    *ranges, nulls = windows
    assert (nulls.nulls, nulls.rows) == (True, 7)
    assert [w.index for w in windows] == list(range(len(windows)))
    for a, b in itertools.pairwise(ranges):
        assert a.end == b.start  # no gap, no overlap
    values = [v for v in column.to_pylist() if v is not None]
    assert ranges[0].start <= min(values) and max(values) < ranges[-1].end
    for w in ranges:  # every count is exact
        assert w.rows == sum(w.start <= v < w.end for v in values), w.describe()
    assert sum(w.rows for w in windows) == table.num_rows


def test_interval_windows_align_on_calendar_boundaries() -> None:
    column = pa.array([dt.datetime(2024, 1, 31, 23, 59), dt.datetime(2024, 3, 1)], pa.timestamp("us"))
    spec, field = WindowSpec.parse("1mo"), pa.field("ts", column.type)
    windows = plan_windows(spec, field, lambda: iter([column]))
    assert [(w.start, w.end, w.rows) for w in windows] == [
        (dt.datetime(2024, 1, 1), dt.datetime(2024, 2, 1), 1),
        (dt.datetime(2024, 2, 1), dt.datetime(2024, 3, 1), 0),
        (dt.datetime(2024, 3, 1), dt.datetime(2024, 4, 1), 1),
    ]
    weeks = plan_windows(WindowSpec.parse("1w"), field, lambda: iter([column]))
    assert weeks[0].start == dt.datetime(2024, 1, 29) and weeks[0].start.weekday() == 0  # a Monday


def test_window_sizes_that_do_not_fit_are_clear_errors() -> None:
    from laden.errors import UsageError

    with pytest.raises(UsageError, match="write minutes as min and months as mo"):
        WindowSpec.parse("5m")
    column = pa.array([1, 2, 3])
    with pytest.raises(
        UsageError, match=r"--window 1d: a time interval needs a date or timestamp column; 'id' is int64"
    ):
        plan_windows(WindowSpec.parse("1d"), pa.field("id", column.type), lambda: iter([column]))
    text = pa.array(["a"])
    with pytest.raises(UsageError, match="a window column must be a number, a date or a timestamp, not string"):
        plan_windows(WindowSpec.parse("10"), pa.field("s", text.type), lambda: iter([text]))


# -- plan, run, rerun -----------------------------------------------------------------------------


def test_plan_json_lists_windows_with_rows_and_estimates(tmp_path: Path, sqlite_url: str, make_db: Any) -> None:
    _create(make_db(sqlite_url), "sqlite")
    table = _events(20_000)
    pq.write_table(table.slice(0, 10_000), tmp_path / "part-a.parquet")
    pq.write_table(table.slice(10_000), tmp_path / "part-b.parquet")
    done = _cli("backfill", "plan", str(tmp_path / "*.parquet"), "--to", sqlite_url, "--table", "events",
                "--window-by", "id", "--window", "5000rows", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert [(w["start"], w["end"], w["rows"]) for w in plan["windows"]] == [
        (0, 5000, 5000), (5000, 10000, 5000), (10000, 15000, 5000), (15000, 20000, 5000),
    ]  # fmt: skip
    assert all(w["estimated_s"] > 0 for w in plan["windows"])
    assert plan["rows"] == 20_000
    assert make_db(sqlite_url).count("events") == 0  # the trial load was rolled back


def test_plan_and_run_say_what_makes_every_window_slow(tmp_path: Path, sqlite_url: str, make_db: Any) -> None:
    db = make_db(sqlite_url)
    _create(db, "sqlite")
    pq.write_table(_events(2_000), tmp_path / "e.parquet")
    args = ["backfill", "plan", str(tmp_path / "e.parquet"), "--to", sqlite_url, "--table", "events",
            "--window-by", "ts", "--window", "1w"]  # fmt: skip
    note = (
        f"{sqlite_url}: no index of table 'events' starts with 'ts', so each window's DELETE of its range reads "
        "the whole table; an index on events (ts) makes it a range read"
    )
    done = _cli(*args, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["notes"] == [note]
    run = _cli(*[a if a != "plan" else "run" for a in args], "--manifest", str(tmp_path / "m.json"))
    assert run.returncode == 0, run.stderr
    assert run.stderr.startswith(f"note: {note}\n")
    db.execute("CREATE INDEX events_ts ON events (ts)")
    done = _cli(*args, "--json")
    assert json.loads(done.stdout)["notes"] == []
    pacsv.write_csv(_events(2_000), tmp_path / "e.csv")
    from_csv = _cli(*[str(tmp_path / "e.csv") if a.endswith("e.parquet") else a for a in args], "--json")
    assert json.loads(from_csv.stdout)["notes"] == [
        f"{tmp_path / 'e.csv'}: CSV files have no statistics to skip by, so every window reads the whole dataset; "
        "Parquet sorted by 'ts' (or hive partitions by it) lets each window read its own rows only"
    ], from_csv.stderr
    by_id = _cli(*[a if a != "ts" else "id" for a in args[:-2]], "--window", "500rows", "--json")  # the primary key
    assert json.loads(by_id.stdout)["notes"] == [], by_id.stderr


def test_the_manifest_reads_back_as_written_after_every_change(tmp_path: Path) -> None:
    """The manifest encodes a window again only when it changed: a stale line would be a false record."""
    windows = [Window(i, i * 10, i * 10 + 10, 10, False) for i in range(3)]
    m = Manifest("s", "t", "events", "replace", ["id"], "id", "10", "int", entries(windows))
    path = tmp_path / "m.json"
    m.write(path)
    for status, rows in ((RUNNING, 0), (DONE, 10)):
        m.windows[1].status, m.windows[1].rows_loaded = status, rows
        m.write(path)
        back = Manifest.read(path)
        assert back.to_dict() == m.to_dict()
        assert [(w.status, w.rows_loaded) for w in back.windows] == [(PENDING, 0), (status, rows), (PENDING, 0)]
    assert json.loads(path.read_text()) == m.to_dict()


def test_backfill_runs_in_parallel_and_a_rerun_replaces_its_windows(
    db: Any, target_url: str, engine: str, tmp_path: Path
) -> None:
    _create(db, engine)
    table = _events(30_000, nulls=11)
    source = tmp_path / "events.parquet"
    pq.write_table(table, source, row_group_size=4096)
    manifest_path = tmp_path / "m.json"
    args = ["backfill", "run", str(source), "--to", target_url, "--table", "events", "--window-by", "ts",
            "--window", "3w", "--parallel", "2"]  # fmt: skip
    done = _cli(*args, "--manifest", str(manifest_path), "--mirror", "laden backfills")
    assert done.returncode == 0, done.stderr
    assert _target_rows(db) == _source_rows(table)
    manifest = json.loads(manifest_path.read_text())
    q = "`" if engine == "mysql" else '"'
    mirrored = db.query(f"SELECT window_index, status, rows_loaded, checksum FROM {q}laden backfills{q} "
                        f"WHERE backfill_id = '{manifest['id']}' ORDER BY window_index")  # fmt: skip
    assert [tuple(r) for r in mirrored] == [
        (w["index"], "done", w["rows_loaded"], w["checksum"]) for w in manifest["windows"]
    ]
    assert manifest["status"] == "done" and manifest["strategy"] == "replace"
    assert sum(w["rows_loaded"] for w in manifest["windows"]) == 30_000
    for w in manifest["windows"]:  # the manifest's counts equal the target's, window by window
        assert w["status"] == "done" and w["rows_read"] == w["rows_loaded"] == w["rows_planned"]
        assert db.query(_count_sql(engine, w))[0][0] == w["rows_loaded"], w
    # the same windows again, into a table that already has them: replaced, never duplicated
    again = _cli(*args, "--manifest", str(tmp_path / "m2.json"))
    assert again.returncode == 0, again.stderr
    assert _target_rows(db) == _source_rows(table)
    second = json.loads((tmp_path / "m2.json").read_text())
    assert [w["checksum"] for w in second["windows"]] == [w["checksum"] for w in manifest["windows"]]


def _count_sql(engine: str, w: dict[str, Any]) -> str:
    if w["nulls"]:
        return "SELECT count(*) FROM events WHERE ts IS NULL"
    start, end = (dt.datetime.fromisoformat(w[k]) for k in ("start", "end"))
    fmt = "%Y-%m-%d %H:%M:%S.%f" if engine == "sqlite" else "%Y-%m-%d %H:%M:%S"
    return f"SELECT count(*) FROM events WHERE ts >= '{start.strftime(fmt)}' AND ts < '{end.strftime(fmt)}'"


def test_a_failing_window_is_retried_the_others_finish_and_resume_completes(
    sqlite_url: str, make_db: Any, tmp_path: Path
) -> None:
    db = make_db(sqlite_url)
    _create(db, "sqlite")
    table = _events(10_000)
    bad = table.set_column(
        2,
        "amount",
        pa.array([None if i == 7_777 else v for i, v in enumerate(table.column(2).to_pylist())], pa.float64()),
    )
    source = tmp_path / "events.parquet"
    pq.write_table(bad, source)
    args = ["backfill", "run", str(source), "--to", sqlite_url, "--table", "events", "--window-by", "id",
            "--window", "2500", "--retries", "1", "--manifest", str(tmp_path / "m.json")]  # fmt: skip
    done = _cli(*args)
    assert done.returncode == 1
    manifest = json.loads((tmp_path / "m.json").read_text())
    statuses = [(w["start"], w["status"], w["attempts"]) for w in manifest["windows"]]
    assert statuses == [(0, "done", 1), (2500, "done", 1), (5000, "done", 1), (7500, "failed", 2)]
    failed = manifest["windows"][3]
    assert "table 'events', row 278, column 'amount'" in failed["error"], failed["error"]  # row 278 of the window
    assert "1 of 4 windows did not finish" in done.stderr and f"--resume {tmp_path / 'm.json'}" in done.stderr
    assert db.count("events") == 7_500  # the failed window's transaction rolled back
    pq.write_table(table, source)  # fixed at the source: resume runs only what is not done
    resumed = _cli(*args[:-2], "--resume", str(tmp_path / "m.json"))
    assert resumed.returncode == 0, resumed.stderr
    manifest = json.loads((tmp_path / "m.json").read_text())
    assert [w["attempts"] for w in manifest["windows"]] == [1, 1, 1, 3]
    assert len(manifest["runs"]) == 2
    assert _target_rows(db) == _source_rows(table)
    before = (tmp_path / "m.json").read_bytes()
    finished = _cli(*args[:-2], "--resume", str(tmp_path / "m.json"))
    assert finished.returncode == 0 and "nothing ran and the manifest is unchanged" in finished.stderr
    assert (tmp_path / "m.json").read_bytes() == before  # a finished manifest is never rewritten


# -- validation -----------------------------------------------------------------------------------

RULES = """
validation:
  events:
    sample: 40000
    seed: 7
    threshold: {threshold}
    rules:
      - not_null: [id, ts]
      - unique: [id]
      - range: {{column: amount, min: 0, max: 900}}
      - regex: {{column: currency, pattern: "^[A-Z]{{3}}$"}}
      - allowed_values: {{column: currency, values: [EUR, USD]}}
      - fk_exists: {{column: currency, table: currencies, references: code}}
      - expression: "amount >= 0 and currency in ('EUR', 'USD')"
"""


def test_validate_scores_a_seeded_sample_and_run_refuses_below_the_threshold(
    db: Any, target_url: str, engine: str, tmp_path: Path
) -> None:
    _create(db, engine)
    db.execute("CREATE TABLE currencies (code VARCHAR(3) PRIMARY KEY)")
    db.execute("INSERT INTO currencies VALUES ('EUR')")  # USD is missing: fk_exists fails for about half
    table = _events(20_000)
    pq.write_table(table, tmp_path / "events.parquet")
    args = ["--to", target_url, "--table", "events", "--window-by", "id", "--window", "10000rows",
            "--config", str(tmp_path / "laden.yaml")]  # fmt: skip
    (tmp_path / "laden.yaml").write_text(RULES.format(threshold=0.9))
    done = _cli("backfill", "validate", str(tmp_path / "events.parquet"), *args, "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    rows = table.to_pylist()  # sample: 40000 > 20000 rows, so the sample is the whole source: exact counts
    eur = sum(r["currency"] == "EUR" for r in rows)
    in_range = sum(r["amount"] <= 900 for r in rows)
    passing = sum(r["currency"] == "EUR" and r["amount"] <= 900 for r in rows)
    n = 20_000
    assert report["sample_rows"] == n
    assert [(r["rule"], r["passed"]) for r in report["rules"]] == [
        ("not_null(id, ts)", n),
        ("unique(id)", n),
        ("range(amount: 0 .. 900)", in_range),
        ("regex(currency ~ ^[A-Z]{3}$)", n),
        ("allowed_values(currency in ['EUR', 'USD'])", n),
        ("fk_exists(currency -> currencies.code)", eur),
        ("expression(amount >= 0 and currency in ('EUR', 'USD'))", n),
    ]
    assert [f["id"] for f in report["rules"][2]["failing"]] == [r["id"] for r in rows if r["amount"] > 900][:5]
    assert all(f["currency"] == "USD" for f in report["rules"][5]["failing"])
    assert report["score"] == passing / n
    assert not report["ok"]
    ran = _cli("backfill", "run", str(tmp_path / "events.parquet"), *args, "--manifest", str(tmp_path / "m.json"))
    assert ran.returncode == 1
    assert "is below the threshold 90.00%: nothing was loaded" in ran.stderr
    assert db.count("events") == 0 and not (tmp_path / "m.json").exists()
    (tmp_path / "laden.yaml").write_text(RULES.format(threshold=0.4))
    ran = _cli("backfill", "run", str(tmp_path / "events.parquet"), *args, "--manifest", str(tmp_path / "m.json"))
    assert ran.returncode == 0, ran.stderr
    assert db.count("events") == 20_000
    assert json.loads((tmp_path / "m.json").read_text())["validation"]["score"] == report["score"]


def test_a_smaller_sample_is_seeded(sqlite_url: str, make_db: Any, tmp_path: Path) -> None:
    _create(make_db(sqlite_url), "sqlite")
    pq.write_table(_events(20_000), tmp_path / "events.parquet")
    (tmp_path / "laden.yaml").write_text(
        RULES.replace("40000", "2000")
        .replace("      - fk_exists: {{column: currency, table: currencies, references: code}}\n", "")
        .format(threshold=0.5)
    )
    args = ["backfill", "validate", str(tmp_path / "events.parquet"), "--to", sqlite_url, "--table", "events",
            "--window-by", "id", "--window", "10000rows", "--config", str(tmp_path / "laden.yaml"),
            "--json"]  # fmt: skip
    first, second = (json.loads(_cli(*args).stdout) for _ in range(2))
    assert first == second  # seeded: the same sample, the same report
    assert 1800 < first["sample_rows"] < 2200


# -- other sources --------------------------------------------------------------------------------


def test_a_database_table_or_query_is_a_source(
    db: Any, target_url: str, engine: str, make_db: Any, tmp_path: Path
) -> None:
    sqlite_url = f"sqlite:///{tmp_path}/out.db"
    _create(db, engine)
    table = _events(6_000, nulls=5)
    import laden

    assert laden.load(table, target_url, table="events").ok
    out = make_db(sqlite_url)
    _create(out, "sqlite")
    base = ["--to", sqlite_url, "--table", "events", "--window-by", "ts", "--window", "2w"]
    done = _cli(
        "backfill", "run", target_url, "--source-table", "events", *base, "--manifest", str(tmp_path / "a.json")
    )
    assert done.returncode == 0, done.stderr
    assert _target_rows(out) == _source_rows(table)
    manifest = json.loads((tmp_path / "a.json").read_text())
    assert manifest["windows"][-1]["nulls"] and manifest["windows"][-1]["rows_loaded"] == 5
    out.execute("DELETE FROM events")
    q = "SELECT id, ts, amount, currency FROM events WHERE amount < 500"
    done = _cli("backfill", "run", target_url, "--source-query", q, *base, "--manifest", str(tmp_path / "b.json"))
    assert done.returncode == 0, done.stderr
    assert _target_rows(out) == [r for r in _source_rows(table) if r[2] < 500]


def test_sqlite_text_times_in_any_iso_spelling_land_in_their_own_window(tmp_path: Path, make_db: Any) -> None:
    """SQLite compared the text: '2024-01-05 00:00:00' sorts before the bound '2024-01-05 00:00:00.000000',
    so that row was read by the window before its own, whose DELETE then removed it from the target,
    while the manifest counted it loaded; '2024-01-01 00:00:00' was read by no window at all."""
    source_url, target_url = f"sqlite:///{tmp_path}/in.db", f"sqlite:///{tmp_path}/out.db"
    src = make_db(source_url)
    src.execute("CREATE TABLE ev (id INTEGER PRIMARY KEY, at TIMESTAMP, v REAL)")
    rows = [(1, "2024-01-01 00:00:00", 1.0), (2, "2024-01-05 00:00:00", 2.0), (3, "2024-01-02T12:30:00.25", 3.0),
            (4, "2024-01-03", 4.0), (5, None, 5.0), (6, "2024-01-04 23:59:59.999999", 6.0)]  # fmt: skip
    for row in rows:
        src.execute("INSERT INTO ev VALUES (?, ?, ?)", row)
    out = make_db(target_url)
    out.execute("CREATE TABLE ev (id INTEGER PRIMARY KEY, at TIMESTAMP, v REAL)")
    done = _cli("backfill", "run", source_url, "--source-table", "ev", "--to", target_url, "--table", "ev",
                "--window-by", "at", "--window", "1d", "--manifest", str(tmp_path / "m.json"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    windows = json.loads((tmp_path / "m.json").read_text())["windows"]
    assert [(w["start"], w["rows_planned"], w["rows_read"], w["rows_loaded"]) for w in windows] == [
        ("2024-01-01T00:00:00", 1, 1, 1), ("2024-01-02T00:00:00", 1, 1, 1), ("2024-01-03T00:00:00", 1, 1, 1),
        ("2024-01-04T00:00:00", 1, 1, 1), ("2024-01-05T00:00:00", 1, 1, 1), (None, 1, 1, 1),
    ]  # fmt: skip
    assert [r[0] for r in out.query("SELECT id FROM ev ORDER BY id")] == [1, 2, 3, 4, 5, 6]
    out.execute("DELETE FROM ev")
    hours = _cli("backfill", "run", source_url, "--source-table", "ev", "--to", target_url, "--table", "ev",
                 "--window-by", "at", "--window", "6h", "--manifest", str(tmp_path / "h.json"))  # fmt: skip
    assert hours.returncode == 0, hours.stderr
    windows = json.loads((tmp_path / "h.json").read_text())["windows"]
    assert [(w["start"], w["rows_read"]) for w in windows if w["rows_planned"]] == [
        ("2024-01-01T00:00:00", 1), ("2024-01-02T12:00:00", 1), ("2024-01-03T00:00:00", 1),
        ("2024-01-04T18:00:00", 1), ("2024-01-05T00:00:00", 1), (None, 1),
    ]  # fmt: skip
    assert all(w["rows_read"] == w["rows_planned"] for w in windows)
    assert [r[0] for r in out.query("SELECT id FROM ev ORDER BY id")] == [1, 2, 3, 4, 5, 6]
    src.execute("INSERT INTO ev VALUES (7, '2024-01-06T10:00:00Z', 7.0)")
    offset = _cli("backfill", "plan", source_url, "--source-table", "ev", "--to", target_url, "--table", "ev",
                  "--window-by", "at", "--window", "1d")  # fmt: skip
    assert offset.returncode != 0
    assert f"{source_url} (table ev): column 'at' holds '2024-01-06T10:00:00Z', which is not a time" in offset.stderr
    assert done.stderr.splitlines()[:2] == [
        f"note: {source_url} (table ev): no index of table 'ev' starts with 'at', so each window's query reads "
        "the whole table; an index on ev (at) makes it a range read",
        f"note: {target_url}: no index of table 'ev' starts with 'at', so each window's DELETE of its range reads "
        "the whole table; an index on ev (at) makes it a range read",
    ]


def test_a_generator_is_a_source(sqlite_url: str, make_db: Any, tmp_path: Path) -> None:
    from laden.generate import retail_dataset

    out = make_db(sqlite_url)
    with retail_dataset(0.001, 3, workers=1) as data:
        expected = pa.Table.from_batches(list(data.tables["customers"].batches(1 << 16)))
    cols = ", ".join(f'"{n}" TEXT' for n in expected.column_names if n != "customer_id")
    out.execute(f"CREATE TABLE customers (customer_id BIGINT PRIMARY KEY, {cols})")
    done = _cli("backfill", "run", "generate:retail?scale=0.001&seed=3", "--to", sqlite_url, "--table", "customers",
                "--window-by", "customer_id", "--window", "300rows",
                "--manifest", str(tmp_path / "m.json"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert out.count("customers") == expected.num_rows
    ids = sorted(r[0] for r in out.query("SELECT customer_id FROM customers"))
    assert ids == sorted(expected.column("customer_id").to_pylist())
    assert out.query("SELECT email FROM customers WHERE customer_id = ?", [ids[-1]]) == [
        (expected.filter(pa.compute.equal(expected.column("customer_id"), ids[-1])).column("email")[0].as_py(),)
    ]


# -- kill and resume, a Dask cluster, tracking ----------------------------------------------------


def _pg_fingerprint(db: Any) -> tuple[Any, ...]:
    count, distinct, ids, values = db.query("SELECT count(*), count(DISTINCT id), sum(id), sum(v) FROM big")[0]
    return int(count), int(distinct), int(ids), int(values)


def test_a_killed_backfill_resumes_to_exactly_the_source(postgres_url: str, make_db: Any, tmp_path: Path) -> None:
    import os
    import signal
    import time

    db = make_db(postgres_url)
    db.execute("CREATE TABLE big (id bigint PRIMARY KEY, v bigint NOT NULL, s text)")
    n = 2_000_000
    ids = np.arange(n, dtype=np.int64)
    pq.write_table(pa.table({"id": ids, "v": ids * 7 % 1000, "s": pa.array(np.char.mod("s%d", ids % 1000))}),
                   tmp_path / "big.parquet", row_group_size=100_000)  # fmt: skip
    expected = (n, n, int(ids.sum()), int((ids * 7 % 1000).sum()))
    manifest = tmp_path / "m.json"
    args = ["backfill", "run", str(tmp_path / "big.parquet"), "--to", postgres_url, "--table", "big",
            "--window-by", "id", "--window", "200000rows", "--parallel", "2"]  # fmt: skip
    child = subprocess.Popen([*LADEN, *args, "--manifest", str(manifest)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and child.poll() is None:
            if manifest.exists():
                done = [w for w in json.loads(manifest.read_text())["windows"] if w["status"] == "done"]
                if len(done) >= 3:
                    break
            time.sleep(0.05)
        assert child.poll() is None, "the backfill ended before it could be killed"
        os.kill(child.pid, signal.SIGKILL)  # the coordinator; its workers die with it
        child.wait()
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    killed = json.loads(manifest.read_text())
    statuses = [w["status"] for w in killed["windows"]]
    assert statuses.count("done") >= 3 and statuses.count("done") < len(statuses), statuses
    _wait_for_no_other_sessions(db)
    partial = _pg_fingerprint(db)
    assert partial[0] == partial[1] < n  # committed windows only, no duplicates
    resumed = _cli(*args, "--resume", str(manifest))
    assert resumed.returncode == 0, resumed.stderr
    assert _pg_fingerprint(db) == expected
    final = json.loads(manifest.read_text())
    assert final["status"] == "done" and len(final["runs"]) == 2
    for w in final["windows"]:
        [(count,)] = db.query("SELECT count(*) FROM big WHERE id >= %s AND id < %s", [w["start"], w["end"]])
        assert count == w["rows_loaded"] == w["rows_read"], w


def _wait_for_no_other_sessions(db: Any) -> None:
    import time

    for _ in range(200):
        others = db.query(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )[0][0]
        if not others:
            return
        time.sleep(0.05)
    raise AssertionError("the killed workers' sessions did not end")


def test_a_dask_cluster_gives_the_same_result_as_local_workers(postgres_url: str, make_db: Any, tmp_path: Path) -> None:
    from distributed import LocalCluster

    db = make_db(postgres_url)
    _create(db, "postgresql")
    table = _events(40_000, nulls=3)
    pq.write_table(table, tmp_path / "events.parquet", row_group_size=5000)
    args = ["backfill", "run", str(tmp_path / "events.parquet"), "--to", postgres_url, "--table", "events",
            "--window-by", "id", "--window", "10000rows"]  # fmt: skip
    local = _cli(*args, "--manifest", str(tmp_path / "local.json"))
    assert local.returncode == 0, local.stderr
    rows_local = _target_rows(db)
    db.execute("DELETE FROM events")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = _cli(*args, "--cluster", cluster.scheduler_address, "--manifest", str(tmp_path / "dask.json"))
    assert remote.returncode == 0, remote.stderr
    assert _target_rows(db) == rows_local == _source_rows(table)
    a, b = (json.loads((tmp_path / f"{name}.json").read_text())["windows"] for name in ("local", "dask"))
    keep = ("start", "end", "status", "rows_read", "rows_loaded", "rows_rejected", "checksum")
    assert [{k: w[k] for k in keep} for w in a] == [{k: w[k] for k in keep} for w in b]


def test_a_backfill_is_tracked_as_a_run(sqlite_url: str, make_db: Any, tmp_path: Path, monkeypatch: Any) -> None:
    from laden import loads

    monkeypatch.setenv("LADEN_STATE_DIR", str(tmp_path / "state"))
    _create(make_db(sqlite_url), "sqlite")
    pq.write_table(_events(3_000), tmp_path / "events.parquet")
    done = _cli("backfill", "run", str(tmp_path / "events.parquet"), "--to", sqlite_url, "--table", "events",
                "--window-by", "id", "--window", "1000", "--manifest", str(tmp_path / "m.json"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    [run] = loads.history()
    manifest = json.loads((tmp_path / "m.json").read_text())
    assert (run.kind, run.status, run.rows, run.id) == (loads.RunKind.BACKFILL, loads.RunStatus.SUCCEEDED, 3_000,
                                                        manifest["runs"][0])  # fmt: skip


def test_a_backfill_is_cancelled_from_another_process(
    postgres_url: str, make_db: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    import time

    from laden import loads

    monkeypatch.setenv("LADEN_STATE_DIR", str(tmp_path / "state"))
    db = make_db(postgres_url)
    db.execute("CREATE TABLE big (id bigint PRIMARY KEY, v bigint NOT NULL, s text)")
    ids = np.arange(1_000_000, dtype=np.int64)
    pq.write_table(pa.table({"id": ids, "v": ids, "s": pa.array(np.char.mod("s%d", ids))}), tmp_path / "big.parquet")
    manifest = tmp_path / "m.json"
    child = subprocess.Popen(
        [*LADEN, "backfill", "run", str(tmp_path / "big.parquet"), "--to", postgres_url, "--table", "big",
         "--window-by", "id", "--window", "100000rows", "--parallel", "1", "--batch-size", "2000",
         "--manifest", str(manifest)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (active := loads.active()) and time.monotonic() < deadline:
            time.sleep(0.05)
        [run] = active
        assert run.kind is loads.RunKind.BACKFILL
        while json.loads(manifest.read_text())["windows"][0]["status"] != "done" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _cli("runs", "cancel", run.id).returncode == 0
        _, err = child.communicate(timeout=120)
    finally:
        child.kill()
    assert child.returncode == 1
    assert "cancelled after" in err and f"--resume {manifest}" in err
    final = json.loads(manifest.read_text())
    assert final["status"] == "cancelled"
    done = [w for w in final["windows"] if w["status"] == "done"]
    assert 1 <= len(done) < 10
    assert db.count("big") == sum(w["rows_loaded"] for w in done)  # the running window rolled back
    assert loads.status(run.id).status is loads.RunStatus.CANCELLED


# -- file datasets: hive partitions, CSV, JSON Lines, object storage -----------------------------

try:  # tests/ as a package, or rootdir-relative
    from .s3server import s3_bucket, s3_client, s3_endpoint, s3_env
except ImportError:
    from s3server import s3_bucket, s3_client, s3_endpoint, s3_env  # noqa: F401


def _write_formats(table: pa.Table, directory: Path) -> dict[str, str]:
    """The same rows as a hive-partitioned Parquet dataset, CSV files and JSON Lines files."""
    import pyarrow.csv as pacsv
    import pyarrow.dataset as pads

    hive = directory / "hive"
    with_day = table.append_column("day", pa.array([f"d{i % 3}" for i in range(table.num_rows)]))
    pads.write_dataset(with_day, hive, format="parquet", partitioning=["day"], partitioning_flavor="hive")
    (directory / "csv").mkdir()
    (directory / "jsonl").mkdir()
    for i, part in enumerate((table.slice(0, 2000), table.slice(2000))):
        pacsv.write_csv(part, directory / "csv" / f"part-{i}.csv")
        rows = part.to_pylist()
        text = "".join(json.dumps({**r, "ts": r["ts"].isoformat() if r["ts"] else None}) + "\n" for r in rows)
        (directory / "jsonl" / f"part-{i}.jsonl").write_text(text)
    return {"hive": str(hive), "csv": str(directory / "csv" / "*.csv"), "jsonl": str(directory / "jsonl")}


@pytest.mark.parametrize("kind", ["hive", "csv", "jsonl"])
def test_file_datasets_of_every_format(kind: str, sqlite_url: str, make_db: Any, tmp_path: Path) -> None:
    db = make_db(sqlite_url)
    _create(db, "sqlite")
    if kind == "hive":
        db.execute("ALTER TABLE events ADD COLUMN day TEXT")
    table = _events(5_000, nulls=4)
    source = _write_formats(table, tmp_path)[kind]
    done = _cli("backfill", "run", source, "--to", sqlite_url, "--table", "events", "--window-by", "id",
                "--window", "1500", "--manifest", str(tmp_path / "m.json"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _target_rows(db) == _source_rows(table)
    if kind == "hive":  # the partition key became a column
        assert db.query("SELECT day, count(*) FROM events GROUP BY day ORDER BY day") == [
            ("d0", 1667), ("d1", 1667), ("d2", 1666),
        ]  # fmt: skip


def test_a_dataset_on_object_storage(
    s3_bucket: str, s3_env: str, sqlite_url: str, make_db: Any, tmp_path: Path
) -> None:
    import io

    db = make_db(sqlite_url)
    _create(db, "sqlite")
    table = _events(6_000)
    client = s3_client(s3_env)
    for i in range(3):
        buf = io.BytesIO()
        pq.write_table(table.slice(i * 2000, 2000), buf)
        client.put_object(Bucket=s3_bucket, Key=f"events/part-{i}.parquet", Body=buf.getvalue())
    done = _cli("backfill", "run", f"s3://{s3_bucket}/events/", "--to", sqlite_url, "--table", "events",
                "--window-by", "ts", "--window", "2w", "--manifest", str(tmp_path / "m.json"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _target_rows(db) == _source_rows(table)
