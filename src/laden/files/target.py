"""A load into files: stage every table under a temporary prefix, then publish them all.

See :mod:`laden.files` for the layouts, the strategies and the exact guarantees.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field

import pyarrow as pa

from laden.errors import (
    BadRowError,
    CancelledError,
    LadenError,
    MissingDriverError,
    SchemaMismatchError,
    SourceError,
    TargetError,
    UnsupportedError,
)
from laden.files.encode import Unrepresentable, check_json
from laden.files.layout import Layout, check_relative, table_name_problem
from laden.files.spec import FileFormat, FileSpec
from laden.files.store import Store, StoreError
from laden.files.writers import TableFiles, output_schema, partition_problem, schema_problems
from laden.plan import LoadOptions, Strategy
from laden.progress import CancelToken, EventKind, ProgressCallback, ProgressEvent
from laden.report import Status, TableReport, TargetReport
from laden.source import Dataset, TableSource, normalize_batch
from laden.urls import scrub

__all__ = ["ENGINE", "STAGING_PREFIX", "FileTarget"]

ENGINE = "file"
#: every load writes below ``<root>/.laden-staging-<load id>-<random>/`` first ('.': dataset readers skip it)
STAGING_PREFIX = ".laden-staging-"
_NOT_PUBLISHED = "Nothing was published"


class FileTarget:
    """Files under one root (a directory or an fsspec URL), written as :class:`FileSpec` says."""

    def __init__(self, spec: FileSpec, *, name: str) -> None:
        self.spec = spec
        self.name = name

    def __repr__(self) -> str:
        return f"FileTarget({self.name!r}, {self.spec!r})"

    def load(
        self,
        dataset: Dataset,
        options: LoadOptions,
        load_id: str,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> TargetReport:
        """Write every table of ``dataset``; never raises for a failure of this target: the report says."""
        return _Load(self.spec, self.name, dataset, options, load_id, progress, cancel).run()


@dataclass
class _Job:
    """One table: its source, the schema of its files, its report and what was staged."""

    name: str
    source: TableSource
    #: the columns of the source (types normalised), partition columns included
    source_schema: pa.Schema
    #: the columns of the files
    schema: pa.Schema
    report: TableReport
    files: list[tuple[str, str]] = field(default_factory=list)
    #: files of the table to remove once the new ones are in place (truncate_insert)
    old: list[str] = field(default_factory=list)


@dataclass
class _Load:
    spec: FileSpec
    name: str
    dataset: Dataset
    options: LoadOptions
    load_id: str
    progress: ProgressCallback | None
    cancel: CancelToken | None
    report: TargetReport = field(init=False)
    store: Store | None = None
    staging: str = ""
    current: str | None = None
    published: bool = False

    def __post_init__(self) -> None:
        strategy = self.options.strategy.value
        self.report = TargetReport(self.name, ENGINE, strategy)
        self.report.tables = [TableReport(name, strategy) for name in self.dataset.tables]
        safe_id = re.sub(r"[^A-Za-z0-9_-]", "", self.load_id)[:32]
        self.staging = f"{STAGING_PREFIX}{safe_id}-{uuid.uuid4().hex[:8]}"

    # -- the whole target -----------------------------------------------------------------------
    def run(self) -> TargetReport:
        started = time.perf_counter()
        self._emit(EventKind.LOAD_STARTED)
        try:
            self._refuse_upsert()
            jobs = self._jobs()
            if jobs:
                self._open_store(jobs)
                for job in jobs:
                    self._stage(job)
                self.current = None
                self._check_cancel()
                self._publish(jobs)
            self.report.status = Status.OK
            for t in self.report.tables:
                t.status, t.rows_loaded = Status.OK, t.rows_read
        except Exception as exc:  # this target failing must not stop the others: record it
            self._fail(exc)
        finally:
            self._clean_up()
            self.report.duration_s = time.perf_counter() - started
            self._emit(EventKind.LOAD_FINISHED, status=self.report.status.value)
        return self.report

    def _open_store(self, jobs: list[_Job]) -> None:
        try:
            self.store = Store(self.spec)
            self.store.prepare()
        except MissingDriverError as exc:
            raise MissingDriverError(f"{self.name}: {exc}") from exc
        except StoreError as exc:
            raise TargetError(
                f"{self.name}: {exc}; check that the location exists and is writable. Nothing was written.",
                target=self.name,
            ) from exc
        self._refuse_append_to_single_files(jobs)

    def _refuse_upsert(self) -> None:
        if self.options.strategy is Strategy.UPSERT:
            raise UnsupportedError(
                f"{self.name}: upsert is not supported for file targets (files have no keys to match rows on); "
                "use strategy append (adds files) or truncate_insert (replaces the table's files)",
                target=self.name,
            )

    def _jobs(self) -> list[_Job]:
        """Every table checked before anything is written: its name, its path, its column types."""
        jobs = []
        for name, source in self.dataset.tables.items():
            self.current = name
            try:
                jobs.append(self._job(name, source))
            except TargetError:
                raise
            except LadenError as exc:  # the source cannot tell its schema, a path is refused
                raise TargetError(
                    f"{self.name}: table {name!r}: {exc}. Nothing was written.", target=self.name, table=name
                ) from exc
        self.current = None
        return jobs

    def _job(self, name: str, source: TableSource) -> _Job:
        problem = table_name_problem(name)
        if problem:
            raise UnsupportedError(
                f"{self.name}: table {name!r} cannot name a file: {problem}; load it under another name. "
                "Nothing was written.",
                target=self.name,
                table=name,
            )
        check_relative(self.spec.template.render(name, self.spec.extension, "0" * 32, "k=v"))
        schema = source.schema()
        self._check_partition_columns(name, schema)
        full, out = output_schema(schema, self.spec)
        problems = schema_problems(out, self.spec)
        if problems:
            raise SchemaMismatchError(
                f"{self.name}: table {name!r} cannot be written as {self.spec.format.value}: "
                f"{'; '.join(problems)}. Nothing was written.",
                target=self.name,
                table=name,
            )
        return _Job(name, source, full, out, self.report.table(name))

    def _check_partition_columns(self, name: str, schema: pa.Schema) -> None:
        for column in self.spec.partition_by:
            index = schema.get_field_index(column)
            why = (
                "the table has no such column (partition_by applies to every table of the target)"
                if index < 0
                else partition_problem(schema.field(index).type)
            )
            if why:
                raise SchemaMismatchError(
                    f"{self.name}: table {name!r} cannot be partitioned by {column!r}: {why}. Nothing was written.",
                    target=self.name,
                    table=name,
                )

    def _refuse_append_to_single_files(self, jobs: list[_Job]) -> None:
        if self.spec.layout is not Layout.SINGLE or self.options.strategy is not Strategy.APPEND:
            return
        store = self._store()
        for job in jobs:
            path = self.spec.template.render(job.name, self.spec.extension)
            if store.exists(path):
                raise UnsupportedError(
                    f"{self.name}: table {job.name!r}: {store.shown(path)} exists and append cannot add rows to a "
                    "single file; use strategy truncate_insert to replace it, or a path_template with {part} "
                    "(e.g. '{table}/part-{part}.{ext}') so that every load adds a file. Nothing was written.",
                    target=self.name,
                    table=job.name,
                )

    def _store(self) -> Store:
        assert self.store is not None
        return self.store

    # -- one table ------------------------------------------------------------------------------
    def _stage(self, job: _Job) -> None:
        self.current = job.name
        self._check_cancel()
        rep = job.report
        rep.status = Status.FAILED  # until it is staged
        started = time.perf_counter()
        self._emit(EventKind.TABLE_STARTED, job.name)
        files = TableFiles(self._store(), self.spec, job.name, job.schema, self.staging)
        job.files = files.files
        try:
            for raw in job.source.batches(self.options.batch_size):
                self._check_cancel()
                batch = self._conform(job, normalize_batch(raw))
                self._write(job, files, batch)
                rep.rows_read += batch.num_rows
                self._emit(EventKind.ROWS_WRITTEN, job.name, rows=rep.rows_read)
            files.close()
        except BaseException as exc:
            files.abort()
            raise self._table_error(job, exc) from exc
        rep.duration_s = time.perf_counter() - started
        rep.status = Status.OK
        self._emit(EventKind.TABLE_FINISHED, job.name, rows=rep.rows_read, status=Status.OK.value)

    def _conform(self, job: _Job, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The batch in the source's declared schema (a source may vary order, metadata or nullability)."""
        if batch.schema.equals(job.source_schema):
            return batch
        try:
            return batch.select(job.source_schema.names).cast(job.source_schema)
        except (KeyError, ValueError, pa.ArrowException) as exc:
            raise SchemaMismatchError(
                f"{self.name}: table {job.name!r}: a batch of the source does not match the schema it declares "
                f"({exc}); the source must yield the columns and types of its schema",
                target=self.name,
                table=job.name,
            ) from exc

    def _write(self, job: _Job, files: TableFiles, batch: pa.RecordBatch) -> None:
        try:
            if self.spec.format in (FileFormat.JSON, FileFormat.JSONL):
                check_json(batch)  # before rows are regrouped by partition: the row number is right here
            files.write(batch)
        except Unrepresentable as exc:
            row = f", row {job.report.rows_read + exc.index + 1}" if exc.index is not None else ""
            raise BadRowError(
                f"{self.name}: table {job.name!r}{row}, column {exc.column!r}: {exc.reason}. "
                f"{_NOT_PUBLISHED}; write Parquet, or replace the value in the source.",
                target=self.name,
                table=job.name,
                row=job.report.rows_read + exc.index + 1 if exc.index is not None else None,
                column=exc.column,
                reason=exc.reason,
            ) from exc

    def _table_error(self, job: _Job, exc: BaseException) -> BaseException:
        """Any failure while staging a table, as an error that names the target, the table and what to do."""
        if isinstance(exc, (TargetError, KeyboardInterrupt, SystemExit, GeneratorExit)):
            return exc
        if isinstance(exc, (StoreError, OSError)):
            hint = "check that the location exists and is writable (for object storage: bucket and credentials)"
        elif isinstance(exc, SourceError):
            hint = "fix the input and load again"
        elif isinstance(exc, pa.ArrowException) and "structural characters" in str(exc):
            hint = "a value holds the delimiter, a quote or a line break: use csv quote 'needed'"
        else:
            hint = ""
        detail = str(exc) if isinstance(exc, LadenError) else f"{type(exc).__name__}: {exc}"
        return TargetError(
            f"{self.name}: table {job.name!r}: {detail}. {_NOT_PUBLISHED}" + (f"; {hint}." if hint else "."),
            target=self.name,
            table=job.name,
        )

    # -- publishing -----------------------------------------------------------------------------
    def _publish(self, jobs: list[_Job]) -> None:
        """Move every staged file into place; on failure put back what was already moved.

        A file that replaces another (single-file layout) is first backed up in the staging
        area, so that a failure later in the publish step can restore it. Old part files
        (truncate_insert) are removed only once every new file is in place.
        """
        store, undo = self._store(), []
        truncate = self.options.strategy is Strategy.TRUNCATE_INSERT
        try:
            for job in jobs:
                self.current = job.name
                finals = {final for _, final in job.files}
                if truncate and self.spec.layout is not Layout.SINGLE:
                    job.old = [p for p in self._table_files(job.name) if p not in finals]
                for staged, final in job.files:
                    backup = None
                    if self.spec.layout is Layout.SINGLE and store.exists(final):
                        backup = f"{self.staging}/.replaced/{final}"
                        store.keep_copy(final, backup)
                    store.move(staged, final)
                    undo.append((final, backup))
        except Exception as exc:
            raise self._publish_error(exc, undo) from exc
        self.published = True
        self.current = None
        codec = f", {self.spec.codec.value}" if self.spec.codec.value != "none" else ""
        self.report.notes.append(
            f"{len(undo)} {self.spec.format.value}{codec} file(s) published under {self.spec.display} "
            "once every table was written"
        )
        for job in jobs:
            self._remove_old(job)

    def _table_files(self, table: str) -> list[str]:
        directory, depth = self.spec.template.listing(table, self.spec.extension)
        pattern = self.spec.template.pattern(table, self.spec.extension)
        return [p for p in self._store().find(directory, depth) if pattern.fullmatch(p)]

    def _publish_error(self, exc: Exception, undo: list[tuple[str, str | None]]) -> TargetError:
        store, problems = self._store(), []
        for final, backup in reversed(undo):
            try:
                if backup is None:
                    store.delete([final])
                else:
                    store.move(backup, final)
            except StoreError as err:
                problems.append(str(err))
        if problems:
            after = (
                f"putting back the {len(undo)} file(s) already published failed too ({'; '.join(problems)}): "
                f"check {self.spec.display} by hand"
            )
        else:
            after = f"the {len(undo)} file(s) already published were put back: {_NOT_PUBLISHED.lower()}"
        return TargetError(
            f"{self.name}: publishing table {self.current!r} failed: {exc}; {after}.",
            target=self.name,
            table=self.current,
        )

    def _remove_old(self, job: _Job) -> None:
        if not job.old:
            return
        try:
            self._store().delete(job.old)
        except StoreError as exc:
            shown = ", ".join(job.old[:5]) + (", ..." if len(job.old) > 5 else "")
            raise TargetError(
                f"{self.name}: table {job.name!r}: the new files are published but {len(job.old)} old file(s) "
                f"could not be removed ({exc}); remove them by hand: {shown}",
                target=self.name,
                table=job.name,
            ) from exc
        self.report.notes.append(f"truncate_insert: removed {len(job.old)} old file(s) of {job.name!r}")

    # -- bookkeeping ----------------------------------------------------------------------------
    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.cancelled:
            raise CancelledError(
                f"{self.name}: load {self.load_id} cancelled; {_NOT_PUBLISHED.lower()}",
                target=self.name,
                table=self.current,
            )

    def _fail(self, exc: Exception) -> None:
        cancelled = isinstance(exc, CancelledError)
        self.report.status = Status.CANCELLED if cancelled else Status.FAILED
        message = str(exc) if isinstance(exc, LadenError) else f"{self.name}: {type(exc).__name__}: {exc}"
        self.report.error = scrub(message, self.spec.secrets())
        failing = getattr(exc, "table", None) or self.current
        for t in self.report.tables:
            if self.published:  # only removing old files failed: the new files are in place
                t.rows_loaded = t.rows_read if t.status is Status.OK else 0
                if t.table == failing:
                    t.status, t.error = Status.FAILED, self.report.error
                continue
            t.rows_loaded = 0
            if cancelled:
                t.status = Status.CANCELLED
            elif t.table == failing:
                t.status, t.error = Status.FAILED, self.report.error
            elif t.status is Status.OK:
                t.status, t.error = Status.FAILED, "not published: another table of this target failed"
        if self.store is not None and not self.published:
            self.report.notes.append(
                "every table is written under a temporary prefix and published only when all of them are "
                "complete: nothing was published, the files already there are unchanged"
            )

    def _clean_up(self) -> None:
        if self.store is None:
            return
        try:
            self.store.remove_tree(self.staging)
        except StoreError as exc:
            note = f"temporary files left behind, remove them by hand: {exc}"
            self.report.notes.append(scrub(note, self.spec.secrets()))
        if self.report.status is not Status.OK and not self.published:
            self.store.forget_new_root()

    def _emit(self, kind: EventKind, table: str | None = None, rows: int = 0, status: str | None = None) -> None:
        if self.progress is not None:
            total = self.dataset.tables[table].rows() if table in self.dataset.tables else None
            self.progress(ProgressEvent(self.load_id, kind, self.name, table, rows, total, status))
