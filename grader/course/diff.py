"""`cnngrade diff OLD NEW`: what a regrade changed, student by student.

OLD and NEW are grades folders (or their results.json). A student in both runs is **changed**
when their score, final score (after overrides) or submission error differs, or when any output's
status, score or diagnosis differs, or an output is graded in one run only; the wording of a
message alone is not a change (figures in it move with any tolerance tweak). Exactly the changed
students are reported, each with the outputs that changed, before and after; students in one run
only are listed apart.

The comparison is data (:class:`RunDiff`); :func:`format_diff` writes it for the terminal and
:func:`render_diff_html` as a self-contained page (jinja2, autoescape on: ids and messages come
from students). Both are deterministic: the same two runs give the same bytes.
"""
from dataclasses import dataclass
from functools import lru_cache

import jinja2

from grader.atomic import write_text_atomic
from grader.report.gradebook import format_number
from grader.text import printable
from grader.course.results_file import final_score, load_results, results_path

SCORE_TOLERANCE = 1e-9  # scores are sums of a few points: anything smaller is float noise


@dataclass(frozen=True)
class Verdict:
    """One output of one student in one run."""

    status: str
    score: float
    max_score: float
    diagnosis: str | None
    message: str

    def __str__(self):
        text = f"{self.status} {format_number(self.score)}/{format_number(self.max_score)}"
        return f"{text} ({self.diagnosis})" if self.diagnosis else text


@dataclass(frozen=True)
class OutputChange:
    output: str
    old: Verdict | None  # None: not graded in that run
    new: Verdict | None


@dataclass(frozen=True)
class StudentChange:
    id: str
    old_score: float  # final scores
    new_score: float
    max_score: float  # NEW's
    old_error: str | None
    new_error: str | None
    outputs: tuple  # OutputChange, in NEW's output order, then outputs only OLD graded

    @property
    def delta(self):
        return self.new_score - self.old_score


@dataclass(frozen=True)
class StudentOnly:
    """A student graded in one run only."""

    id: str
    score: float
    max_score: float


@dataclass(frozen=True)
class RunDiff:
    old_source: str
    new_source: str
    old_assignment: str
    new_assignment: str
    old_count: int
    new_count: int
    changed: tuple  # StudentChange, by id
    only_old: tuple  # StudentOnly, by id
    only_new: tuple
    unchanged: int


def diff_runs(old_path, new_path):
    """Compare the grades folders (or results.json files) at ``old_path`` and ``new_path``."""
    return compare_runs(load_results(old_path), load_results(new_path),
                        str(results_path(old_path)), str(results_path(new_path)))


def compare_runs(old, new, old_source="OLD", new_source="NEW"):
    """Compare two results dicts (DESIGN.md "Results JSON")."""
    old_subs = {s["id"]: s for s in old["submissions"]}
    new_subs = {s["id"]: s for s in new["submissions"]}
    changed, unchanged = [], 0
    for sid in _sorted_ids(old_subs.keys() & new_subs.keys()):
        change = _student_change(old_subs[sid], new_subs[sid])
        if change is None:
            unchanged += 1
        else:
            changed.append(change)
    return RunDiff(
        old_source=old_source, new_source=new_source,
        old_assignment=str(old.get("assignment", "")), new_assignment=str(new.get("assignment", "")),
        old_count=len(old_subs), new_count=len(new_subs), changed=tuple(changed),
        only_old=tuple(_only(old_subs[i]) for i in _sorted_ids(old_subs.keys() - new_subs.keys())),
        only_new=tuple(_only(new_subs[i]) for i in _sorted_ids(new_subs.keys() - old_subs.keys())),
        unchanged=unchanged)


def _sorted_ids(ids):
    return sorted(ids, key=lambda i: (i.casefold(), i))


def _only(sub):
    return StudentOnly(sub["id"], float(final_score(sub)), float(sub["max_score"]))


def _student_change(old, new):
    """The StudentChange between two results of one student, or None if nothing changed."""
    old_checks = {c["output"]: c for c in old["checks"]}
    new_checks = {c["output"]: c for c in new["checks"]}
    names = [c["output"] for c in new["checks"]] + [c["output"] for c in old["checks"]
                                                     if c["output"] not in new_checks]
    outputs = []
    for name in names:
        before, after = _verdict(old_checks.get(name)), _verdict(new_checks.get(name))
        if _verdict_changed(before, after):
            outputs.append(OutputChange(name, before, after))
    scores_moved = (_differ(old["score"], new["score"])
                    or _differ(final_score(old), final_score(new)))
    if not outputs and not scores_moved and old.get("error") == new.get("error"):
        return None
    return StudentChange(id=new["id"], old_score=float(final_score(old)),
                         new_score=float(final_score(new)), max_score=float(new["max_score"]),
                         old_error=old.get("error"), new_error=new.get("error"),
                         outputs=tuple(outputs))


def _verdict(check):
    if check is None:
        return None
    return Verdict(check["status"], float(check["score"]), float(check["max_score"]),
                   check.get("diagnosis"), check.get("message") or "")


def _verdict_changed(before, after):
    if before is None or after is None:
        return before is not after
    return (before.status != after.status or before.diagnosis != after.diagnosis
            or _differ(before.score, after.score))


def _differ(a, b):
    return abs(float(a) - float(b)) > SCORE_TOLERANCE


# --------------------------------------------------------------------------- terminal

def format_diff(diff):
    """The diff as terminal text: the two runs, the counts, then one block per changed student."""
    lines = [f"OLD  {printable(diff.old_source)}: {printable(diff.old_assignment)}, "
             f"{diff.old_count} submissions",
             f"NEW  {printable(diff.new_source)}: {printable(diff.new_assignment)}, "
             f"{diff.new_count} submissions",
             f"{len(diff.changed)} changed, {diff.unchanged} unchanged, {len(diff.only_old)} "
             f"only in OLD, {len(diff.only_new)} only in NEW"]
    if diff.old_assignment != diff.new_assignment:
        lines.append("note: the two runs grade different assignments")
    for change in diff.changed:
        lines.append("")
        lines.append(f"{printable(change.id)}  {format_number(change.old_score)} -> "
                     f"{format_number(change.new_score)} of {format_number(change.max_score)}  "
                     f"({signed(change.delta)})")
        if change.old_error != change.new_error:
            lines.append(f"  submission error: {_error_text(change.old_error)} -> "
                         f"{_error_text(change.new_error)}")
        width = max((len(o.output) for o in change.outputs), default=0)
        for output in change.outputs:
            lines.append(f"  {output.output:<{width}}  {_verdict_text(output.old)} -> "
                         f"{_verdict_text(output.new)}")
    for label, students in (("only in OLD", diff.only_old), ("only in NEW", diff.only_new)):
        if students:
            lines.append("")
            lines.append(f"{label}: " + ", ".join(
                f"{printable(s.id)} ({format_number(s.score)} of {format_number(s.max_score)})"
                for s in students))
    return "\n".join(lines)


def signed(value):
    """A score change as ``+1``, ``-0.5`` or ``0``."""
    text = format_number(value)
    return text if text.startswith("-") or text == "0" else f"+{text}"


def _verdict_text(verdict):
    return str(verdict) if verdict is not None else "not graded"


def _error_text(error):
    return repr(printable(error)) if error else "none"


# --------------------------------------------------------------------------- HTML

@lru_cache(maxsize=1)
def environment():
    """The course pages' jinja2 Environment: autoescape on, undefined names are errors."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("grader.course", "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True, auto_reload=False)


def render_diff_html(diff):
    """The diff as a self-contained HTML page (no script, no external asset)."""
    return environment().get_template("diff.html").render(
        diff=diff, signed=signed, number=format_number, verdict=_verdict_text)


def write_diff_html(path, diff):
    """Write the page atomically."""
    write_text_atomic(path, render_diff_html(diff))
