"""Render a GradeReport as text (for a terminal), markdown (for GitHub) or JSON (for programs).

The JSON follows schemas/report.schema.json, generated from the pydantic model (a test keeps the
two identical).
"""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

from .models import GradeReport, PointResult

SYMBOL = {"covered": "\u2713", "partial": "\u25d0", "missed": "\u2717"}
STYLE = {"covered": "green", "partial": "yellow", "missed": "red"}
FLAG_TEXT = {
    "unverified-quote": "the judge quoted text that is not in the answer; no credit from that quote",
    "uncorroborated": "the judge's credit is not backed by keywords or sentence similarity",
    "keyword-only": "the answer has the keywords but no statement of the point",
    "suspected-injection": "the answer contains text addressed to the grader; it earns nothing",
    "too-short": "the answer is too short to grade",
    "off-topic": "nothing in the answer is about the question",
    "critical-missed": "a critical point is missed, so the score is capped",
}


def report_schema() -> dict[str, Any]:
    """The JSON Schema of `grader grade --format json` output."""
    schema = GradeReport.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def to_json(report: GradeReport) -> str:
    return report.model_dump_json(indent=2)


def _status(p: PointResult) -> str:
    return f"{SYMBOL[p.verdict]} {p.verdict}"


def _missed_lines(report: GradeReport) -> list[tuple[PointResult, str]]:
    out = []
    for p in report.points:
        if p.verdict == "covered":
            continue
        what = "partly covered" if p.verdict == "partial" else "missed"
        out.append((p, what))
    return out


def to_markdown(report: GradeReport) -> str:
    r = report
    lines = [
        f"## Question {r.question_number}: {r.question}",
        "",
        f"**Score: {r.score:g}/100**"
        + (f" (capped from {r.uncapped_score:g})" if r.score < r.uncapped_score else "")
        + f" \u00b7 confidence: {r.confidence} \u00b7 graded by {r.grader}",
        "",
        "| # | Key point | Status | Evidence from the answer |",
        "|---|---|---|---|",
    ]
    for i, p in enumerate(r.points, 1):
        point = p.text + (" **(critical)**" if p.critical else "")
        evidence = f"\u201c{p.evidence.quote}\u201d" if p.evidence else ""
        lines.append(f"| {i} | {_md_cell(point)} | {_status(p)} | {_md_cell(evidence)} |")
    missed = _missed_lines(r)
    if missed:
        lines += ["", "### What to add", ""]
        for p, what in missed:
            crit = " (critical)" if p.critical else ""
            lines.append(f"- **{p.text}**{crit} \u2014 {what}.")
            if p.feedback:
                lines.append(f"  {p.feedback}")
            if p.expected:
                lines.append(f"  An interviewer expects something like: \u201c{p.expected}\u201d")
    if r.feedback:
        lines += ["", f"**Feedback:** {r.feedback}"]
    if r.flags:
        lines += ["", "**Flags:** " + "; ".join(f"`{f}`: {FLAG_TEXT.get(f, f)}" for f in r.flags)]
    for c in r.caveats:
        lines += ["", f"> {c}"]
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_text(report: GradeReport, *, color: bool = False, width: int = 100) -> str:
    """The terminal report: score, a table of points, then the missed points spelled out."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buffer = StringIO()
    console = Console(
        file=buffer, width=width, force_terminal=color, no_color=not color, highlight=False
    )
    r = report
    console.print(Text(f"Question {r.question_number} \u00b7 {r.question_id}", style="bold"))
    console.print(r.question)
    console.print()
    filled = round(r.score / 5)
    bar = "\u2588" * filled + "\u2591" * (20 - filled)
    score_style = "green" if r.score >= 75 else "yellow" if r.score >= 50 else "red"
    line = Text("Score ", style="bold")
    line.append(f"{r.score:g}/100", style=f"bold {score_style}")
    line.append(f"  {bar}  ")
    line.append(f"confidence: {r.confidence}")
    if r.score < r.uncapped_score:
        line.append(f"  (capped from {r.uncapped_score:g}: a critical point is missed)")
    console.print(line)
    console.print(Text(f"Graded by {r.grader}", style="dim"))
    console.print()

    table = Table(show_lines=False, expand=True, header_style="bold")
    table.add_column("#", justify="right", width=2)
    table.add_column("Key point", ratio=3)
    table.add_column("Status", width=10, no_wrap=True)
    table.add_column("Evidence from your answer", ratio=3)
    for i, p in enumerate(r.points, 1):
        point = Text(p.text)
        if p.critical:
            point.append(" (critical)", style="bold")
        evidence = Text("")
        if p.evidence:
            evidence = Text(f"\u201c{p.evidence.quote}\u201d", style="italic")
            if p.evidence.line:
                evidence.append(f" (line {p.evidence.line})", style="dim")
        if p.flags:
            evidence.append(" [" + ", ".join(p.flags) + "]", style="magenta")
        table.add_row(str(i), point, Text(_status(p), style=STYLE[p.verdict]), evidence)
    console.print(table)

    missed = _missed_lines(r)
    if missed:
        console.print()
        console.print(Text("What to add", style="bold underline"))
        for p, what in missed:
            head = Text(f"{SYMBOL[p.verdict]} ", style=STYLE[p.verdict])
            head.append(p.text, style="bold")
            head.append(f"  ({what}{', critical' if p.critical else ''})")
            console.print(head)
            if p.feedback:
                console.print(Text(f"   {p.feedback}"))
            if p.expected:
                console.print(
                    Text(
                        f"   An interviewer expects something like: \u201c{p.expected}\u201d",
                        style="dim",
                    )
                )
    if r.feedback:
        console.print()
        console.print(Text("Feedback: ", style="bold") + Text(r.feedback))
    if r.flags:
        console.print()
        for f in r.flags:
            console.print(Text(f"! {f}: {FLAG_TEXT.get(f, f)}", style="magenta"))
    for c in r.caveats:
        console.print()
        console.print(Text(f"Note: {c}", style="dim"))
    return buffer.getvalue()


def render(report: GradeReport, fmt: str, *, color: bool = False, width: int = 100) -> str:
    if fmt == "json":
        return to_json(report) + "\n"
    if fmt == "markdown":
        return to_markdown(report)
    return to_text(report, color=color, width=width)


def dumps_schema() -> str:
    return json.dumps(report_schema(), indent=2) + "\n"
