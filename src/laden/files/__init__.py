"""Files and object storage as load targets: CSV, JSON Lines, JSON and Parquet, under a local
directory or any fsspec URL (``s3://``, ``gs://``, ``az://``, ``memory://``).

::

    from laden.files import FileTarget, file_spec_from_url
    spec = file_spec_from_url("s3://bucket/exports/", format="parquet", compression="zstd")
    report = FileTarget(spec, name=spec.display).load(dataset, LoadOptions(), load_id)

Formats
-------
Parquet (snappy by default; zstd, gzip or none; ``row_group_size``), CSV (header, delimiter,
quoting, NULL marker), JSON Lines and JSON (one array); the text formats can be gzip- or
zstd-compressed (``.csv.gz``, ``.jsonl.zst``). Every file is written by pyarrow, streamed batch
by batch: memory is bounded by the batch size (plus ``row_group_size`` rows per open Parquet
file and an 8 MiB upload buffer per open file on object storage; a table has one file open,
or at most 64 partition files). Values are exact: decimals
are written in plain notation (JSON: as strings), timestamps with every fractional digit of
their unit, see :mod:`laden.files.encode` and :mod:`laden.files.writers`. Columns a format
cannot hold (binary, durations, nested values in CSV, ...) are refused before anything is written.

Layouts
-------
The path template (default ``{table}.{ext}``) decides where each table's rows go:

* **single** (``{table}.{ext}``, no ``{part}``): one file per table. ``append`` writes it
  when it is not there yet and is refused, before anything is written, when it is (a file
  cannot take more rows: use ``truncate_insert``, or a template with ``{part}``).
  ``truncate_insert`` replaces it.
* **parts** (a template with ``{part}``, e.g. ``{table}/part-{part}.{ext}``): ``append`` adds
  one part file per load, whether or not the table has files already. ``truncate_insert``
  writes one new part file and removes the table's old part files.
* **hive** (``partition_by``; default template ``{table}/{partition}/part-{part}.{ext}``):
  ``append`` adds one part file per partition value in the load (``country=DE/part-....``).
  ``truncate_insert`` writes new part files and removes every old part file of the table, in
  every partition, also the partitions this load has no rows for.

``{part}`` is a fresh 32-hex-digit id, so parts never collide. "The table's old part files" are
the files the template matches with a 32-hex-digit ``{part}`` and this load's extension: files
other tools put there, or of another format, are left alone. Single and parts layouts always write
a file, even for a table without rows (a CSV header, ``[]``, a Parquet schema); the hive layout
writes one per partition value present (a second one when more than 64 partitions were open at
once), so none for an empty table. Hive partition columns are not repeated inside the files;
values are %-encoded (``a/b`` -> ``a%2Fb``), NULL is ``__HIVE_DEFAULT_PARTITION__``, as pyarrow,
Hive and Spark read them. ``upsert`` is refused: files have no keys to match rows on. As
``append`` is the default strategy, loading twice into the default single layout fails the
second time with an error saying what to do.

Atomic publish
--------------
Every table of a load is first written under ``<root>/.laden-staging-<load id>-<random>/``
(a hidden prefix: dataset readers skip it). Only when every table is complete (and the load
was not cancelled) are the files published, table after table: a rename locally (atomic per
file), copy + delete on object storage (S3 has no rename; each object appears whole; the copy
is server-side, but takes time in proportion to the size). A file that replaces another is
first backed up in the staging area (a hard link locally, a server-side copy on object
storage); old part files (truncate_insert) are removed only after every new file is in place.
The guarantees:

* a failure or a cancellation before the publish step (a source error, a bad value, a full
  disk, a refused upload, ``CancelToken.cancel()``) publishes nothing: every existing file is
  unchanged, byte for byte, and the staging prefix is removed;
* a failure during the publish step (a rename or copy refused) puts back what was already
  published, so again nothing changes; if putting back fails too, the error says to check by hand;
* after the publish step, a failure to remove old part files leaves the new files published
  and the old ones listed in the error;
* readers are not isolated from the publish step itself: during it a reader may see some tables
  new and others old, and in the parts and hive layouts old and new parts side by side for a
  moment. A process killed hard can leave the ``.laden-staging-*`` prefix behind (during the
  publish step, with the backups of replaced files in ``.replaced/``); dataset readers skip it
  and it can be deleted.

Cancellation is checked between batches and once more before publishing; the publish step is
not interrupted. Concurrent loads into the same table are not coordinated.

Safety
------
Table names and templates cannot write outside the root: ``..``, absolute paths, backslashes,
``:``, %-escapes and control characters are refused with an error naming the table or template
(see :mod:`laden.files.layout`). Storage options may hold credentials; they never appear in
reprs, reports or errors.
"""

from __future__ import annotations

from laden.files.layout import Layout
from laden.files.spec import (
    Compression,
    CsvOptions,
    FileFormat,
    FileSpec,
    Quoting,
    file_spec_from_url,
    is_file_target,
    read_file_spec,
)
from laden.files.target import ENGINE, FileTarget

__all__ = [
    "ENGINE",
    "Compression",
    "CsvOptions",
    "FileFormat",
    "FileSpec",
    "FileTarget",
    "Layout",
    "Quoting",
    "file_spec_from_url",
    "is_file_target",
    "read_file_spec",
]
