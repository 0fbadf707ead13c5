"""Hand-outs for tests: every spec with its inputs and expected outputs, a correct student's
layers in each course's conventions, and the hand-out's scripts run as a student runs them."""
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.assignment.generate import write_expected, write_inputs
from grader.assignment.spec import load_spec
from grader.handout import write_template

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "assignment.toml"
INPUTS = REPO / "input_files"
EXPECTED = REPO / "expected"
TEMPLATE = REPO / "student_template"
# A course none of the examples is: NHWC, a total pad and strides given as (h, w) pairs, an
# overlapping 2x3 pool with a (1, 2) stride, dropout whose p is the keep probability.
PAIRS_SPEC = """\
[assignment]
name = "Pairs, NHWC, total pad, keep-probability"
seed = 7
layout = "NHWC"
pad_convention = "total"
dropout_p_means = "keep"

[problems.conv_backward]
op = "conv_backward"
stride = [2, 1]
pad = [2, 0]
inputs.x = { file = "cb_x", shape = [2, 7, 6, 3], values = "normal(0, 1)" }
inputs.w = { file = "cb_w", shape = [3, 3, 3, 2], values = "normal(0, 1)" }
inputs.b = { file = "cb_b", shape = [2], values = "normal(0, 1)" }
inputs.dout = { file = "cb_dout", shape = [2, 4, 4, 2], values = "normal(0, 1)" }
outputs.dx = { file = "cb_dx" }
outputs.dw = { file = "cb_dw" }
outputs.db = { file = "cb_db" }

[problems.maxpool_forward]
op = "maxpool_forward"
pool_height = 2
pool_width = 3
stride = [1, 2]
inputs.x = { file = "mp_x", shape = [2, 5, 7, 3], values = "normal(0, 1)" }
outputs.out = { file = "mp_out" }

[problems.dropout_backward]
op = "dropout_backward"
p = 0.6
inputs.x = { file = "db_x", shape = [12, 12], values = "normal(10, 1)" }
inputs.dout = { file = "db_dout", shape = [12, 12], values = "normal(0, 1)" }
outputs.dx_train = { file = "db_dx_train" }
outputs.dx_test = { file = "db_dx_test" }
"""
SPECS = {"assignment": SPEC, **{p.stem: p for p in sorted((REPO / "examples" / "specs").glob("*.toml"))},
         "pairs": None}  # written by the courses fixture
# The layer functions each op runs (a backward problem runs its forward pass for the cache).
FUNCTIONS_OF = {"conv_forward": {"conv_forward"}, "conv_backward": {"conv_forward", "conv_backward"},
                "maxpool_forward": {"max_pool_forward"},
                "maxpool_backward": {"max_pool_forward", "max_pool_backward"},
                "dropout_forward": {"dropout_forward"},
                "dropout_backward": {"dropout_forward", "dropout_backward"}}
GENERATED = {"README.md", "code_base/layers.py", "assignment.json", "kit/dropout_stats.py", "kit/tolerance.py",
             "kit/exact.py", "kit/mask_structure.py"}
API = ("conv_forward", "conv_backward", "max_pool_forward", "max_pool_backward",
       "dropout_forward", "dropout_backward")

# The CS231n notebook's published values (DESIGN.md), which self_check.py compares with: the only
# numbers of a hand-out that may equal an expected value (the CS231n spec's conv_forward inputs
# are the notebook's, so its expected output holds them).
PUBLISHED = {-0.08759809, -0.10987781, -0.18387192, -0.2109216, 2.36270298, 2.36904306,
             2.38090835, 2.38247847, -0.26315789, -0.24842105, -0.20421053, -0.18947368,
             0.32631579, 0.34105263, 0.38526316, 0.4}


@dataclass(frozen=True)
class Course:
    """A spec with its input files and the expected outputs the reference computes for them."""

    spec: Path
    inputs: Path
    expected: Path
    assignment: object


@pytest.fixture(scope="session")
def courses(tmp_path_factory):
    found = {"assignment": Course(SPEC, INPUTS, EXPECTED, load_spec(SPEC))}
    for name, spec in SPECS.items():
        if name not in found:
            root = tmp_path_factory.mktemp(name)
            if spec is None:
                spec = root / f"{name}.toml"
                spec.write_text(PAIRS_SPEC)
            assignment = load_spec(spec)
            write_inputs(assignment, root / "inputs")
            write_expected(assignment, root / "inputs", root / "expected")
            found[name] = Course(spec, root / "inputs", root / "expected", assignment)
    return found


def correct_layers(assignment):
    """code_base/layers.py for a correct student: the reference, behind the course's conventions
    (this test may use the reference; the hand-out never does)."""
    return textwrap.dedent(f"""\
        import numpy as np
        import reference

        NHWC = {assignment.layout == "NHWC"}
        TOTAL_PAD = {assignment.pad_convention == "total"}
        KEEP = {assignment.dropout_p_means == "keep"}


        def _nchw(a):
            return a.transpose(0, 3, 1, 2) if NHWC else a


        def _back(a):
            return np.ascontiguousarray(a.transpose(0, 2, 3, 1)) if NHWC else a


        def _per_side(conv_param):
            pad = conv_param.get("pad", 0)
            if TOTAL_PAD:
                pad = tuple(p // 2 for p in pad) if isinstance(pad, tuple) else pad // 2
            return {{**conv_param, "pad": pad}}


        def conv_forward(x, w, b, conv_param):
            w = w.transpose(3, 2, 0, 1) if NHWC else w
            out, cache = reference.conv_forward(_nchw(x), w, b, _per_side(conv_param))
            return _back(out), cache


        def conv_backward(dout, cache):
            dx, dw, db = reference.conv_backward(_nchw(dout), cache)
            dw = np.ascontiguousarray(dw.transpose(2, 3, 1, 0)) if NHWC else dw
            return _back(dx), dw, db


        def max_pool_forward(x, pool_param):
            out, cache = reference.max_pool_forward(_nchw(x), pool_param)
            return _back(out), cache


        def max_pool_backward(dout, cache):
            return _back(reference.max_pool_backward(_nchw(dout), cache))


        def dropout_forward(x, dropout_param):
            if KEEP:
                dropout_param = {{**dropout_param, "p": 1 - dropout_param["p"]}}
            return reference.dropout_forward(x, dropout_param)


        def dropout_backward(dout, cache):
            return reference.dropout_backward(dout, cache)
        """)


def run_script(folder, script, *args, python=sys.executable):
    """Run one of the hand-out's scripts as a student would: ``python script`` in its folder."""
    return subprocess.run([str(python), script, *args], cwd=folder, capture_output=True, text=True,
                          timeout=300)


def fill_layers(folder, source):
    (folder / "code_base" / "layers.py").write_text(source)


def make_handout(course, folder):
    write_template(folder, inputs_dir=course.inputs, spec_path=course.spec)
    return folder


@pytest.fixture(params=sorted(SPECS))
def course(request, courses):
    return courses[request.param]


@pytest.fixture
def default_course(courses):
    return courses["assignment"]


@pytest.fixture
def handout(default_course, tmp_path):
    return make_handout(default_course, tmp_path / "handout")


@pytest.fixture
def filled(handout, default_course):
    fill_layers(handout, correct_layers(default_course.assignment))
    return handout


def handout_files(folder):
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def check_full_marks(course, outputs):
    """`cnngrade check --strict` on ``outputs``: exit code 0 only with full marks."""
    result = CliRunner().invoke(main, ["check", str(outputs), "--spec", str(course.spec), "--inputs",
                                       str(course.inputs), "--expected", str(course.expected),
                                       "--strict"])
    return result.exit_code, result.output
