"""The course's part of the pages, when a batch had a roster, overrides or a late policy: on a
student's feedback page, how the graded score became the final one (overrides with their
reasons, the late penalty with the time and where it came from); in the class report, the class
list (who handed in nothing, what matched nobody, who handed in more than once), the overrides
and the late submissions. Data only, from the typed results (``SubmissionResult.final``,
``BatchResult.course``); course_feedback.html and course_report.html lay it out.
"""
from dataclasses import dataclass

from grader.report.views import StudentRef, points

TIME_WORDS = {  # where a submission time came from, as a student or instructor reads it
    "moodle_worksheet": "Moodle's record of the submission",
    "canvas_on_time": "Canvas did not mark it late",
    "file_time": "the file's modification time, as the LMS gave no time (a last resort: ask "
                 "your instructor if it is wrong)",
}

SOURCE_LABELS = {"moodle_worksheet": "Moodle worksheet", "canvas_on_time": "Canvas: not LATE",
                 "file_time": "file time (last resort)"}


@dataclass(frozen=True)
class GradeLine:
    label: str
    value: str  # points, signed where they change the score
    note: str = ""  # a reason, a time and its source


@dataclass(frozen=True)
class GradePanel:
    """From graded score to final score, on the student's feedback page."""

    lines: tuple  # of GradeLine, the graded score first and the final score last
    graded: str  # the submission graded
    others: tuple  # the student's other submissions, not graded


@dataclass(frozen=True)
class OverrideRow:
    student: StudentRef
    what: str  # the output, or "total"
    change: str  # "0 → 1"
    reason: str


@dataclass(frozen=True)
class LateRow:
    student: StudentRef
    submitted: str
    source: str
    late: str  # "2 days", or "on time"
    penalty: str
    from_file: bool
    disputed: bool  # Canvas said LATE, the time says on time


@dataclass(frozen=True)
class SupersededRow:
    student: StudentRef
    graded: str
    others: str
    order_known: bool


@dataclass(frozen=True)
class CourseSection:
    """The class report's course section."""

    roster: str | None
    students: int
    graded: int
    late_policy: str | None
    no_submission: tuple  # of str: "key (name)"
    unmatched: tuple  # of (entry, why)
    superseded: tuple  # of SupersededRow
    overrides: tuple  # of OverrideRow
    late: tuple  # of LateRow: every late, disputed or file-timed submission


def build_grade_panel(result):
    """The GradePanel of a result the course finished, or None when there is nothing to say
    (no override, no late policy, a single submission)."""
    final = result.final
    if final is None or not (final.overrides or final.late or final.others):
        return None
    of = f" / {points(result.max_score)}"
    lines = [GradeLine("Graded score", points(final.raw_score) + of)]
    for override in final.overrides:
        label = (f"{override.output} changed by your instructor" if override.output
                 else "Total set by your instructor")
        lines.append(GradeLine(label, f"{points(override.original)} \u2192 "
                                      f"{points(override.points)}", override.reason))
    if final.late is not None:
        lines.append(_late_line(final.late))
    lines.append(GradeLine("Final score", points(final.score) + of))
    return GradePanel(tuple(lines), final.entry, tuple(final.others))


def _late_line(late):
    if late.time.at is None and late.time.source == "canvas_on_time":
        when = "on time: " + TIME_WORDS["canvas_on_time"]
    elif late.time.at is None:
        when = "its time could not be read"
    else:
        when = (f"handed in {_moment(late.submitted_local)} (due {_moment(late.due)}), "
                f"{late_text(late)}; time from {TIME_WORDS[late.time.source]}")
    if late.disputed:
        when += "; Canvas marked it LATE: your instructor will check it"
    return GradeLine("Late penalty", f"\u2212{points(late.points)}" if late.points else "0", when)


def late_text(late):
    if late.units:
        return f"{late.units} started {late.unit}{'s' if late.units != 1 else ''} late"
    return "within the grace period" if late.late_by.total_seconds() > 0 else "on time"


def _moment(moment):
    """``2026-10-01 23:59 +08:00``"""
    offset = moment.isoformat()[-6:] if moment.utcoffset() else "UTC"
    return f"{moment:%Y-%m-%d %H:%M} {offset}"


def describe_policy(policy):
    """The late policy in words, as the reports give it."""
    text = (f"due {_moment(policy.due)}; {policy.penalty_per_unit * 100:g}% of the maximum "
            f"score per started {policy.unit} late")
    if policy.grace:
        text += f"; {policy.grace.total_seconds() / 60:g} minutes' grace"
    if policy.cap < 1:
        text += f"; at most {policy.cap * 100:g}% taken"
    return text


def build_course_section(batch, ref_by_id):
    """The CourseSection of a batch graded with its course, or None for a plain batch."""
    course = batch.course
    if course is None:
        return None
    subs = [s for s in batch.submissions if s.final is not None]

    def ref(key):
        return ref_by_id.get(key) or StudentRef(key, None)

    overrides = tuple(OverrideRow(ref(s.id), o.output or "total",
                                  f"{points(o.original)} \u2192 {points(o.points)}", o.reason)
                      for s in subs for o in s.final.overrides)
    late = tuple(LateRow(ref(s.id),
                         _moment(s.final.late.submitted_local) if s.final.late.time.at else "\u2013",
                         SOURCE_LABELS[s.final.late.time.source], late_text(s.final.late),
                         points(s.final.late.points), s.final.late.time.from_file,
                         s.final.late.disputed)
                 for s in subs if s.final.late is not None
                 and (s.final.late.units or s.final.late.disputed or s.final.late.time.from_file))
    return CourseSection(
        roster=course.roster, students=len(course.members), graded=len(subs),
        late_policy=describe_policy(course.late_policy) if course.late_policy else None,
        no_submission=tuple(f"{m.key} ({m.name})" if m.name else m.key
                            for m in course.no_submission),
        unmatched=tuple(course.unmatched),
        superseded=tuple(SupersededRow(ref(key), graded, ", ".join(others), known)
                         for key, graded, others, known in course.superseded),
        overrides=overrides, late=late)
