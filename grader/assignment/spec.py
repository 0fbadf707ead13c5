"""The assignment spec (assignment.toml): problems, inputs, parameters, outputs, tolerances, points.

A spec states its course's conventions (array layout, what `pad` and dropout's `p` mean) and this
module resolves them once into the reference's meaning, so nothing downstream has to know them.
A malformed spec is refused with a SpecError naming the key.
"""
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from grader.assignment import ops
from grader.errors import SpecError
from grader.judge.tolerance import DEFAULT_ATOL, DEFAULT_RTOL

# Tolerance defaults: grader/judge/tolerance.py holds the rule and says why these figures.

LAYOUTS = ("NCHW", "NHWC")
PAD_CONVENTIONS = ("total", "per_side")
DROPOUT_P_MEANINGS = ("drop", "keep")
FILE_FORMATS = ("values", "rows")  # one value per line, or a 2-D array with rows on lines

_REQUIRED_PARAMS = {"pool_height", "pool_width", "p"}
_PARAM_DEFAULTS = {"stride": 1, "pad": 0}

_RECIPE = re.compile(r"^\s*(linspace|normal|uniform)\(\s*([^,()]+?)\s*,\s*([^,()]+?)\s*\)\s*$")


@dataclass(frozen=True)
class ValueRecipe:
    """How an input's values are made: ``linspace(start, stop)`` over its size, or random draws."""

    kind: str
    a: float
    b: float

    def make(self, shape, rng):
        size = int(np.prod(shape))
        if self.kind == "linspace":
            return np.linspace(self.a, self.b, size).reshape(shape)
        if self.kind == "normal":
            return rng.normal(self.a, self.b, size).reshape(shape)
        return rng.uniform(self.a, self.b, size).reshape(shape)

    def __str__(self):
        return f"{self.kind}({self.a:g}, {self.b:g})"


@dataclass(frozen=True)
class InputSpec:
    problem: str
    role: str
    file: str
    shape: tuple
    values: ValueRecipe

    @property
    def filename(self):
        return self.file + ".csv"


@dataclass(frozen=True)
class OutputSpec:
    problem: str
    role: str
    file: str
    shape: tuple
    points: float
    rtol: float
    atol: float  # in units of the output's scale, max |expected|
    partial: bool
    statistical: bool  # a dropout train output: judged by statistics, not against expected/
    file_format: str

    @property
    def filename(self):
        return self.file + ".csv"

    @property
    def size(self):
        return int(np.prod(self.shape))


@dataclass(frozen=True)
class Problem:
    name: str
    op: str
    layout: str
    params: dict  # as the spec states them, in the course's conventions
    reference_params: dict  # resolved: per-side pad, drop probability
    file_format: str
    inputs: tuple
    outputs: tuple

    @property
    def drop_prob(self):
        return self.reference_params.get("p")


@dataclass(frozen=True)
class Assignment:
    name: str
    seed: int
    layout: str
    pad_convention: str
    dropout_p_means: str
    problems: tuple
    sha256: str
    source: str = field(default="", compare=False)

    @property
    def inputs(self):
        return tuple(i for p in self.problems for i in p.inputs)

    @property
    def outputs(self):
        return tuple(o for p in self.problems for o in p.outputs)

    @property
    def max_score(self):
        return float(sum(o.points for o in self.outputs))

    def problem(self, name):
        return next(p for p in self.problems if p.name == name)

    def output(self, file):
        return next(o for o in self.outputs if o.file == file)


def load_spec(path):
    """Read and validate the spec at ``path``; a SpecError names the offending key."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise SpecError(f"cannot read the assignment spec: {e.strerror}", path=path) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise SpecError(f"not valid TOML: {e}", path=path) from None
    try:
        return parse_spec(data, sha256=hashlib.sha256(raw).hexdigest(), source=str(path))
    except SpecError as e:
        e.path = path
        raise


def parse_spec(data, sha256="", source=""):
    """Build an Assignment from the parsed TOML ``data``."""
    _only(data, "", {"assignment", "tolerance", "problems", "late"})  # [late]: grader/course/late.py
    meta = _table(data, "assignment", required=True)
    _only(meta, "assignment", {"name", "seed", "layout", "pad_convention", "dropout_p_means"})
    name = _get(meta, "assignment.name", str)
    seed = _get(meta, "assignment.seed", int)
    layout = _choice(meta, "assignment.layout", LAYOUTS, "NCHW")
    pad_convention = _choice(meta, "assignment.pad_convention", PAD_CONVENTIONS, None)
    dropout_p_means = _choice(meta, "assignment.dropout_p_means", DROPOUT_P_MEANINGS, None)

    tolerance = _table(data, "tolerance")
    _only(tolerance, "tolerance", {"rtol", "atol", "partial"})
    defaults = {
        "rtol": _number(tolerance, "tolerance.rtol", DEFAULT_RTOL),
        "atol": _number(tolerance, "tolerance.atol", DEFAULT_ATOL),
        "partial": _get(tolerance, "tolerance.partial", bool, False),
    }

    problems_table = _table(data, "problems", required=True)
    if not problems_table:
        raise SpecError("'problems' lists no problem")
    problems = []
    seen_files = {}
    for pname, ptable in problems_table.items():
        problem = _parse_problem(pname, ptable, layout, pad_convention, dropout_p_means, defaults)
        for spec in problem.inputs + problem.outputs:
            where = f"problems.{pname}.{'inputs' if isinstance(spec, InputSpec) else 'outputs'}.{spec.role}.file"
            if spec.file in seen_files:
                raise SpecError(f"{where}: file name {spec.file!r} is already used by {seen_files[spec.file]}")
            seen_files[spec.file] = where
        problems.append(problem)
    return Assignment(name, seed, layout, pad_convention or "per_side", dropout_p_means or "drop",
                      tuple(problems), sha256, source)


def _parse_problem(pname, table, layout, pad_convention, dropout_p_means, defaults):
    key = f"problems.{pname}"
    if not isinstance(table, dict):
        raise SpecError(f"{key} must be a table")
    op = _get(table, f"{key}.op", str)
    if op not in ops.OPS:
        raise SpecError(f"{key}.op: unknown op {op!r}; expected one of {', '.join(ops.OPS)}")
    signature = ops.OPS[op]
    _only(table, key, {"op", "file_format", "inputs", "outputs", *signature.params})
    file_format = _choice(table, f"{key}.file_format", FILE_FORMATS,
                          "rows" if signature.dropout else "values")
    params = {p: table[p] for p in signature.params if p in table}
    reference_params = _resolve_params(key, op, params, pad_convention, dropout_p_means)

    inputs_table = _table(table, f"{key}.inputs", required=True, name="inputs")
    _exactly(inputs_table, f"{key}.inputs", signature.inputs)
    inputs = []
    for role in signature.inputs:
        ikey = f"{key}.inputs.{role}"
        itable = inputs_table[role]
        _only(itable, ikey, {"file", "shape", "values"})
        shape = _shape(itable, f"{ikey}.shape")
        recipe = _recipe(itable, f"{ikey}.values")
        inputs.append(InputSpec(pname, role, _filename(itable, f"{ikey}.file"), shape, recipe))
    if file_format == "rows" and any(len(i.shape) != 2 for i in inputs):
        raise SpecError(f"{key}.file_format: 'rows' needs 2-D inputs, got shapes "
                        f"{[i.shape for i in inputs]}")

    # Output shapes come from running the reference on zeros: this also refuses shapes that do
    # not fit the parameters, with the reference's own message.
    zeros = {i.role: np.zeros(i.shape) for i in inputs}
    problem_for_run = Problem(pname, op, layout, params, reference_params, file_format, (), ())
    try:
        shapes = {role: a.shape for role, a in ops.run(problem_for_run, zeros, dropout_seed=0).items()}
    except ValueError as e:
        raise SpecError(f"{key}: the input shapes do not fit the parameters: {e}") from None

    outputs_table = _table(table, f"{key}.outputs", required=True, name="outputs")
    _exactly(outputs_table, f"{key}.outputs", signature.outputs)
    outputs = []
    for role in signature.outputs:
        okey = f"{key}.outputs.{role}"
        otable = outputs_table[role]
        _only(otable, okey, {"file", "points", "rtol", "atol", "partial"})
        points = _number(otable, f"{okey}.points", 1.0)
        if points < 0:
            raise SpecError(f"{okey}.points: must be >= 0, got {points}")
        outputs.append(OutputSpec(
            problem=pname, role=role, file=_filename(otable, f"{okey}.file"), shape=shapes[role],
            points=points, rtol=_number(otable, f"{okey}.rtol", defaults["rtol"]),
            atol=_number(otable, f"{okey}.atol", defaults["atol"]),
            partial=_get(otable, f"{okey}.partial", bool, defaults["partial"]),
            statistical=role.endswith("_train"), file_format=file_format,
        ))
    return Problem(pname, op, layout, params, reference_params, file_format, tuple(inputs), tuple(outputs))


def _resolve_params(key, op, params, pad_convention, dropout_p_means):
    """The spec's parameters in the reference's meaning: per-side pad, drop probability."""
    signature = ops.OPS[op]
    for name in signature.params:
        if name in _REQUIRED_PARAMS and name not in params:
            raise SpecError(f"{key}.{name} is missing")
    resolved = {name: value for name, value in _PARAM_DEFAULTS.items() if name in signature.params}
    for name, value in params.items():
        pkey = f"{key}.{name}"
        if name in ("stride", "pad"):
            pair = _int_pair(value, pkey)
            if name == "pad":
                if pad_convention is None:
                    raise SpecError(f"{pkey}: say what pad means with assignment.pad_convention "
                                    "= \"total\" or \"per_side\"")
                if any(v < 0 for v in pair):
                    raise SpecError(f"{pkey}: must be >= 0, got {value}")
                if pad_convention == "total":
                    if any(v % 2 for v in pair):
                        raise SpecError(f"{pkey}: a total pad of {value} is odd and cannot be split "
                                        "equally over both sides (pad_convention = \"total\")")
                    pair = (pair[0] // 2, pair[1] // 2)
            elif any(v < 1 for v in pair):
                raise SpecError(f"{pkey}: must be >= 1, got {value}")
            resolved[name] = pair if pair[0] != pair[1] else pair[0]
        elif name in ("pool_height", "pool_width"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SpecError(f"{pkey}: must be a positive int, got {value!r}")
            resolved[name] = value
        elif name == "p":
            if dropout_p_means is None:
                raise SpecError(f"{pkey}: say what p means with assignment.dropout_p_means = "
                                "\"drop\" or \"keep\"")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SpecError(f"{pkey}: must be a number, got {value!r}")
            drop_prob = float(value) if dropout_p_means == "drop" else round(1.0 - float(value), 12)
            if not 0.0 <= drop_prob < 1.0:
                raise SpecError(f"{pkey}: p = {value} ({dropout_p_means} probability) leaves a drop "
                                f"probability of {drop_prob:g}, outside [0, 1)")
            resolved["p"] = drop_prob
        elif name == "seed":
            if isinstance(value, bool) or not isinstance(value, int):
                raise SpecError(f"{pkey}: must be an int, got {value!r}")
            resolved["seed"] = value
    return resolved


def _int_pair(value, key):
    if isinstance(value, list) and len(value) == 2:
        items = value
    elif isinstance(value, int) and not isinstance(value, bool):
        items = [value, value]
    else:
        raise SpecError(f"{key}: must be an int or a [h, w] pair, got {value!r}")
    if any(isinstance(v, bool) or not isinstance(v, int) for v in items):
        raise SpecError(f"{key}: must be an int or a [h, w] pair of ints, got {value!r}")
    return int(items[0]), int(items[1])


def _only(table, key, allowed):
    for k in table:
        if k not in allowed:
            where = f"{key}.{k}" if key else k
            raise SpecError(f"{where}: unknown key; expected one of {', '.join(sorted(allowed))}")


def _exactly(table, key, roles):
    _only(table, key, set(roles))
    for role in roles:
        if role not in table:
            raise SpecError(f"{key}.{role} is missing")
        if not isinstance(table[role], dict):
            raise SpecError(f"{key}.{role} must be a table")


def _table(data, key, required=False, name=None):
    name = name or key
    if name not in data:
        if required:
            raise SpecError(f"{key} is missing")
        return {}
    if not isinstance(data[name], dict):
        raise SpecError(f"{key} must be a table")
    return data[name]


_MISSING = object()


def _get(table, key, kind, default=_MISSING):
    name = key.rsplit(".", 1)[-1]
    if name not in table:
        if default is _MISSING:
            raise SpecError(f"{key} is missing")
        return default
    value = table[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise SpecError(f"{key}: must be {kind.__name__}, got {value!r}")
    return value


def _number(table, key, default):
    name = key.rsplit(".", 1)[-1]
    value = table.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise SpecError(f"{key}: must be a non-negative number, got {value!r}")
    return float(value)


def _choice(table, key, choices, default):
    name = key.rsplit(".", 1)[-1]
    value = table.get(name, default)
    if value is not None and value not in choices:
        raise SpecError(f"{key}: must be one of {', '.join(repr(c) for c in choices)}, got {value!r}")
    return value


def _filename(table, key):
    value = _get(table, key, str)
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", value) or value.endswith(".csv"):
        raise SpecError(f"{key}: {value!r} is not a plain file name (letters, digits, _ . -; "
                        "no folder, no .csv extension)")
    return value


def _shape(table, key):
    value = _get(table, key, list)
    if not value or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value):
        raise SpecError(f"{key}: must be a list of positive ints, got {value!r}")
    return tuple(value)


def _recipe(table, key):
    value = _get(table, key, str)
    match = _RECIPE.match(value)
    if not match:
        raise SpecError(f"{key}: {value!r} is not a value recipe; use linspace(start, stop), "
                        "normal(mean, std) or uniform(low, high)")
    try:
        return ValueRecipe(match.group(1), float(match.group(2)), float(match.group(3)))
    except ValueError:
        raise SpecError(f"{key}: {value!r} has a bound that is not a number") from None
