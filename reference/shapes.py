"""Output-size arithmetic shared by the layers, and the shape helpers of the DTU exercise style.

Sizes follow PyTorch: ``(H + 2*pad_h - HH) // stride_h + 1`` (floor), so windows that do not tile
the padded input leave its last rows or columns unused. A configuration whose output would be
empty is refused with a ValueError that carries the numbers.
"""
import operator


def as_pair(value, name):
    """Return ``(h, w)`` for an int or an ``(h, w)`` pair, refusing anything else."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or an (h, w) pair, got {value!r}")
        pair = tuple(value)
    else:
        pair = (value, value)
    try:
        if any(isinstance(v, bool) for v in pair):
            raise TypeError
        return operator.index(pair[0]), operator.index(pair[1])
    except TypeError:
        raise ValueError(f"{name} must be an int or an (h, w) pair of ints, got {value!r}") from None


def window_output_size(size, window, stride, pad, axis):
    """Number of window positions along one axis: ``(size + 2*pad - window) // stride + 1``.

    ``axis`` ('H' or 'W') only names the axis in error messages.
    """
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got stride_{axis.lower()}={stride}")
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got pad_{axis.lower()}={pad}")
    if window < 1:
        raise ValueError(f"window size must be >= 1, got {window} along {axis}")
    padded = size + 2 * pad
    if padded < window:
        raise ValueError(
            f"window of {window} does not fit {axis}={size} with pad={pad} on each side "
            f"(padded size {padded}): the output would be empty"
        )
    return (padded - window) // stride + 1


def _check_tiling(size, window, stride, pad, axis):
    padded = size + 2 * pad
    if (padded - window) % stride:
        raise ValueError(
            f"pad={pad}, stride={stride} leave {axis}={size} untiled: "
            f"({size} + 2*{pad} - {window}) = {padded - window} is not a multiple of {stride}"
        )


def conv_output_shape(input_shape, filter_shape, stride=1, pad=0, exact=False):
    """Output shape of a convolution, or a ValueError saying why the configuration is invalid.

    Parameters
    ----------
    input_shape : tuple
        ``(N, C, H, W)``.
    filter_shape : tuple
        ``(F, C, HH, WW)``; its C must equal the input's.
    stride, pad : int or (int, int)
        Step between windows and zeros added on EACH side, per axis.
    exact : bool
        If True, also refuse a configuration whose windows do not tile the padded input exactly
        (the question the DTU exercises ask); by default the last rows/columns are dropped, as
        PyTorch does.

    Returns
    -------
    tuple
        ``(N, F, H_out, W_out)`` with ``H_out = (H + 2*pad_h - HH) // stride_h + 1``.
    """
    if len(input_shape) != 4:
        raise ValueError(f"input_shape must be (N, C, H, W), got {tuple(input_shape)}")
    if len(filter_shape) != 4:
        raise ValueError(f"filter_shape must be (F, C, HH, WW), got {tuple(filter_shape)}")
    N, C, H, W = input_shape
    F, C_w, HH, WW = filter_shape
    if C != C_w:
        raise ValueError(f"input has C={C} channels but the filters expect C={C_w}")
    stride_h, stride_w = as_pair(stride, "stride")
    pad_h, pad_w = as_pair(pad, "pad")
    H_out = window_output_size(H, HH, stride_h, pad_h, "H")
    W_out = window_output_size(W, WW, stride_w, pad_w, "W")
    if exact:
        _check_tiling(H, HH, stride_h, pad_h, "H")
        _check_tiling(W, WW, stride_w, pad_w, "W")
    return (N, F, H_out, W_out)


def pool_output_shape(input_shape, pool_height, pool_width, stride, exact=False):
    """Output shape ``(N, C, H_out, W_out)`` of max-pooling (no padding) over ``(N, C, H, W)``.

    ``stride`` may be an int or an ``(h, w)`` pair; ``exact`` as in :func:`conv_output_shape`.
    """
    if len(input_shape) != 4:
        raise ValueError(f"input_shape must be (N, C, H, W), got {tuple(input_shape)}")
    N, C, H, W = input_shape
    stride_h, stride_w = as_pair(stride, "stride")
    H_out = window_output_size(H, pool_height, stride_h, 0, "H")
    W_out = window_output_size(W, pool_width, stride_w, 0, "W")
    if exact:
        _check_tiling(H, pool_height, stride_h, 0, "H")
        _check_tiling(W, pool_width, stride_w, 0, "W")
    return (N, C, H_out, W_out)
