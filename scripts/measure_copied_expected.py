"""How often does honest code write every byte of a correctly rounded expected file?

Run from the repository root:

    python scripts/measure_copied_expected.py [--draws 20] [--specs assignment.toml ...]

For the default assignment and each example spec, and for every deterministic output, each honest
implementation is run on the spec's inputs and on DRAWS further input draws (the spec with seed
``seed + k``: linspace inputs are the same on every draw, random ones differ). An implementation
"reproduces" an output when its file (``%.18e``, one value per line) equals the correctly rounded
expected file byte for byte, which is when every float64 value is bit-identical.

The implementations are the panel grader/flags.py uses for ``copied_expected`` (per-sample matrix
products, CS231n's im2col and strides code, whole-batch products, einsum, plain loops; for pooling,
plain loops; for dropout's test mode, the identity), plus the fast reference (reference.*), the
loops of reference/loops.py and a float32 implementation (einsum or maximum in float32). For contrast,
the last column says how many of them reproduce the FAST reference's file, the bytes expected/
held before it was correctly rounded. The figures describe this machine's NumPy and BLAS.
"""
import argparse
import dataclasses
import hashlib
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reference import loops  # noqa: E402  (the readable loop implementations)
from grader.assignment import ops  # noqa: E402
from grader.batch.copied import _panel as flags_panel  # noqa: E402  (the copied_expected panel)
from grader.assignment.generate import compute_expected, make_inputs  # noqa: E402
from grader.assignment.spec import load_spec  # noqa: E402

SPECS = [ROOT / "assignment.toml", *sorted((ROOT / "examples/specs").glob("*.toml"))]


def implementations(op, a, params):
    """(name, role -> NCHW output) for every honest implementation of ``op`` on NCHW ``a``."""
    yield from flags_panel(op, a, params)
    yield "fast reference", ops.run_nchw(op, a, params, dropout_seed=0)
    if op.startswith("dropout"):
        yield "float32", {"out_test": a["x"].astype(np.float32).astype(np.float64),
                          "dx_test": a.get("dout", a["x"]).astype(np.float32).astype(np.float64)}
        return
    stride = params.get("stride", 1)
    if op.startswith("conv"):
        pad = params.get("pad", 0)
        if op == "conv_forward":
            yield "reference/loops.py", {"out": loops.conv_forward_loops(a["x"], a["w"], a["b"], stride,
                                                                    pad)}
        else:
            dx, dw, db = loops.conv_backward_loops(a["dout"], a["x"], a["w"], stride, pad)
            yield "reference/loops.py", {"dx": dx, "dw": dw, "db": db}
        yield "float32", _float32_conv(op, a, params)
        return
    ph, pw = params["pool_height"], params["pool_width"]
    out = loops.max_pool_forward_loops(a["x"], ph, pw, stride)
    result = {"out": out}
    if "dout" in a:
        result["dx"] = loops.max_pool_backward_loops(a["dout"], a["x"], ph, pw, stride)
    yield "reference/loops.py", result
    x32 = a["x"].astype(np.float32)
    yield "float32", {"out": loops.max_pool_forward_loops(x32, ph, pw, stride).astype(np.float32)
                      .astype(np.float64)}


def _float32_conv(op, a, params):
    """A float32 student: einsum over the windows in float32, written as float64."""
    sh, sw = _pair(params.get("stride", 1))
    ph, pw = _pair(params.get("pad", 0))
    x = np.pad(a["x"].astype(np.float32), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    w = a["w"].astype(np.float32)
    F, _, HH, WW = w.shape
    windows = np.lib.stride_tricks.sliding_window_view(x, (HH, WW), axis=(2, 3))[:, :, ::sh, ::sw]
    if op == "conv_forward":
        out = np.einsum("nchwij,fcij->nfhw", windows, w) + a["b"].astype(np.float32)[:, None, None]
        return {"out": out.astype(np.float64)}
    dout = a["dout"].astype(np.float32)
    windows = windows[:, :, :dout.shape[2], :dout.shape[3]]
    return {"dw": np.einsum("nfhw,nchwij->fcij", dout, windows).astype(np.float64),
            "db": dout.sum(axis=(0, 2, 3)).astype(np.float64)}


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def same_bits(a, b):
    a, b = np.ascontiguousarray(a, np.float64), np.ascontiguousarray(b, np.float64)
    return a.shape == b.shape and np.array_equal(a.view(np.int64), b.view(np.int64))


def measure(assignment, draws):
    """output file -> {"size", "draws", "inputs": distinct input digests, "exact": member ->
    [files equal, elements equal], "fast": member -> files equal to the fast reference's}."""
    figures = {}
    for k in range(draws + 1):
        spec = assignment if k == 0 else dataclasses.replace(assignment, seed=assignment.seed + k)
        inputs = make_inputs(spec)
        expected = compute_expected(spec, inputs)
        for problem in spec.problems:
            outputs = [o for o in problem.outputs if not o.statistical]
            arrays = {s.role: ops.to_nchw(s.role, np.asarray(inputs[s.file], np.float64),
                                          problem.layout) for s in problem.inputs}
            digest = hashlib.sha256(b"".join(np.ascontiguousarray(inputs[s.file]).tobytes()
                                             for s in problem.inputs)).hexdigest()
            params = problem.reference_params
            fast = ops.run_nchw(problem.op, arrays, params, dropout_seed=0)
            for name, result in implementations(problem.op, arrays, params):
                for output in outputs:
                    if output.role not in result:
                        continue
                    entry = figures.setdefault(output.file, {
                        "size": int(np.prod(output.shape)), "draws": draws + 1, "inputs": set(),
                        "exact": defaultdict(lambda: [0, 0]), "fast": defaultdict(int)})
                    entry["inputs"].add(digest)
                    got = ops.from_nchw(output.role, result[output.role], problem.layout)
                    want = expected[output.file]
                    counts = entry["exact"][name]
                    counts[0] += same_bits(got, want)
                    counts[1] += int(np.sum(got.view(np.int64) == np.ascontiguousarray(
                        want, np.float64).view(np.int64)))
                    entry["fast"][name] += same_bits(got, ops.from_nchw(
                        output.role, fast[output.role], problem.layout))
    return figures


def report(spec_path, figures):
    print(f"## {spec_path.relative_to(ROOT)}")
    print()
    print("| output | values | draws (distinct inputs) | members | files reproduced (member x "
          "draw) | members that ever reproduce | elements bit-identical | files = fast "
          "reference's |")
    print("|---|---:|---:|---:|---:|---|---:|---:|")
    for file, entry in figures.items():
        exact, draws = entry["exact"], entry["draws"]
        members = len(exact)
        files = sum(c[0] for c in exact.values())
        elements = sum(c[1] for c in exact.values())
        ever = [f"{name} {c[0]}/{draws}" for name, c in exact.items() if c[0]]
        fast = sum(entry["fast"].values())
        print(f"| {file} | {entry['size']} | {draws} ({len(entry['inputs'])}) | {members} | "
              f"{files}/{members * draws} "
              f"({100 * files / (members * draws):.0f}%) | {'; '.join(ever) or 'none'} | "
              f"{100 * elements / (members * draws * entry['size']):.1f}% | "
              f"{fast}/{members * draws} |")
    print()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=20, help="input draws besides the spec's own")
    parser.add_argument("--specs", nargs="*", type=Path, default=SPECS)
    args = parser.parse_args(argv)
    print(f"NumPy {np.__version__}; {args.draws} draws besides each spec's own inputs")
    print()
    for spec_path in args.specs:
        spec_path = spec_path.resolve()
        report(spec_path, measure(load_spec(spec_path), args.draws))
    return 0


if __name__ == "__main__":
    sys.exit(main())
