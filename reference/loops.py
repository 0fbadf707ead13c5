"""Plain loop implementations of the layers: the readable specification the reference is tested against.

Nothing here is clever or fast. Every output element is computed by explicit Python loops over the
batch, filters, channels and output positions, exactly as the formulas are written in the CS231n
notes, and shares no code with ``reference/``. tests/test_reference.py compares the vectorised
reference with these functions, and ``benchmarks/bench_reference.py`` times them for the speed-up
figure.

Conventions (those of DESIGN.md): arrays are NCHW; ``pad`` is the number of zeros added on EACH side;
``stride`` and ``pad`` may each be an int or an ``(h, w)`` pair; output size is
``(H + 2*pad_h - HH) // stride_h + 1`` (floor); convolution is cross-correlation (no kernel flip);
max-pooling has no padding, overlapping windows accumulate their gradients, and a window whose maximum
is tied sends its gradient to the FIRST maximum in row-major order; dropout's ``drop_prob`` is the
probability of dropping a unit and kept units are scaled by ``1 / (1 - drop_prob)``.

Also here: the centred-difference numerical gradient and CS231n's ``rel_error``, with the thresholds
the tests use as named constants.
"""
import numpy as np

# Step of the centred difference. Every layer here is linear in each input element except max-pooling
# near a tie, so the only error is rounding: about eps * |f| / h ~ 1e-11 relative to O(1) gradients.
NUMERICAL_STEP = 1e-5

# Largest CS231n rel_error accepted between an analytic gradient and its centred-difference estimate.
# The assignment notebooks expect "around 1e-8 or less" for these layers; correct code measures
# 1e-8 to 1e-12 on the tests' shapes, while any wrong gradient (a flipped kernel, a lost overlap,
# a missing scale) gives errors of order 1e-1 to 1.
GRAD_REL_ERROR_MAX = 1e-7

# Largest CS231n rel_error accepted against the notebooks' published values, which are printed to
# 8 decimals (a rounding error of up to 5e-9); this is the notebooks' own "should be around e-8" check.
PUBLISHED_REL_ERROR_MAX = 1e-7

# Reference versus loops: the same sums taken in a different order, so they agree to a few ulps.
LOOP_RTOL = 1e-10
LOOP_ATOL = 1e-12


def _pair(value):
    """``(h, w)`` from an int or a pair; the loops accept both to keep call sites short."""
    if isinstance(value, (tuple, list)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def _zero_pad(x, pad_h, pad_w):
    """Copy of ``x (N, C, H, W)`` with ``pad_h`` zero rows and ``pad_w`` zero columns on each side."""
    N, C, H, W = x.shape
    x_pad = np.zeros((N, C, H + 2 * pad_h, W + 2 * pad_w))
    x_pad[:, :, pad_h:pad_h + H, pad_w:pad_w + W] = x
    return x_pad


def conv_forward_loops(x, w, b, stride, pad):
    """Cross-correlation of ``x (N, C, H, W)`` with ``w (F, C, HH, WW)`` plus ``b (F,)``.

    ``out[n, f, i, j] = b[f] + sum_{c, di, dj} x_pad[n, c, i*stride_h + di, j*stride_w + dj]
    * w[f, c, di, dj]``
    with ``H_out = (H + 2*pad_h - HH) // stride_h + 1`` and ``W_out`` likewise.
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    stride_h, stride_w = _pair(stride)
    pad_h, pad_w = _pair(pad)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = (H + 2 * pad_h - HH) // stride_h + 1
    W_out = (W + 2 * pad_w - WW) // stride_w + 1
    x_pad = _zero_pad(x, pad_h, pad_w)
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride_h, j * stride_w
                    total = b[f]
                    for c in range(C):
                        window = x_pad[n, c, top:top + HH, left:left + WW]
                        total += np.sum(window * w[f, c])
                    out[n, f, i, j] = total
    return out


def conv_backward_loops(dout, x, w, stride, pad):
    """Gradients ``(dx, dw, db)`` of the convolution above, given ``dout (N, F, H_out, W_out)``.

    Each output element ``out[n, f, i, j]`` read one window of ``x_pad``: it sends
    ``dout[n, f, i, j] * w[f, c]`` back to that window (windows overlap when the stride is smaller
    than the kernel, so contributions add up), ``dout[n, f, i, j] * window`` to ``dw[f, c]`` and
    ``dout[n, f, i, j]`` to ``db[f]``.
    """
    dout = np.asarray(dout, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    stride_h, stride_w = _pair(stride)
    pad_h, pad_w = _pair(pad)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = _zero_pad(x, pad_h, pad_w)
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.zeros(F)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride_h, j * stride_w
                    g = dout[n, f, i, j]
                    db[f] += g
                    for c in range(C):
                        dx_pad[n, c, top:top + HH, left:left + WW] += g * w[f, c]
                        dw[f, c] += g * x_pad[n, c, top:top + HH, left:left + WW]
    dx = dx_pad[:, :, pad_h:pad_h + H, pad_w:pad_w + W].copy()
    return dx, dw, db


def _first_max_position(window):
    """``(di, dj)`` of the largest element of a 2-D window; ties go to the first in row-major order."""
    best_i, best_j = 0, 0
    for di in range(window.shape[0]):
        for dj in range(window.shape[1]):
            if window[di, dj] > window[best_i, best_j]:  # strict: an equal later value never wins
                best_i, best_j = di, dj
    return best_i, best_j


def max_pool_forward_loops(x, pool_height, pool_width, stride):
    """Max over every ``pool_height x pool_width`` window of ``x (N, C, H, W)`` (no padding).

    ``H_out = (H - pool_height) // stride_h + 1``, ``W_out`` likewise.
    """
    x = np.asarray(x, dtype=np.float64)
    stride_h, stride_w = _pair(stride)
    N, C, H, W = x.shape
    H_out = (H - pool_height) // stride_h + 1
    W_out = (W - pool_width) // stride_w + 1
    out = np.zeros((N, C, H_out, W_out))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride_h, j * stride_w
                    window = x[n, c, top:top + pool_height, left:left + pool_width]
                    di, dj = _first_max_position(window)
                    out[n, c, i, j] = window[di, dj]
    return out


def max_pool_backward_loops(dout, x, pool_height, pool_width, stride):
    """Gradient of max-pooling: each window's ``dout`` goes to its (first) maximum, and adds up."""
    dout = np.asarray(dout, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    stride_h, stride_w = _pair(stride)
    N, C, _, _ = x.shape
    _, _, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride_h, j * stride_w
                    window = x[n, c, top:top + pool_height, left:left + pool_width]
                    di, dj = _first_max_position(window)
                    dx[n, c, top + di, left + dj] += dout[n, c, i, j]
    return dx


def dropout_forward_loops(x, keep, drop_prob):
    """Inverted dropout with a boolean ``keep`` mask: ``x / (1 - drop_prob)`` where kept, else 0."""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        if keep[index]:
            out[index] = x[index] / (1.0 - drop_prob)
    return out


def dropout_backward_loops(dout, keep, drop_prob):
    """Gradient of inverted dropout: ``dout / (1 - drop_prob)`` where the unit was kept, else 0."""
    return dropout_forward_loops(dout, keep, drop_prob)


def numerical_gradient(f, x, df, h=NUMERICAL_STEP):
    """Centred-difference estimate of ``d(sum(f(x) * df)) / dx``, the gradient backprop computes.

    ``f`` maps an array shaped like ``x`` to an array shaped like ``df``. ``x`` itself is not
    modified: the perturbations are made on a float64 copy.
    """
    x = np.array(x, dtype=np.float64)  # private copy, perturbed in place one element at a time
    df = np.asarray(df, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        f_plus = np.array(f(x), dtype=np.float64)
        x[index] = original - h
        f_minus = np.array(f(x), dtype=np.float64)
        x[index] = original
        grad[index] = np.sum((f_plus - f_minus) * df) / (2.0 * h)
    return grad


def rel_error(x, y):
    """CS231n's relative error: ``max(|x - y| / max(1e-8, |x| + |y|))``."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))
