"""Which draw of per-student inputs a student is handed, and the roster's audit
(`cnngrade inputs --audit --roster ... --secret ...`).

Every student's inputs must catch every catalogued mistake that the shared inputs (the spec's
generated ones) catch: otherwise a student could make that mistake and keep full marks. The
audit of grader/diagnosis/audit.py decides it. A student's draw 0 is handed out unless its audit
misses a mistake the shared inputs catch; then draw 1, and so on (deterministic: the draws come
from the secret and the id). On the default assignment every draw tried so far catches all 86.
"""
from dataclasses import dataclass

from grader.assignment.generate import make_inputs
from grader.assignment.per_student import student_draw
from grader.diagnosis.audit import audit_inputs
from grader.errors import GraderError

MAX_DRAWS = 20  # a spec whose draws miss a mistake this often is too small for per-student inputs


def caught(rows):
    """The (output, code) pairs an audit catches."""
    return frozenset((row.output, row.code) for row in rows if row.status == "caught")


def required_catches(assignment):
    """What every student's inputs must catch: what the shared inputs catch."""
    return caught(audit_inputs(assignment, make_inputs(assignment)))


@dataclass(frozen=True)
class DrawChoice:
    """The draw a student is handed (``chosen``, a StudentDraw) and, for each draw refused before
    it, the (output, code) pairs that draw missed."""

    chosen: object
    refused: tuple  # of frozensets


def choose_draw(assignment, secret, student_id, required):
    """The first draw of ``student_id``'s inputs whose audit catches everything in ``required``."""
    refused = []
    for draw in range(MAX_DRAWS):
        candidate = student_draw(assignment, secret, student_id, draw)
        missed = required - caught(audit_inputs(assignment, candidate.inputs))
        if not missed:
            return DrawChoice(candidate, tuple(refused))
        refused.append(frozenset(missed))
    raise GraderError(f"none of {MAX_DRAWS} draws of {student_id}'s inputs catches every mistake "
                      "the shared inputs catch: the spec's inputs are too small to be drawn per "
                      "student (run `cnngrade inputs --audit --roster ...` to see which)")


def audit_roster(assignment, secret, student_ids):
    """``(required, choices)``: what the shared inputs catch, and each student's DrawChoice."""
    required = required_catches(assignment)
    return required, [choose_draw(assignment, secret, sid, required) for sid in student_ids]


def format_roster_audit(required, choices):
    """The roster's audit as text: one line per redrawn student, then a summary line."""
    lines = []
    for choice in choices:
        if choice.refused:
            reasons = "; ".join(f"draw {k} missed " + ", ".join(f"{code} on {output}"
                                                                for output, code in sorted(missed))
                                for k, missed in enumerate(choice.refused))
            lines.append(f"{choice.chosen.student_id}: draw {choice.chosen.draw} handed out "
                         f"({reasons})")
    redrawn = sum(1 for c in choices if c.refused)
    lines.append(f"{len(choices)} students: every student's inputs catch the {len(required)} "
                 f"mistakes the shared inputs catch; {redrawn} redrawn to get there")
    return "\n".join(lines)
