"""Run your layers on the assignment's input files and write the output files you hand in.

    python make_outputs.py

reads input_files/, calls the six functions of code_base/layers.py with this assignment's
parameters and writes output_files/ in the format the grader expects: one value per line,
flattened in row-major (C) order, printed with ``%.18e``; the dropout outputs as 2-D rows, as
``np.savetxt(path, array, fmt='%.18e', delimiter=' ')`` writes them. Do not edit the output files
by hand, and do not change this script: fix code_base/layers.py and run it again.

A layer that raises (NotImplementedError or any other error), or returns an array of the wrong
shape or with NaN/Inf, is reported and skipped, and its old output file (if any) removed; the
others are still written. Exit code 0 if every output was written, 1 otherwise.

Needs only NumPy and your code_base/.
"""
import argparse
import sys
import traceback
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
VALUE_FORMAT = "%.18e"

# The assignment's problems. For each: its input files (without .csv) and their shapes, its
# parameters AS THE ASSIGNMENT SHEET STATES THEM, and its output files and their shapes.
# The sheet's pad is the TOTAL padding, split equally over both sides ("pad 2 means a 1-pixel
# border"); layer_params() converts it to the per-side pad that conv_param['pad'] means.
# Dropout's p is the probability of DROPPING a unit. Dropout files are 2-D rows ("rows"); the
# others hold one value per line ("values").
PROBLEMS = {
    "conv_forward": {
        "inputs": {"x": ("conv_forward_in_x", (2, 3, 6, 6)),
                   "w": ("conv_forward_in_w", (3, 3, 4, 4)),
                   "b": ("conv_forward_in_b", (3,))},
        "params": {"stride": 2, "pad": 2},
        "outputs": {"out": ("conv_forward_out", (2, 3, 3, 3))},
        "format": "values",
    },
    "conv_backward": {
        "inputs": {"x": ("conv_backward_in_x", (4, 3, 5, 5)),
                   "w": ("conv_backward_in_w", (2, 3, 3, 3)),
                   "b": ("conv_backward_in_b", (2,)),
                   "dout": ("conv_backward_in_dout", (4, 2, 5, 5))},
        "params": {"stride": 1, "pad": 2},
        "outputs": {"dx": ("conv_backward_out_dx", (4, 3, 5, 5)),
                    "dw": ("conv_backward_out_dw", (2, 3, 3, 3)),
                    "db": ("conv_backward_out_db", (2,))},
        "format": "values",
    },
    "maxpool_forward": {
        "inputs": {"x": ("maxpool_forward_in_x", (3, 3, 8, 8))},
        "params": {"pool_height": 2, "pool_width": 2, "stride": 2},
        "outputs": {"out": ("maxpool_forward_out", (3, 3, 4, 4))},
        "format": "values",
    },
    "maxpool_backward": {
        "inputs": {"x": ("maxpool_backward_in_x", (3, 2, 10, 10)),
                   "dout": ("maxpool_backward_in_dout", (3, 2, 5, 5))},
        "params": {"pool_height": 2, "pool_width": 2, "stride": 2},
        "outputs": {"dx": ("maxpool_backward_out", (3, 2, 10, 10))},
        "format": "values",
    },
    "dropout_forward": {
        "inputs": {"x": ("dropout_forward_in_x", (20, 20))},
        "params": {"p": 0.3},
        "outputs": {"out_train": ("dropout_forward_out_train", (20, 20)),
                    "out_test": ("dropout_forward_out_test", (20, 20))},
        "format": "rows",
    },
    "dropout_backward": {
        "inputs": {"x": ("dropout_backward_in_x", (10, 10)),
                   "dout": ("dropout_backward_in_dout", (10, 10))},
        "params": {"p": 0.8},
        "outputs": {"dx_train": ("dropout_backward_out_train", (10, 10)),
                    "dx_test": ("dropout_backward_out_test", (10, 10))},
        "format": "rows",
    },
}


def layer_params(params):
    """The sheet's parameters as the layers take them: the total pad becomes the per-side pad."""
    params = dict(params)
    if "pad" in params:
        total = params["pad"]
        if total % 2:
            raise ValueError(f"a total pad of {total} cannot be split equally over both sides")
        params["pad"] = total // 2
    return params


# What each problem runs: a list of (output roles, function(layers, arrays, params) -> role: array).
# Every call gets fresh copies of the inputs, so a layer that modifies its input in place cannot
# spoil the next call.

def _conv_forward(layers, a, params):
    out, _ = layers.conv_forward(a["x"], a["w"], a["b"], params)
    return {"out": out}


def _conv_backward(layers, a, params):
    _, cache = layers.conv_forward(a["x"], a["w"], a["b"], params)
    dx, dw, db = layers.conv_backward(a["dout"], cache)
    return {"dx": dx, "dw": dw, "db": db}


def _maxpool_forward(layers, a, params):
    out, _ = layers.max_pool_forward(a["x"], params)
    return {"out": out}


def _maxpool_backward(layers, a, params):
    _, cache = layers.max_pool_forward(a["x"], params)
    return {"dx": layers.max_pool_backward(a["dout"], cache)}


def _dropout_param(params, mode):
    # No seed: a fresh random mask on every run. A fixed seed would give every student the same
    # mask, and the grader flags identical masks between two hand-ins as copied work.
    return {"p": params["p"], "mode": mode, "seed": None}


def _dropout_forward(mode):
    def run(layers, a, params):
        out, _ = layers.dropout_forward(a["x"], _dropout_param(params, mode))
        return {f"out_{mode}": out}
    return run


def _dropout_backward(mode):
    def run(layers, a, params):
        _, cache = layers.dropout_forward(a["x"], _dropout_param(params, mode))
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


def read_input(path, shape):
    """The array in ``path`` (numbers separated by spaces, commas or newlines), in ``shape``."""
    text = path.read_text(encoding="utf-8-sig")
    values = np.array(text.replace(",", " ").split(), dtype=np.float64)
    size = int(np.prod(shape))
    if values.size != size:
        raise ValueError(f"{path.name} holds {values.size} values, expected {size} for shape {shape}")
    return values.reshape(shape)


def format_array(array, file_format):
    """The text of an output file: one value per line (row-major), or 2-D rows for dropout."""
    if file_format == "rows":
        return "".join(" ".join(VALUE_FORMAT % v for v in row) + "\n" for row in array)
    return "".join(VALUE_FORMAT % v + "\n" for v in array.ravel(order="C"))


def as_output(value, shape):
    """``value`` as a float64 array of ``shape``, or a ValueError saying what is wrong with it."""
    if value is None:
        raise ValueError("the layer returned None (a missing return statement?)")
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"the layer returned something that is not an array of numbers ({e})") from None
    if array.shape != tuple(shape):
        raise ValueError(f"the layer returned shape {array.shape}, expected {tuple(shape)}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"the layer returned {int(np.sum(~np.isfinite(array)))} NaN or Inf values")
    return array


def one_line(exc):
    """``Type: message`` on one line, with where in your code_base/ it was raised."""
    message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    lines = str(message).strip().splitlines()
    text = type(exc).__name__ + (f": {lines[0]}" if lines else "")
    if isinstance(exc, SyntaxError) and exc.filename:
        return text + f" ({Path(exc.filename).name}, line {exc.lineno})"
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if Path(f.filename).resolve().parent == HERE / "code_base"]
    if frames:
        text += f" ({Path(frames[-1].filename).name}, line {frames[-1].lineno})"
    return text


def make_outputs(layers, inputs_dir, out_dir):
    """Run every problem; return ({file name: path written}, {file name: reason not written})."""
    written, failed = {}, {}
    for name, problem in PROBLEMS.items():
        outputs = problem["outputs"]
        try:
            arrays = {role: read_input(inputs_dir / f"{file}.csv", shape)
                      for role, (file, shape) in problem["inputs"].items()}
        except (OSError, ValueError) as e:
            for file, _ in outputs.values():
                failed[f"{file}.csv"] = f"cannot read the input files: {one_line(e)}"
            continue
        for roles, step in STEPS[name]:
            try:
                results = step(layers, {r: a.copy() for r, a in arrays.items()},
                               layer_params(problem["params"]))
                texts = {}
                for role in roles:
                    file, shape = outputs[role]
                    array = as_output(results[role], shape)
                    texts[f"{file}.csv"] = format_array(array, problem["format"])
            except Exception as e:  # a student's layer may raise anything: report it, carry on
                for role in roles:
                    failed[f"{outputs[role][0]}.csv"] = one_line(e)
                continue
            for filename, text in texts.items():
                path = out_dir / filename
                path.write_bytes(text.encode("ascii"))  # "\n" line ends on every system
                written[filename] = path
    return written, failed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=Path, default=HERE / "input_files",
                        help="folder of input files (default: input_files/ next to this script)")
    parser.add_argument("--out", type=Path, default=HERE / "output_files",
                        help="folder to write (default: output_files/ next to this script)")
    args = parser.parse_args(argv)

    all_files = [f"{file}.csv" for p in PROBLEMS.values() for file, _ in p["outputs"].values()]
    try:
        sys.path.insert(0, str(HERE))
        from code_base import layers
    except Exception as e:  # a syntax error in layers.py, say
        written, failed = {}, {f: f"cannot import code_base/layers.py: {one_line(e)}" for f in all_files}
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        written, failed = make_outputs(layers, args.inputs, args.out)

    removed = []
    for filename in failed:
        stale = args.out / filename
        if stale.is_file():  # an output of an earlier run no longer matches your code
            stale.unlink()
            removed.append(filename)

    if written:
        print(f"Wrote {len(written)} of {len(all_files)} outputs to {args.out}:")
        for filename in all_files:
            if filename in written:
                print(f"  {filename}")
    else:
        print(f"Wrote none of the {len(all_files)} outputs.")
    if failed:
        print(f"Could not write {len(failed)} outputs:")
        for filename in all_files:
            if filename in failed:
                print(f"  {filename}: {failed[filename]}")
        if removed:
            print(f"Removed {len(removed)} old output files that your code no longer produces: "
                  + ", ".join(removed))
        return 1
    print("All outputs written. Next: python self_check.py, then cnngrade check output_files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
