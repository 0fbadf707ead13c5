"""This assignment as assignment.json describes it, in the course's own terms.

assignment.json lists the problems: for each, the layer functions it runs, its input and output
files with their shapes (in this assignment's layout), and its parameters exactly as the
assignment states them. make_outputs.py passes those parameters to your layers unchanged.
"""
import json
import math
from dataclasses import dataclass
from pathlib import Path

SPEC_NAME = "assignment.json"
SPEC_FORMAT = 1

# The layer functions each problem runs: a backward problem runs its forward pass for the cache.
FUNCTIONS = {
    "conv_forward": ("conv_forward",),
    "conv_backward": ("conv_forward", "conv_backward"),
    "maxpool_forward": ("max_pool_forward",),
    "maxpool_backward": ("max_pool_forward", "max_pool_backward"),
    "dropout_forward": ("dropout_forward",),
    "dropout_backward": ("dropout_forward", "dropout_backward"),
}


@dataclass(frozen=True)
class ArrayFile:
    """One input or output file: its role in the problem (``x``, ``dout``, ``out_train``...),
    its name without ``.csv``, and the shape of the array it holds."""

    role: str
    file: str
    shape: tuple
    statistical: bool = False  # a dropout train output: random, judged by statistics
    rtol: float = 0.0
    atol: float = 0.0

    @property
    def filename(self):
        return self.file + ".csv"

    @property
    def size(self):
        return math.prod(self.shape)


@dataclass(frozen=True)
class Problem:
    name: str
    op: str
    file_format: str  # "values": one value per line; "rows": a 2-D array, one row per line
    params: dict  # as the assignment states them; pairs are tuples
    inputs: tuple
    outputs: tuple
    drop_prob: float = None  # dropout: the probability of DROPPING a unit, whatever p means

    @property
    def functions(self):
        return FUNCTIONS[self.op]

    def layer_params(self):
        """A fresh copy of the parameters, so that a layer that changes its dict spoils nothing."""
        return dict(self.params)

    def input(self, role):
        return next(i for i in self.inputs if i.role == role)


@dataclass(frozen=True)
class Assignment:
    name: str
    layout: str  # "NCHW" or "NHWC"
    pad_convention: str  # "total" or "per_side": what the assignment's pad means
    dropout_p_means: str  # "drop" or "keep": what the assignment's p means
    functions: tuple  # the layer functions of code_base/layers.py, in order
    problems: tuple

    @property
    def outputs(self):
        return tuple(o for p in self.problems for o in p.outputs)


def _as_param(value):
    return tuple(value) if isinstance(value, list) else value


def _files(table):
    return tuple(ArrayFile(role=role, file=entry["file"], shape=tuple(entry["shape"]),
                           statistical=entry.get("statistical", False),
                           rtol=entry.get("rtol", 0.0), atol=entry.get("atol", 0.0))
                 for role, entry in table.items())


def load_assignment(folder):
    """Read ``folder``/assignment.json; a ValueError says what is wrong with it."""
    path = Path(folder) / SPEC_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != SPEC_FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {SPEC_FORMAT}")
        problems = tuple(
            Problem(name=p["name"], op=p["op"], file_format=p["file_format"],
                    params={k: _as_param(v) for k, v in p["params"].items()},
                    inputs=_files(p["inputs"]), outputs=_files(p["outputs"]),
                    drop_prob=p.get("drop_prob"))
            for p in data["problems"])
        return Assignment(name=data["name"], layout=data["layout"],
                          pad_convention=data["pad_convention"],
                          dropout_p_means=data["dropout_p_means"],
                          functions=tuple(data["functions"]), problems=problems)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"cannot read {SPEC_NAME} ({type(e).__name__}: {e}); ask your course for "
                         "a fresh copy of the hand-out") from None
