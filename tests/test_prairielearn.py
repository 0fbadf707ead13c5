"""The PrairieLearn external grader, run as PrairieLearn runs it.

A module builds the question folder from this checkout, lays out a temporary root like /grade
(CNNGRADE_GRADE_ROOT) with the question's tests/ in it, and runs tests/run.sh with a python3
from a fresh virtual environment that has NumPy and no cnngrade (so the question's own copy is
the one graded with), and in which importing pandas, click, jinja2 or PyYAML fails (so grading
needs NumPy alone, as the grader-python image is documented to have). Every results.json is
validated against a schema written from PrairieLearn's documentation and is under 1 MB.
"""
import json
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.results import CheckResult, SubmissionResult
from grader.cli import main
from grader.errors import GraderError, SpecError
from grader.platforms import prairielearn
from grader.platforms.build import PL_ENTRYPOINT, build_prairielearn
from grader.platforms.settings import prairielearn_settings

from platform_env import (buggy_files, built_wheel, correct_files, environment, fill, fresh_venv,
                          import_blocker, validate)
from simulated import EXPECTED, INPUTS, SPEC

SCHEMA = "prairielearn_results.schema.json"


@pytest.fixture(scope="module")
def question(tmp_path_factory):
    return build_prairielearn(SPEC, INPUTS, EXPECTED, tmp_path_factory.mktemp("q") / "cnn_layers",
                              wheel=built_wheel())


@pytest.fixture(scope="module")
def python_bin(tmp_path_factory):
    """A folder whose python3 has NumPy, blocks what grading must not need, and lacks cnngrade."""
    venv = fresh_venv(tmp_path_factory.mktemp("venv") / "numpy-only", ["numpy"])
    return venv / "bin"


@pytest.fixture(scope="module")
def blocker(tmp_path_factory):
    return import_blocker(tmp_path_factory.mktemp("blocker"))


@pytest.fixture()
def root(question, tmp_path):
    """A /grade as PrairieLearn lays it out for one submission."""
    root = tmp_path / "grade"
    shutil.copytree(question / "tests", root / "tests")
    (root / "student").mkdir()
    return root


def run_grader(root, python_bin, blocker, files=None):
    if files is not None:
        fill(root / "student", files)
    env = environment(CNNGRADE_GRADE_ROOT=str(root), PYTHONPATH=str(blocker))
    env["PATH"] = f"{python_bin}:{env['PATH']}"
    done = subprocess.run(["bash", str(root / "tests" / "run.sh")], capture_output=True, text=True,
                          cwd=root, env=env)
    assert done.returncode == 0, done.stderr
    data = (root / "results" / "results.json").read_bytes()
    assert len(data) < prairielearn.MAX_RESULTS_BYTES
    return validate(json.loads(data), SCHEMA), done.stdout


def by_name(results):
    return {test["name"]: test for test in results["tests"]}


def test_question_folder(question):
    info = json.loads((question / "info.json").read_text())
    assert uuid.UUID(info["uuid"]) and info["type"] == "v3" and info["gradingMethod"] == "External"
    assert info["externalGradingOptions"] == {"image": "prairielearn/grader-python",
                                              "entrypoint": PL_ENTRYPOINT, "timeout": 60}
    assert PL_ENTRYPOINT == "/grade/tests/run.sh" and (question / "tests" / "run.sh").stat().st_mode & 0o111
    html = (question / "question.html").read_text()
    upload = re.search(r'<pl-file-upload optional-file-names="([^"]+)"></pl-file-upload>', html)
    assert upload.group(1).split(", ") == sorted(upload.group(1).split(", "), key=ORDER.index)
    assert len(upload.group(1).split(", ")) == 10
    assert "<pl-external-grader-results>" in html
    lib = question / "tests" / "lib"
    assert (lib / "grader" / "platforms" / "prairielearn.py").is_file()
    assert (lib / "reference" / "conv.py").is_file()
    assert not list(lib.glob("*.dist-info")) and not list(lib.glob("*.data"))


ORDER = ["conv_forward_out.csv", "conv_backward_out_dx.csv", "conv_backward_out_dw.csv",
         "conv_backward_out_db.csv", "maxpool_forward_out.csv", "maxpool_backward_out.csv",
         "dropout_forward_out_train.csv", "dropout_forward_out_test.csv",
         "dropout_backward_out_train.csv", "dropout_backward_out_test.csv"]


def test_question_refuses_a_folder_in_use(question):
    with pytest.raises(GraderError, match="is not an empty folder"):
        build_prairielearn(SPEC, INPUTS, EXPECTED, question, wheel=built_wheel())


def test_correct_submission(root, python_bin, blocker, assignment, inputs):
    results, _ = run_grader(root, python_bin, blocker, correct_files(assignment, inputs))
    assert results["gradable"] is True and results["score"] == 1.0
    assert [t["name"] for t in results["tests"]] == ORDER
    assert all(t["points"] == t["max_points"] == 1.0 and t["output"] == "" for t in results["tests"])
    assert results["message"] == "Score: 10 / 10. 10 of 10 outputs passed."


def test_buggy_submission(root, python_bin, blocker, assignment, inputs):
    results, _ = run_grader(root, python_bin, blocker, buggy_files(assignment, inputs))
    tests = by_name(results)
    assert results["gradable"] is True and results["score"] == pytest.approx(0.8)
    dx = tests["conv_backward_out_dx.csv"]
    assert (dx["points"], dx["max_points"]) == (0.0, 1.0)
    assert dx["message"].startswith("296 / 300 elements differ")
    assert dx["output"].startswith("Likely mistake and fix: you wrote the values in column-major")
    assert tests["dropout_forward_out_train.csv"]["output"].startswith(
        "Likely mistake and fix: you kept units with probability 0.3")


def test_partial_submission_is_graded(root, python_bin, blocker, assignment, inputs):
    files = correct_files(assignment, inputs)
    results, _ = run_grader(root, python_bin, blocker, {"conv_forward_out.csv": files["conv_forward_out.csv"]})
    assert results["gradable"] is True and results["score"] == pytest.approx(0.1)
    assert by_name(results)["maxpool_forward_out.csv"]["output"].startswith(
        "Next step: Hand in maxpool_forward_out.csv")


def test_empty_submission_is_not_gradable(root, python_bin, blocker):
    results, _ = run_grader(root, python_bin, blocker, {})
    assert results["gradable"] is False and "score" not in results
    assert results["message"].startswith("No output files were found")


def test_unreadable_submission_is_not_gradable(root, python_bin, blocker):
    files = {name: b"\x00\xff\xfe garbage \x89PNG" for name in ORDER[:3]}
    results, _ = run_grader(root, python_bin, blocker, files)
    assert results["gradable"] is False
    assert len(results["format_errors"]) == 3
    assert all(error.startswith(name) for error, name in zip(results["format_errors"], ORDER))
    shutil.rmtree(root / "student")
    results, _ = run_grader(root, python_bin, blocker)
    assert results["gradable"] is False and results["format_errors"] == ["no submission was found"]


def test_links_huge_files_and_garbage(root, python_bin, blocker, assignment, inputs):
    files = correct_files(assignment, inputs)
    del files["conv_forward_out.csv"], files["maxpool_backward_out.csv"]
    files["conv_backward_out_dx.csv"] = bytes(range(256)) * 40
    fill(root / "student", files)
    (root / "student" / "conv_forward_out.csv").symlink_to(root / "tests" / "expected" / "conv_forward_out.csv")
    with open(root / "student" / "maxpool_backward_out.csv", "wb") as huge:
        huge.truncate(2 * 1024 ** 3)
    results, _ = run_grader(root, python_bin, blocker)
    tests = by_name(results)
    assert results["gradable"] is True and results["score"] == pytest.approx(0.7)
    for name in ("conv_forward_out.csv", "maxpool_backward_out.csv", "conv_backward_out_dx.csv"):
        assert tests[name]["points"] == 0.0, name


def test_cnngrade_failing_gives_the_staff_message(root, python_bin, blocker, assignment, inputs):
    (root / "tests" / "expected" / "manifest.json").write_text("not json")
    results, stdout = run_grader(root, python_bin, blocker, correct_files(assignment, inputs))
    assert results == prairielearn.staff_error_results() and "Traceback" in stdout


def test_no_python_still_leaves_results(root, tmp_path, blocker, assignment, inputs):
    broken = tmp_path / "bin"
    broken.mkdir()
    (broken / "python3").symlink_to("/bin/false")
    results, stdout = run_grader(root, broken, blocker, correct_files(assignment, inputs))
    assert results["gradable"] is False and "contact the course staff" in results["message"]
    assert results["message"] == prairielearn.STAFF_MESSAGE
    assert "writing the course-staff message" in stdout


def test_results_are_cut_to_fit_one_megabyte():
    message = "x" * 300_000
    result = SubmissionResult(
        id="s", score=1.0, max_score=4.0, error=None,
        checks=[CheckResult(output=f"o{i}", problem="p", status="fail", score=0.25 * (i == 0),
                            max_score=1.0, message=message) for i in range(4)])
    results = validate(prairielearn.prairielearn_results(result), SCHEMA)
    assert len(json.dumps(results, indent=2).encode()) <= prairielearn.MAX_RESULTS_BYTES
    assert results["score"] == 0.25 and len(results["tests"]) == 4
    assert results["tests"][0]["message"].endswith("(cut short)")
    small = prairielearn.fit_size({"gradable": True, "score": 0.5, "message": "ok"})
    assert small == {"gradable": True, "score": 0.5, "message": "ok"}


def test_root_comes_only_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(prairielearn.ROOT_VARIABLE, raising=False)
    assert prairielearn.grade_root() == Path("/grade")
    monkeypatch.setenv(prairielearn.ROOT_VARIABLE, str(tmp_path))
    assert prairielearn.grade_root() == tmp_path


def test_settings_from_the_spec(tmp_path):
    text = SPEC.read_text() + ('\n[platforms.prairielearn]\nuuid = "0f0e0d0c-0b0a-4909-8807-060504030201"\n'
                               'title = "Layers"\ntimeout = 30\n')
    settings = prairielearn_settings(text, "ignored")
    assert (settings.uuid, settings.title, settings.topic, settings.timeout) == (
        "0f0e0d0c-0b0a-4909-8807-060504030201", "Layers", "CNN layers", 30)
    assert prairielearn_settings(SPEC.read_text(), "A").uuid == prairielearn_settings("", "A").uuid
    assert prairielearn_settings("", "A").uuid != prairielearn_settings("", "B").uuid
    spec = tmp_path / "assignment.toml"
    spec.write_text(text)
    info = json.loads((build_prairielearn(spec, INPUTS, EXPECTED, tmp_path / "q",
                                          wheel=built_wheel()) / "info.json").read_text())
    assert (info["uuid"], info["title"], info["externalGradingOptions"]["timeout"]) == (
        "0f0e0d0c-0b0a-4909-8807-060504030201", "Layers", 30)
    assert (tmp_path / "q" / "tests" / "assignment.toml").read_text() == text  # as the course wrote it


@pytest.mark.parametrize("table, message", [
    ('uuid = "not-a-uuid"', "platforms.prairielearn.uuid: 'not-a-uuid' is not a UUID"),
    ("timeout = 0", "platforms.prairielearn.timeout: must be whole seconds from 1 to 600"),
    ("timeout = 900", "platforms.prairielearn.timeout: must be whole seconds from 1 to 600"),
    ('title = ""', "platforms.prairielearn.title: must be a non-empty string"),
    ('image = "python:3.13"', "platforms.prairielearn.image: unknown key"),
])
def test_bad_settings_name_the_key(table, message):
    with pytest.raises(SpecError, match=re.escape(message)):
        prairielearn_settings(f"[platforms.prairielearn]\n{table}\n", "A")


def test_cli_writes_the_question(tmp_path):
    out = tmp_path / "questions" / "cnn"
    done = CliRunner().invoke(main, ["autograder", "prairielearn", "--spec", str(SPEC), "--inputs",
                                     str(INPUTS), "--expected", str(EXPECTED), "--out", str(out),
                                     "--wheel", str(built_wheel())])
    assert done.exit_code == 0, done.output
    assert done.output == f"wrote the PrairieLearn question to {out}\n"
    assert (out / "info.json").is_file() and (out / "tests" / "run.sh").is_file()
    again = CliRunner().invoke(main, ["autograder", "prairielearn", "--out", str(out)])
    assert again.exit_code == 1
    assert again.output == f"cnngrade: error: {out}: is not an empty folder; choose a new one for the question\n"


def test_the_test_python_has_numpy_alone(python_bin, blocker, tmp_path):
    """Guards the tests above: their python3 really lacks cnngrade and what grading must not need."""
    env = environment(PYTHONPATH=str(blocker))
    probe = ("import importlib\nfor name in ('numpy', 'pandas', 'click', 'jinja2', 'yaml', 'grader'):\n"
             "    try:\n        importlib.import_module(name); print(name, 'yes')\n"
             "    except ImportError:\n        print(name, 'no')\n")
    done = subprocess.run([str(python_bin / "python3"), "-c", probe], capture_output=True, text=True,
                          env=env, cwd=tmp_path, check=True)
    assert done.stdout.split("\n")[:-1] == ["numpy yes", "pandas no", "click no", "jinja2 no",
                                            "yaml no", "grader no"]
