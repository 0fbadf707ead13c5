"""Flags of a per-student class, for the instructor only; like every flag they never change a score.

``peer_outputs``
    A student's deterministic outputs are those of another roster student's inputs: they handed
    in a classmate's results. Found two ways. (1) A failing output lies within the output's
    tolerance of the expected output of a classmate's inputs (:class:`PeerIndex`); the flag gives
    the odds of that by chance. (2) Two submissions hold byte-identical files for an output,
    although their inputs differ (a copy of a classmate's wrong answer, which (1) cannot see);
    outputs diagnosed ``all_zero`` are left out, since that bug writes the same file from any
    inputs. The classmate is flagged too, with the copier's id.

``wrong_inputs``
    Outputs computed from the shared default inputs (the spec's, as `cnngrade inputs` writes
    input_files/) instead of the student's own; or from nobody's: no deterministic output read
    fits the student's own inputs, shows a catalogued mistake on them, or fits any roster
    student's or the shared inputs.

Cost: a class of S submissions and R roster students is never compared S x R times. Each roster
student's expected outputs are computed once (a batch builds the index before its workers start;
generate.compute_expected_many takes about 0.4 ms per student) and each output's values
projected on one fixed random vector ``u``. A student's
output within tolerance of an expected output ``e`` has ``|u.got - u.e| <= sum |u_i| allow_i``,
so a binary search over the sorted projections finds the only candidates (in practice the match
itself, or none), and only those are compared in full. Only failing outputs are looked up: an
output that passes against the student's own inputs was computed from them.
"""
import math
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from pathlib import Path

import numpy as np

from grader.assignment.generate import compute_expected_many
from grader.assignment.per_student import student_draw
from grader.errors import GraderError
from grader.intake.locate import locate_outputs
from grader.intake.reading import parse_array, read_file_for
from grader.intake.submissions import open_submission
from grader.judge.tolerance import allowance, within
from grader.results import Flag

SHARED = None  # the label of the shared inputs' row in a PeerIndex
CHANCE = 1e-6  # as identical_dropout_mask: flag when a coincidence anywhere in the class is rarer
_DOT_SLACK = 1e-9  # relative rounding of a dot product of up to ~4 million float64 terms
_INPUT_INDEPENDENT = {"all_zero"}  # codes whose files are the same whatever the inputs


class _OutputIndex:
    """One deterministic output's expected values for every row (roster student or shared)."""

    def __init__(self, output, values):
        self.output = output
        self.values = values  # (rows, size)
        self.u = np.random.default_rng(output.size).standard_normal(output.size)
        abs_u = np.abs(self.u)
        abs_values = np.abs(values)
        scale = abs_values.max(axis=1, keepdims=True)
        scale[scale == 0] = 1.0
        allow = output.atol * scale + output.rtol * abs_values
        self.projection = values @ self.u
        self.bound = allow @ abs_u + _DOT_SLACK * ((abs_values + allow) @ abs_u)
        self.order = np.argsort(self.projection, kind="stable")
        self.sorted_projection = self.projection[self.order]
        self.widest = float(self.bound.max()) if len(self.bound) else 0.0
        self.spread = values.std(axis=0)

    def candidates(self, got):
        """Rows whose expected value ``got`` may be within tolerance of (a superset)."""
        p = float(got.ravel() @ self.u)
        lo = np.searchsorted(self.sorted_projection, p - self.widest, side="left")
        hi = np.searchsorted(self.sorted_projection, p + self.widest, side="right")
        rows = self.order[lo:hi]
        return [int(r) for r in rows if abs(p - self.projection[r]) <= self.bound[r]]

    def log10_chance(self, row):
        """log10 of the chance that an output computed from other inputs lies this close to row
        ``row``'s expected values: per value, the larger of the share of other rows as close and
        the normal-density bound from the values' spread over the class; multiplied over values."""
        reference = self.values[row]
        allow = allowance(reference, self.output.rtol, self.output.atol)
        rows = len(self.values)
        close = np.abs(self.values - reference) <= allow
        share = (close.sum(axis=0) - 1) / max(rows - 1, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            density = np.where(self.spread > 0, 2 * allow / (self.spread * math.sqrt(2 * math.pi)), 1.0)
        chance = np.clip(np.maximum(share, density), 1e-300, 1.0)
        return float(np.log10(chance).sum())


class PeerIndex:
    """The expected deterministic outputs of every roster student's first draw and of the shared
    inputs, searchable by a student's output values.

    A student handed a later draw (about 4% on the default assignment: grader/diagnosis/draws.py)
    is not in it, since telling who was takes an audit of ~30 ms each: a copy of their outputs is
    still flagged, as peer_outputs when its files are byte-identical to theirs, else as
    wrong_inputs (it fits nobody's inputs).
    """

    def __init__(self, assignment, secret, roster, shared_expected, jobs=1):
        self.labels = list(roster) + [SHARED]
        self._row_of = {sid: row for row, sid in enumerate(roster)}
        expected = first_draws_expected(assignment, secret, roster, jobs) + [shared_expected]
        self.outputs = {output.file: _OutputIndex(output, np.stack([e[output.file].ravel()
                                                                    for e in expected]))
                        for output in assignment.outputs if not output.statistical}

    def expected(self, student_id, draw):
        """output file -> expected array of a student's draw (as compute_expected gives it), or
        None if the index does not hold that draw."""
        row = self._row_of.get(student_id) if draw == 0 else None
        if row is None:
            return None
        return {file: index.values[row].reshape(index.output.shape)
                for file, index in self.outputs.items()}

    @property
    def pairs(self):
        return len(self.labels) ** 2

    def lookup(self, values):
        """output file -> the rows whose expected output its values (``values``: output file ->
        array) are within tolerance of."""
        found = {}
        for file, got in values.items():
            index = self.outputs[file]
            found[file] = [row for row in index.candidates(got)
                           if within(got, index.values[row], index.output.rtol, index.output.atol)]
        return found


_ROWS_PER_TASK = 64


def first_draws_expected(assignment, secret, roster, jobs=1):
    """The expected outputs of each roster student's first draw, in roster order, computed by
    ``jobs`` processes."""
    if not jobs or jobs <= 1 or len(roster) <= _ROWS_PER_TASK:
        return _expected_of(assignment, secret, roster)
    chunks = [roster[i:i + _ROWS_PER_TASK] for i in range(0, len(roster), _ROWS_PER_TASK)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        parts = pool.map(_expected_of, repeat(assignment), repeat(secret), chunks)
        return [expected for part in parts for expected in part]


def _expected_of(assignment, secret, student_ids):
    # Drawn and computed _ROWS_PER_TASK students at a time: only their inputs are held at once.
    expected = []
    for start in range(0, len(student_ids), _ROWS_PER_TASK):
        expected += compute_expected_many(assignment, [
            student_draw(assignment, secret, sid).inputs
            for sid in student_ids[start:start + _ROWS_PER_TASK]])
    return expected


def _is(label, student_id):
    return label is not SHARED and label.casefold() == student_id.casefold()


def failing_values(source, assignment, result):
    """output file -> the values of each deterministic output that failed, read again from the
    submission (only failing outputs can be someone else's)."""
    failing = {c.output for c in result.checks if c.status == "fail"}
    wanted = [o for o in assignment.outputs if o.file in failing and not o.statistical]
    values = {}
    if not wanted:
        return values
    try:
        with open_submission(source) as folder:
            located = locate_outputs(Path(folder), [o.filename for o in assignment.outputs])
            for output in wanted:
                file = located.to_grade.get(output.filename)
                if file is not None:
                    values[output.file] = parse_array(read_file_for(file, output.shape), file,
                                                      output.shape)
    except GraderError:  # graded already; a file gone since leaves it out of the search
        pass
    return values


def student_flags(result, found, index, student_id):
    """The peer_outputs and wrong_inputs flags of one student's result, from the
    :meth:`PeerIndex.lookup` of its failing deterministic outputs; run where it was graded."""
    by_label = defaultdict(list)  # label -> [(output, log10 chance, size)]
    for output_file, rows in found.items():
        output_index = index.outputs[output_file]
        for row in rows:
            label = index.labels[row]
            if not _is(label, student_id):
                by_label[label].append((output_file, output_index.log10_chance(row),
                                        output_index.output.size))
    flags = []
    for label, matched in sorted(by_label.items(), key=lambda item: (item[0] is not SHARED,
                                                                     item[0] or "")):
        outputs = ", ".join(file for file, _, _ in matched)
        count = sum(size for _, _, size in matched)
        log10_chance = sum(chance for _, chance, _ in matched)
        if log10_chance + math.log10(index.pairs) >= math.log10(CHANCE):
            continue  # a coincidence somewhere in the class is not unlikely enough
        if label is SHARED:
            flags.append(Flag("wrong_inputs", outputs, [], (
                f"{outputs} match the expected outputs of the shared inputs (input_files/), not "
                "those of this student's own inputs: computed from the shared inputs")))
            continue
        flags.append(Flag("peer_outputs", outputs, [label], (
            f"{outputs} match, within tolerance at all {count} values, the expected outputs of "
            f"{label}'s inputs, not those of this student's own: a classmate's results (by "
            f"chance about 1 in 10^{_power(log10_chance)}, from how closely values of the class's "
            "expected outputs coincide)")))
    read = _deterministic_read(result)
    if not by_label and len(read) >= 2 and not any(c.status == "pass" or c.diagnosis_code
                                                   for c in read):
        flags.append(Flag("wrong_inputs", ", ".join(c.output for c in read), [], (
            f"none of the {len(read)} deterministic outputs read fits this student's own inputs, "
            "shows a catalogued mistake on them, or fits any roster student's or the shared "
            "inputs: computed from other inputs (another term's or section's), or wrong "
            "throughout")))
    return flags


def _deterministic_read(result):
    """The deterministic outputs of ``result`` that were read and judged (pass or fail)."""
    return [c for c in result.checks if c.status in ("pass", "fail") and c.dropout is None]


def _power(log10_probability):
    return max(1, int(math.floor(-log10_probability)))


def find_peer_flags(submissions):
    """Complete the per-student flags of a class, once every submission is graded: the classmate
    of each peer_outputs flag gets one too, with the copier's id, and byte-identical files of
    two submissions are flagged. Flags are appended to the submissions' ``flags``."""
    by_key = {s.id.casefold(): s for s in submissions}
    for submission in submissions:
        for flag in submission.flags:
            if flag.code == "peer_outputs":  # a roster id, written as the roster spells it
                flag.with_ = [by_key[i.casefold()].id if i.casefold() in by_key else i
                              for i in flag.with_]
    pairs = {}  # (copier, classmate) -> outputs, for the classmates' flags
    for submission in submissions:
        for flag in list(submission.flags):
            if flag.code == "peer_outputs":
                for other in flag.with_:
                    pairs.setdefault((submission.id, other), flag.output)
    for (copier, other), outputs in sorted(pairs.items()):
        classmate = by_key.get(other.casefold())
        if classmate is not None and (other, copier) not in pairs:
            _add(classmate, Flag("peer_outputs", outputs, [copier], (
                f"{copier} handed in {outputs} computed from this student's inputs")))
    _flag_identical_files(submissions, {frozenset(pair) for pair in pairs})


def _flag_identical_files(submissions, flagged):
    """peer_outputs for deterministic files byte-identical between submissions: students whose
    inputs differ cannot write the same bytes honestly."""
    groups = defaultdict(list)
    for submission in submissions:
        for check in _deterministic_read(submission):
            if check.fingerprints is None or check.diagnosis_code in _INPUT_INDEPENDENT:
                continue
            groups[(check.output, check.fingerprints.file_sha256)].append(submission)
    shared = defaultdict(list)  # (id, other id) -> outputs
    for (output, _), members in sorted(groups.items()):
        ids = list(dict.fromkeys(s.id for s in members))
        for a in ids:
            for b in ids:
                if a != b and frozenset((a, b)) not in flagged:
                    shared[(a, b)].append(output)
    by_id = {s.id: s for s in submissions}
    for (a, b), outputs in sorted(shared.items()):
        listed = ", ".join(outputs)
        _add(by_id[a], Flag("peer_outputs", listed, [b], (
            f"{listed} byte-identical to {b}'s files, although their inputs differ: copied files")))


def _add(submission, flag):
    if not any(f.code == flag.code and f.with_ == flag.with_ for f in submission.flags):
        submission.flags.append(flag)
