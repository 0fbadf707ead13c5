"""What a student reads about one output on a platform: what was found, the likely mistake with
its fix, and what to do next; as Markdown (Gradescope) or plain text (PrairieLearn).

Built from a typed check (grader/results.py): its ``message`` says what was found and is
student-safe (the context is built with ``show_expected=False``); its ``diagnosis`` is the likely
mistake, kept apart.
"""
import re
from dataclasses import dataclass

STATUS_WORDS = {"pass": "passed", "fail": "failed", "error": "could not be read",
                "missing": "missing", "unchecked": "not checked"}

# What to do next when the diagnosis has not already said it.
_NEXT_STEP = {
    "missing": "Hand in {file}: run make_outputs.py to write it and submit it with the other "
               "output files, under exactly this name.",
    "error": "Write {file} as make_outputs.py does (numbers only, one value per line or one row "
             "per line, no header) and submit again.",
    "fail": "No catalogued mistake matches these values: compare your layer with the "
            "assignment's definition, run self_check.py and its numerical gradient checks, "
            "then submit again.",
}

# Characters that Markdown could read as formatting or HTML; escaped with a backslash.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")


@dataclass(frozen=True)
class CheckFeedback:
    file: str  # the output's file name, e.g. conv_forward_out.csv
    problem: str
    status: str  # the check's status: pass, fail, error, missing, unchecked
    score: float
    max_score: float
    found: str
    likely: str  # the likely mistake and its fix; "" when none is known
    next_step: str  # "" when the output passed or the likely mistake already says the fix

    @property
    def passed(self):
        return self.status == "pass"


def check_feedback(check):
    """The feedback for one CheckResult."""
    file = f"{check.output}.csv"
    found = check.message
    likely = check.diagnosis.message if check.diagnosis else ""
    next_step = ""
    if check.status != "pass" and not likely:
        next_step = _NEXT_STEP.get(check.status, "").format(file=file)
    return CheckFeedback(file=file, problem=check.problem, status=check.status,
                         score=check.score, max_score=check.max_score,
                         found=_sentence(found), likely=_sentence(likely), next_step=next_step)


def markdown_escape(text):
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def as_markdown(feedback):
    lines = [f"**{STATUS_WORDS.get(feedback.status, feedback.status).capitalize()}**: "
             f"{points(feedback.score)} / {points(feedback.max_score)}",
             f"**Found:** {markdown_escape(feedback.found)}"]
    if feedback.likely:
        lines.append(f"**Likely mistake and fix:** {markdown_escape(feedback.likely)}")
    if feedback.next_step:
        lines.append(f"**Next step:** {markdown_escape(feedback.next_step)}")
    return "\n\n".join(lines)


def as_text(feedback):
    """The likely mistake and the next step as plain text ("" for a pass)."""
    lines = []
    if feedback.likely:
        lines.append(f"Likely mistake and fix: {feedback.likely}")
    if feedback.next_step:
        lines.append(f"Next step: {feedback.next_step}")
    return "\n".join(lines)


def points(value):
    """A score as people write it: 1, 0.5, 0.3333."""
    return f"{value:.4g}" if value != int(value) else str(int(value))


def _sentence(text):
    text = text.strip()
    return text + "." if text and text[-1] not in ".!?" else text
