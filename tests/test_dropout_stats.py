"""grader.dropout_stats: the exact distributions, the false-fail rate on thousands of simulated correct
outputs at the default shapes, and the power against the catalogued wrong outputs (with diagnoses)."""
import itertools
import json
import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from grader.dropout_stats import (
    ALPHA,
    TESTS,
    DropoutVerdict,
    binomial_p_value,
    binomial_pmf,
    check_dropout_train,
    runs_p_value,
    spread_p_value,
    two_sided_p_values,
)
from grader.generate import make_inputs
from grader.spec import load_spec

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
    stats = pytest.importorskip("scipy.stats")
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


# --------------------------------------------------------------------------------------------------
# False fails: thousands of correct outputs
# --------------------------------------------------------------------------------------------------

def test_correct_outputs_never_fail_and_every_test_is_calibrated(settings):
    start = time.perf_counter()
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
    assert time.perf_counter() - start < 20


def test_grading_is_fast(settings):
    _, source, p, _ = settings[0]
    got = correct_output(source, p, np.random.default_rng(0))
    check_dropout_train(got, source, p, 1e-5, 1e-5)
    calls = 200
    start = time.perf_counter()
    for _ in range(calls):
        check_dropout_train(got, source, p, 1e-5, 1e-5)
    per_call = (time.perf_counter() - start) / calls
    assert per_call < 3e-3, f"{per_call * 1e3:.2f} ms per 20x20 output"


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
    "keep_probability_scale": "keep_probability",
    "no_scaling": "no_scaling",
    "first_k_dropped": "not_random",
    "all_kept_scaled": "not_random",
    "all_kept_identity": "no_scaling",
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
            assert verdict.diagnosis == DIAGNOSES[kind], (name, seed, verdict.describe())
            if verdict.diagnosis == "not_random":
                assert verdict.structure_failures


def test_a_wrong_rate_is_not_called_a_pattern(settings):
    _, source, p, _ = settings[0]
    got = source / (1 - p) * (np.random.default_rng(5).random(source.shape) >= 0.5)
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
    assert "1 of 400 values are neither 0 nor x/(1-p)" in verdict.message
    assert "at (4, 7)" in verdict.message
    # Multiplied by (1-p) instead of divided: explained by no known mistake.
    got = source * (1 - p) * (np.random.default_rng(3).random(source.shape) >= p)
    verdict = check_dropout_train(got, source, p, 1e-5, 1e-5)
    assert verdict.diagnosis is None and verdict.bad_values > 50


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
    assert v.passed and v.tested == 0 and v.observed_fraction is None
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
