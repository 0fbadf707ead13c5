"""expected/ is checked against its manifest before anything is graded: the inputs, the spec and
every expected file must be the ones it was computed from; a malformed manifest is refused in
one clean line."""
import json
import shutil

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.errors import StaleExpectedError
from grader.assignment.generate import load_expected, write_expected, write_inputs
from grader.pipeline import grade_submission, load_context
from grader.assignment.spec import load_spec

from grader.simulate import correct_outputs, texts
from simulated import SPEC, write_submission


@pytest.fixture()
def made(tmp_path):
    """A spec copied to tmp_path, its inputs and its expected outputs."""
    spec = tmp_path / "assignment.toml"
    shutil.copy(SPEC, spec)
    assignment = load_spec(spec)
    write_inputs(assignment, tmp_path / "in")
    write_expected(assignment, tmp_path / "in", tmp_path / "exp")
    return spec, tmp_path / "in", tmp_path / "exp"


def test_untouched_expected_outputs_load_and_grade_a_correct_student_fully(made, tmp_path):
    spec, inputs, expected = made
    context = load_context(spec, inputs, expected)
    folder = write_submission(tmp_path / "s" / "output_files",
                              texts(context.assignment, correct_outputs(context.assignment,
                                                                        context.inputs, 3)))
    assert grade_submission(folder.parent, context).full_marks


def test_one_changed_byte_in_an_expected_file_is_refused(made):
    spec, inputs, expected = made
    path = expected / "conv_forward_out.csv"
    data = bytearray(path.read_bytes())
    data[5] = ord("7") if data[5] != ord("7") else ord("6")  # a digit of the first value
    path.write_bytes(bytes(data))
    with pytest.raises(StaleExpectedError) as e:
        load_expected(load_spec(spec), expected, inputs)
    message = str(e.value)
    assert "conv_forward_out.csv is not the file `cnngrade expected` wrote" in message
    assert f"cnngrade expected --spec {spec} --inputs {inputs} --out {expected}" in message


def test_a_spec_edit_that_keeps_every_shape_is_refused(made):
    spec, inputs, expected = made
    text = spec.read_text()
    # conv_backward: stride 1 total pad 2 -> stride 2 total pad 6 keeps its (4, 2, 5, 5) dout.
    edited = text.replace("stride = 1\npad = 2", "stride = 2\npad = 6", 1)
    assert edited != text
    spec.write_text(edited)
    assignment = load_spec(spec)
    problem = next(p for p in assignment.problems if p.op == "conv_backward")
    assert problem.reference_params["stride"] == 2  # the edit took, and the shapes still agree
    with pytest.raises(StaleExpectedError, match="reference now computes other values for "
                       "conv_backward_out_dx.csv, conv_backward_out_dw.csv"):
        load_expected(assignment, expected, inputs)


@pytest.mark.parametrize("content, problem", [
    ("[]", "a JSON object was expected, not list"),
    ("null", "a JSON object was expected, not NoneType"),
    ('{"inputs": null}', "'spec_sha256' must be the spec's sha256"),
    ("not json", "unreadable manifest"),
])
def test_a_malformed_manifest_is_refused_cleanly(made, content, problem):
    spec, inputs, expected = made
    (expected / "manifest.json").write_text(content)
    with pytest.raises(StaleExpectedError, match="manifest") as e:
        load_expected(load_spec(spec), expected, inputs)
    assert problem in str(e.value)


def test_a_manifest_with_a_wrong_field_type_is_refused(made):
    spec, inputs, expected = made
    manifest = json.loads((expected / "manifest.json").read_text())
    for key, value in (("inputs", None), ("outputs", []), ("outputs", {"x.csv": {"sha256": 1}})):
        broken = {**manifest, key: value}
        (expected / "manifest.json").write_text(json.dumps(broken))
        with pytest.raises(StaleExpectedError, match="malformed manifest"):
            load_expected(load_spec(spec), expected, inputs)


def test_the_cli_says_so_in_one_line(made, tmp_path):
    spec, inputs, expected = made
    (expected / "manifest.json").write_text('{"inputs": null}')
    submission = tmp_path / "s"
    submission.mkdir()
    result = CliRunner().invoke(main, ["check", str(submission), "--spec", str(spec), "--inputs",
                                       str(inputs), "--expected", str(expected)])
    assert result.exit_code == 1
    assert result.output.startswith("cnngrade: error: ")
    assert len(result.output.strip().splitlines()) == 1
    assert "malformed manifest" in result.output


def test_a_spec_edit_that_changes_no_expected_value_needs_no_new_expected_outputs(made):
    spec, inputs, expected = made
    spec.write_text(spec.read_text().replace("partial = false", "partial = true")
                    + "\n# graded with partial credit from week 3\n")
    assignment = load_spec(spec)
    assert load_expected(assignment, expected, inputs).arrays  # loads: nothing it holds changed


def test_a_forgotten_spec_names_both_assignments(tmp_path):
    """Grading the default class's files with another course's spec: the manifest knows which
    assignment made expected/, so the error says so instead of "holds 96 values; expected 216"."""
    from grader.errors import StaleExpectedError
    from grader.pipeline import load_context

    other = SPEC.parent / "examples" / "specs" / "cs231n_2017.toml"
    with pytest.raises(StaleExpectedError) as caught:
        load_context(other, SPEC.parent / "input_files", SPEC.parent / "expected")
    message = str(caught.value)
    assert "belong to the assignment 'CS5242 Assignment 2 - Building CNNs'" in message
    assert f"--spec {other}" in message and "values; expected" not in message


def test_stale_expected_errors_give_the_command_with_its_spec(tmp_path):
    from grader.assignment.generate import regenerate_command
    from grader.assignment.spec import load_spec as load

    command = regenerate_command(load(SPEC), "in", "exp")
    assert command == f"`cnngrade expected --spec {load(SPEC).source} --inputs in --out exp`"
