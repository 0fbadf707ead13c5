"""Dropout mistakes: scaling at test time or not at all, p read as the keep probability, the kept
units divided by the drop probability, a mask drawn from a normal distribution, dropout at test
time or never, the gradient from x, a mask that is not random.

Every train-mode mistake is decided by grader/judge/dropout.py, with its exact statistics: a
variant's rule (matching.Judged) asks the judge which mistake the values show, and its sample
values (for the audit) are one draw of the mistake. Test-mode outputs are deterministic and are
matched against their variants' values.
"""
import math

import numpy as np

from grader.diagnosis.cases import Inapplicable, Variant, mistake
from grader.diagnosis.matching import Judged
from grader.judge.dropout import count_accepted


def _dropout_p_text(case):
    spec_p = case.problem.params.get("p")
    if case.assignment.dropout_p_means == "keep":
        return f"this assignment's p = {spec_p:g} is the probability of KEEPING a unit"
    return f"this assignment's p = {spec_p:g} is the probability of DROPPING a unit"


def _judged(case, expect, kept_scale=None, pattern=None, source_role=None):
    """The rule of a train-mode variant: the judge diagnoses ``expect`` (module docstring)."""
    role = source_role or case.source_role
    return ("judged", Judged(expect, case.inputs[role], role, case.drop_prob,
                             case.problem.params.get("p"), case.assignment.dropout_p_means,
                             kept_scale, pattern))


def _course_p(case):
    """The p the students were given: the course's own, in its own meaning."""
    return float(case.problem.params.get("p"))


def sample_mask(shape, drop_prob, seed=12345):
    return np.random.default_rng(seed).random(shape) >= drop_prob  # True: kept


def _test_scalings(case):
    """(factor, message) for each way a test-mode output can be scaled by p or 1 - p, the keep
    probability first (the messages of the course's own p for the drop probability)."""
    q = case.drop_prob
    keep = 1 - q
    drop_name = "p" if case.assignment.dropout_p_means == "drop" else "1 - p"
    unchanged = "inverted dropout scales in train mode only, and test mode returns its input unchanged"
    found = []
    for factor, how, what in ((keep, "multiplied", f"the keep probability {keep:g}"),
                              (1 / keep, "divided", f"the keep probability {keep:g}"),
                              (q, "multiplied", f"{drop_name} = {q:g}, the drop probability"),
                              (1 / q if q else 1.0, "divided", f"{drop_name} = {q:g}, the drop probability")):
        if factor != 1.0 and all(abs(factor - f) > 1e-12 * factor for f, _ in found):
            if "drop probability" in what:
                message = (f"you {how} the test-mode output by {what}, as non-inverted dropout "
                           f"with p read the other way round does; {unchanged}")
            else:
                message = f"you {how} the test-mode output by {what}; {unchanged}"
            found.append((factor, message))
    return found


@mistake("scaled_at_test", "dropout_test")
def _scaled_at_test(case):
    """Test mode multiplied or divided by the keep or the drop probability (non-inverted dropout,
    with p read either way)."""
    if case.drop_prob == 0:
        raise Inapplicable("the drop probability is 0: scaling by the keep probability changes nothing")
    source = case.inputs[case.source_role]
    return [Variant("scaled_at_test", message, source * factor, case.output.shape)
            for factor, message in _test_scalings(case)]


@mistake("dropout_at_test", "dropout_test")
def _dropout_at_test(case):
    """A mask applied in test mode (with or without the train-mode scaling)."""
    q = case.drop_prob
    if q == 0:
        raise Inapplicable("the drop probability is 0: no unit is dropped in either mode")
    source = case.inputs[case.source_role]
    keep = sample_mask(source.shape, q)
    message = ("you dropped units in test mode; test mode applies no mask and returns its input "
               "unchanged (check the mode == 'test' branch)")
    scaled = ("you dropped units in test mode; test mode applies no mask and returns its input "
              "unchanged (check the mode == 'test' branch, and whether the train and test files "
              "are swapped)")
    return [Variant("dropout_at_test", scaled, source * keep / (1 - q), case.output.shape,
                    kind="rule", rule=("scaled", source, 1 / (1 - q), "some")),
            Variant("dropout_at_test", message, source * keep, case.output.shape,
                    kind="rule", rule=("scaled", source, 1.0, "some"))]


@mistake("no_dropout", "dropout_train")
def _no_dropout(case):
    """Train mode that drops nothing: the input returned (scaled or not)."""
    q = case.drop_prob
    source = case.inputs[case.source_role]
    n = source.size
    if q == 0:
        raise Inapplicable("the drop probability is 0: nothing is dropped anyway")
    if count_accepted(0, n, q):
        raise Inapplicable(f"with drop probability {q:g} over {n} units, the dropout check accepts "
                           "a mask that drops nothing")
    src = case.source_role
    return [Variant("no_dropout", f"your train-mode output is {src} unchanged: no unit was dropped "
                    "and none scaled; draw a random mask, zero the dropped units and divide the "
                    "kept ones by the keep probability (if your test-mode file holds a masked "
                    "output, the train and test files are swapped)", source.copy(), case.output.shape,
                    kind="rule", rule=_judged(case, "no_dropout", kept_scale=1.0)),
            Variant("no_dropout", "no unit was dropped in train mode (the kept values are scaled "
                    "right); draw a random mask and zero the units it drops", source / (1 - q),
                    case.output.shape, kind="rule",
                    rule=_judged(case, "no_dropout", kept_scale=1 / (1 - q)))]


@mistake("keep_probability", "dropout_train")
def _keep_probability(case):
    """p read with the other meaning: units kept with probability q (the drop probability) and
    scaled by 1/q, or only the dropped fraction swapped."""
    q = case.drop_prob
    if q == 0:
        raise Inapplicable("the drop probability is 0: read the other way, no unit would be kept")
    source = case.inputs[case.source_role]
    keep_swapped = sample_mask(source.shape, 1 - q)  # keeps with probability q
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
                                case.output.shape, kind="rule",
                                rule=_judged(case, "keep_probability", kept_scale=1 / q),
                                uncaught=uncaught))
    fraction_message = (f"about {1 - q:.0%} of your units are dropped where the drop probability "
                        f"is {q:g}: {text}, so drop each unit with probability {q:g}")
    variants.append(Variant("keep_probability", fraction_message, source * keep_swapped / (1 - q),
                            case.output.shape, kind="rule",
                            rule=_judged(case, "keep_probability", kept_scale=1 / (1 - q)),
                            uncaught=uncaught))
    return variants


@mistake("normal_draw", "dropout_train")
def _normal_draw(case):
    """The mask drawn from a normal distribution: ``np.random.randn(*x.shape) < p`` (p read as
    the keep probability, scaled by 1/p) keeps Phi(p) of the units, ``randn(...) > p`` (p read as
    the drop probability, scaled by 1/(1-p)) keeps 1 - Phi(p), whatever p is."""
    q = case.drop_prob
    p = _course_p(case)
    if q == 0 or not 0 < p < 1:
        raise Inapplicable(f"with p = {p:g}, a normal draw compared with p has no fraction to get wrong")
    source = case.inputs[case.source_role]
    draws = np.random.default_rng(54321).standard_normal(source.shape)
    below = 0.5 * (1 + math.erf(p / math.sqrt(2)))  # Phi(p)
    variants = []
    for comparison, kept, scale, mask in (("<", below, 1 / p, draws < p),
                                          (">", 1 - below, 1 / (1 - p), draws > p)):
        message = (f"you drew the mask from a normal distribution: np.random.randn(*x.shape) "
                   f"{comparison} {p:g} keeps about {kept:.0%} of the units, not {1 - q:.0%}; draw "
                   f"uniform numbers, np.random.rand(*x.shape)")
        if abs(scale * (1 - q) - 1) > 1e-9:
            message += (f", and divide the kept units by the keep probability {1 - q:g}, not by "
                        f"{1 / scale:g}")
        uncaught = (f"randn(...) {comparison} {p:g} keeps {kept:.1%} of the units and the right "
                    f"mask {1 - q:.0%}: too close to tell apart over {source.size} units")
        variants.append(Variant("normal_draw", message, source * mask * scale, case.output.shape,
                                kind="rule", rule=_judged(case, "normal_draw", kept_scale=scale),
                                uncaught=uncaught))
    return variants


@mistake("no_scaling", "dropout_train")
def _no_scaling(case):
    """Kept units not divided by the keep probability."""
    q = case.drop_prob
    if q == 0:
        raise Inapplicable("the drop probability is 0: the scale is 1")
    source = case.inputs[case.source_role]
    keep = sample_mask(source.shape, q)
    src = case.source_role
    message = (f"your kept values equal {src}; inverted dropout divides the kept units by the keep "
               f"probability {1 - q:g} in train mode")
    return [Variant("no_scaling", message, source * keep, case.output.shape, kind="rule",
                    rule=_judged(case, "no_scaling", kept_scale=1.0))]


@mistake("scaled_by_drop", "dropout_train")
def _scaled_by_drop(case):
    """The mask right, the kept units divided by the drop probability instead of the keep
    probability (1/p where p drops, 1/(1-p) where p keeps)."""
    q = case.drop_prob
    if q == 0 or abs(q - 0.5) < 1e-12:
        raise Inapplicable(f"at drop probability {q:g} there is no other probability to divide by")
    source = case.inputs[case.source_role]
    keep = sample_mask(source.shape, q)
    expr = "p" if case.assignment.dropout_p_means == "drop" else "1 - p"
    message = (f"you divided the kept units by {expr} = {q:g}, the drop probability; inverted "
               f"dropout divides them by the keep probability {1 - q:g}: "
               f"{_dropout_p_text(case)}")
    return [Variant("scaled_by_drop", message, source * keep / q, case.output.shape, kind="rule",
                    rule=_judged(case, "scaled_by_drop", kept_scale=1 / q),
                    uncaught="the right fraction is also a plausible draw at the keep reading")]


@mistake("inverse_scaling", "dropout_train")
def _inverse_scaling(case):
    """Kept units multiplied by the keep probability instead of divided by it."""
    q = case.drop_prob
    if q == 0:
        raise Inapplicable("the drop probability is 0: the scale is 1")
    source = case.inputs[case.source_role]
    keep = sample_mask(source.shape, q)
    message = (f"you multiplied the kept units by the keep probability {1 - q:g}; inverted dropout "
               f"divides them by it")
    return [Variant("inverse_scaling", message, source * keep * (1 - q), case.output.shape,
                    kind="rule", rule=_judged(case, "inverse_scaling", kept_scale=1 - q))]


@mistake("wrong_input", "dropout_backward.dx_train", "dropout_backward.dx_test")
def _wrong_input(case):
    """The backward pass computed from x instead of dout (the mask applied to x)."""
    q = case.drop_prob
    x = case.inputs["x"]
    uncaught = "x equals dout"
    if case.output.statistical:
        keep = sample_mask(x.shape, q)
        message = ("your dx is the mask applied to x; the backward pass applies the same mask "
                   f"and scaling to dout: dx = dout * mask / {1 - q:g}")
        return [Variant("wrong_input", message, x * keep / (1 - q), case.output.shape, kind="rule",
                        rule=_judged(case, "pass", source_role="x"), uncaught=uncaught),
                Variant("wrong_input", message, x * keep, case.output.shape, kind="rule",
                        rule=_judged(case, "no_scaling", source_role="x"), uncaught=uncaught)]
    message = "your test-mode dx is x; in test mode the gradient passes through unchanged: dx = dout"
    return [Variant("wrong_input", message, x.copy(), case.output.shape, uncaught=uncaught)]


@mistake("not_random", "dropout_train")
def _not_random(case):
    """A mask with a pattern: one row's mask repeated on every row (a mask drawn for one row and
    broadcast over the batch, scaled right or by 1/(drop probability)), one column's on every
    column, or the first units dropped in order."""
    q = case.drop_prob
    if q == 0:
        raise Inapplicable("the drop probability is 0: the mask keeps everything")
    source = case.inputs[case.source_role]
    rows, cols = source.shape[0], int(source.size // source.shape[0])
    grid = source.reshape(rows, cols)
    right = 1 / (1 - q)
    scales = [(right, "")]
    if abs(q - 0.5) > 1e-12:
        scales.append((1 / q, f", and divide the kept units by the keep probability {1 - q:g}, "
                              f"not by the drop probability {q:g}"))
    broadcast = "draw one random number per unit, rng.random(x.shape)"
    variants = []
    for pattern, count, keep, where in (
            ("rows", rows, sample_mask((1, cols), q, seed=7), "row"),
            ("columns", cols, sample_mask((rows, 1), q, seed=8), "column")):
        if count < 2:
            continue
        for scale, fix in scales:
            message = (f"every {where} of your output has the same mask: you drew the mask for one "
                       f"{where} and broadcast it; {broadcast}{fix}")
            values = (grid * np.broadcast_to(keep, grid.shape) * scale).reshape(source.shape)
            variants.append(Variant("not_random", message, values, case.output.shape, kind="rule",
                                    rule=_judged(case, "not_random", scale, pattern)))
    block = np.arange(source.size).reshape(source.shape) >= round(q * source.size)
    variants.append(Variant(
        "not_random", "your dropped units are all in one block (the first ones in row-major "
        "order): the mask is not random; drop each unit independently, rng.random(x.shape) >= p",
        source * block * right, case.output.shape, kind="rule",
        rule=_judged(case, "not_random", right, "block")))
    return variants
