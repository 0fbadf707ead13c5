"""`cnngrade export` and `cnngrade diff` through the command line: exit codes and lines."""
import json

import pytest
from click.testing import CliRunner

from grader.cli import main


def submission(id_, score):
    checks = [{"output": "conv_forward_out", "status": "pass" if score else "fail", "score": float(score),
               "max_score": 1.0, "diagnosis": None if score else "flipped_kernel", "message": "m"}]
    return {"id": id_, "score": float(score), "max_score": 1.0, "error": None, "checks": checks}


@pytest.fixture
def runs(tmp_path):
    for name, subs in (("old", [submission("e01", 0), submission("e02", 1)]),
                       ("new", [submission("e01", 1), submission("e02", 1)])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(
            json.dumps({"assignment": "CNN", "submissions": subs}))
    return tmp_path


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_export_canvas(runs):
    out = runs / "canvas.csv"
    result = invoke("export", "canvas", runs / "new", "--out", out, "--assignment-id", 7)
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote 2 students to {out} (Canvas gradebook import)\n"
    assert out.read_text().splitlines()[0] == "Student,ID,SIS User ID,SIS Login ID,Section,CNN (7)"


def test_export_moodle_with_a_roster(runs):
    roster = runs / "roster.csv"
    roster.write_text("id,email\ne01,a@x.edu\ne02,b@x.edu\ne03,c@x.edu\n")
    out = runs / "moodle.csv"
    result = invoke("export", "moodle", runs / "new", "--out", out, "--roster", roster,
                    "--identifier", "email")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"wrote 3 students to {out} (Moodle gradebook import)",
                                          "no submission, exported as 0 (1): e03"]


def test_export_errors_are_one_line_and_exit_1(runs):
    result = invoke("export", "canvas", runs / "new", "--out", runs / "x.csv", "--roster", runs / "none.csv")
    assert result.exit_code == 1
    assert result.output == (f"cnngrade: error: {runs / 'none.csv'}: cannot read the roster: "
                             "No such file or directory\n")
    result = invoke("export", "moodle", runs / "new", "--out", runs / "x.csv", "--identifier", "sis_login_id")
    assert result.exit_code == 1
    assert result.output == ("cnngrade: error: --identifier sis_login_id is not one for moodle: "
                             "expected one of idnumber, email, username\n")


def test_export_usage_errors_exit_2(runs):
    assert invoke("export", "blackboard", runs / "new", "--out", runs / "x.csv").exit_code == 2
    assert invoke("export", "canvas", runs / "new").exit_code == 2  # no --out
    assert invoke("export", "canvas", runs / "new", "--out", runs / "x.csv", "--assignment-id", 0).exit_code == 2


def test_diff_prints_and_writes_html(runs):
    page = runs / "diff.html"
    result = invoke("diff", runs / "old", runs / "new", "--html", page)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[2] == "1 changed, 1 unchanged, 0 only in OLD, 0 only in NEW"
    assert lines[4:6] == ["e01  0 -> 1 of 1  (+1)",
                          "  conv_forward_out  fail 0/1 (flipped_kernel) -> pass 1/1"]
    assert lines[-1] == f"wrote {page}"
    assert "e01" in page.read_text()


def test_diff_of_a_folder_without_results(runs):
    result = invoke("diff", runs, runs / "new")
    assert result.exit_code == 1
    assert result.output.startswith(f"cnngrade: error: {runs / 'results.json'}: no results here")
