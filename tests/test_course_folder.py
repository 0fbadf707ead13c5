"""The course folder: commands find the spec, inputs and expected outputs they are not given."""
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.course.folder import course_paths, default_course, find_course, open_course
from grader.errors import GraderError, SpecError

from simulated import EXPECTED, INPUTS, ROOT, SPEC

SUBMISSION = ROOT / "examples" / "submissions" / "e0000003c"
ROLES = {"spec_path": "spec", "inputs_dir": "inputs", "expected_dir": "expected_if_present"}
PLAIN = {"spec_path": "assignment.toml", "inputs_dir": "input_files", "expected_dir": None}


def course_copy(folder, with_expected=True):
    """A course folder holding the default assignment's files, as an instructor's would."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SPEC, folder / "assignment.toml")
    shutil.copytree(INPUTS, folder / "input_files")
    if with_expected:
        shutil.copytree(EXPECTED, folder / "expected")
    return folder


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_the_spec_itself_makes_a_course_folder_found_from_below(tmp_path):
    course = course_copy(tmp_path / "cs5242")
    below = course / "week7" / "regrades"
    below.mkdir(parents=True)
    chosen = course_paths(ROLES, {}, PLAIN, start=below)
    assert chosen.values == {"spec_path": course / "assignment.toml",
                             "inputs_dir": course / "input_files",
                             "expected_dir": course / "expected"}
    assert chosen.notices == ()


def test_cnngrade_toml_names_the_files_relative_to_itself(tmp_path):
    course = tmp_path / "course"
    course_copy(course / "spec")
    (course / "cnngrade.toml").write_text(
        '[course]\nspec = "spec/assignment.toml"\ninputs = "spec/input_files"\n'
        'expected = "spec/expected"\nroster = "class/roster.csv"\n', encoding="utf-8")
    (course / "class").mkdir()
    found = find_course(course / "class")
    assert (found.root, found.config) == (course, course / "cnngrade.toml")
    assert found.spec == course / "spec" / "assignment.toml"
    assert found.roster == course / "class" / "roster.csv" and found.overrides is None
    # The nearest course folder counts: below, the spec's own folder is one.
    assert find_course(course / "spec" / "input_files").root == course / "spec"


def test_cnngrade_toml_without_a_spec_is_a_course_of_the_default_assignment(tmp_path):
    (tmp_path / "cnngrade.toml").write_text('[course]\nroster = "roster.csv"\n', encoding="utf-8")
    found = open_course(tmp_path)
    default = default_course()
    assert found.default_assignment and found.root == tmp_path
    assert (found.spec, found.inputs, found.expected) == (default.spec, default.inputs,
                                                           default.expected)
    assert found.roster == tmp_path / "roster.csv"


def test_options_given_win_over_the_course(tmp_path):
    course = course_copy(tmp_path / "c")
    chosen = course_paths(ROLES, {"inputs_dir": "mine"}, PLAIN, start=course)
    assert chosen.values["inputs_dir"] == "mine"
    assert chosen.values["spec_path"] == course / "assignment.toml"


def test_a_hand_out_without_expected_outputs_is_a_self_check(tmp_path):
    course = course_copy(tmp_path / "handout", with_expected=False)
    assert course_paths(ROLES, {}, PLAIN, start=course).values["expected_dir"] is None


def test_outside_a_course_folder_the_default_assignment_is_used_and_said(tmp_path):
    chosen = course_paths(ROLES, {}, PLAIN, start=tmp_path)
    assert chosen.course.default_assignment and chosen.course.root is None
    assert chosen.values["spec_path"].name == "assignment.toml"
    [notice] = chosen.notices
    assert notice.startswith(f"no course folder here or above (cnngrade.toml or assignment.toml "
                             f"in {tmp_path}): using cnngrade's default assignment; give "
                             "--course DIR or --spec FILE for another")


def test_outside_a_course_folder_with_some_options_a_missing_default_names_course(tmp_path,
                                                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(GraderError) as e:
        course_paths(ROLES, {"spec_path": str(SPEC)}, PLAIN, start=tmp_path)
    assert str(e.value) == (
        f"input_files not found, and this is not a course folder (no cnngrade.toml or "
        f"assignment.toml in {tmp_path} or above): run in the course's folder, or give --course "
        "DIR or --inputs")


def test_course_option_must_name_a_course_folder(tmp_path):
    with pytest.raises(GraderError, match="not a course folder \\(--course\\): it holds neither "
                                          "cnngrade.toml nor assignment.toml"):
        course_paths(ROLES, {}, PLAIN, course_dir=tmp_path, start=tmp_path)
    with pytest.raises(GraderError, match="no such course folder"):
        course_paths(ROLES, {}, PLAIN, course_dir=tmp_path / "nope", start=tmp_path)


@pytest.mark.parametrize("text, message", [
    ("[course]\nroster = 3\n", "course.roster: must be a path, got 3"),
    ("[course]\nrooster = 'r.csv'\n", "course.rooster: unknown key; expected one of spec, inputs"),
    ("[platforms]\n", "platforms: unknown table; expected course or late"),
    ("course = 'x'\n", "course must be a table"),
    ("[course\n", "not valid TOML"),
])
def test_a_malformed_cnngrade_toml_names_the_key(tmp_path, text, message):
    (tmp_path / "cnngrade.toml").write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=message) as e:
        open_course(tmp_path)
    assert str(e.value).startswith(f"{tmp_path / 'cnngrade.toml'}: ")


def test_check_in_a_course_subfolder_needs_no_options(tmp_path, monkeypatch):
    course = course_copy(tmp_path / "c")
    (course / "deep").mkdir()
    monkeypatch.chdir(course / "deep")
    result = run("check", SUBMISSION)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "score: 9 / 10 (90%)"


def test_check_with_course_from_anywhere(tmp_path, monkeypatch):
    course = course_copy(tmp_path / "c")
    monkeypatch.chdir(tmp_path)
    result = run("check", SUBMISSION, "--course", course)
    assert result.exit_code == 0 and "score: 9 / 10 (90%)" in result.output


def test_check_outside_any_course_grades_against_the_default_assignment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("check", SUBMISSION)
    assert result.exit_code == 0, result.output
    assert "using cnngrade's default assignment" in result.output
    assert "score: 9 / 10 (90%)" in result.output


def test_inputs_and_expected_write_into_the_course_from_a_subfolder(tmp_path, monkeypatch):
    course = course_copy(tmp_path / "c")
    shutil.rmtree(course / "input_files")
    shutil.rmtree(course / "expected")
    (course / "notes").mkdir()
    monkeypatch.chdir(course / "notes")
    assert run("inputs").exit_code == 0
    assert run("expected").exit_code == 0
    assert sorted(p.name for p in (course / "input_files").iterdir()) == sorted(
        p.name for p in INPUTS.iterdir())
    assert (course / "expected" / "manifest.json").is_file()
    assert not (course / "notes" / "input_files").exists()


def test_outside_a_course_inputs_writes_here_not_into_the_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("inputs")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "input_files").iterdir()) == sorted(
        p.name for p in INPUTS.iterdir())


def test_check_outside_a_course_with_only_spec_names_course_in_its_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("check", SUBMISSION, "--spec", SPEC)
    assert result.exit_code == 1
    assert result.output.startswith("cnngrade: error: input_files not found, and this is not a "
                                    "course folder")
    assert "give --course DIR or --inputs" in result.output


def test_the_default_assignment_is_the_repository_s_in_a_source_checkout():
    default = default_course()
    assert Path(default.spec).resolve() == SPEC.resolve()
    assert Path(default.expected).resolve() == EXPECTED.resolve()


def test_the_default_assignment_is_installed_with_cnngrade():
    """pyproject.toml installs every file the default assignment needs where folder.py looks."""
    pyproject = (ROOT / "pyproject.toml").read_text("utf-8")
    assert '"share/cnngrade/default_assignment" = ["assignment.toml"]' in pyproject
    assert '"share/cnngrade/default_assignment/input_files" = ["input_files/*.csv"]' in pyproject
    assert ('"share/cnngrade/default_assignment/expected" = ["expected/*.csv", '
            '"expected/manifest.json"]') in pyproject
    assert {p.suffix for p in INPUTS.iterdir()} == {".csv"}
    assert {p.suffix for p in EXPECTED.iterdir()} == {".csv", ".json"}


def test_a_course_of_the_default_assignment_writes_into_its_own_folder(tmp_path, monkeypatch):
    (tmp_path / "cnngrade.toml").write_text("", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    roles = {"out_dir": "inputs_out", "spec_path": "spec"}
    chosen = course_paths(roles, {}, {"out_dir": "input_files"}, start=tmp_path)
    assert chosen.values["out_dir"] == tmp_path / "input_files"
    assert chosen.values["spec_path"] == default_course().spec
