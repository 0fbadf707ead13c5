"""Strided views of every window position: the one place that knows how windows are laid out."""
import numpy as np
from numpy.lib.stride_tricks import as_strided


def window_view(x, window_h, window_w, stride_h, stride_w, H_out, W_out):
    """Read-only view of shape ``(N, C, H_out, W_out, window_h, window_w)`` over ``x (N, C, H, W)``.

    ``view[n, c, i, j]`` is the window whose top-left corner is ``x[n, c, i*stride_h, j*stride_w]``.
    Any leading axes are kept the same way: ``x (G, N, C, H, W)`` gives ``(G, N, C, H_out, W_out,
    window_h, window_w)``. No data is copied.
    """
    *lead_strides, sH, sW = x.strides
    return as_strided(
        x,
        shape=(*x.shape[:-2], H_out, W_out, window_h, window_w),
        strides=(*lead_strides, sH * stride_h, sW * stride_w, sH, sW),
        writeable=False,
    )


def offset_slices(i, j, stride_h, stride_w, H_out, W_out):
    """Slices picking, for kernel offset ``(i, j)``, the input pixel each output position reads."""
    return (
        slice(None),
        slice(None),
        slice(i, i + stride_h * (H_out - 1) + 1, stride_h),
        slice(j, j + stride_w * (W_out - 1) + 1, stride_w),
    )


def as_float64(name, a, ndim=None):
    """``a`` as a float64 ndarray (a copy only if needed), checking its number of dimensions."""
    a = np.asarray(a, dtype=np.float64)
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {a.shape}")
    return a
