"""What a file target is: a typed :class:`FileSpec`, made from a URL or from ``laden.yaml``.

``--to out/``, ``--to s3://bucket/exports/``, ``--to 'out/{table}.csv.gz'`` (a template in
the URL: the format and compression follow from its extension) or, in ``laden.yaml``::

    targets:
      exports:
        type: file
        url: s3://bucket/exports/          # or path: out/
        format: csv                        # csv | jsonl | json | parquet (default parquet)
        compression: gzip                  # parquet: snappy (default) | zstd | gzip | none;
                                           # text: none (default) | gzip | zstd
        path_template: "{table}/part-{part}.{ext}"
        partition_by: [country]
        csv: {header: true, delimiter: ",", quote: needed, null: ""}   # quote: needed | all | none
        row_group_size: 100000             # Parquet only
        storage_options: {client_kwargs: {endpoint_url: "${S3_URL}"}}   # passed to fsspec

For ``s3://`` roots the endpoint and region come from ``AWS_ENDPOINT_URL_S3`` /
``AWS_ENDPOINT_URL`` and ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` unless ``storage_options``
set them; credentials come from botocore's usual chain (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, profiles, instance roles).
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from laden.config import Reader
from laden.errors import UsageError
from laden.files.layout import DEFAULT_TEMPLATE, PARTITIONED_TEMPLATE, Layout, Template, check_column_name
from laden.urls import mask_url

__all__ = [
    "Compression",
    "CsvOptions",
    "FileFormat",
    "FileSpec",
    "Quoting",
    "file_spec_from_url",
    "is_file_target",
    "read_file_spec",
]

#: URL schemes that name a file target (fsspec protocols); every other ``scheme://`` is not one
FILE_SCHEMES = ("s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "memory", "file")


class FileFormat(str, enum.Enum):
    CSV = "csv"
    JSONL = "jsonl"
    JSON = "json"
    PARQUET = "parquet"


class Compression(str, enum.Enum):
    NONE = "none"
    #: Parquet only
    SNAPPY = "snappy"
    GZIP = "gzip"
    ZSTD = "zstd"


class Quoting(str, enum.Enum):
    """When CSV values are enclosed in ``"`` (pyarrow's quoting styles)."""

    #: strings (and headers) are quoted, numbers, dates and NULLs are not
    NEEDED = "needed"
    #: every non-NULL value is quoted
    ALL = "all"
    #: nothing is quoted; a value holding the delimiter, a quote or a line break fails the load
    NONE = "none"


_CODECS = {
    FileFormat.PARQUET: (Compression.SNAPPY, Compression.ZSTD, Compression.GZIP, Compression.NONE),
    FileFormat.CSV: (Compression.NONE, Compression.GZIP, Compression.ZSTD),
    FileFormat.JSONL: (Compression.NONE, Compression.GZIP, Compression.ZSTD),
    FileFormat.JSON: (Compression.NONE, Compression.GZIP, Compression.ZSTD),
}
_CODEC_SUFFIX = {Compression.GZIP: "gz", Compression.ZSTD: "zst"}
_SUFFIX_CODEC = {
    ".gz": Compression.GZIP, ".gzip": Compression.GZIP, ".zst": Compression.ZSTD, ".zstd": Compression.ZSTD,
}  # fmt: skip
_SUFFIX_FORMAT = {
    ".csv": FileFormat.CSV, ".jsonl": FileFormat.JSONL, ".ndjson": FileFormat.JSONL, ".json": FileFormat.JSON,
    ".parquet": FileFormat.PARQUET, ".pq": FileFormat.PARQUET,
}  # fmt: skip
_SECRET_KEY = re.compile(r"secret|password|passwd|token|credential|key|sas|signature|connection_string", re.I)


class SpecError(UsageError):
    """A setting of a file target is wrong; ``key`` is its key in ``laden.yaml`` (``csv.delimiter``)."""

    def __init__(self, message: str, key: str) -> None:
        self.key = key
        super().__init__(message)


@dataclass(frozen=True)
class CsvOptions:
    header: bool = True
    #: one character, not '"' nor a line break
    delimiter: str = ","
    quoting: Quoting = Quoting.NEEDED
    #: the text of a NULL (default: an empty unquoted field; an empty string is then written "")
    null: str = ""

    def __post_init__(self) -> None:
        if len(self.delimiter) != 1 or self.delimiter in '"\r\n':
            raise SpecError(
                f"csv delimiter {self.delimiter!r}: expected one character other than '\"' and line breaks",
                "csv.delimiter",
            )
        bad = [c for c in ('"', self.delimiter, "\n", "\r") if c in self.null]
        if bad:
            raise SpecError(
                f"csv null marker {self.null!r} contains {bad[0]!r}; choose a marker without quotes, "
                "the delimiter or line breaks (e.g. '' or '\\N')",
                "csv.null",
            )


@dataclass(frozen=True, repr=False)
class FileSpec:
    """Where and how a file target writes. Checked when made: a bad setting is a :class:`UsageError`."""

    #: a local directory or an fsspec URL (``s3://bucket/prefix``, ``gs://``, ``az://``, ``memory://``)
    root: str
    format: FileFormat = FileFormat.PARQUET
    #: None: the format's default (snappy for Parquet, none for text)
    compression: Compression | None = None
    #: None: ``{table}.{ext}``, or ``{table}/{partition}/part-{part}.{ext}`` with ``partition_by``
    path_template: str | None = None
    partition_by: tuple[str, ...] = ()
    csv: CsvOptions = field(default_factory=CsvOptions)
    #: Parquet rows per row group; None: one row group per batch
    row_group_size: int | None = None
    #: passed to fsspec as is; may hold credentials (never shown, see :meth:`secrets`)
    storage_options: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.root, str) or not self.root.strip():
            raise SpecError("a file target needs a root: a directory or a URL such as s3://bucket/prefix/", "url")
        object.__setattr__(self, "format", _enum(FileFormat, self.format, "format"))
        if self.compression is not None:
            object.__setattr__(self, "compression", _enum(Compression, self.compression, "compression"))
        object.__setattr__(self, "partition_by", tuple(self.partition_by))
        if self.codec not in _CODECS[self.format]:
            allowed = ", ".join(c.value for c in _CODECS[self.format])
            raise SpecError(
                f"compression {self.codec.value!r} does not apply to {self.format.value} files; use one of {allowed}",
                "compression",
            )
        if self.row_group_size is not None and self.format is not FileFormat.PARQUET:
            raise SpecError(f"row_group_size applies to Parquet only, not {self.format.value}", "row_group_size")
        if self.row_group_size is not None and self.row_group_size < 1:
            raise SpecError(f"row_group_size must be at least 1, got {self.row_group_size}", "row_group_size")
        for column in self.partition_by:
            try:
                check_column_name(column, "partition_by column")
            except UsageError as exc:
                raise SpecError(str(exc), "partition_by") from None
        if len(set(self.partition_by)) != len(self.partition_by):
            raise SpecError(f"partition_by names a column twice: {list(self.partition_by)}", "partition_by")
        try:
            self.template  # noqa: B018 - parse and check now, not at the first load
        except UsageError as exc:
            raise SpecError(str(exc), "path_template") from None

    @property
    def codec(self) -> Compression:
        """The compression in effect."""
        if self.compression is not None:
            return self.compression
        return Compression.SNAPPY if self.format is FileFormat.PARQUET else Compression.NONE

    @property
    def template_text(self) -> str:
        if self.path_template is not None:
            return self.path_template
        return PARTITIONED_TEMPLATE if self.partition_by else DEFAULT_TEMPLATE

    @cached_property
    def template(self) -> Template:
        return Template.parse(self.template_text, self.partition_by)

    @property
    def layout(self) -> Layout:
        return self.template.layout

    @property
    def extension(self) -> str:
        """``{ext}``: ``parquet``, ``csv``, ``csv.gz``, ``jsonl.zst``, ..."""
        suffix = _CODEC_SUFFIX.get(self.codec) if self.format is not FileFormat.PARQUET else None
        return f"{self.format.value}.{suffix}" if suffix else self.format.value

    @property
    def display(self) -> str:
        """The root for messages: a password in the URL is masked."""
        return mask_url(self.root)

    @property
    def is_local(self) -> bool:
        return "://" not in self.root

    def secrets(self) -> tuple[str, ...]:
        """Every secret string in the spec (and its %-encoded spelling), for scrubbing messages."""
        found: list[str] = []
        _collect_secrets(self.storage_options, False, found)
        if not self.is_local:
            password = urlsplit(self.root).password
            if password:
                found.extend((password, unquote(password)))
        out = {s for s in found if s}
        out |= {quote(s, safe="") for s in out}
        return tuple(sorted(out, key=len, reverse=True))

    def __repr__(self) -> str:
        return (
            f"FileSpec(root={self.display!r}, format={self.format.value!r}, compression={self.codec.value!r}, "
            f"path_template={self.template_text!r}, partition_by={self.partition_by!r})"
        )


def _enum(kind: type[enum.Enum], value: Any, key: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise SpecError(f"{key} {value!r}: expected one of {allowed}", key) from None


def _collect_secrets(value: Any, secret: bool, found: list[str]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _collect_secrets(item, secret or bool(_SECRET_KEY.search(str(key))), found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect_secrets(item, secret, found)
    elif secret and isinstance(value, str):
        found.append(value)


# -- from a URL ------------------------------------------------------------------------------------


def is_file_target(spec: str) -> bool:
    """Whether ``--to spec`` names files: an fsspec URL (s3://, gs://, az://, memory://, file://) or a
    local path (holds '/' or '\\', starts with '.', or is an existing directory). Database URLs and
    bare names (targets in laden.yaml) are not."""
    scheme, sep, _ = spec.partition("://")
    if sep:
        return scheme.lower() in FILE_SCHEMES
    return "/" in spec or "\\" in spec or spec.startswith(".") or os.path.isdir(spec)


def file_spec_from_url(url: str, *, format: str | None = None, compression: str | None = None) -> FileSpec:
    """The spec for ``--to URL [--format F] [--compression C]``; a template may end the URL
    (``out/{table}.csv.gz``), its extension then gives the format and compression."""
    root, template = split_url(url)
    return build_spec(root, format=format, compression=compression, path_template=template, environ=os.environ)


def split_url(url: str) -> tuple[str, str | None]:
    """``(root, template)``: the template starts at the first path segment holding a '{'."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() not in FILE_SCHEMES:
        raise UsageError(
            f"{mask_url(url)} is not a file location; use a directory or one of "
            + ", ".join(f"{s}://" for s in FILE_SCHEMES)
        )
    prefix = ""
    if not sep:
        rest = url
    elif scheme.lower() == "file":
        rest = unquote(rest)
    else:
        prefix = f"{scheme}://"
    segments = rest.split("/")
    index = next((i for i, s in enumerate(segments) if "{" in s or "}" in s), None)
    if index is None:
        root = prefix + rest
        _refuse_file_root(url, root)
        return root, None
    head = "/".join(segments[:index])
    if prefix and not head:
        raise UsageError(f"{mask_url(url)}: the bucket or container cannot be templated; put {{table}} after it")
    root = prefix + head if head else ("/" if index > 0 else ".")
    return root, "/".join(segments[index:])


def _refuse_file_root(url: str, root: str) -> None:
    """``out/orders.csv`` is a directory to laden; say so instead of creating one by that name."""
    if root.endswith("/"):
        return
    last = root.rsplit("/", 1)[-1].lower()
    for codec in _SUFFIX_CODEC:
        last = last.removesuffix(codec)
    suffix = "." + last.rsplit(".", 1)[-1] if "." in last else ""
    if suffix in _SUFFIX_FORMAT:
        parent = mask_url(root.rsplit("/", 1)[0] if "/" in root else ".")
        raise UsageError(
            f"{mask_url(url)} looks like a file, but a file target is a directory with one file per table: "
            f"give a template such as {parent}/{{table}}{suffix}, or end the directory with '/'"
        )


def _inferred(template: str | None) -> tuple[FileFormat | None, Compression | None]:
    """The format and compression a template's literal extension states (``{table}.csv.gz``)."""
    if not template or "{ext}" in template:
        return None, None
    name = template.rsplit("/", 1)[-1].lower()
    codec = next((c for s, c in _SUFFIX_CODEC.items() if name.endswith(s)), None)
    if codec is not None:
        name = name.rsplit(".", 1)[0]
    fmt = next((f for s, f in _SUFFIX_FORMAT.items() if name.endswith(s)), None)
    if fmt is not None and fmt is not FileFormat.PARQUET and codec is None:
        codec = Compression.NONE
    return fmt, codec


def build_spec(
    root: str,
    *,
    format: str | FileFormat | None,
    compression: str | Compression | None,
    path_template: str | None,
    environ: Mapping[str, str],
    partition_by: tuple[str, ...] = (),
    csv: CsvOptions | None = None,
    row_group_size: int | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> FileSpec:
    """A :class:`FileSpec`, with the format / compression a template's extension states and the
    S3 endpoint and region from the environment. Raises :class:`SpecError`."""
    fmt = _enum(FileFormat, format, "format") if format is not None else None
    codec = _enum(Compression, compression, "compression") if compression is not None else None
    said_fmt, said_codec = _inferred(path_template)
    if fmt is not None and said_fmt is not None and fmt is not said_fmt:
        raise SpecError(
            f"format {fmt.value!r} does not match the file name {path_template!r}; "
            "change one of them, or use {ext} in the template",
            "format",
        )
    if codec is not None and said_codec is not None and codec is not said_codec:
        ext = "." + (_CODEC_SUFFIX.get(codec) or "")
        raise SpecError(
            f"compression {codec.value!r} does not match the file name {path_template!r}"
            + (f" (it would need to end in {ext!r})" if codec in _CODEC_SUFFIX else "")
            + "; change one of them, or use {ext} in the template",
            "compression",
        )
    options = dict(storage_options or {})
    if root.lower().startswith(("s3://", "s3a://")):
        options = _s3_environment(options, environ)
    return FileSpec(
        root=root,
        format=fmt or said_fmt or FileFormat.PARQUET,
        compression=codec or said_codec,
        path_template=path_template,
        partition_by=partition_by,
        csv=csv or CsvOptions(),
        row_group_size=row_group_size,
        storage_options=options,
    )


def _s3_environment(options: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Endpoint and region from the AWS variables, where ``storage_options`` does not set them."""
    client = dict(options.get("client_kwargs") or {})
    endpoint = environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL")
    if endpoint and "endpoint_url" not in options and "endpoint_url" not in client:
        client["endpoint_url"] = endpoint
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if region and "region_name" not in client:
        client["region_name"] = region
    if client:
        options["client_kwargs"] = client
    return options


# -- from laden.yaml -------------------------------------------------------------------------------

_KEYS = [
    "type", "url", "path", "format", "compression", "path_template", "partition_by", "csv",
    "row_group_size", "storage_options",
]  # fmt: skip
#: target settings that are not about files (read by the caller)
_OTHER_KEYS = ["strategy", "batch_size", "on_error", "max_rejects", "tables", "description"]


def read_file_spec(reader: Reader, path: tuple[str, ...], value: Mapping[str, Any]) -> FileSpec | None:
    """The spec of a ``type: file`` target in ``laden.yaml``; problems go to ``reader.problem``."""
    before = len(reader.problems)
    m = reader.mapping(value, path, _KEYS + _OTHER_KEYS)
    kind = reader.string(m.get("type"), (*path, "type"), required=True)
    if kind is not None and kind != "file":
        reader.problem((*path, "type"), f"expected 'file' for a file target, got {kind!r}")
    url = reader.string(m.get("url"), (*path, "url"))
    local = reader.string(m.get("path"), (*path, "path"))
    if (url is None) == (local is None):
        reader.problem(path, "a file target needs exactly one of url (s3://bucket/prefix/, ...) or path (a directory)")
    fmt = reader.choice(m.get("format"), (*path, "format"), FileFormat)
    codec = reader.choice(m.get("compression"), (*path, "compression"), Compression)
    template = reader.string(m.get("path_template"), (*path, "path_template"))
    partition_by = reader.names(m.get("partition_by"), (*path, "partition_by"))
    csv = _read_csv(reader, (*path, "csv"), m.get("csv"))
    row_group_size = reader.integer(m.get("row_group_size"), (*path, "row_group_size"), minimum=1)
    options = _read_options(reader, (*path, "storage_options"), m.get("storage_options"))
    where = url or local
    if len(reader.problems) > before or where is None or csv is None:
        return None
    try:
        root, in_url = split_url(where)
        if in_url is not None and template is not None:
            raise SpecError(f"{mask_url(where)} holds a template and path_template is set too; keep one", "url")
        return build_spec(
            root,
            format=fmt,
            compression=codec,
            path_template=in_url if in_url is not None else template,
            environ=reader.environ,
            partition_by=partition_by,
            csv=csv,
            row_group_size=row_group_size,
            storage_options=options,
        )
    except SpecError as exc:
        key = tuple(exc.key.split("."))
        reader.problem((*path, *(("url" if url else "path",) if key == ("url",) else key)), str(exc))
    except UsageError as exc:
        reader.problem((*path, "url" if url else "path"), str(exc))
    return None


def _read_csv(reader: Reader, path: tuple[str, ...], value: Any) -> CsvOptions | None:
    c = reader.mapping(value, path, ["header", "delimiter", "quote", "null"])
    quoting = reader.choice(c.get("quote"), (*path, "quote"), Quoting)
    delimiter = reader.string(c.get("delimiter"), (*path, "delimiter"))
    null = reader.string(c.get("null"), (*path, "null"))
    try:
        return CsvOptions(
            header=reader.boolean(c.get("header"), (*path, "header"), True),
            delimiter="," if delimiter is None else delimiter,
            quoting=quoting or Quoting.NEEDED,
            null=null or "",
        )
    except SpecError as exc:
        reader.problem((*path, exc.key.rpartition(".")[2]), str(exc))
        return None


def _read_options(reader: Reader, path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """fsspec options: any mapping; ``${VAR}`` is substituted in its strings at every depth."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        reader.problem(path, "expected a mapping of fsspec options (e.g. {client_kwargs: {endpoint_url: ...}})")
        return {}

    def walk(item: Any, where: tuple[str, ...]) -> Any:
        if isinstance(item, dict):
            return {str(k): walk(v, (*where, str(k))) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v, (*where, str(i))) for i, v in enumerate(item)]
        return reader.substitute(item, where)

    result: dict[str, Any] = walk(value, path)
    return result
