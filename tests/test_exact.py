"""reference.exact: every output is the float64 nearest the exact result of its float64 inputs.

Checked against rational arithmetic (fractions.Fraction, in plain loops written here), on random
cases, on cancellation-heavy ones and outside TwoProduct's range (underflow, overflow); then the
consequences: the same bytes for the terms in any order, agreement with the fast reference within
the summation error bound, the notebooks' values, and the layer contract.
"""
import functools
import math
import operator
from fractions import Fraction

import numpy as np
import pytest

import reference
from reference import exact

EPS = np.finfo(np.float64).eps

# (x shape, w shape, stride, pad): small, since the rational loops are slow.
CONV_CASES = {
    "stride1_pad1": ((2, 3, 5, 5), (2, 3, 3, 3), 1, 1),
    "stride2_pad1_notebook_shape": ((2, 3, 4, 4), (3, 3, 4, 4), 2, 1),
    "stride3_pad2_untiled": ((1, 2, 7, 8), (2, 2, 3, 3), 3, 2),
    "stride_and_pad_pairs": ((2, 2, 7, 6), (2, 2, 4, 2), (2, 3), (1, 2)),
    "kernel_larger_than_stride_overlap": ((1, 2, 6, 6), (2, 2, 4, 4), 1, 0),
    "kernel_1x1": ((2, 3, 3, 4), (2, 3, 1, 1), 1, 0),
    "kernel_fills_padded_input": ((1, 2, 3, 4), (2, 2, 5, 6), 1, 1),
    "pad_beyond_kernel": ((1, 2, 3, 3), (2, 2, 2, 2), 1, 3),
    "stride_4_1_unread_rows": ((2, 1, 9, 4), (1, 1, 3, 2), (4, 1), (0, 2)),
    "empty_batch": ((0, 2, 4, 4), (2, 2, 3, 3), 1, 1),
}

# (x shape, pool height, pool width, stride): overlapping windows add their gradients.
POOL_CASES = {
    "2x2_stride2": ((2, 2, 6, 6), 2, 2, 2),
    "4x4_stride2_overlap": ((2, 3, 10, 10), 4, 4, 2),
    "3x3_stride1_overlap": ((1, 2, 7, 6), 3, 3, 1),
    "3x2_stride_2_1": ((1, 2, 7, 5), 3, 2, (2, 1)),
}


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def fraction_conv(x, w, b, dout, stride, pad):
    """Exact (out, dx, dw, db) as Fractions, by the CS231n loops; each then rounded once."""
    (sh, sw), (ph, pw) = _pair(stride), _pair(pad)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out, W_out = (H + 2 * ph - HH) // sh + 1, (W + 2 * pw - WW) // sw + 1
    X = {(n, c, h + ph, v + pw): Fraction(x[n, c, h, v])
         for n in range(N) for c in range(C) for h in range(H) for v in range(W)}
    out = np.empty((N, F, H_out, W_out), dtype=object)
    dx = {key: Fraction(0) for key in X}
    dw = np.full(w.shape, Fraction(0), dtype=object)
    db = np.full(F, Fraction(0), dtype=object)
    for n in range(N):
        for f in range(F):
            for r in range(H_out):
                for s in range(W_out):
                    total, g = Fraction(b[f]), Fraction(dout[n, f, r, s])
                    db[f] += g
                    for c in range(C):
                        for i in range(HH):
                            for j in range(WW):
                                key = (n, c, r * sh + i, s * sw + j)
                                weight = Fraction(w[f, c, i, j])
                                total += X.get(key, 0) * weight
                                dw[f, c, i, j] += X.get(key, 0) * g
                                if key in dx:
                                    dx[key] += weight * g
                    out[n, f, r, s] = total
    dx_array = np.empty(x.shape, dtype=object)
    for (n, c, h, v), value in dx.items():
        dx_array[n, c, h - ph, v - pw] = value
    return tuple(rounded(a) for a in (out, dx_array, dw, db))


def fraction_pool_backward(x, dout, ph, pw, stride):
    """Exact max-pool dx: each window's dout to its first maximum, summed as Fractions."""
    sh, sw = _pair(stride)
    dx = np.full(x.shape, Fraction(0), dtype=object)
    N, C, H_out, W_out = dout.shape
    for n in range(N):
        for c in range(C):
            for r in range(H_out):
                for s in range(W_out):
                    window = x[n, c, r * sh:r * sh + ph, s * sw:s * sw + pw]
                    i, j = np.unravel_index(np.argmax(window), window.shape)  # the first maximum
                    dx[n, c, r * sh + i, s * sw + j] += Fraction(dout[n, c, r, s])
    return rounded(dx)


def rounded(fractions):
    """Each Fraction to its nearest float64 (int / int is correctly rounded in Python); a zero,
    even a negative value too small for float64, is +0.0 as reference.exact writes it."""
    return np.vectorize(float, otypes=[np.float64])(fractions) + 0.0


def assert_same_bytes(actual, desired):
    actual, desired = np.asarray(actual, np.float64), np.asarray(desired, np.float64)
    assert actual.shape == desired.shape
    differ = actual.view(np.int64) != desired.view(np.int64)
    assert not differ.any(), (np.argwhere(differ)[:5], actual[differ][:5], desired[differ][:5])


def conv_inputs(rng, x_shape, w_shape, kind):
    """x, w, b of a kind: 'normal'; 'spread' (magnitudes 2**-60 to 2**60); 'cancel' (the second
    half of the channels repeats the first with its weights negated and nudged by an ulp or so, an
    odd channel out has zero weights, no bias: every sum cancels to its last digits)."""
    x, w, b = (rng.standard_normal(shape) for shape in (x_shape, w_shape, w_shape[:1]))
    if kind == "spread":
        x *= 2.0 ** rng.integers(-60, 61, x.shape)
        w *= 2.0 ** rng.integers(-60, 61, w.shape)
    elif kind == "cancel":
        half = x_shape[1] // 2
        x[:, half:2 * half] = x[:, :half]
        w[:, half:2 * half] = -w[:, :half] * (1 + EPS * rng.integers(-3, 4, w[:, :half].shape))
        w[:, 2 * half:] = 0.0
        b[:] = 0.0
    return x, w, b


def run_exact(x, w, b, dout, stride, pad, layers=exact):
    out, cache = layers.conv_forward(x, w, b, {"stride": stride, "pad": pad})
    return (out, *layers.conv_backward(dout, cache))


# --------------------------------------------------------------------------------------------------
# Exact: rational arithmetic agrees bit for bit
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["normal", "spread", "cancel"])
@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES.values(),
                         ids=CONV_CASES.keys())
def test_conv_is_the_correctly_rounded_exact_result(x_shape, w_shape, stride, pad, kind):
    rng = np.random.default_rng(sum(map(ord, kind + str(x_shape + w_shape))))
    x, w, b = conv_inputs(rng, x_shape, w_shape, kind)
    out_shape = reference.conv_output_shape(x_shape, w_shape, stride, pad)
    dout = rng.standard_normal(out_shape)
    if kind == "spread":
        dout *= 2.0 ** rng.integers(-60, 61, out_shape)
    for got, want in zip(run_exact(x, w, b, dout, stride, pad),
                         fraction_conv(x, w, b, dout, stride, pad)):
        assert_same_bytes(got, want)


def test_cancellation_cases_really_cancel():
    """The 'cancel' inputs make the fast reference lose most of its digits (so the exactness test
    above is a real test of exactness there), while the exact layer keeps them all."""
    x_shape, w_shape, stride, pad = CONV_CASES["stride1_pad1"]
    x, w, b = conv_inputs(np.random.default_rng(3), x_shape, w_shape, "cancel")
    conv_param = {"stride": stride, "pad": pad}
    out, _ = exact.conv_forward(x, w, b, conv_param)
    fast, _ = reference.conv_forward(x, w, b, conv_param)
    scale, _ = reference.conv_forward(np.abs(x), np.abs(w), np.abs(b), conv_param)
    assert np.median(np.abs(out) / scale) < 1e-14  # the sums cancel to their last digits
    want = fraction_conv(x, w, b, np.zeros(out.shape), stride, pad)[0]
    assert_same_bytes(out, want)
    assert np.median(np.abs(fast - want) / np.abs(want)) > 1e-3  # the fast sums lost most digits


@pytest.mark.parametrize("x_shape, ph, pw, stride", POOL_CASES.values(), ids=POOL_CASES.keys())
def test_max_pool_backward_sums_overlaps_exactly(x_shape, ph, pw, stride):
    rng = np.random.default_rng(sum(x_shape) + ph)
    x = rng.standard_normal(x_shape)
    pool_param = {"pool_height": ph, "pool_width": pw, "stride": stride}
    out, cache = exact.max_pool_forward(x, pool_param)
    dout = rng.standard_normal(out.shape) * 2.0 ** rng.integers(-55, 56, out.shape)
    dx = exact.max_pool_backward(dout, cache)
    assert_same_bytes(dx, fraction_pool_backward(x, dout, ph, pw, stride))
    np.testing.assert_allclose(dx, reference.max_pool_backward(dout, cache), rtol=0,
                               atol=4 * EPS * np.abs(dout).max())


def test_exact_dot_against_fractions_on_hard_rows():
    rng = np.random.default_rng(11)
    a = rng.standard_normal((200, 37)) * 2.0 ** rng.integers(-300, 300, (200, 37))
    b = rng.standard_normal((200, 37)) * 2.0 ** rng.integers(-300, 300, (200, 37))
    a[::2, 1] = -a[::2, 0] * b[::2, 0] / b[::2, 1]  # near-total cancellation of the largest terms
    bias = rng.standard_normal(200)
    got = exact.exact_dot(a, b, bias=bias)
    for row in range(200):
        want = float(sum((Fraction(u) * Fraction(v) for u, v in zip(a[row], b[row])),
                         Fraction(bias[row])))
        assert got[row] == want, row
    sums = exact.exact_dot(a)
    assert [float(sum(map(Fraction, row))) for row in a.tolist()] == sums.tolist()


def test_sums_at_and_beside_rounding_ties():
    """Rows whose exact sum is a tie, or a hair (2**-200) either side of one, or below the
    least subnormal's half: the vectorised sum cannot tell these from its error bound alone and
    must still round each one as rational arithmetic does (ties to even)."""
    u = 2.0 ** -53
    rows = [[1.0, u], [1.0, u, 2.0 ** -200], [1.0, u, -(2.0 ** -200)], [1.0 + 2 * u, u],
            [u, 1.0, 0.0, -(2.0 ** -200), 2.0 ** -300], [3.0, -1.0, u, u / 2, u / 4],
            [2.0 ** 60, 1.0, -(2.0 ** 60), 2.0 ** -1074], [2.0 ** -1074, -(2.0 ** -1074)],
            [0.0, -0.0], [-(2.0 ** -1074), 2.0 ** -1073]]
    width = max(map(len, rows))
    terms = np.array([row + [0.0] * (width - len(row)) for row in rows])
    want = [float(sum(map(Fraction, row), Fraction(0))) + 0.0 for row in rows]
    assert exact.exact_dot(terms).tolist() == want
    assert [math.copysign(1, v) for v in exact.exact_dot(terms)] == [1.0] * len(rows)


def test_row_sums_equal_fsum_on_many_random_rows():
    """Vectorised row sums against math.fsum (correctly rounded) on rows of every width from 1
    to 70, with magnitudes spread over 2**-80..2**80 and cancelling pairs."""
    rng = np.random.default_rng(2026)
    for width in range(1, 71):
        a = rng.standard_normal((300, width)) * 2.0 ** rng.integers(-80, 81, (300, width))
        if width > 1:
            a[::3, -1] = -a[::3, 0]  # cancel the first term in a third of the rows
        got = exact.exact_dot(a)
        want = np.array([math.fsum(row) for row in a.tolist()]) + 0.0
        assert_same_bytes(got, want)


@pytest.mark.parametrize("scale_x, scale_w", [
    (2.0 ** -520, 2.0 ** -520),    # products below 2**-1022: subnormal or zero in float64
    (2.0 ** -450, 2.0 ** -500),    # products near 2**-950: TwoProduct's low parts would underflow
    (2.0 ** 1000, 2.0 ** 20),      # products overflow float64, yet the sums cancel to finite
    (2.0 ** 1010, 1.0),            # inputs too large for Veltkamp's split
])
def test_outside_the_fast_range_rational_sums_take_over(scale_x, scale_w):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 2, 4, 4)) * scale_x
    w = rng.standard_normal((2, 2, 3, 3)) * scale_w
    w[:, 1] = -w[:, 0]  # with x's two channels nearly equal, the huge products cancel
    x[:, 1] = x[:, 0] * (1 + 2 * EPS)
    b = np.array([0.0, 1.0])
    dout = rng.standard_normal((1, 2, 2, 2))
    for got, want in zip(run_exact(x, w, b, dout, 1, 0), fraction_conv(x, w, b, dout, 1, 0)):
        assert_same_bytes(got, want)


def test_a_sum_beyond_the_largest_float_rounds_to_infinity():
    big = np.finfo(np.float64).max
    assert exact.exact_dot(np.array([[big, big]])).tolist() == [math.inf]
    assert exact.exact_dot(np.array([[-big, -big / 2]])).tolist() == [-math.inf]
    assert exact.exact_dot(np.array([[big, big, -big]])).tolist() == [big]


def test_non_finite_inputs_are_refused():
    x, w, b = np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), np.zeros(1)
    x[0, 0, 1, 1] = np.nan
    with pytest.raises(ValueError, match="x holds 1 non-finite values"):
        exact.conv_forward(x, w, b, {"stride": 1, "pad": 0})
    _, cache = exact.conv_forward(np.ones((1, 1, 3, 3)), w, b, {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match="dout holds 4 non-finite"):
        exact.conv_backward(np.full((1, 1, 2, 2), np.inf), cache)


def test_an_exact_zero_is_positive_zero():
    x = -np.zeros((1, 1, 3, 3))
    w, b = -np.ones((1, 1, 2, 2)), -np.zeros(1)
    out, cache = exact.conv_forward(x, w, b, {"stride": 1, "pad": 0})
    dx, dw, db = exact.conv_backward(-np.zeros(out.shape), cache)
    for a in (out, dx, dw, db):
        assert not np.signbit(a).any() and not a.any()


def test_products_against_fractions_at_every_width():
    """exact_dot(a, b, bias) against rational arithmetic on rows of every width from 1 to 79,
    magnitudes spread over 2**-70..2**70, with a pair of products that nearly cancel in a third
    of the rows: the high parts, the low parts and the bias rounded once together."""
    rng = np.random.default_rng(7)
    for width in range(1, 80):
        a = rng.standard_normal((30, width)) * 2.0 ** rng.integers(-70, 71, (30, width))
        b = rng.standard_normal((30, width)) * 2.0 ** rng.integers(-70, 71, (30, width))
        if width > 1:
            a[1::3, 1], b[1::3, 1] = -a[1::3, 0], b[1::3, 0] * (1 + EPS)
        bias = rng.standard_normal(30) * 2.0 ** rng.integers(-70, 71, 30)
        want = [float(sum((Fraction(u) * Fraction(v) for u, v in zip(row_a, row_b)),
                          Fraction(c))) + 0.0
                for row_a, row_b, c in zip(a.tolist(), b.tolist(), bias.tolist())]
        assert_same_bytes(exact.exact_dot(a, b, bias=bias), want)


# --------------------------------------------------------------------------------------------------
# Grouped convolutions: each group its own convolution, byte for byte
# --------------------------------------------------------------------------------------------------

GROUPS = 3


def group_inputs(seed, x_shape, w_shape, stride, pad, kind, groups=GROUPS):
    """x, w, b and dout of ``groups`` groups, each drawn on its own as conv_inputs draws them."""
    rng = np.random.default_rng(seed)
    out_shape = reference.conv_output_shape(x_shape, w_shape, stride, pad)
    per_group = [conv_inputs(rng, x_shape, w_shape, kind) + (rng.standard_normal(out_shape),)
                 for _ in range(groups)]
    shapes = (x_shape, w_shape, w_shape[:1], out_shape)
    return tuple(np.array([arrays[k] for arrays in per_group]).reshape((groups,) + shape)
                 for k, shape in enumerate(shapes))


def grouped(x, w, b, dout, stride, pad):
    out, cache = exact.conv_forward_groups(x, w, b, {"stride": stride, "pad": pad})
    return (out, *exact.conv_backward_groups(dout, cache))


@pytest.mark.parametrize("kind", ["normal", "spread", "cancel"])
@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES.values(),
                         ids=CONV_CASES.keys())
def test_grouped_conv_is_each_group_s_own_conv(x_shape, w_shape, stride, pad, kind):
    """Group g of the grouped layers gives the bytes conv_forward and conv_backward give on group
    g's arrays alone; the groups' data differ, so pairing one group's x with another's w or
    dout would show."""
    x, w, b, dout = group_inputs(sum(x_shape) + len(kind), x_shape, w_shape, stride, pad, kind)
    results = grouped(x, w, b, dout, stride, pad)
    for g in range(GROUPS):
        for got, want in zip(results, run_exact(x[g], w[g], b[g], dout[g], stride, pad)):
            assert_same_bytes(got[g], want)
    for result in results:  # the groups' results differ, where not zero by construction
        assert not result[0].any() or not np.array_equal(result[0], result[1])


def test_one_group_and_no_groups():
    x_shape, w_shape, stride, pad = CONV_CASES["stride_and_pad_pairs"]
    x, w, b, dout = group_inputs(4, x_shape, w_shape, stride, pad, "spread", groups=1)
    for got, want in zip(grouped(x, w, b, dout, stride, pad),
                         run_exact(x[0], w[0], b[0], dout[0], stride, pad)):
        assert_same_bytes(got, want[None])
    x, w, b, dout = group_inputs(4, x_shape, w_shape, stride, pad, "normal", groups=0)
    out, dx, dw, db = grouped(x, w, b, dout, stride, pad)
    assert (out.shape, dx.shape, dw.shape, db.shape) == (dout.shape, x.shape, w.shape, b.shape)


def test_grouped_conv_in_chunks_of_less_than_a_group(monkeypatch):
    """Chunks smaller than one group's sums (a large group, here forced) split inside it."""
    x_shape, w_shape, stride, pad = CONV_CASES["stride1_pad1"]
    x, w, b, dout = group_inputs(9, x_shape, w_shape, stride, pad, "spread")
    whole = grouped(x, w, b, dout, stride, pad)
    monkeypatch.setattr(exact, "_CHUNK_TERMS", 7)
    for got, want in zip(grouped(x, w, b, dout, stride, pad), whole):
        assert_same_bytes(got, want)


def test_grouped_conv_checks_its_arguments():
    x_shape, w_shape, stride, pad = CONV_CASES["stride1_pad1"]
    x, w, b, dout = group_inputs(5, x_shape, w_shape, stride, pad, "normal")
    conv_param = {"stride": stride, "pad": pad}
    with pytest.raises(ValueError, match="x holds 3 groups but w holds 2"):
        exact.conv_forward_groups(x, w[:2], b[:2], conv_param)
    with pytest.raises(ValueError, match=r"b must have shape \(G, F\) = \(3, 2\), got \(3, 1\)"):
        exact.conv_forward_groups(x, w, b[:, :1], conv_param)
    with pytest.raises(ValueError, match="x must have 5 dimensions"):
        exact.conv_forward_groups(x[0], w, b, conv_param)
    _, cache = exact.conv_forward_groups(x, w, b, conv_param)
    with pytest.raises(ValueError, match=r"dout must have shape \(3, 2, 2, 5, 5\)"):
        exact.conv_backward_groups(dout[:, :, :1], cache)
    dout[1, 0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="dout holds 1 non-finite"):
        exact.conv_backward_groups(dout, cache)


# --------------------------------------------------------------------------------------------------
# Consequences: order does not matter; the fast reference agrees within its error bound
# --------------------------------------------------------------------------------------------------


def test_the_same_bytes_for_the_terms_in_another_order():
    """Permuting channels, flipping both x and w, or permuting the batch reorders the terms of
    every sum; the correctly rounded results are the same bytes (only moved where the flip moves
    them). A plain left-to-right sum of the same terms does depend on their order here."""
    rng = np.random.default_rng(2017)
    x, w, b = conv_inputs(rng, (3, 4, 6, 7), (3, 4, 3, 3), "spread")
    dout = rng.standard_normal((3, 3, 6, 7))
    results = run_exact(x, w, b, dout, 1, 1)
    perm = rng.permutation(4)
    out, dx, dw, db = run_exact(x[:, perm], w[:, perm], b, dout, 1, 1)
    assert_same_bytes(out, results[0])
    assert_same_bytes(dx, results[1][:, perm])
    assert_same_bytes(dw, results[2][:, perm])
    out, dx, dw, db = run_exact(x[..., ::-1], w[..., ::-1], b, dout[..., ::-1], 1, 1)
    for got, want in zip((out, dx, dw), results[:3]):
        assert_same_bytes(got, want[..., ::-1])
    assert_same_bytes(db, results[3])
    batch = rng.permutation(3)
    out, dx, dw, db = run_exact(x[batch], w, b, dout[batch], 1, 1)
    assert_same_bytes(dw, results[2])
    assert_same_bytes(db, results[3])
    # Summed left to right, the terms of most output elements give other bits in reverse order:
    # the data are order-sensitive, so the identities above are not luck.
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))),
                                                       (3, 3), axis=(2, 3))
    sensitive = 0
    for r in range(6):
        for s in range(7):
            terms = list((windows[0, :, r, s] * w[0]).ravel())
            sensitive += functools.reduce(operator.add, terms) != \
                functools.reduce(operator.add, terms[::-1])
    assert sensitive >= 10


def test_chunking_does_not_change_a_bit(monkeypatch):
    rng = np.random.default_rng(8)
    x, w, b = conv_inputs(rng, (3, 2, 6, 6), (4, 2, 3, 3), "spread")
    dout = rng.standard_normal((3, 4, 4, 4))
    whole = run_exact(x, w, b, dout, 1, 0)
    monkeypatch.setattr(exact, "_CHUNK_TERMS", 7)  # one leading index (or less) per chunk
    for got, want in zip(run_exact(x, w, b, dout, 1, 0), whole):
        assert_same_bytes(got, want)


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES.values(),
                         ids=CONV_CASES.keys())
def test_the_fast_reference_agrees_within_the_summation_error_bound(x_shape, w_shape, stride, pad):
    """Any order of summing n terms errs by at most about n * eps * sum|terms|: the bound is
    computed with the layers on |x|, |w|, |b|, |dout|."""
    rng = np.random.default_rng(len(x_shape) + sum(w_shape))
    x, w, b = conv_inputs(rng, x_shape, w_shape, "normal")
    dout = rng.standard_normal(reference.conv_output_shape(x_shape, w_shape, stride, pad))
    got = run_exact(x, w, b, dout, stride, pad)
    fast = run_exact(x, w, b, dout, stride, pad, layers=reference)
    magnitudes = run_exact(np.abs(x), np.abs(w), np.abs(b), np.abs(dout), stride, pad)
    positions = dout.shape[0] * dout.shape[2] * dout.shape[3]  # terms of each dw and db sum
    terms = (w_shape[1] * w_shape[2] * w_shape[3] + 1, w_shape[0] * w_shape[2] * w_shape[3],
             positions, positions)
    for name, g, f, m, n in zip(("out", "dx", "dw", "db"), got, fast, magnitudes, terms):
        assert np.all(np.abs(g - f) <= n * EPS * m), name


# --------------------------------------------------------------------------------------------------
# The notebooks' values and the contract
# --------------------------------------------------------------------------------------------------


def test_the_notebooks_published_values():
    x = np.linspace(-0.1, 0.5, num=96).reshape(2, 3, 4, 4)
    w = np.linspace(-0.2, 0.3, num=144).reshape(3, 3, 4, 4)
    b = np.linspace(-0.1, 0.2, num=3)
    out, _ = exact.conv_forward(x, w, b, {"stride": 2, "pad": 1})
    np.testing.assert_allclose(out[0, 0], [[-0.08759809, -0.10987781], [-0.18387192, -0.2109216]],
                               rtol=0, atol=5e-9)
    np.testing.assert_allclose(out[1, 2], [[2.36270298, 2.36904306], [2.38090835, 2.38247847]],
                               rtol=0, atol=5e-9)
    x = np.linspace(-0.3, 0.4, num=96).reshape(2, 3, 4, 4)
    out, _ = exact.max_pool_forward(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    np.testing.assert_allclose(out[0, 0], [[-0.26315789, -0.24842105], [-0.20421053, -0.18947368]],
                               rtol=0, atol=5e-9)
    np.testing.assert_allclose(out[1, 2], [[0.32631579, 0.34105263], [0.38526316, 0.4]],
                               rtol=0, atol=5e-9)


def test_same_functions_and_contract_as_the_fast_layers():
    layers = ("conv_forward", "conv_backward", "max_pool_forward", "max_pool_backward",
              "dropout_forward", "dropout_backward")
    assert all(callable(getattr(exact, name)) for name in layers)
    rng = np.random.default_rng(0)
    shapes = ((2, 2, 5, 5), (3, 2, 3, 3), (3,))
    x, w, b = (rng.standard_normal(shape).astype(np.float32) for shape in shapes)
    copies = [a.copy() for a in (x, w, b)]
    out, cache = exact.conv_forward(x, w, b, {"stride": 2, "pad": 1})
    dout = rng.standard_normal(out.shape)
    grads = exact.conv_backward(dout, cache)
    assert all(a.dtype == np.float64 for a in (out, *grads))
    assert all(np.array_equal(a, c) for a, c in zip((x, w, b), copies))
    # The fast layer's cache serves too.
    _, fast_cache = reference.conv_forward(x, w, b, {"stride": 2, "pad": 1})
    for got, want in zip(exact.conv_backward(dout, fast_cache), grads):
        assert_same_bytes(got, want)
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 3, 3, 3\)"):
        exact.conv_backward(dout[:, :2], cache)
    with pytest.raises(ValueError, match=r"b must have shape \(F,\) = \(3,\)"):
        exact.conv_forward(x, w, b[:2], {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match="the output would be empty"):
        exact.conv_forward(x, np.ones((1, 2, 9, 9)), np.ones(1), {"stride": 1, "pad": 0})
