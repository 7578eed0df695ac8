"""Tables, machine and version facts, bench/RESULTS.md and JSON."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.runner import Result

RESULTS = Path(__file__).with_name("RESULTS.md")
REPO = Path(__file__).resolve().parents[1]
PACKAGES = (
    "laden",
    "pyarrow",
    "numpy",
    "pandas",
    "sqlalchemy",
    "psycopg",
    "psycopg2-binary",
    "pymysql",
    "duckdb",
    "adbc-driver-manager",
    "adbc-driver-postgresql",
    "adbc-driver-sqlite",
    "dlt",
    "sqlite-utils",
)
HEADER = """# laden benchmark results

Produced by `python -m bench` (see `bench/__init__.py`); each run appends a section below.
Rerun with:

```sh
.venv/bin/pip install -e '.[bench]'
.venv/bin/python -m bench                 # append: laden vs raw bulk paths vs peers, 1M rows
.venv/bin/python -m bench --upsert        # upsert 1M rows (half new) into a 1M-row table
.venv/bin/python -m bench --memory        # peak RSS of `laden load`, 1M vs 10M rows
```

Every contender is timed as a whole process (spawn to exit, interpreter start-up and imports
included), into a freshly created table, alternating with the others; rows/s is rows / median
seconds; `x raw` is rows/s relative to the engine's raw bulk path (laden / raw is the headline).
"""


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def raw_rate(results: Sequence[Result]) -> float | None:
    return next((r.rows_per_second for r in results if r.role == "raw" and r.ok), None)


def append_table(results: Sequence[Result]) -> str:
    raw = raw_rate(results)
    rows = []
    for r in results:
        rate = r.rows_per_second
        ratio = rate / raw if rate and raw else None
        note = r.note if r.ok else f"{r.status}: {r.reason}" + (f" ({r.note})" if r.note else "")
        rows.append(
            [
                r.name,
                f"{r.rows:,}",
                _fmt(r.median_seconds, ".2f"),
                _fmt(rate, ",.0f"),
                _fmt(ratio, ".2f"),
                _fmt(r.peak_rss_mib, ",.0f"),
                note,
            ]
        )
    return markdown_table(["contender", "rows", "median s", "rows/s", "x raw", "peak RSS MiB", "note"], rows)


def upsert_table(by_engine: dict[str, list[Result]]) -> str:
    """Per engine: laden's upsert against laden's append; where measured, the hand-written raw
    upsert against the raw append, and laden's upsert against the raw one."""
    rows = []
    for engine, results in by_engine.items():
        found = {r.role: r for r in results}
        append, upsert = found["append"], found["upsert"]
        raw_append, raw_upsert = found.get("raw append"), found.get("raw upsert")

        def ratio(num: Result | None, den: Result | None) -> str:
            n, d = (num.rows_per_second if num else None), (den.rows_per_second if den else None)
            return _fmt(n / d if n and d else None, ".2f")

        failed = [r for r in results if not r.ok]
        note = "; ".join(f"{r.name} {r.status}: {r.reason}" for r in failed) if failed else upsert.note
        if raw_upsert is not None and not failed:
            note += f"; {raw_append.note if raw_append else ''} / {raw_upsert.note}"
        rows.append(
            [
                engine,
                f"{upsert.rows:,}",
                _fmt(append.median_seconds, ".2f"),
                _fmt(upsert.median_seconds, ".2f"),
                ratio(upsert, append),
                _fmt(raw_append.median_seconds if raw_append else None, ".2f"),
                _fmt(raw_upsert.median_seconds if raw_upsert else None, ".2f"),
                ratio(raw_upsert, raw_append),
                ratio(upsert, raw_upsert),
                note,
            ]
        )
    return markdown_table(
        [
            "engine",
            "rows",
            "laden append s",
            "laden upsert s",
            "upsert/append",
            "raw append s",
            "raw upsert s",
            "raw upsert/append",
            "laden/raw upsert",
            "note",
        ],
        rows,
    )


def memory_table(results: Sequence[Result]) -> str:
    rows = [
        [
            r.engine,
            f"{r.rows:,}",
            _fmt(r.median_seconds, ".2f"),
            _fmt(r.rows_per_second, ",.0f"),
            _fmt(r.peak_rss_mib, ",.0f"),
            "" if r.ok else f"{r.status}: {r.reason}",
        ]
        for r in results
    ]
    return markdown_table(["engine", "rows", "seconds", "rows/s", "peak RSS MiB", "note"], rows)


def _first_line(path: str, prefix: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith(prefix)), "?")
    except OSError:
        return "?"


def _memory_gib() -> str:
    try:
        import psutil

        return f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
    except ImportError:
        kib = _first_line("/proc/meminfo", "MemTotal").split()[0]
        return f"{int(kib) / 2**20:.1f} GiB" if kib.isdigit() else "?"


def _uname() -> str:
    try:
        return subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return " ".join(platform.uname()).strip()


def source_fingerprint() -> str:
    """A hash of laden's source, to tell whether it changed while the benchmark ran
    (the venv's laden is an editable install of src/)."""
    digest = hashlib.sha1()
    for path in sorted((REPO / "src" / "laden").rglob("*.py")):
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _git() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=REPO, capture_output=True, text=True)
    except OSError:
        return "?"
    return head.stdout.strip() + (" (src/ modified)" if dirty.stdout.strip() else "")


def _module() -> str:
    """The module run with ``python -m`` (bench, bench.tpch, bench.backfill, ...)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return str(spec.name).removesuffix(".__main__") if spec is not None else "bench"


def environment(server_versions: dict[str, str]) -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": f"python -m {_module()} " + " ".join(sys.argv[1:]),
        "uname": _uname(),
        "cpu": _first_line("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count(),
        "memory": _memory_gib(),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "laden_commit": _git(),
        "laden_source": source_fingerprint(),
        "packages": versions,
        "servers": server_versions,
    }


def environment_text(env: dict[str, Any]) -> str:
    packages = ", ".join(f"{k} {v}" for k, v in env["packages"].items())
    servers = "; ".join(f"{k}: {v}" for k, v in env["servers"].items())
    return (
        f"- date: {env['date']}; command: `{env['command']}`; laden commit {env['laden_commit']}, "
        f"source {env['laden_source']}\n"
        f"- machine: `{env['uname']}`; CPU {env['cpu']}, {env['cores']} cores, {env['memory']}; "
        f"load average at start {env['load_average']}\n"
        f"- Python {env['python']}; {packages}\n"
        f"- servers: {servers}\n"
    )


def append_results(sections: list[tuple[str, str]], env: dict[str, Any]) -> None:
    """Append one dated section (machine, versions, every table) to bench/RESULTS.md."""
    if not RESULTS.exists():
        RESULTS.write_text(HEADER)
    body = "".join(f"\n### {title}\n\n{table}\n" for title, table in sections)
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write(f"\n## {env['date']}\n\n{environment_text(env)}{body}")
