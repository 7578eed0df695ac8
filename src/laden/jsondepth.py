"""How deep a JSON Lines file nests objects and arrays, found before pyarrow parses it.

pyarrow's JSON parser is quadratic in the nesting depth (10,000 levels: about 20 s inside C++,
where no signal reaches) and overflows the stack beyond about 20,000, killing the process. So a
file nesting deeper than :data:`MAX_DEPTH` is refused first, with the line that does it. The scan
is one vectorised pass (about 140 MB/s); a chunk is looked at closely only when some line of it
holds more brackets than the limit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

MAX_DEPTH = 64
_CHUNK = 4 << 20


def too_deep(path: str, compression: str | None, limit: int = MAX_DEPTH) -> int | None:
    """The first line of the file nesting objects and arrays more than ``limit`` deep, or None."""
    lines, rest = 0, b""
    with pa.input_stream(path, compression=compression) as stream:
        while True:
            data = stream.read(_CHUNK)
            chunk = rest + data
            if data:
                cut = chunk.rfind(b"\n") + 1
                chunk, rest = chunk[:cut], chunk[cut:]
                if not chunk:
                    continue
            found = _deepest(chunk, limit)
            if found is not None:
                return lines + found
            if not data:
                return None
            lines += chunk.count(b"\n")


def _deepest(chunk: bytes, limit: int) -> int | None:
    """1-based line of ``chunk`` (whole lines) nesting objects / arrays more than ``limit`` deep, or None.

    A ``[`` or ``{`` in a string does not count; a string ends at a ``"`` after an even number of
    backslashes.
    """
    if chunk.count(b"[") + chunk.count(b"{") <= limit:
        return None
    a = np.frombuffer(chunk, dtype=np.uint8)
    newline = a == 0x0A
    opening = (a == 0x5B) | (a == 0x7B)
    newlines = np.flatnonzero(newline)
    opened = np.cumsum(opening, dtype=np.int32)[np.append(newlines, len(a) - 1)]
    if not (np.diff(opened, prepend=0) > limit).any():  # brackets per line
        return None
    index = np.arange(len(a), dtype=np.int32)
    line_start = np.maximum.accumulate(np.where(newline, index, -1))  # sums below restart at each newline

    def per_line_sum(values: Any) -> Any:
        total = np.cumsum(values, dtype=np.int32)
        return total - np.where(line_start >= 0, total[np.maximum(line_start, 0)], 0)

    last_plain = np.maximum.accumulate(np.where(a == 0x5C, -1, index))
    quotes = np.flatnonzero(a == 0x22)
    before = np.where(quotes > 0, last_plain[np.maximum(quotes - 1, 0)], -1)
    real = np.zeros(len(a), dtype=np.int8)
    real[quotes[(quotes - 1 - before) % 2 == 0]] = 1  # not after an odd number of backslashes
    outside = per_line_sum(real) % 2 == 0
    step = (opening & outside).astype(np.int8) - (((a == 0x5D) | (a == 0x7D)) & outside).astype(np.int8)
    deep = np.flatnonzero(per_line_sum(step) > limit)
    return int(np.searchsorted(newlines, deep[0])) + 1 if len(deep) else None
