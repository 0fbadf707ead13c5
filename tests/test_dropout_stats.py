"""grader.judge.dropout and its exact distributions (grader.judge.exact): the false-fail rate on thousands of simulated correct
outputs at the default shapes, and the power against the catalogued wrong outputs (with diagnoses)."""
import itertools
import json
import math
import re
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from grader.judge.dropout import ALPHA, TESTS, DropoutVerdict, check_dropout_train
from grader.judge.exact import (
    binomial_p_value,
    binomial_pmf,
    runs_p_value,
    spread_p_value,
    two_sided_p_values,
)
from grader.assignment.generate import make_inputs, write_expected, write_inputs
from grader.pipeline import grade_submission, load_context
from grader.assignment.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent

# Simulated correct outputs graded per default setting; with ALPHA = 1e-6 the chance that even one
# of them fails is at most SIMULATIONS * 2 * 1e-6 = 1%, and the draws are seeded.
SIMULATIONS = 5000

# Seeds each wrong output is built with: it must fail, with its diagnosis, every time.
POWER_SEEDS = 100


@pytest.fixture(scope="module")
def settings():
    """The two default dropout outputs: (name, source, drop probability, source name)."""
    assignment = load_spec(ROOT / "assignment.toml")
    inputs = make_inputs(assignment)
    forward = assignment.problem("dropout_forward")
    backward = assignment.problem("dropout_backward")
    return [
        ("forward", inputs["dropout_forward_in_x"], forward.drop_prob, "x"),
        ("backward", inputs["dropout_backward_in_dout"], backward.drop_prob, "dout"),
    ]


def test_default_settings_are_the_briefed_ones(settings):
    (_, x, p_forward, _), (_, dout, p_backward, _) = settings
    assert x.shape == (20, 20) and p_forward == 0.3 and 8 < x.mean() < 12
    assert dout.shape == (10, 10) and p_backward == 0.8 and abs(dout.mean()) < 0.5


def correct_output(source, p, rng, dtype=np.float64):
    """What a correct student writes: inverted dropout with a default_rng mask."""
    keep = rng.random(source.shape) >= p
    return (source.astype(dtype) * (keep / dtype(1 - p)).astype(dtype)).astype(np.float64)


# --------------------------------------------------------------------------------------------------
# Exact distributions
# --------------------------------------------------------------------------------------------------

def test_binomial_p_value_hand_computed():
    # Binomial(4, 0.3): P = .2401, .4116, .2646, .0756, .0081 for k = 0..4.
    np.testing.assert_allclose(binomial_pmf(4, 0.3), [0.2401, 0.4116, 0.2646, 0.0756, 0.0081])
    assert binomial_p_value(3, 4, 0.3) == pytest.approx(0.0756 + 0.0081)
    assert binomial_p_value(0, 4, 0.3) == pytest.approx(0.2401 + 0.0756 + 0.0081)
    assert binomial_p_value(4, 4, 0.3) == pytest.approx(0.0081)
    assert binomial_p_value(1, 4, 0.3) == pytest.approx(1.0)
    # Binomial(5, 1/2): 1, 5, 10, 10, 5, 1 over 32; equal probabilities count as "no more likely".
    assert binomial_p_value(0, 5, 0.5) == pytest.approx(2 / 32)
    assert binomial_p_value(1, 5, 0.5) == pytest.approx(12 / 32)
    assert binomial_p_value(2, 5, 0.5) == pytest.approx(1.0)


def test_binomial_p_value_matches_scipy():
    from scipy import stats  # the test extra installs it: this cross-check always runs

    for n, p in ((20, 0.3), (100, 0.8), (400, 0.3), (7, 0.5)):
        for k in range(0, n + 1, max(1, n // 25)):
            assert binomial_p_value(k, n, p) == pytest.approx(stats.binomtest(k, n, p).pvalue,
                                                              rel=1e-9, abs=1e-300)


def test_binomial_pmf_edges():
    np.testing.assert_array_equal(binomial_pmf(3, 0.0), [1, 0, 0, 0])
    assert binomial_pmf(400, 0.3).sum() == pytest.approx(1.0, rel=1e-12)
    assert binomial_p_value(0, 0, 0.3) == 1.0
    with pytest.raises(ValueError):
        binomial_p_value(5, 4, 0.3)


def test_runs_distribution_matches_enumeration():
    n1, n2 = 4, 3
    arrangements = []
    for ones in itertools.combinations(range(n1 + n2), n1):
        seq = np.zeros(n1 + n2, bool)
        seq[list(ones)] = True
        arrangements.append((seq, 1 + int(np.count_nonzero(seq[1:] != seq[:-1]))))
    pmf = np.zeros(n1 + n2 + 1)
    for _, runs in arrangements:
        pmf[runs] += 1 / math.comb(n1 + n2, n1)
    expected = two_sided_p_values(pmf)
    for seq, runs in arrangements:
        value, observed = runs_p_value(seq)
        assert observed == runs and value == pytest.approx(expected[runs])
    # Sorted (2 runs) is 2 of the 35 arrangements, full alternation (7 runs) 1 of them.
    assert pmf[2] == pytest.approx(2 / 35) and pmf[7] == pytest.approx(1 / 35)
    assert runs_p_value([True] * 4 + [False] * 3)[0] == pytest.approx(3 / 35)
    assert runs_p_value([True, False] * 3 + [True])[0] == pytest.approx(1 / 35)
    assert runs_p_value([True] * 5) == (1.0, 1)
    assert runs_p_value([]) == (1.0, 0)


def test_spread_bound_is_never_below_the_simulated_tail():
    rng = np.random.default_rng(11)
    n, lines, p, draws = 20, 20, 0.3, 50_000
    d = rng.binomial(n, p, size=(draws, lines))
    statistic = ((d - n * p) ** 2 / (n * p * (1 - p))).sum(axis=1)
    for quantile in (0.5, 0.9, 0.99, 0.999):
        row = int(np.argmin(np.abs(statistic - np.quantile(statistic, quantile))))
        bound, t = spread_p_value(d[row], np.full(lines, n), p)
        assert t == pytest.approx(statistic[row])
        tail = np.mean(statistic >= t)
        assert bound >= tail - 4 * math.sqrt(tail * (1 - tail) / draws), (quantile, bound, tail)
    # A spread far beyond chance: whole rows dropped.
    bound, _ = spread_p_value(np.array([20] * 6 + [0] * 14), np.full(20, 20), p)
    assert bound < 1e-30


def test_structure_tests_depend_on_the_usable_units_and_p_not_on_earlier_calls():
    """What depends only on the usable units and p is computed once and kept (mask_structure's
    plan): the results are those of a first computation, whatever was graded before."""
    from grader.judge import mask_structure

    rng = np.random.default_rng(16)
    dropped = rng.random((12, 9)) < 0.3
    every = np.ones(dropped.shape, bool)
    some = every.copy()
    some[3, :4] = some[:, 7] = False  # units whose source is about 0: read either way
    cases = [(u, p) for u in (every, some) for p in (0.3, 0.45)]

    def run(order):
        return [mask_structure.structure_tests(dropped & u, u, p) for u, p in order]

    first = run(cases)
    assert first == run(cases)  # from the kept plans
    mask_structure._plan.cache_clear()
    assert run(cases[::-1]) == first[::-1]
    assert len({repr(results) for results in first}) == 4


# --------------------------------------------------------------------------------------------------
# False fails: thousands of correct outputs
# --------------------------------------------------------------------------------------------------

def test_correct_outputs_never_fail_and_every_test_is_calibrated(settings):
    for name, source, p, source_name in settings:
        rng = np.random.default_rng([2024, len(name)])
        failures = []
        p_values = {test: [] for test in TESTS}
        for i in range(SIMULATIONS):
            dtype = np.float32 if i % 4 == 3 else np.float64  # some students work in float32
            got = correct_output(source, p, rng, dtype)
            verdict = check_dropout_train(got, source, p, 1e-5, 1e-5, source_name=source_name)
            if not verdict.passed:
                failures.append(verdict.describe())
            p_values["count"].append(verdict.p_value)
            for test, value in verdict.structure_tests:
                p_values[test].append(value)
        assert not failures, failures[:3]
        # Each p-value is valid: P(p-value < a) <= a, up to sampling noise (4 standard deviations).
        for test, values in p_values.items():
            values = np.array(values)
            assert len(values) == SIMULATIONS, test
            for a in (0.01, 0.05, 0.2):
                limit = a + 4 * math.sqrt(a * (1 - a) / SIMULATIONS)
                assert np.mean(values < a) <= limit, (name, test, a, np.mean(values < a))


# --------------------------------------------------------------------------------------------------
# Power: wrong outputs fail, with their diagnosis
# --------------------------------------------------------------------------------------------------

def wrong_output(kind, source, p, rng):
    rows, cols = source.shape
    size = source.size
    kept_value = source / (1 - p)
    if kind == "keep_probability":  # CS231n's keep-probability code: keep with p, scale by 1/p
        return source * (rng.random(source.shape) < p) / p
    if kind == "keep_probability_count":  # keep with probability p, scaled by 1/(1-p)
        return kept_value * (rng.random(source.shape) < p)
    if kind == "keep_probability_scale":  # drop with probability p, scaled by 1/p
        return source * (rng.random(source.shape) >= p) / p
    if kind == "no_scaling":
        return source * (rng.random(source.shape) >= p)
    if kind == "first_k_dropped":
        keep = np.arange(size) >= round(p * size)
        return kept_value * keep.reshape(source.shape)
    if kind == "all_kept_scaled":
        return kept_value.copy()
    if kind == "all_kept_identity":  # test mode in train mode
        return source.copy()
    if kind == "whole_rows_dropped":
        keep = np.ones(source.shape, bool)
        keep[rng.choice(rows, round(p * rows), replace=False)] = False
        return kept_value * keep
    if kind == "checkerboard":
        return kept_value * (np.indices(source.shape).sum(axis=0) % 2 == 1)
    if kind == "sorted_mask":
        keep = np.sort(rng.random(size)) >= p
        return kept_value * keep.reshape(source.shape)
    if kind == "same_mask_every_row":
        return kept_value * (rng.random(cols) >= p)[None, :]
    raise ValueError(kind)


DIAGNOSES = {
    "keep_probability": "keep_probability",
    "keep_probability_count": "keep_probability",
    # The mask drops with the right probability: only the scaling reads p the other way.
    "keep_probability_scale": "scaled_by_drop",
    "no_scaling": "no_scaling",
    "first_k_dropped": "not_random",
    "all_kept_scaled": "no_dropout",
    "all_kept_identity": "no_dropout",
    "whole_rows_dropped": "not_random",
    "checkerboard": "not_random",
    "sorted_mask": "not_random",
    "same_mask_every_row": "not_random",
}


@pytest.mark.parametrize("kind", sorted(DIAGNOSES))
def test_wrong_outputs_fail_with_their_diagnosis(settings, kind):
    for name, source, p, source_name in settings:
        for seed in range(POWER_SEEDS):
            got = wrong_output(kind, source, p, np.random.default_rng(seed))
            verdict = check_dropout_train(got, source, p, 1e-5, 1e-5, source_name=source_name)
            assert not verdict.passed, (name, seed, verdict.describe())
            # A mask drawn for one row can drop every column of a small output: nothing kept.
            expected = DIAGNOSES[kind] if got.any() else "all_zero"
            assert verdict.diagnosis == expected, (name, seed, verdict.describe())
            if verdict.diagnosis == "not_random":
                assert verdict.structure_failures


def test_a_wrong_rate_is_not_called_a_pattern(settings):
    _, source, p, _ = settings[0]
    # 45% dropped: neither 30%, nor 70% (p read as keep), nor the 62% of randn(...) > 0.3.
    got = source / (1 - p) * (np.random.default_rng(5).random(source.shape) >= 0.45)
    verdict = check_dropout_train(got, source, p, 1e-5, 1e-5)
    assert not verdict.passed and verdict.diagnosis is None and not verdict.structure_failures
    assert "accepted" in verdict.message and "binomial p-value" in verdict.message


def test_values_neither_zero_nor_kept(settings):
    _, source, p, _ = settings[0]
    got = correct_output(source, p, np.random.default_rng(3))
    got[4, 7] = 1.5 * source[4, 7] if got[4, 7] else 2.0  # one wrong value
    verdict = check_dropout_train(got, source, p, 1e-5, 1e-5)
    assert not verdict.passed and verdict.bad_values == 1 and verdict.worst_bad_index == (4, 7)
    assert verdict.diagnosis is None and verdict.mask_digest is None
    assert "1 of 400 values are neither 0 nor x/(1-p) = x/0.7" in verdict.message
    assert "at (4, 7)" in verdict.message
    # The zeros still define the mask: the wrong value is a kept unit, counted as kept.
    assert verdict.tested == 400 and verdict.dropped == int(np.count_nonzero(got == 0))
    # Multiplied by (1-p) instead of divided.
    got = source * (1 - p) * (np.random.default_rng(3).random(source.shape) >= p)
    verdict = check_dropout_train(got, source, p, 1e-5, 1e-5)
    assert verdict.diagnosis == "inverse_scaling" and verdict.bad_values > 50
    assert verdict.kept_scale == pytest.approx(1 - p)


# --------------------------------------------------------------------------------------------------
# Wrong kept values: the count is over every unit the zeros (or the wrong scale) define (F5)
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scale, shown", [(0.7, "0.7 * x"), (1 / 0.65, "1.538 * x")])
def test_wrong_kept_values_count_every_unit(settings, scale, shown):
    _, x, p, _ = settings[0]
    keep = np.random.default_rng(3).random(x.shape) >= p
    v = check_dropout_train(x * keep * scale, x, p)
    dropped = int(np.count_nonzero(~keep))
    assert dropped == 115  # 28.75% of 400: on target
    assert not v.passed and v.bad_values == 400 - dropped
    assert v.diagnosis == ("inverse_scaling" if scale == 0.7 else None)
    assert (v.tested, v.dropped, v.mask_defined) == (400, dropped, True)
    assert v.p_value == pytest.approx(binomial_p_value(dropped, 400, p))
    assert v.accepted_interval[0] < dropped < v.accepted_interval[1]
    assert v.message == (f"285 of 400 values are neither 0 nor x/(1-p) = x/0.7: the kept values "
                         f"are {shown}, expected 1.429 * x")
    text = v.describe()
    assert "Dropped: 115 of 400 units (28.7%); drop probability 0.3" in text
    assert "Accepted: 74 to 170 dropped" in text and "p-value 0.62" in text
    assert "Mask structure: rows, columns, 2x2 blocks, runs and ends show no pattern" in text
    assert "of 115" not in text and "100.0%" not in text
    assert v.mask_digest is None  # batch flags compare only well-formed outputs


def test_wrong_kept_values_of_dout_near_zero_are_read_at_their_own_scale(settings):
    """Kept values multiplied by 0.2 instead of divided (p = 0.8): some kept dout * 0.2 fall
    within the zero tolerance of dout / 0.2; read at the student's own scale they are ambiguous,
    never counted as dropped."""
    _, dout, p, _ = settings[1]
    for seed in range(50):
        keep = np.random.default_rng(seed).random(dout.shape) >= p
        got = dout * keep * (1 - p)
        v = check_dropout_train(got, dout, p, 1e-5, 1e-5, source_name="dout")
        assert v.tested + v.ambiguous == 100
        assert "the kept values are 0.2 * dout, expected 5 * dout" in v.message
        assert v.dropped <= int(np.count_nonzero(~keep))


def test_wrong_kept_values_with_a_wrong_count_or_pattern_say_so(settings):
    _, x, p, _ = settings[0]
    # Every unit kept, unscaled: test mode in train mode.
    v = check_dropout_train(x.copy(), x, p, 1e-5, 1e-5)
    assert v.diagnosis == "no_dropout" and (v.tested, v.dropped) == (400, 0)
    assert v.message.endswith("; also dropped 0 / 400 (0.0%), accepted 74-170 for drop "
                              "probability 0.3: no unit was dropped")
    # The first 120 units dropped, the rest multiplied by 0.7.
    got = x * 0.7 * (np.arange(400) >= 120).reshape(x.shape)
    v = check_dropout_train(got, x, p, 1e-5, 1e-5)
    assert (v.tested, v.dropped) == (400, 120) and v.structure_failures
    assert "the kept values are 0.7 * x" in v.message
    assert "; also the mask is not random: row 0 has 20 of 20 units dropped" in v.message


@pytest.mark.parametrize("kind", ["noise", "nan"])
def test_values_that_define_no_mask_give_no_count(settings, kind):
    _, x, p, _ = settings[0]
    rng = np.random.default_rng(6)
    if kind == "noise":  # nothing reads as 0 or as kept
        got = rng.normal(size=x.shape)
    else:  # a unit that is neither dropped nor kept
        got = x / (1 - p) * (rng.random(x.shape) >= p)
        got[2, 3] = np.nan
    v = check_dropout_train(got, x, p, 1e-5, 1e-5)
    assert not v.passed and not v.mask_defined and v.tested == 0 and v.dropped == 0
    assert v.accepted_interval is v.accepted_fractions is v.p_value is v.observed_fraction is None
    assert v.structure_tests == () and v.structure_failures == ()
    text = v.describe()
    assert "Dropped: not counted (the values do not define a mask)" in text
    assert "Accepted" not in text and "also" not in v.message
    assert "Mask structure: not checked (the values do not define a mask)" in text
    json.dumps(asdict(v), allow_nan=False)


# --------------------------------------------------------------------------------------------------
# Wording: "drop probability", and the course's own p where the convention is explained (F4)
# --------------------------------------------------------------------------------------------------

def test_messages_say_drop_probability_not_p(settings):
    _, x, p, _ = settings[0]
    rng = np.random.default_rng(12)
    right = check_dropout_train(correct_output(x, p, rng), x, p, 1e-5, 1e-5)
    assert right.passed and "accepted 74-170 for drop probability 0.3; values and mask look " \
        "right" in right.message
    swapped = check_dropout_train(x / (1 - p) * (rng.random(x.shape) < p), x, p, 1e-5, 1e-5)
    assert swapped.diagnosis == "keep_probability"
    assert swapped.message.endswith(": the dropped fraction matches the keep probability 0.7, not "
                                    "the drop probability 0.3; p = 0.3 is the probability of "
                                    "DROPPING a unit")
    for v in (right, swapped):
        assert "for p =" not in v.message and "p = 0.3" not in v.describe().split("\n", 1)[1]
        assert "drop probability 0.3" in v.describe()
        assert "Values: every element is 0 or x/(1-p) = x/0.7 within tolerance" in v.describe()
        assert v.course_p is None and v.p_means == "drop"


def test_a_keep_probability_course_is_told_in_its_own_terms(settings):
    """p = 0.7 meaning keep: the messages never call 0.3 "p", nor say p means dropping."""
    _, x, p, _ = settings[0]
    rng = np.random.default_rng(13)
    keep_course = dict(course_p=0.7, p_means="keep")
    right = check_dropout_train(correct_output(x, p, rng), x, p, 1e-5, 1e-5, **keep_course)
    swapped = check_dropout_train(x / (1 - p) * (rng.random(x.shape) < p), x, p, 1e-5, 1e-5,
                                  **keep_course)
    scaled = check_dropout_train(x / p * (rng.random(x.shape) >= p), x, p, 1e-5, 1e-5,
                                 **keep_course)
    unscaled = check_dropout_train(x * (rng.random(x.shape) >= p), x, p, 1e-5, 1e-5,
                                   **keep_course)
    assert right.passed and right.message.endswith("for drop probability 0.3; values and mask "
                                                   "look right")
    assert swapped.diagnosis == "keep_probability"
    assert swapped.message.endswith(": the dropped fraction matches the keep probability 0.7, not "
                                    "the drop probability 0.3; this assignment's p = 0.7 is the "
                                    "probability of KEEPING a unit, so drop each unit with "
                                    "probability 1 - p = 0.3")
    # Divided by 0.3 but 30% dropped, as p = 0.7 keeping asks: only the scaling is wrong.
    assert scaled.diagnosis == "scaled_by_drop"
    assert scaled.message == ("kept values are x/0.3 = 3.333 * x, expected x/p = x/0.7 = "
                              "1.429 * x: divide the kept units by this assignment's p = 0.7, the "
                              "probability of KEEPING a unit, not by 1 - p = 0.3")
    assert unscaled.diagnosis == "no_scaling"
    assert unscaled.message.startswith("kept values equal x instead of x/p = x/0.7 = 1.429 * x: "
                                       "divide the kept units by the keep probability 0.7")
    for v in (right, swapped, scaled, unscaled):
        text = v.describe()
        assert "DROPPING" not in text and "for p =" not in text and not calls_drop_p(text)
        assert "(1-p)" not in text
        assert ("drop probability 0.3 (this assignment's p = 0.7 is the probability of KEEPING a "
                "unit)") in text
        assert (v.course_p, v.p_means) == (0.7, "keep")
        json.dumps(asdict(v), allow_nan=False)


def test_a_drop_probability_course_names_its_p():
    source = np.random.default_rng(2).normal(10, 1, (20, 20))
    got = source / 0.7 * (np.random.default_rng(3).random(source.shape) < 0.3)
    v = check_dropout_train(got, source, 0.3, course_p=0.3, p_means="drop")
    assert v.message.endswith("this assignment's p = 0.3 is the probability of DROPPING a unit")
    # Without the course's p, a keep-probability meaning still states its p.
    v = check_dropout_train(got, source, 0.3, p_means="keep")
    assert "; p = 0.7 is the probability of KEEPING a unit" in v.message


def test_the_course_p_must_agree_with_the_drop_probability():
    zeros = np.zeros((2, 2))
    with pytest.raises(ValueError, match="course_p = 0.3 \\(keep probability\\) gives a drop "
                                         "probability of 0.7, not drop_prob = 0.3"):
        check_dropout_train(zeros, zeros, 0.3, course_p=0.3, p_means="keep")
    with pytest.raises(ValueError, match="p_means must be"):
        check_dropout_train(zeros, zeros, 0.3, p_means="retain")
    # The spec rounds 1 - p; a float difference is no disagreement.
    check_dropout_train(zeros, zeros, round(1 - 0.7, 12), course_p=0.7, p_means="keep")


def calls_drop_p(text, drop_prob=0.3):
    """Whether ``text`` calls the drop probability (0.3) "p" in a course whose p is the keep
    probability (0.7); "1 - p = 0.3" is right."""
    return re.search(r"(?<!1 - )\bp = " + re.escape(f"{drop_prob:g}") + r"\b", text) is not None


@pytest.fixture(scope="module")
def keep_course(tmp_path_factory):
    """examples/specs/cs231n_2018.toml (p = 0.25 keeps) with its inputs and expected outputs."""
    spec = ROOT / "examples" / "specs" / "cs231n_2018.toml"
    folder = tmp_path_factory.mktemp("keep_course")
    assignment = load_spec(spec)
    write_inputs(assignment, folder / "in")
    write_expected(assignment, folder / "in", folder / "exp")
    return load_context(spec, folder / "in", folder / "exp"), folder


@pytest.mark.parametrize("case", ["drops 25%", "correct"])
def test_grading_a_keep_probability_course(keep_course, case):
    context, folder = keep_course
    x = context.inputs["dropout_forward_in_x"]
    rng = np.random.default_rng(0)
    keep = rng.random(x.shape) >= (0.25 if case == "drops 25%" else 0.75)
    submission = folder / case / "output_files"
    submission.mkdir(parents=True)
    np.savetxt(submission / "dropout_forward_out_train.csv", x * keep / 0.25)
    result = grade_submission(submission.parent, context)
    check = next(c for c in result.checks if c.output == "dropout_forward_out_train")
    verdict_message = check.message
    assert "for drop probability 0.75" in verdict_message and "for p =" not in verdict_message
    assert "DROPPING" not in verdict_message and not calls_drop_p(check.figures, 0.75)
    assert check.dropout.course_p == 0.25 and check.dropout.p_means == "keep"
    if case == "correct":
        assert check.status == "pass"
    else:
        assert check.status == "fail" and check.diagnosis_code == "keep_probability"
        assert "this assignment's p = 0.25 is the probability of KEEPING a unit" in verdict_message


# --------------------------------------------------------------------------------------------------
# The verdict and its messages
# --------------------------------------------------------------------------------------------------

def test_verdict_fields_and_describe(settings):
    _, source, p, _ = settings[0]
    got = correct_output(source, p, np.random.default_rng(1))
    v = check_dropout_train(got, source, p, 1e-5, 1e-5)
    assert isinstance(v, DropoutVerdict) and v.passed and v.diagnosis is None
    assert v.size == v.tested == 400 and v.ambiguous == 0 and v.bad_values == 0
    assert v.dropped == int(np.count_nonzero(got == 0))
    assert v.observed_fraction == v.dropped / 400 and v.expected_fraction == 0.3
    lo, hi = v.accepted_interval
    assert lo < 120 < hi and v.accepted_fractions == (lo / 400, hi / 400)
    # The interval is exactly the counts whose p-value reaches the count test's share of alpha.
    level = ALPHA / len(TESTS)
    assert binomial_p_value(lo, 400, p) >= level > binomial_p_value(lo - 1, 400, p)
    assert binomial_p_value(hi, 400, p) >= level > binomial_p_value(hi + 1, 400, p)
    assert v.p_value == pytest.approx(binomial_p_value(v.dropped, 400, p))
    assert [name for name, _ in v.structure_tests] == list(TESTS[1:])
    text = v.describe()
    assert text.startswith("PASS: dropped ")
    assert f"Accepted: {lo} to {hi} dropped" in text
    assert "a correct implementation fails this check with probability <= 1e-06" in text.lower()
    assert len(v.mask_digest) == 64
    json.dumps(asdict(v), allow_nan=False)
    with pytest.raises(Exception):
        v.passed = False  # frozen


def test_identical_masks_share_a_digest(settings):
    _, source, p, _ = settings[0]
    mask = np.random.default_rng(9).random(source.shape) >= p
    first = check_dropout_train(source / (1 - p) * mask, source, p, 1e-5, 1e-5)
    second = check_dropout_train(np.float32(source / (1 - p)) * mask, source, p, 1e-5, 1e-5)
    other = check_dropout_train(source / (1 - p) * ~mask, source, p, 1e-5, 1e-5)
    assert first.mask_digest == second.mask_digest != other.mask_digest


def test_ambiguous_elements_are_left_out_of_the_statistics():
    rng = np.random.default_rng(4)
    source = rng.normal(0, 1, (10, 10))
    source[0, :3] = 0.0
    source[5, 5] = 1e-12
    got = correct_output(source, 0.8, rng)
    got[0, :3] = [0.0, 1e-13, -1e-13]  # both readings agree there
    v = check_dropout_train(got, source, 0.8, 1e-5, 1e-5, source_name="dout")
    assert v.passed and v.ambiguous == 4 and v.tested == 96
    assert "4 units with dout ~ 0 read either way" in v.describe()


def test_all_ambiguous_and_zero_drop_probability():
    v = check_dropout_train(np.zeros((3, 3)), np.zeros((3, 3)), 0.3, 1e-5, 1e-5)
    assert v.passed and v.tested == 0 and v.observed_fraction is None and v.mask_defined
    assert v.accepted_interval is None and v.p_value is None
    assert "Dropped: not counted (every unit has x ~ 0 and reads either way)" in v.describe()
    assert "Accepted" not in v.describe()
    json.dumps(asdict(v), allow_nan=False)
    source = np.random.default_rng(2).normal(10, 1, (5, 5))
    assert check_dropout_train(source.copy(), source, 0.0, 1e-5, 1e-5).passed
    v = check_dropout_train(source * (np.arange(25).reshape(5, 5) % 2), source, 0.0, 1e-5, 1e-5)
    assert not v.passed


def test_one_and_many_dimensional_outputs():
    rng = np.random.default_rng(8)
    source = rng.normal(10, 1, (2, 3, 4, 5))
    v = check_dropout_train(correct_output(source, 0.3, rng), source, 0.3, 1e-5, 1e-5)
    assert v.passed and v.size == 120
    source = rng.normal(10, 1, 50)
    v = check_dropout_train(correct_output(source, 0.3, rng), source, 0.3, 1e-5, 1e-5)
    assert v.passed and v.size == 50


def test_nan_is_a_bad_value_and_arguments_are_checked():
    source = np.full((4, 4), 10.0)
    got = source / 0.7
    got[1, 2] = np.nan
    v = check_dropout_train(got, source, 0.3, 1e-5, 1e-5)
    assert not v.passed and v.worst_bad_index == (1, 2) and v.worst_bad_value is None
    assert "e.g. nan at index (1, 2)" in v.describe()
    json.dumps(asdict(v), allow_nan=False)
    with pytest.raises(ValueError, match="shapes differ"):
        check_dropout_train(np.zeros((2, 3)), np.zeros((3, 2)), 0.3, 1e-5, 1e-5)
    with pytest.raises(ValueError, match="probability of dropping"):
        check_dropout_train(np.zeros((2, 2)), np.zeros((2, 2)), 1.0, 1e-5, 1e-5)
    with pytest.raises(ValueError, match="both rtol and atol"):
        check_dropout_train(np.zeros((2, 2)), np.zeros((2, 2)), 0.3, rtol=1e-5)


# --------------------------------------------------------------------------------------------------
# Mistakes seen in real students' code, under both readings of p (the two CS231n specs)
# --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=["cs231n_2017", "cs231n_2018"])
def cs231n_forward(request):
    """dropout_forward of a CS231n spec: (x, drop probability, the course's p, what p means)."""
    assignment = load_spec(ROOT / "examples" / "specs" / f"{request.param}.toml")
    problem = assignment.problem("dropout_forward")
    x = make_inputs(assignment)["dropout_forward_in_x"]
    return x, problem.drop_prob, problem.params["p"], assignment.dropout_p_means


def judge(got, course):
    x, drop_prob, course_p, p_means = course
    return check_dropout_train(got, x, drop_prob, 1e-5, 1e-5, course_p=course_p, p_means=p_means)


@pytest.mark.parametrize("form", ["keep reading: randn < p, / p", "drop reading: randn > p, / (1-p)"])
def test_a_normal_mask_is_named_not_called_keep_probability(cs231n_forward, form):
    """``np.random.randn(*x.shape) < p``: a normal draw keeps Phi(p) of the units (60% at p =
    0.25), a fraction that fits neither reading of p."""
    x, _, p, _ = cs231n_forward
    for seed in range(POWER_SEEDS):
        draws = np.random.default_rng(seed).standard_normal(x.shape)
        got = x * (draws < p) / p if form.startswith("keep") else x * (draws > p) / (1 - p)
        v = judge(got, cs231n_forward)
        assert v.diagnosis == "normal_draw", (seed, v.describe())
        assert f"np.random.randn(...) {'<' if form.startswith('keep') else '>'} {p:g}" in v.message


@pytest.mark.parametrize("scaled_by", ["1/p", "1/(1-p)"])
def test_one_mask_row_broadcast_over_the_batch_is_not_random(cs231n_forward, scaled_by):
    """``mask = np.ones((1, D)); mask[np.random.rand(1, D) < p] = 0; out = x * mask / p``: whole
    columns dropped; the structure is the mistake (and the scaling, when it is wrong)."""
    x, drop_prob, p, _ = cs231n_forward
    for seed in range(POWER_SEEDS):
        mask = np.ones((1, x.shape[1]))
        mask[np.random.default_rng(seed).random((1, x.shape[1])) < p] = 0
        got = x * mask / (p if scaled_by == "1/p" else 1 - p)
        v = judge(got, cs231n_forward)
        assert v.diagnosis == "not_random" and v.structure_failures, (seed, v.describe())
        assert "the mask is not random: " in v.message
        if v.kept_scale != pytest.approx(1 / (1 - drop_prob)):
            assert v.message.startswith("kept values are x/") or " values are neither 0 nor " in v.message


def test_keep_probability_needs_the_keep_readings_fraction(cs231n_forward):
    """Kept units scaled by 1/(drop probability): p read as keep only when the dropped fraction
    fits that reading too; with the right fraction, only the scaling is wrong."""
    x, drop_prob, _, _ = cs231n_forward
    rng = np.random.default_rng(4)
    swapped = judge(x * (rng.random(x.shape) < drop_prob) / drop_prob, cs231n_forward)
    assert swapped.diagnosis == "keep_probability", swapped.describe()
    scaled = judge(x * (rng.random(x.shape) >= drop_prob) / drop_prob, cs231n_forward)
    assert scaled.diagnosis == "scaled_by_drop", scaled.describe()
    assert "divide the kept units by " in scaled.message
