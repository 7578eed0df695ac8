"""Every target kind from the command line, and three named targets in one load (issue 5, 6 and 12)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from helpers import create_shop, rows

try:
    from .httpserver import ApiServer
    from .s3server import s3_bucket, s3_client, s3_endpoint, s3_env
except ImportError:  # pragma: no cover - run from tests/
    from httpserver import ApiServer  # type: ignore[no-redef]
    from s3server import s3_bucket, s3_client, s3_endpoint, s3_env  # type: ignore[no-redef]  # noqa: F401

LADEN = [sys.executable, "-m", "laden.cli"]
CUSTOMERS = pa.table({"id": [1, 2, 3], "name": ["Ann", "Bøb", "Cy"], "email": ["a@x", None, "c@x"]})


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LADEN, *args], capture_output=True, text=True, timeout=300, env=dict(os.environ))


@pytest.fixture
def api() -> Iterator[ApiServer]:
    server = ApiServer().start()
    yield server
    server.stop()


def _data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    pq.write_table(CUSTOMERS, data / "customers.parquet")
    return data


def test_load_to_a_directory_with_format_and_compression(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run("load", str(_data(tmp_path)), "--to", f"{out}/", "--format", "parquet", "--compression", "zstd")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    written = out / "customers.parquet"
    assert pq.read_table(written).equals(CUSTOMERS)
    assert pq.ParquetFile(written).metadata.row_group(0).column(0).compression == "ZSTD"
    assert sorted(p.name for p in out.iterdir()) == ["customers.parquet"]  # nothing temporary left


def test_load_to_s3_from_the_command_line(tmp_path: Path, s3_bucket: str, s3_env: str) -> None:
    proc = run("load", str(_data(tmp_path)), "--to", f"s3://{s3_bucket}/exports/", "--format", "csv", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["targets"][0]["tables"][0]["rows_loaded"] == 3
    s3 = s3_client(s3_env)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket).get("Contents", [])]
    assert keys == ["exports/customers.csv"]
    body = s3.get_object(Bucket=s3_bucket, Key="exports/customers.csv")["Body"].read()
    # laden's CSV convention both ways: an unquoted empty field is NULL, a quoted "" the empty string
    opts = pacsv.ConvertOptions(
        column_types=CUSTOMERS.schema, strings_can_be_null=True, quoted_strings_can_be_null=False
    )
    back = pacsv.read_csv(io.BytesIO(body), convert_options=opts)
    assert back.equals(CUSTOMERS)


def test_three_named_targets_one_report_and_a_failing_webhook(
    postgres_url: str, make_db: Any, tmp_path: Path, s3_bucket: str, s3_env: str, api: ApiServer
) -> None:
    db = make_db(postgres_url)
    create_shop(db)
    api.faults.status(400, times=1000)  # the webhook refuses everything, without retries
    config = tmp_path / "laden.yaml"
    config.write_text(
        f"""\
datasources:
  shop: {{type: postgresql, connection: {{url: "${{SHOP_URL}}"}}}}
targets:
  warehouse: {{datasource: shop}}
  s3-exports: {{type: file, url: "s3://{s3_bucket}/exports/", format: jsonl}}
  webhook: {{type: http, url: "{api.url}/hooks/{{table}}", auth: {{type: bearer, token_env: HOOK_TOKEN}}}}
"""
    )
    os.environ["SHOP_URL"] = postgres_url
    os.environ["HOOK_TOKEN"] = "canary-token-7f3a"
    try:
        proc = run(
            "load", str(_data(tmp_path)), "--to", "warehouse", "--to", "s3-exports", "--to", "webhook",
            "--config", str(config), "--json",
        )  # fmt: skip
    finally:
        del os.environ["SHOP_URL"], os.environ["HOOK_TOKEN"]
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert [(t["target"], t["status"]) for t in report["targets"]] == [
        ("warehouse", "ok"),
        ("s3-exports", "ok"),
        ("webhook", "failed"),
    ]
    assert "400" in report["targets"][2]["error"]
    assert rows(db, "customers") == [(1, "Ann", "a@x"), (2, "Bøb", None), (3, "Cy", "c@x")]
    s3 = s3_client(s3_env)
    body = s3.get_object(Bucket=s3_bucket, Key="exports/customers.jsonl")["Body"].read().decode()
    assert [json.loads(line) for line in body.splitlines()] == CUSTOMERS.to_pylist()
    assert api.ids("customers") == {}
    assert "canary-token-7f3a" not in proc.stdout + proc.stderr
