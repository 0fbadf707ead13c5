"""Numerical gradients by centred differences, and the relative error to compare them with
(as in CS231n's gradient_check.py)."""
import numpy as np


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Numerical gradient of ``sum(f(x) * df)`` with respect to ``x``, by centred differences.

    Parameters
    ----------
    f : callable
        Takes an array shaped like ``x`` and returns an array shaped like ``df``.
    x : ndarray
        The point at which to evaluate the gradient. It is changed one element at a time while
        this runs and restored afterwards, so ``f`` must read it afresh on every call.
    df : ndarray
        Upstream derivatives, shaped like ``f(x)``.
    h : float
        The step: ``(f(x + h) - f(x - h)) / (2h)`` for each element in turn.

    Returns
    -------
    grad : ndarray, same shape as x
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + h
        pos = np.array(f(x), dtype=np.float64, copy=True)
        x[ix] = oldval - h
        neg = np.array(f(x), dtype=np.float64, copy=True)
        x[ix] = oldval
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def rel_error(x, y):
    """Relative error ``max(|x - y| / max(1e-8, |x| + |y|))``: around 1e-8 or less when correct."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))
