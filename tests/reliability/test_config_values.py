"""Issue 7.7: values with YAML metacharacters arrive byte for byte through ``${VAR}`` and never make keys."""

from __future__ import annotations

import pytest

from laden.config import parse_config

HOSTILE = [
    "p@ss:w#rd",
    "x\n    evil: injected",
    "{a: b, c: [d]}",
    "[1, 2]",
    "&anchor *alias",
    "!!python/object/apply:os.system ['echo pwned']",
    "'single' \"double\" `back`",
    "${NESTED}",
    "$${ESCAPED}",
    "trailing space ",
    " leading space",
    "tab\tand\\backslash",
    "ünïcødé ✓ 🔑",
    "-",
    "? key",
    "% | > <",
]

TEXT = """\
datasources:
  db:
    type: postgresql
    connection:
      host: h
      user: "${V_USER}"
      password: "${V_PASSWORD}"
      options: {application_name: "${V_APP:default}"}
"""


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_value_arrives_byte_for_byte_and_makes_no_key(value: str) -> None:
    env = {"V_USER": value, "V_PASSWORD": value, "V_APP": value, "NESTED": "must-not-expand"}
    config = parse_config(TEXT, environ=env)
    assert list(config.datasources) == ["db"] and list(config.targets) == []
    conn = config.datasources["db"].connection
    assert conn.user == value and conn.password == value  # the value is data: never parsed, never expanded
    assert conn.options == (("application_name", value),)
    assert conn.host == "h" and conn.database is None and conn.port is None
