"""Issue 7.3 (first part): an unterminated quote must not swallow the rest of a CSV file, compressed or not."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

import laden

CLOSED = {  # content, rows
    "quoted last value": (b'id,name\n1,a\n2,"b"\n', 2),
    "no final newline": (b"id,name\n1,a\n2,b", 2),
    "quoted newline and doubled quote at the end": (b'id,name\n1,"x\ny"\n2,"q""r"', 2),
    "value ending in a newline": (b'id,name\n1,"x\n"\n', 1),
    "inch mark in an unquoted value": (b'id,name\n1,12" pizza\n', 1),
}
OPEN = {  # content, row, column
    "quote opened in row 1": (b'id,name\n1,"a\n2,b\n', 1, "name"),
    "quote opened in the last row": (b'id,name\n1,a\n2,"q""r\n', 2, "name"),
    "quote opened in the first column: too few fields": (b'id,name\n1,a\n"2,b\n3,c\n', 2, "id"),
}


def _table(sqlite_url: str, make_db: Any) -> Any:
    db = make_db(sqlite_url)
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    return db


@pytest.mark.parametrize("case", list(CLOSED))
def test_well_quoted_files_load(case: str, sqlite_url: str, make_db: Any, tmp_path: Path) -> None:
    db = _table(sqlite_url, make_db)
    path = tmp_path / "t.csv"
    content, rows = CLOSED[case]
    path.write_bytes(content)
    report = laden.load(str(path), sqlite_url)
    assert report.ok, str(report)
    assert db.count("t") == rows


@pytest.mark.parametrize("case", list(OPEN))
@pytest.mark.parametrize("mode", ["fail", "reject"])
@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_an_unterminated_quote_is_an_error_naming_file_and_row(
    case: str, mode: str, suffix: str, sqlite_url: str, make_db: Any, tmp_path: Path
) -> None:
    db = _table(sqlite_url, make_db)
    content, row, column = OPEN[case]
    path = tmp_path / f"t{suffix}"
    path.write_bytes(gzip.compress(content) if suffix.endswith(".gz") else content)
    report = laden.load(str(path), sqlite_url, on_error=mode)
    assert not report.ok
    assert report.targets[0].error == (
        f"{path}: data row {row}, column {column!r}: a quoted value is never closed, so the rest of the file would "
        'be read as one value; add the missing closing " (or double a " inside a quoted value: "")'
    )
    assert db.count("t") == 0  # nothing committed


@pytest.mark.parametrize("case", list(CLOSED))
def test_well_quoted_compressed_files_load(case: str, sqlite_url: str, make_db: Any, tmp_path: Path) -> None:
    db = _table(sqlite_url, make_db)
    path = tmp_path / "t.csv.gz"
    content, rows = CLOSED[case]
    path.write_bytes(gzip.compress(content))
    report = laden.load(str(path), sqlite_url)
    assert report.ok, str(report)
    assert db.count("t") == rows
