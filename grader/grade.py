"""Grading one submission: locate its files, read them, judge each output, score it.

Phases, as torch.testing compares: pair each output of the spec with the student's file, judge
each pair (comparison or dropout statistics), then score. A bad file becomes an ``error`` check
worth zero and the other outputs are still graded; a submission that cannot be opened at all
becomes a result with ``error`` set. Nothing here prints.
"""
import hashlib
import math
from dataclasses import dataclass, fields
from pathlib import Path

from . import compare as comparing
from .atomic import write_text_atomic
from .diagnose import Diagnoser, explain
from .dropout_stats import check_dropout_train
from .errors import StaleExpectedError, SubmissionError
from .generate import load_expected, read_inputs
from .intake import SubmissionSource, open_submission
from .limits import DEFAULT_TIME_LIMIT, TimeLimitExceeded, grading_limits, reading
from .locate import locate_outputs
from .outdir import check_output_file
from .reading import CountMismatch, parse_array, read_file_for
from .results import CheckResult, SubmissionResult, timestamp, to_json
from .spec import load_spec
from .text import printable


@dataclass(frozen=True)
class GradingContext:
    """Everything a submission is judged against; built once, shared by every submission."""

    assignment: object
    inputs: dict  # input file name -> array
    expected: object  # ExpectedOutputs, or None for a student self-checking
    diagnoser: object  # Diagnoser: what a failing output most likely got wrong
    show_expected: bool = False  # instructor reports may show expected values; students never

    @property
    def checks_expected(self):
        return self.expected is not None


def load_context(spec_path="assignment.toml", inputs_dir="input_files", expected_dir="expected",
                 require_expected=False, show_expected=False):
    """Read the spec, the inputs and (if present) expected/, checking that they belong together.

    Without expected/ grading still checks names, counts, parsing and dropout statistics, unless
    ``require_expected`` (batch grading) makes its absence an error.
    """
    assignment = load_spec(spec_path)
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
    if json_path:
        write_text_atomic(json_path, to_json(result.to_dict()))
    if html_path:
        from .report import render_feedback

        write_text_atomic(html_path, render_feedback(result, context.assignment,
                                                     generated_at or timestamp(),
                                                     show_expected=show_expected))
    return result, context


def grade_submission(path, context, submission_id=None, source=None):
    """Grade a submission folder or zip at ``path`` (or a listed ``source``); never raises for
    anything in the submission."""
    source = source or SubmissionSource.from_path(Path(path))
    submission_id = submission_id or source.id
    notes = []
    folder = None
    try:
        with open_submission(source, notes=notes) as folder:
            result = grade_folder(folder, context, submission_id)
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
    return result


def failed_submission(submission_id, context, message):
    """A submission that could not be graded at all: every output scores zero."""
    checks = [CheckResult(output=o.file, problem=o.problem, status="error", score=0.0,
                          max_score=o.points, message="not graded: the submission could not be read")
              for o in context.assignment.outputs]
    return SubmissionResult(id=submission_id, score=0.0, max_score=context.assignment.max_score,
                            error=message, checks=checks, checked_expected=context.checks_expected)


def grade_folder(folder, context, submission_id):
    """Grade the output files found in ``folder``."""
    assignment = context.assignment
    located = locate_outputs(Path(folder), [o.filename for o in assignment.outputs])
    checks = []
    for output in assignment.outputs:
        file = located.to_grade.get(output.filename)
        with reading(file or output.filename, folder):
            checks.append(grade_output(output, file, context, (located.root, Path(folder))))
    score = sum(c.score for c in checks)
    max_score = sum(c.max_score for c in checks)
    return SubmissionResult(id=submission_id, score=score, max_score=max_score, error=None,
                            checks=checks, notes=list(located.notes),
                            checked_expected=context.checks_expected)


def grade_output(output, file, context, roots):
    """Judge one output: its file (or None if missing) against the spec, inputs and expected/.

    ``roots``: the folders a file's name is shown relative to, first match first (the outputs'
    folder, then the submission's), so that messages never show the grader's own paths.
    """
    def result(status, message, score=0.0, diagnosis=None, **measured):
        max_score = output.points
        if status == "unchecked":
            max_score = 0.0  # not judged: neither earned nor lost
        code = None
        if diagnosis is not None:  # a Diagnosis, or a bare code from reading
            code = getattr(diagnosis, "code", diagnosis)
            if getattr(diagnosis, "message", None):
                message = f"{message}. Likely: {diagnosis.message}"
        return CheckResult(output=output.file, problem=output.problem, status=status,
                           score=score, max_score=max_score, message=message,
                           diagnosis=code, **measured)

    if file is None:
        return result("missing", f"{output.filename} not found", diagnosis="missing_file")
    try:
        data = read_file_for(file, output.shape)
        got = parse_array(data, file, output.shape)
    except SubmissionError as e:
        e.path = _shown_path(e.path, *roots)
        diagnosis = e.code
        if isinstance(e, CountMismatch):
            diagnosis = context.diagnoser.diagnose_count(output, e) or diagnosis
        return result("error", str(e), diagnosis=diagnosis, size=output.size)

    # Fingerprints for the batch's flags (copied expected files, shared dropout masks).
    fingerprints = {"file_sha256": hashlib.sha256(data).hexdigest()}  # the bytes just graded
    if output.statistical:
        return _judge_dropout(output, got, context, result, fingerprints)
    if not context.checks_expected:
        return result("unchecked", "read and counted; correctness not checked (no expected outputs)",
                      size=output.size, details=fingerprints)
    expected = context.expected.arrays[output.file]
    comparison = comparing.compare(got, expected, output.rtol, output.atol)
    figures = comparison.to_dict()
    if not context.show_expected:
        figures = _without_expected_values(figures)
    measured = dict(mismatches=comparison.mismatches, size=comparison.size,
                    max_abs_err=figures["max_abs_err"], max_rel_err=figures["max_rel_err"],
                    details={**figures, "report": comparing.describe(comparison), **fingerprints})
    if comparison.passed:
        return result("pass", comparing.summary(comparison), score=output.points, **measured)
    partial_score = output.points * comparison.fraction_within if output.partial else 0.0
    message = comparing.summary(comparison)
    if context.show_expected:  # instructors only: the values at the worst element
        index = comparison.max_abs_index
        figures["expected_at_worst"] = float(expected[index])
        message += f" (expected {expected[index]:.8g}, got {got[index]:.8g} there)"
    return result("fail", message, score=partial_score,
                  diagnosis=context.diagnoser.diagnose_values(output, got), **measured)


def _judge_dropout(output, got, context, result, fingerprints):
    problem = context.assignment.problem(output.problem)
    source_role = "x" if problem.op == "dropout_forward" else "dout"
    source = context.inputs[next(i.file for i in problem.inputs if i.role == source_role)]
    verdict = check_dropout_train(got, source, problem.drop_prob, output.rtol, output.atol,
                                  source_name=source_role, course_p=problem.params.get("p"),
                                  p_means=context.assignment.dropout_p_means)
    measured = dict(size=verdict.size, mismatches=verdict.bad_values,
                    details={**_figures(verdict), "report": verdict.describe(),
                             "mask_sha256": verdict.mask_digest, **fingerprints})
    if verdict.passed:
        return result("pass", verdict.message, score=output.points, **measured)
    diagnosis = context.diagnoser.diagnose_values(output, got)
    if diagnosis is None and verdict.diagnosis:
        diagnosis = explain(verdict.diagnosis)
    return result("fail", verdict.message, diagnosis=diagnosis, **measured)


def _figures(verdict):
    """The verdict's figures for a check's details; its message and diagnosis are the check's."""
    return {f.name: getattr(verdict, f.name) for f in fields(verdict)
            if f.name not in ("message", "diagnosis", "mask_digest")}


def _without_expected_values(figures):
    """Comparison figures fit for a student: differences to two significant digits, as the
    messages give them, and no scale. Exact differences next to the student's own values would
    give expected values away (a difference and a relative difference at one index are an
    expected value)."""
    safe = {key: value for key, value in figures.items() if key != "scale"}
    for key in ("max_abs_err", "max_rel_err", "rel_error", "atol_abs"):
        if isinstance(safe.get(key), float):
            rounded = float(f"{safe[key]:.2g}")
            safe[key] = rounded if math.isfinite(rounded) else safe[key]  # 1.8e308 rounds to inf
    return safe


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
