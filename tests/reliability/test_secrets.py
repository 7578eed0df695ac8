"""Issue 7.6: a canary password with URL and YAML metacharacters, given by URL, laden.yaml and
environment variable, through a good load, a wrong password, an unreachable host, a config error
and --debug: it connects where it should and never appears, raw, URL-encoded or base64 encoded."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

CANARY = "C4n@ry:/#%!{]$x"
LADEN = [sys.executable, "-m", "laden.cli"]


def forms(secret: str) -> list[str]:
    return [secret, quote(secret, safe=""), quote(secret), base64.b64encode(secret.encode()).decode()]


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LADEN, *args], capture_output=True, text=True, cwd=cwd, timeout=120, env={**os.environ, **(env or {})}
    )


@pytest.fixture(params=["postgresql", "mysql"])
def canary_url(request: pytest.FixtureRequest, make_db: Any) -> Iterator[str]:
    """A URL of the test database for a user whose password is the canary."""
    url = request.getfixturevalue("postgres_url" if request.param == "postgresql" else "mysql_url")
    db = make_db(url)
    name = urlsplit(url).path.lstrip("/")
    user = f"canary_{name}"[:30]
    escaped = CANARY.replace("'", "''")
    if request.param == "postgresql":
        db.execute(f"CREATE ROLE \"{user}\" LOGIN PASSWORD '{escaped}'")
        db.execute(f'GRANT ALL ON DATABASE "{name}" TO "{user}"')
        db.execute(f'GRANT ALL ON SCHEMA public TO "{user}"')
        db.execute("CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL)")
        db.execute(f'GRANT ALL ON customers TO "{user}"')
    else:
        db.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{escaped}'")
        db.execute(f"GRANT ALL ON `{name}`.* TO '{user}'@'%'")
        db.execute("CREATE TABLE customers (id BIGINT PRIMARY KEY, name VARCHAR(50) NOT NULL)")
    u = urlsplit(url)
    yield f"{u.scheme}://{user}:{quote(CANARY, safe='')}@{u.hostname}:{u.port}/{name}"
    if request.param == "postgresql":  # roles outlive the test database: drop it
        db.execute(f'DROP OWNED BY "{user}"')
        db.execute(f'DROP ROLE "{user}"')
    else:
        db.execute(f"DROP USER '{user}'@'%'")


def test_the_canary_never_shows(canary_url: str, tmp_path: Path) -> None:
    data = tmp_path / "customers.csv"
    data.write_text("id,name\n1,Ann\n2,\n")  # row 2 is a bad row (NULL name): a rejects file is written
    u = urlsplit(canary_url)
    scheme, user, host, port, db = u.scheme, u.username, u.hostname, u.port, u.path.lstrip("/")
    (tmp_path / "laden.yaml").write_text(
        f"datasources:\n  shop:\n    type: {scheme}\n    connection: {{host: {host}, port: {port}, user: '{user}', "
        f"database: '{db}', password: '${{CANARY_PW}}'}}\n"
        f"  wrong:\n    type: {scheme}\n    connection: {{host: {host}, port: {port}, user: '{user}', "
        f"database: '{db}', password: 'not-it'}}\n"
    )
    env = {"CANARY_PW": CANARY, "DATABASE_URL": canary_url}
    rejects = tmp_path / "rejects.jsonl"
    wrong_url = canary_url.replace(quote(CANARY, safe=""), quote(CANARY[::-1], safe=""))
    unreachable = f"{scheme}://{user}:{quote(CANARY, safe='')}@127.0.0.1:1/{db}"
    runs = {
        "url": (["load", str(data), "--to", canary_url, "--on-error", "reject", "--rejects", str(rejects)], 0),
        "config": (["load", str(data), "--to", "shop", "--strategy", "upsert", "--on-error", "reject"], 0),
        "config --debug": (["load", str(data), "--to", "shop", "--strategy", "upsert", "--debug"], 1),
        "env url": (["inspect", "shop", "--json"], 0),
        "wrong password": (["load", str(data), "--to", wrong_url, "--debug"], 1),
        "wrong in config": (["config", "check", "--debug"], 1),
        "unreachable": (["load", str(data), "--to", unreachable, "--debug", "--json"], 1),
        "query": (["query", "SELECT 1", "--datasource", "shop", "--json", "--debug"], 0),
    }
    seen: list[str] = []
    for what, (args, code) in runs.items():
        proc = run(args, tmp_path, env)
        assert proc.returncode == code, (what, proc.stdout, proc.stderr)
        seen += [proc.stdout, proc.stderr]
    (tmp_path / "laden.yaml").write_text("datasources:\n  shop: {type: " + scheme + ", connection: {port: x}}\n")
    proc = run(["load", str(data), "--to", "shop", "--debug"], tmp_path, env)  # a config error
    assert proc.returncode == 2
    seen += [proc.stdout, proc.stderr]
    files = [p.read_text(errors="replace") for p in tmp_path.iterdir() if p.is_file() and p.suffix == ".jsonl"]
    assert rejects.exists() and files
    leaks = [(f, text[:200]) for text in seen + files for f in forms(CANARY) if f in text]
    assert leaks == []
