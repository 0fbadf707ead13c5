"""What a failing output most likely got wrong: a catalogue of common mistakes, each recomputed on
the fixed inputs, and the :class:`Diagnoser` that matches a student's values against them.

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
import math
from dataclasses import dataclass, field, replace

import numpy as np

from reference.windows import offset_slices, window_view

from grader.assignment import ops
from grader.judge.tolerance import allowance, within
from grader.results import Diagnosis

# The standard sentence for every code: what pipeline.py shows for codes found elsewhere (reading,
# dropout statistics), and what a specific message refines.
CATALOGUE = {
    "column_major": "you wrote the values in column-major (Fortran) order; flatten with x.ravel() "
                    "(C order) before writing",
    "layout": "you wrote the array's axes in another order than the assignment's layout; transpose "
              "the array to the layout the files use before flattening it",
    "flipped_kernel": "you computed a true convolution (the kernel rotated by 180 degrees); a "
                      "convolutional layer computes cross-correlation, so use w without flipping it",
    "pad_convention": "you padded with the wrong number of zeros per side; check whether this "
                      "assignment's pad is the total padding or the padding on each side",
    "pad_ignored": "you did not zero-pad the input; pad x with np.pad before sliding the windows",
    "stride_ignored": "you moved the windows one pixel at a time; step them by the stride",
    "off_by_one_size": "your output size is off by one; compute it as "
                       "(H + 2*pad - HH) // stride + 1 (floor division)",
    "dx_padded": "you returned dx with the padding still on; crop it back to x's shape",
    "one_sample": "you wrote the output of a single sample; run the layer over the whole batch",
    "wrong_count": "the file holds a number of values that matches no known mistake; write the whole "
                   "output array, flattened in C order",
    "low_precision": "you wrote too few significant digits for the tolerance; write every digit, "
                     "e.g. with np.savetxt's default format '%.18e'",
    "sign_flip": "every value has the wrong sign; look for a stray minus sign",
    "missing_bias": "you did not add the bias; add b[f] to every output position of filter f",
    "not_accumulated": "where windows overlap you assigned the gradient instead of adding it; "
                       "accumulate with += so that every window's contribution is summed",
    "all_positions": "you passed each window's gradient to every position of the window; only the "
                     "position of its maximum receives it",
    "pool_mask_only": "you wrote the mask of each window's maximum without the gradient; "
                      "multiply it by dout, so that the maximum receives dout[n, c, i, j]",
    "wrong_input": "you computed the dropout gradient from x; the backward pass applies the mask "
                   "(and the train-mode scaling) to dout",
    "bias_broadcast": "every filter got the same bias; add b[f] to the output of filter f, not b[0]",
    "transposed_kernel": "you indexed the kernel as w[f, c, j, i] (transposed); a window position "
                         "(i, j) is multiplied by w[f, c, i, j]",
    "last_element": "you took the last element of each window instead of its maximum; take the max "
                    "over the whole window",
    "average_pool": "you averaged each window; max-pooling takes the maximum of the window",
    "batch_mean": "you divided the gradient by the batch size; the gradient of a layer sums over "
                  "the batch, it is not averaged",
    "all_zero": "every value is 0: the output array was never filled in; check that your function "
                "writes into it and returns it",
    "keep_probability": "you read p as the keep probability where this assignment means the drop "
                        "probability (or the reverse); keep units with probability 1 - (drop "
                        "probability) and scale them by its inverse",
    "no_scaling": "you did not scale the kept units; inverted dropout divides them by the keep "
                  "probability in train mode",
    "inverse_scaling": "you multiplied the kept units by the keep probability; inverted dropout "
                       "divides them by it",
    "no_dropout": "no unit was dropped in train mode; draw a random mask and zero the dropped units",
    "scaled_at_test": "you scaled the test-mode output; inverted dropout returns its input unchanged "
                      "at test time",
    "dropout_at_test": "you dropped units in test mode; test mode returns its input unchanged",
    "not_random": "your dropout mask is not random (it has a pattern); draw every unit "
                  "independently, e.g. np.random.default_rng().random(x.shape) >= p",
    "nonfinite": "the file holds NaN or Inf; look for a division by zero or an array made with "
                 "np.empty that was never filled",
    "parse_error": "the file could not be read as numbers; write numbers only, with np.savetxt, "
                   "without a header, an index column or brackets",
    "missing_file": "the output file is missing; write it into output_files/ under the name the "
                    "assignment gives",
}

# A correct dropout output fails the statistical check with probability <= 1e-6 (dropout_stats);
# a diagnosis resting on chance (no unit dropped, a dropped fraction far from p) uses the same level.
_CHANCE = 1e-6
_Z_CHANCE = 4.9  # two-sided normal tail ~ 1e-6

# Printed precision: the most significant digits or decimals a value can be checked against.
_MAX_DIGITS = 15


def diagnosis(code, message=""):
    """A :class:`Diagnosis` for ``code``, with the catalogue's standard sentence beside
    ``message`` (this student's own sentence, "" when only the code is known)."""
    return Diagnosis(code, message, CATALOGUE.get(code, ""))


def explain(code):
    """The catalogue's standard :class:`Diagnosis` for ``code``, its sentence as the message; an
    unknown code gets an empty one (the check's own message then stands alone)."""
    return Diagnosis(code, CATALOGUE.get(code, ""), CATALOGUE.get(code, ""))


class Inapplicable(Exception):
    """The assignment's parameters rule a mistake out; ``reason`` says why (for the audit)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class Unrunnable(Exception):
    """Code with the mistake cannot run on these inputs (its windows do not fit the arrays it is
    given), so it yields no output to match: the inputs catch it. ``reason`` says why."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, eq=False)
class Variant:
    """One way a mistake shows on the fixed inputs.

    ``values`` is the mistaken output (file layout), of ``shape`` (the count the mistake gives).
    ``kind`` says how a student's values are matched against it: ``array`` (equal within
    tolerance), ``overlap`` (only the region shared with the expected output is compared: a size
    off by one, whose extra values are unknown; ``values`` is then the expected output), or
    ``rule`` (a random family, e.g. a dropout mask applied at test time, judged by ``rule``;
    ``values`` is then one sample of it, for the audit), or ``count`` (only the count is known:
    ``values`` is None). ``uncaught`` tells the audit why the inputs may fail to catch it;
    ``brief`` names the mistake in a few words, for a count that several mistakes give.
    """

    code: str
    message: str
    values: np.ndarray | None
    shape: tuple
    kind: str = "array"
    rule: tuple = ()
    uncaught: str = ""
    brief: str = ""

    @property
    def size(self):
        return int(np.prod(self.shape))


@dataclass(frozen=True, eq=False)
class Case:
    """One output of an assignment, with its problem's inputs (by role, file layout) and its
    expected value (None when unknown: a dropout train output, or a student self-checking)."""

    assignment: object
    problem: object
    output: object
    inputs: dict
    expected: np.ndarray | None

    @property
    def op(self):
        return self.problem.op

    @property
    def role(self):
        return self.output.role

    @property
    def layout(self):
        return self.problem.layout

    @property
    def params(self):
        return self.problem.reference_params

    @property
    def target(self):
        return f"{self.op}.{self.role}"

    def nchw(self, role):
        """Input ``role`` in the reference's NCHW (weights (F, C, HH, WW))."""
        return ops.to_nchw(role, self.inputs[role], self.layout)

    def to_file(self, array, role=None):
        """An NCHW array of this output's role (or ``role``) in the file layout."""
        return ops.from_nchw(role or self.role, array, self.layout)

    def output_nchw_shape(self):
        """The output's shape in NCHW (or (F, C, HH, WW)) terms."""
        return ops.to_nchw(self.role, np.zeros(self.output.shape), self.layout).shape

    def output_nchw_hw(self):
        return self.output_nchw_shape()[2:]

    def run(self, params=None, **arrays):
        """This output computed by the reference with some inputs (role=array, file layout) or
        parameters replaced."""
        merged = {**self.inputs, **arrays}
        resolved = {**self.params, **(params or {})}
        return ops.run(self.problem, merged, dropout_seed=0, params=resolved)[self.role]

    def pair(self, name, default=1):
        value = self.params.get(name, default)
        return tuple(value) if isinstance(value, (tuple, list)) else (value, value)

    @property
    def drop_prob(self):
        return self.problem.drop_prob

    @property
    def source_role(self):
        return "x" if self.op == "dropout_forward" else "dout"


# --------------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------------

def round_significant(values, digits):
    """``values`` rounded to ``digits`` significant digits (as '%.{digits-1}e' prints them)."""
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        exponent = np.floor(np.log10(np.abs(values)))
        exponent = np.where(np.isfinite(exponent), exponent, 0.0)
        factor = 10.0 ** (digits - 1 - exponent)
        rounded = np.round(values * factor) / factor
    return np.where(values == 0, 0.0, rounded)


@dataclass(frozen=True)
class Precision:
    """The digits a student's values carry, read from the values themselves: the fewest
    ``significant`` digits and the fewest ``decimals`` that write every value exactly (None: more
    than we can tell), and the rounding ``slack`` that allows each element."""

    significant: int | None
    decimals: int | None
    slack: np.ndarray
    digits_at_decimals: int | None = None  # significant digits of the largest value at ``decimals``

    def describe(self):
        """'4 significant digits' or '3 decimal places' when the values carry fewer digits than a
        correct answer needs (7 significant digits always pass), else None."""
        if self.decimals is not None and self.digits_at_decimals is not None \
                and self.digits_at_decimals <= 6 \
                and (self.significant is None or self.digits_at_decimals <= self.significant):
            return f"{self.decimals} decimal place{'s' if self.decimals != 1 else ''}"
        if self.significant is not None and self.significant <= 6:
            return f"{self.significant} significant digit{'s' if self.significant != 1 else ''}"
        return None

    @property
    def coarse(self):
        return self.describe() is not None


def printed_precision(values):
    """The :class:`Precision` of ``values`` as read from a student's file."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    nonzero = flat[flat != 0]
    slack = np.zeros_like(flat)
    if nonzero.size == 0:
        return Precision(None, None, slack)
    significant = _fewest(lambda k: round_significant(nonzero, k), nonzero, 1)
    decimals = _fewest(lambda d: np.round(flat, d), flat, 0)
    if significant is not None:
        with np.errstate(divide="ignore"):
            exponent = np.nan_to_num(np.floor(np.log10(np.abs(flat))), neginf=0.0)
        unit = np.where(flat != 0, 10.0 ** (exponent + 1 - significant), 0.0)
        slack = np.maximum(slack, 0.5 * unit * (1 + 1e-9))
    digits_at_decimals = None
    if decimals is not None:
        slack = np.maximum(slack, 0.5 * 10.0 ** -decimals * (1 + 1e-9))
        digits_at_decimals = decimals + int(math.floor(math.log10(float(np.abs(nonzero).max())))) + 1
    return Precision(significant, decimals, slack, digits_at_decimals)


def _fewest(rounded, values, low):
    """The smallest digits count in ``low..15`` at which ``rounded(digits)`` leaves ``values``
    unchanged (to a few ulps), or None; a binary search, as more digits never change more."""
    def exact(digits):
        return bool(np.all(np.abs(rounded(digits) - values) <= 1e-13 * np.abs(values)))

    if not exact(_MAX_DIGITS):
        return None
    high = _MAX_DIGITS
    while low < high:
        middle = (low + high) // 2
        if exact(middle):
            high = middle
        else:
            low = middle + 1
    return high


def matches(variant, got, rtol, atol, slack=0.0):
    """Whether ``got`` (any shape, the variant's count) is what ``variant``'s mistake gives."""
    got = np.asarray(got, dtype=np.float64)
    if got.size != variant.size:
        return False
    if variant.kind == "array":
        return within(got, variant.values, rtol, atol, slack)
    if variant.kind == "overlap":
        return _overlap_matches(variant, got, rtol, atol, slack)
    if variant.kind == "count":
        return False
    return _RULES[variant.rule[0]](variant, got.reshape(variant.shape), rtol, atol, slack)


def _overlap_matches(variant, got, rtol, atol, slack):
    role, layout = variant.rule
    mine = ops.to_nchw(role, got.reshape(variant.shape), layout)
    theirs = ops.to_nchw(role, variant.values, layout)
    h = min(mine.shape[2], theirs.shape[2])
    w = min(mine.shape[3], theirs.shape[3])
    if np.ndim(slack):
        slack = ops.to_nchw(role, np.reshape(slack, variant.shape), layout)[:, :, :h, :w]
    return within(mine[:, :, :h, :w], theirs[:, :, :h, :w], rtol, atol, slack)


def _rule_scaled(variant, got, rtol, atol, slack):
    """Every nonzero element is ``factor * source``; ``zeros``: 'none', 'some' or 'any'."""
    _, source, factor, zeros = variant.rule
    kept = got != 0
    if zeros == "none" and not kept.all():
        return False
    if zeros == "some" and kept.all():
        return False
    if not kept.any():
        return False
    ref = factor * source
    slack = np.broadcast_to(slack, got.shape)
    allowed = allowance(ref, rtol, atol) + slack
    return bool(np.all(np.abs(got - ref)[kept] <= allowed[kept]))


def _rule_swapped_fraction(variant, got, rtol, atol, slack):
    """Kept units correctly scaled, but the dropped fraction is that of the keep probability."""
    _, source, drop_prob = variant.rule
    if not _rule_scaled(replace(variant, rule=("scaled", source, 1 / (1 - drop_prob), "any")),
                        got, rtol, atol, slack):
        return False
    n = got.size
    dropped = int(np.count_nonzero(got == 0))
    spread = math.sqrt(n * drop_prob * (1 - drop_prob)) or 1.0
    z_right = (dropped - n * drop_prob) / spread
    z_swapped = (dropped - n * (1 - drop_prob)) / spread
    return abs(z_right) > _Z_CHANCE and abs(z_swapped) < abs(z_right) and abs(z_swapped) <= _Z_CHANCE


def _rule_mask_pattern(variant, got, rtol, atol, slack):
    """A dropout mask with an obvious pattern: ``pattern`` 'rows' (every row the same mask),
    'columns', or 'block' (the dropped units all at the start or end, in row-major order)."""
    _, pattern = variant.rule
    if got.ndim != 2:
        got = got.reshape(got.shape[0], -1)
    dropped = got == 0
    if dropped.all() or not dropped.any():
        return False
    q = float(np.count_nonzero(dropped)) / dropped.size  # the student's own drop rate
    rows, cols = dropped.shape
    if pattern == "rows":  # every column all dropped or all kept
        chance = (q ** rows + (1 - q) ** rows) ** cols
        return rows > 1 and chance <= _CHANCE and bool((dropped == dropped[:1]).all())
    if pattern == "columns":
        chance = (q ** cols + (1 - q) ** cols) ** rows
        return cols > 1 and chance <= _CHANCE and bool((dropped == dropped[:, :1]).all())
    flat = dropped.ravel()
    n = flat.size
    k = np.arange(1, n)
    chance = float(np.sum(q ** k * (1 - q) ** (n - k) + (1 - q) ** k * q ** (n - k)))
    return chance <= _CHANCE and np.count_nonzero(flat[1:] != flat[:-1]) == 1


def _rule_fortran_scaled(variant, got, rtol, atol, slack):
    """Read back in column-major order, every element is 0 or ``factor * source`` (some kept);
    read in C order, it is not."""
    _, source, factor = variant.rule
    right = replace(variant, rule=("scaled", source, factor, "any"))
    if _rule_scaled(right, got, rtol, atol, slack):
        return False
    back = got.ravel().reshape(got.shape, order="F")
    if np.ndim(slack):
        slack = np.reshape(slack, -1).reshape(got.shape, order="F")
    return _rule_scaled(right, back, rtol, atol, slack)


_RULES = {"scaled": _rule_scaled, "fortran_scaled": _rule_fortran_scaled, "swapped_fraction": _rule_swapped_fraction,
          "mask_pattern": _rule_mask_pattern}


# --------------------------------------------------------------------------------------------------
# The catalogue: one function per mistake, registered with the outputs it applies to
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mistake:
    code: str
    targets: frozenset  # "op.role" names, or the groups below
    function: object
    audit_only: bool = False  # the Diagnoser checks it up front (low precision, all zeros)

    def applies(self, case):
        return bool({case.target, *_groups(case)} & self.targets)


def _groups(case):
    groups = []
    if case.op.startswith("dropout"):
        groups.append("dropout_train" if case.output.statistical else "dropout_test")
    else:
        groups.append("layer")  # conv and max-pool outputs
        if len(case.output.shape) == 4:
            groups.append("layer_4d")
    if not case.output.statistical:
        groups.append("deterministic")
        if len(case.output.shape) >= 2:
            groups.append("deterministic_nd")
    groups.append("any")
    return groups


MISTAKES = []


def _mistake(code, *targets, audit_only=False):
    def register(function):
        MISTAKES.append(Mistake(code, frozenset(targets), function, audit_only))
        return function
    return register


_IMAGE_LABELS = {"NCHW": ("N", "C", "H", "W"), "NHWC": ("N", "H", "W", "C")}
_WEIGHT_LABELS = {"NCHW": ("F", "C", "HH", "WW"), "NHWC": ("HH", "WW", "C", "F")}


def _axis_labels(case):
    table = _WEIGHT_LABELS if case.role in ("w", "dw") else _IMAGE_LABELS
    return table[case.layout]


def _fmt_pair(pair):
    return str(pair[0]) if pair[0] == pair[1] else f"({pair[0]}, {pair[1]})"


def _zeros(pair):
    """'1 zero', '2 zeros', '(1, 2) zeros'."""
    return f"{_fmt_pair(pair)} zero{'' if tuple(pair) == (1, 1) else 's'}"


def _needs_expected(case):
    """Variants made from the expected array exist only when it is known."""
    return case.expected is not None


@_mistake("all_zero", "any", audit_only=True)
def _all_zero(case):
    """An output array never filled in."""
    return [Variant("all_zero", CATALOGUE["all_zero"], np.zeros(case.output.shape), case.output.shape,
                    uncaught="the right answer is itself all zeros")]


@_mistake("low_precision", "deterministic", audit_only=True)
def _low_precision(case):
    """The right values written with 4 significant digits (e.g. '%.3e', or round(x, 4) on values
    near 1): the audit asks whether the tolerance catches that."""
    if not _needs_expected(case):
        return []
    return [Variant("low_precision", CATALOGUE["low_precision"], round_significant(case.expected, 4),
                    case.output.shape, uncaught="4 significant digits are within this output's "
                                                "tolerance")]


@_mistake("column_major", "deterministic_nd", "dropout_train")
def _column_major(case):
    """The right values flattened in column-major (Fortran) order; for a dropout train output, a
    valid mask of the source written in that order."""
    if case.output.statistical:
        return _column_major_train(case)
    if not _needs_expected(case):
        return []
    values = case.expected.ravel(order="F").reshape(case.output.shape)
    what = "transposed, in column-major (Fortran) order" if case.expected.ndim == 2 else \
        "in column-major (Fortran) order"
    message = (f"you wrote the values {what}; flatten with x.ravel() (C order) before writing, "
               "as np.savetxt does with a C-ordered array")
    return [Variant("column_major", message, values, case.output.shape,
                    uncaught="the output reads the same in both orders (symmetric, or axes of size 1)")]


def _column_major_train(case):
    shape = case.output.shape
    if len(shape) < 2 or sum(n > 1 for n in shape) < 2:
        raise Inapplicable(f"with shape {shape}, column-major order writes the same file")
    q = case.drop_prob
    source = case.inputs[case.source_role]
    keep = _sample_mask(source.shape, q)
    values = (source * keep / (1 - q)).ravel(order="F").reshape(shape)
    what = "transposed, in column-major (Fortran) order" if len(shape) == 2 else \
        "in column-major (Fortran) order"
    message = (f"your mask and scaling are right but you wrote the values {what}; flatten with "
               "x.ravel() (C order) before writing, as np.savetxt does with a C-ordered array")
    return [Variant("column_major", message, values, shape, kind="rule",
                    rule=("fortran_scaled", source, 1 / (1 - q)),
                    uncaught=f"{case.source_role} reads the same in both orders")]


@_mistake("layout", "layer_4d")
def _layout(case):
    """The right values with the axes in another order: NHWC instead of NCHW (or the reverse),
    (HH, WW, C, F) weights instead of (F, C, HH, WW), or any other permutation."""
    if not _needs_expected(case):
        return []
    shape = case.output.shape
    labels = _axis_labels(case)
    index = np.arange(int(np.prod(shape))).reshape(shape)
    seen = {index.ravel().tobytes(), index.ravel(order="F").tobytes()}  # identity, column-major
    variants = []
    for perm in _permutations(len(shape)):
        order = index.transpose(perm).ravel()
        key = order.tobytes()
        if key in seen:
            continue
        seen.add(key)
        written = ", ".join(labels[i] for i in perm)
        wanted = ", ".join(labels)
        back = ", ".join(str(i) for i in np.argsort(perm))
        message = (f"you wrote the axes in the order ({written}) but this assignment's files are "
                   f"({wanted}) ({case.layout}); transpose with .transpose({back}) before flattening")
        variants.append(Variant("layout", message, case.expected.ravel()[order].reshape(shape),
                                shape, uncaught="the output reads the same with its axes permuted"))
    if not variants:
        raise Inapplicable(f"with axes of size 1 in {shape}, no other axis order changes the file")
    return variants


def _permutations(n):
    from itertools import permutations
    return [p for p in permutations(range(n)) if p != tuple(range(n))]


@_mistake("sign_flip", "layer")
def _sign_flip(case):
    """The right values with the opposite sign."""
    if not _needs_expected(case):
        return []
    what = "gradient" if case.role.startswith("d") else "output"
    message = f"every value of your {what} has the opposite sign; look for a stray minus sign"
    return [Variant("sign_flip", message, -case.expected, case.output.shape,
                    uncaught="the right answer is all zeros")]


def _flip_w(case, role="w", array=None):
    array = case.inputs[role] if array is None else array
    nchw = ops.to_nchw(role, array, case.layout)
    return ops.from_nchw(role, nchw[:, :, ::-1, ::-1], case.layout)


@_mistake("flipped_kernel", "conv_forward.out", "conv_backward.dx", "conv_backward.dw")
def _flipped_kernel(case):
    """True convolution instead of cross-correlation: the kernel rotated by 180 degrees."""
    w = case.inputs["w"]
    symmetric = np.array_equal(_flip_w(case), w)
    uncaught = ("w equals its 180-degree rotation (a symmetric kernel)" if symmetric
                else "on these inputs the flipped kernel gives the same values within tolerance")
    if case.role == "dw":
        if not _needs_expected(case):
            return []
        values = _flip_w(case, "dw", case.expected)
        message = ("your dw is rotated by 180 degrees: you computed a true convolution (flipped "
                   "kernel); a convolutional layer computes cross-correlation, so use w unflipped "
                   "in the forward pass and do not flip dw")
    elif case.role == "dx":
        values = case.run(w=_flip_w(case))
        message = ("your dx is what the kernel rotated by 180 degrees gives: either the forward pass "
                   "flips w (a true convolution) or the backward pass slides w over dout without "
                   "rotating it; with loops, add w[f] * dout[n, f, i, j] to each window of dx_pad")
    else:
        values = case.run(w=_flip_w(case))
        message = ("your output is what a true convolution (the kernel rotated by 180 degrees) "
                   "gives; a convolutional layer computes cross-correlation: slide w over x "
                   "without flipping it")
    return [Variant("flipped_kernel", message, values, case.output.shape, uncaught=uncaught)]


@_mistake("missing_bias", "conv_forward.out")
def _missing_bias(case):
    """The convolution without its bias."""
    b = case.inputs["b"]
    values = case.run(b=np.zeros_like(b))
    uncaught = "b is zero" if not np.any(b) else "b is too small to exceed the tolerance"
    return [Variant("missing_bias", CATALOGUE["missing_bias"], values, case.output.shape,
                    uncaught=uncaught)]


@_mistake("bias_broadcast", "conv_forward.out")
def _bias_broadcast(case):
    """Every filter given filter 0's bias (b[0], or a scalar bias)."""
    b = case.inputs["b"]
    if b.size == 1:
        raise Inapplicable("there is one filter: its bias is b[0]")
    values = case.run(b=np.full_like(b, b.ravel()[0]))
    uncaught = ("every entry of b is the same" if np.all(b == b.ravel()[0])
                else "b's entries are too close to exceed the tolerance")
    return [Variant("bias_broadcast", CATALOGUE["bias_broadcast"], values, case.output.shape,
                    uncaught=uncaught)]


@_mistake("transposed_kernel", "conv_forward.out")
def _transposed_kernel(case):
    """The kernel indexed w[f, c, j, i]: its spatial axes swapped."""
    w = case.nchw("w")
    HH, WW = w.shape[2:]
    if HH != WW:
        raise Unrunnable(f"w is {HH}x{WW}: w[f, c, j, i] indexes outside it")
    if HH == 1:
        raise Inapplicable("the kernel is 1x1: transposing it changes nothing")
    values = case.run(w=case.to_file(np.ascontiguousarray(w.transpose(0, 1, 3, 2)), "w"))
    uncaught = ("w equals its transpose (a symmetric kernel)"
                if np.array_equal(w, w.transpose(0, 1, 3, 2)) else
                "on these inputs the transposed kernel gives the same values within tolerance")
    return [Variant("transposed_kernel", CATALOGUE["transposed_kernel"], values, case.output.shape,
                    uncaught=uncaught)]


def _pool_params(case):
    return (case.params["pool_height"], case.params["pool_width"]) + case.pair("stride")


def _window_size(case):
    if case.op.startswith("conv"):
        F, C, HH, WW = case.nchw("w").shape
        return HH, WW
    return case.params["pool_height"], case.params["pool_width"]


@_mistake("not_accumulated", "conv_backward.dx", "maxpool_backward.dx")
def _not_accumulated(case):
    """Contributions assigned (``=``) instead of summed (``+=``): where windows overlap the last
    window wins; in a convolution's loop over filters, the last filter wins."""
    sh, sw = case.pair("stride")
    hh, ww = _window_size(case)
    overlap = sh < hh or sw < ww
    variants = []
    if case.op == "conv_backward":
        x, w, dout = case.nchw("x"), case.nchw("w"), case.nchw("dout")
        pad = case.pair("pad", 0)
        if overlap:
            dx, _ = _conv_backward_nchw(x, w, dout, (sh, sw), pad, assign=True)
            variants.append(Variant(
                "not_accumulated",
                f"where the {hh}x{ww} windows overlap (stride {_fmt_pair((sh, sw))}) you assigned dx "
                "instead of adding to it; accumulate every window's contribution with +=",
                case.to_file(dx), case.output.shape))
        if w.shape[0] > 1:
            dx, _ = _conv_backward_nchw(x, w[-1:], dout[:, -1:], (sh, sw), pad, assign=True)
            variants.append(Variant(
                "not_accumulated",
                "your dx keeps only the last filter's contribution: inside the loop over filters "
                "you assigned dx instead of adding to it; accumulate with +=",
                case.to_file(dx), case.output.shape))
        if not variants:
            raise Inapplicable(f"the {hh}x{ww} windows do not overlap (stride "
                               f"{_fmt_pair((sh, sw))}) and there is one filter")
        return variants
    if not overlap:
        raise Inapplicable(f"the {hh}x{ww} windows do not overlap (stride {_fmt_pair((sh, sw))})")
    x, dout = case.nchw("x"), case.nchw("dout")
    message = (f"where the {hh}x{ww} pooling windows overlap (stride {_fmt_pair((sh, sw))}) you "
               "assigned dx instead of adding to it; accumulate with += so that a position that is "
               "the maximum of several windows receives all their gradients")
    for mode in ("assign_window", "assign_max"):
        dx = _maxpool_backward_nchw(x, dout, hh, ww, sh, sw, select="max", combine=mode)
        variants.append(Variant("not_accumulated", message, case.to_file(dx), case.output.shape))
    return variants


@_mistake("all_positions", "maxpool_backward.dx")
def _all_positions(case):
    """Each window's gradient sent to every position of the window."""
    ph, pw, sh, sw = _pool_params(case)
    dx = _maxpool_backward_nchw(case.nchw("x"), case.nchw("dout"), ph, pw, sh, sw, select="all")
    return [Variant("all_positions", CATALOGUE["all_positions"], case.to_file(dx), case.output.shape)]


@_mistake("pool_mask_only", "maxpool_backward.dx")
def _pool_mask_only(case):
    """The argmax mask written without dout: each window's maximum receives 1, not its gradient."""
    ph, pw, sh, sw = _pool_params(case)
    dout = case.nchw("dout")
    dx = _maxpool_backward_nchw(case.nchw("x"), np.ones_like(dout), ph, pw, sh, sw, select="max")
    return [Variant("pool_mask_only", CATALOGUE["pool_mask_only"], case.to_file(dx),
                    case.output.shape, uncaught="dout is 1 wherever a window has its maximum")]


@_mistake("last_element", "maxpool_forward.out", "maxpool_backward.dx")
def _last_element(case):
    """The last element of each window (row-major) taken as its maximum: passes on an input that
    increases along every window, as linspace does."""
    ph, pw, sh, sw = _pool_params(case)
    x = case.nchw("x")
    uncaught = "the last element of every window of x is its maximum"
    if np.all(np.diff(x, axis=2) >= 0) and np.all(np.diff(x, axis=3) >= 0):
        uncaught = ("x increases along every row and column (a monotonic input, as linspace gives), "
                    "so the last element of every window is its maximum")
    if case.role == "out":
        H_out, W_out = case.output_nchw_hw()
        values = window_view(x, ph, pw, sh, sw, H_out, W_out)[..., -1, -1]
        message = CATALOGUE["last_element"]
    else:
        values = _maxpool_backward_nchw(x, case.nchw("dout"), ph, pw, sh, sw, select="last")
        message = ("you sent each window's gradient to its last position instead of the position of "
                   "its maximum; find the argmax of each window of x")
    return [Variant("last_element", message, case.to_file(values), case.output.shape,
                    uncaught=uncaught)]


@_mistake("average_pool", "maxpool_forward.out", "maxpool_backward.dx")
def _average_pool(case):
    """Average pooling instead of max-pooling."""
    ph, pw, sh, sw = _pool_params(case)
    x = case.nchw("x")
    if case.role == "out":
        H_out, W_out = case.output_nchw_hw()
        values = window_view(x, ph, pw, sh, sw, H_out, W_out).mean(axis=(4, 5))
        message = CATALOGUE["average_pool"]
    else:
        values = _maxpool_backward_nchw(x, case.nchw("dout"), ph, pw, sh, sw, select="mean")
        message = ("you spread each window's gradient evenly over the window (average pooling); "
                   "max-pooling sends it all to the position of the window's maximum")
    return [Variant("average_pool", message, case.to_file(values), case.output.shape)]


def _pad_message(case, used):
    pad = case.problem.params.get("pad", 0)
    per_side = case.pair("pad", 0)
    if case.assignment.pad_convention == "total":
        meaning = (f"this assignment's pad = {_fmt_spec(pad)} is the TOTAL padding, "
                   f"{_zeros(per_side)} on each side; pad by pad // 2 on each side")
    else:
        meaning = (f"this assignment's pad = {_fmt_spec(pad)} is the number of zeros on EACH "
                   "side; pad by pad on each side, not pad // 2")
    return f"you padded with {_zeros(used)} on each side, but {meaning}"


def _fmt_spec(value):
    return f"({value[0]}, {value[1]})" if isinstance(value, (list, tuple)) else str(value)


def _conv_variant(case, code, message, stride=None, pad=None, brief=""):
    """This conv output with another stride or per-side pad, as a student's code computes it:
    forward from the formula; backward over dout's positions (the shape the student was given)."""
    stride = stride or case.pair("stride")
    pad = case.pair("pad", 0) if pad is None else pad
    if case.op == "conv_forward":
        try:
            values = case.run(params={"stride": stride, "pad": pad})
        except ValueError:
            raise Unrunnable(f"with stride {_fmt_pair(stride)} and pad {_fmt_pair(pad)} per side "
                             "the windows do not fit x") from None
        shape = values.shape
    else:
        dx, dw = _conv_backward_nchw(case.nchw("x"), case.nchw("w"), case.nchw("dout"), stride, pad)
        values = case.to_file(dx if case.role == "dx" else dw)
        shape = values.shape
    return [Variant(code, message, values, shape, brief=brief)]


@_mistake("pad_convention", "conv_forward.out", "conv_backward.dx", "conv_backward.dw")
def _pad_convention(case):
    """pad read as per-side padding where the assignment means the total, or the reverse."""
    per_side = case.pair("pad", 0)
    if case.assignment.pad_convention == "total":
        used = (2 * per_side[0], 2 * per_side[1])
    else:
        used = (per_side[0] // 2, per_side[1] // 2)
    if used == per_side:
        raise Inapplicable("pad = 0: both conventions pad nothing")
    other = "per-side" if case.assignment.pad_convention == "total" else "total"
    return _conv_variant(case, "pad_convention", _pad_message(case, used), pad=used,
                         brief=f"{_zeros(used)} of padding per side (pad read as the {other} "
                               "padding)")


@_mistake("pad_ignored", "conv_forward.out", "conv_backward.dx", "conv_backward.dw")
def _pad_ignored(case):
    """No zero padding at all."""
    if case.pair("pad", 0) == (0, 0):
        raise Inapplicable("pad = 0: there is no padding to forget")
    message = (f"you did not zero-pad x; pad it with {_zeros(case.pair('pad', 0))} on each side "
               "(np.pad) before sliding the windows")
    return _conv_variant(case, "pad_ignored", message, pad=(0, 0), brief="no padding")


@_mistake("stride_ignored", "conv_forward.out", "conv_backward.dx", "conv_backward.dw",
          "maxpool_forward.out", "maxpool_backward.dx")
def _stride_ignored(case):
    """Windows stepped by one pixel instead of the stride."""
    stride = case.pair("stride")
    if stride == (1, 1):
        raise Inapplicable("stride = 1: nothing to ignore")
    message = (f"you moved the windows one pixel at a time; step them by the stride "
               f"({_fmt_pair(stride)}): window (i, j) starts at row i*stride, column j*stride")
    if case.op.startswith("conv"):
        variants = _conv_variant(case, "stride_ignored", message, stride=(1, 1),
                                 brief="a stride of 1")
        if case.op == "conv_forward":
            variants.append(_first_windows(case, variants[0].values, stride))
        return variants
    ph, pw = case.params["pool_height"], case.params["pool_width"]
    x = case.nchw("x")
    if case.role == "out":
        values = case.run(params={"stride": 1})
        return [Variant("stride_ignored", message, values, values.shape, brief="a stride of 1"),
                _first_windows(case, values, stride)]
    dout = case.nchw("dout")
    dx = _maxpool_backward_nchw(x, dout, ph, pw, 1, 1, select="max")
    return [Variant("stride_ignored", message, case.to_file(dx), case.output.shape)]


def _first_windows(case, stride_one, stride):
    """The right output size, but window (i, j) taken at row i, column j instead of (i*stride,
    j*stride): the first H_out x W_out positions of the stride-1 output ``stride_one``."""
    H_out, W_out = case.output_nchw_hw()
    values = ops.to_nchw(case.role, stride_one, case.layout)[:, :, :H_out, :W_out]
    message = (f"your output has the right size but window (i, j) starts at row i, column j; "
               f"step the windows by the stride ({_fmt_pair(stride)}): window (i, j) starts at row "
               "i*stride, column j*stride")
    return Variant("stride_ignored", message, case.to_file(np.ascontiguousarray(values)),
                   case.output.shape)


@_mistake("batch_mean", "conv_backward.dw", "conv_backward.db")
def _batch_mean(case):
    """The gradient divided by the batch size (a mean over the batch, as in a loss)."""
    if not _needs_expected(case):
        return []
    n = case.nchw("x").shape[0]
    if n == 1:
        raise Inapplicable("the batch holds one sample")
    message = (f"your {case.role} is divided by the batch size N = {n}; the gradient of a layer "
               "sums over the batch, it is not averaged")
    return [Variant("batch_mean", message, case.expected / n, case.output.shape)]


@_mistake("dx_padded", "conv_backward.dx")
def _dx_padded(case):
    """dx returned with the padding still on."""
    pad = case.pair("pad", 0)
    if pad == (0, 0):
        raise Inapplicable("pad = 0: there is no padding to crop")
    dx, _ = _conv_backward_nchw(case.nchw("x"), case.nchw("w"), case.nchw("dout"),
                                case.pair("stride"), pad, keep_pad=True)
    message = ("you returned dx with the padding still on; crop the padding from each side, e.g. "
               "dx_pad[:, :, pad:-pad, pad:-pad], to get x's shape")
    values = case.to_file(dx)
    return [Variant("dx_padded", message, values, values.shape, brief="dx with its padding left on")]


@_mistake("off_by_one_size", "conv_forward.out", "maxpool_forward.out")
def _off_by_one_size(case):
    """An output size computed with ceil, +1 or -1: only the values it shares with the right
    output can be checked."""
    H_out, W_out = case.output_nchw_hw()
    nchw_shape = case.output_nchw_shape()
    variants = []
    expected = case.expected
    for h in (H_out - 1, H_out, H_out + 1):
        for w in (W_out - 1, W_out, W_out + 1):
            if (h, w) == (H_out, W_out) or h < 1 or w < 1:
                continue
            shape_nchw = nchw_shape[:2] + (h, w)
            shape = case.to_file(np.zeros(shape_nchw)).shape
            message = (f"your output has {h}x{w} positions instead of {H_out}x{W_out}; compute the "
                       "output size as (H + 2*pad - HH) // stride + 1 (floor division, no ceil)"
                       if case.op == "conv_forward" else
                       f"your output has {h}x{w} positions instead of {H_out}x{W_out}; compute the "
                       "output size as (H - pool_height) // stride + 1 (floor division, no ceil)")
            variants.append(Variant("off_by_one_size", message, expected, shape, kind="overlap",
                                    rule=(case.role, case.layout),
                                    brief=f"an output size of {h}x{w} (off by one)"))
    return variants


@_mistake("one_sample", "layer_4d")
def _one_sample(case):
    """The output of one sample of the batch (the first, or the last one a loop left behind)."""
    n = case.output.shape[0]
    if n == 1:
        raise Inapplicable("the batch holds one sample")
    shape = (1,) + case.output.shape[1:]
    message = (f"your file holds the output of one sample where the batch has N = {n}; run the "
               "layer over every sample (loop over n, or vectorise over the batch axis)")
    brief = "one sample of the batch"
    if not _needs_expected(case):
        return [Variant("one_sample", message, None, shape, kind="count", brief=brief)]
    return [Variant("one_sample", message, case.expected[:1], shape, brief=brief),
            Variant("one_sample", message, case.expected[-1:], shape, brief=brief)]


def _dropout_p_text(case):
    spec_p = case.problem.params.get("p")
    if case.assignment.dropout_p_means == "keep":
        return f"this assignment's p = {spec_p:g} is the probability of KEEPING a unit"
    return f"this assignment's p = {spec_p:g} is the probability of DROPPING a unit"


@_mistake("scaled_at_test", "dropout_test")
def _scaled_at_test(case):
    """Test mode multiplied or divided by the keep probability."""
    q = case.drop_prob
    if q == 0:
        raise Inapplicable("the drop probability is 0: scaling by the keep probability changes nothing")
    keep = 1 - q
    source = case.inputs[case.source_role]
    variants = []
    for factor, how in ((keep, "multiplied"), (1 / keep, "divided")):
        message = (f"you {how} the test-mode output by the keep probability {keep:g}; inverted "
                   "dropout scales in train mode only, and test mode returns its input unchanged")
        variants.append(Variant("scaled_at_test", message, source * factor, case.output.shape))
    return variants


def _sample_mask(shape, drop_prob, seed=12345):
    return np.random.default_rng(seed).random(shape) >= drop_prob  # True: kept


@_mistake("dropout_at_test", "dropout_test")
def _dropout_at_test(case):
    """A mask applied in test mode (with or without the train-mode scaling)."""
    q = case.drop_prob
    if q == 0:
        raise Inapplicable("the drop probability is 0: no unit is dropped in either mode")
    source = case.inputs[case.source_role]
    keep = _sample_mask(source.shape, q)
    message = ("you dropped units in test mode; test mode applies no mask and returns its input "
               "unchanged (check the mode == 'test' branch)")
    scaled = ("you dropped units in test mode; test mode applies no mask and returns its input "
              "unchanged (check the mode == 'test' branch, and whether the train and test files "
              "are swapped)")
    return [Variant("dropout_at_test", scaled, source * keep / (1 - q), case.output.shape,
                    kind="rule", rule=("scaled", source, 1 / (1 - q), "some")),
            Variant("dropout_at_test", message, source * keep, case.output.shape,
                    kind="rule", rule=("scaled", source, 1.0, "some"))]


@_mistake("no_dropout", "dropout_train")
def _no_dropout(case):
    """Train mode that drops nothing: the input returned (scaled or not)."""
    q = case.drop_prob
    source = case.inputs[case.source_role]
    n = source.size
    if q == 0:
        raise Inapplicable("the drop probability is 0: nothing is dropped anyway")
    if (1 - q) ** n > _CHANCE:
        raise Inapplicable(f"with drop probability {q:g} over {n} units, a correct mask drops nothing with "
                           f"probability {(1 - q) ** n:.2g}")
    src = case.source_role
    return [Variant("no_dropout", f"your train-mode output is {src} unchanged: no unit was dropped "
                    "and none scaled; draw a random mask, zero the dropped units and divide the "
                    "kept ones by the keep probability (if your test-mode file holds a masked "
                    "output, the train and test files are swapped)", source.copy(), case.output.shape,
                    kind="rule", rule=("scaled", source, 1.0, "none")),
            Variant("no_dropout", "no unit was dropped in train mode (the kept values are scaled "
                    "right); draw a random mask and zero the units it drops", source / (1 - q),
                    case.output.shape, kind="rule", rule=("scaled", source, 1 / (1 - q), "none"))]


@_mistake("keep_probability", "dropout_train")
def _keep_probability(case):
    """p read with the other meaning: units kept with probability q (the drop probability) and
    scaled by 1/q, or only the dropped fraction swapped."""
    q = case.drop_prob
    if q == 0:
        raise Inapplicable("the drop probability is 0: read the other way, no unit would be kept")
    source = case.inputs[case.source_role]
    keep_swapped = _sample_mask(source.shape, 1 - q)  # keeps with probability q
    uncaught = ("drop probability 0.5: keeping and dropping with probability 0.5 give the same masks and the "
                "same scaling" if abs(q - 0.5) < 1e-12 else
                "too few units to tell the two fractions apart")
    text = _dropout_p_text(case)
    message = (f"you kept units with probability {q:g} and scaled them by 1/{q:g}, reading p the "
               f"other way round: {text}, so keep units with probability {1 - q:g} and divide them "
               f"by {1 - q:g}")
    variants = []
    if abs(q - 0.5) > 1e-12:
        variants.append(Variant("keep_probability", message, source * keep_swapped / q,
                                case.output.shape, kind="rule", rule=("scaled", source, 1 / q, "any"),
                                uncaught=uncaught))
    fraction_message = (f"about {1 - q:.0%} of your units are dropped where the drop probability "
                        f"is {q:g}: {text}, so drop each unit with probability {q:g}")
    variants.append(Variant("keep_probability", fraction_message, source * keep_swapped / (1 - q),
                            case.output.shape, kind="rule", rule=("swapped_fraction", source, q),
                            uncaught=uncaught))
    return variants


@_mistake("no_scaling", "dropout_train")
def _no_scaling(case):
    """Kept units not divided by the keep probability."""
    q = case.drop_prob
    if q == 0:
        raise Inapplicable("the drop probability is 0: the scale is 1")
    source = case.inputs[case.source_role]
    keep = _sample_mask(source.shape, q)
    src = case.source_role
    message = (f"your kept values equal {src}; inverted dropout divides the kept units by the keep "
               f"probability {1 - q:g} in train mode")
    return [Variant("no_scaling", message, source * keep, case.output.shape, kind="rule",
                    rule=("scaled", source, 1.0, "some"))]


@_mistake("inverse_scaling", "dropout_train")
def _inverse_scaling(case):
    """Kept units multiplied by the keep probability instead of divided by it."""
    q = case.drop_prob
    if q == 0:
        raise Inapplicable("the drop probability is 0: the scale is 1")
    source = case.inputs[case.source_role]
    keep = _sample_mask(source.shape, q)
    message = (f"you multiplied the kept units by the keep probability {1 - q:g}; inverted dropout "
               f"divides them by it")
    return [Variant("inverse_scaling", message, source * keep * (1 - q), case.output.shape,
                    kind="rule", rule=("scaled", source, 1 - q, "some"))]


@_mistake("wrong_input", "dropout_backward.dx_train", "dropout_backward.dx_test")
def _wrong_input(case):
    """The backward pass computed from x instead of dout (the mask applied to x)."""
    q = case.drop_prob
    x = case.inputs["x"]
    uncaught = "x equals dout"
    if case.output.statistical:
        keep = _sample_mask(x.shape, q)
        message = ("your dx is the mask applied to x; the backward pass applies the same mask "
                   f"and scaling to dout: dx = dout * mask / {1 - q:g}")
        return [Variant("wrong_input", message, x * keep / (1 - q), case.output.shape,
                        kind="rule", rule=("scaled", x, 1 / (1 - q), "any"), uncaught=uncaught),
                Variant("wrong_input", message, x * keep, case.output.shape,
                        kind="rule", rule=("scaled", x, 1.0, "some"), uncaught=uncaught)]
    message = "your test-mode dx is x; in test mode the gradient passes through unchanged: dx = dout"
    return [Variant("wrong_input", message, x.copy(), case.output.shape, uncaught=uncaught)]


@_mistake("not_random", "dropout_train")
def _not_random(case):
    """A mask with a pattern: one row's mask repeated on every row (a mask drawn for one row and
    broadcast), one column's on every column, or the first units dropped in order."""
    q = case.drop_prob
    if q == 0:
        raise Inapplicable("the drop probability is 0: the mask keeps everything")
    source = case.inputs[case.source_role]
    rows, cols = source.shape[0], int(source.size // source.shape[0])
    grid = source.reshape(rows, cols)
    scale = 1 / (1 - q)
    variants = []
    row_keep = np.broadcast_to(_sample_mask((1, cols), q, seed=7), grid.shape)
    if rows > 1:
        variants.append(Variant(
            "not_random", "every row of your output has the same mask: you drew the mask for one "
            "row and broadcast it; draw one random number per unit, rng.random(x.shape)",
            (grid * row_keep * scale).reshape(source.shape), case.output.shape, kind="rule",
            rule=("mask_pattern", "rows")))
    col_keep = np.broadcast_to(_sample_mask((rows, 1), q, seed=8), grid.shape)
    if cols > 1:
        variants.append(Variant(
            "not_random", "every column of your output has the same mask: you drew the mask for "
            "one column and broadcast it; draw one random number per unit, rng.random(x.shape)",
            (grid * col_keep * scale).reshape(source.shape), case.output.shape, kind="rule",
            rule=("mask_pattern", "columns")))
    block = np.arange(source.size).reshape(source.shape) >= round(q * source.size)
    variants.append(Variant(
        "not_random", "your dropped units are all in one block (the first ones in row-major "
        "order): the mask is not random; drop each unit independently, rng.random(x.shape) >= p",
        source * block * scale, case.output.shape, kind="rule", rule=("mask_pattern", "block")))
    return variants


# --------------------------------------------------------------------------------------------------
# Small alternative computations (NCHW), for variants the reference cannot produce
# --------------------------------------------------------------------------------------------------

def _conv_backward_nchw(x, w, dout, stride, pad, assign=False, keep_pad=False):
    """dx and dw of a convolution over the windows dout's shape implies, with ``stride`` and
    per-side ``pad``. ``assign``: each window's contribution to dx overwrites instead of adding
    (later windows, in row-major order, win). ``keep_pad``: dx keeps the padding."""
    sh, sw = stride
    ph, pw = pad
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out, W_out = dout.shape[2:]
    if (H_out - 1) * sh + HH > H + 2 * ph or (W_out - 1) * sw + WW > W + 2 * pw:
        raise Unrunnable(f"with stride {_fmt_pair(stride)} and pad {_fmt_pair(pad)} per side, "
                         f"dout's {H_out}x{W_out} windows do not fit x")
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    windows = window_view(x_pad, HH, WW, sh, sw, H_out, W_out)
    dw = np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))
    dwindows = np.tensordot(dout, w, axes=([1], [0])).transpose(0, 3, 1, 2, 4, 5)
    dx_pad = np.zeros_like(x_pad)
    if assign:
        for i in range(H_out):
            for j in range(W_out):
                dx_pad[:, :, i * sh:i * sh + HH, j * sw:j * sw + WW] = dwindows[:, :, i, j]
    else:
        for i in range(HH):
            for j in range(WW):
                dx_pad[offset_slices(i, j, sh, sw, H_out, W_out)] += dwindows[..., i, j]
    dx = dx_pad if keep_pad else dx_pad[:, :, ph:ph + H, pw:pw + W]
    return np.ascontiguousarray(dx), dw


def _maxpool_backward_nchw(x, dout, ph, pw, sh, sw, select="max", combine="add"):
    """dx of max-pooling over the windows dout's shape implies. ``select``: which positions of a
    window receive its gradient ('max': its first maximum; 'last': its last position; 'all': every
    position; 'mean': every position, divided by the window size). ``combine``: 'add' (right),
    'assign_window' (each window overwrites its whole region, zeros included) or 'assign_max' (each
    window overwrites the positions it selects)."""
    N, C, H, W = x.shape
    H_out, W_out = dout.shape[2:]
    if (H_out - 1) * sh + ph > H or (W_out - 1) * sw + pw > W:
        raise Unrunnable(f"dout's {H_out}x{W_out} windows with stride ({sh}, {sw}) do not fit x")
    windows = window_view(x, ph, pw, sh, sw, H_out, W_out)
    k = ph * pw
    flat = windows.reshape(N, C, H_out, W_out, k)
    if select == "max":
        chosen = np.eye(k, dtype=bool)[flat.argmax(axis=4)]
    elif select == "last":
        chosen = np.zeros(flat.shape, dtype=bool)
        chosen[..., -1] = True
    else:
        chosen = np.ones(flat.shape, dtype=bool)
    weight = 1.0 / k if select == "mean" else 1.0
    contributions = (np.where(chosen, dout[..., None] * weight, 0.0)).reshape(N, C, H_out, W_out, ph, pw)
    chosen = chosen.reshape(N, C, H_out, W_out, ph, pw)
    dx = np.zeros_like(x, dtype=np.float64)
    if combine == "add":
        for i in range(ph):
            for j in range(pw):
                dx[offset_slices(i, j, sh, sw, H_out, W_out)] += contributions[..., i, j]
    else:
        for i in range(H_out):
            for j in range(W_out):
                region = dx[:, :, i * sh:i * sh + ph, j * sw:j * sw + pw]
                if combine == "assign_window":
                    region[...] = contributions[:, :, i, j]
                else:
                    region[...] = np.where(chosen[:, :, i, j], contributions[:, :, i, j], region)
    return dx


# --------------------------------------------------------------------------------------------------
# The Diagnoser
# --------------------------------------------------------------------------------------------------

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
        if case.drop_prob ** output.size > _CHANCE:
            return None  # a correct mask may drop everything
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
