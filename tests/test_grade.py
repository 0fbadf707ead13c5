"""Grading one submission: full marks for every correct variant, zero only where a file is
wrong, scores from the spec, the JSON schema, and no expected value in student-facing output."""
import json
import zipfile

import numpy as np
import pytest

from grader.errors import StaleExpectedError
from grader.pipeline import grade_submission, load_context
from grader.results import to_json

from grader.simulate import correct_outputs, texts
from simulated import EXPECTED, INPUTS, SPEC, write_submission


def grade_files(tmp_path, context, files, name="e0123456g"):
    folder = write_submission(tmp_path / name / "output_files", files)
    return grade_submission(folder.parent, context)


def by_output(result):
    return {c.output: c for c in result.checks}


def rows_text(array, fmt="%.18e", sep=" ", newline="\n"):
    """A 2-D view of the array, rows on lines, as np.savetxt writes it."""
    rows = array.reshape(array.shape[0], -1)
    return "".join(sep.join(fmt % v for v in row) + newline for row in rows)


@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_reference_outputs_with_any_train_mask_get_full_marks(tmp_path, context, assignment, inputs, seed):
    result = grade_files(tmp_path, context, texts(assignment, correct_outputs(assignment, inputs, seed)))
    assert [c.status for c in result.checks] == ["pass"] * 10
    assert result.score == result.max_score == 10.0 and result.full_marks and result.error is None


@pytest.mark.parametrize("variant", ["float32 %.9e", "7 digits", "2-D text", "CRLF and commas",
                                     "BOM, tabs and trailing commas"])
def test_correct_variants_get_full_marks(tmp_path, context, assignment, inputs, variant):
    if variant == "float32 %.9e":
        f32 = {k: v.astype(np.float32) for k, v in inputs.items()}
        outputs = {k: v.astype(np.float32).astype(np.float64)
                   for k, v in correct_outputs(assignment, f32, seed=3).items()}
        files = texts(assignment, outputs, "%.9e")
    else:
        outputs = correct_outputs(assignment, inputs, seed=4)
        if variant == "7 digits":
            files = texts(assignment, outputs, "%.6e")
        elif variant == "2-D text":
            files = {o.filename: rows_text(outputs[o.file]) for o in assignment.outputs}
        elif variant == "CRLF and commas":
            files = {o.filename: rows_text(outputs[o.file], "%.12g", ",", "\r\n")
                     for o in assignment.outputs}
        else:
            files = {o.filename: "\ufeff" + rows_text(outputs[o.file], "%.10f", "\t", ",\n")
                     for o in assignment.outputs}
    result = grade_files(tmp_path, context, files)
    assert result.full_marks, [(c.output, c.message) for c in result.checks if c.status != "pass"]
    assert [c.diagnosis for c in result.checks] == [None] * len(result.checks)


def test_a_bad_file_is_an_error_worth_zero_and_the_rest_is_graded(tmp_path, context, assignment, inputs):
    files = texts(assignment, correct_outputs(assignment, inputs, seed=5))
    files["conv_forward_out.csv"] = files["conv_forward_out.csv"].replace("e-02\n", "e-02\nabc\n", 1)
    del files["maxpool_forward_out.csv"]
    result = grade_files(tmp_path, context, files)
    checks = by_output(result)
    assert checks["conv_forward_out"].status == "error"
    assert checks["conv_forward_out"].score == 0
    assert checks["conv_forward_out"].diagnosis_code == "parse_error"
    assert checks["conv_forward_out"].message.startswith("conv_forward_out.csv, line 2, column 1")
    assert "'abc'" in checks["conv_forward_out"].message
    assert checks["maxpool_forward_out"].status == "missing"
    assert checks["maxpool_forward_out"].diagnosis_code == "missing_file"
    assert result.score == 8.0 and result.max_score == 10.0


def test_wrong_values_fail_with_located_worst_difference(tmp_path, context, assignment, inputs):
    outputs = correct_outputs(assignment, inputs, seed=6)
    dx = outputs["conv_backward_out_dx"].copy()
    dx[1, 2, 3, 4] += 1e-3 * np.abs(dx).max()
    outputs["conv_backward_out_dx"] = dx
    check = by_output(grade_files(tmp_path, context, texts(assignment, outputs)))["conv_backward_out_dx"]
    assert check.status == "fail" and check.score == 0
    assert check.mismatches == 1 and check.size == 300
    assert check.comparison.max_abs_index == (1, 2, 3, 4)
    assert check.to_dict()["details"]["max_abs_index"] == [1, 2, 3, 4]
    assert "1 / 300" in check.message and "(1, 2, 3, 4)" in check.message


def test_partial_credit_from_the_spec(tmp_path, inputs):
    spec_file = tmp_path / "partial.toml"
    spec_file.write_text(SPEC.read_text().replace("partial = false", "partial = true"))
    context = load_context(spec_file, INPUTS, EXPECTED)
    a = context.assignment
    outputs = correct_outputs(a, inputs, seed=7)
    out = outputs["maxpool_forward_out"].copy().ravel()
    out[:36] += 1.0  # a quarter of 144 elements wrong
    outputs["maxpool_forward_out"] = out.reshape(3, 3, 4, 4)
    check = by_output(grade_files(tmp_path, context, texts(a, outputs)))["maxpool_forward_out"]
    assert check.status == "fail" and check.score == pytest.approx(0.75)


def test_partial_credit_gives_nothing_for_a_blank_sparse_output(tmp_path, inputs):
    """Max-pool's dx is mostly zeros: a blank file must not earn the zeros' share."""
    spec_file = tmp_path / "partial.toml"
    spec_file.write_text(SPEC.read_text().replace("partial = false", "partial = true"))
    context = load_context(spec_file, INPUTS, EXPECTED)
    a = context.assignment
    outputs = correct_outputs(a, inputs, seed=7)
    dx = outputs["maxpool_backward_out"]
    outputs["maxpool_backward_out"] = np.zeros_like(dx)
    blank = by_output(grade_files(tmp_path, context, texts(a, outputs), "blank"))
    assert blank["maxpool_backward_out"].score == 0.0
    half = dx.copy()
    nonzero = np.flatnonzero(dx)
    half.flat[nonzero[: len(nonzero) // 2]] *= -1
    outputs["maxpool_backward_out"] = half
    halved = by_output(grade_files(tmp_path, context, texts(a, outputs), "half"))
    assert halved["maxpool_backward_out"].score == pytest.approx(0.5, abs=0.01)


def test_points_come_from_the_spec(tmp_path, inputs):
    spec_file = tmp_path / "points.toml"
    spec_file.write_text(SPEC.read_text().replace(
        'outputs.out = { file = "conv_forward_out", points = 1 }',
        'outputs.out = { file = "conv_forward_out", points = 4.5 }'))
    context = load_context(spec_file, INPUTS, EXPECTED)
    result = grade_files(tmp_path, context, texts(context.assignment,
                                                  correct_outputs(context.assignment, inputs, 8)))
    assert result.max_score == 13.5 and result.score == 13.5


def test_json_schema(tmp_path, context, assignment, inputs):
    files = texts(assignment, correct_outputs(assignment, inputs, seed=9))
    del files["conv_backward_out_db.csv"]
    data = json.loads(to_json(grade_files(tmp_path, context, files).to_dict()))
    assert {"id", "score", "max_score", "error", "checks", "flags"} <= set(data)
    assert data["id"] == "e0123456g" and data["score"] == 9.0 and data["error"] is None
    for check in data["checks"]:
        assert {"output", "status", "score", "max_score", "message", "diagnosis", "mismatches",
                "size", "max_abs_err", "max_rel_err"} <= set(check)
        assert check["status"] in ("pass", "fail", "error", "missing")
    missing = next(c for c in data["checks"] if c["output"] == "conv_backward_out_db")
    assert missing["status"] == "missing" and missing["diagnosis"] == "missing_file"


def test_zip_submission_with_nested_folder(tmp_path, context, assignment, inputs):
    files = texts(assignment, correct_outputs(assignment, inputs, seed=10))
    path = tmp_path / "e7654321x.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(f"e7654321x/e7654321x/output_files/{name}", text)
    result = grade_submission(path, context)
    assert result.id == "e7654321x" and result.full_marks


def test_an_unreadable_submission_scores_zero_with_a_message(tmp_path, context):
    path = tmp_path / "e1111111a.zip"
    path.write_bytes(b"PK\x03\x04 this is not really a zip")
    result = grade_submission(path, context)
    assert result.error and "e1111111a.zip" in result.error
    assert result.score == 0 and all(c.status == "error" for c in result.checks)


def test_self_check_without_expected(tmp_path, assignment, inputs):
    context = load_context(SPEC, INPUTS, expected_dir=None)
    outputs = correct_outputs(assignment, inputs, seed=11)
    outputs["conv_forward_out"] = outputs["conv_forward_out"] * 2  # not detectable without expected/
    result = grade_files(tmp_path, context, texts(assignment, outputs))
    statuses = {c.output: c.status for c in result.checks}
    assert statuses["dropout_forward_out_train"] == "pass"
    assert statuses["conv_forward_out"] == "unchecked"
    assert not result.checked_expected and result.max_score == 2.0 and result.full_marks


def test_stale_expected_stops_grading(tmp_path, assignment):
    other = tmp_path / "inputs"
    other.mkdir()
    for spec in assignment.inputs:
        (other / spec.filename).write_bytes((INPUTS / spec.filename).read_bytes())
    (other / "conv_forward_in_b.csv").write_text("0\n0\n0\n")
    with pytest.raises(StaleExpectedError, match="stale expected outputs"):
        load_context(SPEC, other, EXPECTED)


def test_feedback_never_shows_expected_values(tmp_path, context, assignment, inputs):
    outputs = correct_outputs(assignment, inputs, seed=12)
    expected = {k: v for k, v in outputs.items()}
    wrong = {k: -v for k, v in outputs.items()}  # every output wrong everywhere
    result = grade_files(tmp_path, context, texts(assignment, wrong))
    text = to_json(result.to_dict())
    for spec in assignment.outputs:
        if spec.statistical:
            continue
        for value in expected[spec.file].ravel():
            for shown in (f"{value:.6g}", f"{value:.4e}"):
                if len(shown.strip("-0.")) >= 4:  # skip values too short to be distinctive
                    assert shown not in text, (spec.file, shown)
