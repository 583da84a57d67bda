"""Render a GradeReport as text (for a terminal), markdown (for GitHub) or JSON (for programs).

The JSON follows schemas/report.schema.json, generated from the pydantic model (a test keeps the
two identical).
"""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

from .models import OFFLINE_CAVEAT, GradeReport, PointResult
from .scrub import printable_model

SYMBOL = {"covered": "\u2713", "partial": "\u25d0", "missed": "\u2717", "contradicted": "\u2260"}
STYLE = {"covered": "green", "partial": "yellow", "missed": "red", "contradicted": "bold red"}
WHAT = {"partial": "partly covered", "missed": "missed", "contradicted": "stated incorrectly"}
FLAG_TEXT = {
    "unverified-quote": "the judge quoted text that is not in the answer; no credit from that quote",
    "uncorroborated": "the judge's credit is not backed by keywords or sentence similarity",
    "keyword-only": "the answer has the keywords but no statement of the point",
    "suspected-injection": "the answer contains text addressed to the grader; it earns nothing",
    "too-short": "the answer is too short to grade",
    "off-topic": "nothing in the answer is about the question",
    "critical-missed": "a critical point is missed or stated wrongly, so the score is capped",
    "negated": "the answer says this point's content under a negation the point does not have",
    "misconception": "the answer repeats a known misconception about this point",
    "conflicting-term": "the answer names a specific that contradicts this point",
    "judge-contradicted": "the LLM judge found this point stated wrongly",
    "samples-disagree": "repeated judge samples disagree on this point; the majority counts",
    "samples-failed": "some judge samples failed; the vote is over the others (not cached)",
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
    """The points to work on, wrong statements first: unlearning comes before adding."""
    todo = [p for p in report.points if p.verdict != "covered"]
    todo.sort(key=lambda p: p.verdict != "contradicted")
    return [(p, WHAT[p.verdict]) for p in todo]


def _todo_heading(report: GradeReport) -> str:
    return "What to fix and add" if report.contradicted else "What to add"


def flag_labels(p: PointResult) -> list[str]:
    """A point's flags as shown; a disagreement of judge samples with its count of each verdict."""
    return [f"{f}: {votes_text(p)}" if f == "samples-disagree" and p.votes else f for f in p.flags]


def votes_text(p: PointResult) -> str:
    """ "covered 2, partial 1": how many judge samples gave each verdict."""
    return ", ".join(f"{v} {n}" for v, n in (p.votes or {}).items())


def correction_line(p: PointResult) -> str | None:
    """ "You said '...'; in fact ..." for a contradicted point (None for the others)."""
    if p.verdict != "contradicted":
        return None
    fact = p.correction or p.text
    if p.evidence is None:
        return f"In fact: {fact}"
    return f"You said \u201c{p.evidence.quote}\u201d; in fact: {fact}"


def to_markdown(report: GradeReport) -> str:
    r = printable_model(report)  # a report is read in terminals and editors: no control codes
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
        status = _status(p) + (f" (samples: {votes_text(p)})" if p.votes and len(p.votes) > 1 else "")
        lines.append(f"| {i} | {_md_cell(point)} | {status} | {_md_cell(evidence)} |")
    missed = _missed_lines(r)
    if missed:
        lines += ["", f"### {_todo_heading(r)}", ""]
        for p, what in missed:
            crit = " (critical)" if p.critical else ""
            lines.append(f"- **{p.text}**{crit} \u2014 {what}.")
            if fix := correction_line(p):
                lines.append(f"  {fix}")
            if p.feedback:
                lines.append(f"  {p.feedback}")
            if p.expected and p.verdict != "contradicted":
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
    r = printable_model(report)  # rich removes only some control characters: remove them all
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
    table.add_column("Status", width=14, no_wrap=True)  # "≠ contradicted"
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
            evidence.append(" [" + "; ".join(flag_labels(p)) + "]", style="magenta")
        table.add_row(str(i), point, Text(_status(p), style=STYLE[p.verdict]), evidence)
    console.print(table)

    missed = _missed_lines(r)
    if missed:
        console.print()
        console.print(Text(_todo_heading(r), style="bold underline"))
        for p, what in missed:
            head = Text(f"{SYMBOL[p.verdict]} ", style=STYLE[p.verdict])
            head.append(p.text, style="bold")
            head.append(f"  ({what}{', critical' if p.critical else ''})")
            console.print(head)
            if fix := correction_line(p):
                console.print(Text(f"   {fix}"))
            if p.feedback:
                console.print(Text(f"   {p.feedback}"))
            if p.expected and p.verdict != "contradicted":
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
    """The report in `fmt`. JSON keeps every string as it is (JSON escapes control characters);
    the other formats go to terminals and files people open, so every string of the report
    (answer quotes, the judge's feedback, a sheet's text, file names) is made printable first."""
    if fmt == "json":
        return to_json(report) + "\n"
    if fmt == "markdown":
        return to_markdown(report)
    return to_text(report, color=color, width=width)


def dumps_schema() -> str:
    """The shipped schemas/report.schema.json, regenerated (tests/test_grade_cli.py says how)."""
    return json.dumps(report_schema(), indent=2) + "\n"


# -- whole sheets ---------------------------------------------------------------------------------


def _missed_summary(row: Any) -> str:
    if row.status != "graded" or row.report is None:
        return {"unanswered": "unanswered", "unknown": "not in the bank", "error": "not graded"}.get(
            row.status, ""
        )
    n = len(row.report.points)
    wrong = f" ({len(row.contradicted)} wrong)" if row.contradicted else ""
    return f"{len(row.missed)} of {n}{wrong}"


def _totals_line(report: Any) -> str:
    t = report.totals
    if t.mean_score is None:
        parts = ["no answer graded", f"{t.unanswered} unanswered"]
    else:
        plural = "s" if t.graded != 1 else ""
        parts = [
            f"mean score {t.mean_score:g}/100 over {t.graded} graded answer{plural}",
            f"{t.unanswered} unanswered",
        ]
    if t.unknown:
        parts.append(f"{t.unknown} not in the bank")
    if t.errors:
        parts.append(f"{t.errors} could not be graded")
    if t.cached:
        parts.append(f"{t.cached} from the cache")
    return "; ".join(parts)


def sheet_to_text(report: Any, *, color: bool = False, width: int = 100) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buffer = StringIO()
    console = Console(
        file=buffer, width=width, force_terminal=color, no_color=not color, highlight=False
    )
    several = len(report.files) > 1
    table = Table(expand=True, header_style="bold")
    if several:
        table.add_column("file", ratio=1)
    table.add_column("#", justify="right", width=3)
    table.add_column("question", ratio=4)
    table.add_column("score", justify="right", width=7)
    table.add_column("points missed", width=20)
    for row in report.rows:
        if row.score is not None:
            style = "green" if row.score >= 75 else "yellow" if row.score >= 50 else "red"
            score = Text(f"{row.score:g}", style=style)
        else:
            score = Text("-", style="dim")
        # Text(), not str: a sheet's own text may contain "[...]", which rich would read as markup.
        cells = [Text(str(row.number)), Text(row.question), score, Text(_missed_summary(row))]
        table.add_row(*([Text(row.source)] if several else []), *cells)
    console.print(table)
    for row in report.rows:
        if row.status == "error":
            console.print(Text(f"\nQuestion {row.number}: {row.error}", style="red"))
        elif row.status == "unknown":
            console.print(Text(f"\nQuestion {row.number} ({row.source}): {row.error}", style="magenta"))
        elif row.report is not None and row.missed:
            head = Text(f"\nQuestion {row.number} \u00b7 {row.question_id} \u00b7 ", style="bold")
            head.append(f"{row.score:g}/100")
            console.print(head)
            for p in row.report.points:
                if p.verdict == "covered":
                    continue
                line = Text(f"  {SYMBOL[p.verdict]} ", style=STYLE[p.verdict])
                line.append(p.text + (" (critical)" if p.critical else ""))
                console.print(line)
                if fix := correction_line(p):
                    console.print(Text(f"    {fix}", style=STYLE["contradicted"]))
    console.print()
    console.print(Text(_totals_line(report), style="bold"))
    console.print(Text(f"Graded by {report.grader}", style="dim"))
    if report.backend == "offline":
        console.print(Text(f"Note: {OFFLINE_CAVEAT}", style="dim"))
    return buffer.getvalue()


def sheet_to_markdown(report: Any) -> str:
    several = len(report.files) > 1
    lines = ["# Answer sheet report", "", f"{_totals_line(report)}. Graded by {report.grader}.", ""]
    head = (["File"] if several else []) + ["#", "Question", "Score", "Points missed"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in report.rows:
        score = f"{row.score:g}" if row.score is not None else "\u2013"
        cells = ([row.source] if several else []) + [
            str(row.number),
            _md_cell(row.question),
            score,
            _missed_summary(row),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    details = [r for r in report.rows if r.missed or r.status in ("error", "unknown")]
    if details:
        lines += ["", "## Missed points"]
    for row in details:
        if row.status == "error":
            lines += ["", f"### Question {row.number}", "", f"{row.error[:1].upper()}{row.error[1:]}"]
            continue
        if row.status == "unknown":
            lines += ["", f"### Question {row.number} ({row.source})", "", f"{row.error}."]
            continue
        lines += ["", f"### Question {row.number}: {row.question_id} ({row.score:g}/100)", ""]
        for p in row.report.points:
            if p.verdict != "covered":
                crit = " **(critical)**" if p.critical else ""
                lines.append(f"- {SYMBOL[p.verdict]} {p.verdict}: {p.text}{crit}")
                if fix := correction_line(p):
                    lines.append(f"  {fix}")
    if report.backend == "offline":
        lines += ["", f"> Note: {OFFLINE_CAVEAT}"]
    return "\n".join(lines) + "\n"


def sheet_to_junit(report: Any) -> str:
    """JUnit XML: one test case per question, so CI systems list the questions. A question fails
    when its score is below --fail-under (if given); an answer that could not be graded is an
    error; unanswered and unknown entries are skipped."""
    import xml.etree.ElementTree as ET

    rows = report.rows
    t = report.totals
    failures = [
        r
        for r in rows
        if report.fail_under is not None and r.score is not None and r.score < report.fail_under
    ]
    suite = ET.Element(
        "testsuite",
        name="answer-grader",
        tests=str(len(rows)),
        failures=str(len(failures)),
        errors=str(t.errors),
        skipped=str(t.unanswered + t.unknown),
    )
    for row in rows:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=row.source,
            name=f"Question {row.number}: {row.question_id or row.question}",
        )
        if row.status == "error":
            ET.SubElement(case, "error", message=row.error or "could not grade")
        elif row.status in ("unanswered", "unknown"):
            ET.SubElement(case, "skipped", message=row.error or "unanswered")
        elif row.report is not None:
            missed = [
                f"{p.verdict}: {p.text}" + (f" ({fix})" if (fix := correction_line(p)) else "")
                for p in row.report.points
                if p.verdict != "covered"
            ]
            if row in failures:
                ET.SubElement(
                    case, "failure", message=f"score {row.score:g} is below {report.fail_under:g}"
                )
            out = ET.SubElement(case, "system-out")
            out.text = f"score {row.score:g}/100\n" + "\n".join(missed)
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def render_sheet(report: Any, fmt: str, *, color: bool = False, width: int = 100) -> str:
    """As `render`, for a whole sheet."""
    if fmt == "json":
        return report.model_dump_json(indent=2) + "\n"
    report = printable_model(report)
    if fmt == "markdown":
        return sheet_to_markdown(report)
    if fmt == "junit":
        return sheet_to_junit(report)
    return sheet_to_text(report, color=color, width=width)
