"""The two CS231n specs, one per era of dropout's p (examples/specs/cs231n_2017.toml: p drops;
cs231n_2018.toml: p keeps), end to end through the command line: inputs, expected outputs, the
audit, and grading. A student's dropout written as each era's starter code asks passes under its
own era's spec and is told, in the spec's own terms, that p means the other thing under the other.
"""
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from grader.assignment.generate import read_inputs
from grader.assignment.spec import load_spec
from grader.cli import main

from grader.simulate import correct_outputs, texts
from simulated import write_submission

ROOT = Path(__file__).resolve().parents[1]
SPECS = {era: ROOT / "examples" / "specs" / f"cs231n_{era}.toml" for era in ("2017", "2018")}
SIX_FUNCTIONS = {"conv_forward", "conv_backward", "maxpool_forward", "maxpool_backward",
                 "dropout_forward", "dropout_backward"}


def dropout_2017(source, p, rng):
    """The 2016-17 hand-out: "We drop each neuron output with probability p"."""
    return source * ((rng.random(source.shape) >= p) / (1 - p))


def dropout_2018(source, p, rng):
    """The hand-out from 2018 on: "We keep each neuron output with probability p"."""
    return source * ((rng.random(source.shape) < p) / p)


STUDENT_CODE = {"2017": dropout_2017, "2018": dropout_2018}


@pytest.fixture(scope="module", params=sorted(SPECS))
def course(request, tmp_path_factory):
    """(era, spec path, folder holding in/ and exp/) made with the command line."""
    era = request.param
    folder = tmp_path_factory.mktemp(f"cs231n_{era}")
    runner = CliRunner()
    for args in (["inputs", "--out", str(folder / "in")],
                 ["expected", "--inputs", str(folder / "in"), "--out", str(folder / "exp")]):
        result = runner.invoke(main, args + ["--spec", str(SPECS[era])])
        assert result.exit_code == 0, result.output
    return era, SPECS[era], folder


def test_both_specs_grade_all_six_functions_as_the_notebooks_check_them():
    for era, path in SPECS.items():
        assignment = load_spec(path)
        assert {p.op for p in assignment.problems} == SIX_FUNCTIONS
        assert assignment.pad_convention == "per_side" and assignment.layout == "NCHW"
        assert assignment.dropout_p_means == {"2017": "drop", "2018": "keep"}[era]
        assert assignment.output("conv_forward_out").shape == (2, 3, 2, 2)
        assert assignment.output("maxpool_forward_out").shape == (2, 3, 2, 2)
        assert assignment.output("maxpool_backward_out").shape == (3, 2, 8, 8)
        # The notebooks' dropout_backward check: p = 0.8 dropping (2017), p = 0.2 keeping (2018).
        assert assignment.problem("dropout_backward").drop_prob == pytest.approx(0.8)
        # Where the convention comes from, quoted from the starter code's docstring.
        quoted = {"2017": "We drop each neuron output with probability p",
                  "2018": "We keep each neuron output with probability p"}[era]
        assert quoted in path.read_text()


def test_the_audit_catches_every_applicable_mistake(course):
    """All but one, in 2017: its dropout_backward drops 80% of 100 units, and a mask drawn as
    np.random.randn(...) > 0.8 drops 78.8% (tests/test_audit.py)."""
    era, spec, _ = course
    result = CliRunner().invoke(main, ["inputs", "--spec", str(spec), "--audit"])
    assert result.exit_code == 0, result.output
    last = result.output.splitlines()[-1]
    caught, total = (int(n) for n in last.split(" mistakes caught")[0].split(" of "))
    if era == "2017":
        assert caught == total - 1 and last.endswith("not caught: normal_draw on "
                                                     "dropout_backward_out_train"), last
    else:
        assert caught == total and "not caught" not in last, last


def grade_student(era_of_code, course, tmp_path, name):
    """A correct submission whose dropout is written as ``era_of_code``'s starter code asks,
    graded with `cnngrade check --json`; the JSON result."""
    _, spec, folder = course
    assignment = load_spec(spec)
    inputs = read_inputs(assignment, folder / "in")
    outputs = correct_outputs(assignment, inputs, seed=3)
    rng = np.random.default_rng(20)
    for problem in assignment.problems:
        if problem.op.startswith("dropout"):
            source = inputs[next(i.file for i in problem.inputs
                                 if i.role == ("x" if problem.op == "dropout_forward" else "dout"))]
            train = next(o for o in problem.outputs if o.statistical)
            outputs[train.file] = STUDENT_CODE[era_of_code](source, problem.params["p"], rng)
    submission = write_submission(tmp_path / name / "output_files", texts(assignment, outputs))
    json_path = tmp_path / f"{name}.json"
    result = CliRunner().invoke(main, ["check", str(submission.parent), "--spec", str(spec),
                                       "--inputs", str(folder / "in"), "--expected",
                                       str(folder / "exp"), "--json", str(json_path)])
    assert result.exit_code == 0, result.output
    return json.loads(json_path.read_text())


def test_a_student_of_the_same_era_gets_full_marks(course, tmp_path):
    era, _, _ = course
    result = grade_student(era, course, tmp_path, "e0000001a")
    assert result["score"] == result["max_score"] == 10.0, [
        (c["output"], c["message"]) for c in result["checks"] if c["status"] != "pass"]


def test_a_student_of_the_other_era_is_told_what_p_means_here(course, tmp_path):
    era, spec, _ = course
    other = "2018" if era == "2017" else "2017"
    result = grade_student(other, course, tmp_path, "e0000002b")
    checks = {c["output"]: c for c in result["checks"]}
    train = checks["dropout_forward_out_train"]
    assert train["status"] == "fail" and train["diagnosis"] == "keep_probability", train["message"]
    p = load_spec(spec).problem("dropout_forward").params["p"]
    meaning = "DROPPING" if era == "2017" else "KEEPING"
    assert f"this assignment's p = {p:g} is the probability of {meaning} a unit" in train["message"]
    # dropout_backward's p = 0.8 (drop) and p = 0.2 (keep) are the same layer: the 2017 code given
    # p = 0.2 drops 20%, the 2018 code given p = 0.8 keeps 80%: both read p the other way.
    assert checks["dropout_backward_out_train"]["diagnosis"] == "keep_probability"
    others = [c for name, c in checks.items() if not name.endswith("_train")]
    assert all(c["status"] == "pass" for c in others)
