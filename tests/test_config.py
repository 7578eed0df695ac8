"""laden.yaml: substitution, validation messages, named targets, config check, validate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pytest

import laden
from helpers import create_shop, rows
from laden.config import ConfigError, parse_config
from laden.errors import UsageError

LADEN = [sys.executable, "-m", "laden.cli"]


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [*LADEN, *args], capture_output=True, text=True, cwd=cwd, timeout=300, env={**os.environ, **(env or {})}
    )


# -- parsing and substitution -------------------------------------------------------------------


def test_variables_are_substituted_after_parsing_byte_for_byte() -> None:
    text = textwrap.dedent(
        """\
        datasources:
          db:
            type: postgresql
            connection:
              host: "${PGHOST_T:localhost}"
              port: "${PGPORT_T:5432}"
              user: app
              password: "${PW_T}"
              database: "$${NOT_A_VAR}"
        """
    )
    secret = "p@ss:w#rd'\"{x}$"
    config = parse_config(text, environ={"PW_T": secret, "PGPORT_T": "6543"})
    conn = config.datasources["db"].connection
    assert conn.password == secret
    assert conn.host == "localhost" and conn.port == 6543
    assert conn.database == "${NOT_A_VAR}"
    assert secret not in repr(config)


def test_a_missing_variable_is_named_with_file_line_and_key() -> None:
    text = "datasources:\n  db:\n    type: mysql\n    connection:\n      host: h\n      password: ${NOPE_T}\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, Path("laden.yaml"), environ={})
    assert str(info.value) == (
        "laden.yaml:6: datasources.db.connection.password: environment variable ${NOPE_T} is not set "
        "and has no default (${NOPE_T:default})"
    )


def test_every_problem_is_reported_with_what_was_expected() -> None:
    text = textwrap.dedent(
        """\
        datasources:
          db:
            type: oracle
            connection: {host: h, port: abc, hots: x}
            pool: {min_size: 5, max_size: 2}
        targets:
          w: {datasource: nope, strategy: merge}
        """
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, Path("c.yaml"), environ={})
    assert info.value.problems == [
        "c.yaml:3: datasources.db.type: expected one of postgresql, mysql, sqlite, duckdb, got 'oracle'",
        "c.yaml:4: datasources.db.connection.hots: unknown key (did you mean 'host'?); expected one of: host, port, "
        "database, user, "
        "password, path, url, options",
        "c.yaml:4: datasources.db.connection.port: expected a whole number, got 'abc'",
        "c.yaml:5: datasources.db.pool.min_size: min_size 5 is larger than max_size 2",
        "c.yaml:7: targets.w.datasource: no datasource 'nope'; defined: db",
        "c.yaml:7: targets.w.strategy: expected one of append, truncate_insert, upsert, got 'merge'",
    ]
    assert str(info.value).startswith("6 problems in the configuration:\n  c.yaml:3: ")


def test_a_misspelt_name_is_answered_with_the_likely_one() -> None:
    text = textwrap.dedent(
        """\
        datasources:
          shop: {type: sqlite, connection: {path: shop.db}}
        targets:
          warehouse: {datasource: shopp, batch_sise: 10}
        """
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, Path("c.yaml"), environ={})
    assert info.value.problems == [
        "c.yaml:4: targets.warehouse.batch_sise: unknown key (did you mean 'batch_size'?); expected one of: "
        "datasource, database, type, strategy, batch_size, on_error, max_rejects, keys, tables, description, "
        "table_mappings, respect_fk_order",
        "c.yaml:4: targets.warehouse.datasource: no datasource 'shopp' (did you mean 'shop'?); defined: shop",
    ]
    config = parse_config(text.replace("shopp, batch_sise: 10", "shop"), Path("c.yaml"), environ={})
    with pytest.raises(UsageError) as caught:
        config.target("warehous")
    assert str(caught.value) == (
        "'warehous' is neither a target URL nor a target in c.yaml (did you mean 'warehouse'?); targets there: "
        "warehouse; a URL looks like postgresql://host/db"
    )
    with pytest.raises(UsageError, match=r"^no datasource 'shp' in c.yaml \(did you mean 'shop'\?\); defined: shop$"):
        config.datasource("shp")


def test_a_name_yaml_reads_as_boolean_null_or_number_must_be_quoted() -> None:
    """PyYAML reads `on:`, `no:`, `~:` and `010:` as true, false, null and 8: they used to become
    the names 'True', 'False', 'None' and '8', silently."""
    text = textwrap.dedent(
        """\
        datasources:
          "on": {type: sqlite, connection: {path: a.db}}
          on: {type: sqlite, connection: {path: b.db}}
          ~: {type: sqlite, connection: {path: c.db}}
        targets:
          010: {datasource: "on"}
          w: {datasource: "on", tables: [orders, 010, no]}
        """
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, Path("c.yaml"), environ={})
    assert [p.split(": ", 1)[1] for p in info.value.problems] == [
        "datasources.True: YAML reads this name as the boolean true, not as text; put the name in quotes",
        "datasources.None: YAML reads this name as null, not as text; put the name in quotes",
        "targets.8: YAML reads this name as the number 8, not as text; put the name in quotes",
        "targets.w.tables.1: YAML reads this name as the number 8, not as text; put it in quotes",
        "targets.w.tables.2: YAML reads this name as the boolean false, not as text; put it in quotes",
    ]
    text = text.replace("  on:", '  "yes":').replace("~:", '"off":').replace("010:", '"t010":')
    quoted = parse_config(text.replace("010, no]", '"010", "no"]'), None)
    assert sorted(quoted.datasources) == ["off", "on", "yes"] and list(quoted.targets) == ["t010", "w"]
    assert quoted.targets["w"].tables == ("orders", "010", "no")


def test_not_yaml_and_not_found() -> None:
    with pytest.raises(ConfigError, match=r"^c.yaml: not valid YAML: "):
        parse_config("datasources: [", Path("c.yaml"))
    with pytest.raises(ConfigError, match=r"^/nonexistent/laden.yaml: configuration file not found$"):
        laden.load_config("/nonexistent/laden.yaml")


# -- hostile files (found by tests/reliability/test_fuzz.py): a ConfigError naming the file, fast -------------

LAUGHS = "x: &l0 [a, a, a, a, a, a, a, a, a, a]\n" + "".join(
    f"x{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 10)
)  # a billion values once the aliases are expanded


@pytest.mark.parametrize(
    "text, message",
    [
        (LAUGHS, "c.yaml: aliases (*name) repeat more than 100,000 values"),
        ("datasources: &a [*a]\n", "c.yaml: line 1: an alias (*name) refers to a list or mapping that contains it"),
        ("a: &a {b: *a}\n", "c.yaml: line 1: an alias (*name) refers to a list or mapping that contains it"),
        ("datasources: " + "[" * 50_000 + "]" * 50_000, "c.yaml:1: not valid YAML: lists and mappings are nested"),
        ("a:\n" + "".join("  " * i + "- \n" for i in range(1, 2000)), "c.yaml: not valid YAML: lists and mappings"),
        ("datasources: " + "{a: " * 5000 + "}" * 5000, "c.yaml:1: not valid YAML: lists and mappings are nested"),
        ("a: 1\x00\n", "c.yaml: not valid YAML: unacceptable character #x0000"),
        ("a: !!python/object/apply:os.mkdir [pwned]\n", "c.yaml: not valid YAML: could not determine a constructor"),
        ("a: !!int ~\n", "c.yaml: not valid YAML: !!int '~' is not a valid !!int value"),
        ("a: [!!bool x]\n", "c.yaml: not valid YAML: !!bool 'x' is not a valid !!bool value"),
        ("a: !!timestamp 2001-13-45\n", "c.yaml: not valid YAML: !!timestamp '2001-13-45' is not a valid"),
        ("a: " + "9" * 5000 + "\n", "c.yaml: not valid YAML: !!int '99999"),  # more digits than int() takes
    ],
)
def test_hostile_yaml_is_refused_quickly(text: str, message: str) -> None:
    started = time.monotonic()
    with pytest.raises(ConfigError) as info:
        parse_config(text, Path("c.yaml"), environ={})
    assert str(info.value).startswith(message)
    assert time.monotonic() - started < 3
    assert not Path("pwned").exists()


def test_nesting_up_to_the_limit_is_fine() -> None:
    text = "generators:\n  t.c: {values: " + "[" * 60 + "1" + "]" * 60 + "}\n"
    with pytest.raises(ConfigError, match=r"^c.yaml:2: generators.t.c.values: expected a list of values"):
        parse_config(text, Path("c.yaml"), environ={})  # parsed: only the value is wrong
    brackets = "[" * 100  # in a quoted string or a comment: not nesting
    text = f'datasources:\n  db: {{type: sqlite, connection: {{path: x}}, description: "{brackets}"}}  # {brackets}\n'
    assert parse_config(text, Path("c.yaml")).datasources["db"].description == brackets


@pytest.mark.parametrize(
    "connection, message",
    [
        ("{host: h, port: 65536}", "connection.port: expected a number <= 65535, got 65536"),
        ('{url: "postgresql://[::1/db"}', "connection.url: bad target URL 'postgresql://[::1/db': Invalid IPv6 URL"),
    ],
)
def test_values_that_could_not_be_used_are_refused(connection: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(f"datasources:\n  db: {{type: postgresql, connection: {connection}}}\n", Path("c.yaml"))
    assert str(info.value) == f"c.yaml:2: datasources.db.{message}"


@pytest.mark.parametrize("timeout", [".nan", ".inf", "-.inf", "nan", "0"])
def test_a_connect_timeout_must_be_a_positive_finite_number(timeout: str) -> None:
    text = (
        f"datasources:\n  db:\n    type: sqlite\n    connection: {{path: x}}\n    pool: {{connect_timeout: {timeout}}}"
    )
    with pytest.raises(
        ConfigError, match=r"^c.yaml:5: datasources.db.pool.connect_timeout: expected a positive number"
    ):
        parse_config(text, Path("c.yaml"))


def test_a_variable_name_with_a_lone_surrogate_is_not_set_and_the_message_prints() -> None:
    text = 'datasources:\n  db: {type: sqlite, connection: {path: "${\\ud800}"}}\n'
    with pytest.raises(ConfigError) as info:
        parse_config(text, Path("c.yaml"), environ=os.environ)  # os.environ cannot even look such a name up
    message = str(info.value)
    assert "environment variable ${\\ud800} is not set" in message
    message.encode("utf-8")  # printable: the surrogate is shown as its escape


# -- named targets against real servers ----------------------------------------------------------------


def _parts(url: str) -> dict[str, str]:
    u = urlsplit(url)
    return {
        "HOST": u.hostname or "",
        "PORT": str(u.port),
        "USER": unquote(u.username or ""),
        "PASSWORD": unquote(u.password or ""),
        "DB": unquote(u.path.lstrip("/")),
    }


CONFIG = """\
datasources:
  bank:
    type: {engine}
    description: Demo bank
    connection:
      host: "${{T_HOST}}"
      port: "${{T_PORT}}"
      database: "${{T_DB}}"
      user: "${{T_USER}}"
      password: "${{T_PASSWORD}}"
    pool: {{min_size: 1, max_size: 3, connect_timeout: 5}}
    databases: [{cust}, {acct}]
  offline:
    type: postgresql
    enabled: false
    connection: {{host: 127.0.0.1, port: 1, user: x}}
targets:
  warehouse: {{datasource: bank, database: {cust}, strategy: upsert, batch_size: 1}}
  ledger: {{datasource: bank, database: {acct}}}
"""


@pytest.fixture(params=["postgresql", "mysql"])
def bank(
    request: pytest.FixtureRequest, make_db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """A server database with two logical databases, and a laden.yaml naming them."""
    engine = request.param
    url = request.getfixturevalue("postgres_url" if engine == "postgresql" else "mysql_url")
    parts = _parts(url)
    cust, acct = f"{parts['DB']}_cust", f"{parts['DB']}_acct"
    admin = make_db(url)
    for name in (cust, acct):
        admin.execute(f"CREATE {'SCHEMA' if engine == 'postgresql' else 'DATABASE'} {admin.quote(name)}")
    q = admin.quote
    for name in (cust, acct):
        admin.execute(f"CREATE TABLE {q(name)}.{q('customers')} (id bigint PRIMARY KEY, name varchar(50) NOT NULL)")
    for key, value in parts.items():
        monkeypatch.setenv(f"T_{key}", value)
    path = tmp_path / "laden.yaml"
    path.write_text(CONFIG.format(engine=engine, cust=cust, acct=acct))
    yield type("Bank", (), {"engine": engine, "url": url, "cust": cust, "acct": acct, "db": admin, "config": path})
    if engine == "mysql":
        for name in (cust, acct):
            admin.execute(f"DROP DATABASE IF EXISTS {q(name)}")


def test_load_into_a_named_target_lands_in_its_logical_database(bank: Any, tmp_path: Path) -> None:
    q = bank.db.quote
    data = tmp_path / "customers.csv"
    data.write_text("id,name\n1,Ann\n2,Bob\n")
    proc = run("load", str(data), "--to", "warehouse", "--to", "ledger", "--config", str(bank.config), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert [t["target"] for t in report["targets"]] == ["warehouse", "ledger"]
    assert [t["strategy"] for t in report["targets"][0]["tables"]] == ["upsert"]  # from laden.yaml
    for name in (bank.cust, bank.acct):
        assert bank.db.query(f"SELECT id, name FROM {q(name)}.{q('customers')} ORDER BY id") == [(1, "Ann"), (2, "Bob")]
    # the target's strategy (upsert) applies: the same file again changes nothing and fails nowhere
    data.write_text("id,name\n2,Bea\n")
    proc = run("load", str(data), "--to", "warehouse", "--config", str(bank.config))
    assert proc.returncode == 0, proc.stderr
    assert bank.db.query(f"SELECT id, name FROM {q(bank.cust)}.{q('customers')} ORDER BY id") == [
        (1, "Ann"),
        (2, "Bea"),
    ]
    # an explicit flag beats laden.yaml: append of an existing key fails, and names the target
    proc = run("load", str(data), "--to", "warehouse", "--config", str(bank.config), "--strategy", "append")
    assert proc.returncode == 1 and "warehouse" in proc.stdout
    assert bank.engine + "://" not in proc.stdout + proc.stderr or "***" in proc.stdout


def test_config_check_reports_each_datasource_and_target(bank: Any) -> None:
    proc = run("config", "check", "--config", str(bank.config))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [
        f"config: {bank.config}",
        "datasources:",
        "  bank: ok",
        "  offline: disabled (not checked)",
        "targets:",
        "  warehouse: ok",
        "  ledger: ok",
        "all valid and reachable",
    ]
    # one logical database gone: exit 1, the target and the database are named
    bank.db.execute(
        f"DROP {'SCHEMA' if bank.engine == 'postgresql' else 'DATABASE'} {bank.db.quote(bank.acct)}"
        + (" CASCADE" if bank.engine == "postgresql" else "")
    )
    proc = run("config", "check", "--config", str(bank.config), "--json")
    assert proc.returncode == 1
    result = json.loads(proc.stdout)
    assert result["valid"] is False
    by_name = {r["target"]: r for r in result["targets"]}
    assert by_name["warehouse"]["valid"] is True
    word = "schema" if bank.engine == "postgresql" else "database"
    assert by_name["ledger"]["errors"][0].startswith(f"ledger: {word} {bank.acct!r} does not exist")
    assert _parts(bank.url)["PASSWORD"] not in proc.stdout + proc.stderr


def test_validate_and_validate_databases(bank: Any) -> None:
    result = laden.validate("warehouse", config=str(bank.config))
    assert (result.valid, result.errors) == (True, [])
    bad = laden.validate("nowhere", config=str(bank.config))
    assert not bad.valid and "'nowhere' is neither a target URL nor a target in" in bad.errors[0]
    off = laden.validate("offline", config=str(bank.config))
    assert off.errors == ["datasource 'offline' uses datasource 'offline', which is disabled (enabled: false)"]
    check = laden.validate_databases([bank.cust, bank.acct], config=str(bank.config))
    assert check.same_datasource and check.shared == ("bank",)
    check = laden.validate_databases([bank.cust, "elsewhere"], config=str(bank.config))
    assert not check.same_datasource and check.unknown == ("elsewhere",)
    assert check.datasources == {bank.cust: ("bank",)}


def test_unreachable_datasource_fails_the_check_without_the_password(tmp_path: Path) -> None:
    path = tmp_path / "laden.yaml"
    path.write_text(
        "datasources:\n  gone:\n    type: postgresql\n    connection: {host: 127.0.0.1, port: 1, user: u, "
        "password: 'S3cr@t:/#pw'}\n"
    )
    proc = run("config", "check", "--config", str(path))
    assert proc.returncode == 1
    assert "  gone: FAILED" in proc.stdout and "cannot connect to gone" in proc.stdout
    assert "S3cr@t" not in proc.stdout + proc.stderr


def test_config_errors_exit_2_in_one_or_two_lines(tmp_path: Path) -> None:
    path = tmp_path / "laden.yaml"
    path.write_text("datasources:\n  db: {type: sqlite}\n")
    proc = run("config", "check", "--config", str(path))
    assert proc.returncode == 2
    assert proc.stdout.splitlines() == [
        f"config: {path}",
        "invalid:",
        f"  {path}:2: datasources.db.connection: is required (host, port, database, user, password; or path; or url)",
    ]
    proc = run("load", "x.csv", "--to", "somewhere", "--config", str(path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2


def test_sqlite_named_target_and_plain_urls_together(sqlite_url: str, make_db: Any, tmp_path: Path) -> None:
    db = make_db(sqlite_url)
    create_shop(db)
    path = tmp_path / "laden.yaml"
    file = urlsplit(sqlite_url).path[1:]
    path.write_text(f"datasources:\n  local: {{type: sqlite, connection: {{path: '{unquote(file)}'}}}}\n")
    report = laden.load(
        {"customers": pa.table({"id": [1], "name": ["A"], "email": ["a@x"]})}, "local", config=str(path)
    )
    assert report.ok and report.targets[0].target == "local"
    assert rows(db, "customers") == [(1, "A", "a@x")]


def test_help_documents_exit_codes() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    assert "exit codes:\n  0  everything succeeded\n  1  a load" in proc.stdout
    assert "2  usage or configuration error" in proc.stdout


# -- queries through the configuration ---------------------------------------------------------------


def test_query_command_in_a_logical_database(bank: Any) -> None:
    q = bank.db.quote
    bank.db.execute(f"INSERT INTO {q(bank.cust)}.{q('customers')} VALUES (1, 'Ann'), (2, 'Bob'), (3, 'Cy')")
    bank.db.execute(f"INSERT INTO {q(bank.acct)}.{q('customers')} VALUES (9, 'Zed')")
    cfg = ("--config", str(bank.config))
    sql = "SELECT id, name FROM customers ORDER BY id"
    proc = run("query", sql, "--datasource", "bank", "--database", bank.cust, "--json", *cfg)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert (result["success"], result["columns"], result["rows"]) == (
        True,
        ["id", "name"],
        [[1, "Ann"], [2, "Bob"], [3, "Cy"]],
    )
    proc = run("query", sql, "--datasource", "ledger", "--csv", *cfg)  # a target: its own database
    assert (proc.returncode, proc.stdout) == (0, "id,name\n9,Zed\n")
    proc = run("query", sql, "--datasource", "bank", "--database", bank.cust, "--limit", "2", *cfg)
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[:4] == ["id  name", "--  ----", "1   Ann", "2   Bob"]
    assert "(2 rows (more rows not fetched: --limit)" in proc.stdout
    # read-only unless --write
    insert = "INSERT INTO customers VALUES (4, 'Dee')"
    proc = run("query", insert, "--datasource", "warehouse", *cfg)
    assert proc.returncode == 1
    assert proc.stderr.startswith(
        "laden: error: warehouse: the query tried to write, and queries are read-only; pass --write (write=True)"
    )
    assert bank.db.query(f"SELECT count(*) FROM {q(bank.cust)}.{q('customers')}")[0][0] == 3
    proc = run("query", insert, "--datasource", "warehouse", "--write", *cfg)
    assert proc.returncode == 0, proc.stderr
    assert bank.db.query(f"SELECT count(*) FROM {q(bank.cust)}.{q('customers')}")[0][0] == 4
    # a database the datasource does not declare is a usage error
    proc = run("query", sql, "--datasource", "bank", "--database", "elsewhere", *cfg)
    assert proc.returncode == 2 and "'elsewhere' is not a database of datasource 'bank'" in proc.stderr


def test_python_query_twice_and_result_fields(bank: Any) -> None:
    for _ in range(2):  # the module must not shadow the function after the first call
        result = laden.query("SELECT 1 AS one", datasource="warehouse", config=str(bank.config))
        assert (result.success, result.columns, result.rows, result.row_count, result.error) == (
            True,
            ["one"],
            [(1,)],
            1,
            None,
        )
        assert result.execution_time_ms >= 0


def test_config_is_found_by_env_var_then_working_directory(sqlite_url: str, make_db: Any, tmp_path: Path) -> None:
    db = make_db(sqlite_url)
    create_shop(db)
    file = unquote(urlsplit(sqlite_url).path[1:])
    text = f"datasources:\n  local: {{type: sqlite, connection: {{path: '{file}'}}}}\n"
    (tmp_path / "elsewhere.yaml").write_text(text)
    proc = run("inspect", "local", "--json", env={"LADEN_CONFIG": str(tmp_path / "elsewhere.yaml")})
    assert proc.returncode == 0, proc.stderr
    assert "customers" in [t["name"] for t in json.loads(proc.stdout)["tables"]]
    workdir = tmp_path / "project"
    workdir.mkdir()
    (workdir / "laden.yaml").write_text(text)
    proc = run("inspect", "local", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    proc = run("inspect", "local", cwd=tmp_path)  # no laden.yaml here and no variable: the name is unknown
    assert proc.returncode == 2
    assert "'local' is not a target URL or path, and there is no laden.yaml to name it in" in proc.stderr
