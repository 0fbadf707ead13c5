"""Time the reference layers (forward + backward) against the plain loops and, if installed, PyTorch.

Run from the repository root:

    python benchmarks/bench_reference.py [--repeats 15] [--runs 5] [--no-loops]

Everything runs on ONE thread (BLAS and PyTorch alike), so the figures compare algorithms rather than
core counts. Each time is the best of several repeats (time.perf_counter); the whole measurement is
made several times (runs) and the table shows the median run with the spread of the ratio. The loop versions
(reference/loops.py) are far too slow to run on whole batches: they are timed on the first few samples
and scaled linearly to the full batch, which is exact up to noise since their cost is linear in N.
PyTorch is optional and never a dependency; without it the torch columns are left out. When it is
there, its results are first checked against the reference's, so both sides time the same thing.
"""
import os

# Before numpy (or torch) is imported, or the BLAS thread pools are already sized.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import reference  # noqa: E402
from reference.loops import (  # noqa: E402
    conv_backward_loops,
    conv_forward_loops,
    max_pool_backward_loops,
    max_pool_forward_loops,
)

try:
    import torch
    import torch.nn.functional as torch_functional

    torch.set_num_threads(1)
except ImportError:  # optional
    torch = None

# (label, kind, x shape, layer parameters, samples the loops run on)
CONFIGS = [
    ("conv x 100x3x31x31, w 25x3x3x3, stride 2, pad 1", "conv", (100, 3, 31, 31),
     {"w": (25, 3, 3, 3), "stride": 2, "pad": 1}, 4),
    ("conv x 64x16x32x32, w 32x16x3x3, stride 1, pad 1", "conv", (64, 16, 32, 32),
     {"w": (32, 16, 3, 3), "stride": 1, "pad": 1}, 1),
    ("conv x 32x3x32x32, w 16x3x5x5, stride 1, pad 2", "conv", (32, 3, 32, 32),
     {"w": (16, 3, 5, 5), "stride": 1, "pad": 2}, 2),
    ("max-pool 2x2 stride 2 on 100x3x32x32", "pool", (100, 3, 32, 32),
     {"pool": 2, "stride": 2}, 10),
    ("max-pool 3x3 stride 2 on 64x16x32x32", "pool", (64, 16, 32, 32),
     {"pool": 3, "stride": 2}, 2),
]


def best_times(fns, repeats):
    """Best wall time in seconds of each function over ``repeats`` runs, after one warm-up run each.

    The functions take turns within every round, so a burst of load on the machine slows them alike
    rather than spoiling one column of the table.
    """
    for fn in fns:
        fn()
    best = [math.inf] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - start)
    return best


def make_case(kind, x_shape, params, rng):
    """Forward+backward closures of a case: reference, loops on the first n samples, torch.

    With torch installed, also checks once that torch and the reference agree.
    """
    x = rng.standard_normal(x_shape)
    if kind == "conv":
        w = rng.standard_normal(params["w"])
        b = rng.standard_normal(params["w"][0])
        conv_param = {"stride": params["stride"], "pad": params["pad"]}
        out_shape = reference.conv_output_shape(x.shape, w.shape, params["stride"], params["pad"])
        dout = rng.standard_normal(out_shape)

        def run_reference():
            _, cache = reference.conv_forward(x, w, b, conv_param)
            reference.conv_backward(dout, cache)

        def run_loops(n):
            conv_forward_loops(x[:n], w, b, params["stride"], params["pad"])
            conv_backward_loops(dout[:n], x[:n], w, params["stride"], params["pad"])

        def run_torch():
            tx.grad = tw.grad = tb.grad = None
            out = torch_functional.conv2d(tx, tw, tb, stride=params["stride"], padding=params["pad"])
            out.backward(tdout)

        def reference_results():
            out, cache = reference.conv_forward(x, w, b, conv_param)
            return (out, *reference.conv_backward(dout, cache))

        def torch_results():
            run_torch()
            out = torch_functional.conv2d(tx, tw, tb, stride=params["stride"], padding=params["pad"])
            return out.detach(), tx.grad, tw.grad, tb.grad

        if torch is not None:
            tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))

    else:
        k, stride = params["pool"], params["stride"]
        pool_param = {"pool_height": k, "pool_width": k, "stride": stride}
        dout = rng.standard_normal(reference.pool_output_shape(x.shape, k, k, stride))

        def run_reference():
            _, cache = reference.max_pool_forward(x, pool_param)
            reference.max_pool_backward(dout, cache)

        def run_loops(n):
            max_pool_forward_loops(x[:n], k, k, stride)
            max_pool_backward_loops(dout[:n], x[:n], k, k, stride)

        def run_torch():
            tx.grad = None
            out = torch_functional.max_pool2d(tx, k, stride)
            out.backward(tdout)

        def reference_results():
            out, cache = reference.max_pool_forward(x, pool_param)
            return out, reference.max_pool_backward(dout, cache)

        def torch_results():
            run_torch()
            return torch_functional.max_pool2d(tx, k, stride).detach(), tx.grad

        if torch is not None:
            tx = torch.from_numpy(x).requires_grad_()

    if torch is not None:
        tdout = torch.from_numpy(dout)
        for ours, theirs in zip(reference_results(), torch_results()):
            np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-10)
    return run_reference, run_loops, run_torch


def machine_note():
    """CPU model, and the OpenBLAS kernel numpy runs (threadpoolctl, if installed) with any
    OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE override, which slows a current OpenBLAS down."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    notes = [cpu]
    try:
        from threadpoolctl import threadpool_info
        notes += [f"{pool['internal_api']} {pool.get('version')} kernel {pool['architecture']}"
                  for pool in threadpool_info() if pool.get("architecture")]
    except ImportError:
        notes.append("BLAS kernel unknown (pip install threadpoolctl to name it)")
    notes += [f"{var}={os.environ[var]}" for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
              if var in os.environ]
    return "; ".join(notes)


def measure(args):
    """One row per configuration: (label, reference ms per run, loops ms, loops note, torch ms per
    run). Every run keeps the best of ``args.repeats``; runs give the spread."""
    rng = np.random.default_rng(0)
    cases = [(label, x_shape, loop_samples, make_case(kind, x_shape, params, rng))
             for label, kind, x_shape, params, loop_samples in CONFIGS]
    ref_runs, torch_runs = [[] for _ in cases], [[] for _ in cases]
    for run in range(args.runs):
        for k, (label, _, _, (run_reference, _, run_torch)) in enumerate(cases):
            timed = [run_reference] if torch is None else [run_reference, run_torch]
            ref_s, *torch_s = best_times(timed, args.repeats)
            ref_runs[k].append(1e3 * ref_s)
            torch_runs[k].append(1e3 * torch_s[0] if torch_s else None)
            print(f"  run {run + 1}/{args.runs}: {label}", file=sys.stderr, flush=True)
    rows = []
    for k, (label, x_shape, loop_samples, (_, run_loops, _)) in enumerate(cases):
        loops_ms, loop_note = None, ""
        if not args.no_loops:
            n = min(loop_samples, x_shape[0])
            # One timed run: it lasts seconds, so warm-up effects are negligible. Scaled from n to N.
            start = time.perf_counter()
            run_loops(n)
            loops_ms = 1e3 * (time.perf_counter() - start) * x_shape[0] / n
            loop_note = f"{n}/{x_shape[0]}"
        rows.append((label, ref_runs[k], loops_ms, loop_note, torch_runs[k]))
    return rows


def spread(values):
    return f"{min(values):.2f}-{max(values):.2f}" if len(values) > 1 else f"{values[0]:.2f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=15, help="timed runs per measurement (the best is kept)"
    )
    parser.add_argument("--runs", type=int, default=5,
                        help="measurements per configuration, for the spread (the median is shown)")
    parser.add_argument("--no-loops", action="store_true", help="skip the (slow) loop versions")
    args = parser.parse_args(argv)
    rows = measure(args)

    torch_note = f"torch {torch.__version__}" if torch is not None else "torch not installed"
    print(f"numpy {np.__version__}, {torch_note}, Python {platform.python_version()}, "
          f"{platform.machine()}, 1 thread; median of {args.runs} runs, each the best of "
          f"{args.repeats}; forward + backward, float64")
    print(f"Machine: {machine_note()}")
    if not args.no_loops:
        print("Loop times are measured on the first n of N samples (column 'loops on') and scaled "
              "linearly to the full batch.")
    print()
    header = ["configuration", "reference ms"]
    if not args.no_loops:
        header += ["loops ms", "loops on", "speed-up vs loops"]
    if torch is not None:
        header += ["torch ms", "reference / torch", f"spread over {args.runs} runs"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    ratios, run_ratios = [], []
    for label, ref_runs, loops_ms, loop_note, torch_runs in rows:
        ref_ms = statistics.median(ref_runs)
        cells = [label, f"{ref_ms:.2f}"]
        if not args.no_loops:
            cells += [f"{loops_ms:,.0f}", loop_note, f"{loops_ms / ref_ms:,.0f}x"]
        if torch is not None:
            per_run = [r / t for r, t in zip(ref_runs, torch_runs)]
            ratios.append(statistics.median(per_run))
            run_ratios.append(per_run)
            cells += [f"{statistics.median(torch_runs):.2f}", f"{ratios[-1]:.2f}", spread(per_run)]
        print("| " + " | ".join(cells) + " |")
    print()
    if ratios:
        geo_means = [geometric_mean(run) for run in zip(*run_ratios)]
        geo_mean = geometric_mean(ratios)
        print(f"Geometric mean reference / torch: {geo_mean:.2f} (per run: {spread(geo_means)})")
        met = max(ratios) <= 1.3 and geo_mean <= 1.0
        print(f"Target: a geometric mean <= 1.0 and within 1.3x of torch on every configuration "
              f"(worst {max(ratios):.2f}x): {'met' if met else 'MISSED'}")
    if not args.no_loops:
        speed_up = rows[0][2] / statistics.median(rows[0][1])
        print(f"Target: >= 200x faster than the loops on the first configuration ({speed_up:,.0f}x): "
              f"{'met' if speed_up >= 200 else 'MISSED'}")
    return 0


def geometric_mean(values):
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values))


if __name__ == "__main__":
    sys.exit(main())
