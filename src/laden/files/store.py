"""The storage under a file target's root: a local directory (plain ``os``) or an fsspec filesystem.

Paths given to a :class:`Store` are relative to the root, '/'-separated and already checked
(:mod:`laden.files.layout`). Every failure is a :class:`StoreError` naming what was being done
and where (the root shown masked).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa

from laden.errors import LadenError, MissingDriverError
from laden.files.spec import Compression, FileFormat, FileSpec

__all__ = ["OutputFile", "Store", "StoreError"]

#: write buffer in front of every file (pyarrow's writers make many small writes)
_BUFFER = 1 << 20
#: upload part size for object stores (s3fs' default is 50 MiB per open file)
_BLOCK_SIZE = 8 << 20
_INSTALL = {"gs": "pip install gcsfs", "gcs": "pip install gcsfs"}
_INSTALL |= {"az": "pip install adlfs", "abfs": "pip install adlfs", "abfss": "pip install adlfs"}


class StoreError(LadenError):
    """An operation on the target's storage failed."""


class OutputFile:
    """One file being written: ``stream`` is what the format writer writes to."""

    def __init__(self, stream: pa.NativeFile, shown: str) -> None:
        self.stream = stream
        self.shown = shown

    def close(self) -> None:
        """Flush and close (closing the top stream closes the buffers and the file below it); an
        object store takes the upload here."""
        try:
            self.stream.close()
        except Exception as exc:
            raise StoreError(f"cannot write {self.shown}: {type(exc).__name__}: {exc}") from exc

    def abort(self) -> None:
        """Close without caring about errors: the file lies in the staging area and is removed with it."""
        with contextlib.suppress(Exception):
            self.stream.close()


class Store:
    def __init__(self, spec: FileSpec) -> None:
        self.spec = spec
        self.local = spec.is_local
        self.fs: Any = None
        self._created: list[str] = []
        if self.local:
            self.base = os.path.abspath(os.path.expanduser(spec.root)).replace(os.sep, "/").rstrip("/") or "/"
            return
        import fsspec  # type: ignore[import-untyped, unused-ignore]

        try:
            self.fs, path = fsspec.core.url_to_fs(spec.root, **dict(spec.storage_options))
        except ImportError as exc:
            scheme = spec.root.partition("://")[0].lower()
            install = _INSTALL.get(scheme, "pip install 'laden[files]'")
            raise MissingDriverError(
                f"{spec.display}: {scheme}:// needs an fsspec driver that is not installed ({exc}); "
                f"install it: {install}"
            ) from exc
        except (ValueError, TypeError) as exc:
            raise StoreError(f"{spec.display}: cannot open the location: {exc}") from exc
        self.base = str(path).rstrip("/")

    # -- paths --------------------------------------------------------------------------------
    def path(self, rel: str) -> str:
        return f"{self.base}/{rel}" if rel else self.base

    def shown(self, rel: str) -> str:
        """``rel`` under the root, for messages."""
        return f"{self.spec.display.rstrip('/')}/{rel}" if rel else self.spec.display

    def _local(self, rel: str) -> str:
        """The local path of ``rel``; refused when a symbolic link on the way leads outside the root."""
        path = os.path.join(self.base, *rel.split("/")) if rel else self.base
        probe = os.path.dirname(path)
        while probe != self.base and len(probe) > len(self.base) and not os.path.lexists(probe):
            probe = os.path.dirname(probe)
        if len(probe) >= len(self.base) and os.path.lexists(probe):
            root, real = os.path.realpath(self.base), os.path.realpath(probe)
            if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
                raise StoreError(
                    f"{self.shown(rel)}: a symbolic link on the way leads outside {self.spec.display} "
                    f"(to {real}); nothing is written through it. Remove the link or choose another root."
                )
        return path

    @contextlib.contextmanager
    def _io(self, action: str, rel: str) -> Iterator[None]:
        try:
            yield
        except Exception as exc:  # OSError, and whatever fsspec drivers raise (botocore, aiohttp, ...)
            raise StoreError(f"cannot {action} {self.shown(rel)}: {type(exc).__name__}: {exc}") from exc

    # -- the root -----------------------------------------------------------------------------
    def prepare(self) -> None:
        """Create a local root (and remember which directories were new); forget cached listings."""
        if not self.local:
            with self._io("reach", ""):
                self.fs.invalidate_cache()
            return
        missing, path = [], self.base
        while path and not os.path.isdir(path):
            missing.append(path)
            parent = os.path.dirname(path)
            if parent == path:
                break
            path = parent
        with self._io("create the directory", ""):
            os.makedirs(self.base, exist_ok=True)
        self._created = missing

    def forget_new_root(self) -> None:
        """After a failed load: remove the root directories :meth:`prepare` created, if still empty."""
        for path in self._created:
            with contextlib.suppress(OSError):
                os.rmdir(path)

    # -- files --------------------------------------------------------------------------------
    def open(self, rel: str) -> OutputFile:
        """A new file at ``rel`` (its directories made), compressed as the spec says for text formats."""
        with self._io("create", rel):
            if self.local:
                local = self._local(rel)
                os.makedirs(os.path.dirname(local), exist_ok=True)
                raw: pa.NativeFile = pa.OSFile(local, "wb")
            else:
                raw = pa.PythonFile(self.fs.open(self.path(rel), "wb", block_size=_BLOCK_SIZE), mode="w")
            stream: pa.NativeFile = pa.BufferedOutputStream(raw, _BUFFER)
            codec = self.spec.codec
            if self.spec.format is not FileFormat.PARQUET and codec is not Compression.NONE:
                stream = pa.CompressedOutputStream(stream, codec.value)
        return OutputFile(stream, self.shown(rel))

    def exists(self, rel: str) -> bool:
        with self._io("look for", rel):
            if self.local:
                return os.path.lexists(self._local(rel))
            self.fs.invalidate_cache()  # s3fs answers from cached listings
            return bool(self.fs.exists(self.path(rel)))

    def move(self, src: str, dst: str) -> None:
        """Put ``src`` at ``dst``, replacing it: an atomic rename locally, copy + delete on object stores."""
        with self._io("publish", dst):
            if self.local:
                target = self._local(dst)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                os.replace(self._local(src), target)
            else:
                self.fs.mv(self.path(src), self.path(dst))

    def keep_copy(self, src: str, dst: str) -> None:
        """A copy of ``src`` at ``dst`` (a hard link where the local filesystem allows)."""
        with self._io("back up", src):
            if not self.local:
                self.fs.copy(self.path(src), self.path(dst))
                return
            target = self._local(dst)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            try:
                os.link(self._local(src), target)
            except OSError:
                shutil.copy2(self._local(src), target)

    def find(self, directory: str, depth: int) -> list[str]:
        """Relative paths of the files at most ``depth`` levels below ``directory``."""
        with self._io("list", directory):
            if self.local:
                return self._list_local(directory, depth)
            self.fs.invalidate_cache()
            found = self.fs.find(self.path(directory), maxdepth=depth)
        prefix = self.base + "/"
        return sorted(str(p)[len(prefix) :] for p in found if str(p).startswith(prefix))

    def _list_local(self, directory: str, depth: int) -> list[str]:
        top = self._local(directory)
        out: list[str] = []
        for here, dirs, files in os.walk(top):
            level = 0 if here == top else os.path.relpath(here, top).count(os.sep) + 1
            if level + 1 >= depth:
                dirs.clear()
            if level < depth:
                rel = os.path.relpath(here, self.base).replace(os.sep, "/")
                out.extend(name if rel == "." else f"{rel}/{name}" for name in files)
        return sorted(out)

    def delete(self, rels: Sequence[str]) -> None:
        """Remove files (and, locally, directories they leave empty, up to the root)."""
        if not rels:
            return
        with self._io("remove", rels[0]):
            if not self.local:
                self.fs.rm([self.path(r) for r in rels])
                return
            for rel in rels:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(self._local(rel))
            for rel in rels:
                self._prune(rel.rpartition("/")[0])

    def _prune(self, rel: str) -> None:
        while rel:
            try:
                os.rmdir(self._local(rel))
            except OSError:
                return  # not empty (or gone): stop
            rel = rel.rpartition("/")[0]

    def remove_tree(self, rel: str) -> None:
        """Remove ``rel`` and everything below it, if it exists."""
        with self._io("remove", rel):
            if self.local:
                if os.path.lexists(self._local(rel)):
                    shutil.rmtree(self._local(rel))
                return
            self.fs.invalidate_cache()
            if self.fs.exists(self.path(rel)):
                self.fs.rm(self.path(rel), recursive=True)
            self.fs.invalidate_cache()
