"""A class graded with its course: the roster, the instructor's overrides and the late policy.

``cnngrade batch ROOT --roster roster.csv --overrides overrides.csv`` (and a ``[late]`` table in
the spec or cnngrade.toml) runs in three steps around the grading of batch/run.py:

1. **Before listing** (:func:`course_setup`): the roster, the spec's outputs and the late policy
   are read, so a bad file stops the run before anything is graded.
2. **Before grading** (:meth:`CourseSetup.plan`): the entries under ROOT are gathered per student
   (lms.py: Canvas and Moodle names, through the roster), the latest of each student's entries
   is the one graded, under the student's roster key; the others, the entries matching nobody
   and the roster students with no entry are kept for the reports; each graded entry's
   submission time is found (times.py); overrides.csv is read and checked against the class.
3. **After each submission is graded** (:meth:`ClassPlan.finish`, in the worker, before its
   feedback page is written): its :class:`FinalGrade`: the overrides replace the graded points
   of their outputs, then of the total; the late penalty is taken from what that leaves; the
   final score is what remains. The graded scores are kept as they are.

Without a roster, overrides or a late policy there is nothing to do and the batch is graded as a
plain folder of submissions, exactly as before.
"""
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from grader.assignment.spec import load_spec
from grader.errors import GraderError
from grader.course.gradescope import gradescope_grouping
from grader.course.grades import (ClassList, ClassMember, FinalGrade, LateCharge, ScoreOverride,
                                  SubmissionTime)
from grader.course.late import load_late_policy
from grader.course.lms import group_by_student
from grader.course.overrides import overrides_by_student, read_overrides
from grader.course.roster import read_roster
from grader.course.times import submission_time, worksheet_time
from grader.platforms.gradescope_export import METADATA_NAME, read_export
from grader.text import printable

_DECIMALS = 10  # scores are sums of a few points: 0.1 + 0.2 is 0.3 here


def grade_course(root, spec_path="assignment.toml", roster_path=None, overrides_path=None,
                 course_file=None, **batch_options):
    """`cnngrade batch`: grade every submission under ``root`` (grader.batch.run.grade_batch,
    which takes ``batch_options``), with the course's roster, overrides and late policy when it
    has any (``course_file``: cnngrade.toml, whose ``[late]`` table counts as the spec's)."""
    from grader.batch.run import grade_batch

    export = read_export(root) if (Path(root) / METADATA_NAME).is_file() else None
    setup = course_setup(spec_path, roster_path, overrides_path, course_file, export)
    return grade_batch(root, spec_path=spec_path, course=setup, **batch_options)


def course_setup(spec_path, roster_path=None, overrides_path=None, course_file=None, export=None):
    """The CourseSetup for these files, or None when there is no roster, overrides, policy or
    Gradescope export (``export``: platforms.gradescope_export.GradescopeExport)."""
    policy = _late_policy(spec_path, course_file)
    if roster_path is None and overrides_path is None and policy is None and export is None:
        return None
    assignment = load_spec(spec_path)
    return CourseSetup(
        roster=read_roster(roster_path) if roster_path is not None else None,
        overrides_path=overrides_path,
        outputs={o.file: o.points for o in assignment.outputs},
        max_score=assignment.max_score,
        policy=policy, export=export)


def _late_policy(spec_path, course_file):
    """The [late] table of the spec or of cnngrade.toml; both having one is refused."""
    found = [(path, policy) for path in (spec_path, course_file) if path is not None
             for policy in [load_late_policy(path)] if policy is not None]
    if len(found) > 1:
        raise GraderError(f"two late policies: a [late] table in {found[0][0]} and in "
                          f"{found[1][0]}; keep one")
    return found[0][1] if found else None


@dataclass(frozen=True)
class CourseSetup:
    """What the course brings to a batch, read before the class is listed."""

    roster: object  # roster.Roster, or None
    overrides_path: object
    outputs: dict  # output file -> points, spec order
    max_score: float
    policy: object = None  # late.LatePolicy, or None
    export: object = None  # a Gradescope export's metadata (GradescopeExport), or None

    def plan(self, sources):
        """The ClassPlan for the listed ``sources`` (intake SubmissionSources). Names that come
        from entries (ids without a roster, entries, names) are made printable."""
        by_entry = {source.path.name: source for source in sources}
        if self.export is not None:
            grouping = gradescope_grouping(self.export, list(by_entry), self.roster)
        else:
            grouping = group_by_student(list(by_entry), self.roster)
        roster_by_key = {s.key: s for s in self.roster} if self.roster is not None else {}
        students = []
        for group in grouping.students:
            source = by_entry[group.latest.entry]
            member = roster_by_key.get(group.student)
            key = group.student if member else printable(group.student)
            students.append(StudentPlan(
                key=key, name=member.name if member else printable(group.latest.name or ""),
                source=replace(source, id=key), entry=printable(group.latest.entry),
                others=tuple(printable(o.entry) for o in group.others),
                order_known=group.order_known, time=self._time(source, group.latest, member)))
        if self.roster is not None:
            members = tuple(ClassMember(s.key, s.name) for s in self.roster)
        else:
            members = tuple(ClassMember(s.key, s.name) for s in students)
        graded = {s.key for s in students}
        overrides = self._overrides(graded)
        students = [replace(s, overrides=tuple(overrides.get(s.key, ()))) for s in students]
        return ClassPlan(
            students=tuple(students), members=members,
            no_submission=tuple(m for m in members if m.key not in graded),
            unmatched=tuple((printable(u.entry.entry), printable(u.why))
                            for u in grouping.unmatched),
            superseded=tuple((s.key, s.entry, s.others, s.order_known)
                             for s in students if s.others),
            roster=self.roster.source if self.roster is not None else None,
            policy=self.policy, max_score=self.max_score)

    def _time(self, source, name, member):
        if self.policy is None:
            return None
        recorded = None
        if getattr(name, "created_at", None) is not None:  # Gradescope's own time
            return SubmissionTime(name.created_at, "gradescope", None)
        if member is not None and member.submitted:
            recorded = worksheet_time(member.submitted, self.policy,
                                      (self.roster.source, member.row))
        return submission_time(source, name, recorded)

    def _overrides(self, graded):
        """The overrides by student key, each student one with a graded submission."""
        if self.overrides_path is None:
            return {}
        overrides = read_overrides(self.overrides_path, self.outputs, roster=self.roster,
                                   known_ids=None if self.roster is not None else graded)
        for override in overrides:
            if override.student not in graded:
                raise GraderError(f"{override.student!r} handed in nothing to override; leave "
                                  "the line out, or put their files with the others",
                                  path=self.overrides_path, line=override.line)
        return overrides_by_student(overrides)


@dataclass(frozen=True)
class StudentPlan:
    """One student with a submission: the entry graded (``source``, under the student's key),
    their other entries, its submission time (None without a late policy), their overrides."""

    key: str
    name: str
    source: object  # intake SubmissionSource
    entry: str
    others: tuple = ()
    order_known: bool = True
    time: object = None  # grades.SubmissionTime
    overrides: tuple = ()  # overrides.Override


@dataclass(frozen=True)
class ClassPlan:
    """The class as graded: what run.py grades (``sources``), how each result is finished, and
    the class list the reports show. Plain data, so worker processes get a copy."""

    students: tuple  # StudentPlan, in student order
    members: tuple  # ClassMember: the roster, or the students graded without one
    no_submission: tuple = ()
    unmatched: tuple = ()
    superseded: tuple = ()
    roster: str | None = None
    policy: object = None
    max_score: float = 0.0
    _by_key: dict = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_by_key", {s.key: s for s in self.students})

    @property
    def sources(self):
        return [s.source for s in self.students]

    def finish(self, result):
        """``result`` (a SubmissionResult of this class) with its ``final`` grade set."""
        student = self._by_key.get(result.id)
        if student is not None:
            result.final = final_grade(student, result.score,
                                       {c.output: c.score for c in result.checks},
                                       self.policy, self.max_score)
        return result

    def summary(self):
        return ClassList(roster=self.roster, members=self.members,
                         no_submission=self.no_submission, unmatched=self.unmatched,
                         superseded=self.superseded, late_policy=self.policy)


def final_grade(student, raw_score, check_scores, policy, max_score):
    """The FinalGrade of ``student`` (a StudentPlan) graded ``raw_score`` with ``check_scores``
    (output -> graded points): overrides of outputs, then of the total, then the late penalty
    on what they leave (see the module docstring)."""
    score = float(raw_score)
    applied = []
    for override in sorted(student.overrides, key=lambda o: o.output is None):
        if override.output is None:
            original, score = score, override.points
        else:
            original = float(check_scores.get(override.output, 0.0))
            score = round(score + override.points - original, _DECIMALS)
        applied.append(ScoreOverride(override.output, original, override.points, override.reason))
    late = None
    if policy is not None:
        late = late_charge(policy, student.time, score, max_score)
        score = round(score - late.points, _DECIMALS)
    return FinalGrade(student=student.key, name=student.name, entry=student.entry,
                      others=student.others, order_known=student.order_known,
                      raw_score=float(raw_score), overrides=tuple(applied), late=late,
                      score=max(score, 0.0))


def late_charge(policy, time, score, max_score):
    """The LateCharge of a submission made at ``time`` (grades.SubmissionTime) that scored
    ``score``: nothing when its time is not known (a Canvas upload not marked LATE)."""
    if time.at is None:
        return LateCharge(time, policy.due, timedelta(0), 0, policy.unit, 0.0, 0.0)
    penalty = policy.assess(time.at, score, max_score)
    return LateCharge(time, policy.due, penalty.late_by, penalty.units, policy.unit,
                      penalty.fraction, penalty.points)
