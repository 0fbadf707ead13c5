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
        ``(x, w, b, conv_param)`` for :func:`conv_backward`.

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
    _, _, H_out, W_out = conv_output_shape(x.shape, w.shape, (stride_h, stride_w), (pad_h, pad_w))

    x_pad = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
    windows = window_view(x_pad, HH, WW, stride_h, stride_w, H_out, W_out)
    # (N, H_out, W_out, F): one matrix product over the (C, HH, WW) axes of every window.
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3]))
    out += b
    out = np.ascontiguousarray(out.transpose(0, 3, 1, 2))
    return out, (x, w, b, conv_param)


def conv_backward(dout, cache):
    """Backward pass of a convolutional layer.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
        Upstream derivatives.
    cache : tuple
        ``(x, w, b, conv_param)`` as returned by :func:`conv_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    x, w, b, conv_param = cache
    dout = as_float64("dout", dout, 4)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride_h, stride_w = as_pair(conv_param.get("stride", 1), "stride")
    pad_h, pad_w = as_pair(conv_param.get("pad", 0), "pad")
    _, _, H_out, W_out = conv_output_shape(x.shape, w.shape, (stride_h, stride_w), (pad_h, pad_w))
    if dout.shape != (N, F, H_out, W_out):
        raise ValueError(f"dout must have shape {(N, F, H_out, W_out)}, got {dout.shape}")

    x_pad = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
    windows = window_view(x_pad, HH, WW, stride_h, stride_w, H_out, W_out)
    db = dout.sum(axis=(0, 2, 3))
    dw = np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))  # (F, C, HH, WW)

    # Gradient of every window, then scattered back one kernel offset at a time: windows overlap
    # when stride < kernel size, so their contributions must be summed, not assigned.
    dwindows = np.tensordot(dout, w, axes=([1], [0]))  # (N, H_out, W_out, C, HH, WW)
    dwindows = dwindows.transpose(0, 3, 1, 2, 4, 5)  # (N, C, H_out, W_out, HH, WW)
    dx_pad = np.zeros_like(x_pad)
    for i in range(HH):
        for j in range(WW):
            dx_pad[offset_slices(i, j, stride_h, stride_w, H_out, W_out)] += dwindows[..., i, j]
    dx = np.ascontiguousarray(dx_pad[:, :, pad_h:pad_h + H, pad_w:pad_w + W])
    return dx, dw, db
