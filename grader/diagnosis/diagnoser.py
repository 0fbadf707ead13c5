"""The :class:`Diagnoser`: for a failing output, the catalogued mistake whose variant the student's
values match (most specific first, never one the fixed inputs cannot tell from the right answer).

Every mistake of the catalogue is one small function below (``_column_major``, ``_flipped_kernel``,
...) that takes a :class:`Case` (one output of the assignment with its inputs and, when known, its
expected value) and returns the :class:`Variant` arrays that mistake gives on these inputs: the
reference run on modified inputs or parameters (a flipped kernel, the other padding convention), a
small alternative computation (windows assigned instead of summed), or a transformation of the
expected array (column-major order, a sign). A function raises :class:`Inapplicable` when the
assignment's parameters rule its mistake out (non-overlapping windows cannot lose an overlap).

A student's output matches a variant under the grading rule of grader/judge/compare.py, taken with the
variant as the expected value (``|got - v| <= atol * scale + rtol * |v|``, ``scale = max |v|``),
widened by the rounding of the digits the student printed. Variants are tried in catalogue order,
the most specific first; a variant that the fixed inputs cannot tell from the right answer is
never reported, and neither is a diagnosis for an output that is within tolerance.

grader/diagnosis/audit.py runs the same functions to tell the instructor which mistakes the fixed inputs can
catch at all. Messages are one sentence, name the likely bug and its fix, and never show a value of
an expected output (parameters, shapes and counts only).
"""
from dataclasses import dataclass, field

import numpy as np

from grader.judge.dropout import count_accepted
from grader.judge.tolerance import allowance, within
from grader.diagnosis import mistakes  # noqa: F401  (registers every mistake)
from grader.diagnosis.cases import MISTAKES, Case, Inapplicable, Unrunnable, Variant
from grader.diagnosis.catalogue import diagnosis, explain
from grader.diagnosis.matching import matches, printed_precision


def make_case(assignment, output, inputs, expected):
    """The :class:`Case` of ``output`` (an OutputSpec) from inputs by file name and the output's
    expected array (or None)."""
    problem = assignment.problem(output.problem)
    by_role = {spec.role: np.asarray(inputs[spec.file], dtype=np.float64) for spec in problem.inputs}
    return Case(assignment, problem, output, by_role, expected)


def variants_for(case, include_audit_only=False, strict=True):
    """(mistake, its variants, or the Inapplicable or Unrunnable it raised) for every catalogued
    mistake that applies to ``case``, in catalogue order.

    With ``strict`` False (grading), a mistake whose computation fails on an unforeseen spec is
    left out instead of raising: a diagnosis is advice, and must never cost a student a grade.
    """
    results = []
    for mistake in MISTAKES:
        if not mistake.applies(case) or (mistake.audit_only and not include_audit_only):
            continue
        try:
            results.append((mistake, mistake.function(case)))
        except (Inapplicable, Unrunnable) as e:
            results.append((mistake, e))
        except Exception:
            if strict:
                raise
    return results


@dataclass(eq=False)
class _OutputVariants:
    """The variants of one output worth matching: those the fixed inputs tell from the right
    answer (when it is known)."""

    variants: list  # of the output's size: (variant, its allowance for array variants, or None)
    count_variants: list = field(default_factory=list)  # of another size than the output


class Diagnoser:
    """Diagnoses failing outputs of one assignment on its fixed inputs.

    Built once per grading context and shared by every submission (also across worker processes:
    it pickles without its cache). The variants of an output are computed the first time one of
    its failures is diagnosed, then reused; a diagnosis then costs a few comparisons of arrays of
    the output's size.

    Parameters
    ----------
    assignment : Assignment
    inputs : dict
        Input file name (without .csv) -> array in the file layout.
    expected : dict or None
        Output file name -> expected array, or None when a student self-checks without expected/:
        then only what the inputs tell is diagnosed (counts, dropout outputs).
    """

    def __init__(self, assignment, inputs, expected):
        self.assignment = assignment
        self.inputs = inputs
        self.expected = expected
        self._cache = {}

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state

    def case(self, output):
        expected = None if self.expected is None else self.expected.get(output.file)
        return make_case(self.assignment, output, self.inputs, expected)

    def variants(self, output):
        """The matchable variants of ``output``, computed once."""
        cached = self._cache.get(output.file)
        if cached is None:
            case = self.case(output)
            same, other = [], []
            for _, found in variants_for(case, strict=False):
                if isinstance(found, (Inapplicable, Unrunnable)):
                    continue
                for variant in found:
                    if variant.size != output.size:
                        other.append(variant)
                    elif _distinct(variant, case):
                        allowed = None
                        if variant.kind == "array":
                            allowed = allowance(variant.values, output.rtol, output.atol)
                        same.append((variant, allowed))
            cached = self._cache[output.file] = _OutputVariants(same, other)
        return cached

    def diagnose_values(self, output_spec, got):
        """The likely mistake behind ``got`` (the right shape, but FAILED), or None."""
        got = np.asarray(got, dtype=np.float64)
        expected = None if self.expected is None else self.expected.get(output_spec.file)
        rtol, atol = output_spec.rtol, output_spec.atol
        if expected is not None and within(got, expected, rtol, atol):
            return None  # never diagnose a correct output
        if not got.any():
            return self._all_zero(output_spec, expected)
        precision = printed_precision(got)
        slack = precision.slack.reshape(got.shape)
        if expected is not None and precision.coarse and within(got, expected, rtol, atol, slack):
            return self._low_precision(precision)
        if output_spec.statistical:
            found = self._dropout_train(output_spec, got, precision)
            if found is not None:
                return found
        for variant, allowed in self.variants(output_spec).variants:
            if allowed is not None:
                found = bool(np.all(np.abs(got - variant.values) <= allowed + slack))
            else:
                found = matches(variant, got, rtol, atol, slack)
            if found:
                return diagnosis(variant.code, variant.message)
        return None

    def diagnose_count(self, output_spec, error):
        """The likely mistake behind a file with the wrong number of values (a CountMismatch), or
        None when the reader's own hint (an index column, a header row) already says it."""
        values = np.asarray(error.values, dtype=np.float64).ravel()
        found = values.size
        rtol, atol = output_spec.rtol, output_spec.atol
        slack = printed_precision(values).slack
        candidates = [v for v in self.variants(output_spec).count_variants if v.size == found]
        for variant in candidates:
            if variant.kind in ("array", "overlap") and variant.values is not None \
                    and matches(variant, values, rtol, atol, slack):
                return diagnosis(variant.code, variant.message)
        if getattr(error, "hint", None):
            return None
        codes = list(dict.fromkeys(v.code for v in candidates))
        if len(codes) == 1:
            return diagnosis(codes[0], candidates[0].message)
        if codes:
            firsts = dict((v.code, v) for v in reversed(candidates))
            stories = [f"{firsts[c].brief or c.replace('_', ' ')} (shape {tuple(firsts[c].shape)})"
                       for c in codes]
            return diagnosis("wrong_count", f"{found} values is what " + ", or ".join(stories)
                             + " would give: check the output-size formula and its parameters")
        return diagnosis("wrong_count", self._count_stories(output_spec, found))

    # -- helpers -----------------------------------------------------------------------------------

    def _all_zero(self, output, expected):
        if not output.statistical:
            return None if expected is not None and not expected.any() else explain("all_zero")
        case = self.case(output)
        if count_accepted(output.size, output.size, case.drop_prob):
            return None  # the dropout check accepts a mask that drops everything
        return diagnosis("all_zero", "every value is 0: no unit was kept; keep a unit where the "
                                     "random number is >= p and multiply, do not overwrite, "
                                     f"{case.source_role} by the mask")

    def _low_precision(self, precision):
        return diagnosis("low_precision",
                         f"you wrote the values with only {precision.describe()}, too few for this "
                         "output's tolerance; write every digit (np.savetxt's default format "
                         "'%.18e', or at least 7 significant digits)")

    def _dropout_train(self, output, got, precision):
        """Dropout train outputs: a correct scaling whose values only fail with the digits printed."""
        case = self.case(output)
        q = case.drop_prob
        source = case.inputs[case.source_role]
        right = Variant("", "", None, output.shape, kind="rule",
                        rule=("scaled", source, 1 / (1 - q), "any"))
        if precision.coarse and not matches(right, got, output.rtol, output.atol) \
                and matches(right, got, output.rtol, output.atol, precision.slack.reshape(got.shape)):
            return self._low_precision(precision)
        return None

    def _count_stories(self, output, found):
        """One sentence on which shapes ``found`` values could come from."""
        stories = []
        expected_count = output.size
        for other in self.assignment.outputs:
            if other.file != output.file and other.size == found:
                stories.append(f"as many as {other.filename} {other.shape}: did you write that "
                               "output into this file?")
                break
        problem = self.assignment.problem(output.problem)
        for spec in problem.inputs:
            if int(np.prod(spec.shape)) == found:
                stories.append(f"as many as the input {spec.filename} {spec.shape}: did you write "
                               "the input instead of the output?")
                break
        if found > expected_count and found % expected_count == 0:
            k = found // expected_count
            stories.append(f"exactly {k} times the {expected_count} expected: was the file written "
                           f"{k} times (opened in append mode 'a', or the script run again)?")
        if len(output.shape) == 4 and output.role == "out":
            stories.extend(self._spatial_stories(output, found))
        if not stories:
            return (f"{found} values instead of {expected_count} (shape {output.shape}) match no "
                    "shape this output could have; write the whole output array, flattened in C "
                    "order, one array per file")
        return f"{found} values instead of {expected_count}: " + "; or ".join(stories)

    def _spatial_stories(self, output, found):
        case = self.case(output)
        nchw = case.output_nchw_shape()
        N, A, H_out, W_out = nchw
        stories = []
        if found % (N * A) == 0:
            area = found // (N * A)
            pairs = [(h, area // h) for h in range(1, area + 1) if area % h == 0]
            pairs = [(h, w) for h, w in pairs if h <= 3 * H_out + 3 and w <= 3 * W_out + 3]
            pairs.sort(key=lambda hw: abs(hw[0] - H_out) + abs(hw[1] - W_out))
            for h, w in pairs[:1]:
                formula = ("(H + 2*pad - HH) // stride + 1" if case.op.startswith("conv")
                           else "(H - pool_height) // stride + 1")
                stories.append(f"{h}x{w} positions per channel instead of {H_out}x{W_out}: check "
                               f"the output size, {formula}")
        if case.op == "conv_forward":
            C = case.nchw("x").shape[1]
            if C != A and N * C * H_out * W_out == found:
                stories.append(f"a ({N}, {C}, {H_out}, {W_out}) array: x's C = {C} channels "
                               f"where the output has one per filter, F = {A}")
        return stories


def _distinct(variant, case):
    """Whether the fixed inputs tell ``variant`` from the right answer (unknown: assume so)."""
    if case.expected is None or variant.kind != "array":
        return True
    return not within(variant.values, case.expected, case.output.rtol, case.output.atol)
