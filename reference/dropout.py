"""Inverted dropout, Caffe convention: ``p`` is the probability of DROPPING a unit."""
import numpy as np


def _drop_prob(dropout_param):
    try:
        drop_prob = float(dropout_param["p"])
    except KeyError:
        raise ValueError("dropout_param needs 'p', the probability of dropping a unit") from None
    if not 0.0 <= drop_prob < 1.0:
        raise ValueError(f"p is the probability of dropping a unit and must lie in [0, 1), got {drop_prob}")
    return drop_prob


def _mode(dropout_param):
    mode = dropout_param.get("mode", "test")
    if mode not in ("train", "test"):
        raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
    return mode


def dropout_forward(x, dropout_param):
    """Forward pass of inverted dropout.

    Parameters
    ----------
    x : ndarray, any shape
        Input data.
    dropout_param : dict
        ``'p'``: probability of dropping each unit, in [0, 1); ``'mode'``: ``'train'`` drops units
        and scales the kept ones by ``1 / (1 - p)``, ``'test'`` is the identity; ``'seed'``
        (optional): the same seed gives the same mask.

    Returns
    -------
    out : ndarray, same shape as x
    cache : tuple
        ``(dropout_param, mask)``; ``mask`` holds ``1 / (1 - p)`` where a unit is kept and 0 where it
        is dropped (None in test mode).
    """
    x = np.asarray(x, dtype=np.float64)
    drop_prob = _drop_prob(dropout_param)
    if _mode(dropout_param) == "test":
        return x.copy(), (dropout_param, None)
    rng = np.random.default_rng(dropout_param.get("seed"))
    keep = rng.random(x.shape) >= drop_prob
    mask = keep / (1.0 - drop_prob)
    return x * mask, (dropout_param, mask)


def dropout_backward(dout, cache):
    """Backward pass of inverted dropout: the forward mask applied to ``dout``.

    Parameters
    ----------
    dout : ndarray, same shape as the forward input
    cache : tuple
        ``(dropout_param, mask)`` as returned by :func:`dropout_forward`.

    Returns
    -------
    dx : ndarray, same shape as dout
    """
    dropout_param, mask = cache
    dout = np.asarray(dout, dtype=np.float64)
    if _mode(dropout_param) == "test":
        return dout.copy()
    if dout.shape != mask.shape:
        raise ValueError(f"dout must have the forward input's shape {mask.shape}, got {dout.shape}")
    return dout * mask
