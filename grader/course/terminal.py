"""The lines `cnngrade batch` adds to its summary when it graded a class with its course."""
from grader.report.course import describe_policy
from grader.report.gradebook import format_number
from grader.text import printable

LISTED = 20  # names listed on one line before the rest are counted


def describe_class(batch):
    """What the instructor should know of the class: who handed in nothing, what matched no
    student, who handed in more than once, the overrides and the late penalties."""
    course = batch.course
    finals = [s.final for s in batch.submissions if s.final is not None]
    lines = []
    if course.roster is not None:
        lines.append(f"roster: {len(course.members)} students, {len(finals)} graded, "
                     f"{len(course.no_submission)} with no submission"
                     + (f": {_listed(m.key for m in course.no_submission)}"
                        if course.no_submission else ""))
    for entry, why in course.unmatched:
        lines.append(f"not graded, matches no student: {printable(entry)} ({why})")
    for key, graded, others, order_known in course.superseded:
        how = "" if order_known else " (the last by name: the names do not say which is latest)"
        lines.append(f"{printable(key)} handed in {len(others) + 1} times: graded "
                     f"{printable(graded)}{how}; not {_listed(others)}")
    overridden = [f for f in finals if f.overrides]
    if overridden:
        lines.append(f"overrides: {sum(len(f.overrides) for f in overridden)} applied to "
                     f"{len(overridden)} students")
    if course.late_policy:
        late = [f for f in finals if f.late.units]
        from_files = sum(1 for f in late if f.late.time.from_file)
        text = f"late policy ({describe_policy(course.late_policy)}): {len(late)} late"
        if late:
            text += (f", {format_number(sum(f.late.points for f in late))} points taken in all")
        if from_files:
            text += f"; {from_files} timed by file modification time only (check them)"
        lines.append(text)
        disputed = [f.student for f in finals if f.late.disputed]
        if disputed:
            lines.append(f"Canvas marked LATE but the time found is on time: {_listed(disputed)}")
    return lines


def _listed(items):
    items = [printable(str(item)) for item in items]
    more = len(items) - LISTED
    return ", ".join(items[:LISTED]) + (f" and {more} more" if more > 0 else "")
