"""Correctly rounded layers: every output is the float64 nearest the exact result of its inputs.

The fast layers sum in whatever order their matrix products (and the BLAS under them) choose, so
their last bits depend on the machine, the BLAS, its thread count and the operands' layout. These
layers compute every output element as the exact sum of exact products, rounded once (to nearest,
ties to even): the result depends on the input values alone, so expected outputs made with them
are byte-identical on every machine and for every order of the terms.

How: each product ``a*b`` is split without error into ``hi + lo`` (Dekker's TwoProduct with
Veltkamp's splitting, vectorised in NumPy); the high parts of one output element are summed by a
tree of error-free additions (TwoSum, vectorised over the output elements), which leaves their
exact sum as one float plus small errors, and the errors and the low parts are added in floating
point, whose error bound tells when the one rounding is the correct one; the rare element whose
exact sum lies too near a rounding boundary for that bound to tell is summed again by
``math.fsum`` (correctly rounded too). TwoProduct is
error-free when none of its steps overflows or underflows, which holds when ``|a|, |b| <= 2**990``
and every nonzero product has ``2**-900 <= |a*b| <= 2**1000`` (the sum then cannot overflow
either, for fewer than 2**22 terms). An output element with a term outside that range is summed
with ``fractions.Fraction`` instead (exact, slower), so every finite input gives the correctly
rounded result; non-finite inputs, which have no exact result, are refused. A result that is zero
(exactly, or a tiny value rounded to zero) is written +0.0: zero has one spelling.

Same contract as the fast layers (DESIGN.md): NCHW, float64 in and out, inputs never modified, and
no Python loop over samples, channels or pixels. Max-pool forward (a maximum) and dropout (a copy
in test mode, one product per element in train mode) are correctly rounded already and are the
fast layers themselves.
"""
import math
from fractions import Fraction

import numpy as np

from .dropout import dropout_backward, dropout_forward
from .pool import first_max_offsets, max_pool_forward, pool_geometry
from .shapes import as_pair, conv_output_shape
from .windows import as_float64, window_view

__all__ = [
    "conv_forward",
    "conv_backward",
    "conv_forward_groups",
    "conv_backward_groups",
    "max_pool_forward",
    "max_pool_backward",
    "dropout_forward",
    "dropout_backward",
    "exact_dot",
]

# Veltkamp's constant for float64: 2**27 + 1 splits a value into two halves of at most 26
# significant bits, whose pairwise products are exact.
_SPLITTER = 134217729.0
# The range in which TwoProduct is error-free and fsum cannot overflow (module docstring).
_SPLIT_MAX = 2.0 ** 990
_PRODUCT_MIN = 2.0 ** -900
_TERM_MAX = 2.0 ** 1000
_MAX_TERMS = 2 ** 22
# Products computed at a time: bounds the memory of the term arrays on large problems, and keeps
# them (1 MB each) in the processor's caches through the dozen passes made over them.
_CHUNK_TERMS = 1 << 17
_LEAST_SUBNORMAL = 5e-324


def conv_forward(x, w, b, conv_param):
    """Forward pass of a convolutional layer, every output correctly rounded.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input data (finite).
    w : ndarray, shape (F, C, HH, WW)
        Filter weights (finite).
    b : ndarray, shape (F,)
        Biases (finite).
    conv_param : dict
        ``'stride'``: step between windows; ``'pad'``: zeros added on EACH side of H and W.
        Each may be an int or an ``(h, w)`` pair.

    Returns
    -------
    out : ndarray, shape (N, F, H_out, W_out)
        ``H_out = (H + 2*pad_h - HH) // stride_h + 1``, ``W_out`` likewise; ``out[n, f, r, s]`` is
        the float64 nearest ``b[f] + sum(w[f] * window)``, computed exactly.
    cache : tuple
        ``(x, w, b, conv_param)`` for :func:`conv_backward`.

    Raises
    ------
    ValueError
        If the shapes disagree, the output would be empty or an input is not finite.
    """
    x, w, b = _conv_inputs(x, w, b, groups=False)
    out = _grouped_conv_forward(x[None], w[None], b[None], conv_param)
    return out[0], (x, w, b, conv_param)


def conv_forward_groups(x, w, b, conv_param):
    """:func:`conv_forward` of G independent groups at once, group ``g`` with its own ``x[g]``,
    ``w[g]`` and ``b[g]``: the same bytes as G calls, at a fraction of the cost when the arrays
    are small (NumPy's per-call overhead is paid once).

    Parameters
    ----------
    x : ndarray, shape (G, N, C, H, W)
        Input data (finite).
    w : ndarray, shape (G, F, C, HH, WW)
        Filter weights (finite).
    b : ndarray, shape (G, F)
        Biases (finite).
    conv_param : dict
        As for :func:`conv_forward`, the same for every group.

    Returns
    -------
    out : ndarray, shape (G, N, F, H_out, W_out)
        ``out[g]`` is ``conv_forward(x[g], w[g], b[g], conv_param)[0]``.
    cache : tuple
        ``(x, w, b, conv_param)`` for :func:`conv_backward_groups`.

    Raises
    ------
    ValueError
        As :func:`conv_forward`, and if x and w hold different numbers of groups.
    """
    x, w, b = _conv_inputs(x, w, b, groups=True)
    return _grouped_conv_forward(x, w, b, conv_param), (x, w, b, conv_param)


def conv_backward(dout, cache):
    """Backward pass of a convolutional layer, every gradient correctly rounded.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
        Upstream derivatives (finite).
    cache : tuple
        As returned by :func:`conv_forward` (this module's or the fast one: its first four entries
        ``(x, w, b, conv_param)`` are read).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    dout, x, w, stride, pad = _conv_backward_inputs(dout, cache, groups=False)
    dx, dw, db = _grouped_conv_backward(dout[None], x[None], w[None], stride, pad)
    return dx[0], dw[0], db[0]


def conv_backward_groups(dout, cache):
    """:func:`conv_backward` of G independent groups at once (see :func:`conv_forward_groups`).

    Parameters
    ----------
    dout : ndarray, shape (G, N, F, H_out, W_out)
        Upstream derivatives (finite).
    cache : tuple
        As returned by :func:`conv_forward_groups` (its first four entries
        ``(x, w, b, conv_param)`` are read).

    Returns
    -------
    dx : ndarray, shape (G, N, C, H, W)
    dw : ndarray, shape (G, F, C, HH, WW)
    db : ndarray, shape (G, F)
        ``dx[g], dw[g], db[g]`` are the gradients of group ``g`` alone.
    """
    dout, x, w, stride, pad = _conv_backward_inputs(dout, cache, groups=True)
    return _grouped_conv_backward(dout, x, w, stride, pad)


def _conv_inputs(x, w, b, groups):
    """``x, w, b`` as finite float64 arrays, with a leading group axis if ``groups``; their shapes
    checked against each other (the geometry is checked with ``conv_param`` later)."""
    lead = int(groups)
    x, w, b = _finite("x", x, 4 + lead), _finite("w", w, 4 + lead), _finite("b", b, 1 + lead)
    if b.shape != w.shape[:lead + 1]:
        raise ValueError(f"b must have shape {'(G, F)' if groups else '(F,)'} = "
                         f"{w.shape[:lead + 1]}, got {b.shape}")
    _check_groups(x, w, lead)
    return x, w, b


def _conv_backward_inputs(dout, cache, groups):
    """``(dout, x, w, stride, pad)`` from a backward call's arguments, checked as
    :func:`_conv_inputs` checks the forward's."""
    x, w, _, conv_param = cache[:4]
    lead = int(groups)
    x, w = _finite("x", x, 4 + lead), _finite("w", w, 4 + lead)
    dout = _finite("dout", dout, 4 + lead)
    _check_groups(x, w, lead)
    stride, pad = _conv_geometry(conv_param)
    want = x.shape[:lead] + conv_output_shape(x.shape[lead:], w.shape[lead:], stride, pad)
    if dout.shape != want:
        raise ValueError(f"dout must have shape {want}, got {dout.shape}")
    return dout, x, w, stride, pad


def _check_groups(x, w, lead):
    if lead and x.shape[0] != w.shape[0]:
        raise ValueError(f"x holds {x.shape[0]} groups but w holds {w.shape[0]}: one w per x")


def _grouped_conv_forward(x, w, b, conv_param):
    """The convolution of checked ``x (G, N, C, H, W)``, ``w (G, F, C, HH, WW)``, ``b (G, F)``."""
    G, F, C, HH, WW = w.shape
    stride, pad = _conv_geometry(conv_param)
    N, _, H_out, W_out = conv_output_shape(x.shape[1:], w.shape[1:], stride, pad)
    windows = _windows(x, HH, WW, stride, pad, H_out, W_out)
    # rows[g, n, 0, r, s] lists window (r, s) in the order of w[g, f].ravel(): one row per output
    # pixel, paired with every filter of its own group by broadcasting.
    rows = windows.transpose(0, 1, 3, 4, 2, 5, 6).reshape(G, N, 1, H_out, W_out, C * HH * WW)
    return _grouped_dot(rows, w.reshape(G, 1, F, 1, 1, C * HH * WW), bias=b.reshape(G, 1, F, 1, 1))


def _grouped_conv_backward(dout, x, w, stride, pad):
    """``(dx, dw, db)`` of checked ``dout (G, N, F, H_out, W_out)``, ``x (G, N, C, H, W)`` and
    ``w (G, F, C, HH, WW)``."""
    G, N, F, H_out, W_out = dout.shape
    _, _, C, HH, WW = w.shape
    positions = N * H_out * W_out
    dout_by_filter = dout.transpose(0, 2, 1, 3, 4).reshape(G, F, positions)
    db = _grouped_dot(dout_by_filter)
    # dw[g, f, c, i, j] pairs dout[g, :, f] with the input pixel every output position reads at
    # (i, j).
    cols = _windows(x, HH, WW, stride, pad, H_out, W_out).transpose(0, 2, 5, 6, 1, 3, 4)
    dw = _grouped_dot(dout_by_filter.reshape(G, F, 1, 1, 1, positions),
                      cols.reshape(G, 1, C, HH, WW, positions))
    dx = _conv_input_gradient(dout, w, x.shape, stride, pad)
    return dx, dw, db


def _grouped_dot(a, b=None, bias=None):
    """:func:`exact_dot` of ``a``, ``b`` and ``bias`` whose first axis is the group:
    ``(G, ..., T) -> (G, ...)``.

    Computed with the groups as the last axis of the results: the broadcast products then run in
    loops as long as there are groups, where the other axes of a small problem hold a few
    elements each (on such arrays NumPy's cost per loop, not per element, dominates).
    """
    out = exact_dot(np.moveaxis(a, 0, -2), None if b is None else np.moveaxis(b, 0, -2),
                    bias=None if bias is None else np.moveaxis(bias, 0, -1))
    return np.ascontiguousarray(np.moveaxis(out, -1, 0))


def max_pool_backward(dout, cache):
    """Backward pass of a max-pooling layer, with overlapping windows' gradients summed exactly.

    Each window passes its upstream derivative to its first maximum in row-major order, as
    :func:`reference.max_pool_backward` does; an input that is the maximum of several windows gets
    the correctly rounded sum of their derivatives.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H_out, W_out)
        Upstream derivatives (finite).
    cache : tuple
        ``(x, pool_param, out)`` as returned by :func:`max_pool_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    x, pool_param, out = cache
    dout = _finite("dout", dout, 4)
    ph, pw, sh, sw, H_out, W_out = pool_geometry(x.shape, pool_param)
    if dout.shape != out.shape:
        raise ValueError(f"dout must have shape {out.shape}, got {dout.shape}")
    N, C, H, W = x.shape
    offsets = np.full((N, C, H_out + 1, W_out + 1), -1)  # -1 in the extra slot: matches nothing
    offsets[:, :, :H_out, :W_out] = first_max_offsets(x, out, ph, pw, sh, sw)
    i_h, r_h = _taps(H, ph, sh, 0, H_out)
    j_w, s_w = _taps(W, pw, sw, 0, W_out)
    rows, cols = r_h[:, :, None, None], s_w[None, None, :, :]
    # Window (r, s) reaches input (h, w) through offset (i, j); it sends dout there only when that
    # offset is the window's first maximum. Shape (N, C, H, mh, W, mw).
    chosen = offsets[:, :, rows, cols] == i_h[:, :, None, None] * pw + j_w[None, None, :, :]
    terms = np.where(chosen, _zero_extended(dout)[:, :, rows, cols], 0.0)
    taps = r_h.shape[1] * s_w.shape[1]
    return exact_dot(terms.transpose(0, 1, 2, 4, 3, 5).reshape(N, C, H, W, taps))


def exact_dot(a, b=None, bias=None):
    """Correctly rounded ``sum(a * b, axis=-1) + bias`` (``sum(a, axis=-1) + bias`` without ``b``).

    Parameters
    ----------
    a, b : ndarray
        Finite float64 arrays of the same number of dimensions that broadcast together to
        ``(L, ..., T)``: ``T`` terms for each of the ``L * ...`` results.
    bias : ndarray, optional
        Finite, broadcasting to ``(L, ..., )``; added exactly before the one rounding.

    Returns
    -------
    ndarray, shape (L, ...)
        Each element the float64 nearest the exact value (ties to even); a zero is +0.0.
    """
    shape = np.broadcast_shapes(a.shape, a.shape if b is None else b.shape)
    if 2 * shape[-1] + 1 > _MAX_TERMS:
        raise ValueError(f"{shape[-1]} terms per sum: at most {(_MAX_TERMS - 1) // 2} are summed "
                         "exactly")
    out = np.empty(shape[:-1])
    bias = np.zeros(shape[:-1]) if bias is None else np.broadcast_to(bias, shape[:-1])
    _dot_into(out, a, b, bias, shape[-1])
    return out


def _dot_into(out, a, b, bias, terms):
    """Fill ``out`` with :func:`exact_dot` of ``a``, ``b`` and ``bias``, a few indices of its first
    axis at a time, so that no chunk's term arrays exceed about ``_CHUNK_TERMS`` values; where one
    index alone holds more (a few large groups), each index is split along the next axis."""
    per_index = math.prod(out.shape[1:]) * terms
    if per_index > _CHUNK_TERMS and out.ndim > 1:
        for index in range(out.shape[0]):
            _dot_into(out[index], _leading(a, index), None if b is None else _leading(b, index),
                      bias[index], terms)
        return
    step = max(1, _CHUNK_TERMS // max(1, per_index))
    for start in range(0, out.shape[0], step):
        lead = slice(start, start + step)
        out[lead] = _exact_dot_chunk(_leading(a, lead), None if b is None else _leading(b, lead),
                                     bias[lead])


def _leading(array, lead):
    """``array[lead]`` along a first axis that may be broadcast (of length 1)."""
    if array.shape[0] == 1:
        return array if isinstance(lead, slice) else array[0]
    return array[lead]


def _exact_dot_chunk(a, b, bias):
    shape = np.broadcast_shapes(a.shape, a.shape if b is None else b.shape)
    T, results = shape[-1], shape[:-1]
    count = math.prod(results)
    # Terms first, (term, result): every step of the sums below is then one contiguous operation
    # over all results, however few terms each has. Row T holds the bias.
    terms = np.empty((T + 1,) + results)
    terms[T] = bias
    a_first = _terms_first(a)
    if b is None:
        terms[:T] = a_first
        lows = np.empty((0,) + results)
        unsafe = ~(np.abs(a_first) <= _TERM_MAX)
    else:
        b_first = _terms_first(b)
        lows = _two_product(a_first, b_first, out=terms[:T])
        unsafe = _outside_exact_range(a_first, b_first, terms[:T])
    unsafe_results = (np.broadcast_to(unsafe.any(axis=0), results).ravel()
                      | ~(np.abs(bias) <= _TERM_MAX).ravel())
    terms, lows = terms.reshape(T + 1, count), lows.reshape(len(lows), count)
    # Each result is rounded once. Those outside the fast range are summed as Fractions instead
    # (zeros here keep the sums from overflowing).
    if unsafe_results.any():
        terms[:, unsafe_results] = 0.0
        lows[:, unsafe_results] = 0.0
    sums = _sum_terms(terms, lows)
    for result in np.flatnonzero(unsafe_results):
        where = np.unravel_index(result, results)
        sums[result] = _fraction_dot(np.broadcast_to(a, shape)[where],
                                     None if b is None else np.broadcast_to(b, shape)[where],
                                     float(bias[where]))
    sums += 0.0  # -0.0 + 0.0 is +0.0: an exact zero has one spelling
    return sums.reshape(results)


def _terms_first(array):
    """``array (..., T)`` as a C-contiguous ``(T, ...)``: so are the products made from it."""
    return np.ascontiguousarray(np.moveaxis(array, -1, 0))


def _sum_terms(terms, lows):
    """The correctly rounded sum of every column of ``terms (W, count)`` and ``lows (L, count)``
    together (each term at most ``_TERM_MAX`` in magnitude, fewer than ``_MAX_TERMS`` a column),
    in any order of its terms. ``lows`` are TwoProduct's low parts: each at most half an ulp of
    its high part in ``terms``.

    Vectorised over the columns: a tree of error-free additions (TwoSum) leaves each column's
    exact sum of ``terms`` as ``s + sum(errors)``; ``s`` plus the float sum of the errors and the
    low parts (all small) is then the correctly rounded result unless the exact sum may lie on
    the other side of a rounding boundary, which that float sum's error bound tells. Those
    columns (near ties, about one in ten million on random data, and sums that cancel to a tie
    by construction) are summed again by ``math.fsum``.
    """
    level, errors = terms, [lows]
    while len(level) > 1:
        half = len(level) // 2
        total, error = _two_sum(level[:half], level[half:2 * half])
        errors.append(error)
        if len(level) % 2:  # the odd term out joins the first partial sum
            total[0], carry = _two_sum(total[0], level[-1])
            errors.append(carry[None])
        level = total
    high = level[0]
    # The float sum of the m errors and low parts is within gamma(m - 1) * their sum of
    # magnitudes of their exact sum (any order); ``bound`` covers that twice over (m is less
    # than the number of terms), and at least the least subnormal when any is not zero.
    magnitude = sum(np.abs(e).sum(axis=0) for e in errors)
    width = len(terms) + len(lows)
    bound = magnitude * (width * 2.0 ** -52) + np.where(magnitude > 0, _LEAST_SUBNORMAL, 0.0)
    rounded, residue = _two_sum(high, sum(e.sum(axis=0) for e in errors))
    # The exact sum is rounded + residue + d with |d| <= bound; it rounds to ``rounded`` when
    # that stays inside half the narrower gap to rounded's neighbours. gap - 2|residue| is exact
    # or within an ulp of a value of at least gap/2, so testing it against 4 * bound is safe.
    gap = np.minimum(np.nextafter(rounded, np.inf) - rounded,
                     rounded - np.nextafter(rounded, -np.inf))
    unsure = ~(gap - 2 * np.abs(residue) > 4 * bound)
    for column in np.flatnonzero(unsure):
        rounded[column] = math.fsum(terms[:, column].tolist() + lows[:, column].tolist())
    return rounded


def _two_sum(a, b):
    """Knuth's TwoSum: ``(s, e)`` with ``s = fl(a + b)`` and ``s + e == a + b`` exactly (no
    overflow: the terms' bound keeps every partial sum below 2**1023)."""
    total = a + b
    b_part = total - a
    return total, (a - (total - b_part)) + (b - b_part)


def _split(a):
    """Veltkamp: ``a == hi + lo`` exactly, each half with at most 26 significant bits."""
    scaled = _SPLITTER * a
    hi = scaled - (scaled - a)
    return hi, a - hi


def _two_product(a, b, out):
    """Dekker: ``hi = fl(a*b)``, written to ``out``, and the returned ``lo`` with
    ``hi + lo == a*b`` exactly in the safe range.

    The operands are split before broadcasting, so the splits cost no more than the inputs.
    """
    # Outside the safe range the results are discarded (Fractions take over): no warnings.
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        hi = np.multiply(a, b, out=out)
        a_hi, a_lo = _split(a)
        b_hi, b_lo = _split(b)
        return ((a_hi * b_hi - hi) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


def _outside_exact_range(a, b, hi):
    """Where TwoProduct may not be error-free: a split or product that may overflow, or a nonzero
    product small enough that its low part could underflow.

    Decided from the operands' extreme magnitudes when they rule all of that out (the usual
    case; a rounded product is monotonic in its operands), without a pass over the products.
    """
    ranges = [_magnitude_range(operand) for operand in (a, b)]
    (a_min, a_max), (b_min, b_max) = ranges
    if (max(a_max, b_max) <= _SPLIT_MAX and a_max * b_max <= _TERM_MAX
            and a_min * b_min >= _PRODUCT_MIN):
        return np.zeros((1,) * hi.ndim, dtype=bool)
    magnitude = np.abs(hi)
    unsafe = ~(magnitude <= _TERM_MAX)
    unsafe |= (magnitude < _PRODUCT_MIN) & (a != 0) & (b != 0)
    for operand, (_, largest) in zip((a, b), ranges):
        if largest > _SPLIT_MAX:
            unsafe |= np.abs(operand) > _SPLIT_MAX
    return unsafe


def _magnitude_range(a):
    """The least nonzero ``|a|`` (inf if none) and the largest, as Python floats: their products
    round to infinity or zero without a warning."""
    magnitude = np.abs(a)
    return (float(magnitude.min(initial=np.inf, where=magnitude > 0)),
            float(magnitude.max(initial=0.0)))


def _fraction_dot(a_row, b_row, bias):
    """The exact sum with rational arithmetic, rounded once: for terms outside the fast range."""
    total = Fraction(bias)
    if b_row is None:
        total += sum(map(Fraction, a_row.tolist()), Fraction(0))
    else:
        total += sum((Fraction(u) * Fraction(v) for u, v in zip(a_row.tolist(), b_row.tolist())),
                     Fraction(0))
    try:
        return float(total)  # int / int: correctly rounded, subnormals included
    except OverflowError:  # beyond the largest float64: round to nearest gives an infinity
        return math.inf if total > 0 else -math.inf


def _finite(name, a, ndim):
    a = as_float64(name, a, ndim)
    bad = a.size - int(np.isfinite(a).sum())
    if bad:
        raise ValueError(f"{name} holds {bad} non-finite values (NaN or Inf): an exact result is "
                         "defined for finite inputs only")
    return a


def _conv_geometry(conv_param):
    return as_pair(conv_param.get("stride", 1), "stride"), as_pair(conv_param.get("pad", 0), "pad")


def _windows(x, HH, WW, stride, pad, H_out, W_out):
    """View ``(..., H_out, W_out, HH, WW)`` of every window of ``x (..., H, W)``, zero-padded."""
    (pad_h, pad_w), (stride_h, stride_w) = pad, stride
    x_pad = np.pad(x, ((0, 0),) * (x.ndim - 2) + ((pad_h, pad_h), (pad_w, pad_w)))
    return window_view(x_pad, HH, WW, stride_h, stride_w, H_out, W_out)


def _zero_extended(a):
    """``a (..., H, W)`` with one more row and column of zeros: the slot that padded taps read."""
    *lead, H, W = a.shape
    extended = np.zeros((*lead, H + 1, W + 1))
    extended[..., :H, :W] = a
    return extended


def _taps(size, kernel, stride, pad, out_size):
    """Along one axis, which windows reach each input position, and through which kernel offset.

    Returns ``(offsets, outputs)``, two integer arrays of shape ``(size, m)``: input position ``p``
    is read by window ``outputs[p, t]`` at kernel offset ``offsets[p, t]``, that is
    ``outputs * stride + offsets == p + pad``. ``m`` is the most windows any position is in; rows
    with fewer are filled with offset 0 and window ``out_size``, a zero slot past the last one.
    """
    offsets = np.arange(kernel)
    window, remainder = np.divmod(np.arange(size)[:, None] + pad - offsets, stride)
    valid = (remainder == 0) & (window >= 0) & (window < out_size)
    m = max(1, int(valid.sum(axis=1).max()))
    order = np.argsort(~valid, axis=1, kind="stable")[:, :m]  # the valid taps first, in order
    valid = np.take_along_axis(valid, order, axis=1)
    offsets = np.take_along_axis(np.broadcast_to(offsets, valid.shape[:1] + (kernel,)), order, 1)
    window = np.take_along_axis(window, order, axis=1)
    return np.where(valid, offsets, 0), np.where(valid, window, out_size)


def _conv_input_gradient(dout, w, x_shape, stride, pad):
    """dx of a grouped convolution: ``dx[g, n, c, h, w]`` sums ``w[g, f, c, i, j] *
    dout[g, n, f, r, s]`` over every filter and every window ``(r, s)`` that reads ``(h, w)``
    through kernel offset ``(i, j)``."""
    G, N, C, H, W = x_shape
    _, F, _, HH, WW = w.shape
    H_out, W_out = dout.shape[-2:]
    (stride_h, stride_w), (pad_h, pad_w) = stride, pad
    i_h, r_h = _taps(H, HH, stride_h, pad_h, H_out)
    j_w, s_w = _taps(W, WW, stride_w, pad_w, W_out)
    # Shapes (G, N, F, H, mh, W, mw) and (G, F, C, H, mh, W, mw); padded taps read a zero of dout.
    upstream = _zero_extended(dout)[..., r_h[:, :, None, None], s_w[None, None, :, :]]
    weights = w[..., i_h[:, :, None, None], j_w[None, None, :, :]]
    terms = F * r_h.shape[1] * s_w.shape[1]
    upstream = upstream.transpose(0, 1, 3, 5, 2, 4, 6).reshape(G, N, 1, H, W, terms)
    weights = weights.transpose(0, 2, 3, 5, 1, 4, 6).reshape(G, 1, C, H, W, terms)
    return _grouped_dot(upstream, weights)
