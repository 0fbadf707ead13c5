"""Plain-text views of results for the terminal: one row per output, and the batch summary."""
import click

MAX_LISTED = 20  # names listed in one line of the summary; the rest are counted

_STATUS_STYLE = {"pass": "green", "fail": "red", "error": "red", "missing": "yellow",
                 "unchecked": "blue"}


def _points(value):
    return f"{value:g}"


def format_submission(result, color=False):
    """The check table: status, score and a one-line message per output, then the total."""
    width = max([len("output")] + [len(c.output) for c in result.checks])
    lines = [f"{'output':<{width}}  {'status':<9}  {'score':>7}  message"]
    for check in result.checks:
        status = check.status.upper() if check.status != "pass" else check.status
        status_cell = f"{status:<9}"
        if color:
            status_cell = click.style(status_cell, fg=_STATUS_STYLE.get(check.status))
        score = "-" if check.status == "unchecked" else f"{_points(check.score)}/{_points(check.max_score)}"
        lines.append(f"{check.output:<{width}}  {status_cell}  {score:>7}  {check.message}")
    lines.append("")
    if result.error:
        lines.append(f"submission error: {result.error}")
    for note in result.notes:
        lines.append(f"note: {note}")
    if result.checked_expected:
        lines.append(f"score: {_points(result.score)} / {_points(result.max_score)} "
                     f"({result.percent:.0f}%)")
    else:
        # A self-check has no score to give: what was not judged is neither earned nor lost.
        counts = {status: sum(c.status == status for c in result.checks) for status in _STATUS_STYLE}
        problems = counts["fail"] + counts["error"] + counts["missing"]
        lines.append(f"self-check: {counts['pass']} passed, {problems} with problems, "
                     f"{counts['unchecked']} read but not checked for correctness")
        lines.append("Deterministic outputs were NOT checked for correctness (no expected outputs "
                     "given): only their names, value counts and format, and the dropout "
                     "statistics, were checked.")
    return "\n".join(lines)


def format_batch_summary(batch, out_dir):
    """The lines that end `cnngrade batch`: how the class did and where the reports are."""
    subs = batch.submissions
    count = len(subs)
    scored = [s for s in subs if s.graded]
    mean = sum(s.percent for s in scored) / len(scored) if scored else 0.0
    full = sum(1 for s in subs if s.max_score and s.score >= s.max_score)
    errors = sum(1 for s in subs if s.error and s.graded)
    ungraded = sum(1 for s in subs if not s.graded)
    flagged = sum(1 for s in subs if s.flags)
    lines = []
    if batch.ignored:
        shown = batch.ignored[:MAX_LISTED]
        more = len(batch.ignored) - len(shown)
        lines.append(f"ignored {len(batch.ignored)} entries under ROOT (a submission is a "
                     f"folder or a .zip): {', '.join(shown)}"
                     + (f" and {more:,} more (listed in results.json)" if more else ""))
    for note in batch.renamed[:MAX_LISTED]:
        lines.append(f"renamed: {note}")
    if len(batch.renamed) > MAX_LISTED:
        lines.append(f"renamed: {len(batch.renamed) - MAX_LISTED:,} more (listed in results.json)")
    return "\n".join(lines + [
        f"graded {count - ungraded} submissions: mean {mean:.1f}%, {full} with full marks, "
        f"{errors} that could not be read, {flagged} flagged"
        + (f"; {ungraded} not graded (the grader failed on them)" if ungraded else ""),
        f"report: {out_dir}/report.html   gradebook: {out_dir}/gradebook.csv   "
        f"results: {out_dir}/results.json",
    ])
