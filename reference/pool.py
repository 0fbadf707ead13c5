"""Max-pooling layer (no padding; windows may overlap)."""
import numpy as np

from .shapes import as_pair, pool_output_shape
from .windows import as_float64, offset_slices, window_view


def _pool_geometry(x_shape, pool_param):
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
        ``(x, pool_param)`` for :func:`max_pool_backward`.
    """
    x = as_float64("x", x, 4)
    ph, pw, sh, sw, H_out, W_out = _pool_geometry(x.shape, pool_param)
    out = window_view(x, ph, pw, sh, sw, H_out, W_out).max(axis=(4, 5))
    return out, (x, pool_param)


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
        ``(x, pool_param)`` as returned by :func:`max_pool_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    x, pool_param = cache
    dout = as_float64("dout", dout, 4)
    ph, pw, sh, sw, H_out, W_out = _pool_geometry(x.shape, pool_param)
    if dout.shape != x.shape[:2] + (H_out, W_out):
        raise ValueError(f"dout must have shape {x.shape[:2] + (H_out, W_out)}, got {dout.shape}")
    windows = window_view(x, ph, pw, sh, sw, H_out, W_out)
    argmax = windows.reshape(windows.shape[:4] + (ph * pw,)).argmax(axis=4)
    dx = np.zeros_like(x)
    for i in range(ph):
        for j in range(pw):
            dx[offset_slices(i, j, sh, sw, H_out, W_out)] += np.where(argmax == i * pw + j, dout, 0.0)
    return dx
