"""Check your layers the way the assignment notebook does, before you hand anything in.

    python self_check.py

Runs each check on code_base/layers.py and prints PASS, FAIL or NOT IMPLEMENTED with its
figures: the published conv and pool values, numerical gradient checks of every backward pass
(CS231n's rel_error: around 1e-8 or less when correct), and sanity checks of dropout. Exit code 0
if every check passes, 1 otherwise. Needs only NumPy and your code_base/.

Passing here does not prove your outputs right (they are graded against the reference), but a
failure here always means something to fix.
"""
import sys
import traceback
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from code_base.gradient_check import eval_numerical_gradient_array, rel_error  # noqa: E402

# Largest rel_error accepted against the notebook's published values (printed with 8 decimals).
PUBLISHED_REL_ERROR_MAX = 1e-7
# Largest rel_error accepted between your backward pass and its numerical gradient: correct code
# gives 1e-8 or less; a wrong gradient usually gives 1e-2 to 1.
GRAD_REL_ERROR_MAX = 1e-7
# Largest rel_error accepted where dropout must reproduce values exactly (x / (1 - p), identity).
EXACT_REL_ERROR_MAX = 1e-12
# How far the dropped fraction of 250,000 units may stray from p (about 20 standard deviations).
DROP_FRACTION_TOLERANCE = 0.01

CHECKS = []


def check(title, hint=""):
    """Register a check: a function returning (passed, figures), printed under ``title``."""
    def register(function):
        CHECKS.append((title, hint, function))
        return function
    return register


def _layers():
    from code_base import layers
    return layers


def _data(seed=231):
    return np.random.default_rng(seed)


# --- Published values (CS231n assignment 2 notebook) ---------------------------------------------

@check("conv_forward: published values (stride 2, per-side pad 1)",
       hint="cross-correlation (no kernel flip), the bias added, conv_param['pad'] zeros on EACH side, "
            "H_out = (H + 2*pad - HH) // stride + 1")
def conv_forward_published():
    x = np.linspace(-0.1, 0.5, 96).reshape(2, 3, 4, 4)
    w = np.linspace(-0.2, 0.3, 144).reshape(3, 3, 4, 4)
    b = np.linspace(-0.1, 0.2, 3)
    out, _ = _layers().conv_forward(x, w, b, {"stride": 2, "pad": 1})
    out = np.asarray(out)
    if out.shape != (2, 3, 2, 2):
        return False, f"output shape {out.shape}, expected (2, 3, 2, 2)"
    error = max(rel_error(out[0, 0], [[-0.08759809, -0.10987781], [-0.18387192, -0.2109216]]),
                rel_error(out[1, 2], [[2.36270298, 2.36904306], [2.38090835, 2.38247847]]))
    return error < PUBLISHED_REL_ERROR_MAX, f"rel_error {error:.2e} (must be < {PUBLISHED_REL_ERROR_MAX:g})"


@check("max_pool_forward: published values (2x2, stride 2)",
       hint="the maximum of each window, windows starting every `stride` pixels")
def max_pool_forward_published():
    x = np.linspace(-0.3, 0.4, 96).reshape(2, 3, 4, 4)
    out, _ = _layers().max_pool_forward(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    out = np.asarray(out)
    if out.shape != (2, 3, 2, 2):
        return False, f"output shape {out.shape}, expected (2, 3, 2, 2)"
    error = max(rel_error(out[0, 0], [[-0.26315789, -0.24842105], [-0.20421053, -0.18947368]]),
                rel_error(out[1, 2], [[0.32631579, 0.34105263], [0.38526316, 0.4]]))
    return error < PUBLISHED_REL_ERROR_MAX, f"rel_error {error:.2e} (must be < {PUBLISHED_REL_ERROR_MAX:g})"


# --- Numerical gradient checks --------------------------------------------------------------------

def _gradient_result(analytic, numeric):
    analytic = np.asarray(analytic)
    if analytic.shape != numeric.shape:
        return False, f"shape {analytic.shape}, expected {numeric.shape}"
    error = rel_error(analytic, numeric)
    return error < GRAD_REL_ERROR_MAX, f"rel_error {error:.2e} (must be < {GRAD_REL_ERROR_MAX:g})"


def _conv_gradient(which):
    layers = _layers()
    rng = _data()
    x = rng.standard_normal((4, 3, 5, 5))
    w = rng.standard_normal((2, 3, 3, 3))
    b = rng.standard_normal(2)
    dout = rng.standard_normal((4, 2, 5, 5))
    conv_param = {"stride": 1, "pad": 1}
    _, cache = layers.conv_forward(x, w, b, conv_param)
    grads = dict(zip(("dx", "dw", "db"), layers.conv_backward(dout, cache)))
    args = {"x": x, "w": w, "b": b}
    name = which[1:]

    def f(value):
        return layers.conv_forward(*(value if k == name else args[k] for k in "xwb"), conv_param)[0]

    return _gradient_result(grads[which], eval_numerical_gradient_array(f, args[name].copy(), dout))


@check("conv_backward: dx against the numerical gradient",
       hint="sum the contributions of every window that covers an input pixel; drop the padding")
def conv_backward_dx():
    return _conv_gradient("dx")


@check("conv_backward: dw against the numerical gradient")
def conv_backward_dw():
    return _conv_gradient("dw")


@check("conv_backward: db against the numerical gradient", hint="db is dout summed over N, H_out, W_out")
def conv_backward_db():
    return _conv_gradient("db")


def _pool_gradient(x_shape, pool_param):
    layers = _layers()
    rng = _data()
    x = rng.standard_normal(x_shape)
    out, cache = layers.max_pool_forward(x, pool_param)
    dout = rng.standard_normal(np.shape(out))
    dx = layers.max_pool_backward(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda v: layers.max_pool_forward(v, pool_param)[0],
                                           x.copy(), dout)
    return _gradient_result(dx, dx_num)


@check("max_pool_backward: dx against the numerical gradient (2x2, stride 2)",
       hint="each window's derivative goes to the position of its maximum only")
def max_pool_backward_dx():
    return _pool_gradient((3, 2, 8, 8), {"pool_height": 2, "pool_width": 2, "stride": 2})


@check("max_pool_backward: dx with overlapping windows (3x3, stride 2)",
       hint="where windows overlap, ADD (+=) the derivatives reaching one position, do not overwrite")
def max_pool_backward_overlap():
    return _pool_gradient((2, 2, 7, 7), {"pool_height": 3, "pool_width": 3, "stride": 2})


@check("dropout_backward: dx against the numerical gradient (p 0.2, train, seed 123)",
       hint="reuse the forward mask from the cache, scaled by 1 / (1 - p)")
def dropout_backward_dx():
    layers = _layers()
    rng = _data()
    x = rng.standard_normal((10, 10)) + 10
    dout = rng.standard_normal((10, 10))
    dropout_param = {"p": 0.2, "mode": "train", "seed": 123}
    _, cache = layers.dropout_forward(x, dropout_param)
    dx = layers.dropout_backward(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda v: layers.dropout_forward(v, dropout_param)[0],
                                           x.copy(), dout)
    return _gradient_result(dx, dx_num)


# --- Dropout sanity --------------------------------------------------------------------------------

def _big_x():
    return _data().standard_normal((500, 500)) + 10  # never zero: a 0 in the output means dropped


@check("dropout_forward: dropped fraction near p (p is the probability of DROPPING)",
       hint="keep a unit when rng.random() >= p, i.e. with probability 1 - p")
def dropout_fraction():
    layers = _layers()
    x = _big_x()
    ok, figures = True, []
    for p in (0.25, 0.4, 0.7):
        out, _ = layers.dropout_forward(x, {"p": p, "mode": "train", "seed": 7})
        dropped = float(np.mean(np.asarray(out) == 0))
        ok = ok and abs(dropped - p) < DROP_FRACTION_TOLERANCE
        figures.append(f"p={p}: dropped {dropped:.4f}")
    return ok, ", ".join(figures) + f" (each within {DROP_FRACTION_TOLERANCE:g} of p)"


@check("dropout_forward: kept units scaled by 1 / (1 - p) in train mode",
       hint="inverted dropout: out = x * mask / (1 - p)")
def dropout_scaling():
    layers = _layers()
    x = _big_x()
    p = 0.4
    out = np.asarray(layers.dropout_forward(x, {"p": p, "mode": "train", "seed": 7})[0])
    kept = out != 0
    if not kept.any():
        return False, "every unit was dropped"
    error = rel_error(out[kept], x[kept] / (1 - p))
    return error < EXACT_REL_ERROR_MAX, f"rel_error {error:.2e} against x / (1 - p) (must be < {EXACT_REL_ERROR_MAX:g})"


@check("dropout: test mode is the identity (forward and backward)",
       hint="no mask and no scaling at test time")
def dropout_test_mode():
    layers = _layers()
    x = _big_x()
    dout = _data(5).standard_normal(x.shape)
    dropout_param = {"p": 0.4, "mode": "test", "seed": 7}
    out, cache = layers.dropout_forward(x, dropout_param)
    dx = layers.dropout_backward(dout, cache)
    error = max(rel_error(out, x), rel_error(dx, dout))
    return error < EXACT_REL_ERROR_MAX, f"rel_error {error:.2e} (must be < {EXACT_REL_ERROR_MAX:g})"


@check("dropout_forward: the same seed gives the same mask, other seeds and no seed other masks",
       hint="draw the mask from np.random.default_rng(dropout_param.get('seed')), never a fixed seed")
def dropout_seeds():
    layers = _layers()
    x = _big_x()

    def mask(seed):
        return np.asarray(layers.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": seed})[0]) == 0

    same = np.array_equal(mask(42), mask(42))
    other = not np.array_equal(mask(42), mask(43))
    fresh = not np.array_equal(mask(None), mask(None))
    return same and other and fresh, (f"seed 42 twice: {'same' if same else 'DIFFERENT'} masks; "
                                      f"seeds 42 and 43: {'different' if other else 'the SAME'} masks; "
                                      f"no seed twice: {'different' if fresh else 'the SAME'} masks")


@check("dropout_forward: leaves x unchanged", hint="compute out = x * mask, not x *= mask")
def dropout_keeps_input():
    layers = _layers()
    x = _big_x()
    before = x.copy()
    layers.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 1})
    changed = int(np.sum(x != before))
    return changed == 0, f"{changed} elements of x changed"


# --- Running --------------------------------------------------------------------------------------

def _one_line(exc):
    lines = str(exc).strip().splitlines()
    text = type(exc).__name__ + (f": {lines[0]}" if lines else "")
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if Path(f.filename).resolve().parent == HERE / "code_base"]
    if frames:
        text += f" ({Path(frames[-1].filename).name}, line {frames[-1].lineno})"
    return text


def run_checks():
    """Run every check, print one line each; return the counts by status."""
    counts = {"PASS": 0, "FAIL": 0, "NOT IMPLEMENTED": 0}
    for title, hint, function in CHECKS:
        try:
            passed, figures = function()
            status = "PASS" if passed else "FAIL"
        except NotImplementedError as e:
            status, figures = "NOT IMPLEMENTED", _one_line(e)
        except Exception as e:  # a student's layer may raise anything: report it, carry on
            status, figures = "FAIL", f"raised {_one_line(e)}"
        counts[status] += 1
        print(f"{status:<15} {title}\n{'':<15}   {figures}")
        if status == "FAIL" and hint:
            print(f"{'':<15}   hint: {hint}")
    return counts


def main():
    counts = run_checks()
    print(f"\n{counts['PASS']} of {len(CHECKS)} checks passed, {counts['FAIL']} failed, "
          f"{counts['NOT IMPLEMENTED']} not implemented.")
    if counts["PASS"] == len(CHECKS):
        print("Next: python make_outputs.py, then cnngrade check output_files")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
