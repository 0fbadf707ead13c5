"""The command line: exit codes and the exact lines printed on each path (click's CliRunner)."""
import json
import os
from pathlib import Path

from click.testing import CliRunner

from grader.cli import main

from simulated import EXPECTED, INPUTS, SPEC, write_submission

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "submissions"
COMMON = ["--spec", str(SPEC), "--inputs", str(INPUTS)]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_check_full_marks_prints_the_table_and_exits_0():
    result = run("check", EXAMPLES / "e0000001a", *COMMON, "--expected", EXPECTED, "--strict")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["output", "status", "score", "message"]
    assert lines[1].split()[:3] == ["conv_forward_out", "pass", "1/1"]
    assert "score: 10 / 10 (100%)" in lines


def test_check_strict_exits_3_without_full_marks():
    result = run("check", EXAMPLES / "e0000005e", *COMMON, "--expected", EXPECTED, "--strict")
    assert result.exit_code == 3
    assert "maxpool_backward_out        MISSING        0/1  maxpool_backward_out.csv not found" \
        in result.output
    assert run("check", EXAMPLES / "e0000005e", *COMMON, "--expected", EXPECTED).exit_code == 0


def test_check_writes_json(tmp_path):
    out = tmp_path / "result.json"
    result = run("check", EXAMPLES / "e0000006f", *COMMON, "--expected", EXPECTED, "--json", out)
    assert result.exit_code == 0
    data = json.loads(out.read_text())
    assert data["id"] == "e0000006f" and data["score"] == 8.0 and data["max_score"] == 10.0
    statuses = {c["output"]: c["status"] for c in data["checks"]}
    assert statuses["conv_forward_out"] == "error" and statuses["maxpool_forward_out"] == "error"


def test_check_without_expected_says_what_was_not_checked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no expected/ here: a student self-checking
    result = run("check", EXAMPLES / "e0000001a", *COMMON)
    assert result.exit_code == 0
    assert "Deterministic outputs were NOT checked for correctness (no expected outputs given)" \
        in result.output
    assert "dropout_forward_out_train   pass" in result.output
    assert "self-check: 2 passed, 0 with problems, 8 read but not checked for correctness" \
        in result.output.splitlines()
    assert "score:" not in result.output


def test_check_named_expected_that_is_missing_exits_1(tmp_path):
    result = run("check", EXAMPLES / "e0000001a", *COMMON, "--expected", tmp_path / "nope")
    assert result.exit_code == 1
    assert result.output.strip() == f"cnngrade: error: no expected outputs at {tmp_path / 'nope'}"


def test_check_stale_expected_exits_1_with_one_line(tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for f in INPUTS.iterdir():
        (inputs / f.name).write_bytes(f.read_bytes())
    (inputs / "conv_forward_in_b.csv").write_text("1\n2\n3\n")
    result = run("check", EXAMPLES / "e0000001a", "--spec", SPEC, "--inputs", inputs,
                 "--expected", EXPECTED)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cnngrade: error: the expected outputs in")
    assert "stale expected outputs" in lines[0] and "Traceback" not in result.output


def test_usage_errors_exit_2(tmp_path):
    assert run("check").exit_code == 2
    assert run("check", tmp_path / "does-not-exist").exit_code == 2
    assert run("batch", EXAMPLES, "--jobs", "0").exit_code == 2
    assert run("nonsense").exit_code == 2


def test_debug_shows_the_traceback(tmp_path):
    result = run("check", EXAMPLES / "e0000001a", *COMMON, "--expected", tmp_path / "nope", "--debug")
    assert result.exit_code == 1 and result.exception is not None
    assert "cnngrade: error" not in result.output


def test_a_hostile_submission_never_gives_a_traceback(tmp_path):
    sub = write_submission(tmp_path / "evil" / "output_files", {
        "conv_forward_out.csv": b"\x00\x01\x02binary",
        "conv_backward_out_dx.csv": "1,2,3\n",
        "maxpool_forward_out.csv": "\xff\xfe".encode("latin-1"),
    })
    os.symlink("/etc/passwd", sub / "conv_backward_out_db.csv")
    (sub / "maxpool_backward_out.csv").mkdir()
    result = run("check", sub.parent, *COMMON, "--expected", EXPECTED)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "conv_backward_out_db.csv: is a link" in result.output


def test_check_writes_a_self_contained_feedback_page(tmp_path):
    page = tmp_path / "feedback.html"
    result = run("check", EXAMPLES / "e0000003c", *COMMON, "--expected", EXPECTED, "--html", page)
    assert result.exit_code == 0
    html = page.read_text()
    assert "e0000003c" in html and "column_major" in html
    assert "<script" not in html.lower() and "http://" not in html and "https://" not in html


def test_show_expected_is_for_instructors_only():
    args = ["check", EXAMPLES / "e0000008h", *COMMON, "--expected", EXPECTED]
    student = run(*args).output
    instructor = run(*args, "--show-expected").output
    assert "expected " not in student.split("conv_forward_out", 1)[1].splitlines()[0]
    line = next(l for l in instructor.splitlines() if l.startswith("conv_forward_out"))
    assert "(expected " in line and ", got " in line


def test_help_gives_each_command_one_line_in_course_order_with_workflow_and_exit_codes():
    result = CliRunner().invoke(main, ["--help"], terminal_width=80)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    start = lines.index("Commands:") + 1
    rows = [line for line in lines[start:start + 8]]
    assert [row.split()[0] for row in rows] == ["inputs", "expected", "template", "autograder",
                                                "check", "batch", "diff", "export"]
    assert all(len(row) <= 80 and not row.endswith("...") for row in rows)
    assert "cnngrade batch submissions --out grades" in result.output
    assert "Exit codes: 0 graded" in result.output and "3 check --strict" in result.output
