"""The gradebook of a class graded with its course (a roster, overrides or a late policy).

One row per student of the class list, in roster order (the students whose submissions were
graded, without a roster). Columns::

    id, name, raw, override, penalty, final, max, percent, <one column per output>,
    submission, submitted, time_source, late, note

``raw`` is the graded score ('' for no submission), ``override`` what the instructor's overrides
added to it (negative if they took away; '' without any), ``penalty`` the late penalty in points
('' without a late policy), ``final`` what the student gets (0 for no submission) and
``percent`` its share of ``max``. The output columns hold each output's points after its
override. ``submission`` is the folder or zip graded, ``submitted`` its time (ISO 8601),
``time_source`` where that time came from (``moodle_worksheet``, ``canvas_on_time``, or
``file_time``, the last resort), ``late`` how late (``2 days``), ``note`` what else a person
should know: no submission, why it could not be read, the entries not graded, the overrides'
reasons, a LATE marker the time does not bear out.

Written as the plain gradebook is (report/gradebook.py): UTF-8, ``\\n``, numbers with at most 4
decimals, every text cell neutralised against spreadsheet formulas, atomically.
"""
import math

import pandas as pd

from grader.atomic import write_text_atomic
from grader.report.gradebook import format_number, neutralise, output_columns
from grader.text import printable

LEADING_COLUMNS = ("id", "name", "raw", "override", "penalty", "final", "max", "percent")
TRAILING_COLUMNS = ("submission", "submitted", "time_source", "late", "note")
_TEXT_COLUMNS = {"id", "name", *TRAILING_COLUMNS}


def class_gradebook_frame(batch, assignment):
    """The gradebook as a DataFrame: the class list joined with the graded results by key."""
    members = pd.DataFrame([(m.key, m.name) for m in batch.course.members],
                           columns=["id", "name"], dtype=object)
    graded = pd.DataFrame([_graded_row(sub, assignment) for sub in batch.submissions],
                          columns=["id", *_row_columns(assignment)[2:]])
    frame = members.merge(graded, on="id", how="left", validate="one_to_one")
    missing = frame["final"].isna()
    frame.loc[missing, "final"] = 0.0
    frame.loc[missing, "max"] = assignment.max_score
    frame.loc[missing, "percent"] = 0.0
    frame.loc[missing, "note"] = "no submission"
    return frame[list(_row_columns(assignment))]


def _row_columns(assignment):
    return (*LEADING_COLUMNS, *output_columns(assignment), *TRAILING_COLUMNS)


def _graded_row(sub, assignment):
    final = sub.final
    scores = {c.output: float(c.score) for c in sub.checks}
    for override in final.overrides:
        if override.output is not None:
            scores[override.output] = override.points
    late = final.late
    max_score = float(sub.max_score)
    row = {"id": sub.id, "raw": final.raw_score,
           "override": (final.adjusted_score - final.raw_score) if final.overrides else math.nan,
           "penalty": late.points if late else math.nan, "final": final.score,
           "max": max_score, "percent": 100.0 * final.score / max_score if max_score else 0.0}
    for output in output_columns(assignment):
        row[output] = scores.get(output, math.nan)
    row.update(submission=printable(final.entry),
               submitted=late.submitted_local.isoformat(timespec="seconds")
               if late and late.time.at else "",
               time_source=late.time.source if late else "",
               late=f"{late.units} {late.unit}{'s' if late.units != 1 else ''}"
               if late and late.units else "",
               note="; ".join(_notes(sub)))
    return [row[c] for c in ("id", *_row_columns(assignment)[2:])]


def _notes(sub):
    final = sub.final
    if sub.error:
        yield f"could not be graded: {' '.join(sub.error.split())}"
    if final.others:
        which = "" if final.order_known else " (the names do not say which is latest)"
        yield f"also handed in, not graded: {', '.join(printable(o) for o in final.others)}{which}"
    for override in final.overrides:
        yield (f"{override.output or 'total'} {format_number(override.original)} -> "
               f"{format_number(override.points)}: {' '.join(override.reason.split())}")
    if final.late and final.late.disputed:
        yield "Canvas marked it LATE but the time found is on time: check it"


def class_gradebook_csv(batch, assignment):
    """The gradebook CSV text (see the module docstring)."""
    frame = class_gradebook_frame(batch, assignment)
    lines = [",".join(frame.columns)]
    for record in frame.itertuples(index=False, name=None):
        lines.append(",".join(_cell(name, value) for name, value in zip(frame.columns, record)))
    return "\n".join(lines) + "\n"


def _cell(column, value):
    if column not in _TEXT_COLUMNS:
        return format_number(value)
    text = neutralise("" if value is None or (isinstance(value, float) and math.isnan(value))
                      else str(value))
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\r\n') else text


def write_class_gradebook(path, batch, assignment):
    """Write the class gradebook CSV to ``path`` atomically."""
    write_text_atomic(path, class_gradebook_csv(batch, assignment))
