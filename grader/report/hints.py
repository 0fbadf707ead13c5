"""Class-level hints: what a class's results say about the spec rather than about the students.

When most of a class makes the same convention mistake, the likelier story is that the hand-out
the class was given states the other convention (CS231n's starter code said dropout's p drops a
unit in 2016-17 and keeps it from 2018 on). The rule: a convention diagnosis hints when, on some
output, it is the diagnosis of at least half of the graded submissions, and of at least
``MIN_STUDENTS`` of them. Graded submissions are those that could be opened (no submission-level
error), whether or not they handed that output in. The conventions are those a spec states and
the catalogue names a diagnosis for:

- ``keep_probability``: ``dropout_p_means`` ("drop" or "keep"); the other reading changes no
  expected output (test mode is the identity either way), so the same expected/ regrades;
- ``pad_convention``: ``pad_convention`` ("total" or "per_side"); the other reading changes the
  convolutions' expected outputs, so they are recomputed first. A per-side pad that is odd has no
  total-padding reading, and then the hint says so instead of giving commands.

A hint shows the commands that regrade the class with the other reading (a copy of the spec with
the one setting changed, passed with ``--spec``) and compare the two runs with ``cnngrade diff``.
Pure: :func:`class_hints` maps a BatchResult and the Assignment to a tuple of
:class:`ConventionHint`; report.html lays them out.
"""
import shlex
from dataclasses import dataclass
from pathlib import PurePath

MIN_STUDENTS = 3  # one or two students sharing a mistake are not a class


@dataclass(frozen=True)
class _Convention:
    setting: str  # the key under [assignment] that states it
    readings: tuple  # its two values
    needs_expected: bool  # the other reading changes expected outputs
    parameter: str  # the parameter whose meaning it states
    what: str  # what the students did


CONVENTIONS = {
    "keep_probability": _Convention("dropout_p_means", ("drop", "keep"), False, "dropout's p",
                                    "read dropout's p the other way round"),
    "pad_convention": _Convention("pad_convention", ("total", "per_side"), True, "pad",
                                  "padded by the other reading of pad"),
}

_MEANINGS = {
    "drop": "the probability of DROPPING a unit",
    "keep": "the probability of KEEPING a unit",
    "total": "the TOTAL padding, half on each side",
    "per_side": "the number of zeros on EACH side",
}


@dataclass(frozen=True)
class HintOutput:
    """One output where the diagnosis reaches the rule: ``students`` of ``graded``."""

    output: str
    students: int
    graded: int
    share: str  # "70%"


@dataclass(frozen=True)
class ConventionHint:
    """The class may have been taught the other reading of one convention of the spec."""

    code: str  # the shared diagnosis
    setting: str  # the spec's key, e.g. dropout_p_means
    current: str  # its value in the spec graded with
    other: str  # the other reading
    outputs: tuple  # of HintOutput
    summary: str  # what the results show and what it may mean
    commands: tuple  # of str: regrade with the other reading, then compare the two runs
    note: str  # how to read the commands


def class_hints(batch, assignment):
    """The :class:`ConventionHint` of each convention diagnosis that reaches the rule (module
    docstring) on some output of ``batch``, in the order of CONVENTIONS."""
    graded = [s for s in batch.submissions if not s.error]
    hints = []
    for code, convention in CONVENTIONS.items():
        outputs = _outputs_reaching_rule(graded, assignment, code)
        if outputs:
            hints.append(_hint(code, convention, outputs, assignment))
    return tuple(hints)


def _outputs_reaching_rule(graded, assignment, code):
    counts = {o.file: 0 for o in assignment.outputs}
    for submission in graded:
        for output in {c.output for c in submission.checks if c.diagnosis_code == code}:
            counts[output] = counts.get(output, 0) + 1
    return tuple(HintOutput(output, n, len(graded), f"{100 * n / len(graded):.0f}%")
                 for output, n in counts.items()
                 if n >= MIN_STUDENTS and 2 * n >= len(graded))


def _hint(code, convention, outputs, assignment):
    current = getattr(assignment, convention.setting)
    other = next(r for r in convention.readings if r != current)
    where = ", ".join(o.output for o in outputs)
    most = max(outputs, key=lambda o: o.students)
    summary = (f"{most.students} of {most.graded} graded submissions ({most.share}) "
               f"{convention.what} ({code}, on {where}). This spec says {convention.parameter} is "
               f"{_MEANINGS[current]} ({convention.setting} = \"{current}\"); the hand-out this "
               f"class was given may say it is {_MEANINGS[other]}. Before marking them wrong, "
               "regrade with the other reading and compare the two runs.")
    if code == "pad_convention" and other == "total" and _odd_pad(assignment):
        note = ("The other reading cannot be stated for this spec: an odd pad has no total-padding "
                "reading (half on each side). Check the hand-out's padding by hand.")
        return ConventionHint(code, convention.setting, current, other, outputs, summary, (), note)
    commands, note = _commands(convention, current, other, assignment.source or "assignment.toml")
    return ConventionHint(code, convention.setting, current, other, outputs, summary, commands, note)


def _commands(convention, current, other, spec):
    """The commands that regrade with the other reading and compare, and how to read them."""
    other_spec = PurePath(spec).with_name(f"{PurePath(spec).stem}_{other}.toml").as_posix()
    quoted, quoted_other = shlex.quote(spec), shlex.quote(other_spec)
    grades = f"grades_{other}"
    commands = [f"sed -E 's/^({convention.setting} *= *)\"{current}\"/\\1\"{other}\"/' "
                f"{quoted} > {quoted_other}"]
    expected = ""
    if convention.needs_expected:
        commands.append(f"cnngrade expected --spec {quoted_other} --out expected_{other}")
        expected = f" --expected expected_{other}"
    commands.append(f"cnngrade batch ROOT --spec {quoted_other}{expected} --out {grades}")
    commands.append(f"cnngrade diff grades {grades}")
    same = ("The inputs stay the same; the expected outputs of the other reading are recomputed."
            if convention.needs_expected else "The inputs and expected outputs stay the same.")
    note = (f"The first command writes a copy of the spec with {convention.setting} = \"{other}\". "
            "ROOT is the folder of submissions graded here and grades the --out folder of this "
            f"report; add the --inputs (and --expected) options this run was given. {same} "
            "cnngrade diff lists the students whose grade changes between the two runs.")
    return tuple(commands), note


def _odd_pad(assignment):
    for problem in assignment.problems:
        pad = problem.params.get("pad", 0)
        pairs = pad if isinstance(pad, (list, tuple)) else (pad, pad)
        if any(int(v) % 2 for v in pairs):
            return True
    return False
