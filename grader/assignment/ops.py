"""The six operations of the assignment: their input and output roles, and how to run them.

Arrays here are in the assignment's file layout (NCHW or NHWC); the reference always works in
NCHW, so each run converts on the way in and out. Parameters are already resolved to the
reference's meaning (per-side pad, drop probability) by the spec layer.
"""
from dataclasses import dataclass

import numpy as np

import reference
import reference.exact


@dataclass(frozen=True)
class OpSignature:
    inputs: tuple
    outputs: tuple
    params: tuple  # parameter names the spec may give for this op
    dropout: bool = False


OPS = {
    "conv_forward": OpSignature(("x", "w", "b"), ("out",), ("stride", "pad")),
    "conv_backward": OpSignature(("x", "w", "b", "dout"), ("dx", "dw", "db"), ("stride", "pad")),
    "maxpool_forward": OpSignature(("x",), ("out",), ("pool_height", "pool_width", "stride")),
    "maxpool_backward": OpSignature(("x", "dout"), ("dx",), ("pool_height", "pool_width", "stride")),
    "dropout_forward": OpSignature(("x",), ("out_train", "out_test"), ("p", "seed"), dropout=True),
    "dropout_backward": OpSignature(("x", "dout"), ("dx_train", "dx_test"), ("p", "seed"), dropout=True),
}

# Roles holding image-like arrays, converted between NHWC and NCHW; weights have their own order.
_IMAGE_ROLES = {"x", "dout", "out", "dx"}
_WEIGHT_ROLES = {"w", "dw"}


def to_nchw(role, array, layout):
    """``array`` of a given role from the file layout to the reference's NCHW/(F, C, HH, WW)."""
    if layout == "NCHW" or array.ndim != 4:
        return array
    if role in _IMAGE_ROLES:
        return array.transpose(0, 3, 1, 2)
    if role in _WEIGHT_ROLES:  # (HH, WW, C, F) -> (F, C, HH, WW)
        return array.transpose(3, 2, 0, 1)
    return array


def from_nchw(role, array, layout):
    """Inverse of :func:`to_nchw`, made contiguous so that row-major flattening is well defined."""
    if layout == "NCHW" or array.ndim != 4:
        return np.ascontiguousarray(array)
    if role in _IMAGE_ROLES:
        return np.ascontiguousarray(array.transpose(0, 2, 3, 1))
    if role in _WEIGHT_ROLES:
        return np.ascontiguousarray(array.transpose(2, 3, 1, 0))
    return np.ascontiguousarray(array)


def run_nchw(op, arrays, params, dropout_seed=None, exact=False):
    """Run ``op`` on NCHW ``arrays`` (role -> ndarray) with resolved ``params``; role -> output.

    Dropout train outputs need a mask: ``dropout_seed`` chooses it (any seed gives a correct
    answer; expected/ keeps only the test-mode outputs). ``exact`` runs the correctly rounded
    layers (reference.exact: the same bytes on every machine, for expected outputs) instead of
    the fast ones.
    """
    layers = reference.exact if exact else reference
    if op == "conv_forward":
        out, _ = layers.conv_forward(arrays["x"], arrays["w"], arrays["b"], params)
        return {"out": out}
    if op == "conv_backward":
        _, cache = layers.conv_forward(arrays["x"], arrays["w"], arrays["b"], params)
        dx, dw, db = layers.conv_backward(arrays["dout"], cache)
        return {"dx": dx, "dw": dw, "db": db}
    if op == "maxpool_forward":
        out, _ = layers.max_pool_forward(arrays["x"], params)
        return {"out": out}
    if op == "maxpool_backward":
        _, cache = layers.max_pool_forward(arrays["x"], params)
        return {"dx": layers.max_pool_backward(arrays["dout"], cache)}
    if op in ("dropout_forward", "dropout_backward"):
        results = {}
        for mode in ("train", "test"):
            dropout_param = {"p": params["p"], "mode": mode, "seed": dropout_seed}
            out, cache = layers.dropout_forward(arrays["x"], dropout_param)
            if op == "dropout_forward":
                results[f"out_{mode}"] = out
            else:
                results[f"dx_{mode}"] = layers.dropout_backward(arrays["dout"], cache)
        return results
    raise ValueError(f"unknown op {op!r}")


def run(problem, arrays, dropout_seed=None, params=None, exact=False):
    """Run a spec problem on file-layout ``arrays`` (role -> ndarray); role -> file-layout output.

    ``params`` overrides the problem's resolved reference parameters (diagnosis runs variants);
    ``exact`` selects the correctly rounded layers, as :func:`run_nchw` says.
    """
    layout = problem.layout
    nchw = {role: to_nchw(role, a, layout) for role, a in arrays.items()}
    outputs = run_nchw(problem.op, nchw, params if params is not None else problem.reference_params,
                       dropout_seed, exact)
    return {role: from_nchw(role, a, layout) for role, a in outputs.items()}


def run_many(problem, arrays_list):
    """:func:`run` with ``exact=True`` on each of ``arrays_list`` (file-layout role -> ndarray
    dicts, one per group, e.g. per student), computed together: a list of role -> file-layout
    output dicts, each byte-identical to what :func:`run` gives for its own arrays.

    Dropout gives its test-mode outputs only (``out_test``, ``dx_test``): the train-mode ones
    depend on a random mask, are judged statistically and are no expected output.
    """
    layout = problem.layout
    groups = [{role: to_nchw(role, a, layout) for role, a in arrays.items()}
              for arrays in arrays_list]
    if not groups:
        return []
    stacked = {role: np.stack([arrays[role] for arrays in groups]) for role in groups[0]}
    outputs = _run_groups(problem.op, stacked, problem.reference_params)
    return [{role: from_nchw(role, a[g], layout) for role, a in outputs.items()}
            for g in range(len(groups))]


def _run_groups(op, arrays, params):
    """Exact outputs of ``op`` on NCHW ``arrays`` each with a leading group axis; role -> output
    with the same leading axis. Convolutions run grouped; max-pool and dropout, which work sample
    by sample, run once on the groups merged into the batch axis."""
    exact = reference.exact
    if op == "conv_forward":
        out, _ = exact.conv_forward_groups(arrays["x"], arrays["w"], arrays["b"], params)
        return {"out": out}
    if op == "conv_backward":
        # The backward reads its cache's inputs alone: the forward's output is not computed.
        cache = (arrays["x"], arrays["w"], arrays["b"], params)
        dx, dw, db = exact.conv_backward_groups(arrays["dout"], cache)
        return {"dx": dx, "dw": dw, "db": db}
    if op in ("maxpool_forward", "maxpool_backward"):
        x = arrays["x"]
        out, cache = exact.max_pool_forward(_merged(x), params)
        if op == "maxpool_forward":
            return {"out": out.reshape(x.shape[:2] + out.shape[1:])}
        return {"dx": exact.max_pool_backward(_merged(arrays["dout"]), cache).reshape(x.shape)}
    if op in ("dropout_forward", "dropout_backward"):
        # Test mode is the identity whatever the shape; dropout_forward still checks p.
        out, cache = exact.dropout_forward(arrays["x"], {"p": params["p"], "mode": "test"})
        if op == "dropout_forward":
            return {"out_test": out}
        return {"dx_test": exact.dropout_backward(arrays["dout"], cache)}
    raise ValueError(f"unknown op {op!r}")


def _merged(array):
    """``array (G, N, ...)`` as ``(G * N, ...)``: the groups' samples in one batch."""
    return array.reshape((array.shape[0] * array.shape[1],) + array.shape[2:])
