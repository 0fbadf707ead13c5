"""Simulated students: correct hand-ins, written as the hand-out's make_outputs.py writes them, each
with dropout masks of its own. The example class (examples/make_example_class.py), the tests and
the benchmarks build their classes from these; an instructor can too, to try cnngrade on a class
before a real one hands in.

Correct convolutions are computed with a student's own loops (``own_conv``), not the reference:
their sums run in another order, so their files are what an honest student writes rather than
byte copies of expected/.
"""
import numpy as np

from grader.assignment import ops
from grader.assignment.csvio import VALUE_FORMAT, format_array
from grader.assignment.generate import compute_expected


def naive_conv(x, w, b, dout, stride, pad):
    """A student's own loop convolution (NCHW, per-side pad): correct, but its sums run in another
    order than the reference's, so its files are not byte-identical to expected/ (which the batch
    would flag as copied)."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    out = np.zeros((N, F, H_out, W_out))
    dx_pad, dw, db = np.zeros_like(x_pad), np.zeros_like(w), np.zeros(F)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
                    if dout is not None:
                        g = dout[n, f, i, j]
                        dx_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW] += w[f] * g
                        dw[f] += window * g
                        db[f] += g
    return {"out": out, "dx": dx_pad[:, :, pad:pad + H, pad:pad + W], "dw": dw, "db": db}


def correct_outputs(assignment, inputs, seed, own_conv=True):
    """file name -> correct output array; train masks drawn from ``seed`` (distinct per student).

    ``own_conv`` computes the convolutions with the student's own loops rather than the reference.
    """
    outputs = dict(compute_expected(assignment, inputs))
    for problem in assignment.problems:
        if own_conv and problem.op.startswith("conv") and problem.layout == "NCHW":
            arrays = {spec.role: inputs[spec.file] for spec in problem.inputs}
            params = problem.reference_params
            results = naive_conv(arrays["x"], arrays["w"], arrays["b"], arrays.get("dout"),
                                 params["stride"], params["pad"])
            for spec in problem.outputs:
                outputs[spec.file] = results[spec.role]
        if problem.op.startswith("dropout"):
            arrays = {spec.role: inputs[spec.file] for spec in problem.inputs}
            results = ops.run(problem, arrays, dropout_seed=seed * 1000 + len(problem.name))
            for spec in problem.outputs:
                outputs[spec.file] = results[spec.role]
    return outputs


def texts(assignment, outputs, value_format=VALUE_FORMAT):
    """file name -> file text, written as make_outputs.py writes it (or with another format)."""
    result = {}
    for spec in assignment.outputs:
        if spec.file not in outputs:
            continue
        array = outputs[spec.file]
        if value_format == VALUE_FORMAT:
            result[spec.filename] = format_array(array, spec.file_format)
        elif spec.file_format == "rows":
            result[spec.filename] = "".join(" ".join(value_format % v for v in row) + "\n" for row in array)
        else:
            result[spec.filename] = "".join(value_format % v + "\n" for v in array.ravel())
    return result
