"""Run your layers on this assignment's input files and write the output files you hand in.

    python make_outputs.py

reads input_files/, calls the functions of code_base/layers.py with this assignment's parameters
(assignment.json; README.md lists them) and writes output_files/ in the format the grader reads:
one value per line, flattened in row-major (C) order, printed with ``%.18e``; the dropout outputs
as 2-D rows, as ``np.savetxt(path, array, fmt='%.18e', delimiter=' ')`` writes them. Do not edit
the output files by hand, and do not change this script: fix code_base/layers.py and run it again.

A layer that raises (NotImplementedError or any other error), or returns None or something that is
not an array of numbers, is reported and its output not written (an old file of it is removed).
An array of the wrong shape, or holding NaN or Inf, is written anyway, with a warning naming the
shapes: the grader then says what most likely went wrong (a wrong padding gives a recognisable
size), where a missing file would only be "not found". The other outputs are written either way.
Exit code 0 if every output was written with its right shape, 1 otherwise.

Needs only NumPy and your code_base/.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from kit.assignment import load_assignment  # noqa: E402
from kit.checks import describe, one_line  # noqa: E402
from kit.files import format_array, read_array  # noqa: E402

CODE_DIR = HERE / "code_base"


# What each problem runs: a list of (output roles, function(layers, arrays, params) -> role: array).
# Every call gets fresh copies of the inputs and parameters, so a layer that changes its input in
# place cannot spoil the next call.

def _forward(layers, function, *args):
    result = getattr(layers, function)(*args)
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise TypeError(f"{function} must return a pair (out, cache); it returned {describe(result)}")
    return result


def _conv_forward(layers, a, params):
    return {"out": _forward(layers, "conv_forward", a["x"], a["w"], a["b"], params)[0]}


def _conv_backward(layers, a, params):
    _, cache = _forward(layers, "conv_forward", a["x"], a["w"], a["b"], params)
    grads = layers.conv_backward(a["dout"], cache)
    if not (isinstance(grads, (tuple, list)) and len(grads) == 3):
        raise TypeError(f"conv_backward must return (dx, dw, db); it returned {describe(grads)}")
    return dict(zip(("dx", "dw", "db"), grads))


def _maxpool_forward(layers, a, params):
    return {"out": _forward(layers, "max_pool_forward", a["x"], params)[0]}


def _maxpool_backward(layers, a, params):
    _, cache = _forward(layers, "max_pool_forward", a["x"], params)
    return {"dx": layers.max_pool_backward(a["dout"], cache)}


def _dropout_param(params, mode):
    # No seed: a fresh random mask on every run. A fixed seed would give every student the same
    # mask, and the grader flags identical masks between two hand-ins as copied work.
    return {"p": params["p"], "mode": mode, "seed": None}


def _dropout_forward(mode):
    def run(layers, a, params):
        return {f"out_{mode}": _forward(layers, "dropout_forward", a["x"],
                                        _dropout_param(params, mode))[0]}
    return run


def _dropout_backward(mode):
    def run(layers, a, params):
        _, cache = _forward(layers, "dropout_forward", a["x"], _dropout_param(params, mode))
        return {f"dx_{mode}": layers.dropout_backward(a["dout"], cache)}
    return run


STEPS = {
    "conv_forward": [(("out",), _conv_forward)],
    "conv_backward": [(("dx", "dw", "db"), _conv_backward)],
    "maxpool_forward": [(("out",), _maxpool_forward)],
    "maxpool_backward": [(("dx",), _maxpool_backward)],
    "dropout_forward": [(("out_train",), _dropout_forward("train")),
                        (("out_test",), _dropout_forward("test"))],
    "dropout_backward": [(("dx_train",), _dropout_backward("train")),
                         (("dx_test",), _dropout_backward("test"))],
}


def as_output(value, shape):
    """``(array, warning)``: ``value`` as a float64 array, and what is wrong with it (or None).

    Raises ValueError when there is nothing to write: None, or not an array of numbers.
    """
    if value is None:
        raise ValueError("the layer returned None (a missing return statement?)")
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"the layer returned something that is not an array of numbers ({e})") from None
    problems = []
    if array.shape != tuple(shape):
        problems.append(f"the layer returned shape {array.shape}, expected {tuple(shape)}")
    nonfinite = int(np.sum(~np.isfinite(array)))
    if nonfinite:
        problems.append(f"it holds {nonfinite} NaN or Inf values")
    return array, "; ".join(problems) or None


def make_outputs(layers, assignment, inputs_dir, out_dir):
    """Run every problem and write its outputs.

    Returns ``(written, warnings, failed)``: file name -> path written; file name -> what is wrong
    with a file written anyway; file name -> why it was not written.
    """
    written, warnings, failed = {}, {}, {}
    for problem in assignment.problems:
        try:
            arrays = {i.role: read_array(inputs_dir / i.filename, i.shape) for i in problem.inputs}
        except (OSError, ValueError) as e:
            for output in problem.outputs:
                failed[output.filename] = f"cannot read the input files: {one_line(e, CODE_DIR)}"
            continue
        outputs = {o.role: o for o in problem.outputs}
        for roles, step in STEPS[problem.op]:
            try:
                results = step(layers, {r: a.copy() for r, a in arrays.items()}, problem.layer_params())
                texts = {}
                for role in roles:
                    array, warning = as_output(results[role], outputs[role].shape)
                    texts[outputs[role].filename] = format_array(array, problem.file_format)
                    if warning:
                        warnings[outputs[role].filename] = warning
            except Exception as e:  # a student's layer may raise anything: report it, carry on
                for role in roles:
                    failed[outputs[role].filename] = one_line(e, CODE_DIR)
                    warnings.pop(outputs[role].filename, None)
                continue
            for filename, text in texts.items():
                path = out_dir / filename
                path.write_bytes(text.encode("ascii"))  # "\n" line ends on every system
                written[filename] = path
    return written, warnings, failed


def _outputs(count, noun="outputs"):
    return f"{count} {noun if count != 1 else noun[:-1]}"


def report(all_files, out_dir, written, warnings, failed, removed):
    """Print what was written, what is wrong, and what to do next; return the exit code."""
    if written:
        print(f"Wrote {len(written)} of {len(all_files)} outputs to {out_dir}:")
        for filename in all_files:
            if filename in written:
                print(f"  {filename}" + ("   (WARNING below)" if filename in warnings else ""))
    else:
        print(f"Wrote none of the {len(all_files)} outputs.")
    if warnings:
        print(f"WARNING: {_outputs(len(warnings))} written although wrong, so that the grader can "
              "tell you what most likely went wrong; fix your layers before you hand in:")
        for filename in all_files:
            if filename in warnings:
                print(f"  {filename}: {warnings[filename]}")
    if failed:
        print(f"Could not write {_outputs(len(failed))}:")
        for filename in all_files:
            if filename in failed:
                print(f"  {filename}: {failed[filename]}")
        if removed:
            print(f"Removed {_outputs(len(removed), 'old output files')} that your code no longer "
                  "produces: "
                  + ", ".join(removed))
    if warnings or failed:
        print("To do: fix code_base/layers.py (python self_check.py checks each layer and says "
              "what to fix), then run python make_outputs.py again.")
        return 1
    print(f"All {len(all_files)} outputs written. Next: python self_check.py")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=Path, default=HERE / "input_files",
                        help="folder of input files (default: input_files/ next to this script)")
    parser.add_argument("--out", type=Path, default=HERE / "output_files",
                        help="folder to write (default: output_files/ next to this script)")
    args = parser.parse_args(argv)
    try:
        assignment = load_assignment(HERE)
    except ValueError as e:
        print(e)
        return 1

    all_files = [o.filename for o in assignment.outputs]
    try:
        from code_base import layers
    except Exception as e:  # a syntax error in layers.py, say
        reason = f"cannot import code_base/layers.py: {one_line(e, CODE_DIR)}"
        written, warnings, failed = {}, {}, {f: reason for f in all_files}
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        written, warnings, failed = make_outputs(layers, assignment, args.inputs, args.out)

    removed = []
    for filename in failed:
        stale = args.out / filename
        if stale.is_file():  # an output of an earlier run no longer matches your code
            stale.unlink()
            removed.append(filename)
    return report(all_files, args.out, written, warnings, failed, removed)


if __name__ == "__main__":
    sys.exit(main())
