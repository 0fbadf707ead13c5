"""Typed results, nested check -> submission -> batch, and their JSON form (DESIGN.md schema)."""
import json
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone

STATUSES = ("pass", "fail", "error", "missing", "unchecked")


def percent(score, max_score):
    return 100.0 * score / max_score if max_score else 0.0


@dataclass
class CheckResult:
    """One output file of one submission, judged.

    ``status``: pass, fail, error (unreadable), missing, or unchecked (no expected/ to compare a
    deterministic output with: a student self-checking). ``details`` carries what the message
    summarises (worst-difference indices, rel_error, dropout statistics) for the reports.
    """

    output: str
    problem: str
    status: str
    score: float
    max_score: float
    message: str
    diagnosis: str | None = None
    mismatches: int | None = None
    size: int | None = None
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    details: dict = field(default_factory=dict)

    @property
    def percent(self):
        return percent(self.score, self.max_score)

    def to_dict(self):
        # Shallow on purpose: details are JSON-ready already, and asdict's deep copy of them was
        # the largest cost of writing a class's results.
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class Flag:
    """Batch-level suspicion for the instructor (never changes a score).

    A flag shared by a group of submissions (a shared dropout mask) names its ``group``, listed
    once in the batch's ``flag_groups`` with all its members, and the ``group_size``; ``with_``
    then names only the first few others, so that a group of 1,600 costs 1,600 small flags.
    """

    code: str
    output: str
    with_: list
    message: str = ""
    group: str | None = None
    group_size: int | None = None

    def to_dict(self):
        return {"code": self.code, "output": self.output, "with": list(self.with_),
                "message": self.message, "group": self.group, "group_size": self.group_size}


@dataclass
class SubmissionResult:
    id: str
    score: float
    max_score: float
    error: str | None
    checks: list
    flags: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # misnamed or extra files, and where files were found
    checked_expected: bool = True
    graded: bool = True  # False: the grader failed on it (``error`` says how); no score to give

    @property
    def percent(self):
        return percent(self.score, self.max_score)

    @property
    def full_marks(self):
        return self.error is None and all(c.status in ("pass", "unchecked") for c in self.checks)

    def to_dict(self):
        return {
            "id": self.id,
            "score": self.score,
            "max_score": self.max_score,
            "percent": round(self.percent, 2),
            "error": self.error,
            "checked_expected": self.checked_expected,
            "graded": self.graded,
            "checks": [c.to_dict() for c in self.checks],
            "flags": [f.to_dict() for f in self.flags],
            "notes": list(self.notes),
        }


@dataclass
class BatchResult:
    assignment: str
    submissions: list
    generated_at: str = ""
    ignored: list = field(default_factory=list)  # loose files under ROOT: neither folder nor zip
    renamed: list = field(default_factory=list)  # why ids are not entry names (clashes, look-alikes)
    flag_groups: list = field(default_factory=list)  # grader.flags.FlagGroup: each group once

    def to_dict(self):
        return {"assignment": self.assignment, "generated_at": self.generated_at,
                "ignored": list(self.ignored), "renamed": list(self.renamed),
                "flag_groups": [group.to_dict() for group in self.flag_groups],
                "submissions": [s.to_dict() for s in self.submissions]}


def to_json(data, indent=2):
    """JSON text for a results dict; refuses NaN and Infinity, which are not JSON. ``indent=None``
    is several times faster (the C encoder), for a class's results."""
    return json.dumps(data, indent=indent, allow_nan=False) + "\n"


def timestamp():
    """Now, in UTC, to the second: the one part of a report that is not deterministic."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
