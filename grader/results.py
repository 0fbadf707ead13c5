"""Typed results, nested check -> submission -> batch, and their JSON form (DESIGN.md schema).

``to_dict`` flattens a result into the results JSON; ``from_dict`` reads it back (merging shards
graded on other machines, grader/batch/shards.py). The round trip is exact for the JSON:
``X.from_dict(d).to_dict()`` is ``d`` as JSON (tuples where ``d`` has lists). The typed result read back equals the one written except for
what the JSON does not hold: a dropout verdict's own ``diagnosis`` (read back as the check's, which
that verdict decides) and ``kept_scale`` (None: only the diagnosis reads it, before results exist).
"""
import copy
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from grader.judge.compare import Comparison
from grader.judge.dropout import DropoutVerdict

STATUSES = ("pass", "fail", "error", "missing", "unchecked")


def percent(score, max_score):
    return 100.0 * score / max_score if max_score else 0.0


@dataclass(frozen=True)
class Diagnosis:
    """A likely mistake: its catalogue ``code``; ``message``, the sentence that names the bug and
    its fix on this student's values ("" when only the code is known, e.g. a file that could not
    be parsed); ``explanation``, the catalogue's standard sentence for the code ("" if none)."""

    code: str
    message: str = ""
    explanation: str = ""

    @classmethod
    def of_code(cls, code, message=""):
        """The Diagnosis of ``code`` with ``message``, its explanation from the catalogue (as
        grader.diagnosis.catalogue.diagnosis makes every diagnosis)."""
        from grader.diagnosis.catalogue import CATALOGUE  # imports this module: not at the top

        return cls(code, message, CATALOGUE.get(code, ""))


@dataclass(frozen=True)
class Fingerprints:
    """What the batch's flags compare across a class: the sha256 of the bytes graded, and of the
    dropout mask they define (None when the values define none)."""

    file_sha256: str
    mask_sha256: str | None = None


@dataclass
class CheckResult:
    """One output file of one submission, judged.

    ``status``: pass, fail, error (unreadable), missing, or unchecked (no expected/ to compare a
    deterministic output with: a student self-checking). ``message`` is the verdict in one line;
    the likely mistake is ``diagnosis``, kept apart. A deterministic output carries its
    ``comparison`` (judge.compare.Comparison, student-safe unless the context shows expected
    values), a dropout train output its ``dropout`` verdict (judge.dropout.DropoutVerdict);
    ``figures`` is the report text of either. :meth:`to_dict` is the one place where these are
    flattened into the results JSON of DESIGN.md.
    """

    output: str
    problem: str
    status: str
    score: float
    max_score: float
    message: str
    diagnosis: Diagnosis | None = None
    mismatches: int | None = None
    size: int | None = None
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    comparison: object = None
    dropout: object = None
    figures: str | None = None
    fingerprints: Fingerprints | None = None
    expected_at_worst: float | None = None  # instructors only (show_expected)

    @property
    def percent(self):
        return percent(self.score, self.max_score)

    @property
    def diagnosis_code(self):
        return self.diagnosis.code if self.diagnosis else None

    @property
    def full_message(self):
        """The verdict and, when the grader recognised the mistake, ``. Likely: <sentence>``: the
        message of the results JSON and the terminal."""
        if self.diagnosis and self.diagnosis.message:
            return f"{self.message}{LIKELY}{self.diagnosis.message}"
        return self.message

    def to_dict(self):
        return {"output": self.output, "problem": self.problem, "status": self.status,
                "score": self.score, "max_score": self.max_score, "message": self.full_message,
                "diagnosis": self.diagnosis_code, "mismatches": self.mismatches,
                "size": self.size, "max_abs_err": self.max_abs_err,
                "max_rel_err": self.max_rel_err, "details": self._details()}

    def _details(self):
        """The figures behind the verdict, flat, in the order of the results JSON."""
        parts = []
        if self.comparison is not None:
            figures = self.comparison.to_dict()
            if figures.get("scale") is None:  # withheld from students
                figures.pop("scale", None)
            parts.append(figures)
            if self.expected_at_worst is not None:
                parts.append({"expected_at_worst": self.expected_at_worst})
        if self.dropout is not None:
            parts.append(self.dropout.figures())
        if self.figures is not None:
            parts.append({"report": self.figures})
        if self.fingerprints is not None:
            if self.dropout is not None:
                parts.append({"mask_sha256": self.fingerprints.mask_sha256})
            parts.append({"file_sha256": self.fingerprints.file_sha256})
        return {key: value for part in parts for key, value in part.items()}

    @classmethod
    def from_dict(cls, data):
        """The check whose :meth:`to_dict` is ``data`` (see the module docstring).

        The message and the diagnosis's sentence are read apart at the last ``. Likely: ``, which
        only ends a message when the check has a diagnosis with a sentence of its own: never for
        an unreadable or missing file, whose messages may quote a file's name. (A ``wrong size``
        message quoting a path that holds ``. Likely: `` without a sentence after it would be
        read apart there: the JSON is still written back the same.)
        """
        details = data.get("details") or {}
        code = data.get("diagnosis")
        message, sentence = data["message"], ""
        if code is not None and data["status"] not in ("error", "missing") and LIKELY in message:
            message, _, sentence = message.rpartition(LIKELY)
        file_sha256 = details.get("file_sha256")
        fingerprints = None if file_sha256 is None else Fingerprints(file_sha256,
                                                                     details.get("mask_sha256"))
        dropout = None
        if "structure_tests" in details:
            dropout = DropoutVerdict.from_figures(
                details, message, diagnosis=None if data["status"] == "pass" else code,
                mask_digest=details.get("mask_sha256"))
        return cls(output=data["output"], problem=data["problem"], status=data["status"],
                   score=data["score"], max_score=data["max_score"], message=message,
                   diagnosis=None if code is None else Diagnosis.of_code(code, sentence),
                   mismatches=data.get("mismatches"), size=data.get("size"),
                   max_abs_err=data.get("max_abs_err"), max_rel_err=data.get("max_rel_err"),
                   comparison=Comparison.from_dict(details) if "max_abs_index" in details else None,
                   dropout=dropout, figures=details.get("report"), fingerprints=fingerprints,
                   expected_at_worst=details.get("expected_at_worst"))

    def without_figures(self):
        """This check as the batch keeps it once its page and JSON are written: what the class
        report and the flags read (status, score, diagnosis, fingerprints, dropout counts)."""
        kept = copy.copy(self)  # as dataclasses.replace, without re-running __init__ (10x faster)
        kept.comparison = kept.figures = None
        return kept


LIKELY = ". Likely: "  # joins a diagnosis's sentence to a check's message in the results JSON


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

    @classmethod
    def from_dict(cls, data):
        return cls(data["code"], data["output"], list(data["with"]), data.get("message", ""),
                   group=data.get("group"), group_size=data.get("group_size"))


@dataclass(frozen=True)
class FlagGroup:
    """Submissions flagged together (sharing one dropout mask in ``output``), listed once: each
    member's Flag names the group by ``id`` instead of listing every other member, which made
    results.json and memory grow with the square of the group (349 MB for 3,200 students)."""

    id: str
    code: str
    output: str
    members: tuple  # of submission ids, in batch order
    message: str

    def to_dict(self):
        return {"id": self.id, "code": self.code, "output": self.output,
                "members": list(self.members), "size": len(self.members),
                "message": self.message}

    @classmethod
    def from_dict(cls, data):
        return cls(data["id"], data["code"], data["output"], tuple(data["members"]),
                   data["message"])


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
    # The course's grade (grader/course/grades.FinalGrade: overrides, late penalty, final score),
    # when the batch has a roster, overrides or a late policy; ``score`` stays as graded.
    final: object = None
    graded: bool = True  # False: the grader failed on it (``error`` says how); no score to give
    # Per-student inputs: the fingerprint of the seed they were drawn from (never the secret), so
    # that a regrade can tell it reproduced them. None for the shared inputs.
    inputs_fingerprint: str | None = None

    @property
    def percent(self):
        return percent(self.score, self.max_score)

    @property
    def full_marks(self):
        return self.error is None and all(c.status in ("pass", "unchecked") for c in self.checks)

    def to_dict(self):
        data = {
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
            **(self.final.to_dict() if self.final is not None else {}),
        }
        if self.inputs_fingerprint is not None:  # per-student inputs only: shared results unchanged
            data["inputs_fingerprint"] = self.inputs_fingerprint
        return data

    @classmethod
    def from_dict(cls, data):
        """The submission whose :meth:`to_dict` is ``data`` (``percent`` is recomputed)."""
        return cls(id=data["id"], score=data["score"], max_score=data["max_score"],
                   error=data["error"], checks=[CheckResult.from_dict(c) for c in data["checks"]],
                   flags=[Flag.from_dict(f) for f in data.get("flags", [])],
                   notes=list(data.get("notes", [])),
                   checked_expected=data.get("checked_expected", True),
                   graded=data.get("graded", True),
                   inputs_fingerprint=data.get("inputs_fingerprint"))


@dataclass
class BatchResult:
    assignment: str
    submissions: list
    generated_at: str = ""
    ignored: list = field(default_factory=list)  # loose files under ROOT: neither folder nor zip
    course: object = None  # grader/course/grades.ClassList, with a roster, overrides or late policy
    renamed: list = field(default_factory=list)  # why ids are not entry names (clashes, look-alikes)
    flag_groups: list = field(default_factory=list)  # FlagGroup: each group once

    def header(self):
        """The results JSON without its submissions."""
        head = {"assignment": self.assignment, "generated_at": self.generated_at,
                "ignored": list(self.ignored), "renamed": list(self.renamed),
                "flag_groups": [group.to_dict() for group in self.flag_groups]}
        if self.course is not None:
            head["course"] = self.course.to_dict()
        return head

    def to_dict(self):
        return {**self.header(), "submissions": [s.to_dict() for s in self.submissions]}

    @classmethod
    def from_dict(cls, data):
        return cls(data["assignment"], [SubmissionResult.from_dict(s) for s in data["submissions"]],
                   data.get("generated_at", ""), list(data.get("ignored", [])),
                   renamed=list(data.get("renamed", [])),
                   flag_groups=[FlagGroup.from_dict(g) for g in data.get("flag_groups", [])])


def to_json(data, indent=2):
    """JSON text for a results dict; refuses NaN and Infinity, which are not JSON. ``indent=None``
    is several times faster (the C encoder), for a class's results."""
    return json.dumps(data, indent=indent, allow_nan=False) + "\n"


def timestamp():
    """Now, in UTC, to the second: the one part of a report that is not deterministic."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
