"""The student hand-out (`cnngrade template`): what write_template builds for every spec, that it
holds no reference code and no expected values, how it is installed, and the standalone copy of
the grader's dropout statistics it carries.

How the hand-out's scripts behave, run as a student runs them, is tests/test_handout_scripts.py.
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
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from grader.judge import dropout as dropout_stats
from grader import handout as template_module
from grader.cli import main
from grader.errors import GraderError
from grader.handout_text import rewrap
from grader.source_copy import standalone_source
from grader.handout import RENDERED_FILES, TEMPLATE_FILES, find_template, write_template

from handouts import (  # noqa: F401  (course, courses, default_course: fixtures)
    API, FUNCTIONS_OF, GENERATED, INPUTS, PUBLISHED, REPO, SPEC, TEMPLATE, course, courses,
    default_course, handout_files, make_handout)


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
    shutil.copy(REPO / "assignment.toml", source)  # the default assignment is installed too
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "output_files")
    for package in ("reference", "grader", "student_template", "input_files", "expected"):
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
        import grader, grader.handout
        from pathlib import Path
        assert Path(grader.__file__).is_relative_to({str(env_dir)!r}), grader.__file__
        print(grader.handout.find_template())
        grader.handout.write_template({str(tmp_path / 'handout')!r}, inputs_dir={str(INPUTS)!r},
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
    """`cnngrade template --spec examples/specs/cs231n_2017.toml` used to stop with a line asking the
    instructor to edit a file inside the package."""
    course = courses["cs231n_2017"]
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


# reference/loops.py's helpers a hand-out holds too (CS231n hands students its rel_error and its
# numerical gradient): tools for checking, not answers.
HANDED_OUT = {"rel_error", "numerical_gradient"}


def _reference_fingerprints():
    """The reference's function bodies, its distinctive statements and its helpers' names."""
    bodies, statements, helpers = set(), set(), set()
    for path in (REPO / "reference").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name not in HANDED_OUT:
                body = [s for s in node.body
                        if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
                bodies.add(ast.dump(ast.Module(body=body, type_ignores=[])))
                if node.name not in API:
                    helpers.add(node.name)
        # Statements long enough to be the reference's own, not a common idiom such as
        # "x = np.asarray(x, dtype=np.float64)" (36 characters).
        kept = ast.Module(body=[n for n in tree.body if not (isinstance(n, ast.FunctionDef)
                                                            and n.name in HANDED_OUT)],
                          type_ignores=[])
        statements |= {s for s in _simple_statements(kept) if len(s) >= 40
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


def test_standalone_source_repoints_only_the_imports_of_copied_modules():
    copied = {f"grader.judge.{name}": f"kit.{name}" for name in ("tolerance", "exact", "mask_structure")}
    copy = standalone_source(dropout_stats, copied)
    original = Path(dropout_stats.__file__).read_text()
    assert copy.startswith("# Copied from cnngrade's grader.judge.dropout by `cnngrade template`")
    removed = [line for line in original.splitlines() if line not in copy.splitlines()]
    assert removed and all(line.startswith("from grader.judge") for line in removed)
    assert "from kit import tolerance\n" in copy and "from kit.exact import " in copy
    compile(copy, "dropout_stats.py", "exec")
    with pytest.raises(GraderError, match="not a constant"):
        standalone_source(dropout_stats)  # without its tolerance rule beside it


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


def test_rewrap_fills_prose_without_breaking_code_spans():
    text = ("Intro words " * 12 + "\n\n- a bullet with ``a code span that must stay whole`` "
            + "and more words " * 6 + "\n- second\n1. numbered " + "item " * 30 + "\n\n"
            + "        indented " * 12 + "\n")
    lines = rewrap(text, width=60).split("\n")
    assert all(len(line) <= 60 for line in lines if "``" not in line)
    assert "" in lines and lines[-1] == ""  # the blank line and the final newline stay
    assert any("``a code span that must stay whole``" in line for line in lines)
    bullet = lines.index(next(line for line in lines if line.startswith("- a bullet")))
    assert lines[bullet + 1].startswith("  ") and not lines[bullet + 1].startswith("   ")
    numbered = lines.index(next(line for line in lines if line.startswith("1. numbered")))
    assert lines[numbered + 1].startswith("   item")
    assert all(line.startswith("        indented") for line in lines[-3:-1])
