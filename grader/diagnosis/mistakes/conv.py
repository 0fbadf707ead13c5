"""Convolution mistakes: a flipped or transposed kernel, a missing or broadcast bias, the padding
convention, an ignored pad or stride, a batch mean, a padded dx, an off-by-one output size.
"""
import numpy as np

from grader.assignment import ops
from grader.diagnosis.cases import Inapplicable, Unrunnable, Variant, fmt_pair, mistake, needs_expected, zeros_pair
from grader.diagnosis.catalogue import CATALOGUE
from grader.diagnosis.maths import conv_backward_nchw, maxpool_backward_nchw


def _flip_w(case, role="w", array=None):
    array = case.inputs[role] if array is None else array
    nchw = ops.to_nchw(role, array, case.layout)
    return ops.from_nchw(role, nchw[:, :, ::-1, ::-1], case.layout)


@mistake("flipped_kernel", "conv_forward.out", "conv_backward.dx", "conv_backward.dw")
def _flipped_kernel(case):
    """True convolution instead of cross-correlation: the kernel rotated by 180 degrees."""
    w = case.inputs["w"]
    symmetric = np.array_equal(_flip_w(case), w)
    uncaught = ("w equals its 180-degree rotation (a symmetric kernel)" if symmetric
                else "on these inputs the flipped kernel gives the same values within tolerance")
    if case.role == "dw":
        if not needs_expected(case):
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


@mistake("missing_bias", "conv_forward.out")
def _missing_bias(case):
    """The convolution without its bias."""
    b = case.inputs["b"]
    values = case.run(b=np.zeros_like(b))
    uncaught = "b is zero" if not np.any(b) else "b is too small to exceed the tolerance"
    return [Variant("missing_bias", CATALOGUE["missing_bias"], values, case.output.shape,
                    uncaught=uncaught)]


@mistake("bias_broadcast", "conv_forward.out")
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


@mistake("transposed_kernel", "conv_forward.out")
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


def _pad_message(case, used):
    pad = case.problem.params.get("pad", 0)
    per_side = case.pair("pad", 0)
    if case.assignment.pad_convention == "total":
        meaning = (f"this assignment's pad = {_fmt_spec(pad)} is the TOTAL padding, "
                   f"{zeros_pair(per_side)} on each side; pad by pad // 2 on each side")
    else:
        meaning = (f"this assignment's pad = {_fmt_spec(pad)} is the number of zeros on EACH "
                   "side; pad by pad on each side, not pad // 2")
    return f"you padded with {zeros_pair(used)} on each side, but {meaning}"


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
            raise Unrunnable(f"with stride {fmt_pair(stride)} and pad {fmt_pair(pad)} per side "
                             "the windows do not fit x") from None
        shape = values.shape
    else:
        dx, dw = conv_backward_nchw(case.nchw("x"), case.nchw("w"), case.nchw("dout"), stride, pad)
        values = case.to_file(dx if case.role == "dx" else dw)
        shape = values.shape
    return [Variant(code, message, values, shape, brief=brief)]


@mistake("pad_convention", "conv_forward.out", "conv_backward.dx", "conv_backward.dw")
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
                         brief=f"{zeros_pair(used)} of padding per side (pad read as the {other} "
                               "padding)")


@mistake("pad_ignored", "conv_forward.out", "conv_backward.dx", "conv_backward.dw")
def _pad_ignored(case):
    """No zero padding at all."""
    if case.pair("pad", 0) == (0, 0):
        raise Inapplicable("pad = 0: there is no padding to forget")
    message = (f"you did not zero-pad x; pad it with {zeros_pair(case.pair('pad', 0))} on each side "
               "(np.pad) before sliding the windows")
    return _conv_variant(case, "pad_ignored", message, pad=(0, 0), brief="no padding")


@mistake("stride_ignored", "conv_forward.out", "conv_backward.dx", "conv_backward.dw",
          "maxpool_forward.out", "maxpool_backward.dx")
def _stride_ignored(case):
    """Windows stepped by one pixel instead of the stride."""
    stride = case.pair("stride")
    if stride == (1, 1):
        raise Inapplicable("stride = 1: nothing to ignore")
    message = (f"you moved the windows one pixel at a time; step them by the stride "
               f"({fmt_pair(stride)}): window (i, j) starts at row i*stride, column j*stride")
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
    dx = maxpool_backward_nchw(x, dout, ph, pw, 1, 1, select="max")
    return [Variant("stride_ignored", message, case.to_file(dx), case.output.shape)]


def _first_windows(case, stride_one, stride):
    """The right output size, but window (i, j) taken at row i, column j instead of (i*stride,
    j*stride): the first H_out x W_out positions of the stride-1 output ``stride_one``."""
    H_out, W_out = case.output_nchw_hw()
    values = ops.to_nchw(case.role, stride_one, case.layout)[:, :, :H_out, :W_out]
    message = (f"your output has the right size but window (i, j) starts at row i, column j; "
               f"step the windows by the stride ({fmt_pair(stride)}): window (i, j) starts at row "
               "i*stride, column j*stride")
    return Variant("stride_ignored", message, case.to_file(np.ascontiguousarray(values)),
                   case.output.shape)


@mistake("batch_mean", "conv_backward.dw", "conv_backward.db")
def _batch_mean(case):
    """The gradient divided by the batch size (a mean over the batch, as in a loss)."""
    if not needs_expected(case):
        return []
    n = case.nchw("x").shape[0]
    if n == 1:
        raise Inapplicable("the batch holds one sample")
    message = (f"your {case.role} is divided by the batch size N = {n}; the gradient of a layer "
               "sums over the batch, it is not averaged")
    return [Variant("batch_mean", message, case.expected / n, case.output.shape)]


@mistake("dx_padded", "conv_backward.dx")
def _dx_padded(case):
    """dx returned with the padding still on."""
    pad = case.pair("pad", 0)
    if pad == (0, 0):
        raise Inapplicable("pad = 0: there is no padding to crop")
    dx, _ = conv_backward_nchw(case.nchw("x"), case.nchw("w"), case.nchw("dout"),
                                case.pair("stride"), pad, keep_pad=True)
    message = ("you returned dx with the padding still on; crop the padding from each side, e.g. "
               "dx_pad[:, :, pad:-pad, pad:-pad], to get x's shape")
    values = case.to_file(dx)
    return [Variant("dx_padded", message, values, values.shape, brief="dx with its padding left on")]


@mistake("off_by_one_size", "conv_forward.out", "maxpool_forward.out")
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
