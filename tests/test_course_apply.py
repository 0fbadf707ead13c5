"""From graded score to final score: overrides, then the late penalty; and submission times."""
import os
from datetime import datetime, timedelta, timezone

import pytest

from grader.course.apply import StudentPlan, final_grade
from grader.course.diff import compare_runs
from grader.course.export import feedback_text
from grader.course.grades import SubmissionTime
from grader.course.late import LatePolicy
from grader.course.lms import parse_submission_name
from grader.course.overrides import Override
from grader.course.times import file_time, submission_time, worksheet_time
from grader.errors import GraderError
from grader.intake.submissions import SubmissionSource

SGT = timezone(timedelta(hours=8))
DUE = datetime(2026, 10, 1, 23, 59, tzinfo=SGT)
POLICY = LatePolicy(DUE, 0.1)
SCORES = {"conv_forward_out": 1.0, "conv_backward_out_dx": 0.0, "conv_backward_out_dw": 1.0}


def student(*overrides, time=None):
    return StudentPlan(key="e0000003c", name="Ng", source=None, entry="e0000003c.zip",
                       time=time, overrides=tuple(Override("e0000003c", output, points, reason, 2)
                                                  for output, points, reason in overrides))


def on(hours_late, source="moodle_worksheet"):
    return SubmissionTime(DUE + timedelta(hours=hours_late), source)


def test_without_overrides_or_policy_the_final_score_is_the_graded_one():
    grade = final_grade(student(), 2.0, SCORES, None, 3.0)
    assert (grade.raw_score, grade.score, grade.overrides, grade.late) == (2.0, 2.0, (), None)


def test_an_output_override_replaces_that_output_s_graded_points():
    grade = final_grade(student(("conv_backward_out_dx", 1.0, "F order allowed")), 2.0, SCORES,
                        None, 3.0)
    assert grade.score == 3.0 and grade.raw_score == 2.0
    assert [o.to_dict() for o in grade.overrides] == [
        {"output": "conv_backward_out_dx", "original": 0.0, "points": 1.0,
         "reason": "F order allowed"}]


def test_overrides_can_lower_a_score_and_add_up_without_float_noise():
    grade = final_grade(student(("conv_forward_out", 0.1, "a"), ("conv_backward_out_dw", 0.2, "b")),
                        2.0, SCORES, None, 3.0)
    assert grade.score == 0.3


def test_a_total_override_sets_the_total_whatever_the_output_overrides_say():
    grade = final_grade(student((None, 1.5, "academic integrity"),
                                ("conv_backward_out_dx", 1.0, "allowed")), 2.0, SCORES, None, 3.0)
    assert grade.score == 1.5
    assert [(o.output, o.original, o.points) for o in grade.overrides] == [
        ("conv_backward_out_dx", 0.0, 1.0), (None, 3.0, 1.5)]


def test_the_late_penalty_is_taken_from_the_score_the_overrides_leave():
    grade = final_grade(student(("conv_backward_out_dx", 1.0, "allowed"), time=on(25)), 2.0,
                        SCORES, POLICY, 10.0)  # 2 started days: 20% of 10 points, all 3 taken
    assert (grade.late.units, grade.late.points, grade.adjusted_score, grade.score) == (2, 2.0, 3.0, 1.0)
    grade = final_grade(student(time=on(73)), 2.0, SCORES, POLICY, 10.0)  # 4 days: 4 points > 2
    assert (grade.late.points, grade.score) == (2.0, 0.0)  # never below 0


def test_on_time_and_unknown_times_cost_nothing():
    assert final_grade(student(time=on(-1)), 2.0, SCORES, POLICY, 3.0).late.points == 0
    canvas = SubmissionTime(None, "canvas_on_time", False)
    grade = final_grade(student(time=canvas), 2.0, SCORES, POLICY, 3.0)
    assert (grade.late.units, grade.late.points, grade.score, grade.late.disputed) == (0, 0, 2.0, False)


def test_canvas_late_with_an_on_time_file_time_is_disputed_not_charged():
    time = SubmissionTime(DUE - timedelta(hours=1), "file_time", lms_late=True)
    grade = final_grade(student(time=time), 2.0, SCORES, POLICY, 3.0)
    assert grade.late.points == 0 and grade.late.disputed


def test_the_final_grade_in_the_results_json_feeds_export_and_diff():
    before = {"id": "e0000003c", "score": 2.0, "max_score": 3.0, "error": None,
              "checks": [{"output": name, "status": "pass" if points else "fail", "score": points,
                          "max_score": 1.0, "diagnosis": None} for name, points in SCORES.items()]}
    grade = final_grade(student(("conv_backward_out_dx", 1.0, "F order allowed"), time=on(2)),
                        2.0, SCORES, POLICY, 3.0)
    after = {**before, **grade.to_dict()}
    assert after["score"] == 2.0 and after["final_score"] == 2.7
    assert feedback_text(after, 3.0).splitlines()[-2:] == [
        "Changed by the instructor: conv_backward_out_dx 0 -> 1 (F order allowed).",
        "Late penalty: -0.3 (1 started day late)."]
    [change] = compare_runs({"submissions": [before]}, {"submissions": [after]}).changed
    assert (change.old_score, change.new_score, change.outputs) == (2.0, 2.7, ())


@pytest.mark.parametrize("text, expected", [
    ("Thursday, 1 October 2026, 11:00 PM", datetime(2026, 10, 1, 23, 0, tzinfo=SGT)),
    ("Friday, 2 October 2026, 12:05 AM", datetime(2026, 10, 2, 0, 5, tzinfo=SGT)),
    ("2 October 2026, 12:05", datetime(2026, 10, 2, 12, 5, tzinfo=SGT)),
    ("2026-10-02T01:00:00Z", datetime(2026, 10, 2, 9, 0, tzinfo=SGT)),
    ("2026-10-02 01:00", datetime(2026, 10, 2, 1, 0, tzinfo=SGT)),
    ("-", None),
    ("", None),
])
def test_worksheet_times(text, expected):
    got = worksheet_time(text, POLICY, ("roster.csv", 3))
    assert got == expected and (got is None or got.utcoffset() is not None)


def test_worksheet_times_in_a_named_zone_follow_summer_time():
    due = datetime(2026, 3, 1, 23, 59, tzinfo=timezone(timedelta(hours=1)))
    berlin = LatePolicy(due, 0.1, timezone="Europe/Berlin")
    winter = worksheet_time("1 March 2026, 10:00", berlin, ("w.csv", 2))
    summer = worksheet_time("1 July 2026, 10:00", berlin, ("w.csv", 2))
    assert winter.utcoffset() == timedelta(hours=1) and summer.utcoffset() == timedelta(hours=2)


def test_an_unreadable_worksheet_time_names_the_file_and_row():
    with pytest.raises(GraderError, match=r"^roster.csv, line 7: 'Last modified \(submission\)' "
                                          r"'yesterday' is not a time"):
        worksheet_time("yesterday", POLICY, ("roster.csv", 7))


def test_submission_time_prefers_the_lms_record_then_canvas_s_marker_then_the_file(tmp_path):
    folder = tmp_path / "smithjohn_LATE_12345_678901_hw"
    folder.mkdir()
    (folder / "a.csv").write_text("1\n")
    os.utime(folder / "a.csv", (DUE.timestamp() + 60, DUE.timestamp() + 60))
    source = SubmissionSource(folder.name, folder, "folder")
    late = parse_submission_name(folder.name)
    recorded = DUE + timedelta(hours=5)
    assert submission_time(source, late, recorded) == SubmissionTime(recorded, "moodle_worksheet", True)
    assert submission_time(source, late) == SubmissionTime(DUE + timedelta(minutes=1), "file_time", True)
    on_time = parse_submission_name("smithjohn_12345_678901_hw")
    assert submission_time(source, on_time) == SubmissionTime(None, "canvas_on_time", False)
    plain = parse_submission_name("e0000001a")
    assert submission_time(source, plain).source == "file_time"
    assert submission_time(source, plain).lms_late is None


def test_a_folder_s_time_is_its_newest_file_s_and_links_are_not_followed(tmp_path):
    folder = tmp_path / "sub"
    (folder / "output_files").mkdir(parents=True)
    for name, seconds in (("output_files/a.csv", 100), ("b.csv", 300)):
        (folder / name).write_text("1\n")
        os.utime(folder / name, (seconds, seconds))
    outside = tmp_path / "outside.csv"
    outside.write_text("1\n")
    os.utime(outside, (10_000, 10_000))
    (folder / "link.csv").symlink_to(outside)
    os.utime(folder, (5_000, 5_000))
    assert file_time(folder) == datetime.fromtimestamp(300, timezone.utc)
    empty = tmp_path / "empty"
    empty.mkdir()
    os.utime(empty, (42, 42))
    assert file_time(empty) == datetime.fromtimestamp(42, timezone.utc)
    assert file_time(tmp_path / "gone") is None
