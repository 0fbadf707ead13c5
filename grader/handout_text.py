"""The words of a hand-out's README and layer skeleton, in the course's conventions.

The templates (student_template/README.md.j2, code_base/layers.py.j2) only lay these out: every
sentence that depends on the layout (NCHW or NHWC), on what ``pad`` means (total or per side) or on
what dropout's ``p`` means (drop or keep) is chosen here, once, so that the README, the docstrings
and the self-check say the same thing.
"""
import re
import textwrap

from grader.handout_spec import course_params, layer_functions

# Lines of the rendered README and docstrings are filled to this width (see rewrap).
LINE_WIDTH = 99
_CODE_SPAN = re.compile(r"``[^`]+``|`[^`]+`")
_ITEM = re.compile(r"- |[0-9]+\. ")  # a bullet or a numbered item: its later lines hang
_KEEP_SPACE = "\x00"  # a space inside a code span while filling: never a line break

_PARAM_DICTS = {"conv": "conv_param", "maxpool": "pool_param", "dropout": "dropout_param"}

_LAYOUTS = {
    "NCHW": {
        "image": "(N, C, H, W)",
        "image_words": "N images, C channels, height H, width W",
        "weights": "(F, C, HH, WW)",
        "weights_words": "F filters, each spanning all C channels, of height HH and width WW",
        "conv_out": "(N, F, H_out, W_out)",
        "pool_out": "(N, C, H_out, W_out)",
        "conv_sum": "out[n, f, i, j] = b[f] + sum over c, u, v of "
                    "x_pad[n, c, i*stride + u, j*stride + v] * w[f, c, u, v]",
        "pool_max": "``out[n, c, i, j]`` is the largest value of ``x[n, c]`` in the window whose "
                    "top-left corner is at ``(i*stride, j*stride)``",
        "pad_axes": "np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))",
        "db_axes": "N, H_out and W_out",
    },
    "NHWC": {
        "image": "(N, H, W, C)",
        "image_words": "N images of height H and width W, with C channels (channels last)",
        "weights": "(HH, WW, C, F)",
        "weights_words": "filters of height HH and width WW over all C channels, F of them "
                         "(the filter index last)",
        "conv_out": "(N, H_out, W_out, F)",
        "pool_out": "(N, H_out, W_out, C)",
        "conv_sum": "out[n, i, j, f] = b[f] + sum over u, v, c of "
                    "x_pad[n, i*stride + u, j*stride + v, c] * w[u, v, c, f]",
        "pool_max": "``out[n, i, j, c]`` is the largest value of ``x[n, :, :, c]`` in the window "
                    "whose top-left corner is at ``(i*stride, j*stride)``",
        "pad_axes": "np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))",
        "db_axes": "N, H_out and W_out",
    },
}

_PAD = {
    "total": {
        "meaning": "the TOTAL padding, split equally over both sides: pad 2 means one zero on "
                   "each side (pad // 2 per side)",
        "per_side": "pad // 2",
        "h_out": "H_out = (H + pad - HH) // stride + 1",
        "w_out": "W_out = (W + pad - WW) // stride + 1",
        "padded_height": "H + pad",
    },
    "per_side": {
        "meaning": "the number of zeros added on EACH side of H and W, as in CS231n",
        "per_side": "pad",
        "h_out": "H_out = (H + 2*pad - HH) // stride + 1",
        "w_out": "W_out = (W + 2*pad - WW) // stride + 1",
        "padded_height": "H + 2*pad",
    },
}

_DROPOUT = {
    "drop": {
        "meaning": "the probability of DROPPING a unit (setting it to 0), not of keeping it",
        "keep_probability": "1 - p",
        "scale": "1 / (1 - p)",
        "kept_value": "x / (1 - p)",
        "kept_dout": "dout / (1 - p)",
        "range": "[0, 1)",
        "rule": "drop a unit where rng.random(x.shape) < p",
    },
    "keep": {
        "meaning": "the probability of KEEPING a unit, not of dropping it (a unit is dropped, "
                   "set to 0, with probability 1 - p)",
        "keep_probability": "p",
        "scale": "1 / p",
        "kept_value": "x / p",
        "kept_dout": "dout / p",
        "range": "(0, 1]",
        "rule": "keep a unit where rng.random(x.shape) < p",
    },
}


def _family(op):
    return op.split("_")[0]


def _literal(value):
    """A parameter as Python source: 2, 0.3, (2, 1) for a pair."""
    return repr(tuple(value)) if isinstance(value, (list, tuple)) else repr(value)


def received(problem):
    """The dict a problem's layers receive, as Python source."""
    params = course_params(problem)
    items = ", ".join(f"'{name}': {_literal(value)}" for name, value in params.items())
    if _family(problem.op) == "dropout":
        items += ", 'mode': 'train' or 'test', 'seed': None"
    return f"{_PARAM_DICTS[_family(problem.op)]} = {{{items}}}"


def _files(specs):
    return ", ".join(f"`{s.filename}` {tuple(s.shape)}" for s in specs)


def _layer_checks(functions):
    """What self_check.py checks of the layers, in words: it depends on the functions."""
    found = []
    if {"conv_forward", "max_pool_forward"} & set(functions):
        found += ["the notebook's published values", "this assignment's output shapes"]
    if any(f.endswith("_backward") for f in functions):
        found.append("numerical gradient checks of your backward passes (a `rel_error` around "
                     "1e-8 or less when correct)")
    if "dropout_forward" in functions:
        found.append("the behaviour of dropout")
    return ", ".join(found[:-1]) + (" and " if len(found) > 1 else "") + found[-1]


def handout_words(assignment):
    """Everything the README and skeleton templates show, for ``assignment``."""
    families = {_family(p.op) for p in assignment.problems}
    pairs = any(isinstance(v, (list, tuple)) for p in assignment.problems for v in p.params.values())
    return {
        "name": assignment.name,
        "layout": assignment.layout,
        "functions": layer_functions(assignment),
        "function_list": ", ".join(f"`{f}`" for f in layer_functions(assignment)),
        "layer_checks": _layer_checks(layer_functions(assignment)),
        "checks": {"gradients": any(f.endswith("_backward") for f in layer_functions(assignment))},
        "has": {family: family in families for family in ("conv", "maxpool", "dropout")},
        "pairs": pairs,
        "shapes": _LAYOUTS[assignment.layout],
        "pad": _PAD[assignment.pad_convention],
        "total_pad": assignment.pad_convention == "total",
        "dropout": _DROPOUT[assignment.dropout_p_means],
        "output_count": len(assignment.outputs),
        "problems": [{"name": p.name, "received": received(p),
                      "inputs": _files(p.inputs), "outputs": _files(p.outputs)}
                     for p in assignment.problems],
    }


def rewrap(text, width=LINE_WIDTH):
    """Fill each paragraph, bullet and numbered item of ``text`` to ``width`` (a jinja2 filter).

    The words of a template's prose depend on the spec, so its lines cannot be wrapped by hand.
    A block keeps its first line's indent; an item's later lines hang under its text; blank
    lines stay. A code span (``x`` or `x`) is never broken. Only for prose: runs of spaces
    inside a block become one space.
    """
    blocks, current = [], []
    for line in text.split("\n"):
        stripped = line.lstrip()
        if not stripped or (_ITEM.match(stripped) and current):
            if current:
                blocks.append(current)
            current = []
        if not stripped:
            blocks.append(None)
        else:
            current.append(line)
    if current:
        blocks.append(current)
    out = []
    for block in blocks:
        if block is None:
            out.append("")
            continue
        indent = block[0][:len(block[0]) - len(block[0].lstrip())]
        item = _ITEM.match(block[0].lstrip())
        hanging = indent + " " * (len(item.group()) if item else 0)
        words = " ".join(" ".join(line.split()) for line in block)
        words = _CODE_SPAN.sub(lambda m: m.group().replace(" ", _KEEP_SPACE), words)
        filled = textwrap.fill(words, width, initial_indent=indent, subsequent_indent=hanging,
                               break_long_words=False, break_on_hyphens=False)
        out.append(filled.replace(_KEEP_SPACE, " "))
    return "\n".join(out)
