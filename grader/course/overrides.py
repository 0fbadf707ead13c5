"""Instructor overrides: overrides.csv read, checked against the assignment, applied to results.

The file has a header and these columns (names compared ignoring case and spacing; other
columns, such as a grader's initials, are ignored)::

    student,output,points,reason
    e0123456g,conv_forward_out,1,"flipped kernel, but the course's notes said to flip it"
    jsmith@u.nus.edu,,8.5,"regrade request: see email of 3 Oct"

- ``student``: any id of the student the roster knows (its key, SIS User ID, SIS Login ID, email,
  Canvas ID...), or, without a roster, a submission id from the results.
- ``output``: an output of the assignment (``conv_forward_out``, with or without ``.csv``), or
  empty for the total.
- ``points``: the points the student gets there, **replacing** the graded score (not added to
  it), between 0 and the output's (or the assignment's) maximum. Absolute points make an
  override mean the same after a regrade and applying it twice change nothing.
- ``reason``: required; it is shown to the student with the override.

A total override sets the total, whatever the outputs' overrides say; the late penalty is then
taken from it (apply.py applies them). The graded result is kept: results.json has the graded
scores, and beside them ``overrides`` (each with the score it replaced) and ``final_score``.
"""
import math
from dataclasses import dataclass

from grader.errors import GraderError
from grader.course.roster import id_key
from grader.course.tables import FIRST_DATA_ROW, find_column, is_blank, read_table, shown_columns

COLUMNS = ("student", "output", "points", "reason")


@dataclass(frozen=True)
class Override:
    student: str  # the roster key, or the submission id without a roster
    output: str | None  # None: the total
    points: float
    reason: str
    line: int  # in overrides.csv


def read_overrides(path, outputs, roster=None, known_ids=None):
    """The overrides in the CSV at ``path``, checked.

    ``outputs``: the assignment's outputs, as a mapping from output name to its points (spec
    order). Students are resolved through ``roster`` (to its keys) or, without one, matched to
    ``known_ids`` (submission ids, ignoring case); with neither, they are taken as written.
    Raises GraderError naming the file and line for a missing column, an unknown student or
    output, points that are not a number in range, an empty reason, or a second override of
    the same student and output.
    """
    frame = read_table(path, "overrides")
    columns = {name: find_column(frame.columns, (name,)) for name in COLUMNS}
    missing = [name for name, column in columns.items() if column is None]
    if missing:
        raise GraderError(f"no column {', '.join(repr(m) for m in missing)}: the overrides need "
                          f"{', '.join(COLUMNS)} (found {shown_columns(frame.columns)})", path=path)
    resolve = _resolver(roster, known_ids)
    total = float(sum(outputs.values()))
    overrides, seen = [], {}
    for index, record in enumerate(frame.to_dict("records")):
        if is_blank(record):
            continue
        line = index + FIRST_DATA_ROW
        cells = {name: str(record[column]).strip() for name, column in columns.items()}
        try:
            override = _override(cells, line, outputs, total, resolve)
        except GraderError as e:
            raise GraderError(e.message, path=path, line=line) from None
        where = (override.student, override.output)
        if where in seen:
            what = override.output or "the total"
            raise GraderError(f"a second override of {what} for {cells['student']!r} (the first "
                              f"is on line {seen[where]})", path=path, line=line)
        seen[where] = line
        overrides.append(override)
    return tuple(overrides)


def _resolver(roster, known_ids):
    if roster is not None:
        def resolve(text):
            student = roster.find(text)
            if student is None:
                raise GraderError(f"student {text!r} is not on the roster")
            return student.key
        return resolve
    if known_ids is not None:
        by_key = {id_key(i): i for i in known_ids}

        def resolve(text):
            if id_key(text) not in by_key:
                raise GraderError(f"no submission has the id {text!r}")
            return by_key[id_key(text)]
        return resolve
    return lambda text: text


def _override(cells, line, outputs, total, resolve):
    if not cells["student"]:
        raise GraderError("the student is empty")
    student = resolve(cells["student"])
    output = cells["output"]
    if output.lower().endswith(".csv"):
        output = output[:-4]
    if output and output not in outputs:
        raise GraderError(f"{output!r} is not an output of the assignment: expected one of "
                          f"{', '.join(outputs)}, or empty for the total")
    maximum = outputs[output] if output else total
    try:
        points = float(cells["points"])
    except ValueError:
        raise GraderError(f"points {cells['points']!r} is not a number") from None
    if not math.isfinite(points) or not 0 <= points <= maximum:
        raise GraderError(f"points {cells['points']} is outside 0 to {maximum:g}, the "
                          f"{'maximum of ' + output if output else 'maximum score'}")
    if not cells["reason"]:
        raise GraderError("the reason is empty: say why, the student will see it")
    return Override(student, output or None, points, cells["reason"], line)


def overrides_by_student(overrides):
    """The overrides grouped by student, in file order."""
    grouped = {}
    for override in overrides:
        grouped.setdefault(override.student, []).append(override)
    return grouped
