"""Dropout mistakes: scaling at test time or not at all, p read as the keep probability, dropout
at test time or never, the gradient from x, a mask that is not random.
"""
import numpy as np

from grader.diagnosis.cases import CHANCE, Inapplicable, Variant, mistake


def _dropout_p_text(case):
    spec_p = case.problem.params.get("p")
    if case.assignment.dropout_p_means == "keep":
        return f"this assignment's p = {spec_p:g} is the probability of KEEPING a unit"
    return f"this assignment's p = {spec_p:g} is the probability of DROPPING a unit"


@mistake("scaled_at_test", "dropout_test")
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


def sample_mask(shape, drop_prob, seed=12345):
    return np.random.default_rng(seed).random(shape) >= drop_prob  # True: kept


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
    if (1 - q) ** n > CHANCE:
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
                                case.output.shape, kind="rule", rule=("scaled", source, 1 / q, "any"),
                                uncaught=uncaught))
    fraction_message = (f"about {1 - q:.0%} of your units are dropped where the drop probability "
                        f"is {q:g}: {text}, so drop each unit with probability {q:g}")
    variants.append(Variant("keep_probability", fraction_message, source * keep_swapped / (1 - q),
                            case.output.shape, kind="rule", rule=("swapped_fraction", source, q),
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
                    rule=("scaled", source, 1.0, "some"))]


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
                    kind="rule", rule=("scaled", source, 1 - q, "some"))]


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
        return [Variant("wrong_input", message, x * keep / (1 - q), case.output.shape,
                        kind="rule", rule=("scaled", x, 1 / (1 - q), "any"), uncaught=uncaught),
                Variant("wrong_input", message, x * keep, case.output.shape,
                        kind="rule", rule=("scaled", x, 1.0, "some"), uncaught=uncaught)]
    message = "your test-mode dx is x; in test mode the gradient passes through unchanged: dx = dout"
    return [Variant("wrong_input", message, x.copy(), case.output.shape, uncaught=uncaught)]


@mistake("not_random", "dropout_train")
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
    row_keep = np.broadcast_to(sample_mask((1, cols), q, seed=7), grid.shape)
    if rows > 1:
        variants.append(Variant(
            "not_random", "every row of your output has the same mask: you drew the mask for one "
            "row and broadcast it; draw one random number per unit, rng.random(x.shape)",
            (grid * row_keep * scale).reshape(source.shape), case.output.shape, kind="rule",
            rule=("mask_pattern", "rows")))
    col_keep = np.broadcast_to(sample_mask((rows, 1), q, seed=8), grid.shape)
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
