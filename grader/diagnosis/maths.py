"""Small alternative computations (NCHW) for the variants the reference cannot produce by being
called with other arguments: a convolution backward that assigns instead of adding or keeps its
padding, a max-pool backward that routes gradients by another rule.
"""
import numpy as np

from reference.windows import offset_slices, window_view

from grader.diagnosis.cases import Unrunnable, fmt_pair


def conv_backward_nchw(x, w, dout, stride, pad, assign=False, keep_pad=False):
    """dx and dw of a convolution over the windows dout's shape implies, with ``stride`` and
    per-side ``pad``. ``assign``: each window's contribution to dx overwrites instead of adding
    (later windows, in row-major order, win). ``keep_pad``: dx keeps the padding."""
    sh, sw = stride
    ph, pw = pad
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out, W_out = dout.shape[2:]
    if (H_out - 1) * sh + HH > H + 2 * ph or (W_out - 1) * sw + WW > W + 2 * pw:
        raise Unrunnable(f"with stride {fmt_pair(stride)} and pad {fmt_pair(pad)} per side, "
                         f"dout's {H_out}x{W_out} windows do not fit x")
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    windows = window_view(x_pad, HH, WW, sh, sw, H_out, W_out)
    dw = np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))
    dwindows = np.tensordot(dout, w, axes=([1], [0])).transpose(0, 3, 1, 2, 4, 5)
    dx_pad = np.zeros_like(x_pad)
    if assign:
        for i in range(H_out):
            for j in range(W_out):
                dx_pad[:, :, i * sh:i * sh + HH, j * sw:j * sw + WW] = dwindows[:, :, i, j]
    else:
        for i in range(HH):
            for j in range(WW):
                dx_pad[offset_slices(i, j, sh, sw, H_out, W_out)] += dwindows[..., i, j]
    dx = dx_pad if keep_pad else dx_pad[:, :, ph:ph + H, pw:pw + W]
    return np.ascontiguousarray(dx), dw


def maxpool_backward_nchw(x, dout, ph, pw, sh, sw, select="max", combine="add"):
    """dx of max-pooling over the windows dout's shape implies. ``select``: which positions of a
    window receive its gradient ('max': its first maximum; 'last': its last position; 'all': every
    position; 'mean': every position, divided by the window size). ``combine``: 'add' (right),
    'assign_window' (each window overwrites its whole region, zeros included) or 'assign_max' (each
    window overwrites the positions it selects)."""
    N, C, H, W = x.shape
    H_out, W_out = dout.shape[2:]
    if (H_out - 1) * sh + ph > H or (W_out - 1) * sw + pw > W:
        raise Unrunnable(f"dout's {H_out}x{W_out} windows with stride ({sh}, {sw}) do not fit x")
    windows = window_view(x, ph, pw, sh, sw, H_out, W_out)
    k = ph * pw
    flat = windows.reshape(N, C, H_out, W_out, k)
    if select == "max":
        chosen = np.eye(k, dtype=bool)[flat.argmax(axis=4)]
    elif select == "last":
        chosen = np.zeros(flat.shape, dtype=bool)
        chosen[..., -1] = True
    else:
        chosen = np.ones(flat.shape, dtype=bool)
    weight = 1.0 / k if select == "mean" else 1.0
    contributions = (np.where(chosen, dout[..., None] * weight, 0.0)).reshape(N, C, H_out, W_out, ph, pw)
    chosen = chosen.reshape(N, C, H_out, W_out, ph, pw)
    dx = np.zeros_like(x, dtype=np.float64)
    if combine == "add":
        for i in range(ph):
            for j in range(pw):
                dx[offset_slices(i, j, sh, sw, H_out, W_out)] += contributions[..., i, j]
    else:
        for i in range(H_out):
            for j in range(W_out):
                region = dx[:, :, i * sh:i * sh + ph, j * sw:j * sw + pw]
                if combine == "assign_window":
                    region[...] = contributions[:, :, i, j]
                else:
                    region[...] = np.where(chosen[:, :, i, j], contributions[:, :, i, j], region)
    return dx
