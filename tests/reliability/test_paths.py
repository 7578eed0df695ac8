"""Issue 7.8: file targets never write outside their root, also through symbolic links."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa

import laden

DATA = {"customers": pa.table({"id": [1, 2], "name": ["a", "b"]})}


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_a_symlinked_directory_inside_the_root_is_not_written_through(tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    os.symlink(outside, out / "customers")
    report = laden.load(DATA, f"{out}/{{table}}/part-{{part}}.parquet")
    assert not report.ok
    error = report.targets[0].error or ""
    assert "a symbolic link on the way leads outside" in error and str(outside) in error
    assert _tree(outside) == []  # nothing escaped
    assert _tree(out) == ["customers"]  # and nothing was left behind (the link itself is the user's)


def test_a_symlinked_root_is_fine(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "alias")
    assert laden.load(DATA, f"{tmp_path / 'alias'}/").ok
    assert _tree(real) == ["customers.parquet"]


def test_a_symlinked_file_is_replaced_not_written_through(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    os.symlink(victim, out / "customers.parquet")
    assert laden.load(DATA, f"{out}/", strategy="truncate_insert").ok
    assert victim.read_text() == "keep me"
    assert not (out / "customers.parquet").is_symlink()
