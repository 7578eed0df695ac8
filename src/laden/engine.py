"""Run a LoadPlan on one target: one transaction, batches, bad-row isolation, progress, cancel.

For each table, source batches are cast to the target's types (bad values found by
:mod:`laden.casting`), then written by the backend's bulk path. Rows the source could not
read (a CSV row with the wrong number of fields, bytes that are not UTF-8) arrive numbered
beside the good rows (:meth:`TableSource.numbered`) and are bad rows like any other.

* ``append`` / ``truncate_insert`` write straight into the table. When the database
  refuses a batch, the batch is retried in halves inside savepoints until the single bad
  rows are found (backends whose transactions cannot survive an error find them with
  queries before writing instead).
* ``upsert`` — and tables of a cycle loaded in two phases — go through a temporary
  staging table that carries each row's source row number, then one set-based statement
  per table moves them into place; a refused statement is retried on halves of the
  row-number range.

Everything happens in one transaction per target. Any failure or cancellation rolls it
back; temporary tables vanish with the session.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from laden.casting import BadValue, cast_batch
from laden.encode import int64_array
from laden.errors import BadRowError, CancelledError, LadenError, SchemaMismatchError, TargetError
from laden.graph import Cycle
from laden.plan import CycleMethod, Finish, LoadOptions, LoadPlan, OnError, Strategy, TablePlan, build_plan
from laden.progress import CancelToken, EventKind, ProgressCallback, ProgressEvent
from laden.rejects import Reject, RejectSink
from laden.report import Status, TableReport, TargetReport
from laden.schema import Column, TypeKind
from laden.source import BadSourceRow, Dataset, NumberedBatch, TableSource, normalize_batch
from laden.targets.base import ROW, DataError, Isolation, SqlBackend

_ROW_COLUMN = Column(ROW, "bigint", TypeKind.INTEGER, nullable=False, int_bits=64)


@dataclass
class Chunk:
    """One batch on its way in: the source rows, the same rows cast, their source row numbers."""

    source: pa.RecordBatch
    data: pa.RecordBatch
    rows: np.ndarray[Any, np.dtype[np.int64]]
    #: the backend's encoding of ``data``, made ahead in the reader thread (None: encode when writing)
    payload: object = None

    def take(self, keep: np.ndarray[Any, np.dtype[np.bool_]]) -> Chunk:
        mask = pa.array(keep)
        return Chunk(self.source.filter(mask), self.data.filter(mask), self.rows[keep])  # payload is stale

    def head(self, n: int) -> Chunk:
        return Chunk(self.source.slice(0, n), self.data.slice(0, n), self.rows[:n])

    def __len__(self) -> int:
        return int(self.data.num_rows)


def _sorted(batch: pa.RecordBatch, keys: Sequence[str]) -> pa.RecordBatch:
    """``batch`` sorted by ``keys`` (NULLs last); as it is when there are none or Arrow cannot sort their type."""
    if not keys or batch.num_rows < 2:
        return batch
    try:
        return batch.take(pc.sort_indices(batch, [(k, "ascending") for k in keys]))
    except pa.ArrowNotImplementedError:
        return batch


class _Recheck(Exception):
    """An optimistic write was refused: load again, checking first, to name the bad row."""


@dataclass
class TableState:
    plan: TablePlan
    report: TableReport
    #: the source file, named with bad rows (None: the source is not a file)
    file: str | None = None
    staging: str | None = None
    first_row: int = 1
    next_row: int = 1


@dataclass
class TargetLoad:
    dataset: Dataset
    backend: SqlBackend
    options: LoadOptions
    load_id: str
    progress: ProgressCallback | None = None
    cancel: CancelToken | None = None
    report: TargetReport = field(init=False)
    sink: RejectSink = field(init=False)
    rejects: list[Reject] = field(default_factory=list)
    error: Exception | None = None
    optimistic: bool = field(init=False, default=False)
    _savepoints: int = 0

    def __post_init__(self) -> None:
        opts = self.options
        # backends that look before writing can skip looking in fail mode, and replay the load
        # (sources are re-readable) to name the bad row only if one turns up
        self.optimistic = (
            self.backend.isolation is Isolation.PRECHECK
            and opts.on_error is OnError.FAIL
            and all(t.replayable for t in self.dataset.tables.values())
        )
        self.report = TargetReport(self.backend.name, self.backend.engine.value, opts.strategy.value)
        self.report.rejects_path = opts.rejects_path if opts.on_error is OnError.REJECT else None
        self.sink = RejectSink(self.backend.name, self.report.rejects_path, opts.max_rejects)

    # -- the whole target -------------------------------------------------------------------
    def run(self) -> TargetReport:
        started = time.perf_counter()
        self.report.tables = [TableReport(name, self.options.strategy.value) for name in self.dataset.tables]
        self._emit(EventKind.LOAD_STARTED)
        connected = False
        try:
            self.backend.connect()
            connected = True
            plan = self._plan()
            self.backend.begin()
            try:
                self._load(plan)
            except _Recheck:
                # the optimistic pass hit a bad row: start over, looking before writing, to name it
                self.backend.rollback()
                self.optimistic = False
                self._reset_tables(plan)
                self.backend.begin()
                self._load(plan)
            self._check_cancel()
            if self.options.finish is Finish.ROLLBACK:  # a trial load (backfill estimates): time it, keep nothing
                self.backend.rollback()
            else:
                self.backend.commit()
            self.report.status = Status.OK
            for t in self.report.tables:
                t.status = Status.OK
        except Exception as exc:  # one target failing must not stop the others: record and roll back
            self._fail(exc, connected)
        finally:
            self.sink.close()
            if connected:
                self._close()
            self.report.duration_s = time.perf_counter() - started
            self.report.notes.extend(n for n in self.backend.notes if n not in self.report.notes)
            self._emit(EventKind.LOAD_FINISHED, status=self.report.status.value)
        return self.report

    def _reset_tables(self, plan: LoadPlan) -> None:
        order = [tp.name for tp in plan.tables]
        self.report.tables = [TableReport(name, self.options.strategy.value) for name in order]

    def _plan(self) -> LoadPlan:
        names = list(self.dataset.tables)
        schema = self.backend.reflect()
        sources = {n: self.dataset.tables[n].schema() for n in names}
        plan = build_plan(
            sources,
            schema,
            self.options,
            self.backend.caps,
            target=self.backend.name,
            engine=self.backend.engine.value,
        )
        self.report.notes.extend(plan.notes)
        order = [tp.name for tp in plan.tables]
        self.report.tables.sort(key=lambda t: order.index(t.table))
        return plan

    def _load(self, plan: LoadPlan) -> None:
        self._clear(plan)
        tables = self.dataset.tables
        states = {tp.name: TableState(tp, self.report.table(tp.name), tables[tp.name].path) for tp in plan.tables}
        position = {tp.table.name: i for i, tp in enumerate(plan.tables)}
        first = {c.tables: min(position[t] for t in c.tables) for c in plan.cycles}
        last = {c.tables: max(position[t] for t in c.tables) for c in plan.cycles}
        cycle_of = {t: c for c in plan.cycles for t in c.tables}
        for i, tp in enumerate(plan.tables):
            cycle: Cycle | None = cycle_of.get(tp.table.name)
            if cycle is not None and i == first[cycle.tables]:
                self._relax(cycle, tp.cycle_method)
            self._load_table(states[tp.name])
            if cycle is None or i != last[cycle.tables]:
                continue
            members = [plan.tables[position[t]] for t in cycle.tables]
            if tp.cycle_method is CycleMethod.TWO_PHASE:
                self._second_phase([states[m.name] for m in members])
            elif tp.cycle_method in (CycleMethod.DEFERRED, CycleMethod.CHECKS_OFF):
                self._verify_fks(members, all_fks=tp.cycle_method is CycleMethod.CHECKS_OFF)
                self._restore(cycle, tp.cycle_method)
        for st in states.values():
            if st.staging:
                self.backend.drop_staging(st.staging)
                st.staging = None

    def _clear(self, plan: LoadPlan) -> None:
        """Clear children first; rows of a cycle reference each other, so its checks are relaxed meanwhile."""
        replace = self.options.replace
        if replace is not None:  # a backfill window: its rows go, in this transaction
            for tp in reversed(plan.tables):
                self.backend.delete_range(tp.table, replace)
        if not plan.clear:
            return
        relaxed = [(c, tp.cycle_method) for c in plan.cycles for tp in plan.tables if tp.table.name == c.tables[0]]
        for cycle, method in relaxed:
            self._relax(cycle, method)
        for tp in plan.tables:
            if tp.deferred_columns:  # two-phase: cut the loop by clearing the nullable FK first
                self.backend.set_null(tp.table, tp.deferred_columns)
        for table in plan.clear:
            self.backend.clear(table)
        for cycle, method in relaxed:
            self._restore(cycle, method)

    def _relax(self, cycle: Cycle, method: CycleMethod | None) -> None:
        if method is CycleMethod.DEFERRED:
            self.backend.defer([e.fk for e in cycle.edges])
        elif method is CycleMethod.CHECKS_OFF:
            self.backend.fk_checks(False)

    def _restore(self, cycle: Cycle, method: CycleMethod | None) -> None:
        if method is CycleMethod.DEFERRED:
            self.backend.undefer([e.fk for e in cycle.edges])
        elif method is CycleMethod.CHECKS_OFF:
            self.backend.fk_checks(True)

    # -- one table ----------------------------------------------------------------------------
    def _load_table(self, st: TableState) -> None:
        tp, rep = st.plan, st.report
        started = time.perf_counter()
        rep.status = Status.FAILED  # until it finishes
        self._emit(EventKind.TABLE_STARTED, tp.name)
        staged = (
            self.options.strategy is Strategy.UPSERT
            or bool(tp.deferred_columns)
            or tp.cycle_method is CycleMethod.LEVELS
        )
        if staged:
            st.staging = self.backend.create_staging(tp.table, tp.target_columns)
            target, columns = st.staging, (_ROW_COLUMN, *tp.target_columns)
        else:
            target, columns = self.backend.qualified(tp.table.name), tp.target_columns
        order = tp.keys if self.options.strategy is Strategy.UPSERT else ()
        ahead = self._ahead(self._chunks(self.dataset.tables[tp.name], st), columns, staged, order)
        with contextlib.closing(ahead):  # stops the reader thread at once if this table fails
            for chunk in ahead:
                self._check_cancel()
                self._write(st, chunk, target, columns, staged)
                self._emit(EventKind.ROWS_WRITTEN, tp.name, rows=rep.rows_read)
        if staged:
            self._move_staged(st)
        rep.rows_loaded = rep.rows_read - rep.rows_rejected
        serials = [c for c in tp.target_columns if c.generated]
        if serials and rep.rows_loaded:
            self.backend.advance_sequences(tp.table, serials)
        rep.duration_s = time.perf_counter() - started
        rep.status = Status.OK
        self._emit(EventKind.TABLE_FINISHED, tp.name, rows=rep.rows_loaded, status="ok")

    def _chunks(self, source: TableSource, st: TableState) -> Iterator[Chunk]:
        tp = st.plan
        names = [c.source for c in tp.columns]
        for item in source.numbered(self.options.batch_size):
            batch = normalize_batch(item.batch)
            self._count(st, item)
            if not batch.num_rows:
                for b in item.bad:
                    self._unreadable(st, b)
                continue
            try:
                data, bad = cast_batch(batch, names, tp.target_columns)
            except TypeError as exc:
                raise SchemaMismatchError(
                    f"{self.backend.name}: table {tp.table.name!r}: {exc}",
                    target=self.backend.name,
                    table=tp.table.name,
                ) from exc
            refused = self.backend.refuse(tp.target_columns, data)
            if refused:
                known = {b.index for b in bad}
                bad = sorted([*bad, *(r for r in refused if r.index not in known)], key=lambda b: b.index)
            chunk = Chunk(batch, data, item.rows)
            if (bad or item.bad) and self.options.on_error is OnError.FAIL:
                yield from self._up_to_first_bad(st, chunk, bad, item.bad)
            for b in item.bad:
                self._unreadable(st, b)
            if bad:
                chunk = self._drop_bad(st, chunk, bad)
            if len(chunk):
                yield chunk

    def _count(self, st: TableState, item: NumberedBatch) -> None:
        """Rows read: the good ones and those that could not be read; numbers past every one of them."""
        st.report.rows_read += item.batch.num_rows + len(item.bad)
        numbers = [b.row for b in item.bad] + ([int(item.rows[-1])] if len(item.rows) else [])
        if numbers:
            st.next_row = max(st.next_row, max(numbers) + 1)

    def _up_to_first_bad(
        self, st: TableState, chunk: Chunk, bad: list[BadValue], unreadable: tuple[BadSourceRow, ...]
    ) -> Iterator[Chunk]:
        """Fail mode: the good rows before the first bad row, then the error naming it.

        Written first so that a database error among them is reported first: the error always
        names the first bad row.
        """
        first = min(bad, key=lambda b: b.index) if bad else None
        source = unreadable[0] if unreadable else None
        if source is not None and (first is None or source.row < chunk.rows[first.index]):
            head = int(np.searchsorted(chunk.rows, source.row))
            if head:
                yield chunk.head(head)
            self._unreadable(st, source)
        assert first is not None
        if first.index:
            yield chunk.head(first.index)
        self._drop_bad(st, chunk, [first])

    def _unreadable(self, st: TableState, bad: BadSourceRow) -> None:
        self._bad_row(st, bad.row, bad.column, bad.reason, bad.values, text=bad.text)

    def _drop_bad(self, st: TableState, chunk: Chunk, bad: list[BadValue]) -> Chunk:
        keep = np.ones(len(chunk), dtype=bool)
        for b in bad:
            if keep[b.index]:
                keep[b.index] = False
                self._bad_row(st, int(chunk.rows[b.index]), b.column, b.reason, chunk.source.slice(b.index, 1))
        return chunk.take(keep)

    def _bad_row(
        self,
        st: TableState,
        row: int,
        column: str | None,
        reason: str,
        values: pa.RecordBatch | dict[str, Any],
        *,
        text: str | None = None,
    ) -> None:
        table = st.plan.table.name
        if self.options.on_error is OnError.FAIL:
            at = f"data row {row} of {st.file}" if st.file else f"row {row}"
            where = f"table {table!r}, {at}" + (f", column {column!r}" if column else "")
            raise BadRowError(
                f"{self.backend.name}: {where}: {reason}. Nothing was committed; fix the row, or load with "
                "on_error='reject' (CLI: --on-error reject) to set bad rows aside.",
                target=self.backend.name,
                table=table,
                row=row,
                column=column,
                reason=reason,
                file=st.file,
            )
        vals = _row_values(values) if isinstance(values, pa.RecordBatch) else values
        reject = Reject(table, row, column, reason, vals, text)
        st.report.rows_rejected += 1
        if self.sink.path is None:
            self.rejects.append(reject)
        self.sink.add(reject)

    # -- writing ------------------------------------------------------------------------------
    def _ahead(
        self, chunks: Iterator[Chunk], columns: Sequence[Column], staged: bool, order: Sequence[str] = ()
    ) -> Generator[Chunk]:
        """Read, cast and encode the next batches in a thread while the database takes this one.

        At most two batches wait in the queue, so memory stays bounded by the batch size;
        an error in the reader (a bad row in fail mode, say) arrives in order, after the
        chunks before it. With ``order`` (an upsert's keys) each batch is encoded sorted by
        them: the merge sorts the staged rows by key, and presorted runs sort faster and
        walk memory in order (a 1M-row PostgreSQL merge: 3.7 s -> 3.1 s). Only the encoded
        payload is sorted; a refused batch is bisected in source order, so the first bad
        row found is the first in the source.
        """
        ready: queue.Queue[Chunk | BaseException | None] = queue.Queue(maxsize=2)
        stop = threading.Event()

        def put(item: Chunk | BaseException | None) -> bool:
            while not stop.is_set():
                try:
                    ready.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def read() -> None:
            try:
                for chunk in chunks:
                    if staged:
                        chunk.data = chunk.data.add_column(0, ROW, int64_array(chunk.rows))
                    chunk.payload = self.backend.prepare(_sorted(chunk.data, order), columns)
                    if not put(chunk):
                        return
                put(None)
            except BaseException as exc:  # handed to the loading thread, which raises it
                put(exc)

        reader = threading.Thread(target=read, name=f"laden-read-{self.load_id}", daemon=True)
        reader.start()
        try:
            while (item := ready.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            reader.join()

    def _write(self, st: TableState, chunk: Chunk, target: str, columns: Sequence[Column], staged: bool) -> None:
        if self.backend.isolation is Isolation.PRECHECK:
            if staged:
                self._guard(lambda: self.backend.write(target, columns, chunk.data, chunk.payload))
                return
            if self.optimistic:  # fail mode: the database's own checks suffice until one trips
                try:
                    self.backend.write(target, columns, chunk.data, chunk.payload)
                except DataError as err:
                    raise _Recheck from err
                return
            found: list[BadValue] = []
            self._guard(lambda: found.extend(self.backend.checked_write(st.plan.table, target, columns, chunk.data)))
            if found:  # already left out of the table; fail mode raises here and rolls back
                self._drop_bad(st, chunk, found)
            return

        def attempt(lo: int, hi: int) -> None:
            whole = lo == 0 and hi == len(chunk)
            self.backend.write(target, columns, chunk.data.slice(lo, hi - lo), chunk.payload if whole else None)

        def bad(i: int, err: DataError) -> None:
            column = self._blame(st, err, lambda: _row_values(chunk.data.slice(i, 1)))
            self._bad_row(st, int(chunk.rows[i]), column, str(err), chunk.source.slice(i, 1))

        self._bisect(0, len(chunk), attempt, bad)

    def _guard(self, fn: Callable[[], object]) -> None:
        """Run a write that is not expected to fail on data; if it does, it is fatal."""
        try:
            fn()
        except DataError as err:
            raise TargetError(f"{self.backend.name}: {err}", target=self.backend.name) from err

    def _bisect(
        self, lo: int, hi: int, attempt: Callable[[int, int], object], bad: Callable[[int, DataError], None]
    ) -> None:
        """Write [lo, hi) in a savepoint; on refusal retry halves until single bad rows are found."""
        if lo >= hi:
            return
        self._savepoints += 1
        sp = f"laden_sp_{self._savepoints}"
        self.backend.savepoint(sp)
        try:
            attempt(lo, hi)
        except DataError as err:
            self.backend.rollback_to(sp)
            self.backend.release(sp)
            if hi - lo == 1:
                bad(lo, err)
                return
            mid = (lo + hi) // 2
            self._bisect(lo, mid, attempt, bad)
            self._bisect(mid, hi, attempt, bad)
            return
        self.backend.release(sp)

    def _move_staged(self, st: TableState) -> None:
        """Move the staged rows into the table: one statement (per level), bad rows isolated."""
        tp, staging = st.plan, st.staging or ""
        upsert = self.options.strategy is Strategy.UPSERT
        self.backend.staged(staging)
        if upsert and self._optimistic_merge(st):
            return
        if upsert:
            self._drop_duplicates(st)
        if self.backend.isolation is Isolation.PRECHECK:
            bad = self.backend.precheck_staged(tp, staging, check_keys=not upsert)
            self._reject_staged(st, [(b.index, b.column, b.reason) for b in bad])
        filters, levels = [""], ""
        if tp.cycle_method is CycleMethod.LEVELS:
            fk = next(fk for fk in tp.table.foreign_keys if fk.ref_table == tp.table.name)
            levels, deepest, loose = self.backend.staged_levels(tp.table, staging, fk)
            why = (
                f"its parent ({', '.join(fk.columns)}) is neither in {tp.table.name!r} nor in the source, "
                "or rows form a loop"
            )
            self._reject_staged(st, [(row, fk.columns[0], why) for row in loose])
            r = self.backend.quote(ROW)
            filters = [f" AND {r} IN (SELECT r FROM {levels} WHERE d = {d})" for d in range(deepest + 1)]

        def statement(where: str) -> object:
            if upsert:
                return self.backend.merge(tp.table, staging, tp.target_columns, tp.keys, where)
            return self.backend.insert_from_staging(tp.table, staging, tp.target_columns, where, tp.deferred_columns)

        self._run_filters(st, statement, filters)
        if levels:
            self.backend.drop_staging(levels)

    def _optimistic_merge(self, st: TableState) -> bool:
        """Where the merge itself refuses a key twice (PostgreSQL, on keys with a unique index: a
        new key twice breaks the index, an existing one changed twice breaks MERGE), try it once
        before looking for duplicates and other bad rows: on clean data that is the whole job.
        A key given twice as the row already is escapes both; rows merged short of rows staged
        (unchanged rows are skipped) are the sign to look for it. False: look, then merge."""
        tp = st.plan
        unique = set(tp.keys) in [set(k) for k in tp.table.unique_keys()]
        if not (self.backend.caps.merge_refuses_duplicates and unique) or tp.cycle_method is CycleMethod.LEVELS:
            return False
        where = self.backend.row_range(st.first_row, st.next_row)
        self._savepoints += 1
        sp = f"laden_sp_{self._savepoints}"
        self.backend.savepoint(sp)
        staged = st.report.rows_read - st.report.rows_rejected
        try:
            merged = self.backend.merge(tp.table, st.staging or "", tp.target_columns, tp.keys, where)
        except DataError:
            clean = False
        else:
            clean = merged >= staged or not self.backend.has_duplicates(st.staging or "", tp.keys)
        if not clean:
            self.backend.rollback_to(sp)
        self.backend.release(sp)
        return clean

    def _run_filters(self, st: TableState, statement: Callable[[str], object], filters: list[str]) -> None:
        """Run ``statement`` over all staged rows once per filter (one per level, or one in all)."""
        lo, hi = st.first_row, st.next_row
        for extra in filters:
            if self.backend.isolation is Isolation.PRECHECK:
                self._guard(lambda extra=extra: statement(self.backend.row_range(lo, hi) + extra))  # type: ignore[misc]
                continue

            def bad_row(row: int, err: DataError) -> None:
                staged = functools.partial(self.backend.staged_row, st.staging or "", st.plan.target_columns, row)
                self._reject_staged(st, [(row, self._blame(st, err, staged), str(err))])

            self._bisect(lo, hi, lambda a, b, extra=extra: statement(self.backend.row_range(a, b) + extra), bad_row)  # type: ignore[misc]

    def _blame(self, st: TableState, err: DataError, row: Callable[[], Mapping[str, Any]]) -> str | None:
        """The column of a one-row refusal: the database's word, else what the backend can tell."""
        if err.column is not None:
            return err.column
        return self.backend.blame(st.plan.table, str(err), row())

    def _reject_staged(self, st: TableState, bad: Sequence[tuple[int, str | None, str]]) -> None:
        staging = st.staging or ""
        for row, column, reason in bad:
            self._bad_row(st, row, column, reason, self.backend.staged_row(staging, st.plan.target_columns, row))
        if bad:
            self.backend.delete_staged(staging, [row for row, _, _ in bad])

    def _drop_duplicates(self, st: TableState) -> None:
        """Upsert: a key twice in the source, or a unique value that belongs to another row, is a bad row."""
        tp, staging = st.plan, st.staging or ""
        present = {c.name for c in tp.target_columns}
        others = [u for u in tp.table.unique_keys() if set(u) <= present and set(u) != set(tp.keys)]
        for key in (tp.keys, *others):
            dups = self.backend.staged_duplicates(staging, key)
            bad = []
            for row, first in dups:
                values = self.backend.staged_row(staging, tp.target_columns, row)
                shown = ", ".join(f"{k}={values.get(k)!r}" for k in key)
                bad.append((row, key[0], f"duplicate key ({shown}): the same key is in row {first}"))
            self._reject_staged(st, bad)
        for key in others:
            taken = self.backend.taken_keys(tp.table, staging, key, tp.keys)
            why = f"its ({', '.join(key)}) already belongs to another row of {tp.table.name!r}"
            self._reject_staged(st, [(row, key[0], why) for row in taken])

    # -- cycles ---------------------------------------------------------------------------------
    def _second_phase(self, states: list[TableState]) -> None:
        """After every table of a two-phase cycle is in, set the FK columns that were written NULL."""
        for st in states:
            tp = st.plan
            if not (tp.deferred_columns and st.staging):
                continue
            try:
                self.backend.update_from_staging(tp.table, st.staging, tp.deferred_columns)
            except DataError as err:
                raise TargetError(
                    f"{self.backend.name}: table {tp.table.name!r}: setting {', '.join(tp.deferred_columns)} "
                    f"after the cycle's rows were in failed: {err}. Nothing was committed.",
                    target=self.backend.name,
                    table=tp.table.name,
                ) from err

    def _verify_fks(self, tables: list[TablePlan], *, all_fks: bool) -> None:
        names = {tp.table.name for tp in tables}
        for tp in tables:
            for fk in tp.table.foreign_keys:
                if not all_fks and fk.ref_table not in names:
                    continue
                count, sample = self.backend.orphans(tp.table, fk)
                if count:
                    shown = ", ".join(str(s if len(s) > 1 else s[0]) for s in sample)
                    raise BadRowError(
                        f"{self.backend.name}: table {tp.table.name!r}: {count} row(s) reference missing "
                        f"{fk.ref_table} rows through {fk.describe(tp.table.name)} (values: {shown}). Nothing was "
                        "committed; load the missing parent rows too.",
                        target=self.backend.name,
                        table=tp.table.name,
                        column=fk.columns[0],
                        reason="foreign key violation",
                    )

    # -- bookkeeping --------------------------------------------------------------------------
    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.cancelled:
            raise CancelledError(
                f"{self.backend.name}: load {self.load_id} cancelled; rolled back", target=self.backend.name
            )

    def _fail(self, exc: Exception, connected: bool) -> None:
        if connected:
            try:
                self.backend.rollback()
            except LadenError as rb:
                self.report.notes.append(f"rollback failed: {rb}")
        cancelled = isinstance(exc, CancelledError)
        self.report.status = Status.CANCELLED if cancelled else Status.FAILED
        if isinstance(exc, LadenError):
            message = str(exc)
        elif isinstance(exc, DataError):
            message = f"{self.backend.name}: {exc}"
        else:
            message = f"{type(exc).__name__}: {exc}"
        failing = getattr(exc, "table", None)
        current = next((t.table for t in self.report.tables if t.status is Status.FAILED), None)
        prefix = f"{self.backend.name}: "
        if failing is None and current and isinstance(exc, TargetError) and message.startswith(prefix):
            message = f"{prefix}table {current!r}: {message[len(prefix) :]}"  # say where it happened
        self.report.error = self.backend.clean(message)
        for t in self.report.tables:
            t.rows_loaded = 0
            if cancelled:
                t.status = Status.CANCELLED
            elif t.status is Status.FAILED or t.table == failing:
                t.status = Status.FAILED
                t.error = self.report.error
            elif t.status is Status.OK:
                t.status = Status.FAILED
                t.error = "rolled back: another table of this target failed"
        self.error = exc

    def _close(self) -> None:
        try:
            self.backend.close()
        except LadenError as exc:
            self.report.notes.append(f"closing the connection failed: {exc}")

    def _emit(self, kind: EventKind, table: str | None = None, rows: int = 0, status: str | None = None) -> None:
        if self.progress is not None:
            total = self.dataset.tables[table].rows() if table in self.dataset.tables else None
            self.progress(ProgressEvent(self.load_id, kind, self.backend.name, table, rows, total, status))


def _row_values(row: pa.RecordBatch) -> dict[str, Any]:
    """A rejected row's values for the rejects file. A zoned timestamp whose local time Python's
    datetime cannot hold (a year past 9999 in its zone) is given as its UTC instant instead."""
    try:
        first: dict[str, Any] = row.to_pylist()[0]
        return first
    except (OverflowError, ValueError):
        values: dict[str, Any] = {}
        for name, column in zip(row.schema.names, row.columns, strict=True):
            if pa.types.is_timestamp(column.type) and column.type.tz is not None:
                column = column.cast(pa.timestamp(column.type.unit, "UTC"))
            try:
                values[name] = column[0].as_py()
            except (OverflowError, ValueError):
                values[name] = str(column[0])
        return values
