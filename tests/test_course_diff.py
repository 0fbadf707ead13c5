"""`cnngrade diff`: exactly the changed students, with what changed on which output."""
import copy
import json
import re

import pytest

from grader.course.diff import compare_runs, diff_runs, format_diff, render_diff_html, signed
from grader.errors import GraderError

OUTPUTS = ("conv_forward_out", "conv_backward_out_dx", "dropout_forward_out_train")


def check(output, status="pass", score=1.0, diagnosis=None, message="ok"):
    return {"output": output, "problem": "p", "status": status, "score": score, "max_score": 1.0,
            "diagnosis": diagnosis, "message": message, "mismatches": 0, "size": 54}


def student(id_, *checks, error=None):
    checks = list(checks) or [check(o) for o in OUTPUTS]
    return {"id": id_, "score": sum(c["score"] for c in checks), "max_score": 3.0, "error": error,
            "checks": checks, "flags": [], "notes": []}


def run(*subs, assignment="CNN"):
    return {"assignment": assignment, "generated_at": "2026-01-01 00:00:00 UTC", "submissions": list(subs)}


@pytest.fixture
def runs():
    old = run(
        student("e01"),
        student("e02", check(OUTPUTS[0]), check(OUTPUTS[1], "fail", 0.0, "column_major", "296 differ"),
                check(OUTPUTS[2])),
        student("e03", check(OUTPUTS[0], "fail", 0.0, "flipped_kernel"), check(OUTPUTS[1]), check(OUTPUTS[2])),
        student("e04", check(OUTPUTS[0]), check(OUTPUTS[1]), check(OUTPUTS[2], "fail", 0.0, "keep_probability")),
        student("e05"),
        student("gone"),
    )
    new = copy.deepcopy(old)
    subs = {s["id"]: s for s in new["submissions"]}
    # e01: only a message's figures moved: not a change.
    subs["e01"]["checks"][0]["message"] = "all 54 within tolerance; largest difference 3.1e-07"
    # e02: the tolerance fix makes its column-major dx pass.
    subs["e02"]["checks"][1] = check(OUTPUTS[1])
    subs["e02"]["score"] = 3.0
    # e03: same score, another diagnosis.
    subs["e03"]["checks"][0]["diagnosis"] = "transposed_kernel"
    # e04: a late re-upload that cannot be read.
    subs["e04"].update(score=0.0, error="not a zip file",
                       checks=[check(o, "error", 0.0, None, "not graded") for o in OUTPUTS])
    # e05: an override raises the final score, the graded score is the same.
    subs["e05"]["final_score"] = 3.0
    subs["e05"]["score"] = 2.0
    subs["e05"]["checks"][2] = check(OUTPUTS[2], "fail", 0.0, "no_scaling")
    new["submissions"] = [s for s in new["submissions"] if s["id"] != "gone"] + [student("new1")]
    return old, new


def test_exactly_the_changed_students_are_reported(runs):
    diff = compare_runs(*runs)
    assert [c.id for c in diff.changed] == ["e02", "e03", "e04", "e05"]
    assert diff.unchanged == 1  # e01: only a message changed
    assert [s.id for s in diff.only_old] == ["gone"]
    assert [s.id for s in diff.only_new] == ["new1"]
    e02, e03, e04, e05 = diff.changed
    assert (e02.old_score, e02.new_score, e02.delta) == (2.0, 3.0, 1.0)
    [dx] = e02.outputs
    assert (dx.output, str(dx.old), str(dx.new)) == (
        "conv_backward_out_dx", "fail 0/1 (column_major)", "pass 1/1")
    assert [(o.output, o.old.diagnosis, o.new.diagnosis) for o in e03.outputs] == [
        ("conv_forward_out", "flipped_kernel", "transposed_kernel")]
    assert e03.delta == 0
    assert (e04.old_error, e04.new_error, len(e04.outputs)) == (None, "not a zip file", 3)
    assert (e05.old_score, e05.new_score) == (3.0, 3.0)  # final scores
    assert e05.outputs[0].new.diagnosis == "no_scaling"


def test_identical_runs_have_no_change(runs):
    old, _ = runs
    diff = compare_runs(old, copy.deepcopy(old))
    assert (diff.changed, diff.only_old, diff.only_new, diff.unchanged) == ((), (), (), 6)


def test_float_noise_is_not_a_change():
    old = run(student("a", check(OUTPUTS[0], score=0.3)))
    new = copy.deepcopy(old)
    new["submissions"][0]["checks"][0]["score"] = 0.1 + 0.2
    new["submissions"][0]["score"] = 0.1 + 0.2
    assert compare_runs(old, new).changed == ()


def test_an_output_graded_in_one_run_only_is_a_change():
    old = run(student("a", check(OUTPUTS[0]), check(OUTPUTS[1])))
    new = run(student("a", check(OUTPUTS[0]), check(OUTPUTS[1]), check(OUTPUTS[2], "missing", 0.0)))
    [change] = compare_runs(old, new).changed
    [added] = change.outputs
    assert (added.output, added.old, str(added.new)) == ("dropout_forward_out_train", None, "missing 0/1")


def test_terminal_text(runs):
    text = format_diff(compare_runs(*runs, old_source="before/results.json", new_source="after/results.json"))
    assert text.splitlines() == [
        "OLD  before/results.json: CNN, 6 submissions",
        "NEW  after/results.json: CNN, 6 submissions",
        "4 changed, 1 unchanged, 1 only in OLD, 1 only in NEW",
        "",
        "e02  2 -> 3 of 3  (+1)",
        "  conv_backward_out_dx  fail 0/1 (column_major) -> pass 1/1",
        "",
        "e03  2 -> 2 of 3  (0)",
        "  conv_forward_out  fail 0/1 (flipped_kernel) -> fail 0/1 (transposed_kernel)",
        "",
        "e04  2 -> 0 of 3  (-2)",
        "  submission error: none -> 'not a zip file'",
        "  conv_forward_out           pass 1/1 -> error 0/1",
        "  conv_backward_out_dx       pass 1/1 -> error 0/1",
        "  dropout_forward_out_train  fail 0/1 (keep_probability) -> error 0/1",
        "",
        "e05  3 -> 3 of 3  (0)",
        "  dropout_forward_out_train  pass 1/1 -> fail 0/1 (no_scaling)",
        "",
        "only in OLD: gone (3 of 3)",
        "",
        "only in NEW: new1 (3 of 3)",
    ]


def test_terminal_text_shows_control_characters_as_escapes():
    old = run(student("a\x1b[31mred"))
    new = copy.deepcopy(old)
    new["submissions"][0]["score"] = 1.0
    assert "a\\x1b[31mred  3 -> 1 of 3  (-2)" in format_diff(compare_runs(old, new))


def test_html_escapes_student_text_and_is_deterministic(runs):
    old, new = runs
    for sub in (old["submissions"][1], new["submissions"][1]):
        sub["id"] = "<script>alert(1)</script>"
    new["submissions"][1]["checks"][1]["message"] = "<img src=x onerror=alert(2)>"
    diff = compare_runs(old, new)
    page = render_diff_html(diff)
    assert "<script>alert" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert render_diff_html(compare_runs(old, new)) == page
    assert not re.search(r"<script|https?://", page)  # self-contained
    assert page.count('class="student"') == 4


def test_signed():
    assert [signed(v) for v in (1, -0.5, 0, 0.00001, 2 / 3)] == ["+1", "-0.5", "0", "0", "+0.6667"]


def test_diff_runs_reads_folders_or_files(tmp_path, runs):
    old, new = runs
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "results.json").write_text(json.dumps(old))
    (tmp_path / "b.json").write_text(json.dumps(new))
    diff = diff_runs(tmp_path / "a", tmp_path / "b.json")
    assert diff.old_source == str(tmp_path / "a" / "results.json")
    assert len(diff.changed) == 4


@pytest.mark.parametrize("content, message", [
    (None, "no results here: give a grades folder that `cnngrade batch` wrote, or its results.json"),
    ("{", "line 1, column 2: not valid JSON"),
    ('{"submissions": {}}', "not a batch's results: no 'submissions' list"),
    ('{"submissions": [{"id": "a", "score": "9", "max_score": 10, "checks": []}]}',
     "submission 'a': 'score' is not a number"),
    ('{"submissions": [{"score": 9}]}', "submission 1 has no 'id'"),
    ('{"submissions": [{"id": "a", "score": 9, "max_score": 10, "checks": [{"output": "x"}]}]}',
     "submission 'a': a check lacks 'output', 'status', 'score' or 'max_score'"),
    ('{"submissions": [{"id": "a", "score": 9, "max_score": 10, "checks": []}, '
     '{"id": "a", "score": 9, "max_score": 10, "checks": []}]}', "two submissions have the id 'a'"),
])
def test_unreadable_results_are_named(tmp_path, content, message):
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(GraderError) as e:
        diff_runs(path, path)
    assert str(e.value).startswith(str(path)) and message in str(e.value)
