"""The reference layers against the plain loops of tests/loops.py, numerical gradients, the notebooks'
published values, and the contract of DESIGN.md (errors, dtypes, untouched inputs, dropout's mask)."""
import ast
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import reference

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference.loops import (  # noqa: E402
    GRAD_REL_ERROR_MAX,
    LOOP_ATOL,
    LOOP_RTOL,
    PUBLISHED_REL_ERROR_MAX,
    conv_backward_loops,
    conv_forward_loops,
    dropout_backward_loops,
    dropout_forward_loops,
    max_pool_backward_loops,
    max_pool_forward_loops,
    numerical_gradient,
    rel_error,
)

REFERENCE_DIR = Path(reference.__file__).resolve().parent

# Dropped fraction on a large array: accepted within this many binomial standard deviations of p
# (a correct mask fails with probability ~2e-9; the draws are seeded anyway, so the test is stable).
DROP_FRACTION_SIGMAS = 6.0


def assert_matches_loops(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=LOOP_RTOL, atol=LOOP_ATOL)


def assert_float64(*arrays):
    for a in arrays:
        assert isinstance(a, np.ndarray) and a.dtype == np.float64, (type(a), getattr(a, "dtype", None))


# --------------------------------------------------------------------------------------------------
# Configurations. Hand-picked cases name the feature they cover; the random ones come from a seeded
# Generator so the set is the same on every run.
# --------------------------------------------------------------------------------------------------

# (x shape, w shape, stride, pad)
CONV_CASES = {
    "stride1_pad0": ((2, 3, 5, 5), (2, 3, 3, 3), 1, 0),
    "stride1_pad1": ((2, 3, 5, 5), (4, 3, 3, 3), 1, 1),
    "stride1_pad2": ((1, 2, 4, 4), (3, 2, 3, 3), 1, 2),
    "stride2_pad1_notebook_shape": ((2, 3, 4, 4), (3, 3, 4, 4), 2, 1),
    "stride2_pad0_untiled": ((2, 2, 8, 8), (2, 2, 3, 3), 2, 0),
    "stride3_pad0": ((2, 2, 9, 9), (2, 2, 3, 3), 3, 0),
    "stride3_pad2_untiled": ((1, 3, 7, 8), (2, 3, 3, 3), 3, 2),
    "stride_pair": ((2, 2, 7, 9), (3, 2, 3, 3), (1, 2), 1),
    "stride_pair_3_1": ((1, 2, 10, 6), (2, 2, 3, 2), (3, 1), 0),
    "pad_pair": ((2, 2, 5, 6), (2, 2, 3, 3), 1, (2, 0)),
    "pad_pair_0_1_stride_2": ((1, 3, 6, 5), (2, 3, 2, 3), 2, (0, 1)),
    "stride_and_pad_pairs": ((2, 2, 9, 7), (2, 2, 4, 2), (2, 3), (1, 2)),
    "kernel_2x4": ((2, 3, 6, 7), (2, 3, 2, 4), 1, 0),
    "kernel_5x1_pad2": ((1, 2, 6, 4), (3, 2, 5, 1), 1, (2, 0)),
    "kernel_1x1": ((2, 4, 3, 5), (3, 4, 1, 1), 1, 0),
    "kernel_1x1_stride2_untiled": ((1, 2, 6, 5), (2, 2, 1, 1), 2, 0),
    "kernel_fills_padded_input": ((2, 2, 3, 4), (2, 2, 5, 6), 1, 1),
    "kernel_larger_than_input_stride3": ((1, 1, 2, 2), (2, 1, 4, 4), 3, 2),
    "single_pixel_input": ((3, 1, 1, 1), (2, 1, 1, 1), 1, 0),
}


def _random_conv_cases(count, seed=20170412):
    rng = np.random.default_rng(seed)
    cases = {}
    while len(cases) < count:
        N, C, F = (int(v) for v in rng.integers(1, 4, size=3))
        H, W = (int(v) for v in rng.integers(1, 10, size=2))
        HH, WW = (int(v) for v in rng.integers(1, 6, size=2))
        stride = tuple(int(v) for v in rng.integers(1, 4, size=2))
        pad = tuple(int(v) for v in rng.integers(0, 3, size=2))
        if H + 2 * pad[0] < HH or W + 2 * pad[1] < WW:
            continue
        cases[f"random{len(cases)}"] = ((N, C, H, W), (F, C, HH, WW), stride, pad)
    return cases


CONV_CASES.update(_random_conv_cases(30))

# (x shape, pool_height, pool_width, stride)
POOL_CASES = {
    "2x2_stride2": ((2, 3, 4, 4), 2, 2, 2),
    "2x2_stride2_untiled": ((2, 2, 7, 5), 2, 2, 2),
    "2x2_stride1_overlap": ((2, 2, 5, 5), 2, 2, 1),
    "3x3_stride2_overlap": ((2, 3, 7, 7), 3, 3, 2),
    "3x3_stride2_overlap_untiled": ((2, 2, 8, 9), 3, 3, 2),
    "4x4_stride2_overlap": ((2, 2, 8, 8), 4, 4, 2),
    "2x2_stride_1_2": ((2, 2, 5, 6), 2, 2, (1, 2)),
    "3x2_stride_2_1": ((1, 3, 7, 5), 3, 2, (2, 1)),
    "2x3_stride3": ((2, 2, 6, 9), 2, 3, 3),
    "1x1_stride1": ((1, 2, 3, 3), 1, 1, 1),
    "window_is_input": ((3, 2, 4, 5), 4, 5, 1),
}


def _random_pool_cases(count, seed=5242):
    rng = np.random.default_rng(seed)
    cases = {}
    while len(cases) < count:
        N, C = (int(v) for v in rng.integers(1, 4, size=2))
        H, W = (int(v) for v in rng.integers(1, 10, size=2))
        ph, pw = (int(v) for v in rng.integers(1, 5, size=2))
        stride = tuple(int(v) for v in rng.integers(1, 4, size=2))
        if H < ph or W < pw:
            continue
        cases[f"random{len(cases)}"] = ((N, C, H, W), ph, pw, stride)
    return cases


POOL_CASES.update(_random_pool_cases(20))


def _case_seed(name):
    return sum(name.encode())  # a different, fixed seed per case


# --------------------------------------------------------------------------------------------------
# Convolution against the loops
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_conv_matches_loops(x_shape, w_shape, stride, pad):
    rng = np.random.default_rng(_case_seed(f"{x_shape}{w_shape}{stride}{pad}"))
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    conv_param = {"stride": stride, "pad": pad}

    out, cache = reference.conv_forward(x, w, b, conv_param)
    expected_out = conv_forward_loops(x, w, b, stride, pad)
    assert out.shape == expected_out.shape
    assert out.shape == reference.conv_output_shape(x_shape, w_shape, stride, pad)
    assert_matches_loops(out, expected_out)

    dout = rng.standard_normal(out.shape)
    dx, dw, db = reference.conv_backward(dout, cache)
    expected_dx, expected_dw, expected_db = conv_backward_loops(dout, x, w, stride, pad)
    assert (dx.shape, dw.shape, db.shape) == (x.shape, w.shape, b.shape)
    assert_matches_loops(dx, expected_dx)
    assert_matches_loops(dw, expected_dw)
    assert_matches_loops(db, expected_db)


def test_conv_is_cross_correlation_not_convolution():
    # A kernel with a single 1 in its top-left corner copies the input shifted, never mirrored.
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.zeros((1, 1, 2, 2))
    w[0, 0, 0, 0] = 1.0
    out, _ = reference.conv_forward(x, w, np.zeros(1), {"stride": 1, "pad": 0})
    np.testing.assert_array_equal(out[0, 0], x[0, 0, :3, :3])


# --------------------------------------------------------------------------------------------------
# Max-pooling against the loops
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("x_shape, ph, pw, stride", POOL_CASES.values(), ids=POOL_CASES.keys())
def test_max_pool_matches_loops(x_shape, ph, pw, stride):
    rng = np.random.default_rng(_case_seed(f"{x_shape}{ph}{pw}{stride}"))
    x = rng.standard_normal(x_shape)
    pool_param = {"pool_height": ph, "pool_width": pw, "stride": stride}

    out, cache = reference.max_pool_forward(x, pool_param)
    expected_out = max_pool_forward_loops(x, ph, pw, stride)
    assert out.shape == expected_out.shape == reference.pool_output_shape(x_shape, ph, pw, stride)
    np.testing.assert_array_equal(out, expected_out)  # a max is exact

    dout = rng.standard_normal(out.shape)
    dx = reference.max_pool_backward(dout, cache)
    assert_matches_loops(dx, max_pool_backward_loops(dout, x, ph, pw, stride))


@pytest.mark.parametrize(
    "ph, pw, stride", [(2, 2, 2), (3, 3, 2), (4, 4, 2), (2, 2, (1, 2)), (3, 3, 1)], ids=str
)
def test_max_pool_ties_go_to_first_maximum(ph, pw, stride):
    # Few distinct values, so most windows hold a tie: the gradient must go to the first maximum
    # in row-major order, and overlapping windows must add up.
    rng = np.random.default_rng(31)
    x = rng.integers(0, 3, size=(2, 3, 9, 9)).astype(np.float64)
    pool_param = {"pool_height": ph, "pool_width": pw, "stride": stride}
    out, cache = reference.max_pool_forward(x, pool_param)
    dout = rng.standard_normal(out.shape)
    dx = reference.max_pool_backward(dout, cache)
    assert_matches_loops(dx, max_pool_backward_loops(dout, x, ph, pw, stride))


def test_max_pool_tie_and_overlap_by_hand():
    x = np.zeros((1, 1, 2, 3))  # every value ties
    out, cache = reference.max_pool_forward(x, {"pool_height": 2, "pool_width": 2, "stride": 1})
    dx = reference.max_pool_backward(np.array([[[[1.0, 10.0]]]]), cache)
    # Window 0 covers columns 0-1, window 1 columns 1-2; each sends its gradient to its top-left.
    np.testing.assert_array_equal(dx, [[[[1.0, 10.0, 0.0], [0.0, 0.0, 0.0]]]])

    x = np.array([[[[0.0, 5.0, 0.0], [0.0, 0.0, 0.0]]]])  # one maximum shared by both windows
    _, cache = reference.max_pool_forward(x, {"pool_height": 2, "pool_width": 2, "stride": 1})
    dx = reference.max_pool_backward(np.array([[[[1.0, 10.0]]]]), cache)
    np.testing.assert_array_equal(dx, [[[[0.0, 11.0, 0.0], [0.0, 0.0, 0.0]]]])


# --------------------------------------------------------------------------------------------------
# Numerical gradients
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x_shape, w_shape, stride, pad",
    [
        ((2, 3, 5, 5), (2, 3, 3, 3), 1, 1),  # overlapping windows
        ((2, 2, 5, 7), (3, 2, 3, 3), 2, 1),
        ((1, 2, 7, 6), (2, 2, 3, 2), (2, 1), (1, 0)),  # non-square kernel, (h, w) pairs, untiled
        ((2, 1, 6, 6), (2, 1, 4, 4), 3, 2),
    ],
    ids=["stride1_pad1", "stride2_pad1", "pairs_untiled", "stride3_pad2"],
)
def test_conv_backward_numerical_gradient(x_shape, w_shape, stride, pad):
    rng = np.random.default_rng(231)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    conv_param = {"stride": stride, "pad": pad}
    out, cache = reference.conv_forward(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = reference.conv_backward(dout, cache)

    dx_num = numerical_gradient(lambda v: reference.conv_forward(v, w, b, conv_param)[0], x, dout)
    dw_num = numerical_gradient(lambda v: reference.conv_forward(x, v, b, conv_param)[0], w, dout)
    db_num = numerical_gradient(lambda v: reference.conv_forward(x, w, v, conv_param)[0], b, dout)
    assert rel_error(dx, dx_num) < GRAD_REL_ERROR_MAX
    assert rel_error(dw, dw_num) < GRAD_REL_ERROR_MAX
    assert rel_error(db, db_num) < GRAD_REL_ERROR_MAX


@pytest.mark.parametrize(
    "x_shape, ph, pw, stride",
    [
        ((2, 2, 4, 4), 2, 2, 2),
        ((2, 2, 7, 7), 3, 3, 2),
        ((1, 2, 8, 8), 4, 4, 2),
        ((2, 1, 5, 6), 2, 2, (1, 2)),
    ],
    ids=["2x2_stride2", "3x3_stride2", "4x4_stride2", "2x2_stride_1_2"],
)
def test_max_pool_backward_numerical_gradient(x_shape, ph, pw, stride):
    # Distinct values at least 1/size apart, far more than the step: no window is near a tie.
    rng = np.random.default_rng(2017)
    size = int(np.prod(x_shape))
    x = rng.permutation(size).reshape(x_shape) / size
    pool_param = {"pool_height": ph, "pool_width": pw, "stride": stride}
    out, cache = reference.max_pool_forward(x, pool_param)
    dout = rng.standard_normal(out.shape)
    dx = reference.max_pool_backward(dout, cache)
    dx_num = numerical_gradient(lambda v: reference.max_pool_forward(v, pool_param)[0], x, dout)
    assert rel_error(dx, dx_num) < GRAD_REL_ERROR_MAX


@pytest.mark.parametrize("p", [0.0, 0.3, 0.8])
def test_dropout_backward_numerical_gradient(p):
    rng = np.random.default_rng(42)
    x = rng.standard_normal((6, 7)) + 10
    dropout_param = {"p": p, "mode": "train", "seed": 123}
    out, cache = reference.dropout_forward(x, dropout_param)
    dout = rng.standard_normal(out.shape)
    dx = reference.dropout_backward(dout, cache)
    dx_num = numerical_gradient(lambda v: reference.dropout_forward(v, dropout_param)[0], x, dout)
    assert rel_error(dx, dx_num) < GRAD_REL_ERROR_MAX


def test_numerical_gradient_helper_leaves_its_input_alone():
    x = np.array([1.0, 2.0, 3.0])
    grad = numerical_gradient(lambda v: v**2, x, np.ones(3))
    np.testing.assert_allclose(grad, [2.0, 4.0, 6.0], rtol=1e-8)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])


def test_rel_error_is_cs231ns():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert rel_error([1.0], [3.0]) == pytest.approx(0.5)
    assert rel_error([0.0], [1e-9]) == pytest.approx(0.1)  # the 1e-8 floor


# --------------------------------------------------------------------------------------------------
# The values published in the assignment notebooks (DESIGN.md)
# --------------------------------------------------------------------------------------------------


def test_conv_forward_published_values():
    x = np.linspace(-0.1, 0.5, num=96).reshape(2, 3, 4, 4)
    w = np.linspace(-0.2, 0.3, num=144).reshape(3, 3, 4, 4)
    b = np.linspace(-0.1, 0.2, num=3)
    out, _ = reference.conv_forward(x, w, b, {"stride": 2, "pad": 1})
    assert out.shape == (2, 3, 2, 2)
    published_00 = np.array([[-0.08759809, -0.10987781], [-0.18387192, -0.2109216]])
    published_12 = np.array([[2.36270298, 2.36904306], [2.38090835, 2.38247847]])
    assert rel_error(out[0, 0], published_00) < PUBLISHED_REL_ERROR_MAX
    assert rel_error(out[1, 2], published_12) < PUBLISHED_REL_ERROR_MAX
    np.testing.assert_allclose(out[0, 0], published_00, rtol=0, atol=5e-9)
    np.testing.assert_allclose(out[1, 2], published_12, rtol=0, atol=5e-9)


def test_max_pool_forward_published_values():
    x = np.linspace(-0.3, 0.4, num=96).reshape(2, 3, 4, 4)
    out, _ = reference.max_pool_forward(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    assert out.shape == (2, 3, 2, 2)
    published_00 = np.array([[-0.26315789, -0.24842105], [-0.20421053, -0.18947368]])
    published_12 = np.array([[0.32631579, 0.34105263], [0.38526316, 0.4]])
    assert rel_error(out[0, 0], published_00) < PUBLISHED_REL_ERROR_MAX
    assert rel_error(out[1, 2], published_12) < PUBLISHED_REL_ERROR_MAX
    np.testing.assert_allclose(out[0, 0], published_00, rtol=0, atol=5e-9)
    np.testing.assert_allclose(out[1, 2], published_12, rtol=0, atol=5e-9)


# --------------------------------------------------------------------------------------------------
# Errors: ValueError with the numbers in the message
# --------------------------------------------------------------------------------------------------


def _conv(x_shape, w_shape, b_shape, stride=1, pad=0):
    return lambda: reference.conv_forward(
        np.ones(x_shape), np.ones(w_shape), np.ones(b_shape), {"stride": stride, "pad": pad}
    )


def _pool(x_shape, ph, pw, stride):
    return lambda: reference.max_pool_forward(
        np.ones(x_shape), {"pool_height": ph, "pool_width": pw, "stride": stride}
    )


def _dropout(p, mode="train"):
    return lambda: reference.dropout_forward(np.ones((3, 3)), {"p": p, "mode": mode, "seed": 0})


ERROR_CASES = {
    "conv_empty_H": (_conv((1, 1, 2, 6), (1, 1, 5, 3), (1,)), ["5", "H=2", "empty"]),
    "conv_empty_W_despite_pad": (
        _conv((1, 1, 6, 2), (1, 1, 3, 7), (1,), pad=(0, 2)),
        ["7", "W=2", "pad=2"],
    ),
    "conv_channel_mismatch": (_conv((2, 3, 5, 5), (4, 2, 3, 3), (4,)), ["C=3", "C=2"]),
    "conv_bad_b_shape": (_conv((2, 3, 5, 5), (4, 3, 3, 3), (3,)), ["(4,)", "(3,)"]),
    "conv_b_2d": (_conv((2, 3, 5, 5), (4, 3, 3, 3), (4, 1)), ["(4, 1)"]),
    "conv_x_3d": (_conv((3, 5, 5), (4, 3, 3, 3), (4,)), ["(3, 5, 5)"]),
    "conv_stride_0": (_conv((1, 1, 5, 5), (1, 1, 3, 3), (1,), stride=(1, 0)), ["stride_w=0"]),
    "conv_negative_pad": (_conv((1, 1, 5, 5), (1, 1, 3, 3), (1,), pad=-1), ["pad_h=-1"]),
    "conv_stride_triple": (_conv((1, 1, 5, 5), (1, 1, 3, 3), (1,), stride=(1, 2, 3)), ["(1, 2, 3)"]),
    "pool_empty": (_pool((1, 1, 3, 8), 4, 2, 2), ["4", "H=3", "empty"]),
    "pool_stride_0": (_pool((1, 1, 4, 4), 2, 2, 0), ["stride_h=0"]),
    "pool_x_2d": (_pool((4, 4), 2, 2, 2), ["(4, 4)"]),
    "dropout_p_1": (_dropout(1.0), ["1.0"]),
    "dropout_p_1.5": (_dropout(1.5), ["1.5"]),
    "dropout_p_negative": (_dropout(-0.1), ["-0.1"]),
    "dropout_p_nan": (_dropout(float("nan")), ["nan"]),
    "dropout_bad_mode": (_dropout(0.5, mode="eval"), ["'eval'", "train", "test"]),
    "dropout_mode_is_case_sensitive": (_dropout(0.5, mode="Train"), ["'Train'"]),
}


@pytest.mark.parametrize("call, fragments", ERROR_CASES.values(), ids=ERROR_CASES.keys())
def test_value_error_carries_the_numbers(call, fragments):
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_backward_refuses_a_dout_of_the_wrong_shape():
    x = np.ones((2, 3, 6, 6))
    _, cache = reference.conv_forward(x, np.ones((4, 3, 3, 3)), np.ones(4), {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match=re.escape("(2, 4, 4, 4)")):
        reference.conv_backward(np.ones((2, 4, 4, 5)), cache)
    _, cache = reference.max_pool_forward(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    with pytest.raises(ValueError, match=re.escape("(2, 3, 3, 3)")):
        reference.max_pool_backward(np.ones((2, 3, 3, 2)), cache)
    _, cache = reference.dropout_forward(np.ones((4, 5)), {"p": 0.5, "mode": "train", "seed": 0})
    with pytest.raises(ValueError, match=re.escape("(4, 5)")):
        reference.dropout_backward(np.ones((5, 4)), cache)


# --------------------------------------------------------------------------------------------------
# Inputs are never modified; outputs are float64
# --------------------------------------------------------------------------------------------------


def _run_all_layers(x, w, b, dout_conv, dout_pool, dropout_x, dropout_dout):
    """Every public function once, returning all outputs."""
    conv_param = {"stride": (2, 1), "pad": (1, 2)}
    pool_param = {"pool_height": 3, "pool_width": 3, "stride": 2}
    outputs = []
    out, cache = reference.conv_forward(x, w, b, conv_param)
    outputs += [out, *reference.conv_backward(dout_conv, cache)]
    out, cache = reference.max_pool_forward(x, pool_param)
    outputs += [out, reference.max_pool_backward(dout_pool, cache)]
    for mode in ("train", "test"):
        out, cache = reference.dropout_forward(dropout_x, {"p": 0.4, "mode": mode, "seed": 9})
        outputs += [out, reference.dropout_backward(dropout_dout, cache)]
    return outputs


def _layer_inputs(rng, dtype):
    x = rng.standard_normal((2, 3, 7, 7))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    dout_conv = rng.standard_normal((2, 4, 4, 9))
    dout_pool = rng.standard_normal((2, 3, 3, 3))
    dropout_x = rng.standard_normal((5, 6)) + 10
    dropout_dout = rng.standard_normal((5, 6))
    arrays = [x, w, b, dout_conv, dout_pool, dropout_x, dropout_dout]
    if dtype == "int":
        return [np.round(a * 3).astype(np.int64) for a in arrays]
    return [a.astype(dtype) for a in arrays]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_inputs_are_never_modified(dtype):
    arrays = _layer_inputs(np.random.default_rng(0), dtype)
    copies = [a.copy() for a in arrays]
    conv_param = {"stride": (2, 1), "pad": (1, 2)}
    conv_param_copy = dict(conv_param)
    outputs = _run_all_layers(*arrays)
    reference.conv_forward(arrays[0], arrays[1], arrays[2], conv_param)
    assert conv_param == conv_param_copy
    for a, copy in zip(arrays, copies):
        np.testing.assert_array_equal(a, copy)
        assert a.dtype == copy.dtype
    # Nor can they be modified later through an output that aliases them.
    for out in outputs:
        for a in arrays:
            assert not np.shares_memory(out, a)


@pytest.mark.parametrize("dtype", ["float32", "int"])
def test_outputs_are_float64_and_match_float64_inputs(dtype):
    arrays = _layer_inputs(np.random.default_rng(1), dtype)
    outputs = _run_all_layers(*arrays)
    assert_float64(*outputs)
    as_float64 = _run_all_layers(*[a.astype(np.float64) for a in arrays])
    for out, expected in zip(outputs, as_float64):
        np.testing.assert_array_equal(out, expected)


def test_non_contiguous_inputs_match_the_loops():
    rng = np.random.default_rng(12)
    x = rng.standard_normal((9, 7, 3, 2)).transpose(3, 2, 1, 0)  # (2, 3, 7, 9), Fortran order
    w = rng.standard_normal((3, 3, 4, 6))[:, :, ::2, ::-2]  # (3, 3, 2, 3), strided and reversed
    b = rng.standard_normal(6)[::2]
    out, cache = reference.conv_forward(x, w, b, {"stride": (2, 1), "pad": 1})
    assert_matches_loops(out, conv_forward_loops(x, w, b, (2, 1), 1))
    dout = rng.standard_normal(out.shape[::-1]).T  # non-contiguous too
    expected = conv_backward_loops(dout, x, w, (2, 1), 1)
    for got, want in zip(reference.conv_backward(dout, cache), expected):
        assert_matches_loops(got, want)
    out, cache = reference.max_pool_forward(x, {"pool_height": 3, "pool_width": 3, "stride": 2})
    np.testing.assert_array_equal(out, max_pool_forward_loops(x, 3, 3, 2))
    dout = rng.standard_normal(out.shape[::-1]).T
    expected = max_pool_backward_loops(dout, x, 3, 3, 2)
    assert_matches_loops(reference.max_pool_backward(dout, cache), expected)


def test_editing_a_forward_output_leaves_the_backward_pass_alone():
    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 3, 6, 6))
    w = rng.standard_normal((2, 3, 3, 3))
    b = rng.standard_normal(2)
    out, cache = reference.conv_forward(x, w, b, {"stride": 1, "pad": 1})
    dout = rng.standard_normal(out.shape)
    out[...] = 0.0  # e.g. an in-place ReLU downstream
    expected = conv_backward_loops(dout, x, w, 1, 1)
    for got, want in zip(reference.conv_backward(dout, cache), expected):
        assert_matches_loops(got, want)
    out, cache = reference.max_pool_forward(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    dout = rng.standard_normal(out.shape)
    out[...] = 0.0
    expected = max_pool_backward_loops(dout, x, 2, 2, 2)
    assert_matches_loops(reference.max_pool_backward(dout, cache), expected)


def test_python_lists_are_accepted():
    x = np.arange(32.0).reshape(1, 2, 4, 4)
    out, _ = reference.max_pool_forward(x.tolist(), {"pool_height": 2, "pool_width": 2, "stride": 2})
    assert_float64(out)
    np.testing.assert_array_equal(out, max_pool_forward_loops(x, 2, 2, 2))


# --------------------------------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------------------------------


def test_dropout_same_seed_same_mask_other_seed_other_mask():
    x = np.random.default_rng(3).standard_normal((50, 40)) + 10
    a, _ = reference.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 17})
    b, _ = reference.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 17})
    c, _ = reference.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 18})
    np.testing.assert_array_equal(a, b)
    assert np.any((a == 0) != (c == 0))


def test_dropout_without_seed_draws_a_fresh_mask():
    x = np.ones((50, 40))
    a, _ = reference.dropout_forward(x, {"p": 0.5, "mode": "train"})
    b, _ = reference.dropout_forward(x, {"p": 0.5, "mode": "train"})
    assert np.any(a != b)  # equal with probability 2**-2000


@pytest.mark.parametrize("p", [0.0, 0.3, 0.8])
def test_dropout_matches_loops_and_backward_reuses_the_mask(p):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 4, 5)) + 10  # never zero, so out == 0 marks a dropped unit
    out, cache = reference.dropout_forward(x, {"p": p, "mode": "train", "seed": 99})
    keep = out != 0
    assert_matches_loops(out, dropout_forward_loops(x, keep, p))
    # Kept units are x / (1 - p) (checked above through the loops, and here in plain words).
    np.testing.assert_allclose(out[keep], x[keep] / (1 - p), rtol=1e-15)
    dout = rng.standard_normal(x.shape)
    dx = reference.dropout_backward(dout, cache)
    assert_matches_loops(dx, dropout_backward_loops(dout, keep, p))
    if p == 0.0:
        np.testing.assert_array_equal(out, x)


def test_dropout_test_mode_is_the_identity():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((4, 6))
    dout = rng.standard_normal((4, 6))
    out, cache = reference.dropout_forward(x, {"p": 0.7, "mode": "test", "seed": 1})
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(reference.dropout_backward(dout, cache), dout)


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.8, 0.95])
def test_dropout_drops_a_fraction_p(p):
    size = 1_000_000
    x = np.ones(size)
    out, _ = reference.dropout_forward(x, {"p": p, "mode": "train", "seed": 2024})
    dropped = np.mean(out == 0)
    sigma = np.sqrt(p * (1 - p) / size)
    assert abs(dropped - p) < DROP_FRACTION_SIGMAS * sigma, (dropped, p)
    # p is the DROP probability: the mean is preserved by the 1/(1-p) scale.
    assert abs(out.mean() - 1.0) < DROP_FRACTION_SIGMAS * sigma / (1 - p)


def test_dropout_mask_has_no_structure_across_rows_and_columns():
    out, _ = reference.dropout_forward(np.ones((400, 500)), {"p": 0.5, "mode": "train", "seed": 5})
    dropped = out == 0
    sigma_row = np.sqrt(0.25 / 500)
    sigma_col = np.sqrt(0.25 / 400)
    assert np.all(np.abs(dropped.mean(axis=1) - 0.5) < 6 * sigma_row)
    assert np.all(np.abs(dropped.mean(axis=0) - 0.5) < 6 * sigma_col)


# --------------------------------------------------------------------------------------------------
# Output-shape helpers
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "input_shape, filter_shape, stride, pad, expected",
    [
        ((2, 3, 32, 32), (16, 3, 5, 5), 1, 2, (2, 16, 32, 32)),
        ((100, 3, 31, 31), (25, 3, 3, 3), 2, 1, (100, 25, 16, 16)),
        ((2, 3, 4, 4), (3, 3, 4, 4), 2, 1, (2, 3, 2, 2)),
        ((1, 1, 8, 8), (1, 1, 3, 3), 2, 0, (1, 1, 3, 3)),  # floor: the last row and column unused
        ((1, 1, 7, 9), (4, 1, 3, 2), (2, 3), (1, 0), (1, 4, 4, 3)),
        ((5, 2, 3, 3), (7, 2, 3, 3), 1, 0, (5, 7, 1, 1)),
    ],
)
def test_conv_output_shape(input_shape, filter_shape, stride, pad, expected):
    assert reference.conv_output_shape(input_shape, filter_shape, stride, pad) == expected


@pytest.mark.parametrize(
    "input_shape, ph, pw, stride, expected",
    [
        ((2, 3, 32, 32), 2, 2, 2, (2, 3, 16, 16)),
        ((2, 3, 7, 7), 3, 3, 2, (2, 3, 3, 3)),
        ((2, 3, 8, 8), 3, 3, 2, (2, 3, 3, 3)),  # floor
        ((1, 1, 6, 6), 2, 2, (1, 2), (1, 1, 5, 3)),
    ],
)
def test_pool_output_shape(input_shape, ph, pw, stride, expected):
    assert reference.pool_output_shape(input_shape, ph, pw, stride) == expected


def test_exact_accepts_tiled_configurations():
    assert reference.conv_output_shape((1, 3, 7, 7), (2, 3, 3, 3), 2, 0, exact=True) == (1, 2, 3, 3)
    assert reference.conv_output_shape((1, 3, 31, 31), (2, 3, 3, 3), 2, 1, exact=True) == (1, 2, 16, 16)
    assert reference.pool_output_shape((1, 3, 7, 7), 3, 3, 2, exact=True) == (1, 3, 3, 3)


def test_exact_refuses_untiled_configurations_with_the_numbers():
    with pytest.raises(ValueError) as info:
        reference.conv_output_shape((1, 3, 9, 8), (2, 3, 3, 3), 2, 1, exact=True)
    message = str(info.value)  # H: (9 + 2 - 3) = 8 tiles; W: (8 + 2 - 3) = 7 does not
    assert "untiled" in message and "W=8" in message and "7" in message and "stride=2" in message
    with pytest.raises(ValueError) as info:
        reference.pool_output_shape((1, 3, 8, 9), 3, 3, (2, 3), exact=True)
    message = str(info.value)  # H: (8 - 3) = 5 is not a multiple of 2
    assert "untiled" in message and "H=8" in message and "5" in message and "stride=2" in message
    # Without exact, the same configurations are accepted (floor, as PyTorch).
    assert reference.conv_output_shape((1, 3, 9, 8), (2, 3, 3, 3), 2, 1) == (1, 2, 5, 4)
    assert reference.pool_output_shape((1, 3, 8, 9), 3, 3, (2, 3)) == (1, 3, 3, 3)


def test_shape_helpers_refuse_empty_outputs_and_mismatched_channels():
    with pytest.raises(ValueError, match="C=3.*C=4"):
        reference.conv_output_shape((1, 3, 5, 5), (2, 4, 3, 3))
    with pytest.raises(ValueError, match="W=2"):
        reference.conv_output_shape((1, 3, 5, 2), (2, 3, 3, 3))
    with pytest.raises(ValueError, match="H=2"):
        reference.pool_output_shape((1, 3, 2, 5), 3, 3, 1)


# --------------------------------------------------------------------------------------------------
# Layering: reference/ never imports grader/
# --------------------------------------------------------------------------------------------------


def test_reference_never_imports_grader():
    sources = sorted(REFERENCE_DIR.glob("*.py"))
    assert sources
    for path in sources:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import)\s+grader\b", text, re.MULTILINE), path
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(name.split(".")[0] == "grader" for name in names), (path, names)
    # And importing the package at run time pulls nothing of grader in.
    check = "import sys, reference; sys.exit('grader' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", check], cwd=REFERENCE_DIR.parent).returncode == 0
