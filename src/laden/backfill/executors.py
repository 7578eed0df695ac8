"""Where windows run: local worker processes, or an existing Dask distributed cluster.

Local workers are spawned processes that die with the coordinator (Linux: a parent-death
signal), so a killed backfill leaves no worker committing behind it; their open
transactions roll back. Dask workers need laden (with the extras of the source and target)
installed and must reach the source and the target themselves; a task carries the target's
connection URL, so use TLS between the scheduler and its workers when passwords are involved.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import multiprocessing
import signal
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from laden.errors import MissingDriverError, UsageError

if TYPE_CHECKING:
    from laden.backfill.run import Backfill, WindowResult


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class LocalExecutor:
    def __init__(self, workers: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.pool = cf.ProcessPoolExecutor(max(1, workers), mp_context=context, initializer=_die_with_parent)

    def submit(self, fn: Callable[..., Any], task: Any) -> Any:
        return self.pool.submit(fn, task)

    def wait_first(self, futures: list[Any], timeout: float) -> list[Any]:
        done, _ = cf.wait(futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return list(done)

    def result(self, future: Any, index: int) -> WindowResult:
        from laden.backfill.run import WindowResult

        try:
            result: WindowResult = future.result()
        except Exception as exc:  # the worker process died or the task could not run: the window failed
            return WindowResult(index, False, error=f"the worker failed: {type(exc).__name__}: {exc}")
        return result

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    def __init__(self, address: str) -> None:
        try:
            from distributed import Client
        except ImportError as exc:
            raise MissingDriverError(
                "a Dask cluster needs the distributed package: pip install 'laden[cluster]'"
            ) from exc
        try:
            self.client = Client(address, timeout=30)  # type: ignore[no-untyped-call]
        except OSError as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc

    def submit(self, fn: Callable[..., Any], task: Any) -> Any:
        return self.client.submit(fn, task, pure=False)

    def wait_first(self, futures: list[Any], timeout: float) -> list[Any]:
        from distributed import wait

        try:
            done, _ = wait(futures, timeout=timeout, return_when="FIRST_COMPLETED")  # type: ignore[no-untyped-call]
        except TimeoutError:  # distributed raises the builtin (Python 3.11+)
            return []
        return list(done)

    def result(self, future: Any, index: int) -> WindowResult:
        from laden.backfill.run import WindowResult

        try:
            result: WindowResult = future.result()
        except Exception as exc:  # a worker lost, or the task failed on the cluster: the window failed
            return WindowResult(index, False, error=f"the Dask task failed: {type(exc).__name__}: {exc}")
        return result

    def close(self) -> None:
        self.client.close()  # type: ignore[no-untyped-call]


@contextlib.contextmanager
def executor_for(backfill: Backfill) -> Iterator[LocalExecutor | DaskExecutor]:
    executor = DaskExecutor(backfill.cluster) if backfill.cluster else LocalExecutor(backfill.workers)
    try:
        yield executor
    finally:
        executor.close()
