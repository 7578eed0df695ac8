"""The ``laden`` command: parse, call the library, render. Nothing else lives here.

``parser`` declares the commands, ``commands`` runs each one against the library, ``render``
turns results into text, ``progress`` draws the bars. :func:`main` maps errors to exit codes
and one or two lines of text; a traceback only with ``--debug``.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from typing import TextIO

from laden.cli.commands import COMMANDS, EXIT_FAILED, EXIT_OK, EXIT_USAGE, Context
from laden.cli.parser import build_parser
from laden.cli.runs import runs
from laden.errors import LadenError, SchemaMismatchError, SourceError, UnsupportedError, UsageError
from laden.urls import mask_url

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "main"]


def _backfill(ctx: Context) -> int:
    from laden.cli.backfill import backfill  # ~0.05 s of imports no other command needs

    return backfill(ctx)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    ctx = Context(args, out, err)
    try:
        return {**COMMANDS, "runs": runs, "backfill": _backfill}[args.command](ctx)
    except (UsageError, SourceError, SchemaMismatchError, UnsupportedError) as exc:
        _error(ctx, exc)
        return EXIT_USAGE
    except LadenError as exc:
        _error(ctx, exc)
        return EXIT_FAILED
    except KeyboardInterrupt:
        err.write("laden: interrupted\n")
        return EXIT_FAILED
    except Exception as exc:  # a bug: say so briefly, the traceback is one flag away
        if ctx.debug:
            raise
        err.write(f"laden: internal error: {type(exc).__name__}: {ctx.scrub(str(exc))}\n")
        err.write("laden: run again with --debug for the traceback, and please report it\n")
        return EXIT_FAILED


def _error(ctx: Context, exc: BaseException) -> None:
    if ctx.debug:
        ctx.err.write(ctx.scrub("".join(traceback.format_exception(exc))))
    ctx.err.write(f"laden: error: {ctx.scrub(mask_url(str(exc)))}\n")
