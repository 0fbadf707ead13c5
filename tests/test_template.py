"""The student hand-out: write_template, and the template's scripts run as a student runs them.

The scripts run in a subprocess from a hand-out written by write_template, exactly as a student
gets it: untouched (nothing implemented), filled in with layers that delegate to the reference
(everything must then match expected/ and pass every self-check), and with one catalogued mistake
at a time (the self-check must name it).
"""
import json
import os
import shutil
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.assignment.csvio import format_array
from grader.errors import GraderError
from grader.assignment.generate import write_inputs
from grader.assignment.spec import load_spec
from grader import template as template_module
from grader.template import TEMPLATE_FILES, find_template, template_mismatches, write_template

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "assignment.toml"
INPUTS = REPO / "input_files"
EXPECTED = REPO / "expected"
TEMPLATE = REPO / "student_template"

# Every output the default assignment asks for, in the spec's order.
OUTPUT_FILES = [o.filename for o in load_spec(SPEC).outputs]

# code_base/layers.py for a student whose layers are exactly the reference's.
REFERENCE_LAYERS = """\
import reference

conv_forward = reference.conv_forward
conv_backward = reference.conv_backward
max_pool_forward = reference.max_pool_forward
max_pool_backward = reference.max_pool_backward
dropout_forward = reference.dropout_forward
dropout_backward = reference.dropout_backward
"""


def run_script(folder, script, *args):
    """Run one of the hand-out's scripts as a student would: ``python script`` in its folder."""
    return subprocess.run([sys.executable, script, *args], cwd=folder, capture_output=True,
                          text=True, timeout=120)


def fill_layers(folder, source):
    (folder / "code_base" / "layers.py").write_text(textwrap.dedent(source))


@pytest.fixture
def handout(tmp_path):
    return write_template(tmp_path / "handout", inputs_dir=INPUTS, spec_path=SPEC)[0].parent


@pytest.fixture
def filled(handout):
    fill_layers(handout, REFERENCE_LAYERS)
    return handout


# --- The template's contents -----------------------------------------------------------------------

def test_template_files_are_the_ones_handed_out_and_installed():
    on_disk = {p.relative_to(TEMPLATE).as_posix() for p in TEMPLATE.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc")
               and p.parts[len(TEMPLATE.parts)] not in ("output_files", "input_files")}
    assert on_disk == set(TEMPLATE_FILES)
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"share/cnngrade/student_template" = ["student_template/*.py", "student_template/*.md"]' in pyproject
    assert '"share/cnngrade/student_template/code_base" = ["student_template/code_base/*.py"]' in pyproject


def test_skeleton_has_the_reference_signatures():
    import inspect
    import importlib.util

    import reference

    module_spec = importlib.util.spec_from_file_location("skeleton_layers", TEMPLATE / "code_base" / "layers.py")
    skeleton = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(skeleton)
    for name in ("conv_forward", "conv_backward", "max_pool_forward", "max_pool_backward",
                 "dropout_forward", "dropout_backward"):
        function = getattr(skeleton, name)
        assert inspect.signature(function) == inspect.signature(getattr(reference, name))
        doc = inspect.getdoc(function)
        assert "Parameters\n----------" in doc and "Returns\n-------" in doc
        for parameter in inspect.signature(function).parameters:
            assert f"{parameter} :" in doc, (name, parameter)
    doc = inspect.getdoc(skeleton.conv_forward)
    assert "H_out = (H + 2*pad - HH) // stride + 1" in doc and "EACH side" in doc
    assert "probability of DROPPING" in inspect.getdoc(skeleton.dropout_forward)


def test_make_outputs_table_agrees_with_the_spec():
    """Problems, file names, shapes, formats, and the parameters after the total-pad conversion."""
    assignment = load_spec(SPEC)
    module = template_module.load_template_table(TEMPLATE)
    assert list(module.PROBLEMS) == [p.name for p in assignment.problems]
    for problem in assignment.problems:
        entry = module.PROBLEMS[problem.name]
        assert problem.op == problem.name
        assert entry["inputs"] == {i.role: (i.file, i.shape) for i in problem.inputs}
        assert entry["outputs"] == {o.role: (o.file, o.shape) for o in problem.outputs}
        assert entry["format"] == problem.file_format
        assert entry["params"] == problem.params  # as the assignment sheet states them
        assert module.layer_params(entry["params"]) == problem.reference_params
    assert template_mismatches(assignment, TEMPLATE) == []


def test_layer_params_converts_the_total_pad():
    module = template_module.load_template_table(TEMPLATE)
    assert module.layer_params({"stride": 2, "pad": 2}) == {"stride": 2, "pad": 1}
    assert module.layer_params({"p": 0.3}) == {"p": 0.3}
    with pytest.raises(ValueError, match="total pad of 3"):
        module.layer_params({"stride": 1, "pad": 3})


def test_template_mismatches_name_what_differs(tmp_path):
    changed = tmp_path / "changed.toml"
    changed.write_text(SPEC.read_text().replace("pad = 2 ", "pad = 4 ", 1).replace("p = 0.3", "p = 0.5"))
    found = template_mismatches(load_spec(changed), TEMPLATE)
    assert len(found) == 3
    assert found[0].startswith("conv_forward: outputs (file, shape) are {'out': ('conv_forward_out', "
                               "(2, 3, 3, 3))} in the template, {'out': ('conv_forward_out', (2, 3, 4, 4))}")
    assert found[1] == ("conv_forward: the layers get {'stride': 2, 'pad': 1} from the template but "
                        "{'stride': 2, 'pad': 2} from the spec (per-side pad, drop probability)")
    assert found[2].startswith("dropout_forward: the layers get {'p': 0.3} from the template but {'p': 0.5}")
    nhwc = template_mismatches(load_spec(REPO / "examples" / "specs" / "usc_csci566_nhwc.toml"), TEMPLATE)
    assert nhwc[0] == "the template's layers are NCHW but the spec's layout is NHWC"


# --- write_template ----------------------------------------------------------------------------------

def test_write_template_copies_template_inputs_and_spec(tmp_path):
    out = tmp_path / "handout"
    written = write_template(out, inputs_dir=INPUTS, spec_path=SPEC)
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    inputs = {f"input_files/{i.filename}" for i in load_spec(SPEC).inputs}
    assert names == set(TEMPLATE_FILES) | inputs | {"assignment.toml"}
    assert sorted(written) == sorted(out / n for n in names)
    assert (out / "assignment.toml").read_bytes() == SPEC.read_bytes()
    for name in inputs:
        assert (out / name).read_bytes() == (REPO / name).read_bytes()
    for name in TEMPLATE_FILES:
        assert (out / name).read_bytes() == (TEMPLATE / name).read_bytes()
    assert not any("expected" in n or "manifest" in n for n in names)
    assert [p.name for p in tmp_path.iterdir()] == ["handout"]  # no staging folder left behind


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


def test_write_template_refuses_a_spec_the_template_does_not_fit(tmp_path):
    spec = REPO / "examples" / "specs" / "cs231n_2017.toml"
    write_inputs(load_spec(spec), tmp_path / "inputs")
    with pytest.raises(GraderError, match="does not fit the spec .*cs231n_2017.toml: .*Adapt the PROBLEMS table"):
        write_template(tmp_path / "handout", inputs_dir=tmp_path / "inputs", spec_path=spec)
    assert not (tmp_path / "handout").exists()


def test_missing_template_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setattr(template_module, "template_candidates", lambda: [tmp_path / "a", tmp_path / "b"])
    with pytest.raises(GraderError, match=f"looked in {tmp_path / 'a'}, {tmp_path / 'b'}"):
        find_template()


def test_cli_template(tmp_path):
    runner = CliRunner()
    args = ["template", "--out", str(tmp_path / "h"), "--spec", str(SPEC), "--inputs", str(INPUTS)]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote the student template (20 files) to {tmp_path / 'h'}\n"
    again = runner.invoke(main, args)
    assert again.exit_code == 1
    assert f"cnngrade: error: {tmp_path / 'h'}: is not empty: refusing to overwrite it" in again.output


# --- The untouched template ----------------------------------------------------------------------

def test_untouched_make_outputs_reports_every_output_not_written(handout):
    run = run_script(handout, "make_outputs.py")
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    assert "Wrote none of the 10 outputs." in run.stdout
    assert "Could not write 10 outputs:" in run.stdout
    for name in OUTPUT_FILES:
        assert f"  {name}: NotImplementedError: " in run.stdout
    assert "conv_forward_out.csv: NotImplementedError: conv_forward is not implemented yet (layers.py, line" in run.stdout
    assert list((handout / "output_files").iterdir()) == []


def test_untouched_self_check_reports_not_implemented(handout):
    run = run_script(handout, "self_check.py")
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    assert "FAIL" not in run.stdout and "PASS" not in run.stdout
    assert "0 of 13 checks passed, 0 failed, 13 not implemented." in run.stdout


# --- The template filled in with the reference ------------------------------------------------------

def test_filled_make_outputs_matches_expected(filled):
    run = run_script(filled, "make_outputs.py")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Wrote 10 of 10 outputs" in run.stdout and "Could not" not in run.stdout
    out = filled / "output_files"
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    assignment = load_spec(SPEC)
    for output in assignment.outputs:
        got = out / output.filename
        values = np.loadtxt(got)
        # The grader's own writer would write these values to the byte (row-major, %.18e, \n).
        assert got.read_bytes() == format_array(values.reshape(output.shape), output.file_format).encode()
        if not output.statistical:
            assert np.allclose(values, np.loadtxt(EXPECTED / output.filename), rtol=1e-12, atol=1e-14)
    for problem, p, source in (("dropout_forward", 0.3, "dropout_forward_in_x"),
                               ("dropout_backward", 0.8, "dropout_backward_in_dout")):
        x = np.loadtxt(INPUTS / f"{source}.csv")
        train = np.loadtxt(out / f"{problem}_out_train.csv")
        assert train.shape == x.shape
        assert np.all((train == 0) | np.isclose(train, x / (1 - p), rtol=1e-12, atol=0))
        assert 0 < np.mean(train == 0) < 1


def test_filled_dropout_masks_differ_between_runs(filled):
    """make_outputs.py passes no seed: two students with correct code must not share a mask."""
    masks = []
    for _ in range(2):
        assert run_script(filled, "make_outputs.py").returncode == 0
        masks.append(np.loadtxt(filled / "output_files" / "dropout_forward_out_train.csv") == 0)
    assert not np.array_equal(*masks)


def test_filled_self_check_passes(filled):
    run = run_script(filled, "self_check.py")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "FAIL" not in run.stdout and "NOT IMPLEMENTED" not in run.stdout
    assert run.stdout.count("PASS ") == 13
    assert "13 of 13 checks passed" in run.stdout


def test_self_check_runs_from_another_folder(filled, tmp_path):
    run = subprocess.run([sys.executable, str(filled / "self_check.py")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


# --- Mistakes --------------------------------------------------------------------------------------

MISTAKES = {
    "flipped_kernel": ("""\
        def conv_forward(x, w, b, conv_param):
            return reference.conv_forward(x, w[:, :, ::-1, ::-1], b, conv_param)
        """, "conv_forward: published values"),
    "missing_bias": ("""\
        def conv_forward(x, w, b, conv_param):
            return reference.conv_forward(x, w, 0 * b, conv_param)
        """, "conv_forward: published values"),
    "not_accumulated": ("""\
        def max_pool_forward(x, pool_param):
            out, _ = reference.max_pool_forward(x, pool_param)
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
            return reference.dropout_forward(x, {**dropout_param, "p": 1 - dropout_param["p"]})
        """, "dropout_forward: dropped fraction near p"),
    "no_scaling": ("""\
        def dropout_forward(x, dropout_param):
            out, cache = reference.dropout_forward(x, dropout_param)
            if dropout_param["mode"] == "train":
                out = out * (1 - dropout_param["p"])
            return out, cache
        """, "dropout_forward: kept units scaled by 1 / (1 - p)"),
    "scaled_at_test": ("""\
        def dropout_forward(x, dropout_param):
            out, cache = reference.dropout_forward(x, dropout_param)
            if dropout_param["mode"] == "test":
                out = out / (1 - dropout_param["p"])
            return out, cache
        """, "dropout: test mode is the identity"),
    "not_random": ("""\
        def dropout_forward(x, dropout_param):
            return reference.dropout_forward(x, {**dropout_param, "seed": 0})
        """, "dropout_forward: the same seed gives the same mask"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_self_check_catches(handout, mistake):
    source, failing_check = MISTAKES[mistake]
    fill_layers(handout, "import numpy as np\n" + REFERENCE_LAYERS + "\n\n" + textwrap.dedent(source))
    run = run_script(handout, "self_check.py")
    assert run.returncode == 1
    assert f"FAIL            {failing_check}" in run.stdout, run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    if mistake == "not_accumulated":  # only overlapping windows show it
        assert "PASS            max_pool_backward: dx against the numerical gradient (2x2" in run.stdout


# --- make_outputs.py carries on past broken layers ------------------------------------------------------

def test_make_outputs_carries_on_and_reports_each_failure(filled):
    assert run_script(filled, "make_outputs.py").returncode == 0
    fill_layers(filled, REFERENCE_LAYERS + textwrap.dedent("""\


        def conv_forward(x, w, b, conv_param):
            raise ValueError("shapes do not fit\\nsecond line")


        def max_pool_forward(x, pool_param):
            out, cache = reference.max_pool_forward(x, pool_param)
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
    assert "Wrote 2 of 10 outputs" in run.stdout and "Could not write 8 outputs:" in run.stdout
    for name in ("conv_forward_out", "conv_backward_out_dx", "conv_backward_out_dw", "conv_backward_out_db"):
        assert f"  {name}.csv: ValueError: shapes do not fit (layers.py, line {line})\n" in run.stdout
    assert ("  maxpool_forward_out.csv: ValueError: the layer returned shape (3, 3, 3, 4), "
            "expected (3, 3, 4, 4)\n") in run.stdout
    assert ("  maxpool_backward_out.csv: ValueError: the layer returned None "
            "(a missing return statement?)\n") in run.stdout
    assert "  dropout_backward_out_train.csv: ValueError: the layer returned 100 NaN or Inf values\n" in run.stdout
    assert "  dropout_backward_out_test.csv: ValueError: the layer returned 100 NaN or Inf values\n" in run.stdout
    assert "Removed 8 old output files that your code no longer produces" in run.stdout
    assert sorted(p.name for p in (filled / "output_files").iterdir()) == [
        "dropout_forward_out_test.csv", "dropout_forward_out_train.csv"]


def test_make_outputs_reports_an_import_error(handout):
    (handout / "code_base" / "layers.py").write_text("def conv_forward(x:\n")
    run = run_script(handout, "make_outputs.py")
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    assert "conv_forward_out.csv: cannot import code_base/layers.py: SyntaxError: " in run.stdout
    assert "(layers.py, line 1)" in run.stdout


def test_make_outputs_reports_a_missing_input(filled):
    (filled / "input_files" / "maxpool_forward_in_x.csv").unlink()
    run = run_script(filled, "make_outputs.py")
    assert run.returncode == 1
    assert "Wrote 9 of 10 outputs" in run.stdout
    assert "maxpool_forward_out.csv: cannot read the input files: FileNotFoundError: " in run.stdout


# --- A non-editable install ---------------------------------------------------------------------------

def test_pip_install_ships_the_template(tmp_path):
    """`pip install .` (a wheel, not editable) installs the template where write_template finds it."""
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source)
    if (REPO / "README.md").exists():  # pyproject's readme
        shutil.copy(REPO / "README.md", source)
    else:
        (source / "README.md").touch()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "output_files")
    for package in ("reference", "grader", "student_template"):
        shutil.copytree(REPO / package, source / package, ignore=ignore)
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                            "--no-index", "-q", str(source), "-w", str(wheels)],
                           capture_output=True, text=True, timeout=300)
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
    for name in TEMPLATE_FILES:
        assert (tmp_path / "handout" / name).read_bytes() == (TEMPLATE / name).read_bytes()


# --- What `cnngrade check` makes of the template's outputs ---------------------------------------------

def grade(submission, expected_dir):
    from grader.pipeline import grade_submission, load_context

    return grade_submission(submission, load_context(spec_path=SPEC, inputs_dir=INPUTS,
                                                     expected_dir=expected_dir))


@pytest.mark.parametrize("expected_dir", [None, EXPECTED], ids=["self-check", "with-expected"])
def test_check_reports_every_output_of_the_untouched_template_missing(handout, expected_dir):
    assert run_script(handout, "make_outputs.py").returncode == 1
    result = grade(handout / "output_files", expected_dir)
    assert result.error is None
    assert [c.output + ".csv" for c in result.checks] == OUTPUT_FILES
    assert [c.status for c in result.checks] == ["missing"] * len(OUTPUT_FILES)
    assert result.score == 0


def test_check_gives_the_filled_template_full_marks(filled):
    assert run_script(filled, "make_outputs.py").returncode == 0
    result = grade(filled / "output_files", EXPECTED)
    assert [c.status for c in result.checks] == ["pass"] * len(OUTPUT_FILES), \
        [(c.output, c.message) for c in result.checks if c.status != "pass"]
    assert result.full_marks and result.score == result.max_score == 10


def test_check_grades_the_hand_in_zip(filled):
    """The hand-in the README asks for: e0123456g.zip holding output_files/."""
    import zipfile

    assert run_script(filled, "make_outputs.py").returncode == 0
    with zipfile.ZipFile(filled / "e0123456g.zip", "w") as archive:
        for path in sorted((filled / "output_files").iterdir()):
            archive.write(path, f"output_files/{path.name}")
    result = grade(filled / "e0123456g.zip", EXPECTED)
    assert result.id == "e0123456g"
    assert result.full_marks and result.score == 10


def test_student_check_in_the_hand_out_uses_its_spec_and_inputs(filled, monkeypatch):
    """`cnngrade check output_files` in the hand-out, as the README says: no options needed."""
    assert run_script(filled, "make_outputs.py").returncode == 0
    monkeypatch.chdir(filled)
    result = CliRunner().invoke(main, ["check", "output_files", "--json", "result.json"])
    assert result.exit_code == 0, result.output
    assert "not checked" in result.output.lower()
    checks = json.loads((filled / "result.json").read_text())["checks"]
    assert {c["output"]: c["status"] for c in checks} == {
        o.file: "pass" if o.statistical else "unchecked" for o in load_spec(SPEC).outputs}
