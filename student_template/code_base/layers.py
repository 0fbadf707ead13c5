"""The six layers of the assignment: fill in every function marked TODO.

Every function follows one contract (as in CS231n):

    out, cache = layer_forward(inputs..., params)   # cache: whatever the backward pass needs
    grads      = layer_backward(dout, cache)

Arrays are NumPy float64 in the NCHW layout: N images, C channels, height H, width W. Return new
arrays; never modify the inputs. Use NumPy only (no PyTorch, TensorFlow, SciPy), and no file I/O
or printing here: make_outputs.py reads the input files and writes your outputs.

Conventions of this assignment (the grader checks them):

- ``conv_param['pad']`` is the number of zeros added on EACH side of H and W, as in CS231n.
  The assignment sheet states its pad as a TOTAL ("pad 2 means a 1-pixel border");
  make_outputs.py converts it for you, so these functions only ever see the per-side pad.
- Convolution is cross-correlation, as every deep-learning library computes it: do NOT flip the
  kernel. ``out[n, f, i, j] = b[f] + sum over c, u, v of
  x_pad[n, c, i*stride + u, j*stride + v] * w[f, c, u, v]``.
- Output size, with floor division: ``H_out = (H + 2*pad - HH) // stride + 1`` (and W likewise).
  Max-pooling has no padding: ``H_out = (H - pool_height) // stride + 1``.
- Pooling windows may overlap (stride smaller than the window): in the backward pass, gradients
  reaching the same input position from several windows are SUMMED.
- Dropout is inverted dropout: ``dropout_param['p']`` is the probability of DROPPING a unit
  (not of keeping it). In 'train' mode the kept units are scaled by ``1 / (1 - p)``; in 'test'
  mode the layer is the identity (no scaling there). Draw the mask from
  ``np.random.default_rng(dropout_param.get('seed'))``: the same seed must give the same mask,
  and no seed must give a fresh random mask on every call.

Check your work with ``python self_check.py``, then write your outputs with
``python make_outputs.py``.
"""
import numpy as np  # noqa: F401  (your layers will need it)


def conv_forward(x, w, b, conv_param):
    """Forward pass of a convolutional layer (cross-correlation, no kernel flip).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input data: N images with C channels of height H and width W.
    w : ndarray, shape (F, C, HH, WW)
        Filter weights: F filters, each spanning all C channels, of height HH and width WW.
    b : ndarray, shape (F,)
        Biases, one per filter.
    conv_param : dict
        ``'stride'``: the step, in pixels, between neighbouring windows (the same along H and W).
        ``'pad'``: the number of zeros added on EACH side of H and W before convolving (so the
        padded input has height ``H + 2*pad``). make_outputs.py has already converted the
        assignment's total pad (pad 2 means a 1-pixel border) into this per-side pad.

    Returns
    -------
    out : ndarray, shape (N, F, H_out, W_out)
        ``H_out = (H + 2*pad - HH) // stride + 1`` and ``W_out = (W + 2*pad - WW) // stride + 1``.
        ``out[n, f, i, j] = b[f] + sum over c, u, v of
        x_pad[n, c, i*stride + u, j*stride + v] * w[f, c, u, v]``, where ``x_pad`` is ``x``
        padded with zeros.
    cache : tuple
        What :func:`conv_backward` needs, e.g. ``(x, w, b, conv_param)``.
    """
    # TODO: pad x with np.pad (zeros on H and W only), then compute every output position.
    raise NotImplementedError("conv_forward is not implemented yet")


def conv_backward(dout, cache):
    """Backward pass of a convolutional layer.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
        Upstream derivatives of the loss with respect to ``out``.
    cache : tuple
        As returned by :func:`conv_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        Gradient with respect to ``x`` (the unpadded input: drop the padding's rows and columns).
        Where windows overlap (stride < HH), contributions to one input position are summed.
    dw : ndarray, shape (F, C, HH, WW)
        Gradient with respect to ``w``.
    db : ndarray, shape (F,)
        Gradient with respect to ``b``: ``dout`` summed over N, H_out and W_out.
    """
    # TODO: compute dx, dw and db.
    raise NotImplementedError("conv_backward is not implemented yet")


def max_pool_forward(x, pool_param):
    """Forward pass of a max-pooling layer (no padding).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input data.
    pool_param : dict
        ``'pool_height'``, ``'pool_width'``: the window's height and width; ``'stride'``: the step
        between neighbouring windows. Each channel is pooled on its own.

    Returns
    -------
    out : ndarray, shape (N, C, H_out, W_out)
        ``H_out = (H - pool_height) // stride + 1`` and ``W_out = (W - pool_width) // stride + 1``.
        ``out[n, c, i, j]`` is the largest value of ``x[n, c]`` in the window whose top-left corner
        is at ``(i*stride, j*stride)``.
    cache : tuple
        What :func:`max_pool_backward` needs, e.g. ``(x, pool_param)``.
    """
    # TODO: take the maximum over every window.
    raise NotImplementedError("max_pool_forward is not implemented yet")


def max_pool_backward(dout, cache):
    """Backward pass of a max-pooling layer.

    Each window passes its upstream derivative to the position of its maximum (to the first one,
    in row-major order, if several values tie); every other position of the window gets 0. Windows
    may overlap (stride smaller than the window): derivatives reaching one input position from
    several windows are SUMMED, not overwritten.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H_out, W_out)
        Upstream derivatives of the loss with respect to ``out``.
    cache : tuple
        As returned by :func:`max_pool_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        Gradient with respect to ``x``.
    """
    # TODO: route each window's derivative to its maximum, with +=.
    raise NotImplementedError("max_pool_backward is not implemented yet")


def dropout_forward(x, dropout_param):
    """Forward pass of inverted dropout.

    Parameters
    ----------
    x : ndarray, any shape
        Input data.
    dropout_param : dict
        ``'p'``: the probability of DROPPING each unit (setting it to 0), in [0, 1). It is NOT the
        probability of keeping it.
        ``'mode'``: ``'train'`` or ``'test'``.
        ``'seed'`` (optional, may be None): draw the mask from
        ``np.random.default_rng(dropout_param.get('seed'))``, so that the same seed gives the same
        mask and no seed gives a fresh random mask.

    Returns
    -------
    out : ndarray, same shape as x
        'train' mode: each unit is dropped (0) with probability ``p``, independently of the others;
        the kept units are scaled by ``1 / (1 - p)``, so that ``out`` has the same expected value as
        ``x``. 'test' mode: ``out`` equals ``x`` (no dropping, no scaling).
    cache : tuple
        What :func:`dropout_backward` needs, e.g. ``(dropout_param, mask)`` (``mask`` may be None in
        test mode).
    """
    # TODO: in train mode, draw a mask that keeps each unit with probability 1 - p and scale it.
    raise NotImplementedError("dropout_forward is not implemented yet")


def dropout_backward(dout, cache):
    """Backward pass of inverted dropout.

    Parameters
    ----------
    dout : ndarray, same shape as the forward pass's x
        Upstream derivatives of the loss with respect to ``out``.
    cache : tuple
        As returned by :func:`dropout_forward`.

    Returns
    -------
    dx : ndarray, same shape as dout
        'train' mode: ``dout`` through the SAME mask as the forward pass (0 where a unit was
        dropped, ``dout / (1 - p)`` where it was kept). 'test' mode: ``dout`` unchanged.
    """
    # TODO: reuse the forward pass's mask from the cache; do not draw a new one.
    raise NotImplementedError("dropout_backward is not implemented yet")
