"""What a mistake is computed from and what it yields: a :class:`Case` (one output with its inputs
and expected value), the :class:`Variant` arrays of a mistake, and the registry of mistakes with
the outputs they apply to. The mistakes themselves live in grader/diagnosis/mistakes/, one module
per family; shared helpers for their messages are here.
"""
from dataclasses import dataclass

import numpy as np

from grader.assignment import ops


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


# The order the Diagnoser tries mistakes in: the most specific first, so that a mistake that
# implies another's symptoms is named rather than the symptom.
PRECEDENCE = (
    "all_zero", "low_precision", "column_major", "layout", "sign_flip", "flipped_kernel",
    "missing_bias", "bias_broadcast", "transposed_kernel", "not_accumulated", "all_positions",
    "pool_mask_only", "last_element", "average_pool", "pad_convention", "pad_ignored",
    "stride_ignored", "batch_mean", "dx_padded", "off_by_one_size", "one_sample", "scaled_at_test",
    "dropout_at_test", "no_dropout", "keep_probability", "normal_draw", "no_scaling",
    "scaled_by_drop", "inverse_scaling", "wrong_input", "not_random",
)
MISTAKES = []  # in PRECEDENCE order, whatever order the family modules register in


def mistake(code, *targets, audit_only=False):
    """Register the decorated function as the variants of mistake ``code`` for ``targets``
    ("op.role" names or the groups of :func:`_groups`); ``code`` must have its place in
    PRECEDENCE."""
    PRECEDENCE.index(code)  # raises for a code without its place

    def register(function):
        MISTAKES.append(Mistake(code, frozenset(targets), function, audit_only))
        MISTAKES.sort(key=lambda m: PRECEDENCE.index(m.code))  # stable: one code's variants keep their order
        return function
    return register


_IMAGE_LABELS = {"NCHW": ("N", "C", "H", "W"), "NHWC": ("N", "H", "W", "C")}
_WEIGHT_LABELS = {"NCHW": ("F", "C", "HH", "WW"), "NHWC": ("HH", "WW", "C", "F")}


def axis_labels(case):
    table = _WEIGHT_LABELS if case.role in ("w", "dw") else _IMAGE_LABELS
    return table[case.layout]


def fmt_pair(pair):
    return str(pair[0]) if pair[0] == pair[1] else f"({pair[0]}, {pair[1]})"


def zeros_pair(pair):
    """'1 zero', '2 zeros', '(1, 2) zeros'."""
    return f"{fmt_pair(pair)} zero{'' if tuple(pair) == (1, 1) else 's'}"


def needs_expected(case):
    """Variants made from the expected array exist only when it is known."""
    return case.expected is not None
