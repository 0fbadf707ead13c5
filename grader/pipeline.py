"""Grading one submission: locate its files, read them, judge each output, score it.

Phases, as torch.testing compares: pair each output of the spec with the student's file, judge
each pair (comparison or dropout statistics), then score. A bad file becomes an ``error`` check
worth zero and the other outputs are still graded; a submission that cannot be opened at all
becomes a result with ``error`` set. Nothing here prints.
"""
import copy
import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from grader.assignment.generate import check_expected_belongs, load_expected, read_inputs
from grader.assignment.spec import load_spec
from grader.atomic import write_text_atomic
from grader.diagnosis.catalogue import diagnosis, explain
from grader.diagnosis.diagnoser import Diagnoser
from grader.errors import StaleExpectedError, SubmissionError
from grader.intake.locate import locate_outputs
from grader.intake.reading import CountMismatch, parse_array, read_file_for
from grader.intake.submissions import SubmissionSource, open_submission
from grader.judge.compare import ExpectedValues, compare
from grader.judge.dropout import check_dropout_train
from grader.limits import DEFAULT_TIME_LIMIT, TimeLimitExceeded, grading_limits, reading
from grader.outdir import check_output_file
from grader.report import wording
from grader.results import CheckResult, Fingerprints, SubmissionResult, timestamp, to_json
from grader.text import printable


@dataclass(frozen=True)
class GradingContext:
    """Everything a submission is judged against; built once, shared by every submission."""

    assignment: object
    inputs: dict  # input file name -> array
    expected: object  # ExpectedOutputs, or None for a student self-checking
    diagnoser: object  # Diagnoser: what a failing output most likely got wrong
    show_expected: bool = False  # instructor reports may show expected values; students never
    inputs_fingerprint: str | None = None  # per-student inputs: their seed's fingerprint

    @property
    def checks_expected(self):
        return self.expected is not None

    @cached_property
    def expected_values(self):
        """Output file -> its expected values prepared for comparison (judge.compare.ExpectedValues):
        what every student's comparison shares is computed once per context, not once per student."""
        if self.expected is None:
            return {}
        return {o.file: ExpectedValues.of(self.expected.arrays[o.file], o.rtol, o.atol)
                for o in self.assignment.outputs if o.file in self.expected.arrays}

    @cached_property
    def judged(self):
        """Checks of deterministic outputs already judged in this context, by (output file,
        sha256 of the file's bytes): see :class:`JudgedFiles`."""
        return JudgedFiles()


class JudgedFiles:
    """The last ``capacity`` judgements of deterministic outputs, by (output file, sha256 of the
    bytes), the least recently used forgotten first.

    A check of a deterministic output that could be read is a function of its bytes alone (with
    the context: the spec, the inputs, expected/), and a class of correct students hands in the
    same bytes for most outputs: every output computed exactly (max-pooling, dropout's test mode)
    and every convolution summed in the reference's order. A file seen before is then read and
    hashed, not parsed and judged again. Memory stays flat: ``capacity`` checks at most.
    """

    def __init__(self, capacity=256):
        self.capacity = capacity
        self._checks = OrderedDict()

    def get(self, key):
        """A fresh copy of the check remembered for ``key``, or None."""
        check = self._checks.get(key)
        if check is None:
            return None
        self._checks.move_to_end(key)
        return copy.copy(check)  # the caller's to change (pipeline._printable does)

    def remember(self, key, check):
        """Remember ``check`` for ``key``; return a copy of it for the caller to change."""
        self._checks[key] = check
        self._checks.move_to_end(key)
        if len(self._checks) > self.capacity:
            self._checks.popitem(last=False)
        return copy.copy(check)


def load_context(spec_path="assignment.toml", inputs_dir="input_files", expected_dir="expected",
                 require_expected=False, show_expected=False):
    """Read the spec, the inputs and (if present) expected/, checking that they belong together.

    Without expected/ grading still checks names, counts, parsing and dropout statistics, unless
    ``require_expected`` (batch grading) makes its absence an error.
    """
    assignment = load_spec(spec_path)
    if expected_dir is not None:
        check_expected_belongs(assignment, expected_dir)  # a forgotten --spec, said plainly
    inputs = read_inputs(assignment, inputs_dir)
    expected = None
    if expected_dir is not None and (require_expected or Path(expected_dir).exists()):
        expected = load_expected(assignment, expected_dir, inputs_dir)
    diagnoser = Diagnoser(assignment, inputs, expected.arrays if expected else None)
    return GradingContext(assignment, inputs, expected, diagnoser, show_expected)


def check_submission(submission, spec_path="assignment.toml", inputs_dir="input_files",
                     expected_dir=None, json_path=None, html_path=None, show_expected=False,
                     generated_at=None, seconds=DEFAULT_TIME_LIMIT):
    """`cnngrade check`: grade one folder or zip, write the JSON and HTML asked for.

    ``expected_dir`` None means ``expected`` if it exists, else a student's self-check; a folder
    that is named but absent is an error. Returns ``(result, context)``.
    """
    for path in (json_path, html_path):  # an unusable path refused before grading, not after
        if path:
            check_output_file(path)
    if expected_dir is None:
        expected_dir = "expected" if Path("expected").is_dir() else None
    elif not Path(expected_dir).is_dir():
        raise StaleExpectedError(f"no expected outputs at {expected_dir}")
    context = load_context(spec_path, inputs_dir, expected_dir, show_expected=show_expected)
    source = SubmissionSource.from_path(Path(submission))
    try:
        with grading_limits(seconds):
            result = grade_submission(source.path, context, source=source)
    except TimeLimitExceeded as e:
        result = failed_submission(source.id, context, str(e))
    write_check_files(result, context.assignment, json_path, html_path, show_expected, generated_at)
    return result, context


def write_check_files(result, assignment, json_path=None, html_path=None, show_expected=False,
                      generated_at=None):
    """The JSON and the feedback page `cnngrade check` was asked for."""
    if json_path:
        write_text_atomic(json_path, to_json(result.to_dict()))
    if html_path:
        from grader.report.render import render_feedback

        write_text_atomic(html_path, render_feedback(result, assignment,
                                                     generated_at or timestamp(),
                                                     show_expected=show_expected))


def grade_submission(path, context, submission_id=None, source=None, choose_context=None):
    """Grade a submission folder or zip at ``path`` (or a listed ``source``); never raises for
    anything in the submission.

    ``choose_context``, if given, is called with the output files found (file name -> path) and
    returns the context to grade them against instead of ``context`` (per-student grading: which
    of a student's draws the outputs were computed from); ``context`` then serves a submission
    that cannot be opened.
    """
    source = source or SubmissionSource.from_path(Path(path))
    submission_id = submission_id or source.id
    notes = []
    folder = None
    try:
        with open_submission(source, notes=notes) as folder:
            result = grade_folder(folder, context, submission_id, choose_context)
    except SubmissionError as e:
        # Name files as the student knows them, never by the grader's own (temporary) paths.
        if e.path is not None:
            e.path = _shown_path(e.path, source.path.parent, folder)
        result = failed_submission(submission_id, context, str(e))
    result.notes[:0] = notes
    return _printable(result)


def _printable(result):
    """Student-controlled text in a result (file names in notes, messages and errors) made safe
    to print and store: no terminal escapes, no undecodable bytes."""
    result.notes = [printable(note) for note in result.notes]
    if result.error:
        result.error = printable(result.error)
    for check in result.checks:
        check.message = printable(check.message)
        if check.diagnosis and check.diagnosis.message:
            check.diagnosis = replace(check.diagnosis, message=printable(check.diagnosis.message))
    return result


def failed_submission(submission_id, context, message):
    """A submission that could not be graded at all: every output scores zero."""
    checks = [CheckResult(output=o.file, problem=o.problem, status="error", score=0.0,
                          max_score=o.points, message="not graded: the submission could not be read")
              for o in context.assignment.outputs]
    return SubmissionResult(id=submission_id, score=0.0, max_score=context.assignment.max_score,
                            error=message, checks=checks, checked_expected=context.checks_expected,
                            inputs_fingerprint=context.inputs_fingerprint)


def grade_folder(folder, context, submission_id, choose_context=None):
    """Grade the output files found in ``folder`` (against ``choose_context(files found)`` when
    given: see grade_submission)."""
    assignment = context.assignment
    folder = Path(folder)
    located = locate_outputs(folder, [o.filename for o in assignment.outputs])
    to_grade = located.to_grade
    if choose_context is not None:
        context = choose_context(to_grade)
    checks = []
    for output in assignment.outputs:
        file = to_grade.get(output.filename)
        with reading(file or output.filename, folder):
            checks.append(grade_output(output, file, context, (located.root, folder)))
    score = sum(c.score for c in checks)
    max_score = sum(c.max_score for c in checks)
    return SubmissionResult(id=submission_id, score=score, max_score=max_score, error=None,
                            checks=checks, notes=list(located.notes),
                            checked_expected=context.checks_expected,
                            inputs_fingerprint=context.inputs_fingerprint)


def grade_output(output, file, context, roots):
    """Judge one output: its file (or None if missing) against the spec, inputs and expected/.

    ``roots``: the folders a file's name is shown relative to, first match first (the outputs'
    folder, then the submission's), so that messages never show the grader's own paths.
    """
    def result(status, message, score=0.0, **fields):
        max_score = 0.0 if status == "unchecked" else output.points  # unchecked: neither earned nor lost
        return CheckResult(output=output.file, problem=output.problem, status=status, score=score,
                           max_score=max_score, message=message, **fields)

    if file is None:
        return result("missing", f"{output.filename} not found", diagnosis=diagnosis("missing_file"))
    deterministic = not output.statistical and context.checks_expected
    try:
        data = read_file_for(file, output.shape)
        file_sha256 = hashlib.sha256(data).hexdigest()  # the bytes graded, for the batch's flags
        known = context.judged.get((output.file, file_sha256)) if deterministic else None
        if known is not None:
            return known
        got = parse_array(data, file, output.shape)
    except CountMismatch as e:
        # Read, but the wrong size: a wrong answer with its reason, not a file we could not read.
        e.path = _shown_path(e.path, *roots)
        found = context.diagnoser.diagnose_count(output, e) or diagnosis(e.code)
        return result("fail", f"wrong size: {e}", diagnosis=found, size=output.size)
    except SubmissionError as e:
        e.path = _shown_path(e.path, *roots)
        found = diagnosis(e.code) if e.code else None
        return result("error", str(e), diagnosis=found, size=output.size)

    if output.statistical:
        return _judge_dropout(output, got, context, result, file_sha256)
    if not context.checks_expected:
        return result("unchecked", "read and counted; correctness not checked (no expected outputs)",
                      size=output.size, fingerprints=Fingerprints(file_sha256))
    check = _judge_deterministic(output, got, context, result, file_sha256)
    return context.judged.remember((output.file, file_sha256), check)


def _judge_deterministic(output, got, context, result, file_sha256):
    comparison = compare(got, context.expected_values[output.file])
    shown = comparison if context.show_expected else _student_safe(comparison)
    measured = dict(mismatches=comparison.mismatches, size=comparison.size,
                    max_abs_err=shown.max_abs_err, max_rel_err=shown.max_rel_err, comparison=shown,
                    figures=wording.describe_comparison(comparison),
                    fingerprints=Fingerprints(file_sha256))
    message = wording.summarise_comparison(comparison)
    if comparison.passed:
        return result("pass", message, score=output.points, **measured)
    partial_score = output.points * comparison.fraction_within if output.partial else 0.0
    if context.show_expected:  # instructors only: the values at the worst element
        index = comparison.max_abs_index
        expected = context.expected.arrays[output.file]
        measured["expected_at_worst"] = float(expected[index])
        message += f" (expected {expected[index]:.8g}, got {got[index]:.8g} there)"
    return result("fail", message, score=partial_score,
                  diagnosis=context.diagnoser.diagnose_values(output, got), **measured)


def _judge_dropout(output, got, context, result, file_sha256):
    problem = context.assignment.problem(output.problem)
    source_role = "x" if problem.op == "dropout_forward" else "dout"
    source = context.inputs[next(i.file for i in problem.inputs if i.role == source_role)]
    verdict = check_dropout_train(got, source, problem.drop_prob, output.rtol, output.atol,
                                  source_name=source_role, course_p=problem.params.get("p"),
                                  p_means=context.assignment.dropout_p_means)
    measured = dict(size=verdict.size, mismatches=verdict.bad_values, dropout=verdict,
                    figures=verdict.describe(),
                    fingerprints=Fingerprints(file_sha256, verdict.mask_digest))
    if verdict.passed:
        return result("pass", verdict.message, score=output.points, **measured)
    found = context.diagnoser.diagnose_values(output, got)
    if found is None and verdict.diagnosis:
        found = explain(verdict.diagnosis)
    return result("fail", verdict.message, diagnosis=found, **measured)


def _student_safe(comparison):
    """Comparison figures fit for a student: differences to two significant digits, as the
    messages give them, and no scale. Exact differences next to the student's own values would
    give expected values away (a difference and a relative difference at one index are an
    expected value)."""
    rounded = {}
    for name in ("max_abs_err", "max_rel_err", "rel_error", "atol_abs"):
        value = getattr(comparison, name)
        if isinstance(value, float):
            r = float(f"{value:.2g}")
            rounded[name] = r if math.isfinite(r) else value  # 1.8e308 rounds to inf
    return replace(comparison, scale=None, **rounded)


def _shown_path(path, *roots):
    """``path`` relative to the first of ``roots`` that holds it, else its bare name."""
    for root in roots:
        if root is None:
            continue
        try:
            return Path(path).relative_to(root).as_posix()
        except ValueError:
            continue
    return Path(path).name
