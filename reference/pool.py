"""Max-pooling layer (no padding; windows may overlap)."""
import numpy as np

from .shapes import as_pair, pool_output_shape
from .windows import as_float64, offset_slices


def pool_geometry(x_shape, pool_param):
    """``(pool_height, pool_width, stride_h, stride_w, H_out, W_out)`` for ``x_shape``."""
    try:
        pool_height = int(pool_param["pool_height"])
        pool_width = int(pool_param["pool_width"])
    except KeyError as missing:
        raise ValueError(f"pool_param needs {missing.args[0]!r}") from None
    stride_h, stride_w = as_pair(pool_param.get("stride", 1), "stride")
    _, _, H_out, W_out = pool_output_shape(x_shape, pool_height, pool_width, (stride_h, stride_w))
    return pool_height, pool_width, stride_h, stride_w, H_out, W_out


def max_pool_forward(x, pool_param):
    """Forward pass of a max-pooling layer.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input data.
    pool_param : dict
        ``'pool_height'``, ``'pool_width'``: window size; ``'stride'``: step between windows (an
        int or an ``(h, w)`` pair). Windows overlap when the stride is smaller than the window.

    Returns
    -------
    out : ndarray, shape (N, C, H_out, W_out)
        ``H_out = (H - pool_height) // stride_h + 1``, ``W_out`` likewise.
    cache : tuple
        ``(x, pool_param, out)`` for :func:`max_pool_backward`.
    """
    x = as_float64("x", x, 4)
    ph, pw, sh, sw, H_out, W_out = pool_geometry(x.shape, pool_param)
    # Running maximum over the window offsets: each step reads one strided view of x.
    out = x[offset_slices(0, 0, sh, sw, H_out, W_out)].copy()
    for i in range(ph):
        for j in range(pw):
            if i or j:
                np.maximum(out, x[offset_slices(i, j, sh, sw, H_out, W_out)], out=out)
    return out, (x, pool_param, out.copy())


def max_pool_backward(dout, cache):
    """Backward pass of a max-pooling layer.

    Each window passes its upstream derivative to the position of its maximum (the first one in
    row-major order if several tie, as PyTorch does). Where windows overlap, the derivatives that
    reach one input position are summed.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H_out, W_out)
        Upstream derivatives.
    cache : tuple
        ``(x, pool_param, out)`` as returned by :func:`max_pool_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    x, pool_param, out = cache
    dout = as_float64("dout", dout, 4)
    ph, pw, sh, sw, H_out, W_out = pool_geometry(x.shape, pool_param)
    if dout.shape != out.shape:
        raise ValueError(f"dout must have shape {out.shape}, got {dout.shape}")
    N, C, H, W = x.shape

    K = ph * pw
    k = first_max_offsets(x, out, ph, pw, sh, sw)
    # Its flat index into x: offset within the window plus the window's top-left corner.
    offset_in_window = (np.arange(K) // pw) * W + np.arange(K) % pw
    argmax = offset_in_window[k]
    argmax += (np.arange(N * C) * (H * W)).reshape(N, C, 1, 1)
    argmax += (np.arange(H_out) * (sh * W)).reshape(H_out, 1) + np.arange(W_out) * sw
    # One accumulating scatter: where windows overlap, an input may be the maximum of several.
    dx = np.bincount(argmax.ravel(), weights=dout.ravel(), minlength=x.size)
    return dx.reshape(x.shape)


def first_max_offsets(x, out, ph, pw, sh, sw):
    """Row-major offset ``k = i*pw + j`` in its window of every window's FIRST maximum.

    ``out`` is the forward output (the window maxima), shape ``(N, C, H_out, W_out)``; so is the
    result (an integer array). A window holding NaN has no element equal to its maximum: its
    offset is 0.
    """
    H_out, W_out = out.shape[2:]
    # Row-major position k of every window's FIRST maximum. Scanning the offsets in order, offset k
    # scores K - k where it holds the window's maximum and 0 elsewhere, so the highest score of a
    # window names its first maximum (small unsigned scores keep every pass cheap).
    K = ph * pw
    score_type = np.min_scalar_type(K)
    best_score = np.zeros(out.shape, dtype=score_type)
    is_max = np.empty(out.shape, dtype=bool)
    for i in range(ph):
        for j in range(pw):
            np.equal(x[offset_slices(i, j, sh, sw, H_out, W_out)], out, out=is_max)
            np.maximum(best_score, is_max * score_type.type(K - (i * pw + j)), out=best_score)
    return (K - best_score.astype(np.intp)) % K
