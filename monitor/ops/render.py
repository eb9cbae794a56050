"""``monitor status`` as text for a terminal (pure): one line per part, its verdict first."""

from __future__ import annotations

from monitor.ops.status import Status
from schemas.events import format_time_ms


def _time(ms: int | None) -> str:
    return "-" if not ms else format_time_ms(ms)


def render(status: Status) -> str:
    v = status.verdict
    lines = [
        f"{v.word.upper()}  {v.reason}",
        f"watermark {_time(status.watermark_ms)}   at {_time(status.at_ms)}",
        "",
    ]
    for g in status.groups:
        members = ", ".join(g.members) or "none"
        lines.append(
            f"{g.verdict.word:<8}{g.role} group {g.group_id} ({g.state}; members: {members})"
        )
        if g.verdict.word != "ok":
            lines.append(f"        {g.verdict.reason}")
        lines.append(f"        {'partition':<40}{'committed':>11}{'end':>11}{'lag':>9}  watermark")
        for p in g.partitions:
            committed = "-" if p.committed is None else str(p.committed)
            lines.append(
                f"  {p.verdict.word:<6}{p.partition:<40}{committed:>11}{p.end:>11}{p.lag:>9}"
                f"  {_time(p.watermark_ms)}"
            )
    lines.append("")
    for part in status.parts:
        detail = "  ".join(f"{k}={'-' if x is None else x}" for k, x in part.detail.items())
        reason = "" if part.verdict.word == "ok" else f"  ({part.verdict.reason})"
        lines.append(f"{part.verdict.word:<8}{part.part:<18}{detail}{reason}")
    dead = ", ".join(f"{k}={n}" for k, n in sorted(status.deadletters_5m.items())) or "none"
    lines.append(f"{'':<8}{'deadletters 5m':<18}{dead}  (over {status.deadletters_span_s:.0f}s)")
    return "\n".join(lines)
