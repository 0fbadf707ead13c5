"""grader.judge.compare: the tolerance rule, the Comparison fields, the messages, and the measurements behind
the default tolerances on the real default assignment.

Run as a script (``python tests/test_compare.py``) to print the measured figures quoted at
DEFAULT_RTOL / DEFAULT_ATOL in grader/assignment/spec.py and in grader/judge/compare.py's docstring.
"""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import reference
from grader.judge.compare import Comparison, ExpectedValues, compare
from grader.report.wording import describe_comparison, summarise_comparison
from grader.assignment.generate import compute_expected, make_inputs
from grader.assignment.spec import DEFAULT_ATOL, DEFAULT_RTOL, load_spec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference.loops import rel_error  # noqa: E402

f32 = np.float32

# What "a wide margin" means here: a correct answer computed in float32 or written with 7
# significant digits uses at most this fraction of an element's allowance.
MARGIN = 0.1

# Any single element off by this much (in units of the output's scale) must fail.
MUST_FAIL_ERROR = 1e-4


# --------------------------------------------------------------------------------------------------
# Independent float32 implementations: inputs rounded to float32 and every product and partial sum
# rounded to float32, in three accumulation orders a student might write.
# --------------------------------------------------------------------------------------------------

def _pair(v):
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _pad32(x, ph, pw):
    return np.pad(x.astype(f32), ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def conv_forward_f32(x, w, b, stride, pad, order):
    (sh, sw), (ph, pw) = _pair(stride), _pair(pad)
    x_pad, w, b = _pad32(x, ph, pw), w.astype(f32), b.astype(f32)
    N, C, _, _ = x.shape
    F, _, HH, WW = w.shape
    Ho = (x.shape[2] + 2 * ph - HH) // sh + 1
    Wo = (x.shape[3] + 2 * pw - WW) // sw + 1

    def window(di, dj):  # (N, C, Ho, Wo): x_pad[n, c, i*sh + di, j*sw + dj]
        return x_pad[:, :, di:di + sh * (Ho - 1) + 1:sh, dj:dj + sw * (Wo - 1) + 1:sw]

    if order == "loops":  # out = b; for c, di, dj: out += x * w, one float32 rounding per step
        out = np.broadcast_to(b[None, :, None, None], (N, F, Ho, Wo)).astype(f32)
        for c in range(C):
            for di in range(HH):
                for dj in range(WW):
                    out = out + window(di, dj)[:, None, c] * w[None, :, c, di, dj, None, None]
        return out
    cols = np.stack([window(di, dj) for di in range(HH) for dj in range(WW)], axis=2)
    cols = cols.reshape(N, C * HH * WW, Ho * Wo)  # (c, di, dj) order matches w.reshape(F, -1)
    if order == "im2col":  # float32 matmul (BLAS sgemm)
        out = np.matmul(w.reshape(F, -1), cols)
    else:  # float32 einsum
        out = np.einsum("fk,nkp->nfp", w.reshape(F, -1), cols)
    return (out.reshape(N, F, Ho, Wo) + b[None, :, None, None]).astype(f32)


def conv_backward_f32(x, w, dout, stride, pad, order):
    (sh, sw), (ph, pw) = _pair(stride), _pair(pad)
    x_pad, w, dout = _pad32(x, ph, pw), w.astype(f32), dout.astype(f32)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, Ho, Wo = dout.shape
    if order == "loops":
        db = np.zeros(F, f32)
        dw = np.zeros(w.shape, f32)
        dx_pad = np.zeros(x_pad.shape, f32)
        for n in range(N):
            for i in range(Ho):
                for j in range(Wo):
                    top, left = i * sh, j * sw
                    g = dout[n, :, i, j]  # (F,)
                    db = db + g
                    dw = dw + g[:, None, None, None] * x_pad[None, n, :, top:top + HH, left:left + WW]
                    for f in range(F):
                        dx_pad[n, :, top:top + HH, left:left + WW] += g[f] * w[f]
    else:
        db = dout.sum(axis=(0, 2, 3), dtype=f32)
        windows = np.lib.stride_tricks.sliding_window_view(x_pad, (HH, WW), axis=(2, 3))
        windows = windows[:, :, ::sh, ::sw][:, :, :Ho, :Wo]  # (N, C, Ho, Wo, HH, WW)
        if order == "im2col":
            cols = windows.transpose(1, 4, 5, 0, 2, 3).reshape(C * HH * WW, -1)
            g = dout.transpose(1, 0, 2, 3).reshape(F, -1)
            dw = np.matmul(g, cols.T).reshape(w.shape)
            dcols = np.matmul(w.reshape(F, -1).T, g).reshape(C, HH, WW, N, Ho, Wo)
        else:
            dw = np.einsum("nfij,ncijkl->fckl", dout, windows)
            dcols = np.einsum("fckl,nfij->cklnij", w, dout)
        dx_pad = np.zeros(x_pad.shape, f32)
        for di in range(HH):
            for dj in range(WW):
                dx_pad[:, :, di:di + sh * (Ho - 1) + 1:sh, dj:dj + sw * (Wo - 1) + 1:sw] += \
                    dcols[:, di, dj].transpose(1, 0, 2, 3)
    return dx_pad[:, :, ph:ph + H, pw:pw + W], dw.astype(f32), db.astype(f32)


def pool_windows_f32(x, params):
    ph, pw, s = params["pool_height"], params["pool_width"], params["stride"]
    sh, sw = _pair(s)
    windows = np.lib.stride_tricks.sliding_window_view(x.astype(f32), (ph, pw), axis=(2, 3))
    return windows[:, :, ::sh, ::sw]  # (N, C, Ho, Wo, ph, pw)


def max_pool_backward_f32(x, dout, params):
    ph, pw = params["pool_height"], params["pool_width"]
    sh, sw = _pair(params["stride"])
    windows = pool_windows_f32(x, params)
    N, C, Ho, Wo = windows.shape[:4]
    flat = windows.reshape(N, C, Ho, Wo, ph * pw)
    arg = flat.argmax(axis=-1)
    dx = np.zeros(x.shape, f32)
    for k in range(ph * pw):
        di, dj = divmod(k, pw)
        dx[:, :, di:di + sh * (Ho - 1) + 1:sh, dj:dj + sw * (Wo - 1) + 1:sw] += \
            np.where(arg == k, dout.astype(f32), f32(0))
    return dx


ORDERS = ("loops", "im2col", "einsum")


def float32_outputs(problem, arrays, order):
    """role -> output of ``problem`` computed in float32 (NCHW specs only)."""
    assert problem.layout == "NCHW"
    params = problem.reference_params
    if problem.op == "conv_forward":
        return {"out": conv_forward_f32(arrays["x"], arrays["w"], arrays["b"], params["stride"],
                                        params["pad"], order)}
    if problem.op == "conv_backward":
        dx, dw, db = conv_backward_f32(arrays["x"], arrays["w"], arrays["dout"], params["stride"],
                                       params["pad"], order)
        return {"dx": dx, "dw": dw, "db": db}
    if problem.op == "maxpool_forward":
        return {"out": pool_windows_f32(arrays["x"], params).max(axis=(-2, -1))}
    if problem.op == "maxpool_backward":
        return {"dx": max_pool_backward_f32(arrays["x"], arrays["dout"], params)}
    if problem.op == "dropout_forward":
        return {"out_test": arrays["x"].astype(f32)}
    if problem.op == "dropout_backward":
        return {"dx_test": arrays["dout"].astype(f32)}
    raise ValueError(problem.op)


def written(array, fmt):
    """``array`` as a student's file would hold it, read back as float64."""
    return np.array([float(fmt % v) for v in np.asarray(array).ravel()]).reshape(np.shape(array))


# --------------------------------------------------------------------------------------------------
# The default assignment and its measured cases
# --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def default():
    assignment = load_spec(ROOT / "assignment.toml")
    inputs = make_inputs(assignment)
    return assignment, inputs, compute_expected(assignment, inputs)


def measured_cases(assignment, inputs, expected):
    """(case, output file, got, expected) for every deterministic output and every way of being
    right: float32 in each accumulation order written with %.9e, and float64 written with %.6e."""
    for problem in assignment.problems:
        arrays = {spec.role: inputs[spec.file] for spec in problem.inputs}
        f32_outputs = {order: float32_outputs(problem, arrays, order) for order in ORDERS}
        for spec in problem.outputs:
            if spec.statistical:
                continue
            exp = expected[spec.file]
            for order in ORDERS:
                got = f32_outputs[order][spec.role]
                assert got.dtype == f32 and got.shape == exp.shape
                yield f"float32 {order}, %.9e", spec, written(got, "%.9e"), exp
            yield "float64, %.6e", spec, written(exp, "%.6e"), exp


def error_table(assignment, inputs, expected):
    """case -> output file -> (max |err| / scale, max |err| / allowance)."""
    table = {}
    for case, spec, got, exp in measured_cases(assignment, inputs, expected):
        c = compare(got, exp, spec.rtol, spec.atol)
        allowance = c.atol_abs + c.rtol * np.abs(exp)
        table.setdefault(case, {})[spec.file] = (c.max_abs_err / c.scale,
                                                 float(np.max(np.abs(got - exp) / allowance)))
    return table


def test_default_tolerances_are_the_spec_defaults(default):
    assignment, _, _ = default
    for spec in assignment.outputs:
        assert (spec.rtol, spec.atol) == (DEFAULT_RTOL, DEFAULT_ATOL)


def test_float32_and_seven_digit_answers_pass_every_default_output_with_a_wide_margin(default):
    assignment, inputs, expected = default
    count = 0
    for case, spec, got, exp in measured_cases(assignment, inputs, expected):
        c = compare(got, exp, spec.rtol, spec.atol)
        assert c.passed, f"{case} {spec.file}: {describe_comparison(c)}"
        allowance = c.atol_abs + c.rtol * np.abs(exp)
        worst = float(np.max(np.abs(got - exp) / allowance))
        assert worst <= MARGIN, f"{case} {spec.file} uses {worst:.2f} of its allowance"
        count += 1
    assert count == 4 * 8  # 4 ways of being right x 8 deterministic outputs


def test_float32_maxpool_backward_routes_like_float64(default):
    """A near-tie inside a pooling window could send a float32 gradient elsewhere: the default
    inputs have none (the top two of every window differ far beyond float32 rounding)."""
    assignment, inputs, _ = default
    problem = assignment.problem("maxpool_backward")
    windows = np.lib.stride_tricks.sliding_window_view(inputs["maxpool_backward_in_x"], (2, 2),
                                                       axis=(2, 3))[:, :, ::2, ::2]
    top2 = np.sort(windows.reshape(*windows.shape[:4], 4), axis=-1)[..., -2:]
    gap = (top2[..., 1] - top2[..., 0]) / np.maximum(np.abs(top2[..., 1]), 1e-300)
    assert gap.min() > 1e3 * np.finfo(f32).eps
    assert problem.reference_params["stride"] == 2


def test_an_error_of_1e_4_scale_in_any_single_element_fails(default):
    assignment, _, expected = default
    for spec in assignment.outputs:
        if spec.statistical:
            continue
        exp = expected[spec.file]
        scale = np.abs(exp).max()
        for flat in range(exp.size):
            for sign in (1, -1):
                got = exp.copy()
                got.flat[flat] += sign * MUST_FAIL_ERROR * scale
                c = compare(got, exp, spec.rtol, spec.atol)
                assert not c.passed and c.mismatches == 1, (spec.file, flat)
                assert c.max_abs_index == np.unravel_index(flat, exp.shape)


@pytest.mark.parametrize("mistake", ["flipped_kernel", "missing_bias", "sign_flip", "column_major",
                                     "low_precision", "transposed_pool"])
def test_catalogued_mistakes_fail_on_the_default_outputs(default, mistake):
    assignment, inputs, expected = default
    if mistake == "flipped_kernel":
        problem = assignment.problem("conv_forward")
        x, w, b = (inputs[s.file] for s in problem.inputs)
        got = reference.conv_forward(x, w[:, :, ::-1, ::-1], b, problem.reference_params)[0]
        cases = [("conv_forward_out", got)]
    elif mistake == "missing_bias":
        problem = assignment.problem("conv_forward")
        x, w, b = (inputs[s.file] for s in problem.inputs)
        cases = [("conv_forward_out", reference.conv_forward(x, w, 0 * b, problem.reference_params)[0])]
    elif mistake == "sign_flip":
        cases = [(name, -exp) for name, exp in expected.items()]
    elif mistake == "column_major":
        cases = [(name, exp.ravel(order="F").reshape(exp.shape)) for name, exp in expected.items()
                 if exp.ndim > 1]
    elif mistake == "low_precision":  # 4 significant digits
        cases = [(name, written(exp, "%.3e")) for name, exp in expected.items()]
    else:
        exp = expected["maxpool_forward_out"]
        cases = [("maxpool_forward_out", exp.transpose(0, 1, 3, 2))]
    for name, got in cases:
        spec = assignment.output(name)
        assert not compare(got, expected[name], spec.rtol, spec.atol).passed, (mistake, name)


# --------------------------------------------------------------------------------------------------
# The rule and the fields
# --------------------------------------------------------------------------------------------------

def test_rule_is_atol_times_scale_plus_rtol_times_expected():
    expected = np.array([[0.0, 1.0], [-4.0, 2.0]])  # scale 4
    atol_abs = 1e-3 * 4
    at_edge = expected + np.array([[atol_abs, atol_abs + 1e-2 * 1.0], [-(atol_abs + 4e-2), 0.0]])
    c = compare(at_edge * (1 - 1e-12) + expected * 1e-12, expected, rtol=1e-2, atol=1e-3)
    assert c.passed and c.scale == 4.0 and c.atol_abs == pytest.approx(4e-3)
    beyond = expected.copy()
    beyond[1, 1] += atol_abs + 1e-2 * 2.0 + 1e-9
    c = compare(beyond, expected, rtol=1e-2, atol=1e-3)
    assert not c.passed and c.mismatches == 1 and c.max_abs_index == (1, 1)


def test_fields_indices_and_partial_credit():
    expected = np.arange(1.0, 1.0 + 2 * 3 * 4 * 5).reshape(2, 3, 4, 5)
    got = expected.copy()
    got[1, 2, 3, 4] += 0.5  # largest absolute difference
    got[0, 0, 0, 1] += 0.25  # largest relative difference (expected 2)
    c = compare(got, expected, rtol=1e-5, atol=1e-5)
    assert isinstance(c, Comparison)
    assert (c.passed, c.size, c.mismatches) == (False, 120, 2)
    assert c.max_abs_err == pytest.approx(0.5) and c.max_abs_index == (1, 2, 3, 4)
    assert c.max_rel_err == pytest.approx(0.125) and c.max_rel_index == (0, 0, 0, 1)
    assert all(type(i) is int for i in c.max_abs_index + c.max_rel_index)
    assert c.fraction_within == pytest.approx(118 / 120)
    assert c.rel_error == pytest.approx(rel_error(got, expected))
    assert c.shape == (2, 3, 4, 5) and c.scale == 120.0
    with pytest.raises(Exception):
        c.passed = True  # frozen


def test_identical_arrays_pass_with_zero_differences():
    expected = np.linspace(-1, 1, 7)
    c = compare(expected.copy(), expected, 1e-5, 1e-5)
    assert c.passed and c.mismatches == 0 and c.max_abs_err == 0 and c.max_rel_err == 0
    assert c.fraction_within == 1.0 and c.rel_error == 0.0


def test_all_zero_expected_uses_scale_one():
    c = compare(np.full(4, 5e-6), np.zeros(4), 1e-5, 1e-5)
    assert c.passed and c.scale == 1.0 and c.atol_abs == 1e-5
    c = compare(np.full(4, 2e-5), np.zeros(4), 1e-5, 1e-5)
    assert not c.passed and c.mismatches == 4


def test_nonzero_where_zero_expected_is_unbounded_and_json_stays_valid():
    expected = np.array([[0.0, 1.0], [0.0, 2.0]])
    got = np.array([[0.0, 1.0], [0.5, 2.0]])
    c = compare(got, expected, 1e-5, 1e-5)
    assert c.max_rel_err is None and c.max_rel_index == (1, 0)
    text = json.dumps(c.to_dict(), allow_nan=False)  # no NaN / Infinity tokens
    assert json.loads(text)["max_rel_err"] is None
    assert "Greatest relative difference: inf at index (1, 0)" in describe_comparison(c)
    # Both zero: relative difference 0, not NaN.
    c = compare(np.zeros(3), np.zeros(3), 1e-5, 1e-5)
    assert c.max_rel_err == 0.0
    json.dumps(c.to_dict(), allow_nan=False)


def test_one_dimensional_and_empty_outputs():
    c = compare(np.array([1.0, 2.5]), np.array([1.0, 2.0]), 1e-5, 1e-5)
    assert c.max_abs_index == (1,) and "at index (1,)" in describe_comparison(c)
    c = compare(np.zeros((0, 3)), np.zeros((0, 3)), 1e-5, 1e-5)
    assert c.passed and c.size == 0 and c.fraction_within == 1.0
    assert describe_comparison(c) and summarise_comparison(c)


def test_tolerances_both_or_neither():
    a = np.ones(3)
    assert compare(a, a).rtol == DEFAULT_RTOL and compare(a, a).atol == DEFAULT_ATOL
    with pytest.raises(ValueError, match="both rtol and atol"):
        compare(a, a, rtol=1e-3)
    with pytest.raises(ValueError, match=">= 0"):
        compare(a, a, rtol=-1.0, atol=0.0)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match=r"shapes differ: got \(3,\), expected \(1, 3\)"):
        compare(np.ones(3), np.ones((1, 3)), 1e-5, 1e-5)
    with pytest.raises(ValueError, match="NaN or Inf"):
        compare(np.array([1.0, np.nan]), np.ones(2), 1e-5, 1e-5)
    with pytest.raises(ValueError, match="NaN or Inf"):
        compare(np.ones(2), np.array([np.inf, 1.0]), 1e-5, 1e-5)


FLOAT_MAX = float(np.finfo(np.float64).max)


def plain_comparison(got, expected, rtol, atol):
    """Every figure of a Comparison, element by element in Python floats: the readable spec the
    vectorised compare must reproduce exactly (same IEEE operations, first index on ties)."""
    g, e = got.ravel().tolist(), expected.ravel().tolist()
    scale = max(abs(v) for v in e) or 1.0
    atol_abs = atol * scale
    diff = [min(abs(a - b), FLOAT_MAX) for a, b in zip(g, e)]
    within = [d <= atol_abs + rtol * abs(b) for d, b in zip(diff, e)]
    unbounded = [i for i, (d, b) in enumerate(zip(diff, e)) if b == 0 and d > 0]
    rel = [0.0 if b == 0 else min(d / abs(b), FLOAT_MAX) for d, b in zip(diff, e)]
    informative = [not (a == 0 and b == 0) for a, b in zip(g, e)]
    counted = sum(informative)
    first_max = lambda values: max(range(len(values)), key=lambda i: (values[i], -i))  # noqa: E731
    index = lambda flat: tuple(int(i) for i in np.unravel_index(flat, expected.shape))  # noqa: E731
    rel_flat = unbounded[0] if unbounded else first_max(rel)
    return {"passed": all(within), "size": len(e), "mismatches": within.count(False),
            "max_abs_err": diff[first_max(diff)], "max_abs_index": index(first_max(diff)),
            "max_rel_err": None if unbounded else rel[rel_flat], "max_rel_index": index(rel_flat),
            "rel_error": max(d / max(1e-8, abs(a) + abs(b)) for d, a, b in zip(diff, g, e)),
            "rtol": rtol, "atol": atol, "atol_abs": atol_abs, "scale": scale,
            "fraction_within": (sum(w and i for w, i in zip(within, informative)) / counted
                                if counted else 1.0),
            "shape": expected.shape}


def _random_pair(rng, case):
    shape = tuple(int(n) for n in rng.integers(1, 5, size=rng.integers(1, 4)))
    expected = rng.standard_normal(shape) * 10.0 ** rng.integers(-12, 5)
    if case % 4 == 1:  # zeros in expected, some matched by zeros in got
        expected[rng.random(shape) < 0.4] = 0.0
    elif case % 4 == 2:
        expected[...] = 0.0
    got = expected + rng.standard_normal(shape) * 10.0 ** rng.integers(-20, 2) * (
        rng.random(shape) < rng.random())
    got[rng.random(shape) < 0.2] = 0.0
    if case % 4 == 3:  # differences that overflow, and relative differences that do
        got[rng.random(shape) < 0.3] = 1.7e308
        expected[rng.random(shape) < 0.2] = -1e308
        expected[rng.random(shape) < 0.2] = 1e-300
    return got, expected


def test_compare_matches_the_rule_element_by_element_prepared_or_not():
    rng = np.random.default_rng(16)
    for case in range(400):
        got, expected = _random_pair(rng, case)
        rtol, atol = (1e-5, 1e-5) if case % 3 else (1e-3, 0.0)
        plain = plain_comparison(got, expected, rtol, atol)
        prepared = ExpectedValues.of(expected, rtol, atol)
        for c in (compare(got, expected, rtol, atol), compare(got, prepared),
                  compare(got, prepared)):  # a prepared output serves any number of students
            measured = {name: getattr(c, name) for name in plain}
            assert measured == plain, case


def test_prepared_expected_values_are_a_private_read_only_copy():
    expected = np.array([[0.0, 2.0], [-4.0, 1.0]])
    prepared = ExpectedValues.of(expected, 1e-5, 1e-5)
    expected[0, 1] = 100.0  # the caller's array changing later changes nothing
    assert prepared.scale == 4.0 and compare(np.array([[0.0, 2.0], [-4.0, 1.0]]), prepared).passed
    with pytest.raises(ValueError):
        prepared.values[0] = 1.0
    with pytest.raises(ValueError, match="carry their own tolerances"):
        compare(np.ones((2, 2)), prepared, 1e-5, 1e-5)
    with pytest.raises(ValueError, match=r"shapes differ: got \(4,\), expected \(2, 2\)"):
        compare(np.ones(4), prepared)
    with pytest.raises(ValueError, match="NaN or Inf"):
        ExpectedValues.of(np.array([1.0, np.nan]))


# --------------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------------

def test_describe_is_torch_testing_style():
    expected = np.full((2, 3, 8, 8), 3.0)
    got = expected.copy()
    got[0, 2, 5, 5] += 3.1e-4
    got[1, 0, 1, 1] -= 2e-4
    c = compare(got, expected, rtol=1e-5, atol=4e-6)
    assert describe_comparison(c) == (
        "Mismatched elements: 2 / 384 (0.5%)\n"
        "Greatest absolute difference: 3.1e-04 at index (0, 2, 5, 5) (up to 1.2e-05 allowed)\n"
        "Greatest relative difference: 1.0e-04 at index (0, 2, 5, 5) (up to 1e-05 allowed)\n"
        "rel_error (CS231n): 5.2e-05"
    )
    assert summarise_comparison(c) == "2 / 384 elements differ; worst 3.1e-04 at (0, 2, 5, 5)"


def test_messages_for_a_pass_and_tiny_fractions():
    expected = np.full(4096, 2.0)
    c = compare(expected, expected, 1e-5, 1e-5)
    assert summarise_comparison(c) == "all 4096 elements match exactly"
    near = expected.copy()
    near[9] += 3e-6
    assert summarise_comparison(compare(near, expected, 1e-5, 1e-5)) == (
        "all 4096 elements within tolerance; largest difference 3.0e-06")
    assert describe_comparison(c).startswith("Mismatched elements: 0 / 4096 (0.0%)\n")
    got = expected.copy()
    got[7] = 0.0
    assert describe_comparison(compare(got, expected, 1e-5, 1e-5)).startswith("Mismatched elements: 1 / 4096 (<0.1%)")


def test_messages_never_show_expected_values():
    rng = np.random.default_rng(1)
    expected = rng.normal(0, 1, (3, 4, 5)) * 7.31
    got = expected + rng.normal(0, 1e-3, expected.shape)
    c = compare(got, expected, 1e-5, 1e-5)
    text = describe_comparison(c) + "\n" + summarise_comparison(c)
    shown = {token.strip("(),") for token in text.split()}
    for value in expected.ravel():
        for fmt in ("%.1e", "%.2e", "%.3g", "%.4g", "%g"):
            assert fmt % value not in shown and fmt % abs(value) not in shown


if __name__ == "__main__":
    spec = load_spec(ROOT / "assignment.toml")
    inputs_ = make_inputs(spec)
    table = error_table(spec, inputs_, compute_expected(spec, inputs_))
    print(f"{'case':<26} {'output':<26} {'max|err|/scale':>15} {'share of allowance':>19}")
    for case, rows in table.items():
        for name, (err, share) in rows.items():
            print(f"{case:<26} {name:<26} {err:15.2e} {share:19.3f}")
        worst = max(rows.items(), key=lambda kv: kv[1][0])
        print(f"{case:<26} {'WORST: ' + worst[0]:<26} {worst[1][0]:15.2e} "
              f"{max(s for _, s in rows.values()):19.3f}\n")
