"""Pure-NumPy reference layers: the single source of truth for cnngrade's expected outputs.

Every function follows the CS231n contract (``op_forward -> (out, cache)``,
``op_backward(dout, cache) -> grads``); arrays are NCHW, float64 in and out, inputs never modified.
"""
from .conv import conv_backward, conv_forward
from .dropout import dropout_backward, dropout_forward
from .pool import max_pool_backward, max_pool_forward
from .shapes import conv_output_shape, pool_output_shape

__all__ = [
    "conv_forward",
    "conv_backward",
    "max_pool_forward",
    "max_pool_backward",
    "dropout_forward",
    "dropout_backward",
    "conv_output_shape",
    "pool_output_shape",
]
