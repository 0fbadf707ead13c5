"""The hand-out's scripts run as a student runs them: ``python make_outputs.py`` and
``python self_check.py`` in a hand-out written by write_template, in a subprocess.

Untouched (nothing implemented), filled in with a correct implementation (the reference behind
the course's conventions: then every self-check passes and `cnngrade check` gives full marks, for
every spec), with one catalogued mistake at a time (the self-check names it), with broken layers
(make_outputs.py carries on, writes wrong shapes anyway and says so), and in a fresh virtual
environment holding NumPy alone.
"""
import os
import re
import shutil
import subprocess
import sys
import textwrap
import venv
from dataclasses import asdict

import numpy as np
import pytest

from grader.judge import dropout as dropout_stats

from handouts import (  # noqa: F401  (course, courses, default_course, filled, handout: fixtures)
    REPO, check_full_marks, correct_layers, course, courses, default_course, fill_layers, filled,
    handout, make_handout, run_script)


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
    from grader.assignment.csvio import format_array

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
    assert ("WARNING: 1 output written although wrong, so that the grader can tell you what most "
            "likely went wrong; fix your layers before you hand in:\n") in run.stdout
    assert "Next:" not in run.stdout
    written = np.loadtxt(handout / "output_files" / "conv_forward_out.csv")
    assert written.shape == (96,)

    from grader.pipeline import grade_submission, load_context

    context = load_context(default_course.spec, default_course.inputs, default_course.expected)
    result = grade_submission(handout / "output_files", context)
    check = next(c for c in result.checks if c.output == "conv_forward_out")
    assert check.status != "missing" and check.score == 0
    assert check.status == "fail" and check.diagnosis_code == "pad_convention"
    assert "pad = 2 is the TOTAL padding" in check.diagnosis.message

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
    assert run.stdout.splitlines()[-1].startswith("To do: fix code_base/layers.py until every layer")
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


def test_self_check_runs_the_graders_dropout_statistics(filled, monkeypatch):
    """kit/dropout_stats.py is the grader's module: the same verdict, field for field."""
    import importlib.util

    monkeypatch.syspath_prepend(str(filled))  # its `from kit import tolerance`
    monkeypatch.delitem(sys.modules, "kit", raising=False)

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


def test_layer_code_written_for_numpy_1_is_told_what_to_write_instead(handout, default_course):
    """Correct 2016-19 student code fails under NumPy 2 (np.lib.pad is gone): make_outputs.py
    names the removed API and its replacement instead of a bare error."""
    fill_layers(handout, correct_layers(default_course.assignment) + "\n\n" + _mistake("""\
        def conv_forward(x, w, b, conv_param):
            np.lib.pad(x, 1)
        """))
    run = run_script(handout, "make_outputs.py")
    assert "np.lib.pad was removed from NumPy" in run.stdout + run.stderr
    assert "use np.pad" in run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr


def test_numpy_hints_for_removed_api_and_array_conversion():
    sys.path.insert(0, str(REPO / "student_template"))
    try:
        from kit.checks import numpy_hint
    finally:
        sys.path.pop(0)
    for expression, replacement in (("np.lib.pad", "np.pad"), ("np.asscalar", "a.item()"),
                                    ("np.NaN", "np.nan"), ("np.product", "np.prod")):
        try:
            eval(expression)
        except AttributeError as e:
            assert numpy_hint(e).endswith(f"use {replacement}"), (expression, numpy_hint(e))
    try:
        int(np.array([1.0, 2.0]))
    except TypeError as e:
        assert "a.item()" in numpy_hint(e)
    assert numpy_hint(ValueError("something else")) == ""
