"""A Gradescope "Export Submissions" folder as a class: each ``submission_<id>`` folder graded under
the students its ``submission_metadata.yml`` names (platforms/gradescope_export.py reads it).

Every member of a group submission gets their own row, feedback page and grade from the one
folder. With a roster, a submitter is matched by their student id (SID), then email, then name;
without one, a student is known by their SID, else email, else name. When the export holds several
submissions of one student, the latest by Gradescope's own time is graded and the others named.
"""
from dataclasses import dataclass
from datetime import datetime

from grader.course.lms import Grouping, StudentSubmissions, SubmissionName, Unmatched
from grader.errors import GraderError


@dataclass(frozen=True)
class GradescopeName(SubmissionName):
    """One submitter's claim on an exported submission folder, with Gradescope's time."""

    created_at: datetime | None = None

    @property
    def order(self):
        return (self.created_at.timestamp() if self.created_at else float("-inf"), self.entry)


def gradescope_grouping(export, entries, roster=None):
    """The :class:`~grader.course.lms.Grouping` of the listed ``entries`` (folder names under the
    export) by student, from the export's metadata."""
    listed = set(entries)
    groups, unmatched = {}, []
    for submission in export.submissions:
        if submission.key not in listed:
            continue
        if not submission.submitters:
            unmatched.append(Unmatched(SubmissionName(entry=submission.key, lms="gradescope",
                                                      key=submission.key),
                                       "the metadata names no submitter"))
        for submitter in submission.submitters:
            student, why = _student(submitter, roster)
            name = GradescopeName(entry=submission.key, lms="gradescope", key=student or "",
                                  name=submitter.label, created_at=submission.created_at)
            if student is None:
                unmatched.append(Unmatched(name, why))
            else:
                groups.setdefault(student, []).append(name)
    described = {s.key for s in export.submissions}
    for entry in sorted(listed - described):
        unmatched.append(Unmatched(SubmissionName(entry=entry, lms="gradescope", key=entry),
                                   "not in submission_metadata.yml"))
    order = ({s.key: i for i, s in enumerate(roster)} if roster is not None
             else {k: i for i, k in enumerate(sorted(groups, key=lambda k: (k.casefold(), k)))})
    students = []
    for key in sorted(groups, key=order.__getitem__):
        names = sorted(groups[key], key=lambda n: n.order)
        students.append(StudentSubmissions(key, names[-1], tuple(names[:-1]), "id",
                                           all(n.created_at for n in names)))
    return Grouping(tuple(students), tuple(unmatched))


def _student(submitter, roster):
    """(the student's key, None) or (None, why nobody)."""
    if roster is None:
        key = submitter.sid or submitter.email or submitter.name
        return (key, None) if key else (None, "the metadata names no SID, email or name")
    try:
        for identifier in (submitter.sid, submitter.email):
            if identifier:
                found = roster.find(identifier)
                if found is not None:
                    return found.key, None
    except GraderError as e:
        return None, e.message
    if submitter.name:
        found = roster.find_by_name(submitter.name)
        if found is not None:
            return found.key, None
    return None, f"no roster student has the SID, email or name of {submitter.label!r}"
