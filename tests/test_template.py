"""The student hand-out (`cnngrade template`): built for every spec, holding no answers, its scripts
run as a student runs them.

Hand-outs are written by write_template for the default assignment and every example spec, then
their scripts run in a subprocess exactly as a student gets them: untouched (nothing implemented),
filled in with a correct implementation (the reference behind the course's conventions: layout,
total pad, keep-probability p; then every self-check passes and `cnngrade check` gives full marks),
with one catalogued mistake at a time (the self-check must name it), and in a fresh virtual
environment holding NumPy alone.
"""
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
import venv
from dataclasses import asdict, dataclass
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from grader import dropout_stats, template as template_module
from grader.cli import main
from grader.errors import GraderError
from grader.generate import write_expected, write_inputs
from grader.source_copy import standalone_source
from grader.spec import load_spec
from grader.template import RENDERED_FILES, TEMPLATE_FILES, find_template, write_template

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "assignment.toml"
INPUTS = REPO / "input_files"
EXPECTED = REPO / "expected"
TEMPLATE = REPO / "student_template"
SPECS = {"assignment": SPEC, **{p.stem: p for p in sorted((REPO / "examples" / "specs").glob("*.toml"))}}
# The layer functions each op runs (a backward problem runs its forward pass for the cache).
FUNCTIONS_OF = {"conv_forward": {"conv_forward"}, "conv_backward": {"conv_forward", "conv_backward"},
                "maxpool_forward": {"max_pool_forward"},
                "maxpool_backward": {"max_pool_forward", "max_pool_backward"},
                "dropout_forward": {"dropout_forward"},
                "dropout_backward": {"dropout_forward", "dropout_backward"}}
GENERATED = {"README.md", "code_base/layers.py", "assignment.json", "kit/dropout_stats.py"}
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


# --- The template and its installation -------------------------------------------------------

def test_template_files_are_the_ones_handed_out_and_installed():
    on_disk = {p.relative_to(TEMPLATE).as_posix() for p in TEMPLATE.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert on_disk == set(TEMPLATE_FILES) | set(RENDERED_FILES.values())
    data_files = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    for name in on_disk:
        folder = str(Path("share/cnngrade/student_template", name).parent)
        assert any(fnmatch(f"student_template/{name}", pattern)
                   for pattern in data_files.get(folder, [])), f"{name} is not installed"


def test_missing_template_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setattr(template_module, "template_candidates", lambda: [tmp_path / "a", tmp_path / "b"])
    with pytest.raises(GraderError, match=f"looked in {tmp_path / 'a'}, {tmp_path / 'b'}"):
        find_template()


def test_pip_install_ships_the_template(tmp_path):
    """`pip install .` (a wheel, not editable) installs the template where write_template finds it."""
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source)
    shutil.copy(REPO / "README.md", source)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "output_files")
    for package in ("reference", "grader", "student_template"):
        shutil.copytree(REPO / package, source / package, ignore=ignore)
    wheels = tmp_path / "wheels"
    build = None
    for isolation in (["--no-build-isolation", "--no-index"], []):  # offline first, then the index
        build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", *isolation,
                                str(source), "-w", str(wheels)], capture_output=True, text=True,
                               timeout=600)
        if build.returncode == 0:
            break
    if build.returncode:
        pytest.skip(f"cannot build a wheel here: {build.stderr.strip()[-300:]}")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                              "--no-deps", "--no-index", "-q", *map(str, wheels.glob("*.whl"))],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    script = textwrap.dedent(f"""\
        import grader, grader.template
        from pathlib import Path
        assert Path(grader.__file__).is_relative_to({str(env_dir)!r}), grader.__file__
        print(grader.template.find_template())
        grader.template.write_template({str(tmp_path / 'handout')!r}, inputs_dir={str(INPUTS)!r},
                                       spec_path={str(SPEC)!r})
        """)
    run = subprocess.run([str(python), "-c", script], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert Path(run.stdout.strip()) == env_dir / "share" / "cnngrade" / "student_template"
    reference_handout = write_template(tmp_path / "from-checkout", INPUTS, SPEC)[0].parent
    installed, checkout = handout_files(tmp_path / "handout"), handout_files(reference_handout)
    assert installed.keys() == checkout.keys()
    for name in installed:
        assert installed[name].read_bytes() == checkout[name].read_bytes(), name


# --- A hand-out for every spec ------------------------------------------------------------------

def test_handout_for_every_spec_holds_what_students_need(course, tmp_path):
    folder = make_handout(course, tmp_path / "handout")
    inputs = {f"input_files/{i.filename}" for i in course.assignment.inputs}
    assert handout_files(folder).keys() == set(TEMPLATE_FILES) | GENERATED | inputs
    for name in inputs:
        assert (folder / name).read_bytes() == (course.inputs / Path(name).name).read_bytes()
    for name in TEMPLATE_FILES:
        assert (folder / name).read_bytes() == (TEMPLATE / name).read_bytes()
    spec = json.loads((folder / "assignment.json").read_text())
    assert [p["name"] for p in spec["problems"]] == [p.name for p in course.assignment.problems]
    for entry, problem in zip(spec["problems"], course.assignment.problems):
        # The layers receive the parameters as the course states them (no seed: masks are theirs).
        assert entry["params"] == {k: v for k, v in problem.params.items() if k != "seed"} | {
            k: v for k, v in {"stride": 1, "pad": 0}.items()
            if k in entry["params"] and k not in problem.params}
        assert {r: tuple(f["shape"]) for r, f in entry["outputs"].items()} == {
            o.role: o.shape for o in problem.outputs}
    assert [p.name for p in tmp_path.iterdir()] == ["handout"]  # no staging folder left behind


def test_skeleton_follows_the_spec(course, tmp_path):
    """Only the functions the spec's problems run, each with the reference's signature, documented
    in the course's layout and conventions."""
    import importlib.util
    import inspect

    import reference

    folder = make_handout(course, tmp_path / "handout")
    module_spec = importlib.util.spec_from_file_location(f"skeleton_{course.spec.stem}",
                                                         folder / "code_base" / "layers.py")
    skeleton = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(skeleton)
    used = set().union(*(FUNCTIONS_OF[p.op] for p in course.assignment.problems))
    defined = [name for name, _ in inspect.getmembers(skeleton, inspect.isfunction)]
    assert sorted(defined) == sorted(used)
    for name in defined:
        function = getattr(skeleton, name)
        assert inspect.signature(function) == inspect.signature(getattr(reference, name))
        doc = inspect.getdoc(function)
        assert "Parameters\n----------" in doc and "Returns\n-------" in doc
        with pytest.raises(NotImplementedError):
            function(*[None] * len(inspect.signature(function).parameters))
    text = (folder / "code_base" / "layers.py").read_text()
    assignment = course.assignment
    if "conv_forward" in used:
        nhwc = assignment.layout == "NHWC"
        assert ("x : ndarray, shape (N, H, W, C)" if nhwc else "x : ndarray, shape (N, C, H, W)") in text
        assert ("w : ndarray, shape (HH, WW, C, F)" if nhwc else "w : ndarray, shape (F, C, HH, WW)") in text
        total = assignment.pad_convention == "total"
        assert ("H_out = (H + pad - HH) // stride + 1" if total
                else "H_out = (H + 2*pad - HH) // stride + 1") in text
        assert ("the TOTAL padding" if total else "zeros added on EACH side") in text
    if "dropout_forward" in used:
        keep = assignment.dropout_p_means == "keep"
        assert ("the probability of KEEPING a unit" if keep else "the probability of DROPPING a unit") in text
        assert ("``1 / p``" if keep else "``1 / (1 - p)``") in text
    assert max(len(line) for line in text.splitlines()) <= 120


def test_readme_follows_the_spec_and_never_asks_for_cnngrade(course, tmp_path):
    folder = make_handout(course, tmp_path / "handout")
    readme = (folder / "README.md").read_text()
    assert "cnngrade" not in readme.lower()
    assert "pip install" not in readme.replace("pip install numpy", "")
    assert "You do not have** the expected outputs, nor the reference implementation" in readme
    assert "ship inside the course's autograder" in readme
    for output in course.assignment.outputs:
        assert f"`{output.filename}` {output.shape}" in readme
    for problem in course.assignment.problems:
        assert f"| {problem.name} |" in readme
    if course.assignment.dropout_p_means == "keep":
        assert "`p` is the probability of KEEPING a unit" in readme
    assert f"Hand in** the {len(course.assignment.outputs)} files of `output_files/`" in readme


def test_the_command_from_the_issue_builds_the_cs231n_hand_out(courses, tmp_path):
    """`cnngrade template --spec examples/specs/cs231n.toml` used to stop with a line asking the
    instructor to edit a file inside the package."""
    course = courses["cs231n"]
    result = CliRunner().invoke(main, ["template", "--spec", str(course.spec), "--inputs",
                                       str(course.inputs), "--out", str(tmp_path / "h")])
    assert result.exit_code == 0, result.output
    files = len(TEMPLATE_FILES) + len(GENERATED) + len(course.assignment.inputs)
    assert result.output == f"wrote the student template ({files} files) to {tmp_path / 'h'}\n"
    again = CliRunner().invoke(main, ["template", "--spec", str(course.spec), "--inputs",
                                      str(course.inputs), "--out", str(tmp_path / "h")])
    assert again.exit_code == 1
    assert f"cnngrade: error: {tmp_path / 'h'}: is not empty: refusing to overwrite it" in again.output


def test_hand_outs_are_deterministic(default_course, tmp_path):
    one = handout_files(make_handout(default_course, tmp_path / "one"))
    two = handout_files(make_handout(default_course, tmp_path / "two"))
    assert one.keys() == two.keys()
    assert all(one[name].read_bytes() == two[name].read_bytes() for name in one)


# --- No reference, no expected values ------------------------------------------------------------

def _simple_statements(tree):
    """Every statement that holds no other statement (docstrings aside), as source text."""
    compound = (ast.FunctionDef, ast.ClassDef, ast.If, ast.For, ast.While, ast.With, ast.Try)
    return {ast.unparse(node) for node in ast.walk(tree)
            if isinstance(node, ast.stmt) and not isinstance(node, compound)
            and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))}


def _reference_fingerprints():
    """The reference's function bodies, its distinctive statements and its helpers' names."""
    bodies, statements, helpers = set(), set(), set()
    for path in (REPO / "reference").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                body = [s for s in node.body
                        if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
                bodies.add(ast.dump(ast.Module(body=body, type_ignores=[])))
                if node.name not in API:
                    helpers.add(node.name)
        # Statements long enough to be the reference's own, not a common idiom such as
        # "x = np.asarray(x, dtype=np.float64)" (36 characters).
        statements |= {s for s in _simple_statements(tree) if len(s) >= 40
                       and not s.startswith(("import ", "from "))}
    return bodies, statements, helpers


def _number_tokens(text):
    return set(re.findall(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?", text))


def test_handout_holds_no_reference_and_no_expected_values(course, tmp_path):
    folder = make_handout(course, tmp_path / "handout")
    files = handout_files(folder)
    assert not any(re.search(r"expected|manifest|\.toml$", name) for name in files)

    # No Python file imports anything but NumPy, the standard library and the hand-out's own code.
    bodies, statements, helpers = _reference_fingerprints()
    assert bodies and len(statements) > 20 and {"_im2col", "window_view"} <= helpers
    for name, path in files.items():
        if not name.endswith(".py"):
            continue
        text = path.read_text()
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                assert top in {"numpy", "kit", "code_base"} | sys.stdlib_module_names, (name, module)
        # ... nor holds the reference's code: no function body, no distinctive statement, no helper.
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                body = [s for s in node.body
                        if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
                assert ast.dump(ast.Module(body=body, type_ignores=[])) not in bodies, (name, node.name)
        assert not _simple_statements(tree) & statements, name
        assert not {h for h in helpers if re.search(rf"\b{re.escape(h)}\b", text)}, name

    # No file holds an expected value: not its text, nor (at 6 significant digits or more) its value,
    # except where it equals an input (test-mode dropout is the identity) or a published value.
    expected_values, expected_tokens = [], set()
    inputs_text = "".join(p.read_text() for p in course.inputs.glob("*.csv"))
    for output in course.assignment.outputs:
        if not output.statistical:
            text = (course.expected / output.filename).read_text()
            expected_tokens |= _number_tokens(text)
            expected_values.append(np.loadtxt(course.expected / output.filename).ravel())
    expected_tokens -= _number_tokens(inputs_text)
    values = np.unique(np.concatenate(expected_values))
    values = values[np.abs(values) > 1e-9]
    assert len(expected_tokens) > 0 or course.spec.stem == "keep_probability"
    for name, path in files.items():
        text = path.read_text()
        assert not _number_tokens(text) & expected_tokens, name
        if name.startswith("input_files/"):
            continue
        for token in _number_tokens(text):
            digits = len(re.sub(r"^[-+0.]*|[eE].*$|\.", "", token))
            if digits >= 6 and float(token) not in PUBLISHED:
                assert not np.isclose(values, float(token), rtol=1e-7, atol=0).any(), (name, token)


# --- The scripts: untouched, correct, in a NumPy-only environment ----------------------------------

def test_untouched_scripts_report_every_function_not_implemented(course, tmp_path):
    folder = make_handout(course, tmp_path / "handout")
    outputs = [o.filename for o in course.assignment.outputs]
    run = run_script(folder, "make_outputs.py")
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    assert f"Wrote none of the {len(outputs)} outputs." in run.stdout
    for name in outputs:
        assert re.search(rf"^  {re.escape(name)}: NotImplementedError: \w+ is not implemented yet "
                         r"\(layers\.py, line \d+\)$", run.stdout, re.M), name
    assert list((folder / "output_files").iterdir()) == []
    check = run_script(folder, "self_check.py")
    assert check.returncode == 1
    assert "Traceback" not in check.stdout + check.stderr
    layer_section = check.stdout.split("Your output files")[0]
    assert "PASS" not in layer_section and "FAIL" not in layer_section
    assert layer_section.count("NOT IMPLEMENTED") >= len(course.assignment.problems)
    assert "Next:" not in run.stdout + check.stdout


def test_correct_layers_pass_and_get_full_marks(course, tmp_path):
    folder = make_handout(course, tmp_path / "handout")
    fill_layers(folder, correct_layers(course.assignment))
    outputs = [o.filename for o in course.assignment.outputs]
    run = run_script(folder, "make_outputs.py")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1] == f"All {len(outputs)} outputs written. Next: python self_check.py"
    assert sorted(p.name for p in (folder / "output_files").iterdir()) == sorted(outputs)
    check = run_script(folder, "self_check.py")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "FAIL" not in check.stdout and "NOT IMPLEMENTED" not in check.stdout
    assert check.stdout.splitlines()[-1] == (f"Next: hand in the {len(outputs)} files of "
                                             "output_files/ (README.md, step 4).")
    exit_code, output = check_full_marks(course, folder / "output_files")
    assert exit_code == 0, output


def test_written_files_are_what_the_grader_writes(filled, default_course):
    from grader.csvio import format_array

    assert run_script(filled, "make_outputs.py").returncode == 0
    for output in default_course.assignment.outputs:
        got = filled / "output_files" / output.filename
        values = np.loadtxt(got).reshape(output.shape)
        assert got.read_bytes() == format_array(values, output.file_format).encode()


def test_dropout_masks_differ_between_runs(filled):
    """make_outputs.py passes no seed: two students with correct code must not share a mask."""
    masks = []
    for _ in range(2):
        assert run_script(filled, "make_outputs.py").returncode == 0
        masks.append(np.loadtxt(filled / "output_files" / "dropout_forward_out_train.csv") == 0)
    assert not np.array_equal(*masks)


def test_self_check_runs_from_another_folder(filled, tmp_path):
    assert run_script(filled, "make_outputs.py").returncode == 0
    run = subprocess.run([sys.executable, str(filled / "self_check.py")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.fixture(scope="session")
def numpy_only_python(tmp_path_factory):
    """A fresh virtual environment holding NumPy and nothing else (no cnngrade, no reference)."""
    env_dir = tmp_path_factory.mktemp("numpy-only") / "venv"
    venv.create(env_dir, system_site_packages=False, with_pip=False)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                              "numpy"], capture_output=True, text=True, timeout=600)
    if install.returncode:
        pytest.skip(f"pip cannot install numpy into a fresh venv here: {install.stderr.strip()[-300:]}")
    probe = subprocess.run([str(python), "-I", "-c", "import importlib.util as u, numpy; "
                            "print([u.find_spec(m) for m in ('grader', 'reference', 'jinja2')])"],
                           capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() == "[None, None, None]", probe.stdout + probe.stderr
    return python


# Runs a hand-out script, then lists the modules it loaded from a file outside the standard
# library, NumPy and the hand-out folder (an import guard beside the fresh environment).
IMPORT_GUARD = """\
import os, runpy, sys, sysconfig
sys.argv = [sys.argv[1]]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
    code = 0
except SystemExit as e:
    code = e.code
import numpy
roots = [sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib"),
         os.path.dirname(numpy.__file__), os.getcwd()]
roots = [os.path.realpath(r) + os.sep for r in roots]
outside = sorted(name for name, m in list(sys.modules.items())
                 if name != "__main__" and getattr(m, "__file__", None)
                 and not any(os.path.realpath(m.__file__).startswith(r) for r in roots))
print("IMPORTED OUTSIDE:", outside)
sys.exit(code)
"""


def test_scripts_run_with_numpy_alone(numpy_only_python, courses, tmp_path):
    """The self-check needs nothing of cnngrade: in a fresh venv with NumPy alone (python -I: no
    user site, no PYTHONPATH), untouched it reports every function not implemented, and filled in
    (the test copies the reference next to it) everything passes."""
    guard = tmp_path / "guard.py"
    guard.write_text(IMPORT_GUARD)
    for name, course in courses.items():
        folder = make_handout(course, tmp_path / name)
        untouched = subprocess.run([str(numpy_only_python), "-I", str(guard), "self_check.py"],
                                   cwd=folder, capture_output=True, text=True, timeout=300)
        assert untouched.returncode == 1 and "Traceback" not in untouched.stderr, untouched.stderr
        assert "NOT IMPLEMENTED" in untouched.stdout
        assert untouched.stdout.splitlines()[-1] == "IMPORTED OUTSIDE: []"

        fill_layers(folder, correct_layers(course.assignment))
        shutil.copytree(REPO / "reference", folder / "reference",
                        ignore=shutil.ignore_patterns("__pycache__"))
        for script in ("make_outputs.py", "self_check.py"):
            run = subprocess.run([str(numpy_only_python), "-I", str(guard), script], cwd=folder,
                                 capture_output=True, text=True, timeout=300)
            assert run.returncode == 0, (name, script, run.stdout, run.stderr)
            assert run.stdout.splitlines()[-1] == "IMPORTED OUTSIDE: []"


# --- make_outputs.py: wrong shapes are written, failures reported --------------------------------

def test_wrong_shape_is_written_and_diagnosed_by_the_grader(handout, default_course):
    """A conv_forward that pads the TOTAL pad on each side returns (2, 3, 4, 4), not (2, 3, 3, 3):
    the file is written with a warning, and the grader names the mistake instead of 'not found'."""
    per_side_layers = correct_layers(default_course.assignment).replace("TOTAL_PAD = True",
                                                                        "TOTAL_PAD = False")
    fill_layers(handout, per_side_layers)
    run = run_script(handout, "make_outputs.py")
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    assert "  conv_forward_out.csv   (WARNING below)\n" in run.stdout
    assert ("  conv_forward_out.csv: the layer returned shape (2, 3, 4, 4), expected (2, 3, 3, 3)\n"
            in run.stdout)
    assert "written although they look wrong, so that the grader can tell you" in run.stdout
    assert "Next:" not in run.stdout
    written = np.loadtxt(handout / "output_files" / "conv_forward_out.csv")
    assert written.shape == (96,)

    from grader.grade import grade_submission, load_context

    context = load_context(default_course.spec, default_course.inputs, default_course.expected)
    result = grade_submission(handout / "output_files", context)
    check = next(c for c in result.checks if c.output == "conv_forward_out")
    assert check.status != "missing" and check.score == 0
    assert check.diagnosis == "pad_convention"
    assert "pad = 2 is the TOTAL padding" in check.message

    # The self-check names the mistake in the same terms.
    report = run_script(handout, "self_check.py").stdout
    assert re.search(r"FAIL +conv_forward: output shape on conv_forward's inputs .*\n.*returned "
                     r"shape \(2, 3, 4, 4\) here, expected \(2, 3, 3, 3\)\n.*hint: conv_param\['pad'\] "
                     r"is the TOTAL padding", report)


def test_make_outputs_carries_on_and_reports_each_failure(filled, default_course):
    assert run_script(filled, "make_outputs.py").returncode == 0
    fill_layers(filled, correct_layers(default_course.assignment) + textwrap.dedent("""\


        def conv_forward(x, w, b, conv_param):
            raise ValueError("shapes do not fit\\nsecond line")


        _correct_max_pool_forward = max_pool_forward


        def max_pool_forward(x, pool_param):
            out, cache = _correct_max_pool_forward(x, pool_param)
            return out[:, :, :-1], cache


        def max_pool_backward(dout, cache):
            return None


        def dropout_backward(dout, cache):
            return dout * float("nan")
        """))
    line = (filled / "code_base" / "layers.py").read_text().splitlines().index(
        '    raise ValueError("shapes do not fit\\nsecond line")') + 1
    run = run_script(filled, "make_outputs.py")
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    assert "Wrote 5 of 10 outputs" in run.stdout and "Could not write 5 outputs:" in run.stdout
    for name in ("conv_forward_out", "conv_backward_out_dx", "conv_backward_out_dw", "conv_backward_out_db"):
        assert f"  {name}.csv: ValueError: shapes do not fit (layers.py, line {line})\n" in run.stdout
    assert ("  maxpool_backward_out.csv: ValueError: the layer returned None "
            "(a missing return statement?)\n") in run.stdout
    # Written anyway, with a warning: a wrong shape, NaN values.
    assert ("  maxpool_forward_out.csv: the layer returned shape (3, 3, 3, 4), expected "
            "(3, 3, 4, 4)\n") in run.stdout
    assert "  dropout_backward_out_train.csv: it holds 100 NaN or Inf values\n" in run.stdout
    assert "  dropout_backward_out_test.csv: it holds 100 NaN or Inf values\n" in run.stdout
    assert "Removed 5 old output files that your code no longer produces" in run.stdout
    assert sorted(p.name for p in (filled / "output_files").iterdir()) == [
        "dropout_backward_out_test.csv", "dropout_backward_out_train.csv",
        "dropout_forward_out_test.csv", "dropout_forward_out_train.csv", "maxpool_forward_out.csv"]
    assert run.stdout.splitlines()[-1].startswith("To do: fix code_base/layers.py")


def test_make_outputs_names_a_layer_that_returns_no_pair(filled, default_course):
    fill_layers(filled, correct_layers(default_course.assignment) + textwrap.dedent("""\


        _correct_conv_forward = conv_forward


        def conv_forward(x, w, b, conv_param):
            return _correct_conv_forward(x, w, b, conv_param)[0]
        """))
    run = run_script(filled, "make_outputs.py")
    assert ("  conv_forward_out.csv: TypeError: conv_forward must return a pair (out, cache); it "
            "returned an array of shape (2, 3, 3, 3)") in run.stdout


def test_make_outputs_reports_an_import_error(handout):
    (handout / "code_base" / "layers.py").write_text("def conv_forward(x:\n")
    for script in ("make_outputs.py", "self_check.py"):
        run = run_script(handout, script)
        assert run.returncode == 1
        assert "Traceback" not in run.stdout + run.stderr
        assert re.search(r"cannot import code_base/layers\.py: SyntaxError: ", run.stdout, re.I)
        assert "(layers.py, line 1)" in run.stdout


def test_make_outputs_reports_a_missing_input(filled):
    (filled / "input_files" / "maxpool_forward_in_x.csv").unlink()
    run = run_script(filled, "make_outputs.py")
    assert run.returncode == 1
    assert "Wrote 9 of 10 outputs" in run.stdout
    assert "maxpool_forward_out.csv: cannot read the input files: FileNotFoundError: " in run.stdout


# --- self_check.py: mistakes, dependent checks, output files, Next lines ---------------------------

def _mistake(source):
    """Correct layers of the default assignment with some functions replaced; ``_correct_<name>``
    is the correct function."""
    return textwrap.dedent("""\
        _correct_conv_forward = conv_forward
        _correct_max_pool_forward = max_pool_forward
        _correct_dropout_forward = dropout_forward


        """) + textwrap.dedent(source)


MISTAKES = {
    "flipped_kernel": ("""\
        def conv_forward(x, w, b, conv_param):
            return _correct_conv_forward(x, w[:, :, ::-1, ::-1], b, conv_param)
        """, "conv_forward: the notebook's values"),
    "missing_bias": ("""\
        def conv_forward(x, w, b, conv_param):
            return _correct_conv_forward(x, w, 0 * b, conv_param)
        """, "conv_forward: the bias b[f] is added once"),
    "not_accumulated": ("""\
        def max_pool_forward(x, pool_param):
            out, _ = _correct_max_pool_forward(x, pool_param)
            return out, (x, pool_param)


        def max_pool_backward(dout, cache):
            x, pool_param = cache
            ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
            N, C = x.shape[:2]
            dx = np.zeros_like(x)
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    window = x[:, :, i*s:i*s+ph, j*s:j*s+pw].reshape(N, C, -1)
                    hit = np.zeros_like(window)
                    np.put_along_axis(hit, window.argmax(axis=2)[..., None], 1.0, axis=2)
                    # = where += is needed: overlapping windows overwrite each other
                    dx[:, :, i*s:i*s+ph, j*s:j*s+pw] = hit.reshape(N, C, ph, pw) * dout[:, :, i, j, None, None]
            return dx
        """, "max_pool_backward: dx with overlapping windows"),
    "keep_probability": ("""\
        def dropout_forward(x, dropout_param):
            return _correct_dropout_forward(x, {**dropout_param, "p": 1 - dropout_param["p"]})
        """, "dropout_forward: dropped fraction near p"),
    "no_scaling": ("""\
        def dropout_forward(x, dropout_param):
            out, cache = _correct_dropout_forward(x, dropout_param)
            if dropout_param["mode"] == "train":
                out = out * (1 - dropout_param["p"])
            return out, cache
        """, "dropout_forward: kept units scaled by 1 / (1 - p)"),
    "scaled_at_test": ("""\
        def dropout_forward(x, dropout_param):
            out, cache = _correct_dropout_forward(x, dropout_param)
            if dropout_param["mode"] == "test":
                out = out / (1 - dropout_param["p"])
            return out, cache
        """, "dropout_forward: test mode is the identity"),
    "not_random": ("""\
        def dropout_forward(x, dropout_param):
            return _correct_dropout_forward(x, {**dropout_param, "seed": 0})
        """, "dropout_forward: the same seed gives the same mask"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_self_check_catches(handout, default_course, mistake):
    source, failing_check = MISTAKES[mistake]
    fill_layers(handout, correct_layers(default_course.assignment) + "\n\n" + _mistake(source))
    assert run_script(handout, "make_outputs.py").returncode == 0
    run = run_script(handout, "self_check.py")
    assert run.returncode == 1
    assert re.search(rf"^FAIL +{re.escape(failing_check)}", run.stdout, re.M), run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    assert "Next:" not in run.stdout
    if mistake == "not_accumulated":  # only overlapping windows show it
        assert re.search(r"^PASS +max_pool_backward: dx against the numerical gradient \(2x2",
                         run.stdout, re.M)


def _check_block(report, title):
    """The lines self_check.py printed for the check whose title starts with ``title``."""
    match = re.search(rf"^(\S+(?: \S+)?) +{re.escape(title)}.*\n((?: {{18}}.*\n)*)", report, re.M)
    assert match, f"no check {title!r} in:\n{report}"
    return match.group(1), match.group(2)


def test_a_failing_forward_pass_is_blamed_for_the_gradient_checks_that_run_it(handout, default_course):
    """conv_forward without its bias breaks the numerical gradient of b: the db check must point
    at conv_forward, not give its own hint about summing dout."""
    source, _ = MISTAKES["missing_bias"]
    fill_layers(handout, correct_layers(default_course.assignment) + "\n\n" + _mistake(source))
    report = run_script(handout, "self_check.py").stdout
    status, lines = _check_block(report, "conv_backward: db against the numerical gradient")
    assert status == "FAIL"
    assert "note: conv_forward fails a check above (conv_forward: the notebook's values" in lines
    assert "This check runs YOUR conv_forward, so it cannot judge conv_backward" in lines
    assert "hint:" not in lines and "summed" not in lines
    for which in ("dx", "dw"):  # the bias does not reach these gradients
        assert _check_block(report, f"conv_backward: {which} against")[0] == "PASS"
    status, lines = _check_block(report, "conv_forward: the bias b[f] is added once")
    assert status == "FAIL" and "hint: add b[f] to every output position of filter f" in lines


def test_a_backward_pass_wrong_on_its_own_gets_its_hint(handout, default_course):
    fill_layers(handout, correct_layers(default_course.assignment) + "\n\n" + _mistake("""\
        _correct_conv_backward = conv_backward


        def conv_backward(dout, cache):
            dx, dw, db = _correct_conv_backward(dout, cache)
            return dx, dw, 2 * db
        """))
    status, lines = _check_block(run_script(handout, "self_check.py").stdout,
                                 "conv_backward: db against the numerical gradient")
    assert status == "FAIL"
    assert "hint: db is dout summed over every axis but the filters'" in lines and "note:" not in lines


def test_self_check_judges_the_output_files(filled):
    assert run_script(filled, "make_outputs.py").returncode == 0
    out = filled / "output_files"
    (out / "conv_forward_out.csv").write_text("1.0\n2.0,,3.0\n")
    (out / "conv_backward_out_db.csv").write_text("1.0\n")
    (out / "maxpool_forward_out.csv").unlink()
    train = np.loadtxt(out / "dropout_forward_out_train.csv")
    np.savetxt(out / "dropout_forward_out_train.csv", train * 0.7, fmt="%.18e")  # no scaling
    np.savetxt(out / "dropout_forward_out_test.csv",
               np.loadtxt(filled / "input_files" / "dropout_forward_in_x.csv") / 0.7, fmt="%.18e")
    report = run_script(filled, "self_check.py").stdout
    expectations = {
        "output_files/conv_forward_out.csv": "conv_forward_out.csv, line 2, column 5: an empty value",
        "output_files/conv_backward_out_db.csv": "holds 1 values, but shape (2,) needs 2",
        "output_files/maxpool_forward_out.csv": "not found: run python make_outputs.py",
        "output_files/dropout_forward_out_train.csv": "kept values equal x instead of x/(1-p) = x/0.7",
        "output_files/dropout_forward_out_test.csv": "400 of 400 values differ from x",
    }
    for title, words in expectations.items():
        status, lines = _check_block(report, title)
        assert status == "FAIL" and words in lines, (title, lines)
    assert _check_block(report, "output_files/dropout_backward_out_train.csv")[0] == "PASS"
    assert report.splitlines()[-1].startswith("To do: your layers pass; run python make_outputs.py")


def test_self_check_runs_the_graders_dropout_statistics(filled):
    """kit/dropout_stats.py is the grader's module: the same verdict, field for field."""
    import importlib.util

    module_spec = importlib.util.spec_from_file_location("handout_dropout_stats",
                                                         filled / "kit" / "dropout_stats.py")
    copy = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(copy)
    rng = np.random.default_rng(5)
    x = rng.normal(10, 1, (20, 20))
    kept = rng.random((20, 20)) >= 0.3
    for got in (np.where(kept, x / 0.7, 0), np.where(kept, x, 0), np.tile(np.where(kept[0], x[0], 0), (20, 1)),
                np.where(np.arange(400).reshape(20, 20) % 2 == 0, x / 0.7, 0)):
        for p_means, course_p in (("drop", 0.3), ("keep", 0.7)):
            ours = copy.check_dropout_train(got, x, 0.3, course_p=course_p, p_means=p_means)
            grader = dropout_stats.check_dropout_train(got, x, 0.3, course_p=course_p, p_means=p_means)
            assert asdict(ours) == asdict(grader)
            assert ours.describe() == grader.describe()


def test_self_check_says_when_outputs_are_older_than_the_layers(filled):
    assert run_script(filled, "make_outputs.py").returncode == 0
    layers = filled / "code_base" / "layers.py"
    newest = max(p.stat().st_mtime_ns for p in (filled / "output_files").iterdir())
    os.utime(layers, ns=(newest + 10**9, newest + 10**9))
    report = run_script(filled, "self_check.py").stdout
    status, lines = _check_block(report, "output_files/conv_forward_out.csv")
    assert status == "FAIL"
    assert "written before your last change to code_base/layers.py: run python make_outputs.py again" in lines
    assert report.splitlines()[-1].startswith("To do: your layers pass; run python make_outputs.py")


def test_next_lines_lead_on_and_never_back(filled):
    """make_outputs -> self_check -> hand in: each script's Next line names the step after it, and
    a script says Next only when its own step is done."""
    make = run_script(filled, "make_outputs.py")
    check = run_script(filled, "self_check.py")
    nexts = [line for line in (make.stdout + check.stdout).splitlines() if "Next:" in line]
    assert nexts == ["All 10 outputs written. Next: python self_check.py",
                     "Next: hand in the 10 files of output_files/ (README.md, step 4)."]
    for script in ("make_outputs.py", "self_check.py"):
        text = (filled / script).read_text()
        assert text.count("Next:") == 1, script
    assert "make_outputs" not in nexts[1] and "self_check" in nexts[0]


# --- write_template's refusals and the standalone copy of a grader module --------------------------

def test_write_template_fills_an_existing_empty_folder(tmp_path):
    (tmp_path / "handout").mkdir()
    write_template(tmp_path / "handout", inputs_dir=INPUTS, spec_path=SPEC)
    assert (tmp_path / "handout" / "make_outputs.py").is_file()


def test_write_template_refuses_a_non_empty_folder(tmp_path):
    out = tmp_path / "handout"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(GraderError, match="is not empty: refusing to overwrite it"):
        write_template(out, inputs_dir=INPUTS, spec_path=SPEC)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_write_template_refuses_a_file(tmp_path):
    (tmp_path / "handout").write_text("")
    with pytest.raises(GraderError, match="exists and is not a folder"):
        write_template(tmp_path / "handout", inputs_dir=INPUTS, spec_path=SPEC)


def test_write_template_checks_the_inputs_against_the_spec(tmp_path):
    inputs = tmp_path / "inputs"
    shutil.copytree(INPUTS, inputs)
    (inputs / "conv_forward_in_b.csv").write_text("1.0\n2.0\n")
    with pytest.raises(GraderError, match="conv_forward_in_b.csv"):
        write_template(tmp_path / "handout", inputs_dir=inputs, spec_path=SPEC)
    (inputs / "conv_forward_in_b.csv").unlink()
    with pytest.raises(GraderError, match="input file conv_forward_in_b.csv is missing"):
        write_template(tmp_path / "handout", inputs_dir=inputs, spec_path=SPEC)
    assert not (tmp_path / "handout").exists()


def test_standalone_source_replaces_only_the_constants_imports():
    copy = standalone_source(dropout_stats)
    original = Path(dropout_stats.__file__).read_text()
    assert copy.startswith("# Copied from cnngrade's grader.dropout_stats by `cnngrade template`")
    assert "from .spec import" not in copy and "DEFAULT_RTOL = 1e-05  # from .spec\n" in copy
    removed = [line for line in original.splitlines() if line not in copy.splitlines()]
    assert removed == ["from .spec import DEFAULT_ATOL, DEFAULT_RTOL"]
    compile(copy, "dropout_stats.py", "exec")


def _fake_module(tmp_path, name, source):
    """A module ``fakepkg_<name>.mod`` importable from ``tmp_path``, with a constant beside it."""
    import importlib

    package = tmp_path / f"fakepkg_{name}"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "consts.py").write_text("LIMIT = 3\nTABLE = {'a': 1}\n")
    (package / "mod.py").write_text(source)
    sys.path.insert(0, str(tmp_path))
    try:
        return importlib.import_module(f"fakepkg_{name}.mod")
    finally:
        sys.path.remove(str(tmp_path))


@pytest.mark.parametrize("source, words", [
    ("import pandas\n", "imports pandas, which a student's hand-out does not have"),
    ("from click import echo\n", "imports from click"),
    ("from .consts import TABLE\n", "imports TABLE from .consts, which is not a constant"),
])
def test_standalone_source_refuses_what_students_cannot_have(tmp_path, source, words):
    module = _fake_module(tmp_path, f"refuse{abs(hash(source))}", "import numpy\n" + source)
    with pytest.raises(GraderError, match=re.escape(words)):
        standalone_source(module)


def test_standalone_source_inlines_constants_where_they_were_imported(tmp_path):
    module = _fake_module(tmp_path, "inline", "import math\n\n\ndef f():\n    from .consts import LIMIT as L\n    return L\n")
    copy = standalone_source(module)
    assert "    L = 3  # from .consts\n" in copy
    namespace = {}
    exec(compile(copy, "mod.py", "exec"), namespace)
    assert namespace["f"]() == 3
