"""Class-level hints (grader/report/hints.py): when most of a class shares a convention diagnosis,
the class report says the spec's convention may not match the class's hand-out and shows how to
regrade with the other reading; not otherwise. End to end, the commands it shows regrade a
CS231n class taught the other reading of p into full marks.
"""
import json
import shlex
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from grader.assignment.generate import read_inputs
from grader.assignment.spec import load_spec, parse_spec
from grader.cli import main
from grader.diagnosis.catalogue import diagnosis
from grader.report.hints import MIN_STUDENTS, class_hints
from grader.report.render import render_class_report
from grader.results import BatchResult, CheckResult, SubmissionResult

from grader.simulate import correct_outputs, texts
from simulated import SPEC, write_submission

ROOT = Path(__file__).resolve().parents[1]
TRAIN = "dropout_forward_out_train"


def student(assignment, sid, code=None, output=TRAIN, error=None):
    """A submission whose ``output`` failed with diagnosis ``code`` (every other output passed)."""
    checks = []
    for o in assignment.outputs:
        failed = code is not None and o.file == output
        checks.append(CheckResult(output=o.file, problem=o.problem,
                                  status="fail" if failed else "pass",
                                  score=0.0 if failed else o.points, max_score=o.points,
                                  message="", diagnosis=diagnosis(code) if failed else None))
    return SubmissionResult(id=sid, score=sum(c.score for c in checks),
                            max_score=assignment.max_score, error=error, checks=checks)


def batch_of(assignment, codes, errors=0, output=TRAIN):
    """A class: one student per entry of ``codes`` (None: correct), plus ``errors`` submissions
    that could not be read."""
    subs = [student(assignment, f"e{i:07d}a", code, output) for i, code in enumerate(codes)]
    subs += [student(assignment, f"x{i:07d}a", error="not a zip") for i in range(errors)]
    return BatchResult(assignment.name, subs)


@pytest.fixture(scope="module")
def default():
    return load_spec(SPEC)


def test_a_class_most_of_which_reads_p_the_other_way_gets_the_hint(default):
    hints = class_hints(batch_of(default, ["keep_probability"] * 7 + [None] * 3), default)
    assert len(hints) == 1
    hint = hints[0]
    assert (hint.code, hint.setting, hint.current, hint.other) == (
        "keep_probability", "dropout_p_means", "drop", "keep")
    assert [(o.output, o.students, o.graded, o.share) for o in hint.outputs] == [
        (TRAIN, 7, 10, "70%")]
    assert hint.summary.startswith("7 of 10 graded submissions (70%) read dropout's p the other way "
                                   "round (keep_probability, on dropout_forward_out_train). This "
                                   "spec says dropout's p is the probability of DROPPING a unit "
                                   "(dropout_p_means = \"drop\"); the hand-out this class was given "
                                   "may say it is the probability of KEEPING a unit.")
    spec = str(SPEC)
    other = str(SPEC.with_name("assignment_keep.toml"))
    assert hint.commands == (
        f"sed -E 's/^(dropout_p_means *= *)\"drop\"/\\1\"keep\"/' {shlex.quote(spec)} > "
        f"{shlex.quote(other)}",
        f"cnngrade batch ROOT --spec {shlex.quote(other)} --out grades_keep",
        "cnngrade diff grades grades_keep",
    )
    assert "The inputs and expected outputs stay the same." in hint.note


@pytest.mark.parametrize("codes, errors, hinted", [
    (["keep_probability"] * 5 + [None] * 5, 0, True),  # half: the rule's edge
    (["keep_probability"] * 4 + [None] * 6, 0, False),  # under half
    (["keep_probability"] * 3 + [None] * 1, 6, True),  # unreadable submissions are not graded
    (["keep_probability"] * (MIN_STUDENTS - 1), 0, False),  # too few to be a class
    (["flipped_kernel"] * 8 + [None] * 2, 0, False),  # not a convention a spec states
    (["keep_probability", "no_scaling"] * 4 + [None] * 2, 0, False),  # none reaches half
    ([None] * 10, 0, False),
])
def test_the_rule(default, codes, errors, hinted):
    output = "conv_forward_out" if "flipped_kernel" in codes else TRAIN
    assert bool(class_hints(batch_of(default, codes, errors, output), default)) == hinted


def test_a_pad_convention_hint_recomputes_the_expected_outputs(default):
    hint, = class_hints(batch_of(default, ["pad_convention"] * 6, output="conv_forward_out"),
                        default)
    assert (hint.setting, hint.current, hint.other) == ("pad_convention", "total", "per_side")
    other = shlex.quote(str(SPEC.with_name("assignment_per_side.toml")))
    assert hint.commands[1:] == (
        f"cnngrade expected --spec {other} --out expected_per_side",
        f"cnngrade batch ROOT --spec {other} --expected expected_per_side --out grades_per_side",
        "cnngrade diff grades grades_per_side")
    # An odd per-side pad has no total reading: the hint says so and gives no commands.
    odd = parse_spec({
        "assignment": {"name": "odd pad", "seed": 1, "pad_convention": "per_side"},
        "problems": {"conv_forward": {
            "op": "conv_forward", "stride": 1, "pad": 1,
            "inputs": {"x": {"file": "x", "shape": [1, 1, 4, 4], "values": "normal(0, 1)"},
                       "w": {"file": "w", "shape": [1, 1, 3, 3], "values": "normal(0, 1)"},
                       "b": {"file": "b", "shape": [1], "values": "normal(0, 1)"}},
            "outputs": {"out": {"file": "out"}}}}})
    hint, = class_hints(batch_of(odd, ["pad_convention"] * 3, output="out"), odd)
    assert hint.commands == () and "an odd pad has no total-padding reading" in hint.note


def test_the_class_report_shows_the_hint_and_only_then(default):
    hinted = render_class_report(batch_of(default, ["keep_probability"] * 7 + [None] * 3), default,
                                 "2017-10-01 12:00:00 UTC")
    assert 'id="hint-keep_probability"' in hinted
    assert "The spec's convention may not match this class's hand-out." in hinted
    assert "cnngrade diff grades grades_keep" in hinted
    assert "dropout_p_means *= *)&#34;drop&#34;" in hinted  # escaped, like everything else
    plain = render_class_report(batch_of(default, ["keep_probability"] * 2 + [None] * 8), default,
                                "2017-10-01 12:00:00 UTC")
    assert "hint-" not in plain and "may not match" not in plain


def test_following_the_hint_regrades_a_class_taught_the_other_reading(tmp_path, monkeypatch):
    """A CS231n class graded with the 2017 spec (p drops) whose students mostly followed the 2018
    hand-out (p keeps): the report hints, and its commands, run as shown, give them full marks."""
    spec = tmp_path / "cs231n_2017.toml"
    shutil.copy(ROOT / "examples" / "specs" / "cs231n_2017.toml", spec)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for args in (["inputs"], ["expected"]):
        assert runner.invoke(main, args + ["--spec", str(spec)]).exit_code == 0
    assignment = load_spec(spec)
    inputs = read_inputs(assignment, "input_files")
    rng = np.random.default_rng(2018)
    for i, era in enumerate(["2018", "2018", "2018", "2017"]):
        outputs = correct_outputs(assignment, inputs, seed=i)
        for problem in assignment.problems:
            if problem.op.startswith("dropout"):
                role = "x" if problem.op == "dropout_forward" else "dout"
                source = inputs[next(s.file for s in problem.inputs if s.role == role)]
                p = problem.params["p"]
                keep = rng.random(source.shape) < p if era == "2018" else rng.random(source.shape) >= p
                train = next(o for o in problem.outputs if o.statistical)
                outputs[train.file] = source * keep / (p if era == "2018" else 1 - p)
        write_submission(tmp_path / "class" / f"e000000{i}{era[-1]}", texts(assignment, outputs))
    result = runner.invoke(main, ["batch", "class", "--spec", str(spec), "--out", "grades"])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "grades" / "report.html").read_text()
    assert 'id="hint-keep_probability"' in report and "3 of 4 graded submissions (75%)" in report

    hint, = _hints_of(tmp_path / "grades", assignment)
    sed, batch, diff = hint.commands
    subprocess.run(sed, shell=True, check=True, cwd=tmp_path)
    args = shlex.split(batch)[1:]
    args[args.index("ROOT")] = "class"
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    regraded = json.loads((tmp_path / "grades_keep" / "results.json").read_text())
    scores = {s["id"]: s["score"] for s in regraded["submissions"]}
    assert scores == {"e00000008": 10.0, "e00000018": 10.0, "e00000028": 10.0, "e00000037": 8.0}
    assert diff == "cnngrade diff grades grades_keep"


def _hints_of(grades, assignment):
    """The hints of a graded class, from its results.json."""
    data = json.loads((grades / "results.json").read_text())
    subs = []
    for s in data["submissions"]:
        checks = [CheckResult(output=c["output"], problem=c["problem"], status=c["status"],
                              score=c["score"], max_score=c["max_score"], message="",
                              diagnosis=diagnosis(c["diagnosis"]) if c["diagnosis"] else None)
                  for c in s["checks"]]
        subs.append(SubmissionResult(id=s["id"], score=s["score"], max_score=s["max_score"],
                                     error=s["error"], checks=checks))
    return class_hints(BatchResult(data["assignment"], subs), assignment)
