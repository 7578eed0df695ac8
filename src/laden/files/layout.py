"""Where each table's files go: the path template, the three layouts, and path safety.

A template is a relative path under the target's root with four placeholders:
``{table}`` (required), ``{ext}`` (``parquet``, ``csv.gz``, ...), ``{part}`` (a fresh
32-hex-digit id per file written) and ``{partition}`` (``col=value/...`` directories, with
``partition_by``). Nothing else is expanded: no format specs, no attribute access.

Safety: nothing a table name or template says can write outside the root. A template is
refused when it is absolute, holds ``..`` / ``.`` / empty segments, a segment starting with
``.``, a backslash, a ``:`` (URL or drive letter), a %-escape or a control character; a table
name must be one path segment under the same rules. Partition values are %-encoded into
``col=value`` segments, so no value can form ``..`` or ``/``. Every rendered path is checked
again before it is used.
"""

from __future__ import annotations

import enum
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from laden.errors import UsageError

FIELDS = ("table", "ext", "part", "partition")
DEFAULT_TEMPLATE = "{table}.{ext}"
PARTITIONED_TEMPLATE = "{table}/{partition}/part-{part}.{ext}"
#: what pyarrow, Hive and Spark write (and read) for a NULL partition value
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
#: ``{part}``: uuid4().hex
PART_PATTERN = "[0-9a-f]{32}"

_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TEMPLATE_HELP = (
    "a template is a relative path under the root made of {table} (required), {ext}, {part} and {partition}, "
    "e.g. '{table}.{ext}' or '{table}/part-{part}.{ext}'"
)


class Layout(str, enum.Enum):
    """How a table maps to files; decided by the template and ``partition_by``."""

    #: no ``{part}``: exactly one file per table (``{table}.{ext}``)
    SINGLE = "single"
    #: ``{part}``: every load adds a new part file (``{table}/part-{part}.{ext}``)
    PARTS = "parts"
    #: ``partition_by``: one part file per partition value and load (``{table}/col=v/part-{part}.{ext}``)
    HIVE = "hive"


def _segment_problem(segment: str) -> str | None:
    """Why ``segment`` cannot be one path segment, or None."""
    if segment == "":
        return "it is empty"
    if segment in (".", ".."):
        return f"it is {segment!r}"
    for bad in ("/", "\\"):
        if bad in segment:
            return f"it contains {bad!r}"
    escape = _ESCAPE.search(segment)
    if escape:
        return f"it contains the %-escape {escape.group(0)!r}"
    if _CONTROL.search(segment):
        return "it contains a control character"
    if segment.startswith("."):
        return "it starts with '.' (a hidden file, which dataset readers skip)"
    return None


def table_name_problem(name: str) -> str | None:
    """Why table ``name`` cannot be used in a file path, or None when it can."""
    return _segment_problem(name)


def check_column_name(name: str, what: str) -> None:
    """A ``partition_by`` column becomes a ``name=value`` directory: it must be a safe segment without '='."""
    problem = _segment_problem(name) or ("it contains '='" if "=" in name else None)
    if problem:
        raise UsageError(f"{what} {name!r} cannot name a directory: {problem}; partition by another column")


def partition_segment(column: str, value: str | None) -> str:
    """``column=value`` with the value %-encoded (as pyarrow's hive partitioning reads it)."""
    return f"{column}={NULL_PARTITION if value is None else quote(value, safe='')}"


@dataclass(frozen=True)
class Template:
    """A parsed, checked path template: literal text and placeholders, in order."""

    text: str
    #: (literal text, placeholder or None) as :class:`string.Formatter` splits the template
    pieces: tuple[tuple[str, str | None], ...]
    partition_by: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str, partition_by: Sequence[str] = ()) -> Template:
        """Check ``text`` and split it; raises :class:`UsageError` naming the problem."""

        def refuse(reason: str) -> UsageError:
            return UsageError(f"path_template {text!r}: {reason}; {_TEMPLATE_HELP}")

        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise refuse(f"it is not a valid template ({exc})") from None
        pieces: list[tuple[str, str | None]] = []
        for literal, name, spec, conversion in parsed:
            if name is not None and name not in FIELDS:
                raise refuse(f"unknown placeholder {{{name}}}")
            if spec or conversion:
                raise refuse(f"placeholder {{{name}}} cannot have a format spec or conversion")
            pieces.append((literal, name))
        template = cls(text, tuple(pieces), tuple(partition_by))
        literal = "".join(lit for lit, _ in pieces)
        for bad, reason in (("\\", "it contains '\\\\'"), (":", "it contains ':' (a URL or drive letter)")):
            if bad in literal:
                raise refuse(reason)
        escape = _ESCAPE.search(literal)
        if escape:
            raise refuse(f"it contains the %-escape {escape.group(0)!r}")
        if _CONTROL.search(literal):
            raise refuse("it contains a control character")
        fields = template.fields
        if "table" not in fields:
            raise refuse("it does not contain {table}, so every table would write the same file")
        if partition_by and ("partition" not in fields or "part" not in fields):
            raise refuse("with partition_by it needs {partition} (the col=value directories) and {part}")
        if not partition_by and "partition" in fields:
            raise refuse("it uses {partition} but partition_by names no column")
        if "partition" in fields and not template._partition_is_segment():
            raise refuse("{partition} must be a whole directory: '.../{partition}/...'")
        sample = template.render("t", "x", "p", "k=v")
        if sample.startswith("/"):
            raise refuse("it is an absolute path")
        if sample.endswith("/"):
            raise refuse("it ends with '/' (it must name a file)")
        for segment in sample.split("/"):
            if segment in ("", ".", ".."):
                raise refuse(f"it contains a {segment!r} path segment" if segment else "it contains '//'")
            if segment.startswith("."):
                raise refuse("a path segment starts with '.' (hidden files are skipped by dataset readers)")
        return template

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(name for _, name in self.pieces if name)

    @property
    def layout(self) -> Layout:
        if self.partition_by:
            return Layout.HIVE
        return Layout.PARTS if "part" in self.fields else Layout.SINGLE

    def _partition_is_segment(self) -> bool:
        for i, (literal, name) in enumerate(self.pieces):
            if name != "partition":
                continue
            starts = literal.endswith("/") or (i == 0 and literal == "")
            after = self.pieces[i + 1][0] if i + 1 < len(self.pieces) else ""
            if not (starts and after.startswith("/")):
                return False
        return True

    def render(self, table: str, ext: str, part: str = "", partition: str = "") -> str:
        """The relative path of one file (no check: see :func:`check_relative`)."""
        values = {"table": table, "ext": ext, "part": part, "partition": partition}
        return "".join(literal + (values[name] if name else "") for literal, name in self.pieces)

    def pattern(self, table: str, ext: str) -> re.Pattern[str]:
        """Matches the relative paths of the files laden wrote for ``table`` with this template."""
        parts = []
        for literal, name in self.pieces:
            parts.append(re.escape(literal))
            if name == "table":
                parts.append(re.escape(table))
            elif name == "ext":
                parts.append(re.escape(ext))
            elif name == "part":
                parts.append(PART_PATTERN)
            elif name == "partition":
                parts.append("/".join(f"{re.escape(col)}=[^/]*" for col in self.partition_by))
        return re.compile("".join(parts))

    def listing(self, table: str, ext: str) -> tuple[str, int]:
        """Where to look for the table's files: a directory (relative, '' = the root) and a depth."""
        fixed = ""
        for literal, name in self.pieces:
            fixed += literal
            if name in ("part", "partition"):
                break
            if name is not None:
                fixed += table if name == "table" else ext
        directory = fixed.rpartition("/")[0]
        sample = self.render(table, ext, "p", "/".join(f"{c}=v" for c in self.partition_by))
        depth = sample.count("/") - (directory.count("/") + 1 if directory else 0) + 1
        return directory, depth


def check_relative(path: str) -> str:
    """``path`` if it is a clean relative path (no '..', '.', empty or absolute parts); else UsageError."""
    segments = path.split("/")
    if path.startswith("/") or any(s in ("", ".", "..") for s in segments) or "\\" in path:
        raise UsageError(f"refusing to write {path!r}: it is not a plain relative path under the root")
    return path
