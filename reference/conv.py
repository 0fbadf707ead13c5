"""Convolution layer (cross-correlation, as every deep-learning library computes it)."""
import numpy as np

from .shapes import as_pair, conv_output_shape
from .windows import as_float64, offset_slices, window_view


def conv_forward(x, w, b, conv_param):
    """Forward pass of a convolutional layer.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input data.
    w : ndarray, shape (F, C, HH, WW)
        Filter weights.
    b : ndarray, shape (F,)
        Biases.
    conv_param : dict
        ``'stride'``: step between windows; ``'pad'``: zeros added on EACH side of H and W.
        Each may be an int or an ``(h, w)`` pair.

    Returns
    -------
    out : ndarray, shape (N, F, H_out, W_out)
        ``H_out = (H + 2*pad_h - HH) // stride_h + 1``, ``W_out`` likewise.
    cache : tuple
        ``(x, w, b, conv_param, cols)`` for :func:`conv_backward`; ``cols`` holds every window of
        the padded input (``N*C*HH*WW*H_out*W_out`` values), kept so that the backward pass need
        not gather them again.

    Raises
    ------
    ValueError
        If the shapes disagree or the output would be empty.
    """
    x = as_float64("x", x, 4)
    w = as_float64("w", w, 4)
    b = as_float64("b", b, 1)
    F, C, HH, WW = w.shape
    if b.shape != (F,):
        raise ValueError(f"b must have shape (F,) = ({F},), got {b.shape}")
    stride_h, stride_w = as_pair(conv_param.get("stride", 1), "stride")
    pad_h, pad_w = as_pair(conv_param.get("pad", 0), "pad")
    N, _, H_out, W_out = conv_output_shape(x.shape, w.shape, (stride_h, stride_w), (pad_h, pad_w))

    cols = _im2col(x, HH, WW, stride_h, stride_w, pad_h, pad_w, H_out, W_out)
    # One (F, C*HH*WW) @ (C*HH*WW, H_out*W_out) product per sample lands directly in NCHW order.
    out = np.matmul(w.reshape(F, -1), cols)
    out += b[:, None]
    return out.reshape(N, F, H_out, W_out), (x, w, b, conv_param, cols)


def conv_backward(dout, cache):
    """Backward pass of a convolutional layer.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
        Upstream derivatives.
    cache : tuple
        ``(x, w, b, conv_param, cols)`` as returned by :func:`conv_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    x, w, b, conv_param, cols = cache
    dout = as_float64("dout", dout, 4)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride_h, stride_w = as_pair(conv_param.get("stride", 1), "stride")
    pad_h, pad_w = as_pair(conv_param.get("pad", 0), "pad")
    _, _, H_out, W_out = conv_output_shape(x.shape, w.shape, (stride_h, stride_w), (pad_h, pad_w))
    if dout.shape != (N, F, H_out, W_out):
        raise ValueError(f"dout must have shape {(N, F, H_out, W_out)}, got {dout.shape}")

    dout_rows = dout.reshape(N, F, H_out * W_out)
    db = dout_rows.sum(axis=(0, 2))
    dw = np.matmul(dout_rows, cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)

    # Gradient of every window, then scattered back one kernel offset at a time: windows overlap
    # when stride < kernel size, so their contributions must be summed, not assigned.
    dcols = _unaliased_rows(N, C * HH * WW, H_out * W_out)
    np.matmul(w.reshape(F, -1).T, dout_rows, out=dcols)
    dcols = dcols.reshape(N, C, HH, WW, H_out, W_out)
    dx_pad = np.zeros((N, C, H + 2 * pad_h, W + 2 * pad_w))
    for i in range(HH):
        for j in range(WW):
            dx_at_offset = dx_pad[offset_slices(i, j, stride_h, stride_w, H_out, W_out)]  # a view
            dx_at_offset += dcols[:, :, i, j]
    dx = np.ascontiguousarray(dx_pad[:, :, pad_h:pad_h + H, pad_w:pad_w + W])
    return dx, dw, db


def _im2col(x, HH, WW, stride_h, stride_w, pad_h, pad_w, H_out, W_out):
    """Every window of the zero-padded ``x``, copied once into the layout the matrix products want.

    Returns a C-contiguous array of shape ``(N, C*HH*WW, H_out*W_out)``: ``cols[n, (c, i, j), (r, s)]``
    is ``x_pad[n, c, r*stride_h + i, s*stride_w + j]``.
    """
    N, C = x.shape[:2]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
    # A view (N, C, H_out, W_out, HH, WW), copied as (N, C, HH, WW, H_out, W_out).
    windows = window_view(x_pad, HH, WW, stride_h, stride_w, H_out, W_out)
    cols = np.ascontiguousarray(windows.transpose(0, 1, 4, 5, 2, 3))
    return cols.reshape(N, C * HH * WW, H_out * W_out)


def _unaliased_rows(N, rows, length):
    """An uninitialised ``(N, rows, length)`` float64 view whose rows start an odd number of cache
    lines apart.

    Rows of a power-of-two length (1024 output pixels) fall into the same cache sets, and a matrix
    product writing them runs about twice as slow; padding each row to an odd multiple of 8 values
    (64 bytes) spreads them over the sets. BLAS writes into the view directly (it takes the row
    stride as the leading dimension).
    """
    stride = -(-length // 8) * 8
    if stride // 8 % 2 == 0:
        stride += 8
    return np.empty((N, rows, stride))[:, :, :length]
