"""What the course makes of a graded submission, typed: whose it is, the instructor's overrides,
the late penalty and the final score (``SubmissionResult.final``); and the class as the roster
sees it (``BatchResult.course``). ``to_dict`` is the one place these are flattened into the
results JSON, beside the graded scores, which stay as graded.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class SubmissionTime:
    """When a submission was handed in, and how we know.

    ``at``: an aware datetime, None when only the LMS's verdict is known (a Canvas download
    marks late uploads ``LATE`` but gives no time: one not marked is on time). ``source``, most
    trusted first: ``moodle_worksheet`` (Moodle's grading worksheet), ``canvas_on_time`` (a
    Canvas name without LATE), ``file_time`` (the file's modification time: the last resort).
    ``lms_late``: Canvas's LATE marker (None for other names).
    """

    at: datetime | None
    source: str
    lms_late: bool | None = None

    @property
    def from_file(self):
        return self.source == "file_time"

    def to_dict(self):
        return {"submitted_at": self.at.isoformat() if self.at else None,
                "time_source": self.source, "lms_late": self.lms_late}


@dataclass(frozen=True)
class LateCharge:
    """The late policy applied to one submission: how late (``late_by``, ``units`` started days
    or hours) and what it cost (``fraction`` of the maximum score, ``points`` deducted)."""

    time: SubmissionTime
    due: datetime  # the policy's, in its time zone
    late_by: timedelta
    units: int
    unit: str
    fraction: float
    points: float

    @property
    def submitted_local(self):
        """The submission time in the due time's zone, as the pages show it (None if unknown)."""
        return self.time.at.astimezone(self.due.tzinfo) if self.time.at else None

    @property
    def disputed(self):
        """Canvas marked it LATE but the time we have is on time: a person should look."""
        return bool(self.time.lms_late) and self.units == 0

    def to_dict(self):
        return {**self.time.to_dict(), "due": self.due.isoformat(),
                "late_by_seconds": int(self.late_by.total_seconds()),
                "units": self.units, "unit": self.unit, "fraction": self.fraction,
                "points": self.points}


@dataclass(frozen=True)
class ScoreOverride:
    """An instructor's override as applied: ``output`` (None for the total) goes from
    ``original`` to ``points``, for ``reason``."""

    output: str | None
    original: float
    points: float
    reason: str

    def to_dict(self):
        return {"output": self.output, "original": self.original, "points": self.points,
                "reason": self.reason}


@dataclass(frozen=True)
class FinalGrade:
    """One student's grade: the submission graded and the others not, the graded (raw) score,
    the overrides, the late charge (None without a late policy) and the final ``score``."""

    student: str  # the roster key (the LMS's id without a roster)
    name: str
    entry: str  # the folder or zip graded, as named under ROOT
    others: tuple  # the student's other entries, not graded, earliest first
    order_known: bool  # False: the names do not say which entry is the latest
    raw_score: float
    overrides: tuple  # ScoreOverride: outputs in file order, then the total
    late: LateCharge | None
    score: float

    @property
    def adjusted_score(self):
        """The score after the overrides, before the late penalty."""
        return round(self.score + (self.late.points if self.late else 0.0), 10)

    def to_dict(self):
        return {"final_score": self.score,
                "overrides": [o.to_dict() for o in self.overrides],
                "late": self.late.to_dict() if self.late else None,
                "student": {"key": self.student, "name": self.name, "entry": self.entry,
                            "others": list(self.others), "order_known": self.order_known}}


@dataclass(frozen=True)
class ClassMember:
    """A student of the class list (the roster, or the submissions' names without one)."""

    key: str
    name: str = ""


@dataclass(frozen=True)
class ClassList:
    """The class around a batch: every student in roster order, who handed in nothing, what
    matched nobody, and which earlier submissions were not graded.

    ``no_submission`` and ``members`` hold ClassMember; ``unmatched`` (entry, why);
    ``superseded`` (student key, graded entry, other entries, order_known).
    """

    roster: str | None
    members: tuple
    no_submission: tuple = ()
    unmatched: tuple = ()
    superseded: tuple = ()
    late_policy: object = None  # late.LatePolicy, None without one

    def to_dict(self):
        return {"roster": self.roster,
                "students": len(self.members),
                "no_submission": [{"key": m.key, "name": m.name} for m in self.no_submission],
                "unmatched": [{"entry": entry, "why": why} for entry, why in self.unmatched],
                "superseded": [{"student": key, "graded": graded, "others": list(others),
                                "order_known": known}
                               for key, graded, others, known in self.superseded],
                "late_policy": _policy_dict(self.late_policy) if self.late_policy else None}


def _policy_dict(policy):
    return {"due": policy.due.isoformat(), "penalty_per_unit": policy.penalty_per_unit,
            "unit": policy.unit, "grace_minutes": policy.grace.total_seconds() / 60,
            "cap": policy.cap, "timezone": policy.timezone}
