"""The Gradescope autograder, run as Gradescope runs it.

A session builds the zip from this checkout, lays out a temporary root like /autograder
(CNNGRADE_AUTOGRADER_ROOT), makes a fresh virtual environment there that sees numpy, pandas,
click, jinja2 and PyYAML but not this test run's cnngrade, runs setup.sh (pip may not reach an
index: cnngrade must come from the zip's own wheel) and then run_autograder once per kind of
submission. Every results.json is validated against a schema written from Gradescope's
specification.
"""
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.errors import SpecError
from grader.results import CheckResult, SubmissionResult
from grader.platforms import gradescope
from grader.platforms.build import build_gradescope
from grader.platforms.feedback import markdown_escape
from grader.platforms.grading import grade
from grader.platforms.settings import GradescopeSettings, gradescope_settings

from platform_env import (buggy_files, built_wheel, correct_files, environment, fill, fresh_venv,
                          validate, zip_slip)
from simulated import EXPECTED, INPUTS, SPEC

SCHEMA = "gradescope_results.schema.json"
DEPENDENCIES = ("numpy", "pandas", "click", "jinja2", "yaml") + (
    ("tomli",) if sys.version_info < (3, 11) else ())
PLATFORM_TABLES = """
[platforms.gradescope]
visibility = "after_due_date"
[platforms.gradescope.outputs]
conv_forward_out = { visibility = "visible" }
dropout_forward_out_train = { visibility = "hidden" }
"""


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    return build_gradescope(SPEC, INPUTS, EXPECTED, tmp_path_factory.mktemp("zip") / "autograder.zip",
                            wheel=built_wheel())


@pytest.fixture(scope="module")
def root(autograder_zip, tmp_path_factory):
    """An /autograder after Gradescope's image build: source unpacked, setup.sh run."""
    root = tmp_path_factory.mktemp("autograder")
    with zipfile.ZipFile(autograder_zip) as archive:
        archive.extractall(root / "source")
    shutil.copyfile(root / "source" / "run_autograder", root / "run_autograder")
    fresh_venv(root / "venv", DEPENDENCIES, with_pip=True)
    done = setup(root)
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def setup(root):
    return subprocess.run(["bash", str(root / "source" / "setup.sh")], capture_output=True,
                          text=True, cwd=root.parent, env=environment(CNNGRADE_AUTOGRADER_ROOT=str(root),
                                                     PIP_NO_INDEX="1"))


def run_autograder(root, files=None):
    """Run run_autograder on a submission of ``files``; return the validated results and stdout."""
    if files is not None:
        fill(root / "submission", files)
    done = subprocess.run(["bash", str(root / "run_autograder")], capture_output=True, text=True,
                          cwd=root, env=environment(CNNGRADE_AUTOGRADER_ROOT=str(root)))
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "results" / "results.json").read_text("utf-8"))
    return validate(results, SCHEMA), done.stdout


def by_file(results):
    return {test["name"].split(": ")[1]: test for test in results["tests"]}


def student_text(results):
    return "\n".join([results["output"]] + [t["output"] for t in results["tests"]])


def test_zip_holds_the_scripts_bundle_and_wheel_at_its_root(autograder_zip, tmp_path):
    with zipfile.ZipFile(autograder_zip) as archive:
        names = archive.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    assert {"setup.sh", "run_autograder", "assignment.toml", gradescope.SETTINGS_NAME} <= set(names)
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert any(re.fullmatch(r"wheels/cnngrade-[^/]+-py3-none-any\.whl", n) for n in names)
    assert sorted(n for n in names if n.startswith("input_files/")) == sorted(
        f"input_files/{p.name}" for p in INPUTS.glob("*.csv"))
    assert "expected/manifest.json" in names and "expected/conv_forward_out.csv" in names
    again = build_gradescope(SPEC, INPUTS, EXPECTED, tmp_path / "again.zip", wheel=built_wheel())
    assert again.read_bytes() == autograder_zip.read_bytes()  # deterministic


def test_setup_installs_cnngrade_from_the_zips_wheel_into_the_venv(root):
    done = subprocess.run([str(root / "venv" / "bin" / "python"), "-c",
                           "import grader, reference; print(grader.__file__); print(reference.__file__)"],
                          capture_output=True, text=True, check=True, cwd=root)
    for line in done.stdout.splitlines():
        assert Path(line).resolve().is_relative_to((root / "venv").resolve())
    assert subprocess.run([str(root / "venv" / "bin" / "cnngrade"), "--version"],
                          capture_output=True).returncode == 0


def test_setup_fails_loudly(root, tmp_path):
    broken = tmp_path / "autograder"
    shutil.copytree(root / "source", broken / "source")
    (broken / "venv").symlink_to(root / "venv")
    for wheel in (broken / "source" / "wheels").iterdir():
        wheel.unlink()
    assert setup(broken).returncode != 0  # no wheel: pip fails, and set -e stops there
    shutil.copytree(root / "source" / "wheels", broken / "source" / "wheels", dirs_exist_ok=True)
    (broken / "source" / "expected" / "manifest.json").write_text("{}")  # made from no inputs
    done = setup(broken)  # the wheel installs, then the bundle check refuses the expected outputs
    assert done.returncode != 0
    assert "cnngrade: error: " in done.stderr and "manifest" in done.stderr
    assert "malformed manifest" in done.stderr and "Traceback" not in done.stderr


def test_correct_submission(root, assignment, inputs):
    files = {f"output_files/{name}": text for name, text in correct_files(assignment, inputs).items()}
    results, _ = run_autograder(root, files)
    assert results["score"] == 10.0
    assert [t["status"] for t in results["tests"]] == ["passed"] * 10
    assert all(t["tags"] == [] and t["max_score"] == 1.0 and t["visibility"] == "visible"
               for t in results["tests"])
    assert [t["number"] for t in results["tests"]][:4] == ["1.1", "2.1", "2.2", "2.3"]
    assert results["stdout_visibility"] == "hidden" and results["output_format"] == "md"
    assert results["output"].startswith("**Score: 10 / 10.** 10 of 10 outputs passed.")


def test_buggy_submission_says_what_was_found_the_likely_mistake_and_the_fix(root, assignment, inputs):
    results, _ = run_autograder(root, buggy_files(assignment, inputs))
    tests = by_file(results)
    assert results["score"] == 8.0
    dx = tests["conv_backward_out_dx.csv"]
    assert (dx["status"], dx["score"], dx["tags"]) == ("failed", 0.0, ["column_major"])
    assert "**Found:** 296 / 300 elements differ" in dx["output"]
    assert "**Likely mistake and fix:** you wrote the values in column\\-major" not in dx["output"]
    assert "**Likely mistake and fix:** you wrote the values in column-major (Fortran) order; " \
           "flatten with x.ravel() (C order)" in dx["output"]
    assert tests["dropout_forward_out_train.csv"]["tags"] == ["keep_probability"]
    assert "3.333 * x" not in student_text(results)  # markdown specials are escaped...
    assert "3.333 \\* x" in tests["dropout_forward_out_train.csv"]["output"]  # ...not dropped


def test_no_expected_value_reaches_the_student(root, assignment, inputs):
    files = correct_files(assignment, inputs)
    rng = np.random.default_rng(3)
    for name in ("conv_forward_out.csv", "conv_backward_out_dw.csv", "maxpool_backward_out.csv"):
        values = np.array(files[name].split(), dtype=float)
        files[name] = "".join(f"{v:.18e}\n" for v in values + rng.normal(0, 0.5, values.size))
    results, _ = run_autograder(root, files)
    shown = {float(f"{float(n):.3g}") for n in re.findall(r"-?\d+\.\d+(?:e[+-]?\d+)?", student_text(results))}
    for name in ("conv_forward_out", "conv_backward_out_dw", "maxpool_backward_out"):
        expected = np.loadtxt(EXPECTED / f"{name}.csv")
        leaked = {float(f"{v:.3g}") for v in expected if abs(v) > 1e-3} & shown
        assert not leaked, (name, leaked)
    assert sum(t["status"] == "failed" for t in results["tests"]) == 3


def test_empty_submission(root):
    results, _ = run_autograder(root, {})
    assert results["score"] == 0.0
    assert {t["status"] for t in results["tests"]} == {"failed"}
    assert {tuple(t["tags"]) for t in results["tests"]} == {("missing_file",)}
    assert "**Next step:** Hand in conv\\_forward\\_out.csv" in by_file(results)["conv_forward_out.csv"]["output"]


def test_zip_slip_is_refused_whole_and_nothing_escapes(root):
    fill(root / "submission", {})
    zip_slip(root / "submission" / "handin.zip")
    results, _ = run_autograder(root)
    assert results["score"] == 0.0
    assert "**This submission could not be graded:**" in results["output"]
    assert "escaped.csv" in results["output"]
    assert not list(root.parent.rglob("escaped.csv"))


def test_links_huge_files_and_garbage_score_zero_and_are_not_followed(root, assignment, inputs):
    files = correct_files(assignment, inputs)
    del files["conv_forward_out.csv"], files["maxpool_backward_out.csv"]
    files["conv_backward_out_dx.csv"] = bytes(range(256)) * 40
    fill(root / "submission", files)
    # A link to the instructors' own expected file would earn full marks if it were followed.
    (root / "submission" / "conv_forward_out.csv").symlink_to(root / "source" / "expected" / "conv_forward_out.csv")
    with open(root / "submission" / "maxpool_backward_out.csv", "wb") as huge:
        huge.truncate(2 * 1024 ** 3)  # 2 GiB, sparse
    results, _ = run_autograder(root)
    tests = by_file(results)
    assert results["score"] == 7.0
    for name in ("conv_forward_out.csv", "maxpool_backward_out.csv", "conv_backward_out_dx.csv"):
        assert (tests[name]["status"], tests[name]["score"]) == ("failed", 0.0), name
    assert "link" in tests["conv_forward_out.csv"]["output"]


def test_unreadable_submissions(root):
    fill(root / "submission", {"handin.zip": b"PK\x03\x04 this is not really a zip"})
    results, _ = run_autograder(root)
    assert results["score"] == 0.0 and "could not be graded" in results["output"]
    shutil.rmtree(root / "submission")
    results, _ = run_autograder(root)
    assert results["score"] == 0.0 and "no submission was found" in results["output"]


def test_cnngrade_failing_gives_zero_and_the_staff_message(root, assignment, inputs):
    manifest = root / "source" / "expected" / "manifest.json"
    saved = manifest.read_bytes()
    manifest.write_text("not json")
    try:
        results, stdout = run_autograder(root, correct_files(assignment, inputs))
    finally:
        manifest.write_bytes(saved)
    assert results["score"] == 0.0 and results["tests"] == []
    assert "contact the course staff" in results["output"]
    assert "Traceback" in stdout and results["stdout_visibility"] == "hidden"


def test_cnngrade_not_starting_still_leaves_results(root, assignment, inputs):
    venv = root / "venv"
    venv.rename(root / "venv.away")
    try:
        results, stdout = run_autograder(root, correct_files(assignment, inputs))
    finally:
        (root / "venv.away").rename(venv)
    assert results["score"] == 0.0 and "contact the course staff" in results["output"]
    assert results["output"] == gradescope.STAFF_MESSAGE
    assert "writing the course-staff message" in stdout


def test_root_comes_only_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(gradescope.ROOT_VARIABLE, raising=False)
    assert gradescope.autograder_root() == Path("/autograder")
    monkeypatch.setenv(gradescope.ROOT_VARIABLE, str(tmp_path))
    assert gradescope.autograder_root() == tmp_path


# Visibility: the spec's [platforms.gradescope] tables, resolved at build time.

def test_visibility_from_the_spec(tmp_path, context, assignment, inputs):
    spec = tmp_path / "assignment.toml"
    spec.write_text(SPEC.read_text() + PLATFORM_TABLES)
    out = build_gradescope(spec, INPUTS, EXPECTED, tmp_path / "ag.zip", wheel=built_wheel())
    with zipfile.ZipFile(out) as archive:
        settings = json.loads(archive.read(gradescope.SETTINGS_NAME))
        shipped_spec = archive.read("assignment.toml").decode()
    assert settings == {"visibility": "after_due_date",
                        "output_visibility": {"conv_forward_out": "visible",
                                              "dropout_forward_out_train": "hidden"}}
    assert shipped_spec == SPEC.read_text() + PLATFORM_TABLES  # the spec as the course wrote it

    files = buggy_files(assignment, inputs)
    result = grade(fill(tmp_path / "sub", files), context)
    results = validate(gradescope.gradescope_results(
        result, GradescopeSettings.from_dict(settings), 0.4), SCHEMA)
    assert results["visibility"] == "after_due_date"
    tests = by_file(results)
    assert tests["conv_forward_out.csv"]["visibility"] == "visible"
    assert tests["dropout_forward_out_train.csv"]["visibility"] == "hidden"
    assert tests["conv_backward_out_dx.csv"]["visibility"] == "after_due_date"
    # The summary tells only what is visible now: no total score, no hidden outcome.
    assert "Score" not in results["output"]
    assert results["output"].split("\n\n")[:3] == [
        "1 of the 1 outputs shown now passed.",
        "The results of 1 more output are not shown to students.",
        "The results of 8 more outputs are shown after the due date."]


@pytest.mark.parametrize("tables, message", [
    ('[platforms.gradescope]\nvisibility = "sometimes"\n',
     "platforms.gradescope.visibility: must be one of visible, hidden, after_due_date"),
    ('[platforms.gradescope.outputs]\nconv_out = { visibility = "hidden" }\n',
     "platforms.gradescope.outputs.conv_out: no output of the spec is named 'conv_out'"),
    ('[platforms.gradescope.outputs]\nconv_forward_out = { shown = true }\n',
     "platforms.gradescope.outputs.conv_forward_out.shown: unknown key"),
    ('[platforms.gradescope]\nvisible = "hidden"\n', "platforms.gradescope.visible: unknown key"),
    ('[platforms.canvas]\nx = 1\n', "platforms.canvas: unknown key"),
])
def test_bad_gradescope_settings_name_the_key(tables, message):
    with pytest.raises(SpecError, match=re.escape(message)):
        gradescope_settings(SPEC.read_text() + tables, ["conv_forward_out"])


def test_markdown_escaping_keeps_student_text_inert():
    assert markdown_escape("<script>*x*</script> [a](b) `c` a_b|c") == \
        "\\<script\\>\\*x\\*\\</script\\> \\[a\\](b) \\`c\\` a\\_b\\|c"


def test_notes_and_errors_in_the_summary_are_escaped():
    result = SubmissionResult(
        id="s", score=0.0, max_score=1.0, error="<b>bad</b>.zip: corrupt", notes=["ignored **x**.csv"],
        checks=[CheckResult(output="o", problem="p", status="error", score=0.0, max_score=1.0,
                            message="not graded")])
    results = validate(gradescope.gradescope_results(result, GradescopeSettings(), 0.0), SCHEMA)
    assert "\\<b\\>bad\\</b\\>.zip" in results["output"] and "ignored \\*\\*x\\*\\*.csv" in results["output"]


# The command line.

def test_cli_writes_the_zip(tmp_path):
    out = tmp_path / "ag.zip"
    done = CliRunner().invoke(main, ["autograder", "gradescope", "--spec", str(SPEC), "--inputs",
                                     str(INPUTS), "--expected", str(EXPECTED), "--out", str(out),
                                     "--wheel", str(built_wheel())])
    assert done.exit_code == 0, done.output
    assert done.output == f"wrote the Gradescope autograder to {out}\n"
    assert zipfile.is_zipfile(out)


def test_cli_refuses_stale_expected_outputs(tmp_path):
    inputs = tmp_path / "input_files"
    shutil.copytree(INPUTS, inputs)
    (inputs / "conv_forward_in_b.csv").write_text("0\n0\n0\n")
    done = CliRunner().invoke(main, ["autograder", "gradescope", "--spec", str(SPEC), "--inputs",
                                     str(inputs), "--expected", str(EXPECTED), "--out",
                                     str(tmp_path / "ag.zip"), "--wheel", str(built_wheel())])
    assert done.exit_code == 1
    assert done.output.startswith("cnngrade: error: the expected outputs in")
    assert "stale expected outputs" in done.output and not (tmp_path / "ag.zip").exists()


def test_cli_refuses_a_file_that_is_not_a_wheel(tmp_path):
    bogus = tmp_path / "not-a-wheel.zip"
    bogus.write_bytes(b"")
    done = CliRunner().invoke(main, ["autograder", "gradescope", "--spec", str(SPEC), "--inputs",
                                     str(INPUTS), "--expected", str(EXPECTED), "--out",
                                     str(tmp_path / "ag.zip"), "--wheel", str(bogus)])
    assert done.exit_code == 1
    assert done.output == f"cnngrade: error: {bogus}: is not a cnngrade wheel (cnngrade-<version>-...whl)\n"
