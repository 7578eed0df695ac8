"""``laden runs list|show|cancel``: the loads and backfills recorded in the state store."""

from __future__ import annotations

from laden import loads
from laden.cli.commands import EXIT_OK, Context
from laden.loads import Run


def runs(ctx: Context) -> int:
    args = ctx.args
    if args.runs_command == "list":
        found = loads.active() if args.active else loads.history(limit=args.limit)
        if args.json:
            ctx.emit_json({"runs": [r.to_dict() for r in found]})
        elif not found:
            ctx.emit("no runs" + (" active" if args.active else " recorded"))
        else:
            ctx.emit(_table(found))
        return EXIT_OK
    if args.runs_command == "show":
        run = loads.status(args.id)
        ctx.emit_json(run.to_dict()) if args.json else ctx.emit(_describe(run))
        return EXIT_OK
    run = loads.cancel(args.id)
    if args.json:
        ctx.emit_json(run.to_dict())
    else:
        ctx.emit(
            f"asked {run.kind.value} {run.id} to stop; it rolls back at its next batch (`laden runs show {run.id}`)"
        )
    return EXIT_OK


def _table(found: list[Run]) -> str:
    head = ("id", "kind", "status", "rows", "started (UTC)", "seconds", "targets")
    rows = [
        (r.id, r.kind.value, r.status.value, f"{r.rows:,}", r.to_dict()["started"][:19].replace("T", " "),
         f"{r.duration_s:.1f}", ", ".join(r.targets))
        for r in found
    ]  # fmt: skip
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    return "\n".join(
        "  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip() for line in [head, *rows]
    )


def _describe(run: Run) -> str:
    d = run.to_dict()
    lines = [f"{run.kind.value} {run.id}: {run.status.value}" + (" (cancel requested)" if run.cancel_requested else "")]
    lines += [f"  targets:  {', '.join(run.targets)}", f"  rows:     {run.rows:,}"]
    lines += [f"  started:  {d['started']}", f"  ended:    {d['ended'] or '-'}", f"  seconds:  {d['duration_s']}"]
    lines += [f"  process:  {run.pid} on {run.host}"]
    if run.error:
        lines.append(f"  error:    {run.error}")
    return "\n".join(lines)
