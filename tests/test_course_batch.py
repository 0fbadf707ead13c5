"""`cnngrade batch` with a roster, overrides and a late policy, on a Canvas-style and a
Moodle-style download: the right students, the final scores, and where each change is shown."""
import csv
import io
import json
import os
import shutil
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.course.apply import grade_course
from grader.course.diff import diff_runs
from grader.course.export import export_grades
from grader.course.terminal import describe_class
from grader.errors import GraderError

from simulated import EXPECTED, INPUTS, ROOT, SPEC

EXAMPLES = ROOT / "examples" / "submissions"
FIXED_TIME = "2026-10-09 12:00:00 UTC"
SGT = timezone(timedelta(hours=8))
DUE = datetime(2026, 10, 1, 23, 59, tzinfo=SGT)
LATE_TABLE = '[late]\ndue = "2026-10-01T23:59 +08:00"\npenalty_per_day = 0.1\n'

CANVAS_ROSTER = (
    "Student,ID,SIS User ID,SIS Login ID,Section\n"
    "    Points Possible,,,,\n"
    '"Smith, John",12345,e0000001a,jsmith,L1\n'
    '"Tan, Wei Ling",12346,e0000002b,tanwl,L1\n'
    '"Ng, Siew Mei",12347,e0000003c,ngsm,L1\n'
    '"Lee, Absent",12348,e0000004d,leea,L2\n'
)


def zipped(example, target, mtime=None):
    """``examples/submissions/<example>`` as the zip ``target`` (its files' paths kept)."""
    folder = EXAMPLES / example
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    if mtime is not None:
        os.utime(target, (mtime.timestamp(), mtime.timestamp()))
    return target


def copied(example, target, mtime):
    shutil.copytree(EXAMPLES / example, target)
    for path in [target, *target.rglob("*")]:
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    return target


@pytest.fixture
def canvas_class(tmp_path):
    """A Canvas "Download Submissions", unzipped: John on time (10/10); Wei Ling uploaded twice,
    the second LATE, a day and two hours after the due time (8/10 then 10/10); Siew Mei on time
    by Canvas (9/10) although her file's time is the download's, days later; a stranger; Lee
    handed in nothing."""
    root = tmp_path / "submissions"
    root.mkdir()
    download = DUE + timedelta(days=5)
    zipped("e0000001a", root / "smithjohn_12345_678901_e0000001a.zip", download)
    zipped("e0000004d", root / "tanweiling_12346_678950_hw.zip", download)
    zipped("e0000002b", root / "tanweiling_LATE_12346_679000_hw-1.zip",
           DUE + timedelta(days=1, hours=2))
    zipped("e0000003c", root / "ngsiewmei_12347_680001_out.zip", download)
    zipped("e0000005e", root / "strangerx_99999_680002_hw.zip", download)
    (tmp_path / "roster.csv").write_text(CANVAS_ROSTER, encoding="utf-8")
    (tmp_path / "overrides.csv").write_text(
        "student,output,points,reason\njsmith,conv_forward_out,0.5,half marks: see the forum\n",
        encoding="utf-8")
    (tmp_path / "cnngrade.toml").write_text(LATE_TABLE, encoding="utf-8")
    return tmp_path


def grade(folder, out="grades", overrides=True, **options):
    return grade_course(folder / "submissions", spec_path=SPEC, inputs_dir=INPUTS,
                        expected_dir=EXPECTED, out_dir=folder / out, jobs=1,
                        generated_at=FIXED_TIME, roster_path=folder / "roster.csv",
                        overrides_path=folder / "overrides.csv" if overrides else None,
                        course_file=folder / "cnngrade.toml", **options)


def gradebook_rows(folder):
    text = (folder / "gradebook.csv").read_text("utf-8")
    return {row["id"]: row for row in csv.DictReader(io.StringIO(text))}


def test_canvas_download_grades_into_the_roster_students(canvas_class):
    batch = grade(canvas_class)
    data = json.loads((canvas_class / "grades" / "results.json").read_text("utf-8"))
    subs = {s["id"]: s for s in data["submissions"]}
    assert list(subs) == ["e0000001a", "e0000002b", "e0000003c"]  # roster order, graded only
    assert [subs[i]["student"]["entry"] for i in subs] == [
        "smithjohn_12345_678901_e0000001a.zip", "tanweiling_LATE_12346_679000_hw-1.zip",
        "ngsiewmei_12347_680001_out.zip"]
    assert subs["e0000002b"]["student"]["others"] == ["tanweiling_12346_678950_hw.zip"]
    assert data["course"]["no_submission"] == [{"key": "e0000004d", "name": "Lee, Absent"}]
    assert [u["entry"] for u in data["course"]["unmatched"]] == ["strangerx_99999_680002_hw.zip"]
    assert data["course"]["superseded"] == [{
        "student": "e0000002b", "graded": "tanweiling_LATE_12346_679000_hw-1.zip",
        "others": ["tanweiling_12346_678950_hw.zip"], "order_known": True}]
    assert sorted(p.name for p in (canvas_class / "grades" / "feedback").iterdir()) == [
        "e0000001a.html", "e0000002b.html", "e0000003c.html"]
    assert describe_class(batch) == [
        "roster: 4 students, 3 graded, 1 with no submission: e0000004d",
        "not graded, matches no student: strangerx_99999_680002_hw.zip (no roster student has "
        "the Canvas ID 99999 or the name 'strangerx')",
        "e0000002b handed in 2 times: graded tanweiling_LATE_12346_679000_hw-1.zip; not "
        "tanweiling_12346_678950_hw.zip",
        "overrides: 1 applied to 1 students",
        "late policy (due 2026-10-01 23:59 +08:00; 10% of the maximum score per started day "
        "late): 1 late, 2 points taken in all; 1 timed by file modification time only (check "
        "them)"]


def test_final_scores_keep_the_graded_ones_in_results_json(canvas_class):
    grade(canvas_class)
    data = json.loads((canvas_class / "grades" / "results.json").read_text("utf-8"))
    subs = {s["id"]: s for s in data["submissions"]}
    john, wei_ling, siew_mei = subs["e0000001a"], subs["e0000002b"], subs["e0000003c"]
    # John: graded 10, conv_forward_out overridden from 1 to 0.5; the graded check is kept.
    assert (john["score"], john["final_score"]) == (10.0, 9.5)
    assert john["checks"][0]["output"] == "conv_forward_out" and john["checks"][0]["score"] == 1.0
    assert john["overrides"] == [{"output": "conv_forward_out", "original": 1.0, "points": 0.5,
                                  "reason": "half marks: see the forum"}]
    assert john["late"]["points"] == 0 and john["late"]["time_source"] == "canvas_on_time"
    # Wei Ling: her LATE upload graded (10), a day and two hours late: 2 started days, 2 points.
    late = wei_ling["late"]
    assert (wei_ling["score"], wei_ling["final_score"]) == (10.0, 8.0)
    assert (late["units"], late["unit"], late["points"], late["time_source"], late["lms_late"]) == (
        2, "day", 2.0, "file_time", True)
    assert late["submitted_at"] == (DUE + timedelta(days=1, hours=2)).astimezone(timezone.utc).isoformat()
    # Siew Mei: Canvas did not mark her late, so her file's (download) time does not count.
    assert (siew_mei["score"], siew_mei["final_score"]) == (9.0, 9.0)
    assert siew_mei["late"]["time_source"] == "canvas_on_time" and siew_mei["late"]["units"] == 0


def test_the_gradebook_has_a_row_per_roster_student_with_raw_penalty_and_final(canvas_class):
    grade(canvas_class)
    lines = (canvas_class / "grades" / "gradebook.csv").read_text("utf-8").splitlines()
    assert lines[0].split(",")[:8] == ["id", "name", "raw", "override", "penalty", "final",
                                       "max", "percent"]
    assert lines[0].split(",")[-5:] == ["submission", "submitted", "time_source", "late", "note"]
    rows = gradebook_rows(canvas_class / "grades")
    assert list(rows) == ["e0000001a", "e0000002b", "e0000003c", "e0000004d"]
    picked = {k: tuple(r[c] for c in ("raw", "override", "penalty", "final", "percent",
                                      "conv_forward_out", "time_source", "late"))
              for k, r in rows.items()}
    assert picked == {
        "e0000001a": ("10", "-0.5", "0", "9.5", "95", "0.5", "canvas_on_time", ""),
        "e0000002b": ("10", "", "2", "8", "80", "1", "file_time", "2 days"),
        "e0000003c": ("9", "", "0", "9", "90", "1", "canvas_on_time", ""),
        "e0000004d": ("", "", "", "0", "0", "", "", ""),
    }
    assert rows["e0000001a"]["note"] == "conv_forward_out 1 -> 0.5: half marks: see the forum"
    assert rows["e0000002b"]["note"] == ("also handed in, not graded: "
                                         "tanweiling_12346_678950_hw.zip")
    assert rows["e0000002b"]["submitted"] == "2026-10-03T01:59:00+08:00"
    assert rows["e0000004d"]["note"] == "no submission" and rows["e0000004d"]["name"] == "Lee, Absent"


def test_overrides_and_late_penalties_show_on_the_feedback_page_and_the_report(canvas_class):
    grade(canvas_class)
    pages = canvas_class / "grades" / "feedback"
    john = (pages / "e0000001a.html").read_text("utf-8")
    assert '<div class="big" id="score">9.5<span class="of"> / 10</span>' in john
    assert ("<th>conv_forward_out changed by your instructor</th><td class=\"num\">1 \u2192 0.5"
            "</td><td>half marks: see the forum</td>") in john
    assert "<th>Final score</th><td class=\"num\">9.5 / 10</td>" in john
    wei_ling = (pages / "e0000002b.html").read_text("utf-8")
    assert "<th>Late penalty</th><td class=\"num\">\u22122</td>" in wei_ling
    assert ("handed in 2026-10-03 01:59 +08:00 (due 2026-10-01 23:59 +08:00), 2 started days "
            "late; time from the file&#39;s modification time") in wei_ling
    assert "your other submissions were not graded: <span class=\"mono\">tanweiling_12346_678950_hw.zip" in wei_ling
    report = (canvas_class / "grades" / "report.html").read_text("utf-8")
    assert ('<td class="mono">conv_forward_out</td><td class="num">1 \u2192 0.5</td>'
            "<td>half marks: see the forum</td>") in report
    assert '<p id="no-submission">e0000004d (Lee, Absent)</p>' in report
    assert '<td class="mono">strangerx_99999_680002_hw.zip</td>' in report
    assert ">tanweiling_LATE_12346_679000_hw-1.zip</td>" in report
    assert ("<td>2026-10-03 01:59 +08:00</td><td>file time (last resort)</td>"
            "<td>2 started days late</td><td class=\"num\">2</td>") in report


def test_a_regrade_with_an_override_changes_exactly_that_student(canvas_class):
    grade(canvas_class, out="before", overrides=False)
    grade(canvas_class, out="after")
    runs = diff_runs(canvas_class / "before", canvas_class / "after")
    assert [(c.id, c.old_score, c.new_score, c.outputs) for c in runs.changed] == [
        ("e0000001a", 10.0, 9.5, ())]
    assert runs.unchanged == 2 and not runs.only_old and not runs.only_new


def test_the_canvas_export_of_the_graded_class(canvas_class):
    grade(canvas_class)
    out = canvas_class / "canvas.csv"
    export_grades("canvas", canvas_class / "grades", out, roster_path=canvas_class / "roster.csv",
                  assignment_id=4417)
    rows = list(csv.reader(io.StringIO(out.read_text("utf-8"), newline="")))
    assert rows[0][-1] == "CS5242 Assignment 2 - Building CNNs (4417)"
    assert [(r[0], r[2], r[5]) for r in rows[2:]] == [
        ("Smith, John", "e0000001a", "9.5"), ("Tan, Wei Ling", "e0000002b", "8"),
        ("Ng, Siew Mei", "e0000003c", "9"), ("Lee, Absent", "e0000004d", "0")]


MOODLE_WORKSHEET = (
    "Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,"
    "Last modified (submission),Last modified (grade),Feedback comments\n"
    'Participant 1000001,John Smith,js@u.edu,Submitted for grading,,10.00,Yes,'
    '"Thursday, 1 October 2026, 11:00 PM",-,\n'
    'Participant 1000002,Wei Ling Tan,tan@u.edu,Submitted for grading,,10.00,Yes,'
    '"Saturday, 3 October 2026, 9:30 AM",-,\n'
    "Participant 1000003,Siew Mei Ng,ng@u.edu,No submission,,10.00,Yes,-,-,\n"
)


@pytest.fixture
def moodle_class(tmp_path):
    """A Moodle "Download all submissions" in folders: John (10/10, on time by the worksheet),
    Wei Ling (8/10, 1 day 9.5 hours late by the worksheet, both a 3.x and a 4.x folder, so
    handed in twice), someone not on the worksheet; Siew Mei handed in nothing."""
    root = tmp_path / "submissions"
    root.mkdir()
    file_time = DUE + timedelta(days=6)  # the download's: the worksheet's times count
    copied("e0000001a", root / "John Smith_1000001_assignsubmission_file", file_time)
    copied("e0000006f", root / "Wei Ling Tan_1000002_assignsubmission_file_", file_time)
    copied("e0000004d", root / "Wei Ling Tan_1000002_assignsubmission_file", file_time)
    copied("e0000009i", root / "Ghost Writer_1000099_assignsubmission_file", file_time)
    (tmp_path / "roster.csv").write_text(MOODLE_WORKSHEET, encoding="utf-8")
    (tmp_path / "cnngrade.toml").write_text(LATE_TABLE + 'timezone = "Asia/Singapore"\n',
                                            encoding="utf-8")
    return tmp_path


def test_moodle_download_grades_into_the_worksheet_students_with_its_times(moodle_class):
    batch = grade(moodle_class, overrides=False)
    data = json.loads((moodle_class / "grades" / "results.json").read_text("utf-8"))
    subs = {s["id"]: s for s in data["submissions"]}
    assert list(subs) == ["js@u.edu", "tan@u.edu"]  # the worksheet's key: the email
    john, wei_ling = subs["js@u.edu"], subs["tan@u.edu"]
    assert john["student"]["entry"] == "John Smith_1000001_assignsubmission_file"
    assert (john["final_score"], john["late"]["time_source"], john["late"]["units"]) == (
        10.0, "moodle_worksheet", 0)
    assert john["late"]["submitted_at"] == "2026-10-01T23:00:00+08:00"
    # Two folders, no upload ids: the last by name is graded, and it says the order is unknown.
    assert wei_ling["student"]["entry"] == "Wei Ling Tan_1000002_assignsubmission_file_"
    assert wei_ling["student"]["others"] == ["Wei Ling Tan_1000002_assignsubmission_file"]
    assert wei_ling["student"]["order_known"] is False
    assert (wei_ling["score"], wei_ling["late"]["units"], wei_ling["late"]["points"],
            wei_ling["final_score"]) == (8.0, 2, 2.0, 6.0)
    assert data["course"]["no_submission"] == [{"key": "ng@u.edu", "name": "Siew Mei Ng"}]
    assert [u["entry"] for u in data["course"]["unmatched"]] == [
        "Ghost Writer_1000099_assignsubmission_file"]
    rows = gradebook_rows(moodle_class / "grades")
    assert [(k, r["raw"], r["penalty"], r["final"], r["time_source"]) for k, r in rows.items()] == [
        ("js@u.edu", "10", "0", "10", "moodle_worksheet"),
        ("tan@u.edu", "8", "2", "6", "moodle_worksheet"),
        ("ng@u.edu", "", "", "0", "")]
    assert "the last by name" in describe_class(batch)[2]
    page = (moodle_class / "grades" / "feedback" / "tan_u.edu.html").read_text("utf-8")
    assert "time from Moodle&#39;s record of the submission" in page


def test_moodle_export_of_the_graded_class_finds_students_by_email(moodle_class):
    grade(moodle_class, overrides=False)
    out = moodle_class / "moodle.csv"
    export_grades("moodle", moodle_class / "grades", out, roster_path=moodle_class / "roster.csv",
                  identifier="email")
    rows = list(csv.reader(io.StringIO(out.read_text("utf-8"), newline="")))
    assert [r[:2] for r in rows] == [["Email address", "CS5242 Assignment 2 - Building CNNs"],
                                     ["js@u.edu", "10"], ["tan@u.edu", "6"], ["ng@u.edu", "0"]]
    assert rows[2][2].splitlines()[-1] == "Late penalty: -2 (2 started days late)."


def test_a_worksheet_time_that_cannot_be_read_stops_before_grading(moodle_class):
    roster = moodle_class / "roster.csv"
    roster.write_text(MOODLE_WORKSHEET.replace("Saturday, 3 October 2026, 9:30 AM", "soon"),
                      encoding="utf-8")
    with pytest.raises(GraderError, match=f"{roster}, line 3: 'Last modified \\(submission\\)' "
                                          "'soon' is not a time"):
        grade(moodle_class, overrides=False)
    assert not (moodle_class / "grades").exists()


def test_an_override_for_a_student_who_handed_in_nothing_is_refused(canvas_class):
    (canvas_class / "overrides.csv").write_text(
        "student,output,points,reason\nleea,,5,emailed\n", encoding="utf-8")
    with pytest.raises(GraderError, match="overrides.csv, line 2: 'e0000004d' handed in nothing"):
        grade(canvas_class)


def test_a_late_table_in_the_spec_and_in_cnngrade_toml_is_refused(canvas_class):
    spec = canvas_class / "assignment.toml"
    spec.write_text(SPEC.read_text("utf-8") + "\n" + LATE_TABLE, encoding="utf-8")
    with pytest.raises(GraderError, match="two late policies"):
        grade_course(canvas_class / "submissions", spec_path=spec, inputs_dir=INPUTS,
                     expected_dir=EXPECTED, out_dir=canvas_class / "g", jobs=1,
                     course_file=canvas_class / "cnngrade.toml")


def test_a_plain_folder_with_a_late_policy_marks_file_times(tmp_path):
    """Without a roster: the students are the submissions' own ids; no LMS time, so the file's."""
    root = tmp_path / "submissions"
    root.mkdir()
    copied("e0000001a", root / "e0000001a", DUE - timedelta(hours=1))
    copied("e0000003c", root / "e0000003c", DUE + timedelta(hours=3))
    spec = tmp_path / "assignment.toml"
    spec.write_text(SPEC.read_text("utf-8") + "\n" + LATE_TABLE + "cap = 0.05\n", encoding="utf-8")
    batch = grade_course(root, spec_path=spec, inputs_dir=INPUTS, expected_dir=EXPECTED,
                         out_dir=tmp_path / "grades", jobs=2, generated_at=FIXED_TIME)
    finals = {s.id: s.final for s in batch.submissions}
    assert finals["e0000001a"].late.units == 0 and finals["e0000001a"].score == 10
    assert (finals["e0000003c"].late.units, finals["e0000003c"].late.points,
            finals["e0000003c"].score) == (1, 0.5, 8.5)  # 10% a day, capped at 5%
    assert all(f.late.time.source == "file_time" for f in finals.values())
    rows = gradebook_rows(tmp_path / "grades")
    assert [(k, r["final"], r["time_source"]) for k, r in rows.items()] == [
        ("e0000001a", "10", "file_time"), ("e0000003c", "8.5", "file_time")]
    assert batch.course.roster is None and not batch.course.no_submission


def test_the_batch_command_takes_the_roster_overrides_and_policy_from_the_course_folder(
        canvas_class, monkeypatch):
    (canvas_class / "cnngrade.toml").write_text(
        f'[course]\nspec = "{SPEC}"\ninputs = "{INPUTS}"\nexpected = "{EXPECTED}"\n'
        'roster = "roster.csv"\noverrides = "overrides.csv"\n\n' + LATE_TABLE, encoding="utf-8")
    work = canvas_class / "term" / "week7"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    result = CliRunner().invoke(
        main, ["batch", str(canvas_class / "submissions"), "--out", "grades", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "roster: 4 students, 3 graded, 1 with no submission: e0000004d" in result.output
    assert "overrides: 1 applied to 1 students" in result.output
    rows = gradebook_rows(work / "grades")
    assert rows["e0000001a"]["final"] == "9.5" and rows["e0000002b"]["final"] == "8"


def test_names_a_student_controls_are_printable_and_neutralised(tmp_path):
    """Entry names reach the gradebook, report and results as what they are, and never as a
    spreadsheet formula or a direction-changing character."""
    root = tmp_path / "submissions"
    root.mkdir()
    copied("e0000001a", root / "=HYPERLINK(\"x\")\u202egpj", DUE - timedelta(hours=1))
    zipped("e0000003c", root / "@SUM(1)_LATE_12345_678901_hw.zip", DUE + timedelta(hours=1))
    spec = tmp_path / "assignment.toml"
    spec.write_text(SPEC.read_text("utf-8") + "\n" + LATE_TABLE, encoding="utf-8")
    batch = grade_course(root, spec_path=spec, inputs_dir=INPUTS, expected_dir=EXPECTED,
                         out_dir=tmp_path / "grades", jobs=1, generated_at=FIXED_TIME)
    assert sorted(s.id for s in batch.submissions) == ["12345", '=HYPERLINK("x")\\u202egpj']
    text = (tmp_path / "grades" / "gradebook.csv").read_text("utf-8")
    assert "\u202e" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["id"], r["name"], r["submission"]) for r in rows] == [
        ("12345", "'@SUM(1)", "'@SUM(1)_LATE_12345_678901_hw.zip"),
        ('\'=HYPERLINK("x")\\u202egpj', "", '\'=HYPERLINK("x")\\u202egpj')]
    report = (tmp_path / "grades" / "report.html").read_text("utf-8")
    assert "\u202e" not in report and "=HYPERLINK(&#34;x&#34;)\\u202egpj" in report
