"""Grading with per-student inputs: each submission against the inputs of its own student.

:class:`StudentContexts` stands where a batch's one GradingContext stands when the assignment is
per student. For a submission it finds the student on the roster (by the folder's or zip's name,
compared without case; a name not on the roster is an error and is graded against nobody's
inputs), regenerates that student's inputs (each file as it is first read) and expected outputs
from the secret and the id (the expected outputs of first draws come from the peer index once it
is built), and grades against them with the ordinary pipeline. Contexts are built on the fly and
kept for the last few students.

Which draw a student was handed (draw 0, or a redraw for the few whose first draw cannot catch
every mistake: grader/diagnosis/draws.py) takes an audit of about 30 ms to decide, so grading
lets the outputs say it first, before they are judged: a deterministic output within tolerance
of a draw's expected values was computed from that draw's inputs (independent random inputs
cannot give it). The outputs are read in the spec's order until one fits draw 0 (a correct
submission's first file does); if none does, they are compared with the expected outputs of
draws 1 and 2, and only when they fit none does the audit decide. The submission is then
graded once, against that draw. A submission without full marks is looked up among the other
students' expected outputs (grader/batch/peer_flags.py).
"""
import tempfile
from collections import OrderedDict
from pathlib import Path

from grader.assignment.generate import ExpectedOutputs, compute_expected, make_inputs
from grader.assignment.generate import write_input_arrays
from grader.assignment.per_student import read_secret, roster_ids, student_draw
from grader.assignment.spec import load_spec
from grader.batch.peer_flags import PeerIndex, failing_values, student_flags
from grader.diagnosis.diagnoser import Diagnoser
from grader.diagnosis.draws import audit_roster, choose_draw, format_roster_audit, required_catches
from grader.errors import GraderError, SubmissionError
from grader.intake.reading import CountMismatch, parse_array, read_file_for
from grader.intake.submissions import SubmissionSource
from grader.judge.tolerance import within
from grader.pipeline import GradingContext, grade_submission, write_check_files

CONTEXTS_KEPT = 8  # per process: a student's context is reused while their submission is graded
# Draws 1 .. FITTED_DRAWS - 1 are those whose expected outputs a submission fitting none of draw 0
# is compared with before the audit decides: on the default assignment about 4% of students are
# handed draw 1 and 0.3% draw 2 (fitting a draw costs ~3 ms, an audit of three draws ~100 ms).
FITTED_DRAWS = 3


class NotOnRoster(SubmissionError):
    """A submission whose name is no student's id on the roster: it has no inputs to be graded
    against."""


def context_for(assignment, inputs, fingerprint=None, show_expected=False, expected=None):
    """A GradingContext for ``inputs`` with their ``expected`` outputs (output file -> array;
    default: computed by the reference)."""
    arrays = compute_expected(assignment, inputs) if expected is None else expected
    return GradingContext(assignment, inputs, ExpectedOutputs(arrays, {}, None),
                          Diagnoser(assignment, inputs, arrays), show_expected, fingerprint)


class StudentContexts:
    """The grading contexts of a roster's students, built on demand; pickles (for worker
    processes) without its caches."""

    checks_expected = True
    inputs_fingerprint = None  # a submission not on the roster was graded against no inputs

    def __init__(self, assignment, secret, roster, roster_name="the roster", show_expected=False):
        self.assignment = assignment
        self.secret = secret
        self.roster = tuple(roster)
        self.roster_name = roster_name
        self.show_expected = show_expected
        self._by_key = {sid.casefold(): sid for sid in self.roster}
        self._reset_caches()

    def _reset_caches(self):
        self._contexts = OrderedDict()  # (student id, draw) -> GradingContext
        self._choices = {}  # student id -> DrawChoice
        self._required = None
        self._shared = None
        self._peer_index = None

    def __getstate__(self):  # the shared context and the peer index go along once built
        state = dict(self.__dict__)
        for name in ("_contexts", "_choices", "_required"):
            state.pop(name)
        return state

    def __setstate__(self, state):
        shared, peer_index = state.pop("_shared"), state.pop("_peer_index")
        self.__dict__.update(state)
        self._reset_caches()
        self._shared, self._peer_index = shared, peer_index

    def prepare(self, jobs=1):
        """Build the peer index now, with ``jobs`` processes (a batch does, before its workers
        start: they inherit it, and no submission's time limit pays for it); return self."""
        if self._peer_index is None:
            self._peer_index = PeerIndex(self.assignment, self.secret, self.roster,
                                         self.shared.expected.arrays, jobs)
        return self

    @property
    def shared(self):
        """The context of the shared inputs (the spec's generated ones)."""
        if self._shared is None:
            self._shared = context_for(self.assignment, make_inputs(self.assignment),
                                       show_expected=self.show_expected)
        return self._shared

    def student_id(self, name):
        """The roster's spelling of the id ``name`` (a submission's folder or zip name)."""
        student_id = self._by_key.get(name.strip().casefold())
        if student_id is None:
            raise NotOnRoster(f"{name!r} is not on {self.roster_name}: not graded, since it has no "
                              "inputs of its own; rename the submission to the student's id or add "
                              "the student to the roster")
        return student_id

    def context(self, student_id, draw=0):
        key = (student_id, draw)
        if key in self._contexts:
            self._contexts.move_to_end(key)
            return self._contexts[key]
        drawn = student_draw(self.assignment, self.secret, student_id, draw)
        # Once the peer index is built it holds the expected outputs of the first draws.
        indexed = self._peer_index.expected(student_id, draw) if self._peer_index else None
        context = context_for(self.assignment, drawn.inputs, drawn.fingerprint, self.show_expected,
                              indexed)
        self._contexts[key] = context
        if len(self._contexts) > CONTEXTS_KEPT:
            self._contexts.popitem(last=False)
        return context

    def choice(self, student_id):
        """The DrawChoice of ``student_id``: the draw they were handed (audited, ~30 ms)."""
        if student_id not in self._choices:
            if self._required is None:
                self._required = required_catches(self.assignment)
            self._choices[student_id] = choose_draw(self.assignment, self.secret, student_id,
                                                    self._required)
        return self._choices[student_id]

    @property
    def peer_index(self):
        if self._peer_index is None:
            self._peer_index = PeerIndex(self.assignment, self.secret, self.roster,
                                         self.shared.expected.arrays)
        return self._peer_index

    def grade(self, source, student_id=None):
        """Grade the SubmissionSource ``source`` against the inputs of ``student_id`` (default: the
        student its name is) and add its peer_outputs and wrong_inputs flags; a NotOnRoster error
        for a name not on the roster."""
        student = self.student_id(student_id or source.id)
        shown_id = student_id or source.id

        def fitting_context(files):
            return self.context(student, self.fitting_draw(student, files))

        result = grade_submission(source.path, self.context(student), submission_id=shown_id,
                                  source=source, choose_context=fitting_context)
        if result.full_marks or result.error is not None:
            return result
        values = failing_values(source, self.assignment, result)
        found = self.peer_index.lookup(values)
        result.flags.extend(student_flags(result, found, self.peer_index, student))
        return result

    def fitting_draw(self, student_id, files):
        """The draw a submission's output ``files`` (output file name -> path) were computed from:
        draw 0 if a deterministic one is within tolerance of its expected values (read in the
        spec's order, a correct submission's first file settles it), else a later draw (up to
        FITTED_DRAWS) that one of them fits (values within tolerance of a draw's expected values
        come from its inputs: independent random inputs cannot give them), else the draw the
        audit says the student was handed. A file that cannot be read counts for nothing here
        (grading says what is wrong with it); a submission nothing of which is judged against the
        inputs (no file read as numbers) is graded against draw 0 without an audit: every draw
        grades it alike."""
        values = []  # (output, its values) that do not fit draw 0
        judged = False  # an output whose verdict or diagnosis depends on the inputs
        expected = self.context(student_id).expected.arrays
        for output in self.assignment.outputs:
            file = files.get(output.filename)
            if file is None:
                continue
            if output.statistical:  # dropout statistics are taken against the draw's inputs
                judged = True
                continue
            try:
                got = parse_array(read_file_for(file, output.shape), file, output.shape)
            except CountMismatch:  # a wrong size is diagnosed on the draw's inputs
                judged = True
                continue
            except SubmissionError:
                continue
            if within(got, expected[output.file], output.rtol, output.atol):
                return 0
            values.append((output, got))
        if not values and not judged:
            return 0
        for draw in range(1, FITTED_DRAWS if values else 1):
            expected = self.context(student_id, draw).expected.arrays
            if any(within(got, expected[output.file], output.rtol, output.atol)
                   for output, got in values):
                return draw
        return self.choice(student_id).chosen.draw


def load_student_contexts(spec_path, roster_path, secret_path, show_expected=False):
    """StudentContexts from the spec, the roster CSV and the secret file."""
    assignment = load_spec(spec_path)
    secret = read_secret(secret_path)
    return StudentContexts(assignment, secret, roster_ids(roster_path),
                           roster_name=f"the roster {Path(roster_path).name}",
                           show_expected=show_expected)


def check_student(submission, spec_path, roster_path, secret_path, student=None, json_path=None,
                  html_path=None, show_expected=False, generated_at=None):
    """`cnngrade check --roster --secret [--student ID]`: grade one submission against a
    student's own inputs (default: the student its name is). Returns ``(result, contexts)``."""
    contexts = load_student_contexts(spec_path, roster_path, secret_path, show_expected)
    source = SubmissionSource.from_path(Path(submission))
    try:
        result = contexts.grade(source, student_id=student)
    except NotOnRoster as e:
        raise GraderError(str(e)) from None
    write_check_files(result, contexts.assignment, json_path, html_path, show_expected,
                      generated_at)
    return result, contexts


def write_student_inputs(spec_path, roster_path, secret_path, out_dir):
    """`cnngrade inputs --roster --secret`: each student's input files in ``out_dir/<id>/``, from
    the draw they are handed. Returns the number of students."""
    contexts = load_student_contexts(spec_path, roster_path, secret_path)
    for student_id in contexts.roster:
        drawn = contexts.choice(student_id).chosen
        write_input_arrays(contexts.assignment, drawn.inputs, Path(out_dir) / student_id)
    return len(contexts.roster)


def write_student_handouts(spec_path, roster_path, secret_path, out_dir):
    """`cnngrade template --roster --secret`: one hand-out per student in ``out_dir/<id>/``, the
    template with that student's input files (so that their self-check reads their own inputs).
    ``out_dir`` must be new or empty. Returns the number of hand-outs."""
    from grader.handout import write_template

    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise GraderError("is not a new or empty folder: refusing to write hand-outs into it",
                          path=out_dir)
    contexts = load_student_contexts(spec_path, roster_path, secret_path)
    with tempfile.TemporaryDirectory(prefix="cnngrade-inputs-") as tmp:
        for student_id in contexts.roster:
            inputs_dir = Path(tmp) / student_id
            write_input_arrays(contexts.assignment, contexts.choice(student_id).chosen.inputs, inputs_dir)
            write_template(out_dir / student_id, inputs_dir=inputs_dir, spec_path=spec_path)
    return len(contexts.roster)


def not_on_roster(batch, roster_path):
    """Ids of a batch's submissions that are not on the roster (graded against nobody's inputs)."""
    on_roster = {sid.casefold() for sid in roster_ids(roster_path)}
    return [s.id for s in batch.submissions if s.id.strip().casefold() not in on_roster]


def audit_student_inputs(spec_path, roster_path, secret_path):
    """`cnngrade inputs --audit --roster --secret`: the roster's audit as text."""
    contexts = load_student_contexts(spec_path, roster_path, secret_path)
    required, choices = audit_roster(contexts.assignment, contexts.secret, contexts.roster)
    return format_roster_audit(required, choices)
