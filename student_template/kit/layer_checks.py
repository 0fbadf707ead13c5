"""The self-check's checks of your layers: the notebook's published values, this assignment's output
shapes, numerical gradients of your backward passes, and the behaviour of dropout.

Every check calls your own functions in this assignment's layout, with parameters in its
conventions (what ``pad`` and ``p`` mean), as make_outputs.py calls them. A gradient check
differentiates YOUR forward pass numerically, so it can only judge a backward pass once the
forward pass is right: such checks name the forward function in ``needs``.
"""
import numpy as np

from code_base.gradient_check import eval_numerical_gradient_array, rel_error

from .checks import Check, describe

# Largest rel_error accepted against the notebook's published values (printed with 8 decimals).
PUBLISHED_REL_ERROR_MAX = 1e-7
# Largest rel_error accepted between a backward pass and its numerical gradient: correct code
# gives 1e-8 or less; a wrong gradient usually gives 1e-2 to 1.
GRAD_REL_ERROR_MAX = 1e-7
# Largest rel_error accepted where a result is exact up to rounding (a bias, x / (1 - p), identity).
EXACT_REL_ERROR_MAX = 1e-12
# How far the dropped fraction of 250,000 units may stray from its probability (about 20 standard
# deviations).
DROP_FRACTION_TOLERANCE = 0.01
# Gradient checks use at most this many images, and channels or filters (the spatial sizes and the
# parameters stay the assignment's): a numerical gradient runs the forward pass twice per input.
GRADIENT_BATCH = 2
GRADIENT_CHANNELS = 3
SEED = 231


class Layout:
    """Arrays in this assignment's layout, made from the notebook's NCHW arrays and back."""

    def __init__(self, name):
        self.nhwc = name == "NHWC"
        self.channel_axis = 3 if self.nhwc else 1
        self.filter_axis = 3 if self.nhwc else 0  # of the weights
        self.weight_channel_axis = 2 if self.nhwc else 1

    def images(self, a):
        """(N, C, H, W) -> this layout."""
        return np.ascontiguousarray(a.transpose(0, 2, 3, 1)) if self.nhwc else a

    def weights(self, w):
        """(F, C, HH, WW) -> this layout."""
        return np.ascontiguousarray(w.transpose(2, 3, 1, 0)) if self.nhwc else w

    def shape(self, nchw_shape):
        n, c, h, w = nchw_shape
        return (n, h, w, c) if self.nhwc else (n, c, h, w)

    def to_nchw(self, a):
        return a.transpose(0, 3, 1, 2) if self.nhwc and a.ndim == 4 else a

    def small_images(self, shape):
        return _capped(shape, {0: GRADIENT_BATCH, self.channel_axis: GRADIENT_CHANNELS})

    def small_weights(self, shape):
        return _capped(shape, {self.filter_axis: GRADIENT_CHANNELS,
                               self.weight_channel_axis: GRADIENT_CHANNELS})


def _capped(shape, limits):
    return tuple(min(n, limits[axis]) if axis in limits else n for axis, n in enumerate(shape))


class Layers:
    """Calls into code_base/layers.py, checking what each function returns."""

    def __init__(self, load):
        self._load = load  # imported on every call: an import error is each check's own failure

    def forward(self, function, *args):
        result = getattr(self._load(), function)(*args)
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            raise TypeError(f"{function} must return a pair (out, cache); it returned "
                            f"{describe(result)}")
        return np.asarray(result[0], dtype=np.float64), result[1]

    def backward(self, function, dout, cache, count):
        result = getattr(self._load(), function)(dout, cache)
        if count > 1:
            if not (isinstance(result, (tuple, list)) and len(result) == count):
                raise TypeError(f"{function} must return {count} gradients; it returned "
                                f"{describe(result)}")
            return [np.asarray(g, dtype=np.float64) for g in result]
        if result is None:
            raise TypeError(f"{function} returned None (a missing return statement?)")
        return np.asarray(result, dtype=np.float64)


def _fmt(value):
    return f"({value[0]}, {value[1]})" if isinstance(value, tuple) else f"{value:g}"


def param_text(params):
    """The parameters as the assignment states them: "stride 2, pad 2", "2x2 windows, stride 2"."""
    if "pool_height" in params:
        return (f"{params['pool_height']}x{params['pool_width']} windows, "
                f"stride {_fmt(params['stride'])}")
    return ", ".join(f"{name} {_fmt(value)}" for name, value in params.items())


def _result(error, limit, what="rel_error"):
    return error < limit, f"{what} {error:.2e} (must be < {limit:g})"


def _gradient_result(analytic, numeric):
    if analytic.shape != numeric.shape:
        return False, f"shape {analytic.shape}, expected {numeric.shape}"
    return _result(rel_error(analytic, numeric), GRAD_REL_ERROR_MAX)


def _shape_result(function, out, expected):
    if out.shape != tuple(expected):
        return False, f"{function} returned shape {out.shape} here, expected {tuple(expected)}"
    return None


class _Builder:
    """Builds the checks of every layer function the assignment uses."""

    def __init__(self, assignment, load_layers):
        self.assignment = assignment
        self.layout = Layout(assignment.layout)
        self.layers = Layers(load_layers)
        self.total_pad = assignment.pad_convention == "total"
        self.keep = assignment.dropout_p_means == "keep"

    def checks(self):
        makers = {"conv_forward": self.conv_forward, "conv_backward": self.conv_backward,
                  "max_pool_forward": self.max_pool_forward,
                  "max_pool_backward": self.max_pool_backward,
                  "dropout_forward": self.dropout_forward, "dropout_backward": self.dropout_backward}
        checks = []
        for function in self.assignment.functions:
            checks += makers[function]()
        return checks

    def configs(self, ops):
        """The problems running ``ops``, one per distinct input shapes and parameters."""
        seen, found = set(), []
        for problem in self.assignment.problems:
            if problem.op in ops:
                key = (tuple(i.shape for i in problem.inputs), tuple(sorted(problem.params.items())))
                if key not in seen:
                    seen.add(key)
                    found.append(problem)
        return found

    # --- Convolution ------------------------------------------------------------------------

    def pad_meaning(self):
        if self.total_pad:
            return ("conv_param['pad'] is the TOTAL padding: pad // 2 zeros on each side, "
                    "H_out = (H + pad - HH) // stride + 1")
        return ("conv_param['pad'] zeros on EACH side, H_out = (H + 2*pad - HH) // stride + 1")

    def notebook_conv(self):
        x = self.layout.images(np.linspace(-0.1, 0.5, 96).reshape(2, 3, 4, 4))
        w = self.layout.weights(np.linspace(-0.2, 0.3, 144).reshape(3, 3, 4, 4))
        b = np.linspace(-0.1, 0.2, 3)
        return x, w, b, {"stride": 2, "pad": 2 if self.total_pad else 1}

    def conv_forward(self):
        x, w, b, conv_param = self.notebook_conv()
        expected_shape = self.layout.shape((2, 3, 2, 2))

        def notebook():
            out, _ = self.layers.forward("conv_forward", x, w, b, dict(conv_param))
            wrong = _shape_result("conv_forward", out, expected_shape)
            if wrong:
                return wrong
            out = self.layout.to_nchw(out)
            error = max(rel_error(out[0, 0], [[-0.08759809, -0.10987781], [-0.18387192, -0.2109216]]),
                        rel_error(out[1, 2], [[2.36270298, 2.36904306], [2.38090835, 2.38247847]]))
            return _result(error, PUBLISHED_REL_ERROR_MAX)

        def bias():
            with_b, _ = self.layers.forward("conv_forward", x, w, b, dict(conv_param))
            without, _ = self.layers.forward("conv_forward", x, w, np.zeros_like(b), dict(conv_param))
            wrong = (_shape_result("conv_forward", with_b, expected_shape)
                     or _shape_result("conv_forward", without, expected_shape))
            if wrong:
                return wrong
            shape = [1] * 4
            shape[self.layout.channel_axis] = -1
            added = with_b - without
            return _result(rel_error(added, np.broadcast_to(b.reshape(shape), added.shape)),
                           PUBLISHED_REL_ERROR_MAX, "rel_error of out(b) - out(0) against b[f]")

        pad_words = f"pad {conv_param['pad']}: one zero on each side"
        checks = [
            Check(f"conv_forward: the notebook's values (stride 2, {pad_words})", notebook,
                  "conv_forward", hint="cross-correlation (no kernel flip), the bias added, "
                                       + self.pad_meaning()),
            Check("conv_forward: the bias b[f] is added once to every output of filter f", bias,
                  "conv_forward", hint="add b[f] to every output position of filter f, after the "
                                       "sum over the window"),
        ]
        for problem in self.configs(("conv_forward", "conv_backward")):
            checks.append(self.conv_shape_check(problem))
        return checks

    def conv_shape_check(self, problem):
        x_file, w_file = problem.input("x"), problem.input("w")
        out_shape = (problem.outputs[0].shape if problem.op == "conv_forward"
                     else problem.input("dout").shape)

        def run():
            rng = np.random.default_rng(SEED)
            out, _ = self.layers.forward(
                "conv_forward", rng.standard_normal(x_file.shape), rng.standard_normal(w_file.shape),
                rng.standard_normal(problem.input("b").shape), problem.layer_params())
            return _shape_result("conv_forward", out, out_shape) or (True, f"shape {out.shape}")

        return Check(f"conv_forward: output shape on {problem.name}'s inputs (x {x_file.shape}, "
                     f"w {w_file.shape}, {param_text(problem.params)})", run, "conv_forward",
                     hint=self.pad_meaning())

    def conv_backward(self):
        checks = []
        for problem in self.configs(("conv_backward",)):
            label = param_text(problem.params)
            hints = {"dx": "sum the contributions of every window that covers an input pixel; "
                           "drop the padding",
                     "dw": "dw[f] sums each window of the padded x times dout at that window",
                     "db": "db is dout summed over every axis but the filters'"}
            for which in ("dx", "dw", "db"):
                checks.append(Check(f"conv_backward: {which} against the numerical gradient ({label})",
                                    self.conv_gradient(problem, which), "conv_backward",
                                    hint=hints[which], needs=("conv_forward",)))
        return checks

    def conv_gradient(self, problem, which):
        layout = self.layout
        x_shape = layout.small_images(problem.input("x").shape)
        w_shape = layout.small_weights(problem.input("w").shape)
        dout_shape = list(problem.input("dout").shape)
        dout_shape[0] = x_shape[0]
        dout_shape[layout.channel_axis] = w_shape[layout.filter_axis]

        def run():
            rng = np.random.default_rng(SEED)
            args = {"x": rng.standard_normal(x_shape), "w": rng.standard_normal(w_shape),
                    "b": rng.standard_normal(w_shape[layout.filter_axis])}
            dout = rng.standard_normal(dout_shape)
            out, cache = self.layers.forward("conv_forward", args["x"], args["w"], args["b"],
                                             problem.layer_params())
            wrong = _shape_result("conv_forward", out, dout_shape)
            if wrong:
                return wrong
            grads = dict(zip(("dx", "dw", "db"), self.layers.backward("conv_backward", dout, cache, 3)))
            name = which[1:]

            def f(value):
                values = [value if k == name else args[k] for k in "xwb"]
                return self.layers.forward("conv_forward", *values, problem.layer_params())[0]

            numeric = eval_numerical_gradient_array(f, args[name].copy(), dout)
            return _gradient_result(grads[which], numeric)

        return run

    # --- Max-pooling ------------------------------------------------------------------------

    def max_pool_forward(self):
        expected_shape = self.layout.shape((2, 3, 2, 2))

        def notebook():
            x = self.layout.images(np.linspace(-0.3, 0.4, 96).reshape(2, 3, 4, 4))
            out, _ = self.layers.forward("max_pool_forward", x,
                                         {"pool_height": 2, "pool_width": 2, "stride": 2})
            wrong = _shape_result("max_pool_forward", out, expected_shape)
            if wrong:
                return wrong
            out = self.layout.to_nchw(out)
            error = max(rel_error(out[0, 0], [[-0.26315789, -0.24842105], [-0.20421053, -0.18947368]]),
                        rel_error(out[1, 2], [[0.32631579, 0.34105263], [0.38526316, 0.4]]))
            return _result(error, PUBLISHED_REL_ERROR_MAX)

        checks = [Check("max_pool_forward: the notebook's values (2x2 windows, stride 2)", notebook,
                        "max_pool_forward",
                        hint="the maximum of each window, windows starting every `stride` pixels")]
        for problem in self.configs(("maxpool_forward", "maxpool_backward")):
            checks.append(self.pool_shape_check(problem))
        return checks

    def pool_shape_check(self, problem):
        x_file = problem.input("x")
        out_shape = (problem.outputs[0].shape if problem.op == "maxpool_forward"
                     else problem.input("dout").shape)

        def run():
            x = np.random.default_rng(SEED).standard_normal(x_file.shape)
            out, _ = self.layers.forward("max_pool_forward", x, problem.layer_params())
            return _shape_result("max_pool_forward", out, out_shape) or (True, f"shape {out.shape}")

        return Check(f"max_pool_forward: output shape on {problem.name}'s inputs "
                     f"(x {x_file.shape}, {param_text(problem.params)})", run, "max_pool_forward",
                     hint="no padding: H_out = (H - pool_height) // stride + 1")

    def max_pool_backward(self):
        checks, overlapping = [], False
        for problem in self.configs(("maxpool_backward",)):
            params = problem.layer_params()
            overlaps = _overlaps(params)
            overlapping = overlapping or overlaps
            x_shape = self.layout.small_images(problem.input("x").shape)
            dout_shape = self.layout.small_images(problem.input("dout").shape)
            hint = "each window's derivative goes to the position of its maximum only"
            if overlaps:
                hint += "; where windows overlap, ADD (+=) the derivatives, do not overwrite"
            checks.append(Check(f"max_pool_backward: dx against the numerical gradient "
                                f"({param_text(problem.params)})",
                                self.pool_gradient(x_shape, dout_shape, params),
                                "max_pool_backward", hint=hint, needs=("max_pool_forward",)))
        if not overlapping:
            params = {"pool_height": 3, "pool_width": 3, "stride": 2}
            checks.append(Check("max_pool_backward: dx with overlapping windows (3x3, stride 2)",
                                self.pool_gradient(self.layout.shape((2, 2, 7, 7)),
                                                   self.layout.shape((2, 2, 3, 3)), params),
                                "max_pool_backward",
                                hint="where windows overlap, ADD (+=) the derivatives reaching one "
                                     "position, do not overwrite",
                                needs=("max_pool_forward",)))
        return checks

    def pool_gradient(self, x_shape, dout_shape, params):
        def run():
            rng = np.random.default_rng(SEED)
            x = rng.standard_normal(x_shape)
            dout = rng.standard_normal(dout_shape)
            out, cache = self.layers.forward("max_pool_forward", x, dict(params))
            wrong = _shape_result("max_pool_forward", out, dout_shape)
            if wrong:
                return wrong
            dx = self.layers.backward("max_pool_backward", dout, cache, 1)
            numeric = eval_numerical_gradient_array(
                lambda v: self.layers.forward("max_pool_forward", v, dict(params))[0], x.copy(), dout)
            return _gradient_result(dx, numeric)

        return run

    # --- Dropout ------------------------------------------------------------------------------

    def course_p(self, drop_prob):
        """The assignment's p for a drop probability: itself, or the keep probability."""
        return round(1.0 - drop_prob, 12) if self.keep else drop_prob

    def scale_words(self):
        return "1 / p" if self.keep else "1 / (1 - p)"

    def big_x(self):
        return np.random.default_rng(SEED).standard_normal((500, 500)) + 10  # never 0: 0 = dropped

    def dropout_train(self, x, drop_prob, seed=7):
        """Train mode on a copy of ``x``: a layer that changes its input spoils no other check."""
        param = {"p": self.course_p(drop_prob), "mode": "train", "seed": seed}
        return self.layers.forward("dropout_forward", x.copy(), param)[0]

    def dropout_forward(self):
        x = self.big_x()

        def fraction():
            ok, figures = True, []
            for drop_prob in (0.25, 0.4, 0.7):
                out = self.dropout_train(x, drop_prob)
                dropped = float(np.mean(out == 0)) if out.shape == x.shape else float("nan")
                ok = ok and abs(dropped - drop_prob) < DROP_FRACTION_TOLERANCE
                figures.append(f"p={self.course_p(drop_prob):g}: dropped {dropped:.4f}")
            return ok, (", ".join(figures) + f" (each within {DROP_FRACTION_TOLERANCE:g} of "
                        + ("1 - p)" if self.keep else "p)"))

        def scaling():
            drop_prob = 0.4
            out = self.dropout_train(x, drop_prob)
            wrong = _shape_result("dropout_forward", out, x.shape)
            if wrong:
                return wrong
            kept = out != 0
            if not kept.any():
                return False, "every unit was dropped"
            return _result(rel_error(out[kept], x[kept] / (1 - drop_prob)), EXACT_REL_ERROR_MAX,
                           f"rel_error against x * {self.scale_words()}")

        def test_mode():
            out, _ = self.layers.forward("dropout_forward", x.copy(),
                                         {"p": self.course_p(0.4), "mode": "test", "seed": 7})
            return _shape_result("dropout_forward", out, x.shape) or _result(
                rel_error(out, x), EXACT_REL_ERROR_MAX)

        def seeds():
            def mask(seed):
                return self.dropout_train(x, 0.5, seed) == 0

            same = np.array_equal(mask(42), mask(42))
            other = not np.array_equal(mask(42), mask(43))
            fresh = not np.array_equal(mask(None), mask(None))
            return same and other and fresh, (
                f"seed 42 twice: {'same' if same else 'DIFFERENT'} masks; "
                f"seeds 42 and 43: {'different' if other else 'the SAME'} masks; "
                f"no seed twice: {'different' if fresh else 'the SAME'} masks")

        def keeps_input():
            mine = x.copy()
            self.layers.forward("dropout_forward", mine,
                                {"p": self.course_p(0.5), "mode": "train", "seed": 1})
            changed = int(np.sum(mine != x))
            return changed == 0, f"{changed} elements of x changed"

        if self.keep:
            meaning = "dropped fraction near 1 - p (p is the probability of KEEPING a unit)"
            keep_rule = "keep a unit when rng.random() < p, i.e. with probability p"
        else:
            meaning = "dropped fraction near p (p is the probability of DROPPING a unit)"
            keep_rule = "keep a unit when rng.random() >= p, i.e. with probability 1 - p"
        return [
            Check(f"dropout_forward: {meaning}", fraction, "dropout_forward", hint=keep_rule),
            Check(f"dropout_forward: kept units scaled by {self.scale_words()} in train mode",
                  scaling, "dropout_forward",
                  hint=f"inverted dropout: out = x * mask * {self.scale_words()}"),
            Check("dropout_forward: test mode is the identity", test_mode, "dropout_forward",
                  hint="no mask and no scaling at test time"),
            Check("dropout_forward: the same seed gives the same mask, other seeds and no seed "
                  "other masks", seeds, "dropout_forward",
                  hint="draw the mask from np.random.default_rng(dropout_param.get('seed')), "
                       "never a fixed seed"),
            Check("dropout_forward: leaves x unchanged", keeps_input, "dropout_forward",
                  hint="compute out = x * mask, not x *= mask"),
        ]

    def dropout_backward(self):
        rng = np.random.default_rng(SEED)
        x = rng.standard_normal((10, 10)) + 10
        dout = rng.standard_normal((10, 10))
        train = {"p": self.course_p(0.2), "mode": "train", "seed": 123}

        def gradient():
            _, cache = self.layers.forward("dropout_forward", x, dict(train))
            dx = self.layers.backward("dropout_backward", dout, cache, 1)
            numeric = eval_numerical_gradient_array(
                lambda v: self.layers.forward("dropout_forward", v, dict(train))[0], x.copy(), dout)
            return _gradient_result(dx, numeric)

        def test_mode():
            _, cache = self.layers.forward("dropout_forward", x, {**train, "mode": "test"})
            dx = self.layers.backward("dropout_backward", dout, cache, 1)
            return _shape_result("dropout_backward", dx, dout.shape) or _result(
                rel_error(dx, dout), EXACT_REL_ERROR_MAX)

        return [
            Check(f"dropout_backward: dx against the numerical gradient (p {train['p']:g}, train, "
                  "seed 123)", gradient, "dropout_backward",
                  hint=f"reuse the forward mask from the cache, scaled by {self.scale_words()}",
                  needs=("dropout_forward",)),
            Check("dropout_backward: test mode passes dout through unchanged", test_mode,
                  "dropout_backward", hint="no mask and no scaling at test time",
                  needs=("dropout_forward",)),
        ]


def _overlaps(params):
    stride = params["stride"]
    stride_h, stride_w = stride if isinstance(stride, tuple) else (stride, stride)
    return stride_h < params["pool_height"] or stride_w < params["pool_width"]


def layer_checks(assignment, load_layers):
    """The checks of every layer function ``assignment`` uses; ``load_layers()`` returns the
    student's code_base.layers module."""
    return _Builder(assignment, load_layers).checks()
