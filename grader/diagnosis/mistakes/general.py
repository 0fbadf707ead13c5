"""Mistakes any output can show: all zeros, too few digits, column-major or transposed layout, a
sign flip, one sample instead of the batch.
"""
import numpy as np

from grader.diagnosis.cases import Inapplicable, Variant, axis_labels, mistake, needs_expected
from grader.diagnosis.catalogue import CATALOGUE
from grader.diagnosis.matching import round_significant
from grader.diagnosis.mistakes.dropout import sample_mask


@mistake("all_zero", "any", audit_only=True)
def _all_zero(case):
    """An output array never filled in."""
    return [Variant("all_zero", CATALOGUE["all_zero"], np.zeros(case.output.shape), case.output.shape,
                    uncaught="the right answer is itself all zeros")]


@mistake("low_precision", "deterministic", audit_only=True)
def _low_precision(case):
    """The right values written with 4 significant digits (e.g. '%.3e', or round(x, 4) on values
    near 1): the audit asks whether the tolerance catches that."""
    if not needs_expected(case):
        return []
    return [Variant("low_precision", CATALOGUE["low_precision"], round_significant(case.expected, 4),
                    case.output.shape, uncaught="4 significant digits are within this output's "
                                                "tolerance")]


@mistake("column_major", "deterministic_nd", "dropout_train")
def _column_major(case):
    """The right values flattened in column-major (Fortran) order; for a dropout train output, a
    valid mask of the source written in that order."""
    if case.output.statistical:
        return _column_major_train(case)
    if not needs_expected(case):
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
    keep = sample_mask(source.shape, q)
    values = (source * keep / (1 - q)).ravel(order="F").reshape(shape)
    what = "transposed, in column-major (Fortran) order" if len(shape) == 2 else \
        "in column-major (Fortran) order"
    message = (f"your mask and scaling are right but you wrote the values {what}; flatten with "
               "x.ravel() (C order) before writing, as np.savetxt does with a C-ordered array")
    return [Variant("column_major", message, values, shape, kind="rule",
                    rule=("fortran_scaled", source, 1 / (1 - q)),
                    uncaught=f"{case.source_role} reads the same in both orders")]


@mistake("layout", "layer_4d")
def _layout(case):
    """The right values with the axes in another order: NHWC instead of NCHW (or the reverse),
    (HH, WW, C, F) weights instead of (F, C, HH, WW), or any other permutation."""
    if not needs_expected(case):
        return []
    shape = case.output.shape
    labels = axis_labels(case)
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


@mistake("sign_flip", "layer")
def _sign_flip(case):
    """The right values with the opposite sign."""
    if not needs_expected(case):
        return []
    what = "gradient" if case.role.startswith("d") else "output"
    message = f"every value of your {what} has the opposite sign; look for a stray minus sign"
    return [Variant("sign_flip", message, -case.expected, case.output.shape,
                    uncaught="the right answer is all zeros")]


@mistake("one_sample", "layer_4d")
def _one_sample(case):
    """The output of one sample of the batch (the first, or the last one a loop left behind)."""
    n = case.output.shape[0]
    if n == 1:
        raise Inapplicable("the batch holds one sample")
    shape = (1,) + case.output.shape[1:]
    message = (f"your file holds the output of one sample where the batch has N = {n}; run the "
               "layer over every sample (loop over n, or vectorise over the batch axis)")
    brief = "one sample of the batch"
    if not needs_expected(case):
        return [Variant("one_sample", message, None, shape, kind="count", brief=brief)]
    return [Variant("one_sample", message, case.expected[:1], shape, brief=brief),
            Variant("one_sample", message, case.expected[-1:], shape, brief=brief)]
