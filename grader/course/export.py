"""Gradebook files an LMS imports: Canvas's gradebook CSV and Moodle's grade import CSV.

**Canvas** (Grades > Import; rules from canvas-lms ``app/models/gradebook_importer.rb``): the
header is ``Student, ID, SIS User ID, SIS Login ID, Section`` and then one column per
assignment, headed ``<Assignment name> (<assignment id>)``; the row under it holds ``Points
Possible`` in the Student column and each assignment's points. Canvas finds each student by
``ID`` (the Canvas user id), then ``SIS User ID``, then ``SIS Login ID``, then by name, and
finds the assignment by the id in brackets; a header without an id creates a new assignment
unless its name is an existing assignment's. A header containing ``Current Score``, ``Final
Grade`` and the like is taken for a total and ignored, and a name ending in ``(<digits>)`` is
read as an id, so such names are refused here.

**Moodle** (Grades > Import > CSV file; rules from ``grade/import/csv/classes/load_data.php``):
any header; the instructor maps one column to a user field (``idnumber``, ``email`` or
``username``), the grade column to the assignment's grade item and the feedback column to its
feedback. Moodle stops the whole import at a user it cannot find, and a row with an empty
identifier would add its grade to the previous row's student, so students without the chosen
identifier are left out here and listed.

Students come from the roster (one row each, in roster order; no submission scores 0) or, without
one, from the results (one row per student the submission names identify, see lms.py). Where a
student has several submissions, the latest is exported and the others are listed. The score is
the final score (after overrides) when results.json has one.

Files are UTF-8 without a byte-order mark, RFC 4180 CSV with CRLF line ends, numbers with at
most 4 decimals; every text cell goes through the gradebook's :func:`neutralise`, so no cell a
student or an instructor typed can start a spreadsheet formula.
"""
import csv
import io
import re
from dataclasses import dataclass

import pandas as pd

from grader.atomic import write_text_atomic
from grader.errors import GraderError
from grader.report.gradebook import format_number, neutralise
from grader.text import printable
from grader.course.lms import group_by_student, parse_submission_name
from grader.course.results_file import final_score, load_results, max_score_of, results_path
from grader.course.roster import RosterStudent, read_roster

LMS_CHOICES = ("canvas", "moodle")
CANVAS_STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_POSSIBLE = "    Points Possible"  # as Canvas's own export writes it
_CANVAS_TOTALS = re.compile("Current Score|Current Points|Current Grade|Final Score|"
                            "Final Points|Final Grade|Override Score|Override Grade|Override Status")
_CANVAS_TITLE_WITH_ID = re.compile(r"\s\(\d+\)\Z")
# --identifier: which id of a student the export matches them by. For Canvas it only matters
# without a roster (a roster gives every id); it names the column the results' ids go into.
IDENTIFIERS = {
    "canvas": {"sis_user_id": ("SIS User ID", "sis_user_id"),
               "sis_login_id": ("SIS Login ID", "sis_login_id")},
    "moodle": {"idnumber": ("ID number", "sis_user_id"), "email": ("Email address", "email"),
               "username": ("Username", "sis_login_id")},
}
DEFAULT_IDENTIFIER = {"canvas": "sis_user_id", "moodle": "idnumber"}
FEEDBACK_HEADER = "Feedback"


@dataclass(frozen=True)
class GradeRow:
    """One student of the export and their graded submission (None: no submission)."""

    student: RosterStudent
    submission: dict | None

    @property
    def score(self):
        return final_score(self.submission) if self.submission is not None else 0.0


@dataclass(frozen=True)
class ClassGrades:
    """The class as the export sees it: a row per student, and what did not fit."""

    title: str
    max_score: float
    rows: tuple  # GradeRow
    unmatched: tuple = ()  # (result id, why): no roster student
    superseded: tuple = ()  # (student key, exported id, other ids, order_known)


@dataclass(frozen=True)
class ExportSummary:
    path: str
    lms: str
    written: int  # student rows in the file
    no_submission: tuple = ()  # student keys exported with 0
    unmatched: tuple = ()
    superseded: tuple = ()
    left_out: tuple = ()  # (student key, why): not in the file


def export_grades(lms, grades_dir, out, roster_path=None, title=None, assignment_id=None,
                  identifier=None):
    """Write the ``lms`` (canvas or moodle) import file for the grades at ``grades_dir``.

    ``title``: the assignment's name in the LMS [default: results.json's assignment].
    ``assignment_id``: Canvas's assignment id (the number in the assignment's URL).
    ``identifier``: see ``IDENTIFIERS`` [default: ``DEFAULT_IDENTIFIER``].
    """
    if lms not in LMS_CHOICES:
        raise GraderError(f"unknown LMS {lms!r}: expected one of {', '.join(LMS_CHOICES)}")
    identifier = identifier or DEFAULT_IDENTIFIER[lms]
    if identifier not in IDENTIFIERS[lms]:
        raise GraderError(f"--identifier {identifier} is not one for {lms}: expected one of "
                          f"{', '.join(IDENTIFIERS[lms])}")
    results = load_results(grades_dir)
    roster = read_roster(roster_path) if roster_path else None
    grades = class_grades(results, roster, id_field=IDENTIFIERS[lms][identifier][1],
                          title=title or results.get("assignment") or "cnngrade",
                          source=results_path(grades_dir))
    if lms == "canvas":
        text, left_out = canvas_csv(grades, assignment_id), ()
    else:
        text, left_out = moodle_csv(grades, identifier)
    write_text_atomic(out, text)
    return ExportSummary(
        path=str(out), lms=lms, written=len(grades.rows) - len(left_out),
        no_submission=tuple(r.student.key for r in grades.rows if r.submission is None),
        unmatched=grades.unmatched, superseded=grades.superseded, left_out=left_out)


def class_grades(results, roster=None, id_field="sis_user_id", title="", source=None):
    """The rows of an export: roster students joined with their latest submission.

    Without a roster, each student the submission names identify is a row: a Canvas name gives
    the Canvas ID, a Moodle name the participant id, a plain id goes into ``id_field``. A result
    `cnngrade batch --roster` graded is named by the entry it graded (``student.entry``).
    """
    subs = {_entry(sub): sub for sub in results["submissions"]}
    grouping = group_by_student(list(subs), roster)
    superseded = tuple((g.student, g.latest.entry, tuple(o.entry for o in g.others), g.order_known)
                       for g in grouping.students if g.others)
    unmatched = tuple((u.entry.entry, u.why) for u in grouping.unmatched)
    if roster is None:
        rows = tuple(GradeRow(_student_from_name(parse_submission_name(g.latest.entry), id_field),
                              subs[g.latest.entry]) for g in grouping.students)
    else:
        graded = pd.DataFrame({"key": [g.student for g in grouping.students],
                               "result_id": [g.latest.entry for g in grouping.students]},
                              dtype=object)
        joined = roster.frame().merge(graded, on="key", how="left", validate="one_to_one")
        rows = tuple(GradeRow(student, subs[result_id] if isinstance(result_id, str) else None)
                     for student, result_id in zip(roster.students, joined["result_id"]))
    return ClassGrades(title, max_score_of(results, source), rows, unmatched, superseded)


def _entry(sub):
    """The name of the folder or zip a result graded: its id, unless a batch with a roster named
    it by its student (results_file checks the field)."""
    return sub["student"]["entry"] if "student" in sub else sub["id"]


def _student_from_name(name, id_field):
    if name.lms == "canvas":
        return RosterStudent(key=name.key, name=name.name or name.key, canvas_id=name.key)
    if name.lms == "moodle":
        return RosterStudent(key=name.key, name=name.name or "", participant_id=name.key)
    return RosterStudent(key=name.key, name=name.key, **{id_field: name.key})


def canvas_csv(grades, assignment_id=None):
    """Canvas's gradebook import CSV for ``grades`` (see the module docstring)."""
    header = [*CANVAS_STUDENT_COLUMNS, canvas_column(grades.title, assignment_id)]
    points = [CANVAS_POINTS_POSSIBLE, "", "", "", "", format_number(grades.max_score)]
    rows = [[neutralise(r.student.name or r.student.key), neutralise(r.student.canvas_id),
             neutralise(r.student.sis_user_id), neutralise(r.student.sis_login_id),
             neutralise(r.student.section), format_number(r.score)] for r in grades.rows]
    return _csv_text([header, points, *rows])


def canvas_column(title, assignment_id=None):
    """The assignment's column header, ``<title> (<id>)``; refuses what Canvas would misread."""
    title = " ".join(str(title).split())
    if not title:
        raise GraderError("the assignment needs a name for Canvas: give --assignment")
    if _CANVAS_TOTALS.search(title):
        raise GraderError(f"Canvas ignores a column named {title!r} (it reads it as a total): "
                          "give another --assignment name")
    if assignment_id is None:
        if _CANVAS_TITLE_WITH_ID.search(title):
            raise GraderError(f"Canvas would read the end of {title!r} as an assignment id: give "
                              "--assignment-id, or another --assignment name")
        return neutralise(title)
    if isinstance(assignment_id, bool) or not isinstance(assignment_id, int) or assignment_id < 1:
        raise GraderError(f"a Canvas assignment id is a positive number, got {assignment_id!r}")
    return neutralise(f"{title} ({assignment_id})")


def moodle_csv(grades, identifier="idnumber"):
    """Moodle's grade import CSV for ``grades`` and the students left out, as ``(text,
    ((key, why), ...))``: one identifier column, the grade, the feedback."""
    header_name, field = IDENTIFIERS["moodle"][identifier]
    lines = [[header_name, neutralise(" ".join(grades.title.split())), FEEDBACK_HEADER]]
    left_out = []
    for row in grades.rows:
        value = getattr(row.student, field)
        if not value:
            left_out.append((row.student.key, f"no {header_name} on the roster"))
            continue
        lines.append([neutralise(value), format_number(row.score),
                      neutralise(feedback_text(row.submission, grades.max_score))])
    return _csv_text(lines), tuple(left_out)


def feedback_text(sub, max_score):
    """The feedback an LMS shows a student: the score, then a line per output that lost marks
    (the grader's student-facing message), then any override and its reason."""
    if sub is None:
        return f"No submission: 0 / {format_number(max_score)}."
    lines = [f"Score: {format_number(final_score(sub))} / {format_number(max_score)}."]
    if sub.get("error"):
        lines.append(f"Could not be graded: {sub['error']}")
    else:
        for check in sub["checks"]:
            if check["status"] != "pass":
                lines.append(f"{check['output']}: {check['status']} "
                             f"({format_number(check['score'])} / "
                             f"{format_number(check['max_score'])}). {check.get('message') or ''}"
                             .rstrip())
    for override in sub.get("overrides", ()):
        what = override.get("output") or "total"
        lines.append(f"Changed by the instructor: {what} {format_number(override['original'])} "
                     f"-> {format_number(override['points'])} ({override['reason']}).")
    late = sub.get("late")
    if late and late["points"]:
        timed = "; timed by the file's modification time" if late.get("time_source") == "file_time" else ""
        lines.append(f"Late penalty: -{format_number(late['points'])} ({late['units']} started "
                     f"{late['unit']}{'s' if late['units'] != 1 else ''} late{timed}).")
    return "\n".join(lines)


def _csv_text(rows):
    """RFC 4180: cells holding a comma, quote, CR or LF quoted; CRLF line ends."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def describe(summary):
    """The lines `cnngrade export` prints: what was written and what needs a look."""
    lms = {"canvas": "Canvas", "moodle": "Moodle"}[summary.lms]
    lines = [f"wrote {summary.written} students to {summary.path} ({lms} gradebook import)"]
    if summary.no_submission:
        lines.append(f"no submission, exported as 0 ({len(summary.no_submission)}): "
                     f"{_listed(summary.no_submission)}")
    for key, why in summary.left_out:
        lines.append(f"left out {printable(key)}: {why}")
    for result_id, why in summary.unmatched:
        lines.append(f"not exported, {printable(result_id)}: {why}")
    for student, exported, others, order_known in summary.superseded:
        how = "the latest" if order_known else "the last by name (the names do not say which is latest)"
        lines.append(f"{printable(student)} has {len(others) + 1} submissions: exported "
                     f"{printable(exported)}, {how}; not {_listed(others)}")
    return lines


def _listed(items):
    return ", ".join(printable(str(item)) for item in items)
